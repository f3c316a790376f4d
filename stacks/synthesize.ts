import { Aspects } from "aws-cdk-lib";
import type { CloudAssembly } from "aws-cdk-lib/cx-api";
import { AwsSolutionsChecks } from "cdk-nag";
import { App } from "sst/constructs";
import { initProject } from "sst/project.js";
import sstConfig from "../sst.config.js";
import { loadStageConfig } from "./config.js";
import { type StackId, stackName as sstStackName } from "./stackNames.js";

export { STACK_IDS, type StackId } from "./stackNames.js";

export interface SynthesizedApp {
  stage: string;
  assembly: CloudAssembly;
  stackName(id: StackId): string;
  /** The CloudFormation template of one stack. */
  template(id: StackId): Record<string, any>;
  /** Unsuppressed cdk-nag errors of one stack (empty unless synthesized with `nag: true`). */
  nagErrors(id: StackId): string[];
}

/** Plain syntheses (no nag, no bundle) of this process, by stage: the same stage is synthesized once. */
const synthesized = new Map<string, Promise<SynthesizedApp>>();

/**
 * Synthesizes every stack of a stage offline: no credentials, no network (unlike `sst build`, which calls
 * STS). Lambda code is left as SST's placeholder unless `bundle` is set, which builds it with esbuild. A plain
 * synthesis is done once per stage and process (the simulator, the rehearsal and the tests read it again).
 */
export function synthesizeApp(stage: string, options: { nag?: boolean; bundle?: boolean } = {}): Promise<SynthesizedApp> {
  if (options.nag || options.bundle) return synthesizeAppNow(stage, options);
  let synthesis = synthesized.get(stage);
  if (!synthesis) {
    synthesis = synthesizeAppNow(stage, options);
    synthesized.set(stage, synthesis);
    synthesis.catch(() => synthesized.delete(stage));
  }
  return synthesis;
}

async function synthesizeAppNow(stage: string, options: { nag?: boolean; bundle?: boolean }): Promise<SynthesizedApp> {
  const config = loadStageConfig(stage); // fail early, with the configuration error, before SST starts
  await initProject({ stage });
  const app = new App({
    mode: "deploy",
    name: sstConfig.config().name,
    stage,
    region: config.region,
    account: process.env.CDK_DEFAULT_ACCOUNT ?? "123456789012",
  });
  if (options.nag) Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
  await sstConfig.stacks(app);
  if (options.bundle) await app.finish();
  const assembly = app.synth();
  const stackName = (id: StackId) => sstStackName(stage, id);
  const artifact = (id: StackId) => assembly.getStackByName(stackName(id));
  return {
    stage,
    assembly,
    stackName,
    template: (id) => artifact(id).template,
    nagErrors: (id) =>
      artifact(id)
        .messages.filter((m) => m.level === "error" && String(m.entry.data).startsWith("AwsSolutions-"))
        .map((m) => `${m.id}: ${String(m.entry.data).split("\n")[0]}`),
  };
}
