/**
 * The deploy state document: what flows between the states of the Pipeline state machine. Every stage
 * function receives the whole document as its payload and returns only its own part, which the stack
 * writes at the path `RESULT_PATH` names. This module is the whole document: every part's type, the result
 * paths, the bake's variables, the release-label rule and the settings builder. Plain data and types only
 * (no SDK, no aws-cdk-lib): the stacks, the functions, the simulator and the tests all import it.
 */
import { DEFAULTS } from "./names.js";

// ---- Fixed per environment ---------------------------------------------------------------------------------

/** Fixed per environment at synthesis time; injected by the first (Pass) state, so functions are pure. */
export interface EnvironmentSettings {
  /** The web app being deployed (tag `immutable-deploy:app`). */
  app: string;
  /** The SST stage (tag `immutable-deploy:environment`). */
  environment: string;
  region: string;
  loadBalancer: { kind: "application"; targetGroupArn: string } | { kind: "classic"; loadBalancerName: string };
  launchTemplateId: string;
  subnetIds: string[];
  capacity: { min: number; desired: number; max: number };
  healthCheck: { intervalSeconds: number; healthyThreshold: number; unhealthyThreshold: number };
  healthCheckGracePeriodSeconds: number;
  drainingSeconds: number;
  timeouts: {
    lockWaitSeconds: number;
    groupHealthySeconds: number;
    loadBalancerHealthySeconds: number;
    retireSeconds: number;
  };
  retainReleaseImages: number;
  lockTableName: string;
  topicArn: string;
  eventBusName: string;
}

/** The stage configuration fields the deploy reads (stacks/config.ts validates a stage's configuration into these). */
export interface DeployConfig {
  app: string;
  stage: string;
  minCapacity: number;
  desiredCapacity: number;
  maxCapacity: number;
  healthCheck: { intervalSeconds: number; healthyThreshold: number; unhealthyThreshold: number };
  healthCheckGracePeriodSeconds: number;
  drainingSeconds: number;
  timeouts: EnvironmentSettings["timeouts"];
  retainReleaseImages: number;
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
    healthCheck: {
      intervalSeconds: config.healthCheck.intervalSeconds,
      healthyThreshold: config.healthCheck.healthyThreshold,
      unhealthyThreshold: config.healthCheck.unhealthyThreshold,
    },
    healthCheckGracePeriodSeconds: config.healthCheckGracePeriodSeconds,
    drainingSeconds: config.drainingSeconds,
    timeouts: { ...config.timeouts },
    retainReleaseImages: config.retainReleaseImages,
    lockTableName: resources.lockTableName,
    topicArn: resources.topicArn,
    eventBusName: resources.eventBusName ?? "default",
  };
}

// ---- Rules several parts share -----------------------------------------------------------------------------

/**
 * A release label: tag `immutable-deploy:release`, part of group and image names. The Packer templates carry
 * a copy in HCL (`variable "release"`), which test/bake checks against this one.
 */
export const RELEASE_LABEL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const RELEASE_LABEL_RULE = '1-64 letters, digits, ".", "_", "-", starting with a letter or digit';

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

/** What the bake exports (buildspec.yml `exported-variables`), read back by the state machine. */
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
}

export interface GroupSnapshot {
  name: string;
  min: number;
  desired: number;
  max: number;
  release?: string;
  imageId?: string;
  launchTemplateVersion?: string;
}

/** Prepare's result ($.plan). */
export interface DeployPlan {
  release: string;
  /** Present when the deploy bakes: the artifact to bake. */
  artifact?: ArtifactRef;
  /** Present when the input names an image: no bake, and that image is never cleaned up by this deploy. */
  imageId?: string;
  baseImageId?: string;
  rebuildBase: boolean;
  keepImages: boolean;
  /** Deterministic per execution, so a re-run or redrive finds the group it created. */
  groupName: string;
  /** This environment's groups when Prepare ran (the ones to retire after success, restore on rollback). */
  liveGroups: GroupSnapshot[];
  /** max(configured desired, live desired), capped by max. */
  desiredCapacity: number;
  /** Epoch seconds: how long the Lock stage may wait for another deploy. */
  lockDeadline: number;
  /** Present when the deploy bakes: the CodeBuild environment overrides. */
  bakeRequest?: BakeRequest;
}

/** Every wait-loop check returns at least this (docs/design.md "Wait loops"). */
export interface CheckResult {
  status: "waiting" | "ready" | "failed";
  nextPollSeconds: number;
  message: string;
}

/** Lock's result ($.lock): `ready` = acquired, `duplicate` = same release live or in flight (no-op). */
export interface LockResult extends Omit<CheckResult, "status"> {
  status: "waiting" | "ready" | "failed" | "duplicate";
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
  launchTemplateVersion: string;
  desiredCapacity: number;
  /** Epoch seconds: the new group must be healthy in the group and the load balancer by then. */
  healthyBy: number;
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
}

/** $.retirement */
export interface RetirementResult {
  groups: string[];
  /** Epoch seconds: the old groups are scaled to 0 from then on (checkRetired does it). */
  drainedBy: number;
  /** Epoch seconds: old instances must be gone by then. */
  retiredBy: number;
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
}

export type Outcome = "succeeded" | "rolled-back" | "failed" | "no-op";

/** $.notification */
export interface NotifyResult {
  outcome: Outcome;
  message: string;
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
  image?: ImageResult;
  launch?: LaunchResult;
  groupHealth?: GroupHealthResult;
  loadBalancerHealth?: LoadBalancerHealthResult;
  retirement?: RetirementResult;
  retired?: CheckResult;
  cleanup?: CleanupResult;
  retention?: RetentionResult;
  rollback?: RollbackResult;
  unlock?: UnlockResult;
  notification?: NotifyResult;
  error?: StateError;
}

/** Where each part of the document lives: the stack's ResultPaths, and what the tests and the simulator read. */
export const RESULT_PATH = {
  plan: "$.plan",
  lock: "$.lock",
  image: "$.image",
  launch: "$.launch",
  groupHealth: "$.groupHealth",
  loadBalancerHealth: "$.loadBalancerHealth",
  retirement: "$.retirement",
  retired: "$.retired",
  cleanup: "$.cleanup",
  retention: "$.retention",
  rollback: "$.rollback",
  unlock: "$.unlock",
  notification: "$.notification",
  error: "$.error",
} as const satisfies { [K in Exclude<keyof DeployState, "settings" | "input" | "execution">]-?: `$.${K}` };
export type ResultPart = keyof typeof RESULT_PATH;

/** The notify function's payload: the outcome (fixed per Notify state) and the whole state. */
export interface NotifyEvent {
  outcome: Outcome;
  state: DeployState;
}
