import type { Activity, Instance } from "@aws-sdk/client-auto-scaling";
import { nowSeconds } from "./lib/clock.js";
import type { DeployState, GroupHealthResult } from "./lib/contract.js";
import { matchLiveCapacity } from "./lib/groupConfiguration.js";
import { describeLiveGroup, failedActivities, lastFailedActivity, recentActivities } from "./lib/groups.js";
import { stageHandler } from "./lib/handler.js";
import { assertLockHeld } from "./lib/lock.js";
import { logger } from "./lib/logger.js";
import {
  BOOT_POLL_SECONDS,
  FAILED_LAUNCHES_TO_GIVE_UP,
  LAUNCH_TEMPLATE_SETTLE_SECONDS,
  listSome,
  nextPollSeconds,
  REPLACEMENT_POLL_SECONDS,
  newGroupGone,
  SLOW_BOOT_AFTER_SECONDS,
} from "./lib/polling.js";

const isHealthyInService = (instance: Instance) =>
  instance.LifecycleState === "InService" && instance.HealthStatus === "Healthy";

/** Why the group is not healthy, for the failure message: the instances and the last failed scaling activity. */
function unhealthyReason(instances: Instance[], desired: number, activities: Activity[]): string {
  const notHealthy = instances
    .filter((instance) => !isHealthyInService(instance))
    .map((instance) => `${instance.InstanceId} ${instance.LifecycleState}/${instance.HealthStatus}`);
  const parts: string[] = [];
  if (notHealthy.length > 0) parts.push(`not healthy: ${listSome(notHealthy)}`);
  if (instances.length < desired) parts.push(`${desired - instances.length} instance(s) never launched`);
  const failed = lastFailedActivity(activities);
  if (failed) parts.push(failed);
  return parts.join("; ");
}

/**
 * How long after its creation a group Auto Scaling does not list is taken for one not listed yet (eventual
 * consistency: 1-5 s in the simulated region, docs/simulator-region.md; the EC2 API guide gives no bound and advises
 * retrying with growing waits), not for one deleted behind the deploy's back: the window Launch gives Auto Scaling
 * to accept a new launch-template version (LAUNCH_TEMPLATE_SETTLE_SECONDS), as generous as the Retry Launch had.
 */
export const GROUP_LISTING_GRACE_SECONDS = LAUNCH_TEMPLATE_SETTLE_SECONDS;

export async function checkGroupHealth(state: DeployState): Promise<GroupHealthResult> {
  const { launch } = state;
  if (!launch) throw new Error("checkGroupHealth needs $.launch");
  // A superseded execution (a late redrive) must not report on, or act for, a deploy it no longer owns.
  await assertLockHeld(state.settings, state.execution.id);
  const now = nowSeconds();
  const group = await describeLiveGroup(launch.groupName);
  if (!group) {
    // Launch does not read back a group it just created: Auto Scaling lists a new one seconds late.
    if (launch.createdAt !== undefined && now - launch.createdAt < GROUP_LISTING_GRACE_SECONDS) {
      return {
        status: "waiting",
        nextPollSeconds: nextPollSeconds({ now, deadline: launch.healthyBy, everySeconds: BOOT_POLL_SECONDS }),
        message: `deploy: new group ${launch.groupName} not listed by Auto Scaling yet (created ${now - launch.createdAt} s ago)`,
        healthy: 0,
        desired: launch.desiredCapacity,
        checkedAt: now,
      };
    }
    return { ...newGroupGone(launch), checkedAt: now };
  }

  const instances = group.Instances ?? [];
  const healthy = instances.filter(isHealthyInService).length;
  // The group's own desired count is the truth; once reached, the live groups' desired now (scaled out since Launch?).
  const groupDesired = group.DesiredCapacity ?? launch.desiredCapacity;
  const desired = healthy >= groupDesired ? await matchLiveCapacity(state, group) : groupDesired;
  const progress = `(${healthy}/${desired})`;
  const result = { healthy, desired, checkedAt: now };

  if (healthy >= desired) {
    const previous = state.groupHealth;
    const createdAt = group.CreatedTime ? Math.floor(group.CreatedTime.getTime() / 1000) : now;
    const from = previous?.status === "waiting" && typeof previous.checkedAt === "number" ? previous.checkedAt : createdAt;
    logger.info("new group healthy", { groupName: launch.groupName, healthy, desired });
    return {
      status: "ready",
      nextPollSeconds: 0,
      message: `deploy: new instance(s) are healthy in the group ${progress}`,
      ...result,
      inServiceWindow: { from: Math.min(from, now), to: now },
    };
  }

  if (now > launch.healthyBy) {
    const reason = unhealthyReason(instances, desired, await recentActivities(launch.groupName));
    return {
      status: "failed",
      nextPollSeconds: 0,
      message: `deploy: new instance(s) not healthy in the group by the deadline ${progress}: ${reason}`,
      ...result,
    };
  }

  // A boot past the usual minute or two: a release whose instances keep failing to launch will never be
  // healthy (Auto Scaling retries forever), so give up now instead of at the deadline.
  const createdAt = group.CreatedTime ? Math.floor(group.CreatedTime.getTime() / 1000) : now;
  const slowBoot = now - createdAt >= SLOW_BOOT_AFTER_SECONDS;
  const inService = instances.some((instance) => instance.LifecycleState === "InService");
  if (slowBoot && !inService) {
    const activities = await recentActivities(launch.groupName);
    const failed = failedActivities(activities);
    if (failed.length >= FAILED_LAUNCHES_TO_GIVE_UP)
      return {
        status: "failed",
        nextPollSeconds: 0,
        message:
          `deploy: new instance(s) keep failing to launch (${failed.length} failed launches, none in service) ${progress}: ` +
          unhealthyReason(instances, desired, activities),
        ...result,
      };
  }

  // Booting instances turn InService within seconds to a minute; replacing an unhealthy one takes minutes,
  // and so does a boot that has already taken longer than usual.
  const booting =
    instances.some((instance) => instance.LifecycleState?.startsWith("Pending")) ||
    instances.filter((instance) => !instance.LifecycleState?.startsWith("Terminat")).length < desired;
  const everySeconds = booting && !slowBoot ? BOOT_POLL_SECONDS : REPLACEMENT_POLL_SECONDS;
  return {
    status: "waiting",
    nextPollSeconds: nextPollSeconds({ now, deadline: launch.healthyBy, everySeconds }),
    message: `deploy: ensuring new instance(s) are healthy in the group ${progress}`,
    ...result,
  };
}

export const handler = stageHandler(checkGroupHealth);
