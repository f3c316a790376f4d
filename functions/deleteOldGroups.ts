import { type AutoScalingGroup, DeleteAutoScalingGroupCommand } from "@aws-sdk/client-auto-scaling";
import { DeleteLaunchTemplateVersionsCommand } from "@aws-sdk/client-ec2";
import { autoScaling, ec2 } from "./lib/clients.js";
import type { CleanupResult, DeployState, EnvironmentSettings } from "./lib/contract.js";
import { hasErrorCode, StillInUseError } from "./lib/errors.js";
import { describeEnvironmentGroups, describeGroupsByName, isBeingDeleted } from "./lib/groups.js";
import { stageHandler } from "./lib/handler.js";
import { isGroupNotFound } from "./lib/loadBalancer.js";
import { logger } from "./lib/logger.js";
import { groupNameOfVersion, listLaunchTemplateVersions } from "./launchReleaseGroup.js";

/** DeleteLaunchTemplateVersions takes at most 200 versions per call. */
const LAUNCH_TEMPLATE_VERSIONS_PER_DELETE = 200;

/**
 * Deletes a group without ForceDelete: AWS then refuses while instances remain or a scaling activity runs,
 * so a group that still (or again) serves is never torn down with its instances. The refusal is
 * StillInUseError, retried by the state machine. A group already gone, or being deleted, is fine.
 */
export async function deleteGroup(name: string): Promise<void> {
  try {
    await autoScaling.send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: name }));
    logger.info("deleted group", { groupName: name });
  } catch (error) {
    if (isGroupNotFound(error)) return;
    if (hasErrorCode(error, "ScalingActivityInProgressFault", "ScalingActivityInProgress", "ResourceInUseFault", "ResourceInUse")) {
      throw new StillInUseError(`group ${name} cannot be deleted yet: ${(error as Error).message}`, { cause: error });
    }
    throw error;
  }
}

/** Deletes launch-template versions in batches; a version already gone counts as deleted. */
export async function deleteLaunchTemplateVersions(launchTemplateId: string, versions: string[]): Promise<string[]> {
  const deleted: string[] = [];
  for (let i = 0; i < versions.length; i += LAUNCH_TEMPLATE_VERSIONS_PER_DELETE) {
    const batch = versions.slice(i, i + LAUNCH_TEMPLATE_VERSIONS_PER_DELETE);
    const answer = await ec2.send(new DeleteLaunchTemplateVersionsCommand({ LaunchTemplateId: launchTemplateId, Versions: batch }));
    for (const item of answer.SuccessfullyDeletedLaunchTemplateVersions ?? []) deleted.push(String(item.VersionNumber));
    for (const item of answer.UnsuccessfullyDeletedLaunchTemplateVersions ?? []) {
      if (item.ResponseError?.Code === "launchTemplateVersionDoesNotExist") deleted.push(String(item.VersionNumber));
      // Anything else stays for the next deploy's cleanup: a leftover version must not fail a deploy that works.
      else logger.warn("launch template version not deleted", { version: item.VersionNumber, error: item.ResponseError });
    }
  }
  return deleted;
}

function versionsUsedBy(groups: AutoScalingGroup[], launchTemplateId: string): string[] {
  return groups.flatMap((group) => {
    const specifications = [
      group.LaunchTemplate,
      group.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification,
    ];
    return specifications
      .filter((spec) => spec?.LaunchTemplateId === launchTemplateId && spec.Version)
      .map((spec) => spec?.Version ?? "");
  });
}

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

export async function deleteOldGroups(state: DeployState): Promise<CleanupResult> {
  const { retirement, settings } = state;
  if (!retirement) throw new Error("deleteOldGroups needs $.retirement");
  const newGroupName = state.launch?.groupName ?? state.plan?.groupName;
  const oldNames = retirement.groups.filter((name) => name !== newGroupName);

  for (const group of await describeGroupsByName(oldNames)) {
    if (!isBeingDeleted(group)) await deleteGroup(group.AutoScalingGroupName ?? "");
  }

  const keep = state.launch ? [state.launch.launchTemplateVersion] : [];
  const unused = await unusedLaunchTemplateVersions(settings, keep);
  const deletedLaunchTemplateVersions = await deleteLaunchTemplateVersions(settings.launchTemplateId, unused);
  logger.info("cleaned up old groups", { groups: oldNames, deletedLaunchTemplateVersions });
  // Every retired group is gone or going now, also on a re-run that found nothing left to delete.
  return { deletedGroups: oldNames, deletedLaunchTemplateVersions };
}

export const handler = stageHandler(deleteOldGroups);
