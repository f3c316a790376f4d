/**
 * The Auto Scaling groups of an environment: finding them, reading them, scaling them to zero and deleting
 * them. Every stage that touches a group goes through here, so each action exists once.
 */
import {
  type Activity,
  type AutoScalingGroup,
  DeleteAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeLifecycleHooksCommand,
  DescribeScalingActivitiesCommand,
  ExitStandbyCommand,
  SetInstanceProtectionCommand,
  paginateDescribeAutoScalingGroups,
  UpdateAutoScalingGroupCommand,
} from "@aws-sdk/client-auto-scaling";
import { autoScaling } from "./clients.js";
import type { EnvironmentSettings, GroupSnapshot, TerminationHook } from "./contract.js";
import { errorMessage, GROUP_BUSY_CODES, hasErrorCode, StillInUseError } from "./errors.js";
import { launchTemplatesOf } from "./launchTemplates.js";
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
    // Its own launch template, or its mixed-instances policy's.
    launchTemplateVersion: launchTemplatesOf(group)[0]?.Version,
  };
}

/** The group's most recent scaling activities, newest first (one call). */
export async function recentActivities(groupName: string): Promise<Activity[]> {
  const answer = await autoScaling.send(new DescribeScalingActivitiesCommand({ AutoScalingGroupName: groupName, MaxRecords: 20 }));
  return answer.Activities ?? [];
}

/** Activities that failed or were cancelled (launches that did not happen), newest first. */
export function failedActivities(activities: Activity[]): Activity[] {
  return activities.filter((activity) => activity.StatusCode === "Failed" || activity.StatusCode === "Cancelled");
}

/** `last failed activity: <status message>`, for failure messages; undefined when none failed. */
export function lastFailedActivity(activities: Activity[]): string | undefined {
  const [failed] = failedActivities(activities);
  return failed ? `last failed activity: ${failed.StatusMessage ?? failed.Description}` : undefined;
}

/**
 * The termination lifecycle hooks of the groups (one DescribeLifecycleHooks per group): each instance the group
 * terminates waits in `Terminating:Wait` until every hook completes or its heartbeat timeout applies the default
 * result (Auto Scaling User Guide, "Amazon EC2 Auto Scaling lifecycle hooks"). A group gone meanwhile has none.
 */
export async function terminationHooks(groupNames: string[]): Promise<TerminationHook[]> {
  const hooks: TerminationHook[] = [];
  for (const group of groupNames) {
    try {
      const answer = await autoScaling.send(new DescribeLifecycleHooksCommand({ AutoScalingGroupName: group }));
      for (const hook of answer.LifecycleHooks ?? []) {
        if (hook.LifecycleTransition !== "autoscaling:EC2_INSTANCE_TERMINATING") continue;
        // PutLifecycleHook's defaults when unset: 3600 s, ABANDON (Auto Scaling API Reference).
        hooks.push({ group, name: hook.LifecycleHookName ?? "", heartbeatTimeout: hook.HeartbeatTimeout ?? 3600, defaultResult: hook.DefaultResult ?? "ABANDON" });
      }
    } catch (error) {
      if (!isGroupNotFound(error)) throw error;
    }
  }
  return hooks;
}

/** SetInstanceProtection and ExitStandby take at most 50 instance ids per call (Auto Scaling API Reference). */
const INSTANCE_IDS_PER_CALL = 50;

async function inBatches(ids: string[], send: (batch: string[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < ids.length; i += INSTANCE_IDS_PER_CALL) await send(ids.slice(i, i + INSTANCE_IDS_PER_CALL));
}

/**
 * Lets a group being retired empty: scale-in protection off its instances (a scale-in to 0 never terminates a
 * protected instance) and Standby instances back in (scale-in never terminates those either; ExitStandby adds them
 * to the desired capacity, which the next scale to 0 removes). Returns what it changed, for the progress message.
 */
export async function releaseHeldInstances(groups: AutoScalingGroup[]): Promise<{ unprotected: string[]; outOfStandby: string[] }> {
  const changed = { unprotected: [] as string[], outOfStandby: [] as string[] };
  for (const group of groups) {
    const name = group.AutoScalingGroupName ?? "";
    const live = (group.Instances ?? []).filter((instance) => !instance.LifecycleState?.startsWith("Terminat"));
    const protectedIds = live.filter((instance) => instance.ProtectedFromScaleIn).map((instance) => instance.InstanceId ?? "");
    const standbyIds = live.filter((instance) => instance.LifecycleState === "Standby").map((instance) => instance.InstanceId ?? "");
    await inBatches(protectedIds, (batch) =>
      autoScaling.send(new SetInstanceProtectionCommand({ AutoScalingGroupName: name, InstanceIds: batch, ProtectedFromScaleIn: false })),
    );
    await inBatches(standbyIds, (batch) => autoScaling.send(new ExitStandbyCommand({ AutoScalingGroupName: name, InstanceIds: batch })));
    changed.unprotected.push(...protectedIds);
    changed.outOfStandby.push(...standbyIds);
    if (protectedIds.length || standbyIds.length) logger.info("released held instances of a retiring group", { groupName: name, protectedIds, standbyIds });
  }
  return changed;
}

/**
 * Sets a group's size (only the bounds given). Auto Scaling refuses while a scaling activity runs
 * (`ScalingActivityInProgress`, which its model lists for UpdateAutoScalingGroup): that refusal becomes
 * `StillInUseError`, which the state machine retries with backoff.
 */
export async function resizeGroup(name: string, size: { min?: number; desired?: number; max?: number }): Promise<void> {
  try {
    await autoScaling.send(
      new UpdateAutoScalingGroupCommand({
        AutoScalingGroupName: name,
        ...(size.min !== undefined && { MinSize: size.min }),
        ...(size.desired !== undefined && { DesiredCapacity: size.desired }),
        ...(size.max !== undefined && { MaxSize: size.max }),
      }),
    );
  } catch (error) {
    if (hasErrorCode(error, ...GROUP_BUSY_CODES)) {
      throw new StillInUseError(`group ${name} cannot be resized yet: ${errorMessage(error)}`, { cause: error });
    }
    throw error;
  }
}

/** Scales groups to 0 (Max stays), skipping those already there; a group gone meanwhile is fine. */
export async function scaleGroupsToZero(groups: AutoScalingGroup[]): Promise<string[]> {
  const scaled: string[] = [];
  for (const group of groups) {
    const name = group.AutoScalingGroupName ?? "";
    if ((group.MinSize ?? 0) === 0 && (group.DesiredCapacity ?? 0) === 0) continue;
    try {
      await resizeGroup(name, { min: 0, desired: 0 });
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
 * Deletes a group; one already gone is fine (false). Without `force`, AWS refuses while instances remain or a
 * scaling activity runs, so a group that still (or again) serves is never torn down with its instances: the
 * refusal becomes `StillInUseError`, which the state machine retries. `force` terminates its instances too
 * (only for a group that never served: a rollback's new group).
 */
export async function deleteGroup(name: string, options: { force?: boolean } = {}): Promise<boolean> {
  try {
    await autoScaling.send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: name, ...(options.force && { ForceDelete: true }) }));
    logger.info("deleted group", { groupName: name, force: options.force ?? false });
    return true;
  } catch (error) {
    if (isGroupNotFound(error)) return false;
    if (hasErrorCode(error, ...GROUP_BUSY_CODES)) {
      throw new StillInUseError(`group ${name} cannot be deleted yet: ${errorMessage(error)}`, { cause: error });
    }
    throw error;
  }
}
