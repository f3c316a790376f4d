import { describe, expect, it } from "vitest";
import { z } from "zod";
import { allowedErrorMap, allowedKeysAt, innerSchema, show, valueAt } from "../../../functions/lib/validation.js";

describe("valueAt", () => {
  const root = { a: { b: [10, { c: "x" }] }, nothing: null, text: "abc", count: 5 };

  it("follows object keys and list indexes", () => {
    expect(valueAt(root, ["a", "b", 1, "c"])).toBe("x");
    expect(valueAt(root, [])).toBe(root);
    expect(valueAt(root, ["a", "missing"])).toBeUndefined();
  });

  it("stops at null and at values that are no object (a string's characters are not its fields)", () => {
    expect(valueAt(root, ["nothing", "b"])).toBeUndefined();
    expect(valueAt(root, ["text", 0])).toBeUndefined();
    expect(valueAt(root, ["text", "length"])).toBeUndefined();
    expect(valueAt(root, ["count", "toFixed"])).toBeUndefined();
    expect(valueAt(null, ["a"])).toBeUndefined();
  });
});

describe("show", () => {
  it("says (missing) for undefined and JSON for anything else", () => {
    expect(show(undefined)).toBe("(missing)");
    expect(show(null)).toBe("null");
    expect(show("x")).toBe('"x"');
    expect(show({ a: 1 })).toBe('{"a":1}');
    expect(show(() => 1)).toBe("() => 1");
  });

  it("keeps 80 characters and shortens 81 to 77 and an ellipsis", () => {
    const eighty = "x".repeat(78); // 80 with the quotes
    expect(show(eighty)).toBe(`"${eighty}"`);
    const eightyOne = "y".repeat(79);
    expect(show(eightyOne)).toBe(`"${"y".repeat(76)}...`);
    expect(show(eightyOne)).toHaveLength(80);
  });
});

describe("innerSchema", () => {
  it("unwraps effects, defaults, optionals and nullables in any order", () => {
    const object = z.object({ a: z.string() });
    expect(innerSchema(object.default({ a: "x" }))).toBe(object);
    expect(innerSchema(object.optional().nullable())).toBe(object);
    expect(innerSchema(object.transform((value) => value).default({ a: "y" }).optional())).toBe(object);
    expect(innerSchema(object.refine(() => true))).toBe(object);
    expect(innerSchema(object)).toBe(object);
  });
});

describe("allowedKeysAt", () => {
  const schema = z.object({
    top: z.string(),
    groups: z.array(z.object({ name: z.string(), size: z.number() })).default([]),
    nested: z.object({ inner: z.object({ deep: z.boolean() }).optional() }).transform((value) => value),
    "0": z.object({ zero: z.string() }),
  });

  it("names the fields of the object at a path, through defaults, effects, optionals and lists", () => {
    expect(allowedKeysAt(schema, [])).toEqual(["0", "top", "groups", "nested"]);
    expect(allowedKeysAt(schema, ["groups", 2])).toEqual(["name", "size"]);
    expect(allowedKeysAt(schema, ["nested"])).toEqual(["inner"]);
    expect(allowedKeysAt(schema, ["nested", "inner"])).toEqual(["deep"]);
    expect(allowedKeysAt(schema, ["0"])).toEqual(["zero"]);
  });

  it("has no fields where the schema is no object: a list by a name, an object by an index, a string, an unknown field", () => {
    expect(allowedKeysAt(schema, ["groups"])).toEqual([]);
    expect(allowedKeysAt(schema, ["groups", "name"])).toEqual([]);
    expect(allowedKeysAt(schema, [0])).toEqual([]);
    expect(allowedKeysAt(schema, ["top", "x"])).toEqual([]);
    expect(allowedKeysAt(schema, ["top"])).toEqual([]);
    expect(allowedKeysAt(schema, ["unknown"])).toEqual([]);
    expect(allowedKeysAt(schema, ["unknown", "more"])).toEqual([]);
  });
});

/** The messages of parsing `value` with `schema` under allowedErrorMap. */
function messages(schema: z.ZodTypeAny, value: unknown): string[] {
  const result = schema.safeParse(value, { errorMap: allowedErrorMap });
  if (result.success) throw new Error(`${JSON.stringify(value)} passed`);
  return result.error.issues.map((issue) => issue.message);
}

describe("allowedErrorMap", () => {
  it.each([
    [z.string(), 1, "a string"],
    [z.number(), "1", "a number"],
    [z.number().int(), 1.5, "an integer"],
    [z.boolean(), "yes", "true or false"],
    [z.object({}), [], "an object"],
    [z.array(z.string()), {}, "a list"],
    [z.date(), "2026-01-01", "a date"],
    [z.string(), undefined, "a string"],
    // A type without words of its own keeps zod's name for it.
    [z.bigint(), 1, "bigint"],
  ])("a wrong type says what is allowed: %s %j -> %s", (schema, value, message) => {
    expect(messages(schema, value)).toEqual([message]);
  });

  it("lists enum options and a literal as JSON", () => {
    expect(messages(z.enum(["application", "classic", "none"]), "x")).toEqual(['"application", "classic" or "none"']);
    expect(messages(z.enum(["application", "classic"]), "x")).toEqual(['"application" or "classic"']);
    expect(messages(z.literal("all-at-once"), "x")).toEqual(['"all-at-once"']);
  });

  it.each([
    [z.array(z.string()).min(1), [], "at least 1 item(s)"],
    [z.string().min(3), "ab", "at least 3 character(s)"],
    [z.number().min(1), 0, "at least 1"],
    [z.number().gt(0), 0, "more than 0"],
    [z.string().length(4), "abc", "exactly 4 character(s)"],
    [z.array(z.string()).max(1), ["a", "b"], "at most 1 item(s)"],
    [z.string().max(2), "abc", "at most 2 character(s)"],
    [z.number().max(5), 6, "at most 5"],
    [z.number().lt(5), 5, "less than 5"],
    [z.array(z.number()).length(2), [1, 2, 3], "exactly 2 item(s)"],
    [z.number().multipleOf(5), 7, "a multiple of 5"],
  ])("sizes and bounds: %s %j -> %s", (schema, value, message) => {
    expect(messages(schema, value)).toEqual([message]);
  });

  it("keeps zod's message for other issues", () => {
    expect(messages(z.string().email(), "nobody")).toEqual(["Invalid email"]);
    expect(messages(z.union([z.string(), z.number()]), true)).toEqual(["Invalid input"]);
  });

  it("keeps a schema's own message", () => {
    expect(messages(z.string({ invalid_type_error: "give a name" }), 1)).toEqual(["give a name"]);
    expect(messages(z.string({ required_error: "the name is required" }), undefined)).toEqual(["the name is required"]);
    expect(messages(z.number().min(1, "one or more"), 0)).toEqual(["one or more"]);
    expect(messages(z.number().refine((n) => n > 1, "over one"), 0)).toEqual(["over one"]);
  });
});
