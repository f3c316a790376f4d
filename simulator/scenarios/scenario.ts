import { z } from "zod";
import { allClients } from "../../functions/lib/clients.js";
import type { EnvironmentSettings, Outcome } from "../../functions/lib/contract.js";
import { IMAGE_ROLE, TAG } from "../../functions/lib/names.js";
import { valueAt } from "../../functions/lib/validation.js";
import type { AslDefinition } from "../../stacks/stateMachineDefinition.js";
import { parseStageConfig, type StageConfig, StageConfigError } from "../../stacks/config.js";
import { artifactBucketName, createEnvironment, SIMULATED_DOMAIN } from "../region/environment.js";
import type { Fault } from "../region/faults.js";
import { deregisteredImagesInUse, leftovers, type Leftovers } from "./inventory.js";
import { attachRegion, bindFunctionClock } from "../region/middleware.js";
import { physicalMinimum } from "./physical.js";
import { SimulatedRegion } from "../region/region.js";
import { DeployRunner, type Execution, type StartOptions } from "../execution/runner.js";
import { releaseUploadPattern } from "../../stacks/pipeline/tables.js";
import { tagValueOf } from "../region/services/ec2.js";
import type { EventBridgeEvent } from "../region/services/messaging.js";
import { CONSISTENCY_KINDS, DEFAULT_TIMING, IMMEDIATE_CONSISTENCY, type Timing } from "../region/timing.js";
import { TrafficModel, type TrafficCounters } from "../region/traffic.js";

/**
 * Scenarios (docs/design.md "Simulation"): a JSON file of steps run against a fresh simulated region with the
 * real state machine and stage functions. `runScenario` returns docs/design.md's result object and checks the
 * invariants after every step.
 */

const OUTCOMES = ["succeeded", "rolled-back", "failed", "no-op"] as const;
const positiveInt = z.number().int().positive();
const seconds = z.number().int().min(0);

const FaultSchema = z.union([
  z.object({ operation: z.string().regex(/^[A-Za-z0-9]+:[A-Za-z0-9]+$/, 'a "Service:Operation" such as "AutoScaling:DescribeAutoScalingGroups"'), error: z.string().min(1), times: positiveInt.default(1) }).strict(),
  z.object({ lifecycleHookSeconds: seconds }).strict(),
  z.object({ snapshotInUseTimes: positiveInt }).strict(),
  z.object({ bakeFailsTimes: positiveInt }).strict(),
]);

const DeploySchema = z
  .object({
    release: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "a release label such as v2"),
    appHealthy: z.boolean().default(true),
    bootFails: z.boolean().default(false),
    trigger: z.enum(["s3", "start-execution"]).default("s3"),
    /** Deploy the image an earlier release baked (no bake): a rollback. */
    image: z.string().optional(),
    duplicateEvent: z.boolean().default(false),
    crashAfter: z.string().regex(/^[A-Za-z0-9]+:[A-Za-z0-9]+$/, 'a "Service:Operation"').optional(),
    keepImages: z.boolean().optional(),
  })
  .strict();

const StepCommon = { faults: z.array(FaultSchema).default([]), expect: z.enum(OUTCOMES).optional() };
/** One schema per step kind, chosen by the step's key (so errors point inside the step). */
const STEP_KINDS = {
  deploy: z.object({ deploy: DeploySchema, ...StepCommon }).strict(),
  redrive: z.object({ redrive: z.literal(true), ...StepCommon }).strict(),
  scaleLiveGroup: z.object({ scaleLiveGroup: z.object({ desired: z.number().int().min(0) }).strict(), ...StepCommon }).strict(),
  concurrent: z
    .object({
      concurrent: z.array(z.object({ deploy: DeploySchema, expect: z.enum(OUTCOMES).optional() }).strict()).min(2),
      faults: StepCommon.faults,
    })
    .strict(),
};
const StepSchema = z.union([STEP_KINDS.deploy, STEP_KINDS.redrive, STEP_KINDS.scaleLiveGroup, STEP_KINDS.concurrent]);

/** `[min, max]` seconds of one eventual-consistency delay. */
const delayRange = z
  .tuple([z.number().min(0), z.number().min(0)], { invalid_type_error: "[min, max] seconds" })
  .refine(([min, max]) => min <= max, "[min, max] seconds with 0 <= min <= max");

/** Eventual consistency (region timing.ts `ConsistencySettings`): any field overrides the default; "immediate" turns all off. */
const ConsistencySchema = z.preprocess(
  (value) => (value === "immediate" ? { ...IMMEDIATE_CONSISTENCY } : value),
  z
    .object(
      {
        seed: z.number().int().min(0).optional(),
        ...(Object.fromEntries(CONSISTENCY_KINDS.map((key) => [key, delayRange.optional()])) as Record<
          (typeof CONSISTENCY_KINDS)[number],
          z.ZodOptional<typeof delayRange>
        >),
      },
      { invalid_type_error: `"immediate", or an object of seed, ${CONSISTENCY_KINDS.join(", ")}` },
    )
    .strict()
    .default({}),
);

export const ScenarioSchema = z
  .object({
    name: z.string().default("scenario"),
    /** Stage configuration fields (stacks/config.ts), validated below with the same schema as a real stage. */
    environment: z.record(z.unknown()).default({}),
    timing: z
      .object(Object.fromEntries(Object.keys(DEFAULT_TIMING).map((key) => [key, seconds.optional()])) as Record<keyof Timing, z.ZodOptional<typeof seconds>>)
      .strict()
      .default({}),
    traffic: z.object({ requestsPerSecond: z.number().min(0).default(10) }).strict().default({}),
    consistency: ConsistencySchema,
    steps: z.array(StepSchema).min(1),
  })
  .strict();

export type Scenario = z.output<typeof ScenarioSchema>;
type DeploySpec = z.output<typeof DeploySchema>;

export interface StepResult {
  /** 1-based index of the scenario step. */
  step: number;
  release: string;
  outcome: Outcome;
  expected?: Outcome;
  simSeconds: number;
  physicalMinimumSeconds: number;
  failedRequests: number;
  servedBy: Record<string, number>;
  apiCalls: Record<string, number>;
  stateTransitions: number;
  lambdaInvocations: number;
  bakes: { base: number; release: number };
  /** The environment's live group after the step. */
  liveGroup?: { name: string; release?: string; desired: number; inService: number };
  /** Extra executions of the step (a duplicate event's), by outcome. */
  duplicates?: Outcome[];
  error?: string;
  cause?: string;
}

export interface ScenarioResult {
  scenario: string;
  steps: StepResult[];
  leftovers: Pick<Leftovers, "groups" | "launchTemplateVersions" | "images" | "snapshots" | "locks">;
  invariantViolations: string[];
  /** The AWS operations each stage function called ("Service:Operation"), for checking IAM policies. */
  callsByStageFunction?: Record<string, string[]>;
}

/** The stage every scenario's environment is (tags, names). */
export const SCENARIO_STAGE = "sim";

/** Parses a scenario; a bad one fails with the field, the value and what is allowed. */
export function parseScenario(input: unknown): Scenario {
  const result = ScenarioSchema.safeParse(input);
  if (result.success) {
    checkEnvironment(result.data.environment);
    return result.data;
  }
  const lines = result.error.issues.map((issue) => {
    const where = issue.path.join(".") || "(scenario)";
    const value = JSON.stringify(valueAt(input, issue.path)) ?? "missing";
    if (issue.code === "invalid_union" && issue.path.length === 2 && issue.path[0] === "steps") {
      const step = valueAt(input, issue.path);
      const kind = Object.keys(STEP_KINDS).find((k) => step !== null && typeof step === "object" && k in step) as keyof typeof STEP_KINDS | undefined;
      const specific = kind && STEP_KINDS[kind].safeParse(step);
      if (specific && !specific.success)
        return specific.error.issues
          .map((inner) => {
            const path = [...issue.path, ...inner.path];
            const detail = inner.code === "unrecognized_keys" ? `unknown field(s) ${inner.keys.join(", ")}` : inner.code === "invalid_union" ? `${JSON.stringify(valueAt(input, path))}; allowed: ${UNION_HINTS[String(path.at(-2))] ?? "see README, Writing a scenario"}` : `${JSON.stringify(valueAt(input, path)) ?? "missing"}; allowed: ${inner.message}`;
            return `${path.join(".")}: ${detail}`;
          })
          .join("\n  ");
      return `${where}: ${value} is not a step; allowed: {"deploy": {...}}, {"redrive": true}, {"scaleLiveGroup": {"desired": n}} or {"concurrent": [...]}, each with optional "faults" and "expect"`;
    }
    if (issue.code === "invalid_union") return `${where}: ${value}; allowed: ${UNION_HINTS[String(issue.path.at(-2))] ?? "see README, Writing a scenario"}`;
    if (issue.code === "unrecognized_keys") return `${where}: unknown field(s) ${issue.keys.join(", ")}`;
    return `${where}: ${value}; allowed: ${issue.message}`;
  });
  throw new Error(`invalid scenario:\n  ${lines.join("\n  ")}`);
}

/** The scenario's environment is a stage configuration: the same validation, defaults and messages as stacks/config.ts. */
export function scenarioStageConfig(environment: Record<string, unknown>): StageConfig {
  return parseStageConfig(SCENARIO_STAGE, { ...SIMULATED_DOMAIN, ...environment });
}

function checkEnvironment(environment: Record<string, unknown>): void {
  try {
    scenarioStageConfig(environment);
  } catch (error) {
    if (!(error instanceof StageConfigError)) throw error;
    const lines = error.message.split("\n").slice(1).map((line) => `environment.${line.trim()}`);
    throw new Error(`invalid scenario:\n  ${lines.join("\n  ")}`);
  }
}

const UNION_HINTS: Record<string, string> = {
  faults:
    '{"operation": "Service:Operation", "error": "<code>", "times": n}, {"lifecycleHookSeconds": n}, {"snapshotInUseTimes": n} or {"bakeFailsTimes": n}',
};


export interface RunScenarioOptions {
  /** Benchmark baseline: poll every n seconds instead of when the next change can happen. */
  fixedPollSeconds?: number;
  /** Hears every API call the stage functions make, with its input (see SimulatedRegion.onApiCall). */
  onApiCall?: (operation: string, input: object) => void;
}

export async function runScenario(scenarioInput: unknown, definition: AslDefinition, options: RunScenarioOptions = {}): Promise<ScenarioResult> {
  const scenario = parseScenario(scenarioInput);
  const region = new SimulatedRegion({ timing: scenario.timing, consistency: scenario.consistency });
  const settings = createEnvironment(region, { environment: SCENARIO_STAGE, config: scenario.environment });
  const attachment = attachRegion(region, allClients);
  const restoreClock = bindFunctionClock(region);
  if (options.onApiCall) region.onApiCall(options.onApiCall);
  try {
    return await new ScenarioRun(scenario, region, settings, definition, options).run();
  } finally {
    attachment.detach();
    restoreClock();
  }
}

class ScenarioRun {
  private readonly runner: DeployRunner;
  private readonly traffic: TrafficModel;
  private readonly bucket: string;
  private readonly violations: string[] = [];
  private readonly results: StepResult[] = [];
  /** Options for the next execution the S3 trigger starts (crashAfter of a step). */
  private nextTriggeredStart: StartOptions = {};
  private suppressTrigger = false;
  private startedThisStep: Execution[] = [];
  private lastFailed?: Execution;
  private readonly releaseOfExecution = new Map<Execution, string>();
  private stepNumber = 0;

  constructor(
    private readonly scenario: Scenario,
    private readonly region: SimulatedRegion,
    private readonly settings: EnvironmentSettings,
    definition: AslDefinition,
    options: RunScenarioOptions,
  ) {
    this.runner = new DeployRunner({ region, settings, definition, fixedPollSeconds: options.fixedPollSeconds });
    this.traffic = new TrafficModel(region, settings.loadBalancer, scenario.traffic.requestsPerSecond);
    this.bucket = artifactBucketName(settings.app, settings.environment);
    // The Pipeline's EventBridge rule.
    region.eventBridge.putRule("default", releaseUploadPattern(this.bucket), (event) => {
      if (this.suppressTrigger) return;
      this.startExecution(event, this.nextTriggeredStart);
      this.nextTriggeredStart = {};
    });
  }

  async run(): Promise<ScenarioResult> {
    await this.runner.preload();
    this.traffic.start();
    for (const [index, step] of this.scenario.steps.entries()) {
      this.region.faults.clear();
      this.region.faults.inject(step.faults as Fault[]);
      this.stepNumber = index + 1;
      const label = `step ${index + 1}`;
      if ("deploy" in step) await this.deploySteps(label, [{ deploy: step.deploy, expect: step.expect }]);
      else if ("concurrent" in step) await this.deploySteps(label, step.concurrent);
      else if ("redrive" in step) await this.redriveStep(label, step.expect);
      else await this.scaleLiveGroupStep(label, step.scaleLiveGroup.desired);
    }
    this.traffic.stop();
    this.region.faults.clear();
    const found = leftovers(this.region, this.settings);
    if (this.region.unmodelledCalls.length)
      this.violations.push(`the stage functions called operations the region does not model: ${[...new Set(this.region.unmodelledCalls)].join(", ")}`);
    return {
      scenario: this.scenario.name,
      steps: this.results,
      leftovers: {
        groups: found.groups,
        launchTemplateVersions: found.launchTemplateVersions,
        images: found.images,
        snapshots: found.snapshots,
        locks: found.locks,
      },
      invariantViolations: this.violations,
      callsByStageFunction: Object.fromEntries(
        [...this.runner.callsByStageFunction].map(([name, calls]) => [name, [...calls].sort()]),
      ),
    };
  }

  private startExecution(input: unknown, options: StartOptions = {}): Execution {
    const execution = this.runner.start(input, options);
    this.startedThisStep.push(execution);
    return execution;
  }

  /** One or several deploys started at the same virtual instant, driven to completion. */
  private async deploySteps(label: string, deploys: { deploy: DeploySpec; expect?: Outcome }[]) {
    const before = this.snapshot();
    this.startedThisStep = [];
    const primaries: Execution[] = [];
    for (const { deploy } of deploys) {
      this.region.setReleaseBehavior(deploy.release, { appHealthy: deploy.appHealthy, bootFails: deploy.bootFails });
      const count = this.startedThisStep.length;
      this.startDeploy(label, deploy);
      for (const started of this.startedThisStep.slice(count)) this.releaseOfExecution.set(started, deploy.release);
      primaries.push(this.startedThisStep[count]);
    }
    await this.region.scheduler.drive(this.startedThisStep.map((e) => e.done));
    for (const [i, { deploy, expect }] of deploys.entries()) {
      const primary = primaries[i];
      const extra = deploys.length === 1 ? this.startedThisStep.filter((e) => e !== primary) : [];
      this.record(label, deploy.release, [primary, ...extra], before, expect);
    }
  }

  private startDeploy(label: string, deploy: DeploySpec): void {
    if (deploy.image) {
      const imageId = this.imageOfRelease(deploy.image);
      if (!imageId) {
        this.violations.push(`${label}: no image of release ${deploy.image} to deploy (was it baked and kept?)`);
        return;
      }
      const input = { imageId, release: deploy.release, ...(deploy.keepImages ? { keepImages: true } : {}) };
      this.startExecution(input, { crashAfter: deploy.crashAfter });
      return;
    }
    const key = `releases/${deploy.release}.tgz`;
    if (deploy.trigger === "start-execution") {
      this.suppressTrigger = true;
      const { object } = this.region.s3.putObject(this.bucket, key, `release ${deploy.release}`);
      this.suppressTrigger = false;
      const artifact = { bucket: this.bucket, key, ...(object.versionId ? { versionId: object.versionId } : {}) };
      this.startExecution({ artifact, ...(deploy.keepImages ? { keepImages: true } : {}) }, { crashAfter: deploy.crashAfter });
      return;
    }
    this.nextTriggeredStart = { crashAfter: deploy.crashAfter };
    const { event } = this.region.s3.putObject(this.bucket, key, `release ${deploy.release}`);
    // At-least-once delivery: EventBridge hands the very same event to the rule again.
    if (deploy.duplicateEvent) this.startExecution(structuredClone(event) as EventBridgeEvent);
  }

  private async redriveStep(label: string, expect: Outcome | undefined) {
    const execution = this.lastFailed;
    const before = this.snapshot();
    if (!execution) {
      this.violations.push(`${label}: redrive asked for, but no execution has failed`);
      return;
    }
    this.startedThisStep = [execution];
    this.runner.redrive(execution);
    await this.region.scheduler.drive([execution.done]);
    this.record(label, this.releaseOf(execution), [execution], before, expect, "failed", { redrive: true });
  }

  private async scaleLiveGroupStep(label: string, desired: number) {
    const live = this.liveGroupNames();
    if (live.length !== 1) {
      this.violations.push(`${label}: scaleLiveGroup needs exactly one live group, found ${live.length}`);
      return;
    }
    const before = this.snapshot();
    this.region.autoScaling.scaleGroup(live[0], desired);
    const t = this.region.timing;
    // Let the scale-out finish: boot, app start and the load balancer's checks.
    this.region.advance(t.instanceBootSeconds + t.appStartSeconds + t.healthCheckIntervalSeconds * (t.healthyThreshold + 1));
    const release = this.liveGroupSummary().liveGroup?.release ?? "?";
    this.record(label, release, [], before, undefined, "succeeded");
  }

  private record(
    label: string,
    release: string,
    executions: Execution[],
    before: StepSnapshot,
    expected?: Outcome,
    outcomeWithoutExecution: Outcome = "failed",
    options: { redrive?: boolean } = {},
  ) {
    const [primary, ...extra] = executions.filter(Boolean);
    const after = this.snapshot();
    const traffic = TrafficModel.difference(after.traffic, before.traffic);
    const result = primary?.result;
    const outcome: Outcome = result?.outcome ?? outcomeWithoutExecution;
    const bakes = { base: after.bakes.base - before.bakes.base, release: after.bakes.release - before.bakes.release };
    const simSeconds = Math.round((after.timeMs - before.timeMs) / 1000);
    const step: StepResult = {
      step: this.stepNumber,
      release,
      outcome,
      ...(expected ? { expected } : {}),
      simSeconds,
      // A redrive resumes half-done work: there is no meaningful minimum for the rest.
      physicalMinimumSeconds: options.redrive ? 0 : this.physicalMinimumOf(outcome, bakes, before.hadLiveGroup, executions),
      failedRequests: traffic.failed,
      servedBy: traffic.servedBy,
      apiCalls: diffCounts(after.apiCalls, before.apiCalls),
      stateTransitions: executions.reduce((n, e) => n + (e?.result?.stateTransitions ?? 0), 0),
      lambdaInvocations: executions.reduce((n, e) => n + (e?.result?.lambdaInvocations ?? 0), 0),
      bakes,
      ...this.liveGroupSummary(),
      ...(extra.length ? { duplicates: extra.map((e) => e.result?.outcome ?? "failed") } : {}),
      ...(result?.error ? { error: result.error, cause: result.cause } : {}),
    };
    this.results.push(step);
    if (result?.status === "FAILED") this.lastFailed = primary;
    this.checkInvariants(label, step, before, executions);
  }

  /**
   * What AWS itself needs for the step's work: for a deploy that went live, bake + boot + health checks (+
   * draining and termination when a group was retired); for one that did not, only the bake (how soon a
   * failure can be known is the deploy's own policy, not physics). Zero for a no-op or a redrive.
   */
  private physicalMinimumOf(outcome: Outcome, bakes: { base: number; release: number }, hadLiveGroup: boolean, executions: Execution[]): number {
    if (outcome === "no-op" || executions.length === 0) return 0;
    const bake = bakes.release === 0 ? "none" : bakes.base > 0 ? "base-and-release" : "release";
    const succeeded = outcome === "succeeded";
    const lifecycleHookSeconds = this.region.faults.lifecycleHookSeconds;
    return physicalMinimum(this.region.timing, {
      bake,
      launch: succeeded,
      retire: hadLiveGroup && succeeded,
      lifecycleHookSeconds,
      loadBalancer: this.settings.loadBalancer.kind,
    })
      .totalSeconds;
  }

  private checkInvariants(label: string, step: StepResult, before: StepSnapshot, executions: Execution[]) {
    const where = `${label} (${step.release})`;
    if (step.expected && step.outcome !== step.expected)
      this.violations.push(`${where}: outcome ${step.outcome}, expected ${step.expected}${step.error ? ` (${step.error}: ${step.cause})` : ""}`);
    if (before.healthyCapacity && step.failedRequests > 0)
      this.violations.push(`${where}: ${step.failedRequests} failed request(s) although the environment had healthy capacity before the step`);
    for (const outcome of step.duplicates ?? [])
      if (outcome !== "no-op") this.violations.push(`${where}: a duplicate execution ended ${outcome}, expected no-op`);
    // Whatever happened, no image a launch template version or a running instance uses may be deregistered.
    for (const id of deregisteredImagesInUse(this.region))
      this.violations.push(`${where}: image ${id} is still in use (launch template version or instance) but was deregistered`);
    // A finished deploy (not one stopped for a redrive) leaves nothing behind.
    if (executions.some((e) => e?.result?.outcome === "failed")) return;
    const found = leftovers(this.region, this.settings);
    const live = found.groups;
    if (live.length > 1) this.violations.push(`${where}: ${live.length} groups left: ${live.join(", ")}`);
    if (found.locks.length) this.violations.push(`${where}: lock left behind: ${JSON.stringify(found.locks)}`);
    const usedVersions = new Set(live.map((name) => Number(this.region.autoScaling.groups.get(name)?.launchTemplate?.version)));
    const strayVersions = found.launchTemplateVersions.filter((v) => !usedVersions.has(v));
    if (strayVersions.length) this.violations.push(`${where}: launch template versions nothing uses: ${strayVersions.join(", ")}`);
    const releaseImages = this.region.ec2
      .ownImages()
      .filter((image) => tagValueOf(image.tags, TAG.app) === this.settings.app && tagValueOf(image.tags, TAG.role) === IMAGE_ROLE.release);
    const allowed = this.settings.retainReleaseImages + 1 + (step.outcome === "rolled-back" ? 1 : 0);
    if (releaseImages.length > allowed)
      this.violations.push(`${where}: ${releaseImages.length} release images kept, retention allows ${allowed}`);
    const imageSnapshots = new Set(this.region.ec2.ownImages().flatMap((image) => image.snapshotIds ?? []));
    const orphans = found.snapshots.filter((id) => !imageSnapshots.has(id));
    if (orphans.length) this.violations.push(`${where}: snapshots of no image: ${orphans.join(", ")}`);
  }

  private liveGroupSummary(): { liveGroup?: StepResult["liveGroup"] } {
    const [name] = this.liveGroupNames();
    const group = name ? this.region.autoScaling.groups.get(name) : undefined;
    if (!group) return {};
    const inService = [...group.instances.values()].filter((i) => i.lifecycleState === "InService").length;
    return { liveGroup: { name, release: tagValueOf(group.tags, TAG.release), desired: group.desired, inService } };
  }

  private healthyTargets(): number {
    const lb = this.settings.loadBalancer;
    const pool =
      lb.kind === "application"
        ? this.region.loadBalancing.targetGroups.get(lb.targetGroupArn)?.pool
        : this.region.loadBalancing.classicLoadBalancers.get(lb.loadBalancerName)?.pool;
    return pool?.routableInstanceIds().length ?? 0;
  }

  private liveGroupNames(): string[] {
    return leftovers(this.region, this.settings).groups;
  }

  /** The newest available release image of `release` (for `image` deploys: a rollback). */
  private imageOfRelease(release: string): string | undefined {
    return this.region.ec2
      .ownImages()
      .filter((image) => tagValueOf(image.tags, TAG.release) === release && tagValueOf(image.tags, TAG.role) === IMAGE_ROLE.release)
      .at(-1)?.imageId;
  }

  private releaseOf(execution: Execution): string {
    return this.releaseOfExecution.get(execution) ?? "?";
  }

  private snapshot(): StepSnapshot {
    const live = this.liveGroupNames();
    return {
      timeMs: this.region.now(),
      traffic: this.traffic.counters(),
      apiCalls: Object.fromEntries(this.region.apiCalls),
      bakes: { ...this.region.codeBuild.bakes },
      hadLiveGroup: live.length > 0,
      healthyCapacity: this.healthyTargets() > 0,
    };
  }
}

interface StepSnapshot {
  timeMs: number;
  traffic: TrafficCounters;
  apiCalls: Record<string, number>;
  bakes: { base: number; release: number };
  hadLiveGroup: boolean;
  healthyCapacity: boolean;
}

function diffCounts(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(after)) {
    const delta = value - (before[key] ?? 0);
    if (delta > 0) out[key] = delta;
  }
  return out;
}
