/**
 * prepareCarryOver's decisions against mocked clients: which live group is the source, which of its suspended
 * processes, policies, alarms and scheduled actions the new group gets, what the configuration replaces, the
 * scale-in hold on either side, the request-count resource label, the alarm copies, and the launch's message.
 * (groupConfiguration.test.ts beside it has the group attributes and tags; the simulated region the whole.)
 */
import "aws-sdk-client-mock-vitest/extend";
import {
  type AutoScalingGroup,
  AutoScalingClient,
  CreateOrUpdateTagsCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeLifecycleHooksCommand,
  DescribePoliciesCommand,
  DescribeScheduledActionsCommand,
  DescribeWarmPoolCommand,
  PutScalingPolicyCommand,
  type ScalingPolicy,
  type ScheduledUpdateGroupAction,
  SuspendProcessesCommand,
} from "@aws-sdk/client-auto-scaling";
import { CloudWatchClient, DescribeAlarmsCommand, type MetricAlarm, PutMetricAlarmCommand } from "@aws-sdk/client-cloudwatch";
import { DescribeTargetGroupsCommand, ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { resetClock, setClock } from "../../../functions/lib/clock.js";
import type { DeployState, EnvironmentSettings } from "../../../functions/lib/contract.js";
import { LaunchFailedError } from "../../../functions/lib/errors.js";
import { matchLiveCapacity, prepareCarryOver } from "../../../functions/lib/groupConfiguration.js";
import { TAG } from "../../../functions/lib/names.js";
import { ALTERNATE_TARGET_GROUP_ARN, CLASSIC_LB_NAME, deployState, group as describedGroup, NEW_GROUP, NOW, OLD_GROUP, oldSnapshot, settings } from "../fixtures.js";

const autoScalingMock = mockClient(AutoScalingClient);
const cloudWatchMock = mockClient(CloudWatchClient);
const elbv2Mock = mockClient(ElasticLoadBalancingV2Client);
const TARGET = { kind: "application", targetGroupArn: ALTERNATE_TARGET_GROUP_ARN } as const;
const TOPIC = "arn:aws:sns:us-east-1:123456789012:ops";
const policyArn = (group: string, name: string) => `arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:0:autoScalingGroupName/${group}:policyName/${name}`;
const holdTag = (group: string, value: string) => ({ ResourceId: group, ResourceType: "auto-scaling-group", Key: TAG.scaleInHold, Value: value, PropagateAtLaunch: false });

beforeEach(() => {
  autoScalingMock.reset();
  cloudWatchMock.reset();
  elbv2Mock.reset();
  setClock(() => NOW * 1000);
  autoScalingMock.on(PutScalingPolicyCommand).callsFake((input) => ({ PolicyARN: policyArn(input.AutoScalingGroupName, input.PolicyName) }));
});
afterEach(() => resetClock());

interface LiveConfiguration {
  policies?: ScalingPolicy[];
  scheduledActions?: ScheduledUpdateGroupAction[];
  alarms?: MetricAlarm[];
}

/** The live groups as DescribeAutoScalingGroups returns them, and what each has as the Describe calls list it. */
function givenLive(groups: AutoScalingGroup[], configurations: Record<string, LiveConfiguration> = {}) {
  autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: groups });
  autoScalingMock.on(DescribePoliciesCommand).callsFake((input) => ({ ScalingPolicies: configurations[input.AutoScalingGroupName]?.policies ?? [] }));
  autoScalingMock
    .on(DescribeScheduledActionsCommand)
    .callsFake((input) => ({ ScheduledUpdateGroupActions: configurations[input.AutoScalingGroupName]?.scheduledActions ?? [] }));
  autoScalingMock.on(DescribeLifecycleHooksCommand).resolves({ LifecycleHooks: [] });
  autoScalingMock.on(DescribeWarmPoolCommand).resolves({});
  const alarms = Object.values(configurations).flatMap((configuration) => configuration.alarms ?? []);
  cloudWatchMock.on(DescribeAlarmsCommand).callsFake((input) => ({ MetricAlarms: alarms.filter((alarm) => input.AlarmNames?.includes(alarm.AlarmName)) }));
}

/** Launch's state with `liveNames` as Prepare found them, and `configuration` in the stage's settings. */
function stateWith(liveNames: string[], configuration: Partial<EnvironmentSettings> = {}): DeployState {
  return deployState("application", {
    settings: { ...settings(), ...configuration },
    plan: { ...deployState().plan!, liveGroups: liveNames.map((name) => ({ ...oldSnapshot, name })) },
  });
}

const stepPolicy = (name: string, alarms: string[] = []): ScalingPolicy => ({
  PolicyName: name,
  PolicyARN: policyArn(OLD_GROUP, name),
  PolicyType: "StepScaling",
  AdjustmentType: "ChangeInCapacity",
  StepAdjustments: [{ MetricIntervalLowerBound: 0, ScalingAdjustment: 1 }],
  Alarms: alarms.map((AlarmName) => ({ AlarmName })),
});
const cpuTarget = (name: string, targetValue: number): ScalingPolicy => ({
  PolicyName: name,
  PolicyARN: policyArn(OLD_GROUP, name),
  PolicyType: "TargetTrackingScaling",
  TargetTrackingConfiguration: { PredefinedMetricSpecification: { PredefinedMetricType: "ASGAverageCPUUtilization" }, TargetValue: targetValue },
  Alarms: [{ AlarmName: `TargetTracking-${OLD_GROUP}-AlarmHigh-${name}` }],
});
const suspendCalls = () => autoScalingMock.commandCalls(SuspendProcessesCommand).map((call) => call.args[0].input);
const tagCalls = () => autoScalingMock.commandCalls(CreateOrUpdateTagsCommand).map((call) => call.args[0].input.Tags);

describe("the source: the largest live group, the newest on a tie", () => {
  it("takes the group with the largest desired capacity, in whatever order they are described", async () => {
    for (const order of [["a", "b", "c"], ["c", "b", "a"], ["b", "a", "c"]]) {
      // Arrange
      const desired: Record<string, number> = { a: 2, b: 5, c: 3 };
      givenLive(order.map((name) => describedGroup(`shop-dev01-${name}`, { DesiredCapacity: desired[name], MaxSize: 6 })));

      // Act
      const carryOver = await prepareCarryOver(stateWith(order.map((name) => `shop-dev01-${name}`)), NEW_GROUP, TARGET);

      // Assert
      expect(carryOver.plan.source).toBe("shop-dev01-b");
    }
  });

  it("on a tie, the newest group (one without a creation time counts as the oldest)", async () => {
    // Arrange
    givenLive([
      describedGroup("shop-dev01-undated", { DesiredCapacity: 3, CreatedTime: undefined }),
      describedGroup("shop-dev01-older", { DesiredCapacity: 3, CreatedTime: new Date((NOW - 3600) * 1000) }),
      describedGroup("shop-dev01-newer", { DesiredCapacity: 3, CreatedTime: new Date(NOW * 1000) }),
    ]);

    // Act
    const carryOver = await prepareCarryOver(stateWith(["shop-dev01-undated", "shop-dev01-older", "shop-dev01-newer"]), NEW_GROUP, TARGET);

    // Assert
    expect(carryOver.plan.source).toBe("shop-dev01-newer");
    expect(autoScalingMock).toHaveReceivedCommandWith(DescribePoliciesCommand, { AutoScalingGroupName: "shop-dev01-newer" });
    expect(autoScalingMock).toHaveReceivedCommandTimes(DescribePoliciesCommand, 1);
  });

  it("the new group's capacity takes the live group's min, desired and max where they are larger", async () => {
    // Arrange: configured min 1, desired 2, max 4.
    givenLive([describedGroup(OLD_GROUP, { MinSize: 3, DesiredCapacity: 3, MaxSize: 5 })]);

    // Act
    const carryOver = await prepareCarryOver(stateWith([OLD_GROUP]), NEW_GROUP, TARGET);

    // Assert
    expect(carryOver.plan.capacity).toEqual({ min: 3, desired: 3, max: 5 });
  });
});

describe("which live groups are read", () => {
  it("without a plan or without live groups, none is described and nothing is carried or held", async () => {
    for (const state of [{ ...deployState(), plan: undefined }, stateWith([])]) {
      // Arrange
      autoScalingMock.reset();

      // Act
      const carryOver = await prepareCarryOver(state, NEW_GROUP, TARGET);

      // Assert
      expect(autoScalingMock).toHaveReceivedCommandTimes(DescribeAutoScalingGroupsCommand, 0);
      expect(carryOver.plan.source).toBeUndefined();
      expect(carryOver.message(NEW_GROUP, 2)).toBe(`launch: ${NEW_GROUP} with 2 instance(s) (configured 2)`);
    }
  });

  it("the new group's own name among the live groups (a re-run) is not asked for", async () => {
    // Arrange
    givenLive([describedGroup(OLD_GROUP)]);

    // Act
    await prepareCarryOver(stateWith([OLD_GROUP, NEW_GROUP]), NEW_GROUP, TARGET);

    // Assert
    expect(autoScalingMock.commandCalls(DescribeAutoScalingGroupsCommand).map((call) => call.args[0].input.AutoScalingGroupNames)).toEqual([[OLD_GROUP]]);
  });

  it("matchLiveCapacity without a plan asks for no group and keeps the configured capacity", async () => {
    // Act
    const desired = await matchLiveCapacity({ ...deployState(), plan: undefined }, describedGroup(NEW_GROUP, { DesiredCapacity: 2, MaxSize: 4 }));

    // Assert
    expect(desired).toBe(2);
    expect(autoScalingMock).toHaveReceivedCommandTimes(DescribeAutoScalingGroupsCommand, 0);
  });
});

describe("suspended processes", () => {
  it("carries the operator's, except what a deploy needs, unnamed entries and a deploy's own hold; sorted with the new group's hold", async () => {
    // Arrange: an earlier run of this deploy held AlarmNotification and ScheduledActions (its tag).
    const processes = ["Launch", "Terminate", "AddToLoadBalancer", "HealthCheck", undefined, "ScheduledActions", "AlarmNotification", "AZRebalance"];
    givenLive(
      [
        describedGroup(OLD_GROUP, {
          SuspendedProcesses: processes.map((ProcessName) => ({ ProcessName })),
          Tags: [{ Key: TAG.scaleInHold, Value: "AlarmNotification,ScheduledActions" }],
        }),
      ],
      { [OLD_GROUP]: { policies: [stepPolicy("add-one")] } },
    );
    const carryOver = await prepareCarryOver(stateWith([OLD_GROUP]), NEW_GROUP, TARGET);

    // Act
    await carryOver.apply(NEW_GROUP);

    // Assert
    expect(carryOver.plan.hold).toEqual(["AlarmNotification"]);
    expect(carryOver.plan.suspend).toEqual(["AZRebalance", "AlarmNotification", "HealthCheck"]);
    expect(suspendCalls().at(-1)).toEqual({ AutoScalingGroupName: NEW_GROUP, ScalingProcesses: ["AZRebalance", "AlarmNotification", "HealthCheck"] });
    expect(carryOver.message(NEW_GROUP, 2)).toContain("; suspended processes AZRebalance, HealthCheck;");
  });

  it("a re-run adds to the hold it finds on the old group, in order", async () => {
    // Arrange: a hold on schedules only (the group had no policies then), policies now.
    givenLive([describedGroup(OLD_GROUP, { SuspendedProcesses: [{ ProcessName: "ScheduledActions" }], Tags: [{ Key: TAG.scaleInHold, Value: "ScheduledActions" }] })], {
      [OLD_GROUP]: { policies: [stepPolicy("add-one")] },
    });

    // Act
    await prepareCarryOver(stateWith([OLD_GROUP]), NEW_GROUP, TARGET);

    // Assert
    expect(tagCalls()).toEqual([[holdTag(OLD_GROUP, "AlarmNotification,ScheduledActions")]]);
    expect(suspendCalls()).toEqual([{ AutoScalingGroupName: OLD_GROUP, ScalingProcesses: ["AlarmNotification", "ScheduledActions"] }]);
  });

  it("an operator's AlarmNotification is carried as theirs: the new group gets no hold of its own", async () => {
    // Arrange
    givenLive([describedGroup(OLD_GROUP, { SuspendedProcesses: [{ ProcessName: "AlarmNotification" }] })], { [OLD_GROUP]: { policies: [stepPolicy("add-one")] } });

    // Act
    const carryOver = await prepareCarryOver(stateWith([OLD_GROUP]), NEW_GROUP, TARGET);

    // Assert
    expect(carryOver.plan.hold).toEqual([]);
    expect(carryOver.plan.suspend).toEqual(["AlarmNotification"]);
    expect(carryOver.tags(NEW_GROUP)).toEqual([]);
  });
});

describe("the scale-in hold", () => {
  it("no live group: no hold on the new group even with configured target tracking", async () => {
    // Act
    const carryOver = await prepareCarryOver(stateWith([], { scaling: { targetTracking: { metric: "cpu", targetValue: 50 }, scheduledActions: [] } }), NEW_GROUP, TARGET);

    // Assert
    expect(carryOver.plan.policies.map((policy) => policy.PolicyName)).toEqual(["immutable-deploy-target-tracking"]);
    expect(carryOver.plan.hold).toEqual([]);
    expect(carryOver.plan.suspend).toEqual([]);
    expect(carryOver.tags(NEW_GROUP)).toEqual([]);
    expect(carryOver.message(NEW_GROUP, 2)).toBe(`launch: ${NEW_GROUP} with 2 instance(s) (configured 2); configured: target tracking cpu 50`);
  });

  it("holds every other live group on alarms and schedules; the source only on what it has", async () => {
    // Arrange: the source has policies and no schedules; the other group has neither.
    givenLive([describedGroup("shop-dev01-small", { DesiredCapacity: 1 }), describedGroup(OLD_GROUP, { DesiredCapacity: 4, MaxSize: 4 })], {
      [OLD_GROUP]: { policies: [stepPolicy("add-one")] },
    });

    // Act
    const carryOver = await prepareCarryOver(stateWith(["shop-dev01-small", OLD_GROUP]), NEW_GROUP, TARGET);

    // Assert
    expect(suspendCalls()).toEqual([
      { AutoScalingGroupName: "shop-dev01-small", ScalingProcesses: ["AlarmNotification", "ScheduledActions"] },
      { AutoScalingGroupName: OLD_GROUP, ScalingProcesses: ["AlarmNotification"] },
    ]);
    expect(carryOver.message(NEW_GROUP, 4)).toContain(`; scaling held on shop-dev01-small, ${OLD_GROUP}, ${NEW_GROUP} until cutover`);
  });

  it("a source with schedules only: held on schedules; the new group, without policies, not held", async () => {
    // Arrange
    givenLive([describedGroup(OLD_GROUP)], { [OLD_GROUP]: { scheduledActions: [{ ScheduledActionName: "nightly", Recurrence: "0 22 * * *", DesiredCapacity: 1 }] } });

    // Act
    const carryOver = await prepareCarryOver(stateWith([OLD_GROUP]), NEW_GROUP, TARGET);

    // Assert
    expect(suspendCalls()).toEqual([{ AutoScalingGroupName: OLD_GROUP, ScalingProcesses: ["ScheduledActions"] }]);
    expect(carryOver.plan.hold).toEqual([]);
    expect(carryOver.message(NEW_GROUP, 2)).toBe(
      `launch: ${NEW_GROUP} with 2 instance(s) (configured 2, live 2); carried over from ${OLD_GROUP}: scheduled actions nightly; scaling held on ${OLD_GROUP} until cutover`,
    );
  });

  it("a source with neither, and configured target tracking: only the new group is held", async () => {
    // Arrange
    givenLive([describedGroup(OLD_GROUP)]);

    // Act
    const carryOver = await prepareCarryOver(stateWith([OLD_GROUP], { scaling: { targetTracking: { metric: "cpu", targetValue: 50 }, scheduledActions: [] } }), NEW_GROUP, TARGET);

    // Assert
    expect(suspendCalls()).toEqual([]);
    expect(carryOver.plan.hold).toEqual(["AlarmNotification"]);
    expect(carryOver.tags(NEW_GROUP)).toEqual([holdTag(NEW_GROUP, "AlarmNotification")]);
    expect(carryOver.message(NEW_GROUP, 2)).toBe(
      `launch: ${NEW_GROUP} with 2 instance(s) (configured 2, live 2); nothing to carry over from ${OLD_GROUP}; configured: target tracking cpu 50; scaling held on ${NEW_GROUP} until cutover`,
    );
  });
});

describe("what the live group's describes leave out", () => {
  it.each([
    { case: "no termination policies, no cooldown", fields: { TerminationPolicies: undefined, DefaultCooldown: undefined } },
    { case: "an empty list of termination policies", fields: { TerminationPolicies: [] } },
  ])("carries nothing for pages without policies, schedules or hooks, and $case", async ({ fields }) => {
    // Arrange
    givenLive([describedGroup(OLD_GROUP, fields)]);
    autoScalingMock.on(DescribePoliciesCommand).resolves({});
    autoScalingMock.on(DescribeScheduledActionsCommand).resolves({});
    autoScalingMock.on(DescribeLifecycleHooksCommand).resolves({});

    // Act
    const carryOver = await prepareCarryOver(stateWith([OLD_GROUP]), NEW_GROUP, TARGET);

    // Assert
    expect(carryOver.plan.create).toStrictEqual({});
    expect(carryOver.plan.policies).toEqual([]);
    expect(carryOver.plan.scheduledActions).toEqual([]);
    expect(carryOver.message(NEW_GROUP, 2)).toBe(`launch: ${NEW_GROUP} with 2 instance(s) (configured 2, live 2); nothing to carry over from ${OLD_GROUP}`);
  });
});

describe("scaling policies and their alarms", () => {
  it("reads the alarms of step and simple policies only (target tracking and predictive policies own theirs)", async () => {
    // Arrange
    const forecast: ScalingPolicy = { PolicyName: "forecast", PolicyARN: policyArn(OLD_GROUP, "forecast"), PolicyType: "PredictiveScaling", Alarms: [{ AlarmName: "forecast-alarm" }] };
    givenLive([describedGroup(OLD_GROUP)], { [OLD_GROUP]: { policies: [cpuTarget("cpu-55", 55), forecast, { ...stepPolicy("cpu-high", ["cpu-high"]), Alarms: [{ AlarmName: "cpu-high" }, {}] }] } });

    // Act
    await prepareCarryOver(stateWith([OLD_GROUP]), NEW_GROUP, TARGET);

    // Assert
    expect(cloudWatchMock.commandCalls(DescribeAlarmsCommand).map((call) => call.args[0].input)).toEqual([{ AlarmNames: ["cpu-high"], AlarmTypes: ["MetricAlarm"] }]);
  });

  it("asks for 100 alarm names a call", async () => {
    // Arrange
    const names = Array.from({ length: 101 }, (_, i) => `alarm-${String(i).padStart(3, "0")}`);
    givenLive([describedGroup(OLD_GROUP)], { [OLD_GROUP]: { policies: [stepPolicy("many", names)] } });

    // Act
    await prepareCarryOver(stateWith([OLD_GROUP]), NEW_GROUP, TARGET);

    // Assert
    expect(cloudWatchMock.commandCalls(DescribeAlarmsCommand).map((call) => call.args[0].input.AlarmNames)).toEqual([names.slice(0, 100), names.slice(100)]);
  });

  it("copies the alarms that act on a carried policy: named after the new group, on its metrics, acting on its policies", async () => {
    // Arrange
    const longName = "x".repeat(250);
    const copyOfCopy = `${OLD_GROUP}:queue-deep`;
    const metric = (Id: string, Dimensions: { Name: string; Value: string }[]) => ({ Id, MetricStat: { Metric: { Namespace: "Shop", MetricName: "Backlog", Dimensions }, Period: 60, Stat: "Sum" } });
    const alarms: MetricAlarm[] = [
      {
        AlarmName: "cpu-high",
        MetricName: "CPUUtilization",
        Namespace: "AWS/EC2",
        Statistic: "Average",
        Dimensions: [{ Name: "AutoScalingGroupName", Value: OLD_GROUP }],
        Period: 60,
        EvaluationPeriods: 2,
        Threshold: 70,
        ComparisonOperator: "GreaterThanThreshold",
        AlarmActions: [policyArn(OLD_GROUP, "cpu-high"), TOPIC],
        OKActions: [TOPIC],
      },
      { AlarmName: longName, EvaluationPeriods: 1, InsufficientDataActions: [policyArn(OLD_GROUP, "cpu-high")] },
      {
        AlarmName: copyOfCopy,
        // The group's metric, another group's (not renamed), and a queue named after the group (not a group dimension).
        Metrics: [
          metric("mine", [{ Name: "AutoScalingGroupName", Value: OLD_GROUP }]),
          metric("theirs", [{ Name: "AutoScalingGroupName", Value: "shop-dev01-other" }]),
          metric("queue", [{ Name: "QueueName", Value: OLD_GROUP }]),
        ],
        EvaluationPeriods: 1,
        AlarmActions: [policyArn(OLD_GROUP, "add-one")],
      },
      // Its policy action removed by the operator: it acts on no carried policy.
      { AlarmName: "topic-only", EvaluationPeriods: 1, AlarmActions: [TOPIC] },
    ];
    givenLive([describedGroup(OLD_GROUP)], {
      [OLD_GROUP]: {
        policies: [stepPolicy("cpu-high", ["cpu-high", longName]), stepPolicy("add-one", [copyOfCopy]), stepPolicy("notify", ["topic-only"])],
        alarms,
      },
    });
    // add-one's ARN not in PutScalingPolicy's answer: its alarm keeps the action it had.
    autoScalingMock.on(PutScalingPolicyCommand, { PolicyName: "add-one" }).resolves({});
    const carryOver = await prepareCarryOver(stateWith([OLD_GROUP]), NEW_GROUP, TARGET);

    // Act
    await carryOver.apply(NEW_GROUP);

    // Assert
    expect(carryOver.plan.alarms.map((alarm) => alarm.AlarmName)).toEqual(["cpu-high", longName, copyOfCopy]);
    const tags = [
      { Key: TAG.app, Value: "shop" },
      { Key: TAG.environment, Value: "dev01" },
    ];
    expect(cloudWatchMock.commandCalls(PutMetricAlarmCommand).map((call) => call.args[0].input)).toEqual([
      {
        AlarmName: `${NEW_GROUP}:cpu-high`,
        MetricName: "CPUUtilization",
        Namespace: "AWS/EC2",
        Statistic: "Average",
        Dimensions: [{ Name: "AutoScalingGroupName", Value: NEW_GROUP }],
        Period: 60,
        EvaluationPeriods: 2,
        Threshold: 70,
        ComparisonOperator: "GreaterThanThreshold",
        AlarmActions: [policyArn(NEW_GROUP, "cpu-high"), TOPIC],
        OKActions: [TOPIC],
        Tags: tags,
      },
      { AlarmName: `${NEW_GROUP}:${longName}`.slice(0, 255), EvaluationPeriods: 1, InsufficientDataActions: [policyArn(NEW_GROUP, "cpu-high")], Tags: tags },
      {
        AlarmName: `${NEW_GROUP}:queue-deep`,
        Metrics: [
          metric("mine", [{ Name: "AutoScalingGroupName", Value: NEW_GROUP }]),
          metric("theirs", [{ Name: "AutoScalingGroupName", Value: "shop-dev01-other" }]),
          metric("queue", [{ Name: "QueueName", Value: OLD_GROUP }]),
        ],
        EvaluationPeriods: 1,
        AlarmActions: [policyArn(OLD_GROUP, "add-one")],
        Tags: tags,
      },
    ]);
    expect(`${NEW_GROUP}:${longName}`.length).toBeGreaterThan(255);
  });

  it("a configured target on CPU replaces each live CPU target, named in the message; a target on another metric stays", async () => {
    // Arrange
    const network: ScalingPolicy = {
      PolicyName: "network-in",
      PolicyARN: policyArn(OLD_GROUP, "network-in"),
      PolicyType: "TargetTrackingScaling",
      TargetTrackingConfiguration: { PredefinedMetricSpecification: { PredefinedMetricType: "ASGAverageNetworkIn" }, TargetValue: 1e6 },
    };
    givenLive([describedGroup(OLD_GROUP)], { [OLD_GROUP]: { policies: [cpuTarget("cpu-40", 40), network, cpuTarget("cpu-60", 60)] } });

    // Act
    const carryOver = await prepareCarryOver(stateWith([OLD_GROUP], { scaling: { targetTracking: { metric: "cpu", targetValue: 50 }, scheduledActions: [] } }), NEW_GROUP, TARGET);

    // Assert
    expect(carryOver.plan.policies.map((policy) => policy.PolicyName)).toEqual(["network-in", "immutable-deploy-target-tracking"]);
    expect(carryOver.message(NEW_GROUP, 2)).toContain("; configured: target tracking cpu 50 (in place of cpu-40, cpu-60);");
  });
});

describe("scheduled actions", () => {
  it("carries what is still to come, and what the configuration does not replace at the same time and time zone", async () => {
    // Arrange: now is NOW; a one-time action is carried only if it starts more than 60 s from now.
    const at = (seconds: number) => new Date((NOW + seconds) * 1000);
    const live: ScheduledUpdateGroupAction[] = [
      { ScheduledActionName: "in-30s", StartTime: at(30), DesiredCapacity: 3 },
      { ScheduledActionName: "in-60s", StartTime: at(60), DesiredCapacity: 3 },
      { ScheduledActionName: "in-61s", StartTime: at(61), DesiredCapacity: 3 },
      { ScheduledActionName: "an-hour-ago", StartTime: at(-3600), DesiredCapacity: 3 },
      // Recurring: a start in the past is left out (AWS refuses it); one without end, or ending later, is carried.
      { ScheduledActionName: "berlin-mornings", Recurrence: "0 8 * * *", TimeZone: "Europe/Berlin", StartTime: at(-86_400), DesiredCapacity: 4 },
      { ScheduledActionName: "mondays-until-tomorrow", Recurrence: "0 0 * * 1", EndTime: at(86_400), DesiredCapacity: 2 },
      { ScheduledActionName: "over", Recurrence: "0 0 * * 2", EndTime: at(-1), DesiredCapacity: 2 },
      // The same time as a configured one (no time zone is UTC): replaced.
      { ScheduledActionName: "evenings", Recurrence: "0 20 * * *", DesiredCapacity: 1 },
      // What an earlier configuration applied.
      { ScheduledActionName: "immutable-deploy-weekend", Recurrence: "0 0 * * 6", DesiredCapacity: 1 },
    ];
    givenLive([describedGroup(OLD_GROUP)], { [OLD_GROUP]: { scheduledActions: live } });
    const scaling = {
      scheduledActions: [
        { name: "utc-mornings", recurrence: "0 8 * * *", desiredCapacity: 2 },
        { name: "utc-evenings", recurrence: "0 20 * * *", timeZone: "UTC", desiredCapacity: 1 },
      ],
    };

    // Act
    const carryOver = await prepareCarryOver(stateWith([OLD_GROUP], { scaling }), NEW_GROUP, TARGET);

    // Assert
    expect(carryOver.plan.scheduledActions).toStrictEqual([
      { AutoScalingGroupName: NEW_GROUP, ScheduledActionName: "in-61s", StartTime: at(61), DesiredCapacity: 3 },
      { AutoScalingGroupName: NEW_GROUP, ScheduledActionName: "berlin-mornings", Recurrence: "0 8 * * *", TimeZone: "Europe/Berlin", DesiredCapacity: 4 },
      { AutoScalingGroupName: NEW_GROUP, ScheduledActionName: "mondays-until-tomorrow", Recurrence: "0 0 * * 1", EndTime: at(86_400), DesiredCapacity: 2 },
      { AutoScalingGroupName: NEW_GROUP, ScheduledActionName: "immutable-deploy-utc-mornings", Recurrence: "0 8 * * *", DesiredCapacity: 2 },
      { AutoScalingGroupName: NEW_GROUP, ScheduledActionName: "immutable-deploy-utc-evenings", Recurrence: "0 20 * * *", DesiredCapacity: 1, TimeZone: "UTC" },
    ]);
    expect(carryOver.message(NEW_GROUP, 2)).toContain(
      "carried over from shop-dev01-v1-run-0: scheduled actions in-61s, berlin-mornings, mondays-until-tomorrow; " +
        "configured: scheduled actions immutable-deploy-utc-mornings, immutable-deploy-utc-evenings;",
    );
  });
});

describe("the configuration's own", () => {
  it("names the mixed instance types in the message", async () => {
    // Arrange
    const mixedInstances = { instanceTypes: ["t3.micro", "t3a.micro"], onDemandBaseCapacity: 0, onDemandPercentageAboveBaseCapacity: 0, spotAllocationStrategy: "capacity-optimized" };

    // Act
    const carryOver = await prepareCarryOver(stateWith([], { mixedInstances }), NEW_GROUP, TARGET);

    // Assert
    expect(carryOver.message(NEW_GROUP, 2)).toBe(`launch: ${NEW_GROUP} with 2 instance(s) (configured 2); configured: mixed instances t3.micro, t3a.micro`);
  });

  it("tracks requests per target with the label of the new group's target group and its load balancer", async () => {
    // Arrange
    elbv2Mock.on(DescribeTargetGroupsCommand).resolves({
      TargetGroups: [{ LoadBalancerArns: ["arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/shop-dev01/0123456789abcdef"] }],
    });

    // Act
    const carryOver = await prepareCarryOver(stateWith([], { scaling: { targetTracking: { metric: "requestCountPerTarget", targetValue: 600 }, scheduledActions: [] } }), NEW_GROUP, TARGET);

    // Assert
    expect(elbv2Mock.commandCalls(DescribeTargetGroupsCommand).map((call) => call.args[0].input)).toEqual([{ TargetGroupArns: [ALTERNATE_TARGET_GROUP_ARN] }]);
    expect(carryOver.plan.policies.map((policy) => policy.TargetTrackingConfiguration?.PredefinedMetricSpecification)).toEqual([
      { PredefinedMetricType: "ALBRequestCountPerTarget", ResourceLabel: "app/shop-dev01/0123456789abcdef/targetgroup/web-alt/def" },
    ]);
  });

  it.each([
    { case: "a classic load balancer", target: { kind: "classic", loadBalancerName: CLASSIC_LB_NAME } as const, message: 'scaling.targetTracking: "requestCountPerTarget" needs an application load balancer' },
    { case: "no target group", target: TARGET, targetGroups: [], message: `scaling.targetTracking: target group ${ALTERNATE_TARGET_GROUP_ARN} is attached to no load balancer, so requests per target cannot be tracked` },
    { case: "a target group on no load balancer", target: TARGET, targetGroups: [{}], message: `scaling.targetTracking: target group ${ALTERNATE_TARGET_GROUP_ARN} is attached to no load balancer, so requests per target cannot be tracked` },
  ])("fails the launch for requests per target with $case", async ({ target, targetGroups, message }) => {
    // Arrange
    elbv2Mock.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: targetGroups });
    const state = stateWith([], { scaling: { targetTracking: { metric: "requestCountPerTarget", targetValue: 600 }, scheduledActions: [] } });

    // Act
    const error = await prepareCarryOver(state, NEW_GROUP, target).catch((caught: unknown) => caught);

    // Assert
    expect(error).toBeInstanceOf(LaunchFailedError);
    expect((error as Error).message).toBe(message);
  });
});
