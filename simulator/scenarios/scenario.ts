import { allClients } from "../../functions/lib/clients.js";
import type { DeployOutcome, EnvironmentSettings, Outcome } from "../../functions/lib/contract.js";
import { IMAGE_ROLE, TAG } from "../../functions/lib/names.js";
import type { AslDefinition } from "../../stacks/stateMachineDefinition.js";
import { releaseUploadPattern } from "../../stacks/pipeline/tables.js";
import { DeployRunner, type Execution, type StartOptions } from "../execution/runner.js";
import { artifactBucketName, createEnvironment } from "../region/environment.js";
import type { Fault } from "../region/faults.js";
import { attachRegion, bindFunctionClock } from "../region/middleware.js";
import { SimulatedRegion } from "../region/region.js";
import { tagValueOf } from "../region/services/ec2.js";
import type { EventBridgeEvent } from "../region/services/messaging.js";
import { countDifference, sumCounts, TrafficModel, type TrafficCounters } from "../region/traffic.js";
import { deregisteredImagesInUse, environmentGroups, leftovers, type Leftovers } from "./inventory.js";
import {
  configureLiveGroup,
  firstCheckSecondsOf,
  isSettled,
  type LiveGroupSummary,
  routableInstances,
  scaleLiveGroup,
  servingGroup,
  summarizeGroup,
} from "./operator.js";
import { configuredCutoverSeconds, type PhysicalMinimum, physicalMinimum } from "./physical.js";
import { cutoverActionUpdate, lockIdFor } from "../../functions/lib/lock.js";
import { type DeploySpec, type DuringSpec, type ExpectLiveGroup, parseScenario, type Scenario, SCENARIO_STAGE, type ScenarioStep } from "./schema.js";

export { parseScenario, scenarioStageConfig, ScenarioSchema, SCENARIO_STAGE, type Scenario } from "./schema.js";
export type { LiveGroupSummary } from "./operator.js";

/**
 * Scenarios (docs/design.md "Simulation"): a JSON file of steps run against a fresh simulated region with the
 * real state machine and stage functions. `runScenario` returns docs/design.md's result object and checks the
 * invariants after every step, failed ones included.
 */

export interface StepResult {
  /** 1-based index of the scenario step. */
  step: number;
  release: string;
  outcome: Outcome;
  expected?: Outcome;
  simSeconds: number;
  /** In a `concurrent` step only (simSeconds is the whole step's): when this deploy's execution ended, from the step's start. */
  finishSeconds?: number;
  /** What physics needs for the step's work (physical.ts): time-to-finish's bound. */
  physicalMinimumSeconds: number;
  /**
   * Time-to-serve: from the step's start until the new release served every request (a successful deploy), and
   * its physical bound (bake, boot, app start, the checks up to healthy and the cutover's steps below 100 %:
   * nothing of the bake time or the retirement).
   */
  serveSeconds?: number;
  physicalServeSeconds?: number;
  /** The minimum of the design's own model (the whole deregistration delay counted as if it were physics). */
  modelMinimumSeconds: number;
  failedRequests: number;
  /** Requests that arrived before any release had ever served: there was no site yet, they are not failures. */
  requestsBeforeFirstRelease: number;
  servedBy: Record<string, number>;
  /** Failed requests by the release of the instance they went to ("(no healthy target)" when none). */
  failedBy: Record<string, number>;
  /**
   * Of the "(no healthy target)" requests, those that found none while only one release's instances had failed
   * their health checks, by that release (TrafficCounters.noHealthyTargetAfter); only when there were some.
   */
  noHealthyTargetAfter?: Record<string, number>;
  /** A release rolled back after it served: from its first failed request until the previous release served all traffic again. */
  recoverySeconds?: number;
  apiCalls: Record<string, number>;
  stateTransitions: number;
  lambdaInvocations: number;
  /** Of those, the ones that started a new execution environment (timing `lambdaColdStartSeconds`). */
  lambdaColdStarts: number;
  /** The errors those invocations ended with, by name (runner.ts). */
  lambdaErrors: Record<string, number>;
  bakes: { base: number; release: number };
  /** The environment's serving group after the step. */
  liveGroup?: LiveGroupSummary & { inService: number };
  /** Extra executions of the deploy (a duplicate event's), by outcome. */
  duplicates?: Outcome[];
  /** What the outcome notifications said, one per execution of the row (the last end of each), in order. */
  notified?: DeployOutcome[];
  error?: string;
  cause?: string;
}

export interface ScenarioResult {
  scenario: string;
  steps: StepResult[];
  /** The group serving at the end. */
  liveGroup?: LiveGroupSummary;
  leftovers: Pick<Leftovers, "groups" | "launchTemplateVersions" | "images" | "snapshots" | "locks">;
  invariantViolations: string[];
  /** The AWS operations each stage function called ("Service:Operation"), for checking IAM policies. */
  callsByStageFunction?: Record<string, string[]>;
}

export interface RunScenarioOptions {
  /** Benchmark baseline: poll every n seconds instead of when the next change can happen. */
  fixedPollSeconds?: number;
  /** Idempotency proof: every stage-function invocation runs twice in a row (DeployRunner's `invokeTwice`). */
  invokeTwice?: boolean;
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

/** One row of a step's result: a deploy (with its duplicates), a redrive, or an operator's action. */
interface StepRow {
  release: string;
  /** The deploy's execution first, then the extra ones its duplicate event started. */
  executions: Execution[];
  expected?: Outcome;
  /** For a row without execution (an operator's action, or a deploy that could not start). */
  outcome?: Outcome;
  error?: string;
  cause?: string;
  redrive?: boolean;
  operator?: boolean;
}

interface StepSnapshot {
  timeMs: number;
  traffic: TrafficCounters;
  apiCalls: Record<string, number>;
  bakes: { base: number; release: number };
  hadLiveGroup: boolean;
  healthyCapacity: boolean;
  /** The release of the serving group. */
  liveRelease?: string;
  /** Release of each group of the environment attached to its load balancer, by name. */
  attachedReleases: Map<string, string | undefined>;
  /** The longest termination lifecycle hook of the groups a deploy would retire. */
  retireHookSeconds: number;
  /** The environment's groups (not being deleted). */
  groups: string[];
}

/** Settling an operator's change: look every few seconds, give up after an hour. */
const SETTLE_STEP_SECONDS = 5;
const SETTLE_LIMIT_SECONDS = 3600;

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
  /** Releases that must not serve any more: since when, and why. */
  private readonly mustNotServe = new Map<string, { sinceMs: number; why: string }>();
  /** Releases the scenario made faulty: their own failed requests are theirs, not the deploy's. */
  private readonly faulty = new Set<string>();
  /** The S3 event of each release's last upload, for `redeliver`. */
  private readonly uploads = new Map<string, EventBridgeEvent>();

  constructor(
    private readonly scenario: Scenario,
    private readonly region: SimulatedRegion,
    private readonly settings: EnvironmentSettings,
    private readonly definition: AslDefinition,
    options: RunScenarioOptions,
  ) {
    this.runner = new DeployRunner({ region, settings, definition, fixedPollSeconds: options.fixedPollSeconds, invokeTwice: options.invokeTwice });
    this.traffic = new TrafficModel(region, settings.loadBalancer, scenario.traffic);
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
      const before = this.snapshot();
      for (const release of deployedReleases(step)) this.mustNotServe.delete(release);
      const during = this.armDuring(label, step.during, before.timeMs);
      const rows = await this.runStep(label, step);
      for (const action of during.filter((a) => !a.fired)) {
        action.event.cancel();
        this.violations.push(`${label}: during[${action.index}] at ${action.atSeconds} s never acted: the step ended after ${Math.round((this.region.now() - before.timeMs) / 1000)} s`);
      }
      this.record(label, rows, before, step.expectLiveGroup);
    }
    this.traffic.stop();
    this.region.faults.clear();
    const found = leftovers(this.region, this.settings);
    if (this.region.unmodelledCalls.length)
      this.violations.push(`the stage functions called operations the region does not model: ${[...new Set(this.region.unmodelledCalls)].join(", ")}`);
    const live = servingGroup(this.region, this.settings);
    return {
      scenario: this.scenario.name,
      steps: this.results,
      ...(live ? { liveGroup: summarizeGroup(live) } : {}),
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

  private runStep(label: string, step: ScenarioStep): Promise<StepRow[]> {
    if ("deploy" in step) return this.deploySteps(label, [{ deploy: step.deploy, expect: step.expect }]);
    if ("concurrent" in step) return this.deploySteps(label, step.concurrent);
    if ("redrive" in step) return this.redriveStep(label, step.expect);
    if ("redeliver" in step) return this.redeliverStep(label, step.redeliver, step.expect);
    if ("scaleLiveGroup" in step) return this.operatorStep(label, step.expect, (group) => scaleLiveGroup(this.region, group, step.scaleLiveGroup));
    return this.operatorStep(label, step.expect, (group) => configureLiveGroup(this.region, group, step.configureLiveGroup));
  }

  private startExecution(input: unknown, options: StartOptions = {}): Execution {
    const execution = this.runner.start(input, options);
    this.startedThisStep.push(execution);
    return execution;
  }

  /** One or several deploys started at the same virtual instant, driven to completion. */
  private async deploySteps(label: string, deploys: { deploy: DeploySpec; expect?: Outcome }[]): Promise<StepRow[]> {
    this.startedThisStep = [];
    const startedBy: Execution[][] = [];
    for (const { deploy } of deploys) {
      this.setReleaseBehavior(deploy);
      const count = this.startedThisStep.length;
      this.startDeploy(label, deploy);
      const started = this.startedThisStep.slice(count);
      for (const execution of started) this.releaseOfExecution.set(execution, deploy.release);
      startedBy.push(started);
    }
    await this.region.scheduler.drive(this.startedThisStep.map((e) => e.done));
    return deploys.map(({ deploy, expect }, i) => ({ release: deploy.release, executions: startedBy[i], expected: expect }));
  }

  private setReleaseBehavior(deploy: DeploySpec): void {
    const { appHealthy, bootFails, appDiesAfterSeconds, appFlapSeconds, appSlowSeconds } = deploy;
    this.region.setReleaseBehavior(deploy.release, { appHealthy, bootFails, appDiesAfterSeconds, appFlapSeconds, appSlowSeconds });
    const faulty = !appHealthy || bootFails || appDiesAfterSeconds !== undefined || appFlapSeconds !== undefined || appSlowSeconds !== undefined;
    if (faulty) this.faulty.add(deploy.release);
    else this.faulty.delete(deploy.release);
  }

  private startDeploy(label: string, deploy: DeploySpec): void {
    const options: StartOptions = { crashAfter: deploy.crashAfter, loseResponseAfter: deploy.loseResponseAfter };
    const keepImages = deploy.keepImages ? { keepImages: true } : {};
    if (deploy.image) {
      const imageId = this.imageOfRelease(deploy.image);
      if (!imageId) {
        this.violations.push(`${label}: no image of release ${deploy.image} to deploy (was it baked and kept?)`);
        return;
      }
      this.startExecution({ imageId, release: deploy.release, ...keepImages }, options);
      return;
    }
    const key = `releases/${deploy.release}.tgz`;
    if (deploy.trigger === "start-execution") {
      this.suppressTrigger = true;
      const { object } = this.region.s3.putObject(this.bucket, key, `release ${deploy.release}`);
      this.suppressTrigger = false;
      const artifact = { bucket: this.bucket, key, ...(object.versionId ? { versionId: object.versionId } : {}) };
      this.startExecution({ artifact, ...keepImages }, options);
      return;
    }
    this.nextTriggeredStart = options;
    const { event } = this.region.s3.putObject(this.bucket, key, `release ${deploy.release}`);
    this.uploads.set(deploy.release, structuredClone(event) as EventBridgeEvent);
    // At-least-once delivery: EventBridge hands the very same event to the rule again.
    if (deploy.duplicateEvent) this.startExecution(structuredClone(event) as EventBridgeEvent);
  }

  private async redriveStep(label: string, expect: Outcome | undefined): Promise<StepRow[]> {
    const execution = this.lastFailed;
    if (!execution) {
      this.violations.push(`${label}: redrive asked for, but no execution has failed`);
      return [];
    }
    this.startedThisStep = [execution];
    this.runner.redrive(execution);
    await this.region.scheduler.drive([execution.done]);
    return [{ release: this.releaseOf(execution), executions: [execution], expected: expect, redrive: true }];
  }

  /** EventBridge hands the rule the S3 event of an earlier upload again: a late at-least-once redelivery. */
  private async redeliverStep(label: string, release: string, expect: Outcome | undefined): Promise<StepRow[]> {
    const event = this.uploads.get(release);
    if (!event) {
      this.violations.push(`${label}: redeliver ${release}: no upload of that release (a deploy with trigger "s3") came before`);
      return [];
    }
    this.startedThisStep = [];
    this.region.eventBridge.emit("default", structuredClone(event));
    for (const execution of this.startedThisStep) this.releaseOfExecution.set(execution, release);
    await this.region.scheduler.drive(this.startedThisStep.map((e) => e.done));
    return [{ release, executions: this.startedThisStep, expected: expect }];
  }

  /** An operator's change to the serving group through the Auto Scaling API, then time until it has settled. */
  private async operatorStep(label: string, expect: Outcome | undefined, act: (group: NonNullable<ReturnType<typeof servingGroup>>) => void): Promise<StepRow[]> {
    const group = servingGroup(this.region, this.settings);
    const release = group ? (tagValueOf(group.tags, TAG.release) ?? "?") : "?";
    const row: StepRow = { release, executions: [], expected: expect, operator: true, outcome: "succeeded" };
    if (!group) return [{ ...row, outcome: "failed", error: "NoLiveGroup", cause: `${label}: the environment has no group to change` }];
    try {
      act(group);
    } catch (error) {
      return [{ ...row, outcome: "failed", error: (error as Error).name, cause: (error as Error).message }];
    }
    for (let waited = 0; waited < SETTLE_LIMIT_SECONDS && !isSettled(this.region, this.settings); waited += SETTLE_STEP_SECONDS)
      this.region.advance(SETTLE_STEP_SECONDS);
    return [row];
  }

  /** `during` actions: each acts on the serving group at its time after the step started. */
  private armDuring(label: string, during: DuringSpec[], startMs: number) {
    return during.map((spec, index) => {
      const action = { index, atSeconds: spec.atSeconds, fired: false, event: undefined as unknown as { cancel(): void } };
      action.event = this.region.scheduler.at(
        startMs + spec.atSeconds * 1000,
        () => {
          action.fired = true;
          if (!("scaleLiveGroup" in spec) && !("configureLiveGroup" in spec)) return this.operatorAction(label, index, spec);
          const group = servingGroup(this.region, this.settings);
          const kind = "scaleLiveGroup" in spec ? "scaleLiveGroup" : "configureLiveGroup";
          if (!group) return void this.violations.push(`${label}: during[${index}] ${kind} at ${spec.atSeconds} s: the environment has no group`);
          try {
            if ("scaleLiveGroup" in spec) scaleLiveGroup(this.region, group, spec.scaleLiveGroup);
            else configureLiveGroup(this.region, group, spec.configureLiveGroup);
          } catch (error) {
            this.violations.push(`${label}: during[${index}] ${kind} at ${spec.atSeconds} s was refused: ${(error as Error).name}: ${(error as Error).message}`);
          }
        },
        `during[${index}] of ${label}`,
      );
      return action;
    });
  }

  /**
   * An operator's word to the deploy that holds the lock (the same conditional write the CLI makes, or StopExecution,
   * functions/lib/lock.ts `cutoverActionUpdate`), or an alarm's state change (CloudWatch SetAlarmState).
   */
  private operatorAction(label: string, index: number, spec: Exclude<DuringSpec, { scaleLiveGroup: unknown } | { configureLiveGroup: unknown }>): void {
    const at = `${label}: during[${index}] at ${spec.atSeconds} s`;
    try {
      if ("setAlarmState" in spec) {
        this.region.call("CloudWatch", "SetAlarmState", { AlarmName: spec.setAlarmState.alarm, StateValue: spec.setAlarmState.state, StateReason: `scenario ${label}` });
        return;
      }
      const item = this.region.call<{ Item?: Record<string, { S?: string }> }>("DynamoDB", "GetItem", {
        TableName: this.settings.lockTableName,
        Key: { lockId: { S: lockIdFor(this.settings) } },
        ConsistentRead: true,
      });
      const holder = item.Item?.holder?.S;
      const what = "approve" in spec ? "approve" : "stopLockHolder" in spec ? "stop" : "roll back";
      if (!holder) return void this.violations.push(`${at}: no deploy holds the lock, nothing to ${what}`);
      if ("stopLockHolder" in spec) {
        const execution = this.runner.executions.find((e) => e.arn === holder);
        if (!execution) return void this.violations.push(`${at}: the lock holder ${holder} is no execution of this scenario`);
        // What StopExecution does to it (the region's API serves the same `stop`).
        this.runner.stop(execution, "Stopped", `stopped by the scenario's operator (${label})`);
        return;
      }
      this.region.call("DynamoDB", "UpdateItem", cutoverActionUpdate(this.settings, holder, "approve" in spec ? "approve" : "rollback", "scenario operator", Math.floor(this.region.now() / 1000)));
    } catch (error) {
      this.violations.push(`${at} was refused: ${(error as Error).name}: ${(error as Error).message}`);
    }
  }

  private record(label: string, rows: StepRow[], before: StepSnapshot, expectLiveGroup: ExpectLiveGroup | undefined): void {
    const after = this.snapshot();
    const traffic = TrafficModel.difference(after.traffic, before.traffic);
    const bakes = { base: after.bakes.base - before.bakes.base, release: after.bakes.release - before.bakes.release };
    const live = servingGroup(this.region, this.settings);
    const liveGroup = live
      ? { ...summarizeGroup(live), inService: [...live.instances.values()].filter((gi) => gi.lifecycleState === "InService").length }
      : undefined;
    const steps = rows.map((row): StepResult => {
      const [primary, ...extra] = row.executions;
      const result = primary?.result;
      const outcome: Outcome = result?.outcome ?? row.outcome ?? "failed";
      const error = result?.error ?? row.error;
      const recoverySeconds = outcome === "rolled-back" && (traffic.servedBy[row.release] ?? 0) > 0 ? this.recoverySeconds(label, row.release, before) : undefined;
      if (result?.status === "FAILED") this.lastFailed = primary;
      return {
        step: this.stepNumber,
        release: row.release,
        outcome,
        ...(row.expected ? { expected: row.expected } : {}),
        simSeconds: Math.round((after.timeMs - before.timeMs) / 1000),
        ...(rows.length > 1 && result ? { finishSeconds: Math.round((result.endedAtMs - before.timeMs) / 1000) } : {}),
        // A redrive resumes half-done work: there is no meaningful minimum for the rest.
        physicalMinimumSeconds: row.redrive ? 0 : this.physicalMinimumOf(row.release, outcome, bakes, before, row.executions).totalSeconds,
        ...this.serveFigures(row, outcome, bakes, before),
        modelMinimumSeconds: row.redrive ? 0 : this.physicalMinimumOf(row.release, outcome, bakes, before, row.executions, { model: true }).totalSeconds,
        failedRequests: traffic.failed,
        requestsBeforeFirstRelease: traffic.beforeFirstRelease,
        servedBy: traffic.servedBy,
        failedBy: traffic.failedBy,
        ...(Object.keys(traffic.noHealthyTargetAfter).length ? { noHealthyTargetAfter: traffic.noHealthyTargetAfter } : {}),
        ...(recoverySeconds !== undefined ? { recoverySeconds } : {}),
        apiCalls: countDifference(after.apiCalls, before.apiCalls),
        stateTransitions: row.executions.reduce((n, e) => n + (e.result?.stateTransitions ?? 0), 0),
        lambdaInvocations: row.executions.reduce((n, e) => n + (e.result?.lambdaInvocations ?? 0), 0),
        lambdaColdStarts: row.executions.reduce((n, e) => n + (e.result?.lambdaColdStarts ?? 0), 0),
        lambdaErrors: sumCounts(row.executions.map((e) => e.result?.lambdaErrors ?? {})),
        bakes,
        ...(liveGroup ? { liveGroup } : {}),
        ...(extra.length ? { duplicates: extra.map((e) => e.result?.outcome ?? "failed") } : {}),
        ...(row.executions.length ? { notified: row.executions.map((e) => e.notifications.at(-1)?.outcome).filter((o): o is DeployOutcome => o !== undefined) } : {}),
        ...(error ? { error, cause: result?.cause ?? row.cause } : {}),
      };
    });
    this.results.push(...steps);
    this.checkInvariants(label, rows, steps, before, expectLiveGroup);
  }

  /**
   * From the rolled-back release's first failed request in the step until the release that served before the
   * step served all traffic again (undefined, with a violation, when it does not by the end of the step).
   */
  private recoverySeconds(label: string, release: string, before: StepSnapshot): number | undefined {
    const previous = before.liveRelease;
    if (!previous) return undefined;
    const firstFailure = this.traffic.firstFailureSince(release, before.timeMs);
    if (firstFailure === undefined) return 0;
    const restored = this.traffic.servedOnlyBySince(previous);
    if (restored === undefined) {
      this.violations.push(`${label} (${release}): rolled back, but ${previous} does not serve all traffic again by the end of the step`);
      return undefined;
    }
    return Math.max(0, Math.round((restored - firstFailure) / 1000));
  }

  /**
   * What AWS itself needs for the step's work: for a deploy that went live, bake + boot + health checks (+
   * draining, lifecycle hooks and termination when a group was retired); for one that did not, only the bake
   * (how soon a failure can be known is the deploy's own policy, not physics). Zero for a no-op or an operator step.
   */
  /** Time-to-serve of a successful deploy, and its physical bound. */
  private serveFigures(row: StepRow, outcome: Outcome, bakes: { base: number; release: number }, before: StepSnapshot): Pick<StepResult, "serveSeconds" | "physicalServeSeconds"> {
    if (row.redrive || outcome !== "succeeded") return {};
    const since = this.traffic.servedOnlyBySince(row.release);
    if (since === undefined) return {};
    const { parts } = this.physicalMinimumOf(row.release, outcome, bakes, before, row.executions);
    return {
      serveSeconds: Math.max(0, Math.round((since - before.timeMs) / 1000)),
      physicalServeSeconds: parts.bakeSeconds + parts.bootSeconds + parts.loadBalancerHealthySeconds + parts.cutoverStepsSeconds,
    };
  }

  private physicalMinimumOf(
    release: string,
    outcome: Outcome,
    bakes: { base: number; release: number },
    before: StepSnapshot,
    executions: Execution[],
    options: { model?: boolean } = {},
  ): PhysicalMinimum {
    if (outcome === "no-op" || executions.length === 0) return physicalMinimum(this.region.timing, { bake: "none", launch: false, retire: false });
    const bake = bakes.release === 0 ? "none" : bakes.base > 0 ? "base-and-release" : "release";
    const succeeded = outcome === "succeeded";
    const lifecycleHookSeconds = Math.max(this.region.faults.lifecycleHookSeconds, before.retireHookSeconds);
    return physicalMinimum(this.region.timing, {
      bake,
      launch: succeeded,
      retire: before.hadLiveGroup && succeeded,
      lifecycleHookSeconds,
      loadBalancer: this.settings.loadBalancer.kind,
      // The model minimum counts the whole delay (what the design waited for before issue 17).
      ...(!options.model && { requestSeconds: this.traffic.requestsPerSecond > 0 ? this.traffic.requestDurationSeconds : 0 }),
      cutover: before.healthyCapacity ? configuredCutoverSeconds(this.settings.cutover) : undefined,
      // When the new targets' first checks actually came (the seeded phase), not the aligned assumption; the model
      // minimum keeps the aligned one, as the design's model had it.
      ...(!options.model && succeeded && { firstCheckSeconds: firstCheckSecondsOf(this.region, this.settings, release) }),
    });
  }

  private checkInvariants(label: string, rows: StepRow[], steps: StepResult[], before: StepSnapshot, expectLiveGroup: ExpectLiveGroup | undefined) {
    const where = `${label} (${rows.map((row) => row.release).join(", ") || "-"})`;
    for (const [i, step] of steps.entries()) {
      const at = `${label} (${step.release})`;
      if (step.expected && step.outcome !== step.expected)
        this.violations.push(`${at}: outcome ${step.outcome}, expected ${step.expected}${step.error ? ` (${step.error}: ${step.cause})` : ""}`);
      if (rows[i].operator && !step.expected && step.outcome === "failed") this.violations.push(`${at}: refused: ${step.error}: ${step.cause}`);
      for (const outcome of step.duplicates ?? []) if (outcome !== "no-op") this.violations.push(`${at}: a duplicate execution ended ${outcome}, expected no-op`);
    }
    const traffic = TrafficModel.difference(this.traffic.counters(), before.traffic);
    // Failed requests on a release the scenario made faulty are that release's; recoverySeconds measures them. So
    // are those that found no healthy target because only that release's instances had failed their checks (a
    // classic ELB has no healthy instance from then until the old ones, attached again, pass theirs).
    const faultyNoTarget = Object.entries(traffic.noHealthyTargetAfter).filter(([release]) => this.faulty.has(release)).reduce((n, [, count]) => n + count, 0);
    const blamed = Object.entries(traffic.failedBy).filter(([release]) => !this.faulty.has(release)).reduce((n, [, count]) => n + count, 0) - faultyNoTarget;
    if (before.healthyCapacity && blamed > 0)
      this.violations.push(`${where}: ${blamed} failed request(s) although the environment had healthy capacity before the step (${JSON.stringify(traffic.failedBy)})`);
    // Whatever happened, no image a launch template version or a running instance uses may be deregistered.
    for (const id of deregisteredImagesInUse(this.region))
      this.violations.push(`${where}: image ${id} is still in use (launch template version or instance) but was deregistered`);
    for (const [release, watch] of this.mustNotServe) {
      const last = this.traffic.lastServedAtMs(release);
      if (last !== undefined && last > watch.sinceMs) {
        this.violations.push(`${where}: release ${release} served again after ${watch.why}`);
        this.mustNotServe.delete(release);
      }
    }
    this.watchReleases(label, rows, before);
    if (expectLiveGroup) this.checkLiveGroup(where, expectLiveGroup, steps.at(-1)?.liveGroup);
    const found = leftovers(this.region, this.settings);
    this.checkNotifications(label, rows);
    // A failure after cutover keeps the lock for a redrive: what it left is the redrive's to finish (until then,
    // operator steps in between are not held to it either). Only an execution stopped at a Task qualifies: one
    // that ended in a Fail state of its own (failed, rolled back) must have let go of the lock.
    const heldForRedrive = found.locks.some((lock) => this.runner.executions.some((e) => e.arn === lock.holder && this.stoppedForRedrive(e)));
    if (!heldForRedrive) this.checkLeftovers(where, found, steps.some((s) => s.outcome === "rolled-back") ? before.groups : undefined);
  }

  /** A failed execution that stopped at a state that is not one of its Fail states: a redrive resumes it there. */
  private stoppedForRedrive(execution: Execution): boolean {
    const failedState = execution.result?.status === "FAILED" ? execution.result.failedState : undefined;
    return failedState !== undefined && this.definition.States[failedState]?.Type !== "Fail";
  }

  /**
   * Every end of every execution of the step was told, by the notify function the outcome rule invoked, with the
   * outcome the execution really had: a failure that keeps the lock is `needs-attention`, a stopped one `aborted`.
   */
  private checkNotifications(label: string, rows: StepRow[]): void {
    for (const row of rows) {
      for (const execution of row.executions) {
        const result = execution.result;
        if (!result) continue;
        // A stopped execution is told by its own status (functions/notify.ts: `aborted`).
        const expected = result.status === "ABORTED" ? "aborted" : this.stoppedForRedrive(execution) ? "needs-attention" : result.outcome;
        const told = execution.notifications.at(-1)?.outcome;
        if (told !== expected) this.violations.push(`${label} (${row.release}): execution ${execution.name} ended ${expected}, the outcome notification said ${told ?? "nothing"}`);
      }
    }
  }

  /**
   * Releases that must not serve again: one reported rolled back (from the report on), and one whose group a deploy
   * took out of the load balancer (from the end of the step; a later deploy of that release may bring it back).
   */
  private watchReleases(label: string, rows: StepRow[], before: StepSnapshot): void {
    for (const row of rows) {
      const result = row.executions[0]?.result;
      if (result?.outcome === "rolled-back") this.mustNotServe.set(row.release, { sinceMs: result.endedAtMs, why: `${label} reported it rolled back` });
    }
    if (!rows.some((row) => row.executions.length > 0)) return;
    const attached = this.attachedReleases();
    for (const [name, release] of before.attachedReleases) {
      if (attached.has(name) || !release || rows.some((row) => row.release === release) || this.mustNotServe.has(release)) continue;
      this.mustNotServe.set(release, { sinceMs: this.region.now(), why: `${label} retired its group ${name}` });
    }
  }

  private attachedReleases(): Map<string, string | undefined> {
    const lb = this.settings.loadBalancer;
    const targets = lb.kind === "application" ? [lb.targetGroupArn, lb.alternateTargetGroupArn] : [lb.loadBalancerName];
    const attached = environmentGroups(this.region, this.settings).filter(
      (group) => !group.deleting && [...group.targetGroupArns, ...group.loadBalancerNames].some((target) => targets.includes(target)),
    );
    return new Map(attached.map((group) => [group.name, tagValueOf(group.tags, TAG.release)]));
  }

  private checkLiveGroup(where: string, expected: ExpectLiveGroup, actual: StepResult["liveGroup"]): void {
    if (!actual) return void this.violations.push(`${where}: expected a live group ${JSON.stringify(expected)}, found none`);
    for (const [field, want] of Object.entries(expected)) {
      const have = actual[field as keyof typeof actual];
      // Names listed must be there; suspended processes must be exactly those listed (a deploy's must be gone).
      const ok = !Array.isArray(want)
        ? have === want
        : field === "suspendedProcesses"
          ? JSON.stringify([...want].sort()) === JSON.stringify(have)
          : want.every((name) => (have as string[]).includes(name));
      if (!ok) this.violations.push(`${where}: live group ${actual.name} has ${field} ${JSON.stringify(have)}, expected ${JSON.stringify(want)}`);
    }
  }

  /**
   * After a finished step: one group (after a rollback, only groups that were there before the step: a rollback
   * restores what served and leaves an earlier deploy's leftovers for the next one), no lock, no scaling held, no
   * unused version, no orphan snapshot, retention respected.
   */
  private checkLeftovers(where: string, found: Leftovers, groupsBeforeRollback: string[] | undefined): void {
    const live = found.groups;
    const rolledBack = groupsBeforeRollback !== undefined;
    const added = live.filter((name) => !groupsBeforeRollback?.includes(name));
    if (rolledBack ? added.length > 0 : live.length > 1)
      this.violations.push(`${where}: ${live.length} groups left: ${live.join(", ")}${rolledBack ? ` (${added.join(", ")} not there before the step)` : ""}`);
    if (found.locks.length) this.violations.push(`${where}: lock left behind: ${JSON.stringify(found.locks)}`);
    if (found.heldGroups.length) this.violations.push(`${where}: scaling still held by a deploy on ${found.heldGroups.join(", ")}`);
    const usedVersions = new Set(live.map((name) => Number(this.region.autoScaling.groups.get(name)?.launchTemplate?.version)));
    const strayVersions = found.launchTemplateVersions.filter((v) => !usedVersions.has(v));
    if (strayVersions.length) this.violations.push(`${where}: launch template versions nothing uses: ${strayVersions.join(", ")}`);
    const releaseImages = this.region.ec2
      .ownImages()
      .filter((image) => tagValueOf(image.tags, TAG.app) === this.settings.app && tagValueOf(image.tags, TAG.role) === IMAGE_ROLE.release);
    const allowed = this.settings.retainReleaseImages + 1 + (rolledBack ? 1 : 0);
    if (releaseImages.length > allowed)
      this.violations.push(`${where}: ${releaseImages.length} release images kept, retention allows ${allowed}`);
    const imageSnapshots = new Set(this.region.ec2.ownImages().flatMap((image) => image.snapshotIds ?? []));
    const orphans = found.snapshots.filter((id) => !imageSnapshots.has(id));
    if (orphans.length) this.violations.push(`${where}: snapshots of no image: ${orphans.join(", ")}`);
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
    const groups = environmentGroups(this.region, this.settings).filter((group) => !group.deleting);
    const live = servingGroup(this.region, this.settings);
    return {
      timeMs: this.region.now(),
      traffic: this.traffic.counters(),
      apiCalls: Object.fromEntries(this.region.apiCalls),
      bakes: { ...this.region.codeBuild.bakes },
      hadLiveGroup: groups.length > 0,
      healthyCapacity: routableInstances(this.region, this.settings).size > 0,
      liveRelease: live && tagValueOf(live.tags, TAG.release),
      attachedReleases: this.attachedReleases(),
      retireHookSeconds: Math.max(
        0,
        ...groups.flatMap((group) => [...group.lifecycleHooks.values()].filter((hook) => hook.transition === "autoscaling:EC2_INSTANCE_TERMINATING").map((hook) => hook.heartbeatTimeout)),
      ),
      groups: groups.map((group) => group.name),
    };
  }
}

/** The releases a step deploys (a deliberate redeploy of a retired or rolled-back release may serve again). */
function deployedReleases(step: ScenarioStep): string[] {
  if ("deploy" in step) return [step.deploy.release];
  if ("concurrent" in step) return step.concurrent.map((entry) => entry.deploy.release);
  return [];
}
