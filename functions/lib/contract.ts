/**
 * The deploy state document: what flows between the states of the Pipeline state machine. Every stage
 * function receives the whole document as its payload and returns only its own part, which the stack
 * writes at the path `RESULT_PATH` names. This module is the whole document: every part's type, the result
 * paths, the bake's variables, the release-label rules and the settings builder. Plain data, types and pure
 * functions only (no SDK, no aws-cdk-lib): the stacks, the functions, the simulator and the tests import it.
 */
import { createHash } from "node:crypto";
import { DEFAULTS } from "./names.js";

// ---- Fixed per environment ---------------------------------------------------------------------------------

/** Fixed per environment at synthesis time; injected by the first (Pass) state, so functions are pure. */
export interface EnvironmentSettings {
  /** The web app being deployed (tag `immutable-deploy:app`). */
  app: string;
  /** The SST stage (tag `immutable-deploy:environment`). */
  environment: string;
  region: string;
  loadBalancer: ApplicationLoadBalancerSettings | { kind: "classic"; loadBalancerName: string };
  launchTemplateId: string;
  subnetIds: string[];
  capacity: { min: number; desired: number; max: number };
  /** Applied to every new group (stage configuration `scaling`). */
  scaling: ScalingSettings;
  /** Several instance types and an On-Demand/Spot split (stage configuration `mixedInstances`). */
  mixedInstances?: MixedInstancesSettings;
  healthCheck: { intervalSeconds: number; healthyThreshold: number; unhealthyThreshold: number };
  healthCheckGracePeriodSeconds: number;
  /**
   * Seconds after the new instances went InService during which targets that all failed `unhealthyThreshold`
   * consecutive checks do not yet roll the release back (an app that starts slowly); then they do, at once.
   */
  slowStartAllowanceSeconds: number;
  drainingSeconds: number;
  timeouts: {
    lockWaitSeconds: number;
    groupHealthySeconds: number;
    loadBalancerHealthySeconds: number;
    retireSeconds: number;
  };
  retainReleaseImages: number;
  /** How traffic moves to the new group and how long it is watched (stage configuration `cutover`). */
  cutover: CutoverSettings;
  lockTableName: string;
  topicArn: string;
  eventBusName: string;
}

/**
 * An ALB environment (README "The listener and its two target groups"): the stack owns the listener, its default
 * action (forward to `targetGroupArn`) and both target groups; the pipeline owns one listener rule (priority
 * `CUTOVER_RULE` in names.ts) whose weighted forward it creates and changes at run time. A new group is attached to
 * the target group that gets no traffic, proven healthy there, then given traffic by the rule's weights.
 */
export interface ApplicationLoadBalancerSettings {
  kind: "application";
  /** The target group the listener's default action forwards to (the stack's first). */
  targetGroupArn: string;
  /** The second target group: the two take turns holding the live group and the new one. */
  alternateTargetGroupArn: string;
  /** The listener that serves the site (HTTPS when there is a certificate, else HTTP). */
  listenerArn: string;
}

/** Stage configuration `cutover` (stacks/config.ts), and the alarms the Environment stack made for the watch. */
export interface CutoverSettings {
  strategy: "all-at-once" | "canary" | "linear";
  /** canary: the share of the first step; linear: the share each step adds. */
  stepPercent: number;
  /** How long each step below 100 % is watched before the next. */
  stepSeconds: number;
  /** How long the new release is watched at 100 % with the old groups still ready; the point of no return is its end. */
  bakeTimeSeconds: number;
  /** Operators' CloudWatch alarms that must stay OK while the cutover runs. */
  alarms: string[];
  /** Present when an operator approves the move to 100 % (`npx immutable-deploy approve`); the wait is bounded. */
  approval?: { timeoutSeconds: number };
  /**
   * The alarms the Environment stack created per place a group takes traffic (a target group's ARN, or the classic
   * load balancer's name): target 5XX answers and unhealthy hosts. The watch reads the new group's.
   */
  builtInAlarms: { target: string; alarms: string[] }[];
}
/** Stage configuration `scaling` (stacks/config.ts): target tracking and scheduled actions for every new group. */
export interface ScalingSettings {
  targetTracking?: { metric: "cpu" | "requestCountPerTarget"; targetValue: number; warmupSeconds?: number };
  scheduledActions: {
    name: string;
    recurrence: string;
    minCapacity?: number;
    desiredCapacity?: number;
    maxCapacity?: number;
    timeZone?: string;
  }[];
}

/** Stage configuration `mixedInstances` (stacks/config.ts). */
export interface MixedInstancesSettings {
  instanceTypes: string[];
  onDemandBaseCapacity: number;
  onDemandPercentageAboveBaseCapacity: number;
  spotAllocationStrategy: string;
}

/** The stage configuration fields the deploy reads (stacks/config.ts validates a stage's configuration into these). */
export interface DeployConfig {
  app: string;
  stage: string;
  minCapacity: number;
  desiredCapacity: number;
  maxCapacity: number;
  scaling: ScalingSettings;
  mixedInstances?: MixedInstancesSettings;
  healthCheck: { intervalSeconds: number; healthyThreshold: number; unhealthyThreshold: number };
  healthCheckGracePeriodSeconds: number;
  /**
   * Seconds after the new instances went InService during which targets that all failed `unhealthyThreshold`
   * consecutive checks do not yet roll the release back (an app that starts slowly); then they do, at once.
   */
  slowStartAllowanceSeconds: number;
  drainingSeconds: number;
  timeouts: EnvironmentSettings["timeouts"];
  retainReleaseImages: number;
  cutover: Omit<CutoverSettings, "builtInAlarms">;
}

/** The traffic levels a cutover strategy goes through, percent of requests to the new release, 100 last. */
export function trafficLevels(strategy: CutoverSettings["strategy"], stepPercent: number): number[] {
  if (strategy === "all-at-once") return [100];
  if (strategy === "canary") return [stepPercent, 100];
  const levels: number[] = [];
  for (let level = stepPercent; level < 100; level += stepPercent) levels.push(level);
  return [...levels, 100];
}

/** The resources an environment's stacks created (tokens in the stack, ids in the simulator and the tests). */
export interface EnvironmentRefs {
  region: string;
  loadBalancer: EnvironmentSettings["loadBalancer"];
  launchTemplateId: string;
  subnetIds: string[];
  lockTableName: string;
  topicArn: string;
  /** Default: the account's default event bus. */
  eventBusName?: string;
  /** The watch's alarms per target group or classic load balancer (Environment stack). */
  builtInAlarms: CutoverSettings["builtInAlarms"];
}

/** The one way to build an environment's settings: the stack, the simulator and the test fixtures call it. */
export function environmentSettings(config: DeployConfig, resources: EnvironmentRefs): EnvironmentSettings {
  return {
    app: config.app,
    environment: config.stage,
    region: resources.region,
    loadBalancer: resources.loadBalancer,
    launchTemplateId: resources.launchTemplateId,
    subnetIds: resources.subnetIds,
    capacity: { min: config.minCapacity, desired: config.desiredCapacity, max: config.maxCapacity },
    scaling: structuredClone(config.scaling),
    ...(config.mixedInstances && { mixedInstances: structuredClone(config.mixedInstances) }),
    healthCheck: {
      intervalSeconds: config.healthCheck.intervalSeconds,
      healthyThreshold: config.healthCheck.healthyThreshold,
      unhealthyThreshold: config.healthCheck.unhealthyThreshold,
    },
    healthCheckGracePeriodSeconds: config.healthCheckGracePeriodSeconds,
    slowStartAllowanceSeconds: config.slowStartAllowanceSeconds,
    drainingSeconds: config.drainingSeconds,
    timeouts: { ...config.timeouts },
    retainReleaseImages: config.retainReleaseImages,
    cutover: { ...structuredClone(config.cutover), builtInAlarms: structuredClone(resources.builtInAlarms) },
    lockTableName: resources.lockTableName,
    topicArn: resources.topicArn,
    eventBusName: resources.eventBusName ?? "default",
  };
}

// ---- Rules several parts share -----------------------------------------------------------------------------

/**
 * A release label, kept verbatim wherever AWS allows it: the tag `immutable-deploy:release` (tag values allow
 * letters, digits, spaces and + - = . _ : / @), the lock, notifications, the app's RELEASE. `+` is allowed so
 * a semantic version with build metadata (`2.4.2+build.188`) is a label. The Packer templates carry a copy in
 * HCL (`variable "release"`), which test/bake checks against this one.
 */
export const RELEASE_LABEL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/;
export const RELEASE_LABEL_RULE = '1-64 letters, digits, ".", "_", "-", "+", starting with a letter or digit';

/** The characters a label keeps in names: those every name it is part of allows (AMI names are the narrowest). */
const NAME_UNSAFE = /[^A-Za-z0-9._-]/g;

/**
 * The one rule for a release label inside a name (Auto Scaling group, hence its launch-template version's
 * description; Packer's AMI name, in HCL in packer/release/release.pkr.hcl; an execution name you choose):
 * a label of letters, digits, ".", "_" and "-" only is itself; any other character becomes "-" and the label
 * gets "@" and the first 8 hex digits of its sha256 (`v2.4.2+build.188` -> `v2.4.2-build.188@a2e751c5`). No
 * label contains "@", so a changed label never equals one kept as is, and two changed labels share a name only
 * if they share those 32 bits of hash. "@" is allowed in AMI names (3-128 letters, digits, ( ) [ ] space . / - '
 * @ _), group names (any character) and Step Functions execution names (no whitespace, no < > { } [ ] ? * " #
 * % \ ^ | ~ ` $ & , ; : /); "+" is not allowed in AMI names.
 */
export function releaseNamePart(label: string): string {
  const safe = label.replace(NAME_UNSAFE, "-");
  return safe === label ? label : `${safe}@${createHash("sha256").update(label).digest("hex").slice(0, 8)}`;
}

/** `releases/v2.tgz` -> `v2`, `releases/team/myapp-1.4.2.tgz` -> `myapp-1.4.2` (the file name without the suffix). */
export function releaseFromArtifactKey(key: string): string {
  const fileName = key.slice(key.lastIndexOf("/") + 1);
  return fileName.endsWith(DEFAULTS.artifactSuffix) ? fileName.slice(0, -DEFAULTS.artifactSuffix.length) : fileName;
}

/** Whether an S3 key is a release artifact: under the release prefix, ending in the suffix, a file name between. */
export function isArtifactKey(key: string): boolean {
  return (
    key.length <= 1024 &&
    key.startsWith(DEFAULTS.artifactPrefix) &&
    key.endsWith(DEFAULTS.artifactSuffix) &&
    key.length > DEFAULTS.artifactPrefix.length + DEFAULTS.artifactSuffix.length
  );
}

/**
 * The CodeBuild environment variables the Bake state sets per execution (buildspec.yml reads them). Every
 * value is a string; "" means unset (CodeBuild has no null).
 */
export const BAKE_VARIABLES = ["ARTIFACT_BUCKET", "ARTIFACT_KEY", "ARTIFACT_VERSION_ID", "RELEASE", "BASE_IMAGE_ID", "REBUILD_BASE"] as const;
export type BakeVariable = (typeof BAKE_VARIABLES)[number];
export type BakeRequest = Record<BakeVariable, string>;

/** What the bake exports (buildspec.yml `exported-variables`), read back by `readBakedImage`. */
export const BAKE_EXPORTS = { imageId: "IMAGE_ID", baseImageId: "BASE_IMAGE_ID" } as const;

// ---- The parts of the document, in stage order -------------------------------------------------------------

export interface ExecutionInfo {
  /** The execution ARN ($$.Execution.Id). */
  id: string;
  name: string;
  /** ISO time ($$.Execution.StartTime). */
  startTime: string;
}

export interface ArtifactRef {
  bucket: string;
  key: string;
  versionId?: string;
  etag?: string;
  /** S3's event sequencer (S3 events only): orders the events of one key. */
  sequencer?: string;
}

export interface GroupSnapshot {
  name: string;
  min: number;
  desired: number;
  max: number;
  release?: string;
  imageId?: string;
  launchTemplateVersion?: string;
  /** Processes an operator suspended (a deploy's own scale-in hold left out), carried over to the new group. */
  suspendedProcesses?: string[];
  /** Attached to the environment's load balancer when Prepare looked. */
  attached?: boolean;
  /** Where it was attached (a target group's ARN or the classic load balancer's name): where a rollback attaches it. */
  target?: string;
  /**
   * Attached and with an instance in service when Prepare looked: what a rollback restores. A group an earlier
   * deploy retired or left detached is not serving and stays as it is (the next successful deploy retires it).
   * Absent in plans made before this field existed: treated as serving.
   */
  serving?: boolean;
}

/** Prepare's result ($.plan). */
export interface DeployPlan {
  release: string;
  /** Present when the deploy bakes: the artifact to bake. */
  artifact?: ArtifactRef;
  /**
   * Present when an S3 event started the execution: the object it announced (bucket, key, version id, sequencer,
   * ETag). EventBridge delivers at least once, for up to 24 h; Lock records this identity, and a second delivery of
   * the same object is a no-op whatever went live since (functions/lib/lock.ts, `claimDelivery`).
   */
  delivery?: ArtifactRef;
  /** Present when the input names an image: no bake, and that image is never cleaned up by this deploy. */
  imageId?: string;
  baseImageId?: string;
  rebuildBase: boolean;
  keepImages: boolean;
  /** Deterministic per execution, so a re-run or redrive finds the group it created. */
  groupName: string;
  /** This environment's groups when Prepare ran (the ones to retire after success, restore on rollback). */
  liveGroups: GroupSnapshot[];
  /** max(configured desired, live desired) when Prepare ran; Launch reads the live groups again. */
  desiredCapacity: number;
  /** Present when the deploy bakes: the CodeBuild environment overrides. */
  bakeRequest?: BakeRequest;
}

/** Every wait-loop check returns at least this (docs/design.md "Wait loops"). */
export interface CheckResult {
  status: "waiting" | "ready" | "failed";
  nextPollSeconds: number;
  message: string;
}

/**
 * Claim's and Lock's result ($.lock): `claimed` = not a duplicate, go on and bake (Claim: the lock is not taken),
 * `ready` = acquired, `duplicate` = same release live or in flight, or the same S3 object delivered before (no-op).
 */
export interface LockResult extends Omit<CheckResult, "status"> {
  status: "claimed" | "waiting" | "ready" | "failed" | "duplicate";
  /**
   * Epoch seconds, on `waiting`: when Lock gives up. Fixed at Lock's first attempt (the end of the bake, or of
   * Claim when the input names an image) plus `timeouts.lockWaitSeconds`, and carried from attempt to attempt.
   */
  deadline?: number;
  /**
   * On `waiting`: the execution (ARN) holding the lock. `Wait for lock` registers the waiter's task token on the
   * lock only while this execution still holds it (functions/lib/lock.ts, `registerWaiter`).
   */
  holder?: string;
}

/**
 * The payload of `Wait for lock` (a `.waitForTaskToken` Task on the lock function): the waiter's task token, to be
 * completed by the holder's unlock (or by the function itself when the lock is free already).
 */
export interface HandoverRequest {
  settings: EnvironmentSettings;
  execution: DeployState["execution"];
  lock: LockResult;
  taskToken: string;
}

/** What `Wait for lock`'s Lambda returns (Step Functions ignores it: the task's result is the SendTaskSuccess output). */
export interface HandoverResult {
  /** True when the token was recorded on the lock; false when the function completed the task itself. */
  registered: boolean;
  message: string;
}

/** What an unlock hands a waiting deploy (SendTaskSuccess output; `Wait for lock` discards it). */
export interface HandoverOutput {
  unlockedBy: string;
  lockId: string;
}

/**
 * $.bake: the finished build as Step Functions' CodeBuild `.sync` integration returns it, kept whole (the part
 * read is typed here). A JSONPath filter in the Bake state's ResultSelector would fail with an uncatchable
 * States.Runtime when an export is missing; `readBakedImage` reads it instead and fails with a named error.
 */
export interface BakeOutput {
  Build: {
    Id?: string;
    BuildStatus?: string;
    /** CodeBuild's `Value` is optional (API reference, ExportedEnvironmentVariable). */
    ExportedEnvironmentVariables?: { Name?: string; Value?: string }[];
  };
}

/** $.image: from the bake, or the given image. */
export interface ImageResult {
  imageId: string;
  baseImageId?: string;
  baked: boolean;
}

/** $.launch */
export interface LaunchResult {
  groupName: string;
  /**
   * Where the new group is attached (a target group's ARN or the classic load balancer's name): on an ALB the
   * target group that had no traffic. Absent in launches made before the cutover existed: the first target.
   */
  target?: string;
  launchTemplateVersion: string;
  /** max(configured desired, the live groups' desired at launch); the checks raise it to the live groups' later desired. */
  desiredCapacity: number;
  /** Epoch seconds: the new group must be healthy in the group and the load balancer by then. */
  healthyBy: number;
  /**
   * Epoch seconds the group was created (by this run: just before its create call). Until GROUP_LISTING_GRACE_SECONDS
   * after it, Check group health takes a group Auto Scaling does not list for one not listed yet. Absent in launches
   * made before it existed.
   */
  createdAt?: number;
  /** What the new group got: its capacity, what was carried over from the live group, what the configuration applied. */
  message?: string;
}

/** A time window in epoch seconds, both ends inclusive. */
export interface TimeWindow {
  from: number;
  to: number;
}

/** $.groupHealth: the wait-loop contract plus what the load-balancer check uses to time its polls. */
export interface GroupHealthResult extends CheckResult {
  healthy: number;
  desired: number;
  /** Epoch seconds of this check; the next check reads it back from $.groupHealth. */
  checkedAt: number;
  /**
   * When ready: the window in which the last instance went InService, which is when Auto Scaling registered
   * it at the load balancer (after the previous check, at or before this one).
   */
  inServiceWindow?: TimeWindow;
}

/** $.loadBalancerHealth */
export interface LoadBalancerHealthResult extends CheckResult {
  healthy: number;
  desired: number;
  /**
   * The load balancer's last word on each new instance that was not healthy (`unhealthy (Target.FailedHealthChecks:
   * Health checks failed with these codes: [503])`), kept across polls: Auto Scaling may replace an instance before
   * the check gives up, and the reason must not be lost with it. At most a few entries.
   */
  lastSeen?: Record<string, string>;
}

/**
 * $.cutover: the traffic shift and its watch (functions/shiftTraffic.ts), a wait loop. An approval and an
 * operator's rollback are read from the lock item at every poll (functions/lib/lock.ts, `requestCutoverAction`).
 */
export interface CutoverResult extends CheckResult {
  strategy: CutoverSettings["strategy"];
  /** Where the new group takes traffic: its target group's ARN, or the classic load balancer's name. */
  newTarget: string;
  /** ALB: the target group the old groups serve from (traffic goes back there on a breach). */
  oldTarget?: string;
  /** The share of requests the new release gets now, percent. */
  percent: number;
  /** Epoch seconds: when `percent` was set. */
  percentSince: number;
  /** Epoch seconds: when the new release first got traffic. */
  trafficSince: number;
  /** Epoch seconds: the end of the bake time (set once at 100 %): the point of no return. */
  bakeTimeEndsAt?: number;
  /** Set once an operator approved the move to 100 %. */
  approvedAt?: number;
  /** What failed, when it was seen, and when traffic was back on the old groups. */
  breach?: { what: string; at: number; switchedBackAt: number };
  /** Set on the poll whose next poll comes at the end of the bake time (the state machine then warms Retire up). */
  endsNext?: true;
}

/** Check old groups retired's result ($.retired). */
export interface RetiredCheckResult extends CheckResult {
  /**
   * On `waiting`, when another deploy waits for this one's lock (functions/lib/lock.ts, `registerWaiter`): it
   * launches the moment this one unlocks, so the state machine warms its first functions up meanwhile.
   */
  queued?: true;
}

/** A termination lifecycle hook of a group being retired: its instances may wait this long before terminating. */
export interface TerminationHook {
  group: string;
  name: string;
  heartbeatTimeout: number;
  defaultResult: string;
}

/** $.retirement */
export interface RetirementResult {
  groups: string[];
  /** Epoch seconds: the old groups are scaled to 0 from then on (checkRetired does it). */
  drainedBy: number;
  /** Epoch seconds: old instances must be gone by then (draining, the longest termination hook, `retireSeconds`). */
  retiredBy: number;
  /** The old groups' termination lifecycle hooks (DescribeLifecycleHooks), which `retiredBy` allows for. */
  terminationHooks?: TerminationHook[];
}

/** $.cleanup */
export interface CleanupResult {
  deletedGroups: string[];
  deletedLaunchTemplateVersions: string[];
}

/** $.retention */
export interface RetentionResult {
  kept: string[];
  deregistered: string[];
  /** Images this environment let go of that stay: another environment claims them or a group of the app uses them. */
  released: string[];
  deletedSnapshots: string[];
  skipped: boolean;
  /** Expired images left for the next deploy: each run deregisters at most RETENTION_BATCH (applyImageRetention.ts). */
  remaining?: number;
}

/** $.rollback */
export interface RollbackResult {
  restoredGroups: string[];
  deletedGroup?: string;
  /** Set when the new group was kept because nothing else could serve (see functions/rollback.ts). */
  keptGroup?: string;
  message: string;
}

/** $.unlock */
export interface UnlockResult {
  released: boolean;
  message: string;
  /** The waiting deploys (execution ARNs) whose `Wait for lock` task this unlock completed. */
  handedOverTo?: string[];
}

/** How an execution ended, as the scenarios and the runner name it. */
export type Outcome = "succeeded" | "rolled-back" | "failed" | "no-op";

/**
 * The outcome a notification reports, read from the execution's terminal status (functions/notify.ts): the four
 * above, `needs-attention` (stopped after cutover with the lock held: a redrive resumes there), `timed-out` and
 * `aborted` (the execution's own status).
 */
export type DeployOutcome = Outcome | "needs-attention" | "timed-out" | "aborted";

/** What the notify function returns (logged; nothing in the state machine reads it). */
export interface NotifyResult {
  outcome: DeployOutcome;
  message: string;
  /** The waiting deploys told that the lock's holder ended without unlocking (functions/notify.ts, `wakeWaiters`). */
  wokeWaiters?: string[];
}

/**
 * The event Step Functions puts on the default bus when an execution's status changes, as the Pipeline's rule
 * delivers it to the notify function (Step Functions Developer Guide, "EventBridge (CloudWatch Events) for Step
 * Functions execution status changes"; delivery is best effort). `input`/`output` are JSON strings, left out when
 * too large (`inputDetails.included: false`); then DescribeExecution has them.
 */
export interface ExecutionStatusChange {
  version: string;
  id: string;
  "detail-type": "Step Functions Execution Status Change";
  source: "aws.states";
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: {
    executionArn: string;
    stateMachineArn: string;
    name: string;
    status: "RUNNING" | "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "ABORTED" | "PENDING_REDRIVE";
    /** Epoch milliseconds. */
    startDate: number;
    stopDate: number | null;
    input: string | null;
    inputDetails?: { included: boolean } | null;
    output: string | null;
    outputDetails?: { included: boolean } | null;
    error?: string | null;
    cause?: string | null;
  };
}

/** $.error: what a Catch records (the original error and cause), or what a Pass state raises. */
export interface StateError {
  Error: string;
  Cause: string;
}

export interface DeployState {
  settings: EnvironmentSettings;
  /** The execution input as given (S3 event or manual object). */
  input: unknown;
  execution: ExecutionInfo;
  plan?: DeployPlan;
  lock?: LockResult;
  bake?: BakeOutput;
  image?: ImageResult;
  launch?: LaunchResult;
  groupHealth?: GroupHealthResult;
  loadBalancerHealth?: LoadBalancerHealthResult;
  cutover?: CutoverResult;
  retirement?: RetirementResult;
  retired?: RetiredCheckResult;
  cleanup?: CleanupResult;
  retention?: RetentionResult;
  rollback?: RollbackResult;
  /** What a Catch recorded when the rollback itself failed (the original error stays in $.error). */
  rollbackError?: StateError;
  unlock?: UnlockResult;
  error?: StateError;
}

/** `$.<part>` for every part of the document a state writes. */
type ResultPaths = { [K in Exclude<keyof DeployState, "settings" | "input" | "execution">]-?: `$.${K}` };

/** Where each part of the document lives: the stack's ResultPaths, and what the tests and the simulator read. */
export const RESULT_PATH = {
  plan: "$.plan",
  lock: "$.lock",
  bake: "$.bake",
  image: "$.image",
  launch: "$.launch",
  groupHealth: "$.groupHealth",
  loadBalancerHealth: "$.loadBalancerHealth",
  cutover: "$.cutover",
  retirement: "$.retirement",
  retired: "$.retired",
  cleanup: "$.cleanup",
  retention: "$.retention",
  rollback: "$.rollback",
  rollbackError: "$.rollbackError",
  unlock: "$.unlock",
  error: "$.error",
} as const satisfies ResultPaths;
export type ResultPart = keyof typeof RESULT_PATH;

/**
 * The event the state machine sends (an Event invocation, not waited for) to a function it will need in a few
 * seconds, so that Lambda has an execution environment of it ready: Init runs then, not on the deploy's path.
 */
export const WARM_UP_EVENT = { warmUp: true } as const;

/** What a stage function answers to WARM_UP_EVENT (functions/lib/handler.ts): it does nothing else, no AWS call. */
export const WARMED_UP = { warmedUp: true } as const;
