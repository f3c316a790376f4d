/**
 * The deploy state document: what flows between the states of the Pipeline state machine. The stack writes
 * each task's result at the path named here (ResultPath), and every stage function receives the whole
 * document as its payload and returns only its own part. Types only: no runtime code.
 */

/** Fixed per environment at synthesis time; injected by the first (Pass) state, so functions are pure. */
export interface EnvironmentSettings {
  /** The web app being deployed (tag `immutable-deploy:app`). */
  app: string;
  /** The SST stage (tag `immutable-deploy:environment`). */
  environment: string;
  region: string;
  loadBalancer:
    | { kind: "application"; targetGroupArn: string }
    | { kind: "classic"; loadBalancerName: string };
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
  /** Present when the deploy bakes: the CodeBuild environment overrides, every value a string ("" = unset). */
  bakeRequest?: BakeRequest;
}

/** What the Bake state passes to CodeBuild (buildspec.yml's per-execution variables). */
export interface BakeRequest {
  ARTIFACT_BUCKET: string;
  ARTIFACT_KEY: string;
  ARTIFACT_VERSION_ID: string;
  RELEASE: string;
  BASE_IMAGE_ID: string;
  REBUILD_BASE: "true" | "false";
}

/** Every wait-loop check returns at least this (DESIGN.md "Wait loops"). */
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

/** $.retirement */
export interface RetirementResult {
  groups: string[];
  /** Epoch seconds: old instances must be gone by then. */
  retiredBy: number;
}

export interface CleanupResult {
  deletedGroups: string[];
  deletedLaunchTemplateVersions: string[];
}

export interface RetentionResult {
  kept: string[];
  deregistered: string[];
  deletedSnapshots: string[];
  skipped: boolean;
}

export interface StateError {
  Error: string;
  Cause: string;
}

export type Outcome = "succeeded" | "rolled-back" | "failed" | "no-op";

export interface DeployState {
  settings: EnvironmentSettings;
  /** The execution input as given (S3 event or manual object). */
  input: unknown;
  execution: ExecutionInfo;
  plan?: DeployPlan;
  lock?: LockResult;
  image?: ImageResult;
  launch?: LaunchResult;
  groupHealth?: CheckResult;
  loadBalancerHealth?: CheckResult;
  retirement?: RetirementResult;
  retired?: CheckResult;
  cleanup?: CleanupResult;
  retention?: RetentionResult;
  error?: StateError;
  /** Set by the notify states' Parameters. */
  outcome?: Outcome;
}

/** The notify function's payload: the outcome (fixed per Notify state) and the whole state. */
export interface NotifyEvent {
  outcome: Outcome;
  state: DeployState;
}
