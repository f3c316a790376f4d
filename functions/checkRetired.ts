import { nowSeconds } from "./lib/clock.js";
import type { CheckResult, DeployState } from "./lib/contract.js";
import { describeGroupsByName, isBeingDeleted, scaleGroupsToZero } from "./lib/groups.js";
import { stageHandler } from "./lib/handler.js";
import { logger } from "./lib/logger.js";
import { ERROR } from "./lib/names.js";
import { listSome, nextPollSeconds, TERMINATION_POLL_SECONDS } from "./lib/polling.js";

/**
 * Waits until the old groups have no instance left (or are gone). Once the load balancer has drained them
 * (`drainedBy`), it scales them to 0 (idempotent: only groups not already there).
 */
export async function checkRetired(state: DeployState): Promise<CheckResult> {
  const { retirement } = state;
  if (!retirement) throw new Error("checkRetired needs $.retirement");
  const now = nowSeconds();
  const { drainedBy } = retirement;
  const groups = await describeGroupsByName(retirement.groups);
  if (now >= drainedBy) await scaleGroupsToZero(groups.filter((group) => !isBeingDeleted(group)));

  const remaining = groups.flatMap((group) => group.Instances ?? []);
  if (remaining.length === 0) {
    logger.info("old groups retired", { groups: retirement.groups });
    return { status: "ready", nextPollSeconds: 0, message: "deploy: old instance(s) terminated" };
  }
  if (now > retirement.retiredBy) {
    const left = remaining.map((instance) => `${instance.InstanceId} ${instance.LifecycleState}`);
    return {
      status: "failed",
      nextPollSeconds: 0,
      message: `${ERROR.retirementOverdue}: ${remaining.length} old instance(s) still running after the deadline: ${listSome(left)}`,
    };
  }
  if (now < drainedBy) {
    return {
      status: "waiting",
      // Nothing terminates before draining is over: sleep right through it.
      nextPollSeconds: nextPollSeconds({ now, deadline: retirement.retiredBy, changeAt: drainedBy }),
      message: `deploy: draining old instance(s) at load balancer (${remaining.length} left, ${drainedBy - now} s to go)`,
    };
  }
  return {
    status: "waiting",
    nextPollSeconds: nextPollSeconds({ now, deadline: retirement.retiredBy, everySeconds: TERMINATION_POLL_SECONDS }),
    message: `deploy: waiting for old instance(s) to terminate (${remaining.length} left)`,
  };
}

export const handler = stageHandler(checkRetired);
