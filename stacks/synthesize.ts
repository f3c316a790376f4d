import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Aspects } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { App } from "sst/constructs";
import { useFunctions } from "sst/constructs/Function.js";
import { initProject, useProject } from "sst/project.js";
import { useRuntimeHandlers } from "sst/runtime/handlers.js";
import sstConfig from "../sst.config.js";
import { OFFLINE_SYNTHESIS } from "./app.js";
import { deployOnlyProblems, loadStageConfig } from "./config.js";
import { STACK_IDS, type StackId, stackName as sstStackName } from "./stackNames.js";

export { STACK_IDS, type StackId };

/** The prefix of the temporary cloud-assembly directories, removed after each synthesis. */
export const SYNTH_DIR_PREFIX = "immutable-deploy-synth-";

export interface SynthesizedApp {
  stage: string;
  stackName(id: StackId): string;
  /** The CloudFormation template of one stack. */
  template(id: StackId): Record<string, any>;
  /** Unsuppressed cdk-nag errors of one stack (empty unless synthesized with `nag: true`). */
  nagErrors(id: StackId): string[];
  /** What only `sst deploy` decides or refuses: lookups it makes, placeholders it refuses. */
  notes: string[];
  /** The code SST built, by handler (`functions/readBakedImage.handler`): the bundled functions only. */
  bundles: Map<string, BuiltFunction>;
}

/** Where SST put a function's build, and its handler there (`functions/readBakedImage.handler`). */
export interface BuiltFunction {
  dir: string;
  handler: string;
}

/**
 * What `bundle` builds with esbuild, as a deploy does: every function (`true`), none (a placeholder file each), or
 * the functions whose handler is listed (`functions/readBakedImage.handler`; the tests build one to compare SST's
 * build with scripts/bench/bundles.ts's, instead of bundling every function once more).
 */
export type BundleOption = boolean | readonly string[];

/** Plain syntheses (no nag, no bundle) of this process, by stage: the same stage is synthesized once. */
const synthesized = new Map<string, Promise<SynthesizedApp>>();

/**
 * Synthesizes every stack of a stage offline, as `sst deploy` would (the same sst.config.ts, the lookups
 * cached in cdk.context.json), but with no credentials and no network: the App carries OFFLINE_SYNTHESIS, so
 * the deploy-only checks become notes. The Lambda code is a placeholder unless `bundle` is set, which builds it
 * with esbuild as a deploy does; either way SST finishes the app as for a deploy (see finishOffline). The cloud
 * assembly goes to a temporary directory removed before this returns: everything is read into memory first.
 * A plain synthesis is done once per stage and process (the simulator, the rehearsal and the tests read it again).
 */
export function synthesizeApp(stage: string, options: { nag?: boolean; bundle?: BundleOption } = {}): Promise<SynthesizedApp> {
  if (options.nag || options.bundle) return synthesizeAppNow(stage, options);
  let synthesis = synthesized.get(stage);
  if (!synthesis) {
    synthesis = synthesizeAppNow(stage, options);
    synthesized.set(stage, synthesis);
    synthesis.catch(() => synthesized.delete(stage));
  }
  return synthesis;
}

async function synthesizeAppNow(stage: string, options: { nag?: boolean; bundle?: BundleOption }): Promise<SynthesizedApp> {
  const config = loadStageConfig(stage); // fail early, with the configuration error, before SST starts
  await initOfflineProject(stage);
  const outdir = await mkdtemp(path.join(os.tmpdir(), SYNTH_DIR_PREFIX));
  try {
    const app = new App(
      {
        mode: "deploy",
        name: sstConfig.config({ stage }).name,
        stage,
        region: config.region,
        account: process.env.CDK_DEFAULT_ACCOUNT ?? "123456789012",
      },
      { outdir, context: { ...cachedLookups(), [OFFLINE_SYNTHESIS]: true } },
    );
    if (options.nag) Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
    await sstConfig.stacks(app);
    const bundles = await finishOffline(app, { bundle: options.bundle ?? false, placeholderDir: path.join(outdir, "placeholder-code") });
    const assembly = app.synth();
    const stackName = (id: StackId) => sstStackName(stage, id);
    const stacks = new Map(
      STACK_IDS.map((id) => {
        const artifact = assembly.getStackByName(stackName(id));
        const nagErrors = artifact.messages
          .filter((m) => m.level === "error" && String(m.entry.data).startsWith("AwsSolutions-"))
          .map((m) => `${m.id}: ${String(m.entry.data).split("\n")[0]}`);
        return [id, { template: artifact.template as Record<string, any>, nagErrors }];
      }),
    );
    const lookups = (assembly.manifest.missing ?? []).map(
      (missing) => `${missing.provider} lookup (${missing.key}): made by sst deploy with its credentials and cached in cdk.context.json; this synthesis shows CDK's placeholders (e.g. availability zones dummy1a, dummy1b)`,
    );
    return {
      stage,
      stackName,
      template: (id) => stacks.get(id)!.template,
      nagErrors: (id) => stacks.get(id)!.nagErrors,
      notes: [...lookups, ...deployOnlyProblems(config).map((problem) => `sst deploy refuses ${problem}`)],
      bundles,
    };
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
}

/** This process's own SST output directory in `.sst` (created on first use, removed when the process exits). */
let processOutDir: string | undefined;

/**
 * SST's initProject, with the project's output directory (SST: `.sst`) moved to a directory of this process.
 * Every App SST constructs empties `<out>/types` and appends to `<out>/types/index.ts`, and a bundling build
 * empties `<out>/artifacts/<function>`: two processes synthesizing at once in the shared `.sst` (two vitest
 * workers, or a test and `npm run synth`) remove each other's files, and one fails with ENOENT on
 * `.sst/types/index.ts`. Nothing reads those files after a synthesis: they are the typings of `sst bind` and
 * the build output that a deploy uploads.
 */
export async function initOfflineProject(stage: string): Promise<void> {
  await initProject({ stage });
  if (!processOutDir) {
    const shared = useProject().paths.out;
    removeDirectoriesOfEndedProcesses(shared);
    const dir = mkdtempSync(path.join(shared, `offline-${process.pid}-`));
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    processOutDir = dir;
  }
  const paths = useProject().paths;
  paths.out = processOutDir;
  paths.artifacts = path.join(processOutDir, "artifacts");
}

/** A test worker that is terminated does not run its exit handlers: the next process removes what it left. */
export function removeDirectoriesOfEndedProcesses(shared: string): void {
  for (const name of readdirSync(shared)) {
    const pid = /^offline-(\d+)-/.exec(name)?.[1];
    if (pid && !processRuns(Number(pid))) rmSync(path.join(shared, name), { recursive: true, force: true });
  }
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The lookups a deploy cached (CDK context in cdk.context.json at the project root), as `sst deploy` reads them. */
function cachedLookups(): Record<string, unknown> {
  const file = path.join(useProject().paths.root, "cdk.context.json");
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>) : {};
}

/**
 * SST's own finish, the step a deploy runs after the stacks (tags, the functions' SSM parameters, metadata,
 * removal policies, and each function's build, which also sets its runtime), with two changes:
 * - without `bundle`, each function's build is a placeholder file instead of esbuild's bundle, so the template
 *   is the deploy's (runtime, resources, counts) except for the code's asset hash;
 * - SST's bootstrap-bucket lookup, needed only to upload source maps, is skipped as SST skips it in its own
 *   tests: the app builds no source maps (FUNCTION_DEFAULTS), so a deploy adds nothing there either.
 */
async function finishOffline(app: App, options: { bundle: BundleOption; placeholderDir: string }): Promise<Map<string, BuiltFunction>> {
  app.isRunningSSTTest = () => true;
  const builder = useRuntimeHandlers();
  const build = builder.build;
  const bundles = new Map<string, BuiltFunction>();
  const bundled = (handler: string) => (typeof options.bundle === "boolean" ? options.bundle : options.bundle.includes(handler));
  builder.build = async (functionID: string, mode) => {
    const props = useFunctions().fromID(functionID);
    if (!props?.handler) return { type: "error" as const, errors: [`function ${functionID} has no handler`] };
    if (bundled(props.handler)) {
      const result = await build(functionID, mode);
      if (result.type === "success") bundles.set(props.handler, { dir: result.out, handler: result.handler });
      return result;
    }
    const out = path.join(options.placeholderDir, functionID);
    await mkdir(out, { recursive: true });
    await writeFile(path.join(out, "placeholder.mjs"), "// offline synthesis: the code is built by sst deploy\n");
    return { type: "success" as const, handler: props.handler, out, sourcemap: undefined };
  };
  try {
    await app.finish();
  } finally {
    builder.build = build;
  }
  return bundles;
}
