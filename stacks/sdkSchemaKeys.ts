import { readFile } from "node:fs/promises";
import type { FunctionProps } from "sst/constructs";

/** An esbuild plugin as SST's own esbuild (0.18, which builds the functions) types it. */
export type SstEsbuildPlugin = NonNullable<NonNullable<NonNullable<FunctionProps["nodejs"]>["esbuild"]>["plugins"]>[number];

/**
 * The AWS SDK's generated schema files (`@aws-sdk/client-<service>/dist-es/schemas/schemas_0.js`, SDK v3 since
 * 3.930) write every trait object with computed keys: `{ [_xN]: _TSa }`, where `const _xN = "xmlName"`. esbuild
 * treats a computed key as a possible side effect (the key expression could call `toString`), so it keeps every
 * schema statement that has one, used or not: a bundle that sends three EC2 commands carries all of EC2's
 * shapes (541 KiB minified of the 1 MB deleteOldGroups bundle), and each cold start compiles them. Reported as
 * aws/aws-sdk-js-v3#7607 (open), with the generator fix in smithy-lang/smithy-typescript#1889 (open): write the
 * keys as string literals.
 *
 * This plugin makes that same change at bundle time: in those files only, a computed key that names one of the
 * file's own string constants (`const _x = "..."`) becomes that string literal. The object is the same; only
 * esbuild's tree shaking now sees it is free of side effects, and drops the shapes no imported command reaches.
 * Anything else is left as it is. Once the SDK ships the generator fix there is nothing left to rewrite, and
 * the plugin changes nothing.
 */
export const SDK_SCHEMA_FILE = /[\\/]@aws-sdk[\\/]client-[^\\/]+[\\/]dist-es[\\/]schemas[\\/]schemas_\d+\.js$/;

/** `const _x = "...";` at the start of a line: the schema files' string table. */
const STRING_CONSTANT = /^const (_[A-Za-z0-9_$]*) = ("(?:[^"\\\n]|\\.)*");$/gm;
/** A computed key naming an identifier (the schema files write no other kind). */
const COMPUTED_KEY = /([{,]\s*)\[(_[A-Za-z0-9_$]*)\]:/g;

/** The file's source with each computed key that names a string constant of the file written as that string. */
export function literalSchemaKeys(source: string): { contents: string; rewritten: number; keys: Set<string> } {
  const strings = new Map<string, string>();
  for (const [, name, literal] of source.matchAll(STRING_CONSTANT)) strings.set(name, literal);
  let rewritten = 0;
  const keys = new Set<string>();
  const contents = source.replace(COMPUTED_KEY, (whole, before: string, name: string) => {
    const literal = strings.get(name);
    if (literal === undefined) return whole;
    rewritten++;
    keys.add(JSON.parse(literal) as string);
    return `${before}${literal}:`;
  });
  return { contents, rewritten, keys };
}

/** The esbuild plugin (FUNCTION_DEFAULTS.nodejs.esbuild.plugins, so `sst deploy` bundles with it). */
export const sdkSchemaKeysPlugin: SstEsbuildPlugin = {
  name: "immutable-deploy:sdk-schema-literal-keys",
  setup(build) {
    build.onLoad({ filter: SDK_SCHEMA_FILE }, async (args) => ({
      contents: literalSchemaKeys(await readFile(args.path, "utf8")).contents,
      loader: "js",
    }));
  },
};
