/**
 * One source of truth for the names that several parts depend on: tag keys (IAM conditions key on them),
 * state names (the stack and the tests share them), error names (Step Functions Retry/Catch match on them)
 * and defaults (health check, draining, retention). Constants only: imported by stacks, functions, tests
 * and the simulator alike, so it must never import an SDK or aws-cdk-lib.
 */

export const PROJECT = "immutable-deploy";

export const TAG = {
  app: "immutable-deploy:app",
  environment: "immutable-deploy:environment",
  release: "immutable-deploy:release",
  role: "immutable-deploy:role",
  baseHash: "immutable-deploy:base-hash",
  /** On each release group: the execution (ARN) that launched it. */
  execution: "immutable-deploy:execution",
  /** On snapshots whose image retention deregistered: deleted on this or a later run. */
  pendingDelete: "immutable-deploy:pending-delete",
  /**
   * Prefix of the claim an environment's image retention puts on each release image it keeps,
   * `immutable-deploy:retained-by:<environment>` (see `retainedByTag`).
   */
  retainedByPrefix: "immutable-deploy:retained-by:",
  /**
   * On a group whose scaling a deploy holds (functions/lib/groupConfiguration.ts): the processes it suspended,
   * comma-separated, so that releasing resumes exactly those and a carry-over never takes them for an operator's.
   */
  scaleInHold: "immutable-deploy:scale-in-hold",
} as const;

/**
 * The stage configuration's `scaling` and `mixedInstances` (stacks/config.ts) and what a deploy applies from
 * them (functions/lib/groupConfiguration.ts). What it creates is named `immutable-deploy-...`: the carry-over
 * skips those names on the live group, so that what the configuration no longer has is not copied on.
 */
export const SCALING = {
  configuredPrefix: `${PROJECT}-`,
  targetTrackingPolicy: `${PROJECT}-target-tracking`,
  /** This project's limit: each is one API call per deploy. */
  maxScheduledActions: 50,
  /** InstancesDistribution.SpotAllocationStrategy's values (botocore autoscaling 2011-01-01 model docs). */
  spotAllocationStrategies: ["price-capacity-optimized", "capacity-optimized", "capacity-optimized-prioritized", "lowest-price"],
  /** Target tracking's predefined metrics, by the configuration's `metric`. */
  predefinedMetric: { cpu: "ASGAverageCPUUtilization", requestCountPerTarget: "ALBRequestCountPerTarget" },
} as const;

/**
 * The listener rule the pipeline owns on an ALB (README "The listener and its two target groups"): the last one a
 * request can match (priorities run 1-50000, the lowest first: ELBv2 API `RulePriority`), with a path pattern that
 * matches every path, so it decides where traffic goes while an operator's own rules keep precedence. The stack
 * never declares it, so `sst deploy` never resets the weights of a deploy in progress.
 */
export const CUTOVER_RULE = {
  priority: 50000,
  pathPattern: "*",
  /** A weight is 0-999 (ELBv2 API `TargetGroupTuple.Weight`); percentages are used as they are. */
  maxWeight: 999,
} as const;

/**
 * The tag key by which `environment` claims a release image: an image is deregistered only once no environment
 * claims it and no group of the app uses it. One key per environment, so claims are added and withdrawn one at a
 * time without a read-modify-write of a shared value (EC2: 50 tags per resource, keys up to 128 characters).
 */
export function retainedByTag(environment: string): string {
  return `${TAG.retainedByPrefix}${environment}`;
}

export const IMAGE_ROLE = { base: "base", release: "release" } as const;

/** Auto Scaling's service principal and its default service-linked role (IAM path and name). */
export const AUTO_SCALING_SERVICE = "autoscaling.amazonaws.com";
export const AUTO_SCALING_SERVICE_LINKED_ROLE = `aws-service-role/${AUTO_SCALING_SERVICE}/AWSServiceRoleForAutoScaling`;

/** Human-readable state names, in the stage order of docs/design.md. Every state of the definition is here. */
export const STATE = {
  start: "Start deploy",
  prepare: "Prepare deploy",
  /** Before the bake, without the lock: a release already live, a repeated S3 delivery or a duplicate in flight is a no-op. */
  claim: "Claim release",
  claimed: "Release claimed?",
  refreshPlan: "Refresh plan",
  lock: "Lock environment",
  lockAcquired: "Lock acquired?",
  waitForLock: "Wait for lock",
  lockTimedOut: "Lock timed out",
  imageGiven: "Image given?",
  useGivenImage: "Use given image",
  bake: "Bake release image",
  useBakedImage: "Use baked image",
  launch: "Launch release group",
  checkGroupHealth: "Check group health",
  groupHealthy: "Group healthy?",
  waitForGroup: "Wait for group",
  groupUnhealthy: "Release unhealthy in group",
  checkLoadBalancerHealth: "Check load balancer health",
  loadBalancerHealthy: "Healthy at load balancer?",
  waitForLoadBalancer: "Wait for load balancer",
  healthDeadlinePassed: "Release unhealthy",
  shiftTraffic: "Shift traffic",
  cutoverDone: "Cutover done?",
  waitForCutover: "Watch new release",
  cutoverBreached: "Release failed under traffic",
  /** An Event invocation of Retire's function during the last watch before the end of the bake time. */
  warmUpRetire: "Warm up Retire old groups",
  retire: "Retire old groups",
  checkRetired: "Check old groups retired",
  retired: "Old groups retired?",
  waitForRetirement: "Wait for retirement",
  /** Retention, run while the old instances terminate (as if their groups were deleted already). */
  imageRetentionWhileRetiring: "Apply image retention meanwhile",
  /** Event invocations (not waited for) of the two functions that run once the old instances are gone. */
  warmUpDelete: "Warm up Delete old groups",
  warmUpUnlock: "Warm up Unlock environment",
  /** Whether another deploy waits for the lock (Check old groups retired's `queued`). */
  deployQueued: "Deploy queued behind?",
  /** Event invocations of the first functions of the swap, for the deploy queued behind (it launches at the unlock). */
  warmUpLaunch: "Warm up Launch release group",
  warmUpCheckGroupHealth: "Warm up Check group health",
  warmUpCheckLoadBalancerHealth: "Warm up Check load balancer health",
  deleteOldGroups: "Delete old groups",
  imagesRetained: "Images retained?",
  imageRetention: "Apply image retention",
  unlock: "Unlock environment",
  succeeded: "Deploy succeeded",
  noOp: "Nothing to deploy",
  rollback: "Roll back",
  unlockAfterRollback: "Unlock after rollback",
  rolledBack: "Deploy rolled back",
  unlockAfterFailure: "Unlock after failure",
  failed: "Deploy failed",
  /** A stale run (a late redrive) of an execution another deploy superseded: it stops here, having changed nothing. */
  superseded: "Deploy superseded",
} as const;
export type StateName = (typeof STATE)[keyof typeof STATE];

/**
 * Error names Step Functions' Retry/Catch match on. The stage functions throw the first group (classes in
 * errors.ts); the state machine itself raises the second (a Pass state turns a check's `failed` into the
 * error, stacks/pipeline/definition.ts), so that an execution fails with a name that says why.
 */
export const ERROR = {
  // Thrown by the stage functions.
  invalidInput: "InvalidDeployInput",
  bakeFailed: "BakeFailed",
  launchFailed: "LaunchFailed",
  lockLost: "LockLost",
  notYetVisible: "NotYetVisible",
  stillInUse: "StillInUse",
  transientAws: "TransientAwsError",
  eventPublishFailed: "EventPublishFailed",
  /**
   * Thrown by the retirement check (not raised by a Pass state): the execution stops at that Task with the lock
   * held, so a redrive resumes the check there (docs/design.md "Failure semantics").
   */
  retirementOverdue: "RetirementOverdue",
  // Raised by the state machine when a wait loop reports `failed`.
  releaseUnhealthy: "ReleaseUnhealthy",
  /**
   * The cutover's watch saw the new release fail under live traffic (target health, an alarm, or an operator's
   * rollback during the bake time): traffic is already back on the old groups; the rollback follows.
   */
  cutoverBreached: "CutoverBreached",
  lockTimeout: "LockTimeout",
  /**
   * Given to StopExecution by `immutable-deploy abort` when it then runs the failure path itself (before the
   * release went live: roll back, unlock); the outcome notification of the ABORTED status says so.
   */
  aborted: "DeployAborted",
} as const;

/**
 * Errors the Lambda service reports for an invocation (not thrown by our code): a function that crashed
 * (`Runtime.ExitError`), ran past its timeout (`Sandbox.Timedout`), or never ran (service errors). Step
 * Functions' "Handle Lambda service exceptions" lists the service errors (ClientExecutionTimeoutException among
 * them) and says unhandled errors, "out-of-memory errors and function timeouts", arrive as `Lambda.Unknown`;
 * executions of direct Lambda ARNs report `Sandbox.Timedout` for a time-out. Both names are retried.
 */
export const LAMBDA_ERROR = {
  crashed: "Runtime.ExitError",
  timedOut: "Sandbox.Timedout",
  /** @middy/core ends a handler 5 ms before Lambda's timeout (`timeoutEarlyInMillis`): what Step Functions then sees. */
  handlerTimedOut: "TimeoutError",
  unknown: "Lambda.Unknown",
  clientExecutionTimeout: "Lambda.ClientExecutionTimeoutException",
  serviceException: "Lambda.ServiceException",
  awsLambdaException: "Lambda.AWSLambdaException",
  sdkClientException: "Lambda.SdkClientException",
  tooManyRequests: "Lambda.TooManyRequestsException",
} as const;

/**
 * What every Lambda Task retries before any Catch sees it (stacks/pipeline/definition.ts): AWS throttling and
 * service hiccups the stage functions re-throw as `TransientAwsError` (the SDK's own retries spent), eventual
 * consistency and busy resources. Storms and propagation delays last minutes, so this budget does too.
 */
export const TRANSIENT_ERRORS = [ERROR.transientAws, ERROR.notYetVisible, ERROR.stillInUse] as const;

/**
 * The function did not finish (it crashed, ran past its timeout) or never ran (the Lambda service failed or
 * throttled the invocation). Every task is idempotent, so these are retried too, a few times, and only then
 * handled like any other failure: a crash is never by itself a reason to roll back.
 */
export const INVOCATION_ERRORS = [
  LAMBDA_ERROR.crashed,
  LAMBDA_ERROR.timedOut,
  LAMBDA_ERROR.handlerTimedOut,
  LAMBDA_ERROR.unknown,
  LAMBDA_ERROR.clientExecutionTimeout,
  LAMBDA_ERROR.serviceException,
  LAMBDA_ERROR.awsLambdaException,
  LAMBDA_ERROR.sdkClientException,
  LAMBDA_ERROR.tooManyRequests,
] as const;

/** The state machine's retry budgets for the two kinds above (seconds; FULL jitter waits a random part of each). */
export const RETRY_BUDGET = {
  /** 2, 4, 8, 16, 32, then 60 s: at most 10 min 62 s of waiting over 15 retries (half that on average). */
  transient: { intervalSeconds: 2, backoffRate: 2, maxDelaySeconds: 60, maxAttempts: 15 },
  /** 2, 4, 8, 16 s: a crash that repeats four times is not a fluke. */
  invocation: { intervalSeconds: 2, backoffRate: 2, maxDelaySeconds: 60, maxAttempts: 4 },
} as const;

/** Defaults shared by the stacks (config), the functions and the simulator. */
export const DEFAULTS = {
  healthCheckPath: "/api/status/health",
  healthCheckIntervalSeconds: 30,
  healthCheckTimeoutSeconds: 4,
  healthyThreshold: 2,
  unhealthyThreshold: 2,
  drainingSeconds: 300,
  instanceType: "t3.micro",
  minCapacity: 1,
  desiredCapacity: 2,
  maxCapacity: 4,
  healthCheckGracePeriodSeconds: 300,
  /** A release whose every new target failed the health check is rolled back at once (0: no allowance). */
  slowStartAllowanceSeconds: 0,
  retainReleaseImages: 3,
  appPort: 3000,
  lockWaitSeconds: 3600,
  groupHealthySeconds: 900,
  loadBalancerHealthySeconds: 900,
  retireSeconds: 1200,
  stateMachineTimeoutSeconds: 4 * 3600,
  /** Stage configuration `cutover` (stacks/config.ts; README "Cutover" says why these values). */
  cutoverStepPercent: 10,
  cutoverStepSeconds: 300,
  bakeTimeSeconds: 600,
  approvalTimeoutSeconds: 3600,
  /** The built-in 5XX alarm of each target group: more target 5XX answers than this in one minute is a breach. */
  target5xxPerMinute: 5,
  artifactPrefix: "releases/",
  artifactSuffix: ".tgz",
} as const;
