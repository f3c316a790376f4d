import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { sstEsbuild } from "../../scripts/bench/bundles.js";
import { literalSchemaKeys, SDK_SCHEMA_FILE, sdkSchemaKeysPlugin } from "../../stacks/sdkSchemaKeys.js";

/**
 * stacks/sdkSchemaKeys.ts rewrites the SDK's computed trait keys (`{ [_xN]: x }`) as literals so esbuild can
 * tree-shake the schemas (aws/aws-sdk-js-v3#7607). The rewrite must not change a single schema: each client's
 * schema module, bundled with and without the plugin, exports the same values.
 */
const CLIENTS = [
  "client-auto-scaling",
  "client-cloudwatch",
  "client-dynamodb",
  "client-ec2",
  "client-elastic-load-balancing",
  "client-elastic-load-balancing-v2",
  "client-eventbridge",
  "client-sfn",
  "client-sns",
];
const require = createRequire(import.meta.url);
const schemaFile = (client: string) => path.join(path.dirname(require.resolve(`@aws-sdk/${client}/package.json`)), "dist-es/schemas/schemas_0.js");

describe("literalSchemaKeys", () => {
  it("writes a computed key that names a string constant of the file as that string, and nothing else", () => {
    const source = [
      'const _xN = "xmlName";',
      'const _iTd = "idempotencyToken";',
      "const other = compute();",
      "export var A$ = [3, n0, _A, 0, [_B], [[() => L, { [_iTd]: 1, [_xN]: _cT }], 0]];",
      "export var B$ = { [other]: 1, [_unknown]: 2, x: [_xN] };",
    ].join("\n");
    const { contents, rewritten, keys } = literalSchemaKeys(source);
    expect(rewritten).toBe(2);
    expect([...keys]).toEqual(["idempotencyToken", "xmlName"]);
    expect(contents).toContain('{ "idempotencyToken": 1, "xmlName": _cT }');
    // Not string constants of the file, or not a key: left as they are.
    expect(contents).toContain("{ [other]: 1, [_unknown]: 2, x: [_xN] }");
  });

  it("matches the SDK's schema files, and only them", () => {
    for (const client of CLIENTS) expect(SDK_SCHEMA_FILE.test(schemaFile(client)), client).toBe(true);
    expect(SDK_SCHEMA_FILE.test(require.resolve("@aws-sdk/client-ec2"))).toBe(false);
  });

  const dir = mkdtempSync(path.join(tmpdir(), "sdk-schema-keys-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The schema module bundled on its own (so its imports resolve), written to `dir` and imported. */
  async function schemaExports(client: string, withPlugin: boolean): Promise<Record<string, unknown>> {
    const result = await sstEsbuild.build({
      entryPoints: [schemaFile(client)],
      bundle: true,
      platform: "node",
      format: "esm",
      write: false,
      logLevel: "silent",
      plugins: withPlugin ? [sdkSchemaKeysPlugin] : [],
    });
    const file = path.join(dir, `${client}-${withPlugin ? "literal" : "computed"}.mjs`);
    writeFileSync(file, result.outputFiles[0].text);
    return (await import(file)) as Record<string, unknown>;
  }

  /** A schema as data: a thunk by its source (`() => ShapeName$`), a class by its name. */
  const asData = (value: unknown) => JSON.stringify(value, (_key, item: unknown) => (typeof item === "function" ? `fn:${item.name}:${String(item).slice(0, 200)}` : item));

  it.each(CLIENTS)("%s: every exported schema is the same with and without the rewrite", async (client) => {
    const computed = await schemaExports(client, false);
    const literal = await schemaExports(client, true);
    expect(Object.keys(literal).sort()).toEqual(Object.keys(computed).sort());
    expect(Object.keys(computed).length).toBeGreaterThan(10);
    // The comparison sees rewritten keys: traits they name are in the exported data (some only in shapes the
    // file does not export, such as SNS's maps' xmlName).
    const { keys } = literalSchemaKeys(readFileSync(schemaFile(client), "utf8"));
    const data = Object.values(computed).map(asData).join("\n");
    expect([...keys].filter((key) => data.includes(`"${key}":`)).length, [...keys].join(", ")).toBeGreaterThan(0);
    for (const name of Object.keys(computed)) {
      if (name === "errorTypeRegistries") continue;
      expect(asData(literal[name]), name).toBe(asData(computed[name]));
    }
  }, 60_000);
});
