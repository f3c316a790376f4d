import {
  type AutoScalingGroup,
  DescribeAutoScalingGroupsCommand,
  paginateDescribeAutoScalingGroups,
} from "@aws-sdk/client-auto-scaling";
import { autoScaling } from "./clients.js";
import type { EnvironmentSettings, GroupSnapshot } from "./contract.js";
import { TAG } from "./names.js";

/** DescribeAutoScalingGroups accepts at most 50 names per call and returns at most 100 groups per page. */
export const GROUP_NAMES_PER_CALL = 50;

export function tagValue(tags: { Key?: string; Value?: string }[] | undefined, key: string): string | undefined {
  return tags?.find((t) => t.Key === key)?.Value;
}

/** Every Auto Scaling group this project created for the environment (tag filters, all pages). */
export async function describeEnvironmentGroups(settings: EnvironmentSettings): Promise<AutoScalingGroup[]> {
  const groups: AutoScalingGroup[] = [];
  const pages = paginateDescribeAutoScalingGroups(
    { client: autoScaling, pageSize: 100 },
    {
      Filters: [
        { Name: `tag:${TAG.app}`, Values: [settings.app] },
        { Name: `tag:${TAG.environment}`, Values: [settings.environment] },
      ],
    },
  );
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

/** A group being deleted (`Status: "Delete in progress"`) is no longer live. */
export function isBeingDeleted(group: AutoScalingGroup): boolean {
  return typeof group.Status === "string" && group.Status.toLowerCase().startsWith("delete");
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
