import { nowSeconds } from "./lib/clock.js";
import type { DeployState, LoadBalancerHealthResult } from "./lib/contract.js";
import { matchLiveCapacity } from "./lib/groupConfiguration.js";
import { describeLiveGroup, lastFailedActivity, recentActivities } from "./lib/groups.js";
import { stageHandler } from "./lib/handler.js";
import { describeInstanceHealth, describeInstanceState, describeLoadBalancer, type InstanceLoadBalancerHealth, newGroupTarget } from "./lib/loadBalancer.js";
import { assertLockHeld } from "./lib/lock.js";
import { logger } from "./lib/logger.js";
import { BOOT_POLL_SECONDS, listSome, newGroupGone, nextPeriodicChangeAt, nextPollSeconds, REPLACEMENT_POLL_SECONDS } from "./lib/polling.js";

/** How many instances' last reasons a check carries to the next (the history must stay small). */
const LAST_SEEN_LIMIT = 10;
/** States that say nothing about the release: the instance is not (yet) under the health check. */
const UNINFORMATIVE_STATES = new Set(["initial", "not registered", "healthy", "InService"]);

/**
 * The load balancer's last informative word on each instance (`unhealthy (Target.FailedHealthChecks: ...)`),
 * this check's merged over the previous checks': an instance Auto Scaling replaced, or that is back to `initial`
 * after a re-registration, keeps the reason it had.
 */
function rememberReasons(previous: Record<string, string> | undefined, health: InstanceLoadBalancerHealth[]): Record<string, string> {
  const seen = { ...previous };
  for (const instance of health) if (!UNINFORMATIVE_STATES.has(instance.state)) seen[instance.instanceId] = describeInstanceState(instance);
  return Object.fromEntries(Object.entries(seen).slice(-LAST_SEEN_LIMIT));
}

/**
 * Why the release is not healthy at the load balancer, in the load balancer's words: each instance's state now,
 * or the last reason seen for it when it is no longer under the check (Auto Scaling replaced it); then the group's
 * last failed scaling activity.
 */
async function unhealthyReason(groupName: string, health: InstanceLoadBalancerHealth[], seen: Record<string, string>): Promise<string> {
  const current = new Set(health.map((instance) => instance.instanceId));
  const lines = health
    .filter((instance) => !instance.healthy)
    .map((instance) =>
      UNINFORMATIVE_STATES.has(instance.state) && seen[instance.instanceId]
        ? `${describeInstanceState(instance)}, earlier ${seen[instance.instanceId].slice(instance.instanceId.length + 1)}`
        : describeInstanceState(instance),
    );
  const replaced = Object.entries(seen)
    .filter(([instanceId]) => !current.has(instanceId))
    .map(([instanceId, last]) => `${instanceId} replaced by Auto Scaling, last seen ${last.slice(instanceId.length + 1)}`);
  const activity = lastFailedActivity(await recentActivities(groupName));
  return [listSome([...lines, ...replaced]), activity].filter(Boolean).join("; ");
}

export async function checkLoadBalancerHealth(state: DeployState): Promise<LoadBalancerHealthResult> {
  const { launch, settings } = state;
  if (!launch) throw new Error("checkLoadBalancerHealth needs $.launch");
  // A superseded execution (a late redrive) must not report on, or act for, a deploy it no longer owns.
  await assertLockHeld(settings, state.execution.id);
  const now = nowSeconds();
  const group = await describeLiveGroup(launch.groupName);
  if (!group) return newGroupGone(launch);

  // Terminating instances are on their way out of the load balancer: they never count.
  const instanceIds = (group.Instances ?? [])
    .filter((instance) => !instance.LifecycleState?.startsWith("Terminat"))
    .flatMap((instance) => (instance.InstanceId ? [instance.InstanceId] : []));
  // On an ALB the new group waits on the target group that gets no traffic: proven healthy there first.
  const target = newGroupTarget(settings.loadBalancer, launch);
  const health = await describeInstanceHealth(target, instanceIds);
  const healthy = health.filter((instance) => instance.healthy).length;
  // Right before cutover: the live groups' desired now, which a scale-out since Launch may have raised.
  const groupDesired = group.DesiredCapacity ?? launch.desiredCapacity;
  const desired = healthy >= groupDesired ? await matchLiveCapacity(state, group) : groupDesired;
  const progress = `(${healthy}/${desired})`;
  const lastSeen = rememberReasons(state.loadBalancerHealth?.lastSeen, health);

  if (healthy >= desired) {
    logger.info("new group healthy at load balancer", { groupName: launch.groupName, healthy, desired });
    return {
      status: "ready",
      nextPollSeconds: 0,
      message: `deploy: new instance(s) are healthy at load balancer ${progress}`,
      healthy,
      desired,
    };
  }

  // Instances added after the group check (a raised capacity) register later than its window says.
  const raised = desired > (state.groupHealth?.desired ?? desired);
  const registered = raised ? undefined : state.groupHealth?.inServiceWindow;
  // Past the group's health check grace period Auto Scaling would start replacing instances the load
  // balancer calls unhealthy: a release not healthy by then will not be, so roll back now, not at the deadline.
  const graceEndsAt = registered ? registered.to + settings.healthCheckGracePeriodSeconds : undefined;
  if (graceEndsAt !== undefined && now >= graceEndsAt && now <= launch.healthyBy) {
    return {
      status: "failed",
      nextPollSeconds: 0,
      message:
        `deploy: new instance(s) not healthy at ${describeLoadBalancer(target)} ` +
        `${settings.healthCheckGracePeriodSeconds} s after going InService (the group's health check grace period) ` +
        `${progress}: ${await unhealthyReason(launch.groupName, health, lastSeen)}`,
      healthy,
      desired,
      lastSeen,
    };
  }

  // Every new target failed `unhealthyThreshold` checks in a row: a dead release. Roll back now, not at the end of
  // the grace period, once the slow-start allowance (counted from InService) is over.
  const allowanceEndsAt = (registered?.to ?? state.groupHealth?.inServiceWindow?.to ?? 0) + settings.slowStartAllowanceSeconds;
  if (health.length > 0 && health.every((instance) => instance.failedChecks) && now >= allowanceEndsAt && now <= launch.healthyBy) {
    return {
      status: "failed",
      nextPollSeconds: 0,
      message:
        `deploy: new instance(s) not healthy at ${describeLoadBalancer(target)}: every one failed ` +
        `${settings.healthCheck.unhealthyThreshold} health checks in a row` +
        `${settings.slowStartAllowanceSeconds > 0 ? ` (slow-start allowance of ${settings.slowStartAllowanceSeconds} s over)` : ""} ` +
        `${progress}: ${await unhealthyReason(launch.groupName, health, lastSeen)}`,
      healthy,
      desired,
      lastSeen,
    };
  }

  if (now > launch.healthyBy) {
    return {
      status: "failed",
      nextPollSeconds: 0,
      message:
        `deploy: new instance(s) not healthy at ${describeLoadBalancer(target)} by the deadline ` +
        `${progress}: ${await unhealthyReason(launch.groupName, health, lastSeen)}`,
      healthy,
      desired,
      lastSeen,
    };
  }

  // Health checks run every interval from registration; a target turns healthy after `healthyThreshold`
  // passing checks, so the next change can only come one interval-multiple after the registration window.
  const { intervalSeconds, healthyThreshold } = settings.healthCheck;
  const deadline = Math.min(launch.healthyBy, graceEndsAt ?? launch.healthyBy);
  const nextPoll = registered
    ? nextPollSeconds({
        now,
        deadline,
        changeAt: nextPeriodicChangeAt(now, registered, intervalSeconds, Math.max(1, healthyThreshold - 1)),
      })
    : nextPollSeconds({ now, deadline, everySeconds: raised ? REPLACEMENT_POLL_SECONDS : BOOT_POLL_SECONDS });
  return {
    status: "waiting",
    nextPollSeconds: nextPoll,
    message: `deploy: ensuring new instance(s) are healthy at load balancer ${progress}`,
    healthy,
    desired,
    ...(Object.keys(lastSeen).length > 0 && { lastSeen }),
  };
}

export const handler = stageHandler(checkLoadBalancerHealth);
