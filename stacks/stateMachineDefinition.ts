import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { EnvironmentSettings } from "../functions/lib/contract.js";
import { STATE } from "../functions/lib/names.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** An Amazon States Language document (as much of its shape as the callers need). */
export interface AslDefinition {
  StartAt: string;
  TimeoutSeconds?: number;
  States: Record<string, Record<string, any>>;
}

/**
 * Renders a CloudFormation intrinsic as a readable placeholder (`${LogicalId}`), a Lambda ARN as a
 * well-formed ARN naming the logical id (local ASL interpreters validate Task resources as ARNs).
 */
function renderToken(token: Record<string, any>, template: Record<string, any>): string {
  if ("Ref" in token) return token.Ref === "AWS::Partition" ? "aws" : `\${${token.Ref}}`;
  if ("Fn::GetAtt" in token) {
    const [logicalId, attribute] = token["Fn::GetAtt"] as string[];
    if (template.Resources?.[logicalId]?.Type === "AWS::Lambda::Function" && attribute === "Arn")
      return `arn:aws:lambda:us-east-1:123456789012:function:${logicalId}`;
    return `\${${logicalId}.${attribute}}`;
  }
  if ("Fn::ImportValue" in token) return `\${Import:${String(token["Fn::ImportValue"]).split(":").pop()}}`;
  throw new Error(`unexpected token in state machine definition: ${JSON.stringify(token)}`);
}

/** The state machine's ASL from a synthesized template, with CloudFormation tokens as placeholders. */
export function definitionFromTemplate(template: Record<string, any>): AslDefinition {
  const machines = Object.values<Record<string, any>>(template.Resources ?? {}).filter(
    (r) => r.Type === "AWS::StepFunctions::StateMachine",
  );
  if (machines.length !== 1) throw new Error(`expected one state machine in the template, found ${machines.length}`);
  const body = machines[0].Properties.DefinitionString;
  const text =
    typeof body === "string"
      ? body
      : (body["Fn::Join"][1] as unknown[]).map((part) => (typeof part === "string" ? part : renderToken(part as Record<string, any>, template))).join(body["Fn::Join"][0]);
  return JSON.parse(text) as AslDefinition;
}

/** Where synthesized definitions are kept between runs (ignored by git, like the rest of `.synth/`). */
export const DEFINITION_CACHE_DIR = path.join(ROOT, ".synth", "cache");

/** What a synthesized definition depends on: the stacks, the shared names and contract, the app, the locked packages. */
const DEFINITION_INPUTS = ["stacks", "functions/lib", "sst.config.ts", "package-lock.json"];

/** A content hash of everything the definition depends on: when it is unchanged, so is the definition. */
export async function definitionInputsHash(stage: string): Promise<string> {
  const hash = createHash("sha256").update(`stage=${stage}\n`);
  const files: string[] = [];
  for (const input of DEFINITION_INPUTS) {
    const full = path.join(ROOT, input);
    if ((await stat(full)).isDirectory()) {
      for (const entry of await readdir(full, { recursive: true, withFileTypes: true }))
        if (entry.isFile() && entry.name.endsWith(".ts")) files.push(path.join(entry.parentPath, entry.name));
    } else files.push(full);
  }
  for (const file of files.sort()) hash.update(`${path.relative(ROOT, file)}\n`).update(await readFile(file));
  return hash.digest("hex").slice(0, 16);
}

export interface LoadOptions {
  /** Synthesize even when a cached definition for the same inputs exists (with DEFINITION_CACHE=off in the environment, always, and nothing is cached). */
  fresh?: boolean;
  /** Told whether the definition came from the cache or was synthesized. */
  onLoad?: (how: { cached: boolean; hash: string; file: string }) => void;
}

/**
 * The deploy state machine of a stage, synthesized offline, exactly as it would be deployed. Synthesis takes
 * seconds (the CDK and SST load only here), so the result is kept in `.synth/cache/` under a content hash of
 * its inputs and reused while nothing it depends on changed.
 */
export async function loadDeployDefinition(stage = "dev01", options: LoadOptions = {}): Promise<AslDefinition> {
  // Mutation testing (`npm run mutation`) needs a fresh synthesis: Stryker puts every mutant into the same
  // instrumented files and switches them at run time, so the inputs' hash never changes from one mutant to the next.
  if (process.env.DEFINITION_CACHE === "off") return synthesizeDefinition(stage);
  const hash = await definitionInputsHash(stage);
  const file = path.join(DEFINITION_CACHE_DIR, `${stage}-${hash}.asl.json`);
  if (!options.fresh) {
    const cached = await readFile(file, "utf8").then(
      (text) => JSON.parse(text) as AslDefinition,
      () => undefined,
    );
    if (cached) {
      options.onLoad?.({ cached: true, hash, file });
      return cached;
    }
  }
  const definition = await synthesizeDefinition(stage);
  await mkdir(DEFINITION_CACHE_DIR, { recursive: true });
  // Written whole, then renamed: concurrent test workers never read half a file.
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, JSON.stringify(definition));
  await rename(temporary, file);
  // Older definitions of this stage are stale now.
  for (const name of await readdir(DEFINITION_CACHE_DIR))
    if (name.startsWith(`${stage}-`) && name.endsWith(".asl.json") && path.join(DEFINITION_CACHE_DIR, name) !== file)
      await rm(path.join(DEFINITION_CACHE_DIR, name), { force: true });
  options.onLoad?.({ cached: false, hash, file });
  return definition;
}

/** The deploy state machine of a stage, synthesized now (the CDK and SST load only here). */
async function synthesizeDefinition(stage: string): Promise<AslDefinition> {
  const { synthesizeApp } = await import("./synthesize.js");
  return definitionFromTemplate((await synthesizeApp(stage)).template("Pipeline"));
}

/** A copy of the definition whose first state injects `settings` (the simulator's environment). */
export function withSettings(definition: AslDefinition, settings: EnvironmentSettings): AslDefinition {
  const copy = structuredClone(definition);
  const start = copy.States[STATE.start];
  if (!start?.Parameters) throw new Error(`state "${STATE.start}" with Parameters not found`);
  start.Parameters.settings = settings;
  return copy;
}
