import "aws-sdk-client-mock-vitest/extend";
import {
  type AutoScalingGroup,
  AutoScalingClient,
  DeleteAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeLifecycleHooksCommand,
  DescribeScalingActivitiesCommand,
  ExitStandbyCommand,
  type Instance,
  SetInstanceProtectionCommand,
  UpdateAutoScalingGroupCommand,
} from "@aws-sdk/client-auto-scaling";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import {
  deleteGroup,
  describeAppGroups,
  describeEnvironmentGroups,
  describeGroupsByName,
  describeLiveGroup,
  failedActivities,
  isBeingDeleted,
  isGroupNotFound,
  lastFailedActivity,
  recentActivities,
  releaseHeldInstances,
  resizeGroup,
  scaleGroupsToZero,
  snapshotGroup,
  tagValue,
  terminationHooks,
} from "../../../functions/lib/groups.js";
import { StillInUseError } from "../../../functions/lib/errors.js";
import { TAG } from "../../../functions/lib/names.js";
import { awsError } from "../fixtures.js";

const autoScalingMock = mockClient(AutoScalingClient);
const notFound = () => awsError("ValidationError", "AutoScalingGroup name not found - AutoScalingGroup x not found");
const busy = () => awsError("ScalingActivityInProgressFault", "Scaling activity 1234 is in progress and blocks this action");
const names = (count: number) => Array.from({ length: count }, (_, i) => `group-${i}`);
const ids = (count: number, prefix = "i-") => Array.from({ length: count }, (_, i) => `${prefix}${i}`);

beforeEach(() => {
  autoScalingMock.reset();
});

describe("tags and states", () => {
  it("reads a tag's value, none without tags", () => {
    expect(tagValue([{ Key: "a", Value: "1" }, { Key: "b", Value: "2" }], "b")).toBe("2");
    expect(tagValue([{ Key: "a", Value: "1" }], "b")).toBeUndefined();
    expect(tagValue(undefined, "b")).toBeUndefined();
  });

  it("a group being deleted is not live", () => {
    expect(isBeingDeleted({ Status: "Delete in progress" } as AutoScalingGroup)).toBe(true);
    expect(isBeingDeleted({ Status: "Updating" } as AutoScalingGroup)).toBe(false);
    expect(isBeingDeleted({} as AutoScalingGroup)).toBe(false);
  });

  it("a group not found is a ValidationError saying so", () => {
    expect(isGroupNotFound(notFound())).toBe(true);
    expect(isGroupNotFound(awsError("ValidationError", "Invalid parameter"))).toBe(false);
    expect(isGroupNotFound(awsError("ResourceInUseFault", "the launch template was not found"))).toBe(false);
  });

  it("snapshots a group, with defaults for what it lacks", () => {
    expect(
      snapshotGroup({
        AutoScalingGroupName: "g",
        MinSize: 1,
        DesiredCapacity: 2,
        MaxSize: 3,
        Tags: [{ Key: TAG.release, Value: "v7" }],
        LaunchTemplate: { LaunchTemplateId: "lt-1", Version: "9" },
      } as AutoScalingGroup),
    ).toEqual({ name: "g", min: 1, desired: 2, max: 3, release: "v7", launchTemplateVersion: "9" });
    expect(snapshotGroup({} as AutoScalingGroup)).toEqual({ name: "", min: 0, desired: 0, max: 0, release: undefined, launchTemplateVersion: undefined });
  });
});

describe("describing groups", () => {
  it("finds the environment's groups and the app's by their tags, over every page", async () => {
    autoScalingMock
      .on(DescribeAutoScalingGroupsCommand)
      .resolvesOnce({ AutoScalingGroups: [{ AutoScalingGroupName: "a" } as AutoScalingGroup], NextToken: "t1" })
      .resolvesOnce({ AutoScalingGroups: [{ AutoScalingGroupName: "b" } as AutoScalingGroup] })
      .resolvesOnce({ AutoScalingGroups: [{ AutoScalingGroupName: "c" } as AutoScalingGroup] })
      .resolves({});

    const environment = await describeEnvironmentGroups({ app: "shop", environment: "dev01" });
    const app = await describeAppGroups("shop");
    const none = await describeAppGroups("shop");

    expect(environment.map((group) => group.AutoScalingGroupName)).toEqual(["a", "b"]);
    expect(app.map((group) => group.AutoScalingGroupName)).toEqual(["c"]);
    expect(none).toEqual([]);
    const inputs = autoScalingMock.commandCalls(DescribeAutoScalingGroupsCommand).map((call) => call.args[0].input);
    // (The paginator sets NextToken on the input it sends again: the first call's shows it too.)
    expect(inputs[0].Filters).toEqual([
      { Name: `tag:${TAG.app}`, Values: ["shop"] },
      { Name: `tag:${TAG.environment}`, Values: ["dev01"] },
    ]);
    expect(inputs[0].MaxRecords).toBe(100);
    expect(inputs[1]).toMatchObject({ NextToken: "t1" });
    expect(inputs).toHaveLength(4);
    expect(inputs[2]).toEqual({ Filters: [{ Name: `tag:${TAG.app}`, Values: ["shop"] }], MaxRecords: 100 });
  });

  it("asks for named groups 50 names a call, over every page of each", async () => {
    autoScalingMock
      .on(DescribeAutoScalingGroupsCommand)
      .resolvesOnce({ AutoScalingGroups: [{ AutoScalingGroupName: "group-0" } as AutoScalingGroup], NextToken: "more" })
      .resolvesOnce({ AutoScalingGroups: [{ AutoScalingGroupName: "group-1" } as AutoScalingGroup] })
      .resolves({});

    const found = await describeGroupsByName(names(120));

    expect(found.map((group) => group.AutoScalingGroupName)).toEqual(["group-0", "group-1"]);
    const inputs = autoScalingMock.commandCalls(DescribeAutoScalingGroupsCommand).map((call) => call.args[0].input);
    expect(inputs.map((input) => [input.AutoScalingGroupNames?.length, input.NextToken, input.MaxRecords])).toEqual([
      [50, undefined, 100],
      [50, "more", 100],
      [50, undefined, 100],
      [20, undefined, 100],
    ]);
    expect(inputs[2].AutoScalingGroupNames).toEqual(names(100).slice(50));
  });

  it("asks once for 50 names and not at all for none", async () => {
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({});

    expect(await describeGroupsByName(names(50))).toEqual([]);
    expect(await describeGroupsByName([])).toEqual([]);

    expect(autoScalingMock).toHaveReceivedCommandTimes(DescribeAutoScalingGroupsCommand, 1);
  });

  it("a live group is one that exists and is not being deleted", async () => {
    autoScalingMock
      .on(DescribeAutoScalingGroupsCommand)
      .resolvesOnce({ AutoScalingGroups: [{ AutoScalingGroupName: "a", Status: "Delete in progress" } as AutoScalingGroup] })
      .resolvesOnce({ AutoScalingGroups: [{ AutoScalingGroupName: "a" } as AutoScalingGroup] })
      .resolves({});

    expect(await describeLiveGroup("a")).toBeUndefined();
    expect((await describeLiveGroup("a"))?.AutoScalingGroupName).toBe("a");
    expect(await describeLiveGroup("a")).toBeUndefined();
  });
});

describe("scaling activities", () => {
  it("reads the group's 20 most recent activities", async () => {
    autoScalingMock.on(DescribeScalingActivitiesCommand).resolvesOnce({ Activities: [{ ActivityId: "1", StatusCode: "Successful" }] as never }).resolves({} as never);

    expect((await recentActivities("g")).map((activity) => activity.ActivityId)).toEqual(["1"]);
    expect(await recentActivities("g")).toEqual([]);
    expect(autoScalingMock).toHaveReceivedCommandWith(DescribeScalingActivitiesCommand, { AutoScalingGroupName: "g", MaxRecords: 20 });
  });

  it("failed and cancelled activities are launches that did not happen; the newest names the failure", () => {
    const activities = [
      { ActivityId: "1", StatusCode: "Successful", Description: "ok" },
      { ActivityId: "2", StatusCode: "Cancelled", Description: "Launching a new EC2 instance", StatusMessage: "cancelled by a newer request" },
      { ActivityId: "3", StatusCode: "Failed", Description: "Launching a new EC2 instance: failed" },
      { ActivityId: "4", StatusCode: "InProgress", Description: "pending" },
    ] as never[];
    expect(failedActivities(activities).map((activity: { ActivityId?: string }) => activity.ActivityId)).toEqual(["2", "3"]);
    expect(lastFailedActivity(activities)).toBe("last failed activity: cancelled by a newer request");
    expect(lastFailedActivity(activities.slice(2))).toBe("last failed activity: Launching a new EC2 instance: failed");
    expect(lastFailedActivity(activities.slice(0, 1))).toBeUndefined();
  });
});

describe("terminationHooks", () => {
  it("lists the groups' termination hooks with AWS's defaults, skipping launch hooks and groups gone", async () => {
    autoScalingMock
      .on(DescribeLifecycleHooksCommand, { AutoScalingGroupName: "a" })
      .resolves({
        LifecycleHooks: [
          { LifecycleHookName: "drain", LifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING", HeartbeatTimeout: 120, DefaultResult: "CONTINUE" },
          { LifecycleHookName: "warm", LifecycleTransition: "autoscaling:EC2_INSTANCE_LAUNCHING" },
          { LifecycleHookName: "plain", LifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING" },
          { LifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING", HeartbeatTimeout: 0 },
        ],
      })
      .on(DescribeLifecycleHooksCommand, { AutoScalingGroupName: "gone" })
      .rejects(notFound())
      .on(DescribeLifecycleHooksCommand, { AutoScalingGroupName: "bare" })
      .resolves({});

    expect(await terminationHooks(["a", "gone", "bare"])).toEqual([
      { group: "a", name: "drain", heartbeatTimeout: 120, defaultResult: "CONTINUE" },
      { group: "a", name: "plain", heartbeatTimeout: 3600, defaultResult: "ABANDON" },
      { group: "a", name: "", heartbeatTimeout: 0, defaultResult: "ABANDON" },
    ]);
  });

  it("passes on any other error", async () => {
    autoScalingMock.on(DescribeLifecycleHooksCommand).rejects(awsError("AccessDenied", "not allowed"));

    await expect(terminationHooks(["a"])).rejects.toThrow("not allowed");
  });
});

describe("releaseHeldInstances", () => {
  const instance = (id: string, state: string, protectedFromScaleIn = false) =>
    ({ InstanceId: id, LifecycleState: state, ProtectedFromScaleIn: protectedFromScaleIn }) as Instance;

  it("unprotects and brings out of Standby the live instances, 50 a call, leaving terminating ones alone", async () => {
    const group = {
      AutoScalingGroupName: "old",
      Instances: [
        ...ids(51, "i-p").map((id) => instance(id, "InService", true)),
        instance("i-s1", "Standby"),
        instance("i-s2", "Standby", true),
        instance("i-t1", "Terminating", true),
        instance("i-t2", "Terminating:Wait", true),
        instance("i-free", "InService"),
      ],
    } as AutoScalingGroup;

    const changed = await releaseHeldInstances([group, { AutoScalingGroupName: "empty" } as AutoScalingGroup]);

    expect(changed).toEqual({ unprotected: [...ids(51, "i-p"), "i-s2"], outOfStandby: ["i-s1", "i-s2"] });
    const protection = autoScalingMock.commandCalls(SetInstanceProtectionCommand).map((call) => call.args[0].input);
    expect(protection).toEqual([
      { AutoScalingGroupName: "old", InstanceIds: ids(50, "i-p"), ProtectedFromScaleIn: false },
      { AutoScalingGroupName: "old", InstanceIds: ["i-p50", "i-s2"], ProtectedFromScaleIn: false },
    ]);
    expect(autoScalingMock).toHaveReceivedCommandTimes(ExitStandbyCommand, 1);
    expect(autoScalingMock).toHaveReceivedCommandWith(ExitStandbyCommand, { AutoScalingGroupName: "old", InstanceIds: ["i-s1", "i-s2"] });
  });

  it("sends one call for exactly 50 instances, none for none, and takes an instance without a state for live", async () => {
    const group = {
      AutoScalingGroupName: "old",
      Instances: [...ids(49, "i-p").map((id) => instance(id, "InService", true)), { InstanceId: "i-x", ProtectedFromScaleIn: true } as Instance],
    } as AutoScalingGroup;

    const changed = await releaseHeldInstances([group]);

    expect(changed.unprotected).toEqual([...ids(49, "i-p"), "i-x"]);
    expect(autoScalingMock).toHaveReceivedCommandTimes(SetInstanceProtectionCommand, 1);
    expect(autoScalingMock).toHaveReceivedCommandTimes(ExitStandbyCommand, 0);
  });
});

describe("resizeGroup", () => {
  it("sets only the bounds given", async () => {
    autoScalingMock.on(UpdateAutoScalingGroupCommand).resolves({});

    await resizeGroup("g", { desired: 3 });
    await resizeGroup("g", { min: 0, max: 5 });

    const inputs = autoScalingMock.commandCalls(UpdateAutoScalingGroupCommand).map((call) => call.args[0].input);
    expect(inputs[0]).toStrictEqual({ AutoScalingGroupName: "g", DesiredCapacity: 3 });
    expect(inputs[1]).toStrictEqual({ AutoScalingGroupName: "g", MinSize: 0, MaxSize: 5 });
  });

  it("turns a busy group's refusal into StillInUse, with its cause, and passes on other errors", async () => {
    const refusal = busy();
    autoScalingMock.on(UpdateAutoScalingGroupCommand).rejectsOnce(refusal).rejectsOnce(awsError("ValidationError", "bad size"));

    const error = await resizeGroup("g", { desired: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StillInUseError);
    expect((error as Error).message).toBe(`group g cannot be resized yet: ${refusal.message}`);
    expect((error as Error).cause).toBe(refusal);
    await expect(resizeGroup("g", { desired: 1 })).rejects.toMatchObject({ name: "ValidationError", message: "bad size" });
  });
});

describe("scaleGroupsToZero", () => {
  it("scales the groups not at 0 yet and names them; a group gone meanwhile is skipped", async () => {
    autoScalingMock
      .on(UpdateAutoScalingGroupCommand, { AutoScalingGroupName: "gone" })
      .rejects(notFound())
      .on(UpdateAutoScalingGroupCommand, { AutoScalingGroupName: "a" })
      .resolves({})
      .on(UpdateAutoScalingGroupCommand, { AutoScalingGroupName: "b" })
      .resolves({});

    const scaled = await scaleGroupsToZero([
      { AutoScalingGroupName: "a", MinSize: 1, DesiredCapacity: 2, MaxSize: 4 },
      { AutoScalingGroupName: "zero", MinSize: 0, DesiredCapacity: 0, MaxSize: 4 },
      { AutoScalingGroupName: "unsized" },
      { AutoScalingGroupName: "gone", MinSize: 0, DesiredCapacity: 1, MaxSize: 4 },
      { AutoScalingGroupName: "b", MinSize: 1, DesiredCapacity: 0, MaxSize: 4 },
    ] as AutoScalingGroup[]);

    expect(scaled).toEqual(["a", "b"]);
    expect(autoScalingMock.commandCalls(UpdateAutoScalingGroupCommand).map((call) => call.args[0].input)).toStrictEqual([
      { AutoScalingGroupName: "a", MinSize: 0, DesiredCapacity: 0 },
      { AutoScalingGroupName: "gone", MinSize: 0, DesiredCapacity: 0 },
      { AutoScalingGroupName: "b", MinSize: 0, DesiredCapacity: 0 },
    ]);
  });

  it("passes on other errors", async () => {
    autoScalingMock.on(UpdateAutoScalingGroupCommand).rejects(awsError("AccessDenied", "not allowed"));

    await expect(scaleGroupsToZero([{ AutoScalingGroupName: "a", MinSize: 1, DesiredCapacity: 1 } as AutoScalingGroup])).rejects.toThrow("not allowed");
  });
});

describe("deleteGroup", () => {
  it("deletes, with its instances only when forced", async () => {
    autoScalingMock.on(DeleteAutoScalingGroupCommand).resolves({});

    expect(await deleteGroup("a")).toBe(true);
    expect(await deleteGroup("b", { force: true })).toBe(true);
    expect(await deleteGroup("c", { force: false })).toBe(true);

    expect(autoScalingMock.commandCalls(DeleteAutoScalingGroupCommand).map((call) => call.args[0].input)).toStrictEqual([
      { AutoScalingGroupName: "a" },
      { AutoScalingGroupName: "b", ForceDelete: true },
      { AutoScalingGroupName: "c" },
    ]);
  });

  it("a group gone is fine (false); a busy one is StillInUse with its cause; anything else passes", async () => {
    const refusal = busy();
    autoScalingMock
      .on(DeleteAutoScalingGroupCommand)
      .rejectsOnce(notFound())
      .rejectsOnce(refusal)
      .rejectsOnce(awsError("AccessDenied", "not allowed"));

    expect(await deleteGroup("a")).toBe(false);
    const error = await deleteGroup("a").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StillInUseError);
    expect((error as Error).message).toBe(`group a cannot be deleted yet: ${refusal.message}`);
    expect((error as Error).cause).toBe(refusal);
    await expect(deleteGroup("a")).rejects.toThrow("not allowed");
  });
});
