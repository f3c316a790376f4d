import { nowSeconds } from "./lib/clock.js";
import type { DeployState, LoadBalancerHealthResult } from "./lib/contract.js";
import { matchLiveCapacity } from "./lib/groupConfiguration.js";
import { describeLiveGroup } from "./lib/groups.js";
import { stageHandler } from "./lib/handler.js";
import { describeInstanceHealth, describeLoadBalancer } from "./lib/loadBalancer.js";
import { logger } from "./lib/logger.js";
import { BOOT_POLL_SECONDS, listSome, newGroupGone, nextPeriodicChangeAt, nextPollSeconds, REPLACEMENT_POLL_SECONDS } from "./lib/polling.js";

export async function checkLoadBalancerHealth(state: DeployState): Promise<LoadBalancerHealthResult> {
  const { launch, settings } = state;
  if (!launch) throw new Error("checkLoadBalancerHealth needs $.launch");
  const now = nowSeconds();
  const group = await describeLiveGroup(launch.groupName);
  if (!group) return newGroupGone(launch);

  // Terminating instances are on their way out of the load balancer: they never count.
  const instanceIds = (group.Instances ?? [])
    .filter((instance) => !instance.LifecycleState?.startsWith("Terminat"))
    .flatMap((instance) => (instance.InstanceId ? [instance.InstanceId] : []));
  const health = await describeInstanceHealth(settings.loadBalancer, instanceIds);
  const healthy = health.filter((instance) => instance.healthy).length;
  // Right before cutover: the live groups' desired now, which a scale-out since Launch may have raised.
  const groupDesired = group.DesiredCapacity ?? launch.desiredCapacity;
  const desired = healthy >= groupDesired ? await matchLiveCapacity(state, group) : groupDesired;
  const progress = `(${healthy}/${desired})`;

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
  const notHealthy = health
    .filter((instance) => !instance.healthy)
    .map((instance) => `${instance.instanceId} ${instance.state}${instance.reason ? ` (${instance.reason})` : ""}`);
  if (graceEndsAt !== undefined && now >= graceEndsAt && now <= launch.healthyBy) {
    return {
      status: "failed",
      nextPollSeconds: 0,
      message:
        `deploy: new instance(s) not healthy at ${describeLoadBalancer(settings.loadBalancer)} ` +
        `${settings.healthCheckGracePeriodSeconds} s after going InService (the group's health check grace period) ` +
        `${progress}: ${listSome(notHealthy)}`,
      healthy,
      desired,
    };
  }

  if (now > launch.healthyBy) {
    return {
      status: "failed",
      nextPollSeconds: 0,
      message:
        `deploy: new instance(s) not healthy at ${describeLoadBalancer(settings.loadBalancer)} by the deadline ` +
        `${progress}: ${listSome(notHealthy)}`,
      healthy,
      desired,
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
  };
}

export const handler = stageHandler(checkLoadBalancerHealth);
