import type { AutoScalingGroup } from "@aws-sdk/client-auto-scaling";
import type { LaunchTemplateVersion } from "@aws-sdk/client-ec2";
import { nowSeconds } from "./lib/clock.js";
import type { DeployState, GroupSnapshot, RollbackResult } from "./lib/contract.js";
import { NotYetVisibleError } from "./lib/errors.js";
import { releaseScaleIn } from "./lib/groupConfiguration.js";
import { deleteGroup, describeGroupsByName, isBeingDeleted, resizeGroup, tagValue } from "./lib/groups.js";
import { stageHandler } from "./lib/handler.js";
import { deleteLaunchTemplateVersions, launchTemplateVersionDescription, listLaunchTemplateVersions } from "./lib/launchTemplates.js";
import { attachGroup, detachGroup, hasInServiceInstances, isAttached, isServing, targetById, targetId, trafficTargets } from "./lib/loadBalancer.js";
import { assertLockHeld } from "./lib/lock.js";
import { otherTargetGroup, routeAllTo } from "./lib/trafficRule.js";
import { logger } from "./lib/logger.js";
import { TAG } from "./lib/names.js";

/**
 * How long after its launch-template version was created a new group may still be missing from Auto Scaling's
 * answers (eventual consistency) before the rollback may conclude it was never created. Until then the rollback
 * fails with `NotYetVisible`, which the state machine retries (minutes of budget, stacks/pipeline/definition.ts).
 */
export const NEW_GROUP_VISIBLE_WITHIN_SECONDS = 300;

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
    const target = snapshot.target ? targetById(loadBalancer, snapshot.target) : trafficTargets(loadBalancer)[0];
    await attachGroup(name, target);
    logger.info("re-attached old group to the load balancer", { groupName: name, target: targetId(target) });
  }
}

/**
 * Deletes the new group with ForceDelete: it is removed in one step, without a wait loop, while the old
 * groups carry the traffic. It is detached first, so the load balancer stops routing to it before its
 * instances terminate; in the usual rollback (release never healthy) no request ever reached it.
 */
async function deleteNewGroup(state: DeployState, group: AutoScalingGroup): Promise<void> {
  const name = group.AutoScalingGroupName ?? "";
  await detachGroup(group, state.settings.loadBalancer);
  await deleteGroup(name, { force: true });
}

/**
 * The new group when Auto Scaling does not list it: a force-delete by its deterministic name finds it if it
 * exists (the name carries a hash of this execution's ARN, so it is no one else's group). When even that finds
 * nothing, the group was never created, unless its launch-template version is recent enough that Auto Scaling
 * may simply not show the group yet: then `NotYetVisible`, and the state machine asks again.
 */
async function deleteUnlistedNewGroup(groupName: string, versions: LaunchTemplateVersion[]): Promise<boolean> {
  if (await deleteGroup(groupName, { force: true })) return true;
  const createdAt = Math.max(0, ...versions.map((version) => Math.floor((version.CreateTime?.getTime() ?? 0) / 1000)));
  const age = nowSeconds() - createdAt;
  if (versions.length > 0 && age < NEW_GROUP_VISIBLE_WITHIN_SECONDS) {
    throw new NotYetVisibleError(
      `rollback: ${groupName} is not visible to Auto Scaling, but its launch template version was created ${age} s ago; ` +
        `asking again until ${NEW_GROUP_VISIBLE_WITHIN_SECONDS} s after that before concluding it was never created`,
    );
  }
  return false;
}

/**
 * Puts the environment back as Prepare found it: exactly the groups that were attached and serving then, at
 * least at their capacity then (restored first, so serving never depends on the group being removed); then the
 * new group and its launch-template version deleted. A group an earlier deploy retired or left detached is not
 * touched: the next successful deploy retires it. Idempotent: every step checks before it acts, so a re-run after
 * a crash half-way finishes the job. One exception keeps the environment serving: when none of the groups to
 * restore serves (gone, or emptied by hand) but the new group does, the new group is kept for the next deploy.
 */
export async function rollback(state: DeployState): Promise<RollbackResult> {
  const { plan, settings } = state;
  if (!plan) return { restoredGroups: [], message: "rollback: nothing launched, nothing to roll back" };
  await assertLockHeld(settings, state.execution.id);
  const newGroupName = plan.groupName;
  const toRestore = plan.liveGroups.filter((snapshot) => snapshot.name !== newGroupName && snapshot.serving !== false);
  const leftAlone = plan.liveGroups.filter((snapshot) => snapshot.name !== newGroupName && snapshot.serving === false);
  const described = await describeGroupsByName([...toRestore.map((snapshot) => snapshot.name), newGroupName]);
  const byName = new Map(described.map((group) => [group.AutoScalingGroupName, group]));

  const oldGroups = toRestore.flatMap((snapshot) => {
    const group = byName.get(snapshot.name);
    return group && !isBeingDeleted(group) ? [{ group, snapshot }] : [];
  });
  const oldServing = oldGroups.some(({ group }) => isServing(group, settings.loadBalancer));
  for (const { group, snapshot } of oldGroups) await restoreGroup(state, group, snapshot);
  const restoredGroups = oldGroups.map(({ snapshot }) => snapshot.name);
  const untouched = leftAlone.length > 0 ? `left ${leftAlone.map((s) => s.name).join(", ")} as it was (not serving when the deploy started)` : undefined;

  const listed = byName.get(newGroupName);
  const owner = listed && tagValue(listed.Tags, TAG.execution);
  if (listed && owner !== undefined && owner !== state.execution.id) {
    // Never ours to delete (the name is derived from our ARN, so this would take a hash collision or a hand-made group).
    logger.warn("a group with the new group's name belongs to another execution: left alone", { newGroupName, owner });
  }
  const newGroup = listed && (owner === undefined || owner === state.execution.id) ? listed : undefined;
  // Launch held the scaling of every group Prepare found (serving or not) and of the new group: all of it ends here,
  // so each group's policies and processes are as they were (a group left alone included), a kept new group's too.
  await releaseScaleIn([...plan.liveGroups.map((snapshot) => snapshot.name), ...(newGroup ? [newGroupName] : [])]);
  const keepNew = Boolean(newGroup && !isBeingDeleted(newGroup) && toRestore.length > 0 && !oldServing && hasInServiceInstances(newGroup));
  // ALB: every request to the target group of the groups that stay (a breach during the cutover switched back already;
  // any other failure there did not). Before the new group goes, so the site never routes to a group being deleted.
  const { loadBalancer } = settings;
  if (loadBalancer.kind === "application" && state.launch?.target) {
    const keep = keepNew ? state.launch.target : otherTargetGroup(loadBalancer, state.launch.target);
    if (await routeAllTo(loadBalancer, keep)) logger.info("rollback: all traffic back on the target group that stays", { targetGroup: keep });
  }
  if (keepNew) {
    logger.warn("keeping the new group: the groups to restore were not serving", { newGroupName, restoredGroups });
    return {
      restoredGroups,
      keptGroup: newGroupName,
      message: [
        `rollback: kept ${newGroupName} (the groups that served before the deploy no longer served traffic)`,
        `restored ${restoredGroups.join(", ") || "no group"}`,
        untouched,
        "the next deploy retires the extra group",
      ]
        .filter(Boolean)
        .join("; "),
    };
  }

  const description = launchTemplateVersionDescription(newGroupName);
  // Launch creates the new group's version from $.image: listing only that image's versions finds it without
  // reading the template's whole history (up to 10,000 versions). No image: nothing launched, list them all.
  const imageId = state.image?.imageId;
  const filters = imageId ? [{ Name: "image-id", Values: [imageId] }] : undefined;
  const versions = (await listLaunchTemplateVersions(settings.launchTemplateId, filters)).filter(
    (version) => version.VersionDescription === description && !version.DefaultVersion,
  );
  let deletedGroup: string | undefined;
  if (newGroup) {
    if (!isBeingDeleted(newGroup)) await deleteNewGroup(state, newGroup);
    deletedGroup = newGroupName;
  } else if (!listed && (await deleteUnlistedNewGroup(newGroupName, versions))) {
    deletedGroup = newGroupName;
  }

  // The version the new group was pinned to, even when DescribeLaunchTemplateVersions does not list it yet.
  const pinned = newGroup?.LaunchTemplate;
  const pinnedVersion = pinned?.LaunchTemplateId === settings.launchTemplateId && /^\d+$/.test(pinned.Version ?? "") ? pinned.Version : undefined;
  const versionNumbers = [...new Set([...versions.map((version) => String(version.VersionNumber)), ...(pinnedVersion ? [pinnedVersion] : [])])];
  const deletedVersions = await deleteLaunchTemplateVersions(settings.launchTemplateId, versionNumbers);

  const parts = [
    deletedGroup ? `deleted ${deletedGroup}` : `${newGroupName} was never created`,
    deletedVersions.length > 0 ? `deleted launch template version(s) ${deletedVersions.join(", ")}` : undefined,
    restoredGroups.length > 0 ? `restored ${restoredGroups.join(", ")}` : "no serving group to restore",
    untouched,
  ].filter((part) => part !== undefined);
  return { restoredGroups, deletedGroup, message: `rollback: ${parts.join("; ")}` };
}

export const handler = stageHandler(rollback);
