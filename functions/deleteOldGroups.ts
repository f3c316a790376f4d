import type { CleanupResult, DeployState, EnvironmentSettings } from "./lib/contract.js";
import { deleteOrphanedAlarmCopies } from "./lib/groupConfiguration.js";
import { deleteGroup, describeEnvironmentGroups, describeGroupsByName, isBeingDeleted } from "./lib/groups.js";
import { stageHandler } from "./lib/handler.js";
import { deleteLaunchTemplateVersions, listLaunchTemplateVersions, versionsGoneWith } from "./lib/launchTemplates.js";
import { assertLockHeld } from "./lib/lock.js";
import { logger } from "./lib/logger.js";

/** The launch-template versions nothing uses once the groups being deleted are gone (`versionsGoneWith`). */
async function unusedLaunchTemplateVersions(settings: EnvironmentSettings, keep: string[]): Promise<string[]> {
  const remaining = (await describeEnvironmentGroups(settings)).filter((group) => !isBeingDeleted(group));
  const versions = await listLaunchTemplateVersions(settings.launchTemplateId);
  return versionsGoneWith(versions, remaining, settings.launchTemplateId, keep).map((version) => String(version.VersionNumber));
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
