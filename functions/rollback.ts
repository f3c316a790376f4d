import type { AutoScalingGroup } from "@aws-sdk/client-auto-scaling";
import type { DeployState, GroupSnapshot, RollbackResult } from "./lib/contract.js";
import { NotYetVisibleError } from "./lib/errors.js";
import { deleteGroup, describeGroupsByName, isBeingDeleted, resizeGroup } from "./lib/groups.js";
import { stageHandler } from "./lib/handler.js";
import { deleteLaunchTemplateVersions, launchTemplateVersionDescription, listLaunchTemplateVersions } from "./lib/launchTemplates.js";
import { attachGroup, detachGroup, isAttached } from "./lib/loadBalancer.js";
import { logger } from "./lib/logger.js";

const hasInService = (group: AutoScalingGroup) =>
  (group.Instances ?? []).some((instance) => instance.LifecycleState === "InService");

/** Back at least at the recorded capacity, attached to the load balancer. Never lowers anything. */
async function restoreGroup(state: DeployState, group: AutoScalingGroup, snapshot: GroupSnapshot): Promise<void> {
  const name = snapshot.name;
  const { loadBalancer } = state.settings;
  const min = Math.max(group.MinSize ?? 0, snapshot.min);
  const desired = Math.max(group.DesiredCapacity ?? 0, snapshot.desired);
  const max = Math.max(group.MaxSize ?? 0, snapshot.max, desired);
  if (min !== group.MinSize || desired !== group.DesiredCapacity || max !== group.MaxSize) {
    await resizeGroup(name, { min, desired, max });
    logger.info("restored old group capacity", { groupName: name, min, desired, max });
  }
  if (!isAttached(group, loadBalancer)) {
    await attachGroup(name, loadBalancer);
    logger.info("re-attached old group to the load balancer", { groupName: name });
  }
}

/**
 * Deletes the new group with ForceDelete: it is removed in one step, without a wait loop, while the old
 * groups carry the traffic. It is detached first, so the load balancer stops routing to it before its
 * instances terminate; in the usual rollback (release never healthy) no request ever reached it.
 */
async function deleteNewGroup(state: DeployState, group: AutoScalingGroup): Promise<void> {
  const name = group.AutoScalingGroupName ?? "";
  if (isAttached(group, state.settings.loadBalancer)) await detachGroup(name, state.settings.loadBalancer);
  await deleteGroup(name, { force: true });
}

/**
 * Puts the environment back as Prepare found it: the old groups attached and at their recorded capacity
 * (restored first, so serving never depends on the group being removed), then the new group and its
 * launch-template version deleted. Idempotent: every step checks before it acts, so a re-run after a crash
 * half-way finishes the job. One exception keeps the environment serving: when the old groups no longer
 * serve (retired or gone) but the new group does, the new group is kept and left for the next deploy.
 */
export async function rollback(state: DeployState): Promise<RollbackResult> {
  const { plan, settings } = state;
  if (!plan) return { restoredGroups: [], message: "rollback: nothing launched, nothing to roll back" };
  const newGroupName = plan.groupName;
  const snapshots = plan.liveGroups.filter((snapshot) => snapshot.name !== newGroupName);
  const described = await describeGroupsByName([...snapshots.map((snapshot) => snapshot.name), newGroupName]);
  const byName = new Map(described.map((group) => [group.AutoScalingGroupName, group]));

  const oldGroups = snapshots.flatMap((snapshot) => {
    const group = byName.get(snapshot.name);
    return group && !isBeingDeleted(group) ? [{ group, snapshot }] : [];
  });
  const oldServing = oldGroups.some(({ group }) => isAttached(group, settings.loadBalancer) && hasInService(group));
  for (const { group, snapshot } of oldGroups) await restoreGroup(state, group, snapshot);
  const restoredGroups = oldGroups.map(({ snapshot }) => snapshot.name);

  const newGroup = byName.get(newGroupName);
  if (newGroup && !isBeingDeleted(newGroup) && snapshots.length > 0 && !oldServing && hasInService(newGroup)) {
    logger.warn("keeping the new group: the old groups were not serving", { newGroupName, restoredGroups });
    return {
      restoredGroups,
      keptGroup: newGroupName,
      message:
        `rollback: kept ${newGroupName} (the old groups no longer served traffic); ` +
        `restored ${restoredGroups.join(", ") || "no group"}; the next deploy retires the extra group`,
    };
  }

  let deletedGroup: string | undefined;
  if (newGroup) {
    if (!isBeingDeleted(newGroup)) await deleteNewGroup(state, newGroup);
    deletedGroup = newGroupName;
  } else if (await deleteGroup(newGroupName, { force: true })) {
    // Not listed yet (Auto Scaling lists a new group only after a while) but a delete by its deterministic name
    // finds it; created moments ago, it has not served. Which launch-template version it was pinned to shows
    // once it is listed: this task is retried (NotYetVisible) and cleans that version up on a later run.
    throw new NotYetVisibleError(`rollback: ${newGroupName} exists but is not listed yet; deleting it, then its launch template version`);
  }

  const description = launchTemplateVersionDescription(newGroupName);
  const listed = (await listLaunchTemplateVersions(settings.launchTemplateId))
    .filter((version) => version.VersionDescription === description && !version.DefaultVersion)
    .map((version) => String(version.VersionNumber));
  // The version the new group was pinned to, even when DescribeLaunchTemplateVersions does not list it yet.
  const pinned = newGroup?.LaunchTemplate;
  const pinnedVersion = pinned?.LaunchTemplateId === settings.launchTemplateId && /^\d+$/.test(pinned.Version ?? "") ? pinned.Version : undefined;
  const versions = [...new Set([...listed, ...(pinnedVersion ? [pinnedVersion] : [])])];
  const deletedVersions = await deleteLaunchTemplateVersions(settings.launchTemplateId, versions);

  const parts = [
    deletedGroup ? `deleted ${deletedGroup}` : `${newGroupName} was never created`,
    deletedVersions.length > 0 ? `deleted launch template version(s) ${deletedVersions.join(", ")}` : undefined,
    restoredGroups.length > 0 ? `restored ${restoredGroups.join(", ")}` : "no old group to restore",
  ].filter((part) => part !== undefined);
  return { restoredGroups, deletedGroup, message: `rollback: ${parts.join("; ")}` };
}

export const handler = stageHandler(rollback);
