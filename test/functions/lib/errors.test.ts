import { describe, expect, it } from "vitest";
import {
  awsErrorCode,
  awsErrorCodes,
  BakeFailedError,
  classifyError,
  DeployError,
  errorMessage,
  hasErrorCode,
  InvalidDeployInputError,
  isLaunchTemplateNotUsableYet,
  isTransientAwsError,
  LaunchFailedError,
  LockLostError,
  NotYetVisibleError,
  RetirementOverdueError,
  StillInUseError,
  TransientAwsError,
  TRANSIENT_AWS_CODES,
} from "../../../functions/lib/errors.js";
import { ERROR } from "../../../functions/lib/names.js";

/** An error as the SDK v3 throws it: `name` the modeled shape, `Code` the wire code, `$metadata` the HTTP status. */
function sdkError(fields: { name?: string; Code?: string; code?: string; status?: number; message?: string }): Error {
  const error = new Error(fields.message ?? "it went wrong") as Error & Record<string, unknown>;
  if (fields.name !== undefined) error.name = fields.name;
  if (fields.Code !== undefined) error.Code = fields.Code;
  if (fields.code !== undefined) error.code = fields.code;
  if (fields.status !== undefined) error.$metadata = { httpStatusCode: fields.status };
  return error;
}

describe("the errors the stages throw", () => {
  it.each([
    [new InvalidDeployInputError("m"), ERROR.invalidInput],
    [new BakeFailedError("m"), ERROR.bakeFailed],
    [new LaunchFailedError("m"), ERROR.launchFailed],
    [new LockLostError("m"), ERROR.lockLost],
    [new NotYetVisibleError("m"), ERROR.notYetVisible],
    [new StillInUseError("m"), ERROR.stillInUse],
    [new TransientAwsError("m"), ERROR.transientAws],
    [new RetirementOverdueError("m"), ERROR.retirementOverdue],
  ])("%s is named %s, with its message", (error, name) => {
    expect(error).toBeInstanceOf(DeployError);
    expect(error.name).toBe(name);
    expect(error.message).toBe("m");
  });

  it("keeps the cause", () => {
    const cause = new Error("underneath");
    expect(new LaunchFailedError("m", { cause }).cause).toBe(cause);
    expect(new StillInUseError("m", { cause }).cause).toBe(cause);
    expect(new TransientAwsError("m", { cause }).cause).toBe(cause);
    expect(new DeployError("X", "m", { cause }).cause).toBe(cause);
  });
});

describe("reading SDK errors", () => {
  it("knows an error by its name, Code and code, but not by the plain name Error", () => {
    expect(awsErrorCodes(sdkError({ name: "ScalingActivityInProgressFault", Code: "ScalingActivityInProgress" }))).toEqual([
      "ScalingActivityInProgressFault",
      "ScalingActivityInProgress",
    ]);
    expect(awsErrorCodes(sdkError({ code: "ECONNRESET" }))).toEqual(["ECONNRESET"]);
    expect(awsErrorCodes(new Error("plain"))).toEqual([]);
    expect(awsErrorCodes({ name: 5, Code: "X" })).toEqual(["X"]);
    expect(awsErrorCodes(null)).toEqual([]);
    expect(awsErrorCodes("Throttling")).toEqual([]);
    expect(awsErrorCodes(undefined)).toEqual([]);
  });

  it("takes the wire code as the most specific, else the name", () => {
    expect(awsErrorCode(sdkError({ name: "ScalingActivityInProgressFault", Code: "ScalingActivityInProgress" }))).toBe("ScalingActivityInProgress");
    expect(awsErrorCode(sdkError({ name: "ValidationError" }))).toBe("ValidationError");
    expect(awsErrorCode(new Error("plain"))).toBeUndefined();
  });

  it("matches any of the given codes against any of the error's", () => {
    const error = sdkError({ name: "ResourceInUseFault", Code: "ResourceInUse" });
    expect(hasErrorCode(error, "ResourceInUse")).toBe(true);
    expect(hasErrorCode(error, "Other", "ResourceInUseFault")).toBe(true);
    expect(hasErrorCode(error, "Other")).toBe(false);
    expect(hasErrorCode(error)).toBe(false);
    expect(hasErrorCode(new Error("plain"), "Error")).toBe(false);
  });

  it("gives the message of an Error, or the thrown value as text", () => {
    expect(errorMessage(new Error("boom"))).toBe("boom");
    expect(errorMessage("just text")).toBe("just text");
    expect(errorMessage(42)).toBe("42");
  });

  it("takes throttling and 5xx for transient, not 4xx or other codes", () => {
    for (const code of TRANSIENT_AWS_CODES) expect(isTransientAwsError(sdkError({ name: code })), code).toBe(true);
    expect(isTransientAwsError(sdkError({ name: "SomethingElse", Code: "Throttling" }))).toBe(true);
    expect(isTransientAwsError(sdkError({ name: "SomethingElse", status: 500 }))).toBe(true);
    expect(isTransientAwsError(sdkError({ name: "SomethingElse", status: 503 }))).toBe(true);
    expect(isTransientAwsError(sdkError({ name: "SomethingElse", status: 499 }))).toBe(false);
    expect(isTransientAwsError(sdkError({ name: "ValidationError", status: 400 }))).toBe(false);
    expect(isTransientAwsError(sdkError({ name: "ValidationError" }))).toBe(false);
    expect(isTransientAwsError({ $metadata: { httpStatusCode: "500" } })).toBe(false);
    expect(isTransientAwsError(null)).toBe(false);
    expect(isTransientAwsError(undefined)).toBe(false);
  });

  it("tells a launch template Auto Scaling does not see yet by its ValidationError message", () => {
    expect(isLaunchTemplateNotUsableYet(sdkError({ name: "ValidationError", message: "You must use a valid Fully-Formed Launch Template." }))).toBe(true);
    expect(isLaunchTemplateNotUsableYet(sdkError({ name: "ValidationError", message: "Group not found" }))).toBe(false);
    expect(isLaunchTemplateNotUsableYet(sdkError({ name: "LimitExceeded", message: "You must use a valid fully-formed launch template." }))).toBe(false);
  });
});

describe("classifyError", () => {
  it("re-throws a transient AWS error as TransientAwsError with its code, message and cause", () => {
    const throttled = sdkError({ name: "ThrottlingException", Code: "Throttling", message: "Rate exceeded" });
    const classified = classifyError(throttled) as TransientAwsError;
    expect(classified).toBeInstanceOf(TransientAwsError);
    expect(classified.message).toBe("Throttling: Rate exceeded");
    expect(classified.cause).toBe(throttled);
  });

  it("names a 5xx without a code unknown", () => {
    const error = sdkError({ status: 502, message: "Bad Gateway" });
    expect((classifyError(error) as Error).message).toBe("unknown: Bad Gateway");
  });

  it("leaves the stages' own errors and everything else as they are", () => {
    const own = new LockLostError("taken over");
    expect(classifyError(own)).toBe(own);
    // A DeployError that is also named like a transient code stays what it is.
    const named = new DeployError("Throttling", "not AWS");
    expect(classifyError(named)).toBe(named);
    const validation = sdkError({ name: "ValidationError" });
    expect(classifyError(validation)).toBe(validation);
    expect(classifyError("text")).toBe("text");
  });
});
