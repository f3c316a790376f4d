/**
 * What every validated input (execution input, stage configuration, scenario file) shares when it reports a
 * problem: the value at a field's path, a value as it appears in a message, and the fields a zod object
 * schema allows at a path (for "unknown field; allowed: ...").
 */
import { z } from "zod";

export type FieldPath = readonly (string | number)[];

/** The value at `path` inside `root`, or undefined. */
export function valueAt(root: unknown, path: FieldPath): unknown {
  let value: unknown = root;
  for (const key of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<string | number, unknown>)[key];
  }
  return value;
}

/** A value as it appears in messages: JSON, shortened so a huge input cannot flood an execution history. */
export function show(value: unknown): string {
  if (value === undefined) return "(missing)";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Unwraps effects, defaults, optionals and nullables down to the schema that gives the value its shape. */
export function innerSchema(schema: z.ZodTypeAny): z.ZodTypeAny {
  for (;;) {
    if (schema instanceof z.ZodEffects) schema = schema.innerType();
    else if (schema instanceof z.ZodDefault) schema = schema._def.innerType;
    else if (schema instanceof z.ZodOptional || schema instanceof z.ZodNullable) schema = schema.unwrap();
    else return schema;
  }
}

/** The field names an object schema allows at `path` (through nested objects and arrays); [] when not an object. */
export function allowedKeysAt(schema: z.ZodTypeAny, path: FieldPath): string[] {
  let current = innerSchema(schema);
  for (const key of path) {
    if (current instanceof z.ZodArray && typeof key === "number") current = innerSchema(current.element);
    else if (current instanceof z.ZodObject && typeof key === "string") current = innerSchema(current.shape[key] ?? z.never());
    else return [];
  }
  return current instanceof z.ZodObject ? Object.keys(current.shape) : [];
}

/** How zod's own phrases read in this project's messages: what is allowed, not what zod expected. */
const TYPE_WORDS: Record<string, string> = {
  string: "a string",
  number: "a number",
  integer: "an integer",
  boolean: "true or false",
  object: "an object",
  array: "a list",
  date: "a date",
};

/**
 * A zod error map that says what is allowed ("an integer", `"application" or "classic"`, "at least 1 item")
 * instead of zod's raw phrases ("Expected number, received string", "Invalid enum value. Expected ...",
 * "Array must contain at least 1 element(s)"). Messages a schema sets itself always win.
 */
export const allowedErrorMap: z.ZodErrorMap = (issue, context) => {
  // A schema's own message (`required_error`, `invalid_type_error`, an errorMap) has already replaced zod's.
  if (context.defaultError !== z.defaultErrorMap(issue, { data: context.data, defaultError: "" }).message) return { message: context.defaultError };
  const list = (values: readonly unknown[]) => values.map((value) => JSON.stringify(value)).join(", ").replace(/, ([^,]*)$/, " or $1");
  const unit = (type: string, count: number | bigint) => (type === "array" ? `${count} item(s)` : type === "string" ? `${count} character(s)` : `${count}`);
  switch (issue.code) {
    case z.ZodIssueCode.invalid_type:
      return { message: TYPE_WORDS[issue.expected] ?? issue.expected };
    case z.ZodIssueCode.invalid_enum_value:
      return { message: list(issue.options) };
    case z.ZodIssueCode.invalid_literal:
      return { message: JSON.stringify(issue.expected) };
    case z.ZodIssueCode.too_small:
      return { message: `${issue.exact ? "exactly" : issue.inclusive ? "at least" : "more than"} ${unit(issue.type, issue.minimum)}` };
    case z.ZodIssueCode.too_big:
      return { message: `${issue.exact ? "exactly" : issue.inclusive ? "at most" : "less than"} ${unit(issue.type, issue.maximum)}` };
    case z.ZodIssueCode.not_multiple_of:
      return { message: `a multiple of ${issue.multipleOf}` };
    default:
      return { message: context.defaultError };
  }
};

export { didYouMean } from "./didYouMean.js";
