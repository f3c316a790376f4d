/**
 * A deploy's outcome as Step Functions tells how its execution ended: the notify function publishes it, the
 * operator CLI (`history`, `status`, `watch`) shows it, so the two never disagree.
 */
import type { DeployOutcome, DeployState } from "./contract.js";
import { ERROR, STATE } from "./names.js";

/** Fail states the definition ends in on purpose, and the outcome each means. */
const FAIL_STATE_OUTCOME: Partial<Record<string, DeployOutcome>> = {
  [STATE.rolledBack]: "rolled-back",
  [STATE.failed]: "failed",
  [STATE.superseded]: "failed",
};

/** The history event of the last state an execution entered (`<Type>StateEntered`). */
export interface LastStateEntered {
  type?: string;
  name?: string;
}

/**
 * The outcome of an execution that ended with `status`: a succeeded one from its output (a duplicate delivery
 * is a no-op); a failed one from the last state it entered (one of the definition's Fail states, or the state
 * it stopped in after cutover, lock held: needs attention); timed out and aborted as they are.
 */
export function outcomeOfExecution(status: string, lastEntered: LastStateEntered | undefined, output: DeployState | undefined): DeployOutcome {
  switch (status) {
    case "SUCCEEDED":
      return output?.lock?.status === "duplicate" ? "no-op" : "succeeded";
    case "TIMED_OUT":
      return "timed-out";
    case "ABORTED":
      return "aborted";
    default:
      if (lastEntered?.type === "FailStateEntered") return FAIL_STATE_OUTCOME[lastEntered.name ?? ""] ?? "failed";
      return "needs-attention";
  }
}

/**
 * Whether a redrive resumes the ended execution where it stopped, the deploy lock still its own: stopped after
 * cutover (needs attention), timed out, or stopped by hand. Not when `immutable-deploy abort` stopped it with
 * `ERROR.aborted` to run the failure path itself (roll back, unlock), nor after any end of the definition's own.
 */
export function resumesByRedrive(outcome: DeployOutcome, error: string | null | undefined): boolean {
  if (outcome === "needs-attention" || outcome === "timed-out") return true;
  return outcome === "aborted" && error !== ERROR.aborted;
}
