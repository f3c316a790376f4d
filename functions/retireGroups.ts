import type { AutoScalingGroup } from "@aws-sdk/client-auto-scaling";
import { nowSeconds } from "./lib/clock.js";
import type { DeployState, RetirementResult } from "./lib/contract.js";
import { releaseScaleIn } from "./lib/groupConfiguration.js";
import { describeGroupsByName, isBeingDeleted, terminationHooks } from "./lib/groups.js";
import { stageHandler } from "./lib/handler.js";
import { attachedTargets, describeLoadBalancer, detachGroup, isAttached } from "./lib/loadBalancer.js";
import { logger } from "./lib/logger.js";
import { assertLockHeld } from "./lib/lock.js";
import { emptyGroups, leftTheLoadBalancer } from "./lib/retirement.js";

const hasRunningInstances = (group: AutoScalingGroup) =>
  (group.Instances ?? []).some((instance) => !instance.LifecycleState?.startsWith("Terminat"));

/**
 * Takes the old groups out of the load balancer so their instances drain, and scales them to 0 once draining
 * is over. Terminating an instance the moment it is detached would cut its in-flight requests (a detached
 * group's scale-in no longer waits for the deregistration delay), so the scale-in happens here only when
 * nothing drains, otherwise in checkRetired after `drainedBy`.
 */
export async function retireGroups(state: DeployState): Promise<RetirementResult> {
  const { plan, settings } = state;
  if (!plan) throw new Error("retireGroups needs $.plan");
  const newGroupName = state.launch?.groupName ?? plan.groupName;
  const oldNames = plan.liveGroups.map((group) => group.name).filter((name) => name !== newGroupName);
  // A redriven execution whose lock another deploy took over must not retire that deploy's groups.
  await assertLockHeld(settings, state.execution.id);
  const groups = (await describeGroupsByName(oldNames)).filter((group) => !isBeingDeleted(group));

  let draining = false;
  // A classic ELB's cutover took the old groups out of the load balancer when it went to 100 %: they drained then.
  const detachedByCutover = settings.loadBalancer.kind === "classic" && state.cutover?.percent === 100 ? state.cutover.percentSince : undefined;
  let drainFrom = detachedByCutover ?? 0;
  for (const group of groups) {
    const name = group.AutoScalingGroupName ?? "";
    if (isAttached(group, settings.loadBalancer)) {
      await detachGroup(group, settings.loadBalancer);
      logger.info("detached old group", { groupName: name, from: attachedTargets(group, settings.loadBalancer).map(describeLoadBalancer) });
      draining = true;
      drainFrom = nowSeconds();
    } else if (hasRunningInstances(group) && (group.DesiredCapacity ?? 0) > 0) {
      // Detached by the cutover (classic ELB), or by an earlier run of this stage (redrive) at a time we no longer
      // know: then drain in full again.
      draining = true;
      drainFrom = Math.max(drainFrom, detachedByCutover ?? nowSeconds());
    }
  }

  // The new group now carries all traffic: its policies act again. The old groups keep the deploy's hold until they
  // are deleted: it holds only AlarmNotification and ScheduledActions, and only suspending Launch or Terminate keeps
  // a group from scaling ("If you suspend either the Launch or Terminate process types, it can prevent other process
  // types from functioning properly", SuspendProcesses API reference), so they empty all the same, and no schedule
  // or alarm launches instances into a group being retired.
  await releaseScaleIn([newGroupName]);
  // Each terminating instance may wait for the groups' termination hooks (an operator's drain script, say) as
  // long as their heartbeat timeout: the bound allows for the longest one on top of `retireSeconds`.
  const names = groups.map((group) => group.AutoScalingGroupName ?? "");
  const hooks = await terminationHooks(names);
  const hookSeconds = Math.max(0, ...hooks.map((hook) => hook.heartbeatTimeout));
  const now = nowSeconds();
  let drainedBy = draining ? Math.max(now, drainFrom + settings.drainingSeconds) : now;
  // Nothing in flight: the load balancer has let the instances go already (usually within the second of the detach,
  // checkRetired.ts); then they are scaled in now, not at the first check, and the wait is for termination only.
  if (drainedBy > now && (await leftTheLoadBalancer(settings.loadBalancer, groups))) drainedBy = now;
  if (drainedBy <= now) await emptyGroups(names, groups);
  return {
    groups: names,
    drainedBy,
    retiredBy: drainedBy + hookSeconds + settings.timeouts.retireSeconds,
    ...(hooks.length > 0 && { terminationHooks: hooks }),
  };
}

export const handler = stageHandler(retireGroups);
