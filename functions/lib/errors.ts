import { ERROR, TRANSIENT_AWS_CODES } from "./names.js";

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

export class ReleaseUnhealthyError extends DeployError {
  constructor(message: string) {
    super(ERROR.releaseUnhealthy, message);
  }
}

export class LaunchFailedError extends DeployError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ERROR.launchFailed, message, options);
  }
}

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

export function hasErrorCode(error: unknown, ...codes: string[]): boolean {
  return awsErrorCodes(error).some((code) => codes.includes(code));
}

/** Re-throws AWS throttling/5xx errors as `TransientAwsError` (retried); everything else unchanged. */
export function classifyError(error: unknown): unknown {
  if (error instanceof DeployError) return error;
  if (isTransientAwsError(error)) {
    const code = awsErrorCode(error) ?? "unknown";
    const message = error instanceof Error ? error.message : String(error);
    return new TransientAwsError(`${code}: ${message}`, { cause: error });
  }
  return error;
}
