/**
 * The environment's launch template and the versions this project creates on it, one per release group
 * (described `immutable-deploy group <group name>`): listing, which versions a group uses, deleting.
 */
import type { AutoScalingGroup, LaunchTemplateSpecification } from "@aws-sdk/client-auto-scaling";
import {
  DeleteLaunchTemplateVersionsCommand,
  DescribeLaunchTemplateVersionsCommand,
  type Filter,
  type LaunchTemplateVersion,
} from "@aws-sdk/client-ec2";
import { ec2 } from "./clients.js";
import { LAUNCH_TEMPLATE_VERSION_GONE_CODES } from "./errors.js";
import { logger } from "./logger.js";
import { PROJECT } from "./names.js";

/** Launch-template versions this project creates say which group they are for: found again on re-run, cleaned up after. */
export const LAUNCH_TEMPLATE_VERSION_PREFIX = `${PROJECT} group `;

/** DescribeLaunchTemplateVersions returns at most 200 versions per page; DeleteLaunchTemplateVersions takes 200. */
export const LAUNCH_TEMPLATE_VERSIONS_PER_CALL = 200;

export function launchTemplateVersionDescription(groupName: string): string {
  return `${LAUNCH_TEMPLATE_VERSION_PREFIX}${groupName}`;
}

/** The group a version was created for, or undefined when this project did not create it. */
export function groupNameOfVersion(version: LaunchTemplateVersion): string | undefined {
  const description = version.VersionDescription ?? "";
  return description.startsWith(LAUNCH_TEMPLATE_VERSION_PREFIX)
    ? description.slice(LAUNCH_TEMPLATE_VERSION_PREFIX.length)
    : undefined;
}

/** Every version of the launch template (all pages), optionally narrowed by EC2 filters. */
export async function listLaunchTemplateVersions(launchTemplateId: string, filters?: Filter[]): Promise<LaunchTemplateVersion[]> {
  const versions: LaunchTemplateVersion[] = [];
  let token: string | undefined;
  do {
    const page = await ec2.send(
      new DescribeLaunchTemplateVersionsCommand({
        LaunchTemplateId: launchTemplateId,
        Filters: filters,
        MaxResults: LAUNCH_TEMPLATE_VERSIONS_PER_CALL,
        NextToken: token,
      }),
    );
    versions.push(...(page.LaunchTemplateVersions ?? []));
    token = page.NextToken;
  } while (token);
  return versions;
}

/**
 * Every launch template a group can launch from: its own, its mixed-instances policy's and overrides', and
 * the ones its current instances were launched from (a group switched to another version keeps those
 * instances until they are replaced).
 */
export function launchTemplatesOf(group: AutoScalingGroup): LaunchTemplateSpecification[] {
  const mixed = group.MixedInstancesPolicy?.LaunchTemplate;
  const specs = [
    group.LaunchTemplate,
    mixed?.LaunchTemplateSpecification,
    ...(mixed?.Overrides ?? []).map((override) => override.LaunchTemplateSpecification),
    ...(group.Instances ?? []).map((instance) => instance.LaunchTemplate),
  ];
  return specs.filter((spec): spec is LaunchTemplateSpecification => Boolean(spec?.LaunchTemplateId || spec?.LaunchTemplateName));
}

/** The versions (`"7"`, `"$Latest"`, `"$Default"`) of `launchTemplateId` that the groups use. */
export function versionsUsedBy(groups: AutoScalingGroup[], launchTemplateId: string): Set<string> {
  return new Set(
    groups
      .flatMap(launchTemplatesOf)
      .filter((spec) => spec.LaunchTemplateId === launchTemplateId)
      .map((spec) => spec.Version ?? "$Default"),
  );
}

/**
 * The versions Delete old groups removes once only `remaining` groups are left: those this project created for a
 * group not among them, but the default version, every version a remaining group uses (`$Latest`: the newest) and
 * `keep` (the new group's, which Auto Scaling may not list yet). Image retention, run while the old groups
 * terminate, counts the same versions as gone.
 */
export function versionsGoneWith(
  versions: LaunchTemplateVersion[],
  remaining: AutoScalingGroup[],
  launchTemplateId: string,
  keep: readonly string[],
): LaunchTemplateVersion[] {
  const remainingNames = new Set(remaining.map((group) => group.AutoScalingGroupName));
  const used = new Set([...versionsUsedBy(remaining, launchTemplateId), ...keep]);
  if (used.has("$Latest")) used.add(String(Math.max(0, ...versions.map((version) => version.VersionNumber ?? 0))));
  return versions.filter((version) => {
    const groupName = groupNameOfVersion(version);
    return groupName !== undefined && !version.DefaultVersion && !remainingNames.has(groupName) && !used.has(String(version.VersionNumber));
  });
}

/** Deletes launch-template versions in batches; a version already gone counts as deleted. */
export async function deleteLaunchTemplateVersions(launchTemplateId: string, versions: string[]): Promise<string[]> {
  const deleted: string[] = [];
  for (let i = 0; i < versions.length; i += LAUNCH_TEMPLATE_VERSIONS_PER_CALL) {
    const batch = versions.slice(i, i + LAUNCH_TEMPLATE_VERSIONS_PER_CALL);
    const answer = await ec2.send(new DeleteLaunchTemplateVersionsCommand({ LaunchTemplateId: launchTemplateId, Versions: batch }));
    for (const item of answer.SuccessfullyDeletedLaunchTemplateVersions ?? []) deleted.push(String(item.VersionNumber));
    for (const item of answer.UnsuccessfullyDeletedLaunchTemplateVersions ?? []) {
      if ((LAUNCH_TEMPLATE_VERSION_GONE_CODES as readonly string[]).includes(item.ResponseError?.Code ?? "")) deleted.push(String(item.VersionNumber));
      // Anything else stays for the next deploy's cleanup: a leftover version must not fail a deploy that works.
      else logger.warn("launch template version not deleted", { version: item.VersionNumber, error: item.ResponseError });
    }
  }
  return deleted;
}
