/**
 * The Auto Scaling groups of an environment: finding them, reading them, scaling them to zero and deleting
 * them. Every stage that touches a group goes through here, so each action exists once.
 */
import {
  type AutoScalingGroup,
  DeleteAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
  paginateDescribeAutoScalingGroups,
  UpdateAutoScalingGroupCommand,
} from "@aws-sdk/client-auto-scaling";
import { autoScaling } from "./clients.js";
import type { EnvironmentSettings, GroupSnapshot } from "./contract.js";
import { errorMessage, GROUP_BUSY_CODES, hasErrorCode, StillInUseError } from "./errors.js";
import { logger } from "./logger.js";
import { TAG } from "./names.js";

/** DescribeAutoScalingGroups accepts at most 50 names per call and returns at most 100 groups per page. */
export const GROUP_NAMES_PER_CALL = 50;

export function tagValue(tags: { Key?: string; Value?: string }[] | undefined, key: string): string | undefined {
  return tags?.find((t) => t.Key === key)?.Value;
}

/** Every Auto Scaling group this project created for the environment (tag filters, all pages). */
export function describeEnvironmentGroups(settings: Pick<EnvironmentSettings, "app" | "environment">): Promise<AutoScalingGroup[]> {
  return describeTaggedGroups([
    { Name: `tag:${TAG.app}`, Values: [settings.app] },
    { Name: `tag:${TAG.environment}`, Values: [settings.environment] },
  ]);
}

/** Every Auto Scaling group this project created for the app, in any environment of this account and region. */
export function describeAppGroups(app: string): Promise<AutoScalingGroup[]> {
  return describeTaggedGroups([{ Name: `tag:${TAG.app}`, Values: [app] }]);
}

async function describeTaggedGroups(filters: { Name: string; Values: string[] }[]): Promise<AutoScalingGroup[]> {
  const groups: AutoScalingGroup[] = [];
  const pages = paginateDescribeAutoScalingGroups({ client: autoScaling, pageSize: 100 }, { Filters: filters });
  for await (const page of pages) groups.push(...(page.AutoScalingGroups ?? []));
  return groups;
}

/** The named groups that exist (missing names are simply absent), batched 50 names per call. */
export async function describeGroupsByName(names: string[]): Promise<AutoScalingGroup[]> {
  const groups: AutoScalingGroup[] = [];
  for (let i = 0; i < names.length; i += GROUP_NAMES_PER_CALL) {
    const batch = names.slice(i, i + GROUP_NAMES_PER_CALL);
    let token: string | undefined;
    do {
      const page = await autoScaling.send(
        new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: batch, NextToken: token, MaxRecords: 100 }),
      );
      groups.push(...(page.AutoScalingGroups ?? []));
      token = page.NextToken;
    } while (token);
  }
  return groups;
}

/** The named group as described now; undefined when it is gone or being deleted. */
export async function describeLiveGroup(name: string): Promise<AutoScalingGroup | undefined> {
  const [group] = await describeGroupsByName([name]);
  return group && !isBeingDeleted(group) ? group : undefined;
}

/** A group being deleted (`Status: "Delete in progress"`) is no longer live. */
export function isBeingDeleted(group: AutoScalingGroup): boolean {
  return typeof group.Status === "string" && group.Status.toLowerCase().startsWith("delete");
}

/** Auto Scaling's answer for a group that does not exist (any more): a ValidationError "... not found". */
export function isGroupNotFound(error: unknown): boolean {
  return hasErrorCode(error, "ValidationError") && /not found/i.test(errorMessage(error));
}

export function snapshotGroup(group: AutoScalingGroup): GroupSnapshot {
  return {
    name: group.AutoScalingGroupName ?? "",
    min: group.MinSize ?? 0,
    desired: group.DesiredCapacity ?? 0,
    max: group.MaxSize ?? 0,
    release: tagValue(group.Tags, TAG.release),
    launchTemplateVersion: group.LaunchTemplate?.Version,
  };
}

/** Scales groups to 0 (Max stays), skipping those already there; a group gone meanwhile is fine. */
export async function scaleGroupsToZero(groups: AutoScalingGroup[]): Promise<string[]> {
  const scaled: string[] = [];
  for (const group of groups) {
    const name = group.AutoScalingGroupName ?? "";
    if ((group.MinSize ?? 0) === 0 && (group.DesiredCapacity ?? 0) === 0) continue;
    try {
      await autoScaling.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: name, MinSize: 0, DesiredCapacity: 0 }));
      scaled.push(name);
      logger.info("scaled group to 0", { groupName: name });
    } catch (error) {
      if (!isGroupNotFound(error)) throw error;
      logger.info("group already gone", { groupName: name });
    }
  }
  return scaled;
}

/**
 * Deletes a group; one already gone is fine. Without `force`, AWS refuses while instances remain or a
 * scaling activity runs, so a group that still (or again) serves is never torn down with its instances: the
 * refusal becomes `StillInUseError`, which the state machine retries. `force` terminates its instances too
 * (only for a group that never served: a rollback's new group).
 */
export async function deleteGroup(name: string, options: { force?: boolean } = {}): Promise<void> {
  try {
    await autoScaling.send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: name, ...(options.force && { ForceDelete: true }) }));
    logger.info("deleted group", { groupName: name, force: options.force ?? false });
  } catch (error) {
    if (isGroupNotFound(error)) return;
    if (hasErrorCode(error, ...GROUP_BUSY_CODES)) {
      throw new StillInUseError(`group ${name} cannot be deleted yet: ${errorMessage(error)}`, { cause: error });
    }
    throw error;
  }
}
