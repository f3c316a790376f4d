import type { CheckResult, LaunchResult, TimeWindow } from "./contract.js";
import { NotYetVisibleError } from "./errors.js";

/**
 * When the wait loops poll next. A fixed cadence either wastes state transitions (polling while nothing can
 * change) or adds delay (polling long after the change). Instead each check names the moment the next change
 * can happen, and the loop polls right after it: bounded to [min, max] seconds and never past the deadline.
 */

export const POLL_BOUNDS = {
  /** Below this, state transitions and Lambda invocations cost more than the latency they save. */
  minSeconds: 2,
  /** Above this, an operator watching the execution sees nothing move for too long. */
  maxSeconds: 60,
} as const;

/** Polling right at the predicted second can race the change itself (clock skew, Lambda start). */
const CHANGE_MARGIN_SECONDS = 1;

/**
 * Cadence while ASG instances boot: their launch time is not in DescribeAutoScalingGroups, so no exact
 * prediction; short enough that the boot is seen within seconds, long enough to stay well below fixed 5 s
 * polling over the whole deploy (the load-balancer and retirement waits are predicted exactly).
 */
export const BOOT_POLL_SECONDS = 5;
/** A boot longer than this is slow (or failing): poll less often, and look at the group's launch activities. */
export const SLOW_BOOT_AFTER_SECONDS = 120;
/** Failed launches of the new group, with none of its instances in service, that mean the release cannot boot. */
export const FAILED_LAUNCHES_TO_GIVE_UP = 3;
/** Replacing an unhealthy instance (terminate, launch, boot) takes minutes: no need to look often. */
export const REPLACEMENT_POLL_SECONDS = 15;
/**
 * Old instances draining at the load balancer: they leave as soon as their last in-flight request ends (usually
 * within seconds of the detach), so the check asks every few seconds instead of sleeping through the whole delay.
 */
export const DRAIN_POLL_SECONDS = 5;
/**
 * Instances terminating after scale-in: EC2 shutdown takes tens of seconds, and nothing tells when it ends. Only
 * Delete, retention and Unlock follow, so every second between the last termination and the check that sees it
 * is a second the deploy holds the lock for nothing: the shortest poll (about 15 polls for a 30 s shutdown).
 */
export const TERMINATION_POLL_SECONDS = POLL_BOUNDS.minSeconds;

export type PollPlan = {
  /** Epoch seconds of this check. */
  now: number;
  /** Epoch seconds after which the check fails. */
  deadline: number;
} & (
  | { /** Epoch seconds at which the next change can happen (predicted). */ changeAt: number }
  | { /** No prediction possible: a cadence. */ everySeconds: number }
);

/**
 * Seconds to wait before the next check: just after the predicted change (or after the cadence), within
 * bounds, never past the deadline.
 */
export function nextPollSeconds(plan: PollPlan): number {
  const { now, deadline } = plan;
  const untilChange =
    "changeAt" in plan ? Math.ceil(plan.changeAt - now) + CHANGE_MARGIN_SECONDS : Math.ceil(plan.everySeconds);
  const bounded = Math.min(POLL_BOUNDS.maxSeconds, Math.max(POLL_BOUNDS.minSeconds, untilChange));
  // The last poll lands on the deadline (at least 1 s later), so `failed` is reported right when it is due.
  const untilDeadline = Math.max(1, Math.ceil(deadline - now));
  return Math.min(bounded, untilDeadline);
}

/**
 * The next moment after `now` at which a periodic process can change state, when it started somewhere in
 * `started` and changes only at `started + k * periodSeconds` for k >= firstPeriod. Load balancer health
 * checks are such a process: a target registered at r turns healthy at r + k * interval, k >= threshold - 1
 * (or later). Both window ends are candidates, so the poll lands right after the change whether the target
 * registered early or late in the window; a narrow window (the group check polls every few seconds) makes
 * the prediction exact to within that width.
 */
export function nextPeriodicChangeAt(now: number, started: TimeWindow, periodSeconds: number, firstPeriod: number): number {
  const period = Math.max(1, periodSeconds);
  const candidates: number[] = [];
  for (const anchor of [started.from, started.to]) {
    // The smallest k >= firstPeriod with anchor + k * period > now.
    const k = Math.max(firstPeriod, Math.floor((now - anchor) / period) + 1);
    candidates.push(anchor + k * period);
  }
  return Math.min(...candidates);
}

/** Lists at most `limit` items for a check's message (a 300-instance group must not flood the history). */
export function listSome(items: string[], limit = 10): string {
  const shown = items.slice(0, limit).join(", ");
  return items.length > limit ? `${shown} and ${items.length - limit} more` : shown;
}

/** A health check's answer when the new group vanished (deleted by hand?): nothing to wait for. */
export function newGroupGone(launch: LaunchResult): CheckResult & { healthy: number; desired: number } {
  return {
    status: "failed",
    nextPollSeconds: 0,
    message: `deploy: new group ${launch.groupName} no longer exists`,
    healthy: 0,
    desired: launch.desiredCapacity,
  };
}

/**
 * How long after a launch-template version was created Auto Scaling's "You must use a valid fully-formed launch
 * template" is taken for eventual consistency (`NotYetVisible`, retried) rather than a real rejection.
 */
export const LAUNCH_TEMPLATE_SETTLE_SECONDS = 300;

/**
 * Waiting for eventual consistency inside the invocation: AWS makes a new resource usable seconds after its
 * creation (Auto Scaling refuses a launch-template version for 1-5 s: docs/simulator-region.md, "Eventual
 * consistency"). Leaving each such wait to the state machine's Retry costs a failed invocation, a back-off of 2 s
 * doubling with full jitter, and a new invocation each time (about 10 s for a 3 s delay); here the function asks
 * again every `everySeconds`, up to `attempts` times in all (15 s, well inside a stage function's time), then lets
 * `NotYetVisible` reach the Retry as before.
 */
export const SETTLE_POLL = { everySeconds: 1, attempts: 15 } as const;

/** Runs `attempt` again while it throws `NotYetVisibleError`, at most `poll.attempts` times (then rethrows). */
export async function retryWhileNotYetVisible<T>(attempt: () => Promise<T>, poll: { everySeconds: number; attempts: number } = SETTLE_POLL): Promise<T> {
  for (let tried = 1; ; tried += 1) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof NotYetVisibleError) || tried >= poll.attempts) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, poll.everySeconds * 1000));
  }
}
