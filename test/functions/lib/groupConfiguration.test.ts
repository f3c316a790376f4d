/**
 * The parts of functions/lib/groupConfiguration.ts that stand on their own, against mocked clients: the alarm-copy
 * cleanup's batches, releasing a hold, matching the live capacity and the launch parameters. The carry-over as a
 * whole is proven against the simulated region in test/functions/groupConfiguration.test.ts.
 */
import "aws-sdk-client-mock-vitest/extend";
import {
  type AutoScalingGroup,
  AutoScalingClient,
  CreateOrUpdateTagsCommand,
  DeleteTagsCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeLifecycleHooksCommand,
  DescribePoliciesCommand,
  DescribeScheduledActionsCommand,
  DescribeWarmPoolCommand,
  ResumeProcessesCommand,
  SuspendProcessesCommand,
  UpdateAutoScalingGroupCommand,
} from "@aws-sdk/client-auto-scaling";
import { CloudWatchClient, DeleteAlarmsCommand, DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { deleteOrphanedAlarmCopies, launchParameters, matchLiveCapacity, newGroupCapacity, prepareCarryOver, releaseScaleIn } from "../../../functions/lib/groupConfiguration.js";
import { TAG } from "../../../functions/lib/names.js";
import { ALTERNATE_TARGET_GROUP_ARN, awsError, deployState, group as describedGroup, LAUNCH_TEMPLATE_ID, NEW_GROUP, OLD_GROUP, settings } from "../fixtures.js";

const autoScalingMock = mockClient(AutoScalingClient);
const cloudWatchMock = mockClient(CloudWatchClient);
const HOLD = TAG.scaleInHold;

beforeEach(() => {
  autoScalingMock.reset();
  cloudWatchMock.reset();
});

describe("deleteOrphanedAlarmCopies", () => {
  const copies = (group: string, count: number) => Array.from({ length: count }, (_, i) => ({ AlarmName: `${group}:alarm-${i}` }));

  it("asks for nothing more when there are no copies", async () => {
    cloudWatchMock.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [{ AlarmName: "shop-dev01-own-alarm" }, {}] });

    expect(await deleteOrphanedAlarmCopies(settings())).toEqual([]);

    expect(cloudWatchMock).toHaveReceivedCommandWith(DescribeAlarmsCommand, { AlarmNamePrefix: "shop-dev01-", AlarmTypes: ["MetricAlarm"] });
    expect(autoScalingMock).toHaveReceivedCommandTimes(DescribeAutoScalingGroupsCommand, 0);
    expect(cloudWatchMock).toHaveReceivedCommandTimes(DeleteAlarmsCommand, 0);
  });

  it("deletes the copies of groups gone or being deleted, 100 names a call, over every page", async () => {
    const gone = copies("shop-dev01-v1-aaa", 101);
    cloudWatchMock
      .on(DescribeAlarmsCommand)
      .resolvesOnce({ MetricAlarms: [...gone.slice(0, 50), { AlarmName: "shop-dev01-live:cpu" }], NextToken: "t" })
      .resolvesOnce({ MetricAlarms: [...gone.slice(50), { AlarmName: "shop-dev01-dying:cpu" }] });
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [
        { AutoScalingGroupName: "shop-dev01-live" } as AutoScalingGroup,
        { AutoScalingGroupName: "shop-dev01-dying", Status: "Delete in progress" } as AutoScalingGroup,
      ],
    });

    const deleted = await deleteOrphanedAlarmCopies(settings());

    const expected = [...gone.map((alarm) => alarm.AlarmName), "shop-dev01-dying:cpu"];
    expect(deleted).toEqual(expected);
    expect(cloudWatchMock.commandCalls(DeleteAlarmsCommand).map((call) => call.args[0].input.AlarmNames)).toEqual([expected.slice(0, 100), expected.slice(100)]);
  });

  it("one call for exactly 100, and none when every copy's group lives", async () => {
    cloudWatchMock.on(DescribeAlarmsCommand).resolvesOnce({ MetricAlarms: copies("shop-dev01-v1-aaa", 100) }).resolves({ MetricAlarms: copies("shop-dev01-live", 3) });
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [{ AutoScalingGroupName: "shop-dev01-live" } as AutoScalingGroup] });

    expect(await deleteOrphanedAlarmCopies(settings())).toHaveLength(100);
    expect(await deleteOrphanedAlarmCopies(settings())).toEqual([]);

    expect(cloudWatchMock).toHaveReceivedCommandTimes(DeleteAlarmsCommand, 1);
  });
});

describe("releaseScaleIn", () => {
  const group = (name: string, hold: string | undefined, extra: Partial<AutoScalingGroup> = {}) =>
    ({ AutoScalingGroupName: name, Tags: hold === undefined ? [] : [{ Key: HOLD, Value: hold }], ...extra }) as AutoScalingGroup;

  it("resumes exactly the held processes and removes the tag; skips groups without the tag or being deleted", async () => {
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [
        group("a", "AlarmNotification,ScheduledActions"),
        group("b", undefined),
        group("c", "AlarmNotification", { Status: "Delete in progress" }),
        group("d", ""),
      ],
    });

    expect(await releaseScaleIn(["a", "b", "c", "d", "e"])).toEqual(["a", "d"]);

    expect(autoScalingMock.commandCalls(ResumeProcessesCommand).map((call) => call.args[0].input)).toEqual([
      { AutoScalingGroupName: "a", ScalingProcesses: ["AlarmNotification", "ScheduledActions"] },
    ]);
    expect(autoScalingMock.commandCalls(DeleteTagsCommand).map((call) => call.args[0].input.Tags)).toEqual([
      [{ ResourceId: "a", ResourceType: "auto-scaling-group", Key: HOLD, Value: "AlarmNotification,ScheduledActions", PropagateAtLaunch: false }],
      [{ ResourceId: "d", ResourceType: "auto-scaling-group", Key: HOLD, Value: "", PropagateAtLaunch: false }],
    ]);
  });

  it("a group gone meanwhile is skipped; another error passes", async () => {
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group("a", "AlarmNotification"), group("b", "AlarmNotification")] });
    autoScalingMock
      .on(ResumeProcessesCommand, { AutoScalingGroupName: "a" })
      .rejects(awsError("ValidationError", "AutoScalingGroup name not found - a"))
      .on(ResumeProcessesCommand, { AutoScalingGroupName: "b" })
      .resolves({});

    expect(await releaseScaleIn(["a", "b"])).toEqual(["b"]);

    autoScalingMock.on(ResumeProcessesCommand).rejects(awsError("AccessDenied", "not allowed"));
    await expect(releaseScaleIn(["a"])).rejects.toThrow("not allowed");
  });
});

describe("capacity", () => {
  it("newGroupCapacity: the configured capacity without live groups", () => {
    expect(newGroupCapacity(settings(), [])).toEqual(settings().capacity);
    expect(newGroupCapacity({ ...settings(), capacity: { min: 3, desired: 2, max: 1 } }, [])).toEqual({ min: 2, desired: 2, max: 2 });
  });

  it("matchLiveCapacity keeps the new group when it has what the live groups have", async () => {
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [{ AutoScalingGroupName: "old", MinSize: 1, DesiredCapacity: 2, MaxSize: 4 } as AutoScalingGroup] });

    expect(await matchLiveCapacity(deployState(), { AutoScalingGroupName: NEW_GROUP, DesiredCapacity: 2, MaxSize: 4 } as AutoScalingGroup)).toBe(2);
    expect(await matchLiveCapacity(deployState(), { AutoScalingGroupName: NEW_GROUP, DesiredCapacity: 3, MaxSize: 4 } as AutoScalingGroup)).toBe(3);

    expect(autoScalingMock).toHaveReceivedCommandTimes(UpdateAutoScalingGroupCommand, 0);
  });

  it("matchLiveCapacity raises desired, and max only as far as needed, to the live groups' (a group being deleted does not count)", async () => {
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [
        { AutoScalingGroupName: "old", MinSize: 1, DesiredCapacity: 5, MaxSize: 6 } as AutoScalingGroup,
        { AutoScalingGroupName: "dying", MinSize: 9, DesiredCapacity: 9, MaxSize: 9, Status: "Delete in progress" } as AutoScalingGroup,
      ],
    });
    const state = deployState("application", { plan: { ...deployState().plan!, liveGroups: [{ name: "old", min: 1, desired: 5, max: 6 }, { name: "dying", min: 9, desired: 9, max: 9 }, { name: NEW_GROUP, min: 0, desired: 0, max: 0 }] } });

    expect(await matchLiveCapacity(state, { AutoScalingGroupName: NEW_GROUP, DesiredCapacity: 2, MaxSize: 8 } as AutoScalingGroup)).toBe(5);
    expect(await matchLiveCapacity(state, { AutoScalingGroupName: NEW_GROUP, DesiredCapacity: 2, MaxSize: 4 } as AutoScalingGroup)).toBe(5);

    expect(autoScalingMock.commandCalls(DescribeAutoScalingGroupsCommand)[0].args[0].input.AutoScalingGroupNames).toEqual(["old", "dying"]);
    expect(autoScalingMock.commandCalls(UpdateAutoScalingGroupCommand).map((call) => call.args[0].input)).toStrictEqual([
      { AutoScalingGroupName: NEW_GROUP, DesiredCapacity: 5, MaxSize: 8 },
      { AutoScalingGroupName: NEW_GROUP, DesiredCapacity: 5, MaxSize: 6 },
    ]);
  });

  it("matchLiveCapacity without live groups asks nothing and keeps the configured capacity", async () => {
    const state = deployState("application", { plan: { ...deployState().plan!, liveGroups: [] } });

    expect(await matchLiveCapacity(state, { AutoScalingGroupName: NEW_GROUP, DesiredCapacity: 1, MaxSize: 1 } as AutoScalingGroup)).toBe(state.settings.capacity.desired);

    expect(autoScalingMock).toHaveReceivedCommandTimes(DescribeAutoScalingGroupsCommand, 0);
    expect(autoScalingMock).toHaveReceivedCommandWith(UpdateAutoScalingGroupCommand, {
      AutoScalingGroupName: NEW_GROUP,
      DesiredCapacity: state.settings.capacity.desired,
      MaxSize: state.settings.capacity.max,
    });
  });
});

describe("launchParameters", () => {
  it("pins the version in the launch template, or in the mixed-instances policy with the On-Demand/Spot split", () => {
    expect(launchParameters(settings(), "7")).toStrictEqual({ LaunchTemplate: { LaunchTemplateId: LAUNCH_TEMPLATE_ID, Version: "7" } });
    const mixed = {
      ...settings(),
      mixedInstances: { instanceTypes: ["t3.micro", "t3a.micro"], onDemandBaseCapacity: 1, onDemandPercentageAboveBaseCapacity: 25, spotAllocationStrategy: "capacity-optimized" },
    };
    expect(launchParameters(mixed, "8")).toStrictEqual({
      MixedInstancesPolicy: {
        LaunchTemplate: { LaunchTemplateSpecification: { LaunchTemplateId: LAUNCH_TEMPLATE_ID, Version: "8" }, Overrides: [{ InstanceType: "t3.micro" }, { InstanceType: "t3a.micro" }] },
        InstancesDistribution: { OnDemandAllocationStrategy: "prioritized", OnDemandBaseCapacity: 1, OnDemandPercentageAboveBaseCapacity: 25, SpotAllocationStrategy: "capacity-optimized" },
      },
    });
  });
});

describe("prepareCarryOver: the group attributes and tags", () => {
  const TARGET = { kind: "application", targetGroupArn: ALTERNATE_TARGET_GROUP_ARN } as const;

  /** A live group with nothing but `fields` (no policies, schedules, hooks or warm pool). */
  function givenLiveGroup(fields: Partial<AutoScalingGroup>, warmPool?: object) {
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [describedGroup(OLD_GROUP, fields)] });
    autoScalingMock.on(DescribePoliciesCommand).resolves({ ScalingPolicies: [] });
    autoScalingMock.on(DescribeScheduledActionsCommand).resolves({ ScheduledUpdateGroupActions: [] });
    autoScalingMock.on(DescribeLifecycleHooksCommand).resolves({ LifecycleHooks: [] });
    autoScalingMock.on(DescribeWarmPoolCommand).resolves(warmPool ? { WarmPoolConfiguration: warmPool } : {});
  }

  it("carries nothing that is AWS's default: Default termination policy, no lifetime, no rebalance, a 300 s cooldown", async () => {
    givenLiveGroup({ TerminationPolicies: ["Default"], MaxInstanceLifetime: 0, CapacityRebalance: false, DefaultCooldown: 300 }, { MinSize: 1, Status: "PendingDelete" });

    const carryOver = await prepareCarryOver(deployState(), NEW_GROUP, TARGET);

    expect(carryOver.plan.create).toStrictEqual({});
    expect(carryOver.plan.warmPool).toBeUndefined();
    expect(carryOver.plan.hold).toEqual([]);
    expect(carryOver.tags(NEW_GROUP)).toEqual([]);
    expect(carryOver.message(NEW_GROUP, 2)).toBe(`launch: ${NEW_GROUP} with 2 instance(s) (configured 2, live 2); nothing to carry over from ${OLD_GROUP}`);
    // Nothing to hold either: the old group has no policies or schedules.
    expect(autoScalingMock).toHaveReceivedCommandTimes(CreateOrUpdateTagsCommand, 0);
    expect(autoScalingMock).toHaveReceivedCommandTimes(SuspendProcessesCommand, 0);
  });

  it("carries every attribute that differs, and the tags that are neither this project's, AWS's nor Name", async () => {
    givenLiveGroup(
      {
        TerminationPolicies: ["OldestInstance", "Default"],
        MaxInstanceLifetime: 86_400,
        CapacityRebalance: true,
        InstanceMaintenancePolicy: { MinHealthyPercentage: 90, MaxHealthyPercentage: 120 },
        DefaultCooldown: 0,
        DefaultInstanceWarmup: 0,
        Tags: [
          { Key: TAG.app, Value: "shop" },
          { Key: "aws:cloudformation:stack-name", Value: "x" },
          { Key: "Name", Value: "old" },
          { Key: "team", Value: "web", PropagateAtLaunch: true },
          { Key: "cost-center-aws:", ResourceId: OLD_GROUP },
          { Value: "no key" },
        ],
      },
      { MinSize: 1, PoolState: "Stopped", Status: undefined },
    );

    const carryOver = await prepareCarryOver(deployState(), NEW_GROUP, TARGET);

    expect(carryOver.plan.create).toStrictEqual({
      TerminationPolicies: ["OldestInstance", "Default"],
      MaxInstanceLifetime: 86_400,
      CapacityRebalance: true,
      InstanceMaintenancePolicy: { MinHealthyPercentage: 90, MaxHealthyPercentage: 120 },
      DefaultCooldown: 0,
      DefaultInstanceWarmup: 0,
      Tags: [
        { ResourceId: NEW_GROUP, ResourceType: "auto-scaling-group", Key: "team", Value: "web", PropagateAtLaunch: true },
        { ResourceId: NEW_GROUP, ResourceType: "auto-scaling-group", Key: "cost-center-aws:", Value: "", PropagateAtLaunch: false },
      ],
    });
    expect(carryOver.plan.warmPool).toEqual({ MinSize: 1, PoolState: "Stopped", Status: undefined });
    expect(carryOver.message(NEW_GROUP, 3)).toBe(
      `launch: ${NEW_GROUP} with 3 instance(s) (configured 2, live 2); carried over from ${OLD_GROUP}: ` +
        "termination policies, max instance lifetime, capacity rebalance, instance maintenance policy, default cooldown, default instance warmup; " +
        "tags team, cost-center-aws:; warm pool",
    );
  });
});
