import type { Instance } from "@aws-sdk/client-auto-scaling";
import { nowSeconds } from "./lib/clock.js";
import type { DeployState, RetiredCheckResult, RetirementResult } from "./lib/contract.js";
import { RetirementOverdueError } from "./lib/errors.js";
import { describeGroupsByName } from "./lib/groups.js";
import { stageHandler } from "./lib/handler.js";
import { assertLockHeld } from "./lib/lock.js";
import { logger } from "./lib/logger.js";
import { DRAIN_POLL_SECONDS, listSome, nextPollSeconds, TERMINATION_POLL_SECONDS } from "./lib/polling.js";
import { emptyGroups, leftTheLoadBalancer } from "./lib/retirement.js";

/** Instances on their way out by themselves: past the deadline they are waited for, not reported. */
const PROGRESSING = new Set(["Terminating", "Terminating:Proceed"]);

/** `hook drain-3600s of <group> holds each for up to 3600 s, then ABANDON`, for the progress message. */
function hooksText(retirement: RetirementResult): string {
  const hooks = retirement.terminationHooks ?? [];
  return hooks.map((hook) => `termination hook ${hook.name} of ${hook.group} holds each for up to ${hook.heartbeatTimeout} s, then ${hook.defaultResult}`).join("; ");
}

/**
 * When the next instance can leave `Terminating:Wait`: the groups were scaled to 0 right after `drainedBy`, so each
 * hook times out `heartbeatTimeout` later (earlier if someone completes the action; then the next poll sees it).
 */
function nextHookTimeout(retirement: RetirementResult, now: number): number | undefined {
  const moments = (retirement.terminationHooks ?? []).map((hook) => retirement.drainedBy + hook.heartbeatTimeout).filter((at) => at >= now);
  return moments.length > 0 ? Math.min(...moments) : undefined;
}

/**
 * Waits until the old groups have no instance left (or are gone). Once the load balancer has drained them (its
 * targets have left it, or at the latest `drainedBy`, the deregistration delay), it scales them to 0 and releases instances that scale-in would never terminate (scale-in
 * protection, Standby); idempotent: only groups and instances not already there. Past `retiredBy` (draining, the
 * groups' longest termination hook, `retireSeconds`), instances that are not on their way out make it throw
 * `RetirementOverdue`: the execution stops here with the lock held, and a redrive checks again.
 */
export async function checkRetired(state: DeployState): Promise<RetiredCheckResult> {
  const { retirement } = state;
  if (!retirement) throw new Error("checkRetired needs $.retirement");
  // It scales groups: a superseded execution (a late redrive) must not.
  const lock = await assertLockHeld(state.settings, state.execution.id);
  // A deploy queued behind this one launches the moment it unlocks: said while waiting, so its functions warm up.
  const queued = lock.waiters ? { queued: true as const } : {};
  const now = nowSeconds();
  const { drainedBy } = retirement;
  let groups = await describeGroupsByName(retirement.groups);
  // Drained: the delay is over, or the load balancer let every old target go before it (nothing in flight).
  const drained = now >= drainedBy || (await leftTheLoadBalancer(state.settings.loadBalancer, groups));
  if (drained) groups = await emptyGroups(retirement.groups, groups);

  const remaining: Instance[] = groups.flatMap((group) => group.Instances ?? []);
  if (remaining.length === 0) {
    logger.info("old groups retired", { groups: retirement.groups });
    return { status: "ready", nextPollSeconds: 0, message: "deploy: old instance(s) terminated" };
  }
  const stuck = remaining.filter((instance) => !PROGRESSING.has(instance.LifecycleState ?? ""));
  if (now > retirement.retiredBy && stuck.length > 0) {
    const left = stuck.map((instance) => `${instance.InstanceId} ${instance.LifecycleState}`);
    const hooks = hooksText(retirement);
    throw new RetirementOverdueError(
      `${stuck.length} old instance(s) still not terminating ${now - retirement.retiredBy} s after the deadline ` +
        `(draining, ${hooks ? `${hooks}, ` : ""}then ${state.settings.timeouts.retireSeconds} s): ${listSome(left)}. ` +
        "Complete or abandon their lifecycle actions (or terminate them), then redrive: the check resumes here",
    );
  }
  if (!drained) {
    return {
      status: "waiting",
      ...queued,
      // Draining ends when the last in-flight request does, at the latest at drainedBy: ask the load balancer again soon.
      nextPollSeconds: Math.min(
        nextPollSeconds({ now, deadline: retirement.retiredBy, changeAt: drainedBy }),
        nextPollSeconds({ now, deadline: retirement.retiredBy, everySeconds: DRAIN_POLL_SECONDS }),
      ),
      message: `deploy: draining old instance(s) at load balancer (${remaining.length} left, at most ${drainedBy - now} s to go)`,
    };
  }
  const waitingForHooks = remaining.some((instance) => instance.LifecycleState === "Terminating:Wait");
  const hookTimeout = waitingForHooks ? nextHookTimeout(retirement, now) : undefined;
  // Past the deadline, instances still terminating by themselves are waited for (their next change is seconds away).
  const deadline = Math.max(retirement.retiredBy, now + TERMINATION_POLL_SECONDS);
  return {
    status: "waiting",
    ...queued,
    nextPollSeconds:
      hookTimeout !== undefined
        ? nextPollSeconds({ now, deadline, changeAt: hookTimeout })
        : nextPollSeconds({ now, deadline, everySeconds: TERMINATION_POLL_SECONDS }),
    message:
      waitingForHooks && retirement.terminationHooks?.length
        ? `deploy: waiting for old instance(s) to terminate (${remaining.length} left; ${hooksText(retirement)})`
        : `deploy: waiting for old instance(s) to terminate (${remaining.length} left)`,
  };
}

export const handler = stageHandler(checkRetired);
