/**
 * A stage as the CLI finds it in AWS: its stacks' CloudFormation outputs (nobody copies ARNs), and the settings
 * its deployed state machine runs with (the `Start deploy` state carries them: app, environment, load balancer,
 * launch template, lock table), so the CLI and the deploy read the very same values.
 */
import { DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import { DescribeStateMachineCommand } from "@aws-sdk/client-sfn";
import { sfn } from "../functions/lib/clients.js";
import type { EnvironmentSettings } from "../functions/lib/contract.js";
import { STATE } from "../functions/lib/names.js";
import { loadStageConfig, STAGES } from "../stacks/config.js";
import { type StackId, stackName } from "../stacks/stackNames.js";
import { cloudFormation } from "./aws.js";
import { awsErrorCode, CliError } from "./errors.js";

/** The Pipeline stack's outputs the CLI reads (stacks/Pipeline.ts `addOutputs`). */
export const PIPELINE_OUTPUTS = ["ArtifactBucket", "ReleasePrefix", "StateMachineArn", "LockTable"] as const;

export interface Stage {
  name: string;
  region: string;
  stateMachineArn: string;
  artifactBucket: string;
  /** `s3://<bucket>/releases/` */
  releasePrefix: string;
  /** The Environment stack's `SiteUrl`. */
  siteUrl?: string;
  /** What the deploy state machine runs with (its `Start deploy` state's `settings`). */
  settings: EnvironmentSettings;
}

/** The `--stage` value: the stack names embed it, so it must be a valid SST stage name. */
const STAGE_NAME = /^[A-Za-z][A-Za-z0-9-]{0,63}$/;

export function checkStageName(stage: string, option = "--stage"): void {
  if (!STAGE_NAME.test(stage))
    throw new CliError(`${option}: ${JSON.stringify(stage)} is not a stage name; allowed: a letter, then up to 63 letters, digits or "-"`);
}

/**
 * The region to use: --region, else the stage's configured region (stacks/config.ts, when the stage is one of
 * this checkout's), else AWS_REGION / AWS_DEFAULT_REGION.
 */
export function regionOf(stage: string, flag: string | undefined, env: Record<string, string | undefined>): string {
  if (flag !== undefined) {
    if (!/^[a-z]{2}(-gov)?-[a-z]+-\d$/.test(flag)) throw new CliError(`--region: ${JSON.stringify(flag)} is not an AWS region; allowed: a region such as "us-east-1"`);
    return flag;
  }
  const configured = Object.hasOwn(STAGES, stage) ? loadStageConfig(stage).region : undefined;
  const region = configured ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region)
    throw new CliError(
      `no region for stage "${stage}": it is not configured in stacks/config.ts (configured: ${Object.keys(STAGES).join(", ")}) and AWS_REGION is not set; allowed: --region <region>`,
    );
  return region;
}

async function stackOutputs(stage: string, id: StackId, region: string): Promise<Record<string, string>> {
  const name = stackName(stage, id);
  try {
    const { Stacks } = await cloudFormation.send(new DescribeStacksCommand({ StackName: name }));
    return Object.fromEntries((Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey ?? "", o.OutputValue ?? ""]));
  } catch (error) {
    if (awsErrorCode(error) === "ValidationError" && /does not exist/.test((error as Error).message))
      throw new CliError(
        `stage "${stage}" is not deployed in ${region}: no CloudFormation stack ${name}; deploy it with \`npx sst deploy --stage ${stage}\`, ` +
          `or pass the stage's --region (stages configured here: ${Object.keys(STAGES).join(", ")})`,
      );
    throw error;
  }
}

/** Reads a deployed stage: stack outputs, then the settings of its state machine. */
export async function resolveStage(stage: string, region: string): Promise<Stage> {
  const pipeline = await stackOutputs(stage, "Pipeline", region);
  const environment = await stackOutputs(stage, "Environment", region);
  const missing = PIPELINE_OUTPUTS.filter((key) => !pipeline[key]);
  if (missing.length > 0)
    throw new CliError(
      `stack ${stackName(stage, "Pipeline")} has no output ${missing.join(", ")}: it was deployed by an older version; redeploy with \`npx sst deploy --stage ${stage}\``,
    );
  const { definition } = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: pipeline.StateMachineArn }));
  const settings = JSON.parse(definition ?? "{}")?.States?.[STATE.start]?.Parameters?.settings as EnvironmentSettings | undefined;
  if (!settings?.app || !settings.environment)
    throw new CliError(`state machine ${pipeline.StateMachineArn} has no settings in its "${STATE.start}" state: is it this app's deploy state machine?`);
  return {
    name: stage,
    region,
    stateMachineArn: pipeline.StateMachineArn,
    artifactBucket: pipeline.ArtifactBucket,
    releasePrefix: pipeline.ReleasePrefix,
    ...(environment.SiteUrl ? { siteUrl: environment.SiteUrl } : {}),
    settings,
  };
}
