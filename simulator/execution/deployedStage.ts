/**
 * A stage as `sst deploy` leaves it, in the simulated region: its environment's resources, its deploy state
 * machine served through the Step Functions API (StartExecution, histories...) and started by uploads (the
 * EventBridge rule), and its two CloudFormation stacks answering DescribeStacks with the outputs of the stage's
 * synthesized templates. What the operator CLI needs to run end to end, offline.
 */
import type { EnvironmentSettings } from "../../functions/lib/contract.js";
import { type StackId, stackName } from "../../stacks/stackNames.js";
import { type AslDefinition, definitionFromTemplate } from "../../stacks/stateMachineDefinition.js";
import { artifactBucketName, createEnvironment } from "../region/environment.js";
import type { SimulatedRegion } from "../region/region.js";
import { constructIdOf, outputsOfTemplate, type PhysicalValues } from "../region/services/cloudformation.js";
import { DeployRunner } from "./runner.js";

export interface StageTemplates {
  stage: string;
  templates: Record<StackId, Record<string, any>>;
  /** The Pipeline's state machine definition. */
  definition: AslDefinition;
}

/** The templates of a configured stage (stacks/config.ts), synthesized offline (once per process). */
export async function stageTemplates(stage: string): Promise<StageTemplates> {
  const { synthesizeApp } = await import("../../stacks/synthesize.js");
  const app = await synthesizeApp(stage);
  const templates = { Environment: app.template("Environment"), Pipeline: app.template("Pipeline") };
  return { stage, templates, definition: definitionFromTemplate(templates.Pipeline) };
}

export interface DeployedStage {
  stage: string;
  settings: EnvironmentSettings;
  runner: DeployRunner;
  artifactBucket: string;
}

/**
 * Creates the stage's environment (stage configuration fields in `config`, validated as `sst deploy` does),
 * its runner, and its stacks with the outputs of `templates` (synthesized for the same stage name).
 */
export function deployStage(region: SimulatedRegion, templates: StageTemplates, options: { app?: string; config?: Record<string, unknown> } = {}): DeployedStage {
  const stage = templates.stage;
  const settings = createEnvironment(region, { app: options.app, environment: stage, config: options.config });
  const runner = new DeployRunner({ region, settings, definition: templates.definition });
  const artifactBucket = artifactBucketName(settings.app, settings.environment);
  runner.connectTrigger(artifactBucket);
  runner.connectApi();
  publishStacks(region, runner, templates);
  return { stage, settings, runner, artifactBucket };
}

/**
 * Gives a runner's environment its two stacks, answering DescribeStacks with the outputs of `templates` (of a
 * stage with the same kind of load balancer) resolved to the simulated resources; `overrides` replace outputs
 * that are literal in the template (the rehearsal's `SiteUrl` is its proxy's URL). The stacks are named after the
 * runner's environment.
 */
export function publishStacks(region: SimulatedRegion, runner: DeployRunner, templates: StageTemplates, overrides: Record<string, string> = {}): void {
  const { settings } = runner;
  const name = `${settings.app}-${settings.environment}`;
  const physical: PhysicalValues = {
    Artifacts: artifactBucketName(settings.app, settings.environment),
    Deploy: runner.stateMachineArn,
    DeployLocks: settings.lockTableName,
    DeployOutcomes: settings.topicArn,
    Bake: `${name}-bake`,
    LaunchTemplate: settings.launchTemplateId,
    "LoadBalancer.DNSName": `${name}-1234567890.${region.regionName}.elb.amazonaws.com`,
    ...(settings.loadBalancer.kind === "application"
      ? {
          TargetGroup: settings.loadBalancer.targetGroupArn,
          AlternateTargetGroup: settings.loadBalancer.alternateTargetGroupArn,
          // The listener that serves the site: HTTPS with a certificate, else HTTP (stacks/Environment.ts).
          LoadBalancerHttp: settings.loadBalancer.listenerArn,
          LoadBalancerHttps: settings.loadBalancer.listenerArn,
        }
      : { LoadBalancer: settings.loadBalancer.loadBalancerName }),
  };
  for (const id of ["Environment", "Pipeline"] as const) {
    // SST's own SSTMetadata output names each function's ARN.
    for (const [logicalId, resource] of Object.entries<Record<string, any>>(templates.templates[id].Resources ?? {}))
      if (resource.Type === "AWS::Lambda::Function")
        physical[`${constructIdOf(logicalId)}.Arn`] = `arn:aws:lambda:${region.regionName}:${region.account}:function:${name}-${logicalId}`;
    const outputs = outputsOfTemplate(templates.templates[id], physical).map((o) => ({ ...o, OutputValue: overrides[o.OutputKey ?? ""] ?? o.OutputValue }));
    region.cloudFormation.putStack(stackName(settings.environment, id), outputs);
  }
}

/**
 * Runs `work` (e.g. a CLI command that polls on the region's clock) to its end while the runners' executions
 * go on: the clock jumps to the next wake-up only when the work and every running execution are parked on it.
 */
export async function driveWhile<T>(region: SimulatedRegion, runners: DeployRunner[], work: Promise<T>, maxIdleTurns = 100_000): Promise<T> {
  let settled: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
  work.then(
    (value) => (settled = { ok: true, value }),
    (error) => (settled = { ok: false, error }),
  );
  await drive(region, runners, () => settled !== undefined, { parkedWork: 1, maxIdleTurns, what: "the work neither finished nor waited on the region's clock" });
  if (!settled!.ok) throw settled!.error;
  return settled!.value;
}

/**
 * Lets the runners' executions go on until `done()` holds (e.g. a deploy entered a state), moving the clock as
 * `driveWhile` does: `done()` is checked after every event-loop turn, so it holds at the moment it turns true,
 * not some wake-ups later.
 */
export async function runUntil(region: SimulatedRegion, runners: DeployRunner[], done: () => boolean, maxIdleTurns = 100_000): Promise<void> {
  await drive(region, runners, done, { parkedWork: 0, maxIdleTurns, what: "the condition never held" });
}

/**
 * Drives the region's scheduler (`claimDriver`, so region time does not also jump on its own whenever the event
 * loop idles, virtualTime.ts) until `done()`: the clock jumps to the next wake-up only when `parkedWork` plus
 * every running execution are parked on it.
 */
async function drive(
  region: SimulatedRegion,
  runners: DeployRunner[],
  done: () => boolean,
  options: { parkedWork: number; maxIdleTurns: number; what: string },
): Promise<void> {
  const release = region.scheduler.claimDriver();
  try {
    let idle = 0;
    while (!done()) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (done()) break;
      const active = () => options.parkedWork + runners.flatMap((runner) => runner.executions).filter((execution) => !execution.result).length;
      if (region.scheduler.parkedWakeUps >= active()) {
        // A stopped execution may still hold a wake-up, and an execution between a retry's back-off and its next
        // attempt is between promises: give the event loop one more turn, then look again, so the clock never jumps
        // early. (A real timer here, setTimeout(0), cost a millisecond of idle wall time per clock move: half of the
        // CLI suite's time. The interpreter's retry sleep is no timer at all: aws-local-stepfunctions' sleep(0) returns.)
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (done()) break;
        if (region.scheduler.parkedWakeUps >= active() && region.scheduler.advanceToNextWakeUp()) {
          idle = 0;
          continue;
        }
      }
      idle += 1;
      if (idle > options.maxIdleTurns) throw new Error(`drive: ${options.what} for ${options.maxIdleTurns} turns`);
    }
  } finally {
    release();
  }
}
