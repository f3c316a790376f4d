import type { CleanupResult, DeployState, EnvironmentSettings } from "./lib/contract.js";
import { deleteOrphanedAlarmCopies } from "./lib/groupConfiguration.js";
import { deleteGroup, describeEnvironmentGroups, describeGroupsByName, isBeingDeleted } from "./lib/groups.js";
import { stageHandler } from "./lib/handler.js";
import { deleteLaunchTemplateVersions, groupNameOfVersion, listLaunchTemplateVersions, versionsUsedBy } from "./lib/launchTemplates.js";
import { assertLockHeld } from "./lib/lock.js";
import { logger } from "./lib/logger.js";

/**
 * Versions this project created for groups that no longer exist. Kept: the default version, every version
 * a remaining group of the environment uses (`$Latest` keeps the newest), and the versions of remaining groups.
 */
async function unusedLaunchTemplateVersions(settings: EnvironmentSettings, keep: string[]): Promise<string[]> {
  const remaining = (await describeEnvironmentGroups(settings)).filter((group) => !isBeingDeleted(group));
  const remainingNames = new Set(remaining.map((group) => group.AutoScalingGroupName));
  const used = new Set([...versionsUsedBy(remaining, settings.launchTemplateId), ...keep]);
  const versions = await listLaunchTemplateVersions(settings.launchTemplateId);
  const newest = Math.max(0, ...versions.map((version) => version.VersionNumber ?? 0));
  if (used.has("$Latest")) used.add(String(newest));
  return versions
    .filter((version) => {
      const groupName = groupNameOfVersion(version);
      return (
        groupName !== undefined &&
        !version.DefaultVersion &&
        !remainingNames.has(groupName) &&
        !used.has(String(version.VersionNumber))
      );
    })
    .map((version) => String(version.VersionNumber));
}

/**
 * Deletes the retired groups *without* ForceDelete (AWS refuses while instances or scaling activities remain:
 * `StillInUse`, retried), then the launch-template versions this project created that nothing uses any more.
 */
export async function deleteOldGroups(state: DeployState): Promise<CleanupResult> {
  const { retirement, settings } = state;
  if (!retirement) throw new Error("deleteOldGroups needs $.retirement");
  // A superseded execution (a late redrive) must not delete what another deploy now owns.
  await assertLockHeld(settings, state.execution.id);
  const newGroupName = state.launch?.groupName ?? state.plan?.groupName;
  const oldNames = retirement.groups.filter((name) => name !== newGroupName);

  for (const group of await describeGroupsByName(oldNames)) {
    if (!isBeingDeleted(group)) await deleteGroup(group.AutoScalingGroupName ?? "");
  }

  await deleteOrphanedAlarmCopies(settings);
  const keep = state.launch ? [state.launch.launchTemplateVersion] : [];
  const unused = await unusedLaunchTemplateVersions(settings, keep);
  const deletedLaunchTemplateVersions = await deleteLaunchTemplateVersions(settings.launchTemplateId, unused);
  logger.info("cleaned up old groups", { groups: oldNames, deletedLaunchTemplateVersions });
  // Every retired group is gone or going now, also on a re-run that found nothing left to delete.
  return { deletedGroups: oldNames, deletedLaunchTemplateVersions };
}

export const handler = stageHandler(deleteOldGroups);
