import { describe, expect, it } from "vitest";
import type { DeployState } from "../../../functions/lib/contract.js";
import { ERROR, STATE } from "../../../functions/lib/names.js";
import { outcomeOfExecution, resumesByRedrive } from "../../../functions/lib/outcome.js";

const output = (lockStatus: string) => ({ lock: { status: lockStatus } }) as unknown as DeployState;

describe("outcomeOfExecution", () => {
  it("a succeeded execution succeeded, unless it was a duplicate delivery", () => {
    expect(outcomeOfExecution("SUCCEEDED", undefined, output("acquired"))).toBe("succeeded");
    expect(outcomeOfExecution("SUCCEEDED", undefined, undefined)).toBe("succeeded");
    expect(outcomeOfExecution("SUCCEEDED", undefined, {} as DeployState)).toBe("succeeded");
    expect(outcomeOfExecution("SUCCEEDED", undefined, output("duplicate"))).toBe("no-op");
  });

  it("timed out and aborted are what they are", () => {
    expect(outcomeOfExecution("TIMED_OUT", { type: "FailStateEntered", name: STATE.failed }, undefined)).toBe("timed-out");
    expect(outcomeOfExecution("ABORTED", { type: "FailStateEntered", name: STATE.rolledBack }, undefined)).toBe("aborted");
  });

  it.each([
    [STATE.rolledBack, "rolled-back"],
    [STATE.failed, "failed"],
    [STATE.superseded, "failed"],
    ["Some other Fail state", "failed"],
    [undefined, "failed"],
  ])("a failed execution that ended in the Fail state %s: %s", (name, outcome) => {
    expect(outcomeOfExecution("FAILED", { type: "FailStateEntered", name }, undefined)).toBe(outcome);
  });

  it("a failed execution that stopped in another state needs attention", () => {
    expect(outcomeOfExecution("FAILED", { type: "TaskStateEntered", name: STATE.rolledBack }, undefined)).toBe("needs-attention");
    expect(outcomeOfExecution("FAILED", undefined, undefined)).toBe("needs-attention");
    expect(outcomeOfExecution("FAILED", {}, undefined)).toBe("needs-attention");
  });
});

describe("resumesByRedrive", () => {
  it("resumes after needs-attention, a time-out and an abort by hand, not after the CLI's abort or a definition's end", () => {
    expect(resumesByRedrive("needs-attention", null)).toBe(true);
    expect(resumesByRedrive("timed-out", undefined)).toBe(true);
    expect(resumesByRedrive("timed-out", ERROR.aborted)).toBe(true);
    expect(resumesByRedrive("aborted", null)).toBe(true);
    expect(resumesByRedrive("aborted", "SomethingElse")).toBe(true);
    expect(resumesByRedrive("aborted", ERROR.aborted)).toBe(false);
    for (const outcome of ["succeeded", "failed", "rolled-back", "no-op"] as const) {
      expect(resumesByRedrive(outcome, null), outcome).toBe(false);
      expect(resumesByRedrive(outcome, "SomethingElse"), outcome).toBe(false);
    }
  });
});
