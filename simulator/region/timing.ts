import { DEFAULTS } from "../../functions/lib/names.js";

/**
 * When a newly registered target's first health check comes (docs/simulator-region.md, "Health-check phase"):
 * - "aligned": exactly one interval after registration, then every interval (the default). The latest a first
 *   check can come, so the slowest to healthy when the app answers by then (a seeded phase shorter than
 *   appStartSeconds fails its first check and passes one interval later), and the adaptive poller's best case:
 *   it predicts the check exactly.
 * - "seeded": after a draw in (0, interval] per target (load balancer and instance), hashed from the consistency
 *   seed, then every interval. AWS documents no phase: each load balancer node checks on its own schedule, so
 *   the first check comes anywhere up to one interval after registration.
 */
export const HEALTH_CHECK_PHASES = ["aligned", "seeded"] as const;
export type HealthCheckPhase = (typeof HEALTH_CHECK_PHASES)[number];

/** How long AWS itself takes for each physical process (docs/design.md "Simulation", scenario `timing`). */
export interface Timing {
  /** RunInstances -> EC2 `running` and Auto Scaling `InService` (then the instance is registered with the LB). */
  instanceBootSeconds: number;
  /** After `running`: until the app answers its health check (never for a broken release). */
  appStartSeconds: number;
  healthCheckIntervalSeconds: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  /** ALB deregistration delay / classic ELB connection-draining timeout. */
  drainingSeconds: number;
  /** EC2 `shutting-down` -> `terminated`. */
  terminationSeconds: number;
  /** CodeBuild bake of the release image. */
  bakeSeconds: number;
  /** Extra CodeBuild time when the base image must be baked first. */
  baseBakeSeconds: number;
  /** When a new target's first health check comes after its registration (`HealthCheckPhase`; default "aligned"). */
  healthCheckPhase: HealthCheckPhase;
  /**
   * Lambda's Init phase in a new execution environment (a cold start), before the handler runs; not counted against
   * the function's timeout while it stays within Lambda's 10 s Init limit (`LAMBDA_INIT_LIMIT_SECONDS`).
   */
  lambdaColdStartSeconds: number;
  /** Every Lambda invocation, warm or cold: from Step Functions scheduling it to the handler starting. */
  lambdaInvokeSeconds: number;
  /** An execution environment idle this long is gone: the function's next invocation is a cold start. */
  lambdaIdleSeconds: number;
  /** Every state an execution enters (a Standard workflow's state transition). */
  stateTransitionSeconds: number;
}

/** The fields of `Timing` that are seconds or counts (every one but `healthCheckPhase`). */
export type TimingNumbers = Exclude<keyof Timing, "healthCheckPhase">;

export const DEFAULT_TIMING: Readonly<Timing> = Object.freeze({
  instanceBootSeconds: 40,
  appStartSeconds: 5,
  healthCheckIntervalSeconds: DEFAULTS.healthCheckIntervalSeconds,
  healthyThreshold: DEFAULTS.healthyThreshold,
  unhealthyThreshold: DEFAULTS.unhealthyThreshold,
  drainingSeconds: DEFAULTS.drainingSeconds,
  terminationSeconds: 30,
  bakeSeconds: 600,
  baseBakeSeconds: 900,
  healthCheckPhase: "aligned",
  // Our implementation's own costs (docs/simulator-region.md, "Lambda and Step Functions latency"): harsh figures,
  // since AWS publishes few. No physics bound counts them.
  lambdaColdStartSeconds: 1,
  lambdaInvokeSeconds: 0.1,
  lambdaIdleSeconds: 300,
  stateTransitionSeconds: 0.1,
});

/**
 * Lambda's Init phase limit for on-demand functions: "The Init phase is limited to 10 seconds. If all three tasks do
 * not complete within 10 seconds, Lambda retries the Init phase at the time of the first function invocation with the
 * configured function timeout." (Lambda Developer Guide, "Understanding the Lambda execution environment lifecycle").
 */
export const LAMBDA_INIT_LIMIT_SECONDS = 10;

/** The Lambda and Step Functions latency fields: any number of seconds >= 0 (the other timing fields are whole seconds in a scenario). */
export const LATENCY_TIMING_FIELDS = ["lambdaColdStartSeconds", "lambdaInvokeSeconds", "lambdaIdleSeconds", "stateTransitionSeconds"] as const satisfies readonly TimingNumbers[];

/** Every Lambda and Step Functions latency off: instant invocations and transitions (the local rehearsal runs on the wall clock). */
export const NO_ORCHESTRATION_LATENCY: Readonly<Partial<Timing>> = Object.freeze({
  lambdaColdStartSeconds: 0,
  lambdaInvokeSeconds: 0,
  stateTransitionSeconds: 0,
});

/** The names of the numeric `Timing` fields. */
export const TIMING_NUMBERS = Object.keys(DEFAULT_TIMING).filter((key) => key !== "healthCheckPhase") as TimingNumbers[];

export type LoadBalancerKind = "application" | "classic";

/**
 * Fixed delays of the region that are not in the scenario's `timing` (kept small and explicit so the
 * physical minimum stays dominated by the processes above).
 */
export const REGION_DELAYS = {
  /** DeleteAutoScalingGroup of an empty group: `Delete in progress` -> gone. */
  groupDeleteSeconds: 10,
  /** Auto Scaling retries a failed launch (boot failure, missing image) after this long. */
  launchRetrySeconds: 10,
  /** A new AMI (and its snapshot) stays `pending` this long before `available` (inside the bake time). */
  imageAvailableSeconds: 60,
  /**
   * Auto Scaling notices an instance stopped behind its back at its next EC2 health check (AWS does not
   * publish the period; 30 s assumed). Until then the load balancer may still route to it.
   */
  autoScalingHealthCheckSeconds: 30,
  /** Terminated instances stay visible to DescribeInstances this long, as in EC2. */
  terminatedVisibleSeconds: 3600,
  /**
   * Every HTTP request to the region takes this long to answer (a retried request again). AWS publishes no
   * control-plane latency figures; 100 ms is an assumed round trip, small beside every process above, so it
   * shows only where calls pile up (SDK retries, a Lambda near its timeout).
   */
  apiLatencySeconds: 0.1,
} as const;

/** `[min, max]` seconds; each resource draws its own delay in it (seeded, so a scenario replays exactly). */
export type DelayRange = readonly [number, number];

/**
 * Eventual consistency: how long a change takes to show in the answers of other calls. Writes are consistent
 * (a second CreateAutoScalingGroup of the same name is AlreadyExists at once; a delete by name finds the
 * group); reads lag. AWS documents the behaviour but no figures:
 * - EC2 API guide, "Eventual consistency in the Amazon EC2 API": a resource just created may not be visible to
 *   Describe calls, or to calls that modify it; poll "starting with a couple of seconds of wait time, and
 *   increasing gradually up to a few minutes". The windows below are those "couple of seconds".
 * - Terraform's AWS provider retries CreateAutoScalingGroup's `ValidationError: You must use a valid
 *   fully-formed launch template` right after a launch-template change (hashicorp/terraform-provider-aws PR
 *   #40088 "autoscaling/group: Handle eventual consistency"), bounded by its `propagationTimeout` of 2 minutes
 *   (internal/service/autoscaling/consts.go): launch-template versions reach Auto Scaling late.
 * - EC2 API reference, DescribeImages: "Recently deregistered images appear in the returned results for a short
 *   interval and then return empty results. After all instances that reference a deregistered AMI are
 *   terminated, specifying the ID of the image will eventually return an error indicating that the AMI ID
 *   cannot be found." The "short interval" is not given; 30-90 s is assumed.
 * - Auto Scaling API reference, DetachLoadBalancerTargetGroups / DetachLoadBalancers / DetachTrafficSources: a
 *   detached target group "enters the Removing state while deregistering the instances"; it is described until
 *   every instance is deregistered (draining included), which the load balancer's model decides, not a delay.
 * A scenario overrides any of these (`consistency` block); `IMMEDIATE_CONSISTENCY` turns them all off.
 */
export interface ConsistencySettings {
  /** Seed of every drawn delay (and of the SDK's retry jitter while it runs on region time). */
  seed: number;
  /** A new Auto Scaling group is missing from DescribeAutoScalingGroups. */
  groupVisibleSeconds: DelayRange;
  /** A new launch-template version is missing from DescribeLaunchTemplateVersions. */
  launchTemplateVersionVisibleSeconds: DelayRange;
  /** Auto Scaling refuses a new launch-template version (`ValidationError: You must use a valid fully-formed launch template`). */
  launchTemplateVersionToAutoScalingSeconds: DelayRange;
  /** A new image is missing from DescribeImages (by id: `InvalidAMIID.NotFound`). */
  imageVisibleSeconds: DelayRange;
  /** A newly registered target is missing from DescribeTargetHealth / DescribeInstanceHealth without ids. */
  targetVisibleSeconds: DelayRange;
  /** A deregistered image stays listed by DescribeImages, in state `deregistered`. */
  deregisteredImageListedSeconds: DelayRange;
}

export const DEFAULT_CONSISTENCY: Readonly<ConsistencySettings> = Object.freeze<ConsistencySettings>({
  seed: 1,
  groupVisibleSeconds: [1, 5],
  launchTemplateVersionVisibleSeconds: [1, 5],
  launchTemplateVersionToAutoScalingSeconds: [1, 5],
  imageVisibleSeconds: [1, 5],
  targetVisibleSeconds: [1, 5],
  deregisteredImageListedSeconds: [30, 90],
});

export type ConsistencyKind = Exclude<keyof ConsistencySettings, "seed">;

/** Every eventual-consistency delay, by name. */
export const CONSISTENCY_KINDS = Object.keys(DEFAULT_CONSISTENCY).filter((key) => key !== "seed") as ConsistencyKind[];

/** Every change visible at once: for unit tests of other behaviour, and scenarios that opt out. */
export const IMMEDIATE_CONSISTENCY: Readonly<ConsistencySettings> = Object.freeze<ConsistencySettings>({
  ...DEFAULT_CONSISTENCY,
  ...Object.fromEntries(CONSISTENCY_KINDS.map((kind): [ConsistencyKind, DelayRange] => [kind, [0, 0]])),
});

export function resolveConsistency(overrides: Partial<ConsistencySettings> = {}): ConsistencySettings {
  const settings: ConsistencySettings = { ...DEFAULT_CONSISTENCY, ...overrides };
  if (!Number.isInteger(settings.seed) || settings.seed < 0) {
    throw new RangeError(`consistency.seed must be an integer >= 0, got ${JSON.stringify(settings.seed)}`);
  }
  for (const [name, range] of Object.entries(settings)) {
    if (name === "seed") continue;
    const [min, max] = range as DelayRange;
    if (!Array.isArray(range) || range.length !== 2 || !(min >= 0) || !(max >= min)) {
      throw new RangeError(`consistency.${name} must be [min, max] seconds with 0 <= min <= max, got ${JSON.stringify(range)}`);
    }
  }
  return settings;
}

/**
 * Draws each resource's delay from its range, deterministically: the same seed, kind and resource always give
 * the same delay, whatever else the scenario creates (a 200-instance group does not shift a 2-instance one's).
 */
export class ConsistencyModel {
  constructor(readonly settings: ConsistencySettings) {}

  delayMs(kind: ConsistencyKind, resource: string): number {
    const [min, max] = this.settings[kind];
    if (max === 0) return 0;
    return Math.round((min + (max - min) * unitHash(`${this.settings.seed}|${kind}|${resource}`)) * 1000);
  }

  /**
   * A target's health-check phase for `HealthCheckPhase` "seeded": ms from its registration to its first check,
   * in (0, intervalMs], drawn from the same seed and hash as the delays above (`target`: the load balancer and the
   * instance), so it is the same on every run and independent of every other draw.
   */
  healthCheckPhaseMs(target: string, intervalMs: number): number {
    return Math.max(1, Math.round(intervalMs * (1 - unitHash(`${this.settings.seed}|healthCheckPhase|${target}`))));
  }
}

/** FNV-1a, then a mulberry32 round: a value in [0, 1) per string. */
function unitHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  let t = (h + 0x6d2b79f5) >>> 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

export function resolveTiming(overrides: Partial<Timing> = {}): Timing {
  const timing: Timing = { ...DEFAULT_TIMING, ...overrides };
  if (!HEALTH_CHECK_PHASES.includes(timing.healthCheckPhase)) {
    throw new RangeError(`timing.healthCheckPhase must be ${HEALTH_CHECK_PHASES.map((p) => JSON.stringify(p)).join(" or ")}, got ${JSON.stringify(timing.healthCheckPhase)}`);
  }
  for (const name of TIMING_NUMBERS) {
    const value = timing[name];
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      throw new RangeError(`timing.${name} must be a number >= 0, got ${JSON.stringify(value)}`);
    }
  }
  if (timing.healthyThreshold < 1 || timing.unhealthyThreshold < 1 || timing.healthCheckIntervalSeconds <= 0) {
    throw new RangeError("timing: thresholds must be >= 1 and healthCheckIntervalSeconds > 0");
  }
  return timing;
}
