import { ERROR } from "./names.js";

/**
 * The errors stage functions throw on purpose (their `name` is what Step Functions' Retry/Catch match on),
 * and every set of AWS error codes the stage functions handle by name. AWS codes live here only, so a typo
 * or a code the service never returns is found in one place (test/aws checks them against AWS's models).
 */

/** Base of the errors stage functions throw on purpose: `name` is what Step Functions matches on. */
export class DeployError extends Error {
  constructor(name: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = name;
  }
}

/** Bad execution input: names the field, the value and what is allowed. Thrown only by Prepare. */
export class InvalidDeployInputError extends DeployError {
  constructor(message: string) {
    super(ERROR.invalidInput, message);
  }
}

/** The bake succeeded but did not export the AMI ids the deploy needs (buildspec.yml `exported-variables`). */
export class BakeFailedError extends DeployError {
  constructor(message: string) {
    super(ERROR.bakeFailed, message);
  }
}

/** The release cannot launch as configured (bad image, bad template, a limit): no retry helps. */
export class LaunchFailedError extends DeployError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ERROR.launchFailed, message, options);
  }
}

/** This execution no longer holds the environment's deploy lock: another deploy took it over. */
export class LockLostError extends DeployError {
  constructor(message: string) {
    super(ERROR.lockLost, message);
  }
}

/** A resource we just created or changed is not visible yet (eventual consistency): retried by the state machine. */
export class NotYetVisibleError extends DeployError {
  constructor(message: string) {
    super(ERROR.notYetVisible, message);
  }
}

/** A delete was refused because the resource is still busy (scaling activity, snapshot in use): retried. */
export class StillInUseError extends DeployError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ERROR.stillInUse, message, options);
  }
}

/** An AWS throttling or service error, re-thrown under one name the state machine retries with backoff. */
export class TransientAwsError extends DeployError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ERROR.transientAws, message, options);
  }
}

/** Old instances that still do not terminate after everything their group's hooks allow (checkRetired). */
export class RetirementOverdueError extends DeployError {
  constructor(message: string) {
    super(ERROR.retirementOverdue, message);
  }
}

// ---- AWS error codes, by what they mean to a deploy ------------------------------------------------------

/** "Try again later": throttling and transient service errors, across the services the stages call. */
export const TRANSIENT_AWS_CODES = [
  "Throttling",
  "ThrottlingException",
  "ThrottledException",
  "RequestLimitExceeded",
  "RequestThrottled",
  "RequestThrottledException",
  "TooManyRequestsException",
  "ProvisionedThroughputExceededException",
  "InternalError",
  "InternalFailure",
  "InternalServerError",
  "ServiceUnavailable",
  "Unavailable",
  "EC2ThrottledException",
  "ResourceContention",
  "ResourceContentionFault",
  // The SDK's own transient names (@smithy/core retry, TRANSIENT_ERROR_CODES): a request whose answer never came
  // (socket timeout), retried by the SDK first and, once its attempts are spent, by the state machine.
  "TimeoutError",
  "RequestTimeout",
  "RequestTimeoutException",
] as const;

/** Auto Scaling refuses to delete or change a group while it works on it. */
export const GROUP_BUSY_CODES = ["ScalingActivityInProgressFault", "ScalingActivityInProgress", "ResourceInUseFault", "ResourceInUse"] as const;

/** Auto Scaling: a group of that name exists already (CreateAutoScalingGroup). */
export const GROUP_EXISTS_CODES = ["AlreadyExistsFault", "AlreadyExists"] as const;

/** The release cannot launch as configured (bad image, bad template, limits): no retry helps. */
export const LAUNCH_REJECTED_CODES = [
  "ValidationError",
  "LimitExceededFault",
  "LimitExceeded",
  "InvalidAMIID.NotFound",
  "InvalidAMIID.Malformed",
  "InvalidAMIID.Unavailable",
  "InvalidLaunchTemplateId.NotFound",
  "InvalidLaunchTemplateId.Malformed",
  "InvalidLaunchTemplateId.VersionNotFound",
  "InvalidParameterValue",
  "InvalidParameterCombination",
  "InvalidParameter",
  "MissingParameter",
] as const;

/**
 * Auto Scaling's answer while it does not see a launch-template version yet (and, in the same words, to a
 * template that can never launch: a missing image, mismatched architectures...). Right after the version was
 * created it is eventual consistency, retried for a bound (terraform-provider-aws retries it for the same reason:
 * .changelog/40088.txt, "Handle eventual consistency issues that occur when using a `launch_template` that is
 * updated causing `ValidationError: You must use a valid fully-formed launch template.`"); later it is a real
 * rejection.
 */
export function isLaunchTemplateNotUsableYet(error: unknown): boolean {
  return hasErrorCode(error, "ValidationError") && /fully-formed launch template/i.test(errorMessage(error));
}

/**
 * Auto Scaling (CreateAutoScalingGroup) could not create or use its service-linked role. It comes as HTTP 500,
 * but it is a missing permission (iam:CreateServiceLinkedRole for the account's first group), not a hiccup:
 * retrying cannot help.
 */
export const SERVICE_LINKED_ROLE_FAILURE_CODES = ["ServiceLinkedRoleFailure"] as const;

/** EC2: the image does not exist (any more), or the id is not one. */
export const IMAGE_NOT_FOUND_CODES = ["InvalidAMIID.NotFound", "InvalidAMIID.Malformed", "InvalidAMIID.Unavailable"] as const;
/** EC2: the image was deregistered already. */
export const IMAGE_GONE_CODES = ["InvalidAMIID.NotFound", "InvalidAMIID.Unavailable"] as const;
export const SNAPSHOT_GONE_CODES = ["InvalidSnapshot.NotFound"] as const;
export const SNAPSHOT_IN_USE_CODES = ["InvalidSnapshot.InUse"] as const;
/** EC2: a launch template or version that no longer exists (it cannot launch anything). */
export const LAUNCH_TEMPLATE_GONE_CODES = [
  "InvalidLaunchTemplateId.NotFound",
  "InvalidLaunchTemplateId.Malformed",
  "InvalidLaunchTemplateId.VersionNotFound",
  "InvalidLaunchTemplateName.NotFoundException",
] as const;
/** EC2 DeleteLaunchTemplateVersions reports per version; this one means "already deleted". */
export const LAUNCH_TEMPLATE_VERSION_GONE_CODES = ["launchTemplateVersionDoesNotExist"] as const;
/** DynamoDB: a conditional write whose condition did not hold. */
export const CONDITION_FAILED_CODES = ["ConditionalCheckFailedException"] as const;
/** ELBv2 CreateRule: another rule of the listener has that priority (botocore elbv2 2015-12-01 `PriorityInUseException`). */
export const PRIORITY_IN_USE_CODES = ["PriorityInUseException", "PriorityInUse"] as const;
/** Step Functions: the execution does not exist (any more). */
export const EXECUTION_GONE_CODES = ["ExecutionDoesNotExist"] as const;
/**
 * Step Functions SendTaskSuccess: the task a token stood for is over or unknown (botocore stepfunctions 2016-11-23:
 * TaskTimedOut "expired or already closed", TaskDoesNotExist, InvalidToken). The newer models also list
 * KmsAccessDeniedException, KmsInvalidStateException and KmsThrottlingException (state machines encrypted with a
 * customer managed key; this one is not): not a task that is over, so they are thrown.
 */
export const TASK_GONE_CODES = ["TaskTimedOut", "TaskDoesNotExist", "InvalidToken"] as const;

// ---- Reading SDK v3 errors ---------------------------------------------------------------------------------

/**
 * Every name an SDK v3 error goes by: its `name` (for modeled exceptions the shape name, e.g.
 * `ScalingActivityInProgressFault`) and its wire code (`Code`, e.g. `ScalingActivityInProgress`).
 */
export function awsErrorCodes(error: unknown): string[] {
  if (typeof error !== "object" || error === null) return [];
  const e = error as { name?: unknown; Code?: unknown; code?: unknown };
  return [e.name, e.Code, e.code].filter((c): c is string => typeof c === "string" && c !== "Error");
}

/** The most specific AWS error code of an SDK v3 error, for messages. */
export function awsErrorCode(error: unknown): string | undefined {
  const codes = awsErrorCodes(error);
  return codes[1] ?? codes[0];
}

export function isTransientAwsError(error: unknown): boolean {
  if (awsErrorCodes(error).some((code) => (TRANSIENT_AWS_CODES as readonly string[]).includes(code))) return true;
  const status = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
  return typeof status === "number" && status >= 500;
}

export function hasErrorCode(error: unknown, ...codes: readonly string[]): boolean {
  return awsErrorCodes(error).some((code) => codes.includes(code));
}

/** The message of anything thrown. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Re-throws AWS throttling/5xx errors as `TransientAwsError` (retried); everything else unchanged. */
export function classifyError(error: unknown): unknown {
  if (error instanceof DeployError) return error;
  if (isTransientAwsError(error)) {
    const code = awsErrorCode(error) ?? "unknown";
    return new TransientAwsError(`${code}: ${errorMessage(error)}`, { cause: error });
  }
  return error;
}
