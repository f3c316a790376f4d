import "aws-sdk-client-mock-vitest/extend";
import {
  AttachLoadBalancersCommand,
  AutoScalingClient,
  type AutoScalingGroup,
  DescribeAutoScalingGroupsCommand,
  type DescribeAutoScalingGroupsCommandInput,
  DetachLoadBalancersCommand,
} from "@aws-sdk/client-auto-scaling";
import { CloudWatchClient, DescribeAlarmsCommand, type DescribeAlarmsCommandInput, type MetricAlarm } from "@aws-sdk/client-cloudwatch";
import { type AttributeValue, DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { DescribeInstanceHealthCommand, ElasticLoadBalancingClient, type InstanceState } from "@aws-sdk/client-elastic-load-balancing";
import {
  CreateRuleCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  ModifyRuleCommand,
  type TargetHealthReasonEnum,
  type TargetHealthStateEnum,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { handler, shiftTraffic, WATCH_POLL_SECONDS } from "../../functions/shiftTraffic.js";
import { resetClock, setClock } from "../../functions/lib/clock.js";
import type { CutoverResult, CutoverSettings, DeployState } from "../../functions/lib/contract.js";
import { ERROR } from "../../functions/lib/names.js";
import { POLL_BOUNDS } from "../../functions/lib/polling.js";
import {
  ALTERNATE_TARGET_GROUP_ARN,
  CLASSIC_LB_NAME,
  CUTOVER_RULE_ARN,
  deployState,
  EXECUTION_ID,
  givenRouting,
  group,
  instances,
  lambdaContext,
  LISTENER_ARN,
  type LoadBalancerKind,
  NEW_GROUP,
  NOW,
  OLD_GROUP,
  oldSnapshot,
  TARGET_GROUP_ARN,
} from "./fixtures.js";

const autoScalingMock = mockClient(AutoScalingClient);
/** The lock item: who holds it, and an operator's approval or rollback request for the holder. */
const dynamoMock = mockClient(DynamoDBClient);
const elbv2Mock = mockClient(ElasticLoadBalancingV2Client);
const elbMock = mockClient(ElasticLoadBalancingClient);
const cloudWatchMock = mockClient(CloudWatchClient);

/** The built-in alarms the Environment stack made for the new group's target (fixtures.ts: the alternate target group). */
const NEW_TARGET_ALARMS = ["shop-dev01-1-target5xx", "shop-dev01-1-unhealthyhosts"];
/** The classic load balancer's built-in alarms. */
const CLASSIC_ALARMS = ["shop-dev01-0-target5xx", "shop-dev01-0-unhealthyhosts"];

/** NOW and the moments the messages name, as the messages write them. */
const T0 = "2025-06-15T15:06:40Z";
const T_PLUS_5 = "2025-06-15T15:06:45Z";
const T_PLUS_300 = "2025-06-15T15:11:40Z";
const T_PLUS_600 = "2025-06-15T15:16:40Z";
/** Launch started NOW - 1200 (healthyBy NOW + 600 minus both health timeouts of 900 s). */
const BOTH_RUNNING = "; both groups running for 20 min (2 old + 2 new instances)";

// ---- what AWS answers ------------------------------------------------------------------------------------------

let groups: AutoScalingGroup[] = [];
function givenGroups(...described: AutoScalingGroup[]) {
  groups = described;
}

const alarm = (name: string, fields: Partial<MetricAlarm> = {}): MetricAlarm => ({ AlarmName: name, StateValue: "OK", ...fields });
/** CloudWatch knows exactly these alarms; DescribeAlarms answers those it is asked about. */
function givenAlarms(...alarms: MetricAlarm[]) {
  cloudWatchMock.on(DescribeAlarmsCommand).callsFake((input: DescribeAlarmsCommandInput) => ({
    MetricAlarms: alarms.filter((a) => (input.AlarmNames ?? []).includes(a.AlarmName ?? "")),
  }));
}
const alarmCalls = () => cloudWatchMock.commandCalls(DescribeAlarmsCommand).map((call) => call.args[0].input);

function givenTargetHealth(states: Record<string, TargetHealthStateEnum>, reasons: Record<string, { Reason: TargetHealthReasonEnum; Description: string }> = {}) {
  elbv2Mock.on(DescribeTargetHealthCommand).resolves({
    TargetHealthDescriptions: Object.entries(states).map(([id, state]) => ({ Target: { Id: id, Port: 80 }, TargetHealth: { State: state, ...reasons[id] } })),
  });
}

function givenClassicHealth(states: InstanceState[]) {
  elbMock.on(DescribeInstanceHealthCommand).resolves({ InstanceStates: states });
}
const inService = (id: string): InstanceState => ({ InstanceId: id, State: "InService", ReasonCode: "N/A", Description: "N/A" });
const FAILED_CHECKS = "Instance has failed at least the UnhealthyThreshold number of health checks consecutively.";
const outOfService = (id: string): InstanceState => ({ InstanceId: id, State: "OutOfService", ReasonCode: "Instance", Description: FAILED_CHECKS });

function givenLock(fields: Record<string, AttributeValue> = {}, holder = EXECUTION_ID) {
  dynamoMock.on(GetItemCommand).resolves({
    Item: { lockId: { S: "shop#dev01" }, holder: { S: holder }, release: { S: "v2" }, acquiredAt: { N: "1" }, ...fields },
  });
}
/** `npx immutable-deploy approve` as recorded on the lock item (functions/lib/lock.ts, cutoverActionUpdate). */
const approvedBy = (by: string, at: number, forExecution = EXECUTION_ID): Record<string, AttributeValue> => ({
  approvedFor: { S: forExecution },
  approvedBy: { S: by },
  approvedAt: { N: String(at) },
});
/** `npx immutable-deploy rollback` during the cutover, as recorded on the lock item. */
const rollbackRequestedBy = (by: string, at: number, forExecution = EXECUTION_ID): Record<string, AttributeValue> => ({
  rollbackRequestedFor: { S: forExecution },
  rollbackRequestedBy: { S: by },
  rollbackRequestedAt: { N: String(at) },
});

// ---- the state the state machine passes ------------------------------------------------------------------------

/** The state after Launch, with the stage's cutover settings changed and the cutover's last poll (when there was one). */
function state(kind: LoadBalancerKind, cutover: Partial<CutoverSettings> = {}, last?: CutoverResult, overrides: Partial<DeployState> = {}): DeployState {
  const base = deployState(kind, overrides);
  return { ...base, settings: { ...base.settings, cutover: { ...base.settings.cutover, ...cutover } }, ...(last && { cutover: last }) };
}

/** What the last poll recorded: `percent` % on the new release (the alternate target group) since `since`. */
function at(percent: number, since: number, fields: Partial<CutoverResult> = {}): CutoverResult {
  return {
    status: "waiting",
    nextPollSeconds: WATCH_POLL_SECONDS,
    message: "cutover: the last poll",
    strategy: "canary",
    newTarget: ALTERNATE_TARGET_GROUP_ARN,
    oldTarget: TARGET_GROUP_ARN,
    percent,
    percentSince: since,
    trafficSince: since,
    ...fields,
  };
}

/** The classic load balancer's cutover: all at once, no target groups. */
function classicAt(percent: number, since: number, fields: Partial<CutoverResult> = {}): CutoverResult {
  return {
    status: "waiting",
    nextPollSeconds: WATCH_POLL_SECONDS,
    message: "cutover: the last poll",
    strategy: "all-at-once",
    newTarget: CLASSIC_LB_NAME,
    percent,
    percentSince: since,
    trafficSince: since,
    ...fields,
  };
}

/** The pipeline's rule sending `percent` % to the new group's target group (the alternate) and the rest to the old one. */
const rule = (percent: number, newArn = ALTERNATE_TARGET_GROUP_ARN, oldArn = TARGET_GROUP_ARN) => ({
  Type: "forward" as const,
  ForwardConfig: { TargetGroups: [{ TargetGroupArn: newArn, Weight: percent }, { TargetGroupArn: oldArn, Weight: 100 - percent }] },
});
const ruleChanges = () => elbv2Mock.commandCalls(ModifyRuleCommand).map((call) => call.args[0].input);
const detachments = () => autoScalingMock.commandCalls(DetachLoadBalancersCommand).map((call) => call.args[0].input);
const attachments = () => autoScalingMock.commandCalls(AttachLoadBalancersCommand).map((call) => call.args[0].input);

const oldGroup = (kind: LoadBalancerKind = "application", fields: Parameters<typeof group>[1] = {}) =>
  group(OLD_GROUP, { kind, Instances: instances(2, "InService", "Healthy", "i-old"), ...fields });
const newGroup = (kind: LoadBalancerKind = "application", fields: Parameters<typeof group>[1] = {}) =>
  group(NEW_GROUP, { kind, ...(kind === "application" && { TargetGroupARNs: [ALTERNATE_TARGET_GROUP_ARN] }), Instances: instances(2), ...fields });

let now = NOW;

beforeEach(() => {
  dynamoMock.reset();
  givenLock();
  autoScalingMock.reset();
  givenGroups(oldGroup(), newGroup());
  autoScalingMock.on(DescribeAutoScalingGroupsCommand).callsFake((input: DescribeAutoScalingGroupsCommandInput) => ({
    AutoScalingGroups: groups.filter((g) => (input.AutoScalingGroupNames ?? []).includes(g.AutoScalingGroupName ?? "")),
  }));
  elbv2Mock.reset();
  // An earlier deploy created the pipeline's rule; all traffic is on the first target group, where the old group serves.
  givenRouting(elbv2Mock, 0);
  givenTargetHealth({ "i-new0000": "healthy", "i-new0001": "healthy", "i-old0000": "healthy" });
  elbMock.reset();
  givenClassicHealth([inService("i-new0000"), inService("i-new0001")]);
  cloudWatchMock.reset();
  givenAlarms(...[...NEW_TARGET_ALARMS, ...CLASSIC_ALARMS, "shop-latency", "shop-errors"].map((name) => alarm(name)));
  now = NOW;
  setClock(() => now * 1000);
});
afterEach(() => resetClock());

describe("shiftTraffic, the first poll", () => {
  it("refuses alarm names CloudWatch does not know and moves nothing", async () => {
    // Prepare
    const deploy = state("application", { alarms: ["shop-latency", "shop-latncy", "shop-erors"] });

    // Act
    const result = await shiftTraffic(deploy);

    // Assess
    expect(result).toEqual({
      status: "failed",
      nextPollSeconds: 0,
      message: "cutover: no CloudWatch alarm named shop-latncy, shop-erors (cutover.alarms must name existing alarms; nothing was moved)",
      strategy: "canary",
      newTarget: ALTERNATE_TARGET_GROUP_ARN,
      oldTarget: TARGET_GROUP_ARN,
      percent: 0,
      percentSince: NOW,
      trafficSince: NOW,
    });
    expect(alarmCalls()).toEqual([{ AlarmNames: [...NEW_TARGET_ALARMS, "shop-latency", "shop-latncy", "shop-erors"], AlarmTypes: ["MetricAlarm"] }]);
    expect(elbv2Mock).not.toHaveReceivedCommand(ModifyRuleCommand);
    expect(elbv2Mock).not.toHaveReceivedCommand(CreateRuleCommand);
  });

  it("names a missing built-in alarm too (one name twice is asked about once)", async () => {
    // Prepare: the Environment stack's alarm for the target group was deleted by hand.
    givenAlarms(alarm(NEW_TARGET_ALARMS[0]));
    const deploy = state("application", { alarms: [NEW_TARGET_ALARMS[0]] });

    // Act
    const result = await shiftTraffic(deploy);

    // Assess
    expect(result.status).toBe("failed");
    expect(result.message).toBe(`cutover: no CloudWatch alarm named ${NEW_TARGET_ALARMS[1]} (cutover.alarms must name existing alarms; nothing was moved)`);
    expect(alarmCalls()).toEqual([{ AlarmNames: NEW_TARGET_ALARMS, AlarmTypes: ["MetricAlarm"] }]);
  });

  it("moves the canary's share: the rule weights the new target group 10, the old 90, and the step is watched for stepSeconds", async () => {
    // Act
    const result = await shiftTraffic(state("application"));

    // Assess
    expect(ruleChanges()).toEqual([{ RuleArn: CUTOVER_RULE_ARN, Actions: [rule(10)] }]);
    expect(result).toEqual({
      status: "waiting",
      nextPollSeconds: 15,
      message: `cutover: 10 % of requests on the new release (target group ${ALTERNATE_TARGET_GROUP_ARN}) until ${T_PLUS_300}, then 100 %${BOTH_RUNNING}`,
      strategy: "canary",
      newTarget: ALTERNATE_TARGET_GROUP_ARN,
      oldTarget: TARGET_GROUP_ARN,
      percent: 10,
      percentSince: NOW,
      trafficSince: NOW,
    });
    // Nothing is watched before traffic moves: no target health read.
    expect(elbv2Mock).not.toHaveReceivedCommand(DescribeTargetHealthCommand);
  });

  it("moves the first linear step and names the next", async () => {
    // Act
    const result = await shiftTraffic(state("application", { strategy: "linear", stepPercent: 25, stepSeconds: 60 }));

    // Assess
    expect(ruleChanges()).toEqual([{ RuleArn: CUTOVER_RULE_ARN, Actions: [rule(25)] }]);
    expect(result).toMatchObject({ strategy: "linear", percent: 25, percentSince: NOW, trafficSince: NOW, nextPollSeconds: 15 });
    expect(result.message).toBe(`cutover: 25 % of requests on the new release (target group ${ALTERNATE_TARGET_GROUP_ARN}) until 2025-06-15T15:07:40Z, then 50 %${BOTH_RUNNING}`);
    expect(result.bakeTimeEndsAt).toBeUndefined();
  });

  it("creates the pipeline's rule when the listener has none yet (the first cutover in the environment)", async () => {
    // Prepare
    givenRouting(elbv2Mock);

    // Act
    const result = await shiftTraffic(state("application"));

    // Assess
    expect(elbv2Mock).toHaveReceivedCommandWith(CreateRuleCommand, {
      ListenerArn: LISTENER_ARN,
      Priority: 50000,
      Conditions: [{ Field: "path-pattern", PathPatternConfig: { Values: ["*"] } }],
      Actions: [rule(10)],
    });
    expect(elbv2Mock).not.toHaveReceivedCommand(ModifyRuleCommand);
    expect(result.percent).toBe(10);
  });

  it("routes from the target group that serves now: the old groups on the alternate, the new group on the first", async () => {
    // Prepare
    givenRouting(elbv2Mock, 100);
    givenGroups(oldGroup("application", { TargetGroupARNs: [ALTERNATE_TARGET_GROUP_ARN] }), newGroup("application", { TargetGroupARNs: [TARGET_GROUP_ARN] }));
    const deploy = state("application", {}, undefined, { launch: { ...deployState().launch!, target: TARGET_GROUP_ARN } });

    // Act
    const result = await shiftTraffic(deploy);

    // Assess
    expect(ruleChanges()).toEqual([{ RuleArn: CUTOVER_RULE_ARN, Actions: [rule(10, TARGET_GROUP_ARN, ALTERNATE_TARGET_GROUP_ARN)] }]);
    expect(result).toMatchObject({ newTarget: TARGET_GROUP_ARN, oldTarget: ALTERNATE_TARGET_GROUP_ARN });
    expect(alarmCalls()[0].AlarmNames).toEqual(["shop-dev01-0-target5xx", "shop-dev01-0-unhealthyhosts"]);
  });

  it("takes the other target group as the old one when the rule weights the new group's own target group most", async () => {
    // Prepare: the listener sends everything to the first target group, where the new group was attached.
    givenRouting(elbv2Mock, 0);
    const deploy = state("application", {}, undefined, { launch: { ...deployState().launch!, target: TARGET_GROUP_ARN } });

    // Act
    const result = await shiftTraffic(deploy);

    // Assess
    expect(result).toMatchObject({ newTarget: TARGET_GROUP_ARN, oldTarget: ALTERNATE_TARGET_GROUP_ARN, percent: 10 });
    expect(ruleChanges()).toEqual([{ RuleArn: CUTOVER_RULE_ARN, Actions: [rule(10, TARGET_GROUP_ARN, ALTERNATE_TARGET_GROUP_ARN)] }]);
  });

  it.each([
    ["no live group", []],
    ["only groups that no longer served", [{ ...oldSnapshot, serving: false }]],
  ])("a first release (%s) takes all traffic at once, without approval or bake time", async (_, liveGroups) => {
    // Prepare
    const deploy = state("application", { strategy: "linear", stepPercent: 10, approval: { timeoutSeconds: 600 }, bakeTimeSeconds: 600 }, undefined, {
      plan: { ...deployState().plan!, liveGroups },
    });

    // Act
    const result = await shiftTraffic(deploy);

    // Assess
    expect(ruleChanges()).toEqual([{ RuleArn: CUTOVER_RULE_ARN, Actions: [rule(100)] }]);
    expect(result).toEqual({
      status: "ready",
      nextPollSeconds: 0,
      message: `cutover: 100 % of requests on the new release (target group ${ALTERNATE_TARGET_GROUP_ARN}) since ${T0}; bake time over, nothing breached; both groups running for 20 min (0 old + 2 new instances)`,
      strategy: "all-at-once",
      newTarget: ALTERNATE_TARGET_GROUP_ARN,
      oldTarget: TARGET_GROUP_ARN,
      percent: 100,
      percentSince: NOW,
      trafficSince: NOW,
      bakeTimeEndsAt: NOW,
    });
  });

  it("a state without $.plan counts as a first release (nothing served)", async () => {
    // Act
    const result = await shiftTraffic(state("application", {}, undefined, { plan: undefined }));

    // Assess
    expect(ruleChanges()).toEqual([{ RuleArn: CUTOVER_RULE_ARN, Actions: [rule(100)] }]);
    expect(result).toMatchObject({ status: "ready", strategy: "all-at-once" });
    expect(result.message).toMatch(/; both groups running for 20 min \(0 old \+ 2 new instances\)$/);
  });

  it("does not count the new group itself as one to switch back to (a re-run that listed it as live)", async () => {
    // Prepare
    const plan = { ...deployState().plan!, liveGroups: [{ ...oldSnapshot, name: NEW_GROUP }] };

    // Act
    const result = await shiftTraffic(state("application", {}, undefined, { plan }));

    // Assess
    expect(result).toMatchObject({ status: "ready", strategy: "all-at-once", percent: 100 });
  });

  it.each([
    [90, "90 s"],
    [119, "119 s"],
    [120, "2 min"],
    [150, "3 min"],
  ])("says for how long both groups have run (%i s)", async (seconds, running) => {
    // Prepare: Launch started at healthyBy minus the two health timeouts (900 s each).
    const launch = { ...deployState().launch!, healthyBy: NOW - seconds + 1800 };

    // Act
    const result = await shiftTraffic(state("application", {}, undefined, { launch }));

    // Assess
    expect(result.message).toContain(`; both groups running for ${running} (2 old + 2 new instances)`);
  });

  it("all at once (not a first release) moves to 100 % and bakes", async () => {
    // Act
    const result = await shiftTraffic(state("application", { strategy: "all-at-once", bakeTimeSeconds: 600 }));

    // Assess
    expect(ruleChanges()).toEqual([{ RuleArn: CUTOVER_RULE_ARN, Actions: [rule(100)] }]);
    expect(result).toEqual({
      status: "waiting",
      nextPollSeconds: 15,
      message: `cutover: 100 % of requests on the new release (target group ${ALTERNATE_TARGET_GROUP_ARN}); bake time until ${T_PLUS_600}, old groups ready${BOTH_RUNNING}`,
      strategy: "all-at-once",
      newTarget: ALTERNATE_TARGET_GROUP_ARN,
      oldTarget: TARGET_GROUP_ARN,
      percent: 100,
      percentSince: NOW,
      trafficSince: NOW,
      bakeTimeEndsAt: NOW + 600,
    });
  });
});

describe("shiftTraffic, watching a level", () => {
  it.each([
    [NOW - 290, 10],
    [NOW - 100, 15],
    [NOW - 299, 1],
  ])("waits (level set at %i) until the step is over, at most 15 s at a time, and moves nothing", async (since, seconds) => {
    // Act
    const result = await shiftTraffic(state("application", {}, at(10, since)));

    // Assess
    expect(result.status).toBe("waiting");
    expect(result.nextPollSeconds).toBe(seconds);
    expect(result.percent).toBe(10);
    expect(result.percentSince).toBe(since);
    expect(elbv2Mock).not.toHaveReceivedCommand(ModifyRuleCommand);
    // It watched: the new group's targets and its alarms.
    expect(elbv2Mock).toHaveReceivedCommandWith(DescribeTargetHealthCommand, { TargetGroupArn: ALTERNATE_TARGET_GROUP_ARN });
    expect(alarmCalls()).toEqual([{ AlarmNames: NEW_TARGET_ALARMS, AlarmTypes: ["MetricAlarm"] }]);
  });

  it("says how long the level lasts and what comes next", async () => {
    // Act
    const result = await shiftTraffic(state("application", {}, at(10, NOW - 295)));

    // Assess
    expect(result.message).toBe(`cutover: 10 % of requests on the new release (target group ${ALTERNATE_TARGET_GROUP_ARN}) until ${T_PLUS_5}, then 100 %${BOTH_RUNNING}`);
    expect(result.nextPollSeconds).toBe(5);
  });

  it("moves to the next linear level once the step is over, keeping when traffic first moved", async () => {
    // Act
    const result = await shiftTraffic(state("application", { strategy: "linear", stepPercent: 25, stepSeconds: 60 }, at(25, NOW - 60, { strategy: "linear", trafficSince: NOW - 60 })));

    // Assess
    expect(ruleChanges()).toEqual([{ RuleArn: CUTOVER_RULE_ARN, Actions: [rule(50)] }]);
    expect(result).toMatchObject({ status: "waiting", percent: 50, percentSince: NOW, trafficSince: NOW - 60 });
    expect(result.bakeTimeEndsAt).toBeUndefined();
    expect(result.message).toContain("then 75 %");
  });

  it("moves to 100 % once the canary step is over and sets the end of the bake time", async () => {
    // Act
    const result = await shiftTraffic(state("application", {}, at(10, NOW - 300, { trafficSince: NOW - 300 })));

    // Assess
    expect(ruleChanges()).toEqual([{ RuleArn: CUTOVER_RULE_ARN, Actions: [rule(100)] }]);
    expect(result).toEqual({
      status: "waiting",
      nextPollSeconds: 15,
      message: `cutover: 100 % of requests on the new release (target group ${ALTERNATE_TARGET_GROUP_ARN}); bake time until ${T_PLUS_600}, old groups ready${BOTH_RUNNING}`,
      strategy: "canary",
      newTarget: ALTERNATE_TARGET_GROUP_ARN,
      oldTarget: TARGET_GROUP_ARN,
      percent: 100,
      percentSince: NOW,
      trafficSince: NOW - 300,
      bakeTimeEndsAt: NOW + 600,
    });
  });

  it("marks the watch whose next poll ends the bake time (endsNext: the state machine warms Retire up), and only that one", async () => {
    // Act
    const early = await shiftTraffic(state("application", {}, at(100, NOW - 500, { bakeTimeEndsAt: NOW + 100 })));
    const last = await shiftTraffic(state("application", {}, at(100, NOW - 590, { bakeTimeEndsAt: NOW + 10 })));
    const over = await shiftTraffic(state("application", {}, at(100, NOW - 600, { bakeTimeEndsAt: NOW, endsNext: true })));

    // Assess
    expect(early).toMatchObject({ status: "waiting", nextPollSeconds: 15 });
    expect(early.endsNext).toBeUndefined();
    expect(last).toMatchObject({ status: "waiting", nextPollSeconds: 10, endsNext: true });
    expect(over.status).toBe("ready");
    expect(over.endsNext).toBeUndefined();
  });

  it("waits out the bake time, then is ready (the point of no return)", async () => {
    // Act
    const baking = await shiftTraffic(state("application", {}, at(100, NOW - 595, { bakeTimeEndsAt: NOW + 5 })));
    const done = await shiftTraffic(state("application", {}, at(100, NOW - 600, { trafficSince: NOW - 900, bakeTimeEndsAt: NOW })));

    // Assess
    expect(baking).toMatchObject({ status: "waiting", nextPollSeconds: 5, percent: 100 });
    expect(baking.message).toBe(`cutover: 100 % of requests on the new release (target group ${ALTERNATE_TARGET_GROUP_ARN}); bake time until ${T_PLUS_5}, old groups ready${BOTH_RUNNING}`);
    expect(done).toEqual({
      status: "ready",
      nextPollSeconds: 0,
      message: `cutover: 100 % of requests on the new release (target group ${ALTERNATE_TARGET_GROUP_ARN}) since 2025-06-15T14:56:40Z; bake time over, nothing breached${BOTH_RUNNING}`,
      strategy: "canary",
      newTarget: ALTERNATE_TARGET_GROUP_ARN,
      oldTarget: TARGET_GROUP_ARN,
      percent: 100,
      percentSince: NOW - 600,
      trafficSince: NOW - 900,
      bakeTimeEndsAt: NOW,
    });
    expect(elbv2Mock).not.toHaveReceivedCommand(ModifyRuleCommand);
  });

  it("without a recorded end, the bake time runs from when 100 % was set", async () => {
    // Act
    const baking = await shiftTraffic(state("application", { bakeTimeSeconds: 600 }, at(100, NOW - 590)));
    const done = await shiftTraffic(state("application", { bakeTimeSeconds: 600 }, at(100, NOW - 600)));

    // Assess
    expect(baking).toMatchObject({ status: "waiting", nextPollSeconds: 10 });
    expect(done.status).toBe("ready");
  });

  it("asks only about the new group's instances in service", async () => {
    // Prepare: one instance terminating (unhealthy at the target group while it drains) and one without an id.
    givenGroups(oldGroup(), newGroup("application", { Instances: [...instances(1), ...instances(1, "Terminating", "Unhealthy", "i-gone"), { ...instances(1)[0], InstanceId: undefined }] }));
    givenTargetHealth({ "i-new0000": "healthy", "i-gone0000": "unhealthy" });

    // Act
    const result = await shiftTraffic(state("application", {}, at(10, NOW - 100)));

    // Assess
    expect(result.status).toBe("waiting");
    expect(elbv2Mock).not.toHaveReceivedCommand(ModifyRuleCommand);
  });

  it.each(["initial", "draining", "unused"] as TargetHealthStateEnum[])("does not count a %s target as a breach", async (targetState) => {
    // Prepare
    givenTargetHealth({ "i-new0000": "healthy", "i-new0001": targetState });

    // Act
    const result = await shiftTraffic(state("application", {}, at(10, NOW - 100)));

    // Assess
    expect(result.status).toBe("waiting");
  });

  it("does not ask about target health when the new group has no instance in service", async () => {
    // Prepare
    givenGroups(oldGroup(), newGroup("application", { Instances: [] }));

    // Act
    const result = await shiftTraffic(state("application", {}, at(10, NOW - 100)));

    // Assess
    expect(result.status).toBe("waiting");
    expect(elbv2Mock).not.toHaveReceivedCommand(DescribeTargetHealthCommand);
  });
});

describe("shiftTraffic, breaches", () => {
  it("switches all traffic back when a new target is unhealthy, and says what, when and at which share", async () => {
    // Prepare
    givenTargetHealth(
      { "i-new0000": "healthy", "i-new0001": "unhealthy" },
      { "i-new0001": { Reason: "Target.FailedHealthChecks", Description: "Health checks failed with these codes: [502]" } },
    );

    // Act
    const result = await shiftTraffic(state("application", {}, at(10, NOW - 100)));

    // Assess
    expect(ruleChanges()).toEqual([{ RuleArn: CUTOVER_RULE_ARN, Actions: [rule(0)] }]);
    const what = `target health at target group ${ALTERNATE_TARGET_GROUP_ARN}: i-new0001 unhealthy (Target.FailedHealthChecks: Health checks failed with these codes: [502])`;
    expect(result).toEqual({
      status: "failed",
      nextPollSeconds: 0,
      message: `cutover: ${what}; seen at ${T0} with 10 % of requests on the new release, all traffic back on the old groups at ${T0}${BOTH_RUNNING}`,
      strategy: "canary",
      newTarget: ALTERNATE_TARGET_GROUP_ARN,
      oldTarget: TARGET_GROUP_ARN,
      percent: 10,
      percentSince: NOW - 100,
      trafficSince: NOW - 100,
      breach: { what, at: NOW, switchedBackAt: NOW },
    });
    // A breach found, the alarms are not read.
    expect(cloudWatchMock).not.toHaveReceivedCommand(DescribeAlarmsCommand);
  });

  it("lists at most ten unhealthy targets", async () => {
    // Prepare
    givenGroups(oldGroup(), newGroup("application", { Instances: instances(12) }));
    givenTargetHealth(Object.fromEntries(instances(12).map((i) => [i.InstanceId!, "unhealthy" as TargetHealthStateEnum])));

    // Act
    const result = await shiftTraffic(state("application", {}, at(100, NOW - 100)));

    // Assess
    expect(result.breach?.what).toBe(
      `target health at target group ${ALTERNATE_TARGET_GROUP_ARN}: ${instances(10).map((i) => `${i.InstanceId} unhealthy`).join(", ")} and 2 more`,
    );
  });

  it("switches back on an alarm in ALARM, naming the one that fired first and since when", async () => {
    // Prepare
    givenAlarms(
      alarm(NEW_TARGET_ALARMS[0], { StateValue: "ALARM", StateUpdatedTimestamp: new Date((NOW - 30) * 1000 + 999), StateReason: "Threshold Crossed: 1 datapoint [9.0] > 5.0" }),
      alarm(NEW_TARGET_ALARMS[1], { StateValue: "OK" }),
      alarm("shop-latency", { StateValue: "ALARM", StateUpdatedTimestamp: new Date((NOW - 60) * 1000 + 500), StateReason: "Threshold Crossed: p99 > 2 s" }),
      alarm("shop-errors", { StateValue: "INSUFFICIENT_DATA" }),
    );

    // Act
    const result = await shiftTraffic(state("application", { alarms: ["shop-latency", "shop-errors"] }, at(10, NOW - 100)));

    // Assess
    expect(ruleChanges()).toEqual([{ RuleArn: CUTOVER_RULE_ARN, Actions: [rule(0)] }]);
    const what = "alarm shop-latency in ALARM since 2025-06-15T15:05:40Z (Threshold Crossed: p99 > 2 s)";
    expect(result.status).toBe("failed");
    expect(result.breach).toEqual({ what, at: NOW - 60, switchedBackAt: NOW });
    expect(result.message).toBe(`cutover: ${what}; seen at 2025-06-15T15:05:40Z with 10 % of requests on the new release, all traffic back on the old groups at ${T0}${BOTH_RUNNING}`);
  });

  it("takes the first of alarms that changed at the same moment, and says when no reason is given", async () => {
    // Prepare
    const since = new Date((NOW - 10) * 1000);
    givenAlarms(
      alarm(NEW_TARGET_ALARMS[0], { StateValue: "ALARM", StateUpdatedTimestamp: since }),
      alarm(NEW_TARGET_ALARMS[1], { StateValue: "ALARM", StateUpdatedTimestamp: since, StateReason: "the second" }),
    );

    // Act
    const result = await shiftTraffic(state("application", {}, at(10, NOW - 100)));

    // Assess
    expect(result.breach?.what).toBe(`alarm ${NEW_TARGET_ALARMS[0]} in ALARM since 2025-06-15T15:06:30Z (no reason given)`);
  });

  it("an alarm in ALARM without a timestamp counts from now and goes before one with a timestamp", async () => {
    // Prepare
    givenAlarms(
      alarm(NEW_TARGET_ALARMS[0], { StateValue: "ALARM", StateUpdatedTimestamp: new Date((NOW - 10) * 1000), StateReason: "dated" }),
      alarm(NEW_TARGET_ALARMS[1], { StateValue: "ALARM", StateReason: "undated" }),
    );

    // Act
    const result = await shiftTraffic(state("application", {}, at(10, NOW - 100)));

    // Assess
    expect(result.breach).toEqual({ what: `alarm ${NEW_TARGET_ALARMS[1]} in ALARM since ${T0} (undated)`, at: NOW, switchedBackAt: NOW });
  });

  it("keeps an undated alarm in ALARM listed first over a dated one", async () => {
    // Prepare
    givenAlarms(
      alarm(NEW_TARGET_ALARMS[0], { StateValue: "ALARM", StateReason: "undated" }),
      alarm(NEW_TARGET_ALARMS[1], { StateValue: "ALARM", StateUpdatedTimestamp: new Date((NOW - 10) * 1000), StateReason: "dated" }),
    );

    // Act
    const result = await shiftTraffic(state("application", {}, at(10, NOW - 100)));

    // Assess
    expect(result.breach?.what).toBe(`alarm ${NEW_TARGET_ALARMS[0]} in ALARM since ${T0} (undated)`);
  });

  it("switches back at an operator's rollback request, before looking at anything else", async () => {
    // Prepare
    givenLock(rollbackRequestedBy("alice", NOW - 7));
    givenTargetHealth({ "i-new0000": "unhealthy", "i-new0001": "unhealthy" });

    // Act
    const result = await shiftTraffic(state("application", {}, at(100, NOW - 100, { bakeTimeEndsAt: NOW + 500 })));

    // Assess
    expect(ruleChanges()).toEqual([{ RuleArn: CUTOVER_RULE_ARN, Actions: [rule(0)] }]);
    expect(result.status).toBe("failed");
    expect(result.breach).toEqual({ what: "operator alice asked for a rollback", at: NOW - 7, switchedBackAt: NOW });
    expect(result.message).toBe(
      `cutover: operator alice asked for a rollback; seen at 2025-06-15T15:06:33Z with 100 % of requests on the new release, all traffic back on the old groups at ${T0}${BOTH_RUNNING}`,
    );
    expect(elbv2Mock).not.toHaveReceivedCommand(DescribeTargetHealthCommand);
  });

  it("ignores a rollback request recorded for another execution", async () => {
    // Prepare
    givenLock(rollbackRequestedBy("alice", NOW - 7, "arn:aws:states:us-east-1:123456789012:execution:deploy:run-0"));

    // Act
    const result = await shiftTraffic(state("application", {}, at(10, NOW - 100)));

    // Assess
    expect(result.status).toBe("waiting");
    expect(elbv2Mock).not.toHaveReceivedCommand(ModifyRuleCommand);
  });

  it("fails without switching back when the rollback is asked for before any traffic moved", async () => {
    // Prepare: all at once, waiting for approval at 0 %.
    givenLock(rollbackRequestedBy("bob", NOW - 3));
    const deploy = state("application", { strategy: "all-at-once", approval: { timeoutSeconds: 600 } }, at(0, NOW - 100, { strategy: "all-at-once" }));

    // Act
    const result = await shiftTraffic(deploy);

    // Assess
    expect(elbv2Mock).not.toHaveReceivedCommand(ModifyRuleCommand);
    expect(elbv2Mock).not.toHaveReceivedCommand(CreateRuleCommand);
    expect(result).toMatchObject({ status: "failed", nextPollSeconds: 0, percent: 0, breach: { what: "operator bob asked for a rollback", at: NOW - 3, switchedBackAt: NOW } });
    expect(result.message).toBe(
      `cutover: operator bob asked for a rollback; seen at 2025-06-15T15:06:37Z with 0 % of requests on the new release, all traffic back on the old groups at ${T0}${BOTH_RUNNING}`,
    );
  });

  it("fails without moving any traffic when the rollback was asked for before the first poll", async () => {
    // Prepare: `rollback` is accepted as soon as the deploy is in "Shift traffic", e.g. while its first poll retries.
    givenLock(rollbackRequestedBy("erin", NOW - 5));

    // Act
    const result = await shiftTraffic(state("application"));

    // Assess
    expect(elbv2Mock).not.toHaveReceivedCommand(ModifyRuleCommand);
    expect(elbv2Mock).not.toHaveReceivedCommand(CreateRuleCommand);
    expect(result).toMatchObject({ status: "failed", percent: 0, breach: { what: "operator erin asked for a rollback", at: NOW - 5, switchedBackAt: NOW } });
  });

  it.each([
    ["is gone", []],
    ["is being deleted", [newGroup("application", { Status: "Delete in progress" })]],
  ])("switches back when the new group %s", async (_, described) => {
    // Prepare
    givenGroups(oldGroup(), ...described);

    // Act
    const result = await shiftTraffic(state("application", {}, at(10, NOW - 100)));

    // Assess
    expect(ruleChanges()).toEqual([{ RuleArn: CUTOVER_RULE_ARN, Actions: [rule(0)] }]);
    expect(result.breach).toEqual({ what: `the new group ${NEW_GROUP} is gone`, at: NOW, switchedBackAt: NOW });
    expect(result.status).toBe("failed");
  });

  it("switches back to the other target group when the last poll recorded no old one", async () => {
    // Prepare
    givenTargetHealth({ "i-new0000": "unhealthy" });
    const { oldTarget: _, ...withoutOld } = at(10, NOW - 100);

    // Act
    const result = await shiftTraffic(state("application", {}, withoutOld));

    // Assess
    expect(ruleChanges()).toEqual([{ RuleArn: CUTOVER_RULE_ARN, Actions: [rule(0)] }]);
    expect(result.status).toBe("failed");
  });
});

describe("shiftTraffic, approval of 100 %", () => {
  const approval = { timeoutSeconds: 600 };

  it("waits for approval once the canary step is over, watching meanwhile, and says how to approve", async () => {
    // Act
    const result = await shiftTraffic(state("application", { approval }, at(10, NOW - 300)));

    // Assess
    expect(elbv2Mock).not.toHaveReceivedCommand(ModifyRuleCommand);
    expect(elbv2Mock).toHaveReceivedCommand(DescribeTargetHealthCommand);
    expect(result).toEqual({
      ...at(10, NOW - 300),
      status: "waiting",
      nextPollSeconds: 15,
      message: `cutover: 10 % of requests on the new release; waiting for approval of 100 % until ${T_PLUS_600} (npx immutable-deploy approve --stage dev01)${BOTH_RUNNING}`,
    });
  });

  it("polls at the deadline when it is nearer than the watch's 15 s", async () => {
    // Act: asked at NOW - 595 (the step ended then), the deadline is NOW + 5.
    const result = await shiftTraffic(state("application", { approval }, at(10, NOW - 895)));

    // Assess
    expect(result.nextPollSeconds).toBe(5);
    expect(result.message).toContain(`until ${T_PLUS_5} (npx immutable-deploy approve --stage dev01)`);
  });

  it("moves to 100 % once approved on the lock item, and records the approval", async () => {
    // Prepare
    givenLock(approvedBy("carol", NOW - 20));

    // Act
    const result = await shiftTraffic(state("application", { approval }, at(10, NOW - 400)));

    // Assess
    expect(ruleChanges()).toEqual([{ RuleArn: CUTOVER_RULE_ARN, Actions: [rule(100)] }]);
    expect(result).toMatchObject({ status: "waiting", percent: 100, percentSince: NOW, approvedAt: NOW - 20, bakeTimeEndsAt: NOW + 600 });
  });

  it("keeps an approval given at an earlier level", async () => {
    // Prepare: approved (and recorded) at 50 %; the lock item no longer says so.
    const deploy = state("application", { approval, strategy: "linear", stepPercent: 50, stepSeconds: 60 }, at(50, NOW - 60, { strategy: "linear", approvedAt: NOW - 100 }));

    // Act
    const result = await shiftTraffic(deploy);

    // Assess
    expect(ruleChanges()).toEqual([{ RuleArn: CUTOVER_RULE_ARN, Actions: [rule(100)] }]);
    expect(result).toMatchObject({ percent: 100, approvedAt: NOW - 100 });
  });

  it("records an approval given before a lower level, and does not ask for one below 100 %", async () => {
    // Prepare
    givenLock(approvedBy("carol", NOW - 20));
    const linear = { approval, strategy: "linear" as const, stepPercent: 25, stepSeconds: 60 };

    // Act
    const approved = await shiftTraffic(state("application", linear, at(25, NOW - 60, { strategy: "linear" })));
    givenLock();
    const notAsked = await shiftTraffic(state("application", linear, at(25, NOW - 60, { strategy: "linear" })));

    // Assess
    expect(approved).toMatchObject({ percent: 50, approvedAt: NOW - 20 });
    expect(notAsked.percent).toBe(50);
    expect(notAsked).not.toHaveProperty("approvedAt");
  });

  it("ignores an approval recorded for another execution", async () => {
    // Prepare
    givenLock(approvedBy("carol", NOW - 20, "arn:aws:states:us-east-1:123456789012:execution:deploy:run-0"));

    // Act
    const result = await shiftTraffic(state("application", { approval }, at(10, NOW - 400)));

    // Assess
    expect(result.percent).toBe(10);
    expect(elbv2Mock).not.toHaveReceivedCommand(ModifyRuleCommand);
  });

  it("switches back and fails when nobody approved by the deadline", async () => {
    // Act: the step ended at NOW - 600, the deadline is NOW.
    const result = await shiftTraffic(state("application", { approval }, at(10, NOW - 900)));

    // Assess
    expect(ruleChanges()).toEqual([{ RuleArn: CUTOVER_RULE_ARN, Actions: [rule(0)] }]);
    const what = "no approval within 600 s (cutover.approval.timeoutSeconds)";
    expect(result).toEqual({
      ...at(10, NOW - 900),
      status: "failed",
      nextPollSeconds: 0,
      breach: { what, at: NOW, switchedBackAt: NOW },
      message: `cutover: ${what}; seen at ${T0} with 10 % of requests on the new release, all traffic back on the old groups at ${T0}${BOTH_RUNNING}`,
    });
  });

  it("all at once asks for approval before any traffic moves, and fails without switching back when none comes", async () => {
    // Prepare
    const config = { strategy: "all-at-once" as const, approval };

    // Act
    const first = await shiftTraffic(state("application", config));
    const waiting = await shiftTraffic(state("application", config, at(0, NOW - 595, { strategy: "all-at-once" })));
    const expired = await shiftTraffic(state("application", config, at(0, NOW - 600, { strategy: "all-at-once" })));

    // Assess
    expect(first).toMatchObject({ status: "waiting", percent: 0, nextPollSeconds: 15 });
    expect(first.message).toBe(`cutover: 0 % of requests on the new release; waiting for approval of 100 % until ${T_PLUS_600} (npx immutable-deploy approve --stage dev01)${BOTH_RUNNING}`);
    expect(waiting).toMatchObject({ status: "waiting", nextPollSeconds: 5 });
    expect(expired).toMatchObject({ status: "failed", breach: { what: "no approval within 600 s (cutover.approval.timeoutSeconds)", at: NOW, switchedBackAt: NOW } });
    expect(elbv2Mock).not.toHaveReceivedCommand(ModifyRuleCommand);
  });
});

describe("shiftTraffic, approval before any traffic", () => {
  it("all at once, approved at a later poll: traffic first moves then", async () => {
    // Prepare
    givenLock(approvedBy("carol", NOW - 20));
    const last = at(0, NOW - 100, { strategy: "all-at-once", trafficSince: NOW - 100 });

    // Act
    const result = await shiftTraffic(state("application", { strategy: "all-at-once", approval: { timeoutSeconds: 600 } }, last));

    // Assess
    expect(ruleChanges()).toEqual([{ RuleArn: CUTOVER_RULE_ARN, Actions: [rule(100)] }]);
    expect(result).toMatchObject({ status: "waiting", percent: 100, percentSince: NOW, trafficSince: NOW, approvedAt: NOW - 20, bakeTimeEndsAt: NOW + 600 });
  });
});

describe("shiftTraffic, alarms in calls of 100 names", () => {
  it("reads 150 watched alarms in two calls and finds one in ALARM in the second", async () => {
    // Prepare
    const configured = Array.from({ length: 148 }, (_, i) => `shop-alarm-${String(i).padStart(3, "0")}`);
    const names = [...NEW_TARGET_ALARMS, ...configured];
    givenAlarms(...names.map((name) => alarm(name, name === "shop-alarm-140" ? { StateValue: "ALARM", StateUpdatedTimestamp: new Date(NOW * 1000) } : {})));

    // Act
    const first = await shiftTraffic(state("application", { alarms: configured }));
    const watching = await shiftTraffic(state("application", { alarms: configured }, at(10, NOW - 100)));

    // Assess
    expect(first.status).toBe("waiting");
    expect(alarmCalls()).toEqual([
      { AlarmNames: names.slice(0, 100), AlarmTypes: ["MetricAlarm"] },
      { AlarmNames: names.slice(100), AlarmTypes: ["MetricAlarm"] },
      { AlarmNames: names.slice(0, 100), AlarmTypes: ["MetricAlarm"] },
      { AlarmNames: names.slice(100), AlarmTypes: ["MetricAlarm"] },
    ]);
    expect(watching.breach?.what).toBe(`alarm shop-alarm-140 in ALARM since ${T0} (no reason given)`);
  });

  it("reads exactly 100 in one call", async () => {
    // Prepare
    const configured = Array.from({ length: 98 }, (_, i) => `shop-alarm-${i}`);
    givenAlarms(...[...NEW_TARGET_ALARMS, ...configured].map((name) => alarm(name)));

    // Act
    await shiftTraffic(state("application", { alarms: configured }));

    // Assess
    expect(alarmCalls()).toHaveLength(1);
    expect(alarmCalls()[0].AlarmNames).toHaveLength(100);
  });

  it("watches only the configured alarms when the stack made none for the new group's target", async () => {
    // Act
    const result = await shiftTraffic(state("application", { alarms: ["shop-latency"], builtInAlarms: [] }));

    // Assess
    expect(result.percent).toBe(10);
    expect(alarmCalls()).toEqual([{ AlarmNames: ["shop-latency"], AlarmTypes: ["MetricAlarm"] }]);
  });

  it("tolerates an answer without MetricAlarms (then every name is missing)", async () => {
    // Prepare
    cloudWatchMock.on(DescribeAlarmsCommand).resolves({});

    // Act
    const result = await shiftTraffic(state("application"));

    // Assess
    expect(result.message).toBe(`cutover: no CloudWatch alarm named ${NEW_TARGET_ALARMS.join(", ")} (cutover.alarms must name existing alarms; nothing was moved)`);
  });
});

describe("shiftTraffic with a classic load balancer", () => {
  const classicOld = (fields: Parameters<typeof group>[1] = {}) => oldGroup("classic", fields);
  const classicNew = (fields: Parameters<typeof group>[1] = {}) => newGroup("classic", fields);

  beforeEach(() => givenGroups(classicOld(), classicNew()));

  it("at 100 % detaches the old serving groups (they drain, still scaled) and bakes", async () => {
    // Act
    const result = await shiftTraffic(state("classic"));

    // Assess
    expect(detachments()).toEqual([{ AutoScalingGroupName: OLD_GROUP, LoadBalancerNames: [CLASSIC_LB_NAME] }]);
    // No listener rule to read or change.
    expect(elbv2Mock.calls()).toHaveLength(0);
    expect(alarmCalls()).toEqual([{ AlarmNames: CLASSIC_ALARMS, AlarmTypes: ["MetricAlarm"] }]);
    expect(result).toEqual({
      status: "waiting",
      nextPollSeconds: 15,
      message: `cutover: 100 % of requests on the new release (classic load balancer ${CLASSIC_LB_NAME}); bake time until ${T_PLUS_600}, old groups ready${BOTH_RUNNING}`,
      strategy: "all-at-once",
      newTarget: CLASSIC_LB_NAME,
      percent: 100,
      percentSince: NOW,
      trafficSince: NOW,
      bakeTimeEndsAt: NOW + 600,
    });
  });

  it("does not touch a group that served no more when the deploy started", async () => {
    // Prepare
    const plan = { ...deployState("classic").plan!, liveGroups: [oldSnapshot, { ...oldSnapshot, name: "shop-dev01-v0", serving: false }] };
    givenGroups(classicOld(), group("shop-dev01-v0", { kind: "classic" }), classicNew());

    // Act
    await shiftTraffic(state("classic", {}, undefined, { plan }));

    // Assess
    expect(detachments()).toEqual([{ AutoScalingGroupName: OLD_GROUP, LoadBalancerNames: [CLASSIC_LB_NAME] }]);
  });

  it("on a breach attaches the old groups again and waits, the new group still attached, until an old instance is InService", async () => {
    // Prepare: the old group left the load balancer at 100 %.
    givenGroups(classicOld({ attached: false }), classicNew());
    givenClassicHealth([outOfService("i-new0000"), inService("i-new0001"), { InstanceId: "i-old0000", State: "OutOfService", ReasonCode: "ELB", Description: "Instance registration is still in progress." }]);

    // Act
    const result = await shiftTraffic(state("classic", {}, classicAt(100, NOW - 60, { bakeTimeEndsAt: NOW + 540 })));

    // Assess
    expect(attachments()).toEqual([{ AutoScalingGroupName: OLD_GROUP, LoadBalancerNames: [CLASSIC_LB_NAME] }]);
    expect(autoScalingMock).not.toHaveReceivedCommand(DetachLoadBalancersCommand);
    const what = `target health at classic load balancer ${CLASSIC_LB_NAME}: i-new0000 OutOfService (Instance: ${FAILED_CHECKS})`;
    expect(result).toEqual({
      ...classicAt(100, NOW - 60, { bakeTimeEndsAt: NOW + 540 }),
      nextPollSeconds: POLL_BOUNDS.minSeconds,
      breach: { what, at: NOW, switchedBackAt: NOW },
    });
  });

  it("a stored breach is resumed: once an old instance is InService the new group leaves and the cutover fails", async () => {
    // Prepare: the last poll saw the breach and attached the old group again; one of its instances is in service now.
    givenClassicHealth([outOfService("i-new0000"), inService("i-old0001")]);
    const what = `target health at classic load balancer ${CLASSIC_LB_NAME}: i-new0000 OutOfService`;
    const last = classicAt(100, NOW - 120, { bakeTimeEndsAt: NOW + 480, breach: { what, at: NOW - 60, switchedBackAt: NOW - 60 } });
    now = NOW + 60;

    // Act
    const result = await shiftTraffic(state("classic", {}, last));

    // Assess
    expect(autoScalingMock).not.toHaveReceivedCommand(AttachLoadBalancersCommand);
    expect(detachments()).toEqual([{ AutoScalingGroupName: NEW_GROUP, LoadBalancerNames: [CLASSIC_LB_NAME] }]);
    // Nothing else is watched: the breach is decided.
    expect(cloudWatchMock).not.toHaveReceivedCommand(DescribeAlarmsCommand);
    expect(result).toEqual({
      ...last,
      status: "failed",
      nextPollSeconds: 0,
      breach: { what, at: NOW - 60, switchedBackAt: NOW + 60 },
      message:
        `cutover: ${what}; seen at 2025-06-15T15:05:40Z with 100 % of requests on the new release, all traffic back on the old groups at ` +
        "2025-06-15T15:07:40Z; both groups running for 21 min (2 old + 2 new instances)",
    });
  });

  it("a stored breach keeps waiting while no old instance is InService at the load balancer", async () => {
    // Prepare: one old instance draining (InService, deregistering), one not registered yet.
    givenClassicHealth([{ InstanceId: "i-old0000", State: "InService", ReasonCode: "N/A", Description: "Instance deregistration currently in progress." }]);
    const last = classicAt(100, NOW - 120, { breach: { what: "x", at: NOW - 60, switchedBackAt: NOW - 60 } });

    // Act
    const result = await shiftTraffic(state("classic", {}, last));

    // Assess
    expect(result).toEqual({ ...last, nextPollSeconds: POLL_BOUNDS.minSeconds });
    expect(autoScalingMock).not.toHaveReceivedCommand(DetachLoadBalancersCommand);
  });

  it("switches back in one poll when an old instance is already InService", async () => {
    // Prepare: the old group is still attached (its instances never left).
    givenLock(rollbackRequestedBy("dave", NOW - 1));
    givenClassicHealth([inService("i-old0000"), inService("i-old0001"), inService("i-new0000")]);

    // Act
    const result = await shiftTraffic(state("classic", {}, classicAt(100, NOW - 60)));

    // Assess
    expect(autoScalingMock).not.toHaveReceivedCommand(AttachLoadBalancersCommand);
    expect(detachments()).toEqual([{ AutoScalingGroupName: NEW_GROUP, LoadBalancerNames: [CLASSIC_LB_NAME] }]);
    expect(result).toMatchObject({ status: "failed", breach: { what: "operator dave asked for a rollback", at: NOW - 1, switchedBackAt: NOW } });
  });

  it("detaches the new group at once when the old groups have no instance in service to wait for", async () => {
    // Prepare
    givenGroups(classicOld({ attached: false, Instances: instances(2, "Pending", "Healthy", "i-old") }), classicNew());
    givenClassicHealth([outOfService("i-new0000")]);

    // Act
    const result = await shiftTraffic(state("classic", {}, classicAt(100, NOW - 60)));

    // Assess
    expect(attachments()).toEqual([{ AutoScalingGroupName: OLD_GROUP, LoadBalancerNames: [CLASSIC_LB_NAME] }]);
    expect(detachments()).toEqual([{ AutoScalingGroupName: NEW_GROUP, LoadBalancerNames: [CLASSIC_LB_NAME] }]);
    expect(result.status).toBe("failed");
  });

  it("does not detach a new group that is gone", async () => {
    // Prepare
    givenGroups(classicOld());
    givenClassicHealth([inService("i-old0000")]);

    // Act
    const result = await shiftTraffic(state("classic", {}, classicAt(100, NOW - 60)));

    // Assess
    expect(autoScalingMock).not.toHaveReceivedCommand(DetachLoadBalancersCommand);
    expect(result).toMatchObject({ status: "failed", breach: { what: `the new group ${NEW_GROUP} is gone` } });
  });
});

describe("shiftTraffic refuses", () => {
  it("when another execution holds the lock: LockLost, and nothing is moved", async () => {
    // Prepare
    givenLock({}, "arn:aws:states:us-east-1:123456789012:execution:deploy:run-2");

    // Act
    const error = await shiftTraffic(state("application")).catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({
      name: ERROR.lockLost,
      message: `the deploy lock of shop/dev01 is held by arn:aws:states:us-east-1:123456789012:execution:deploy:run-2 (release v2), not by this execution ${EXECUTION_ID}`,
    });
    expect(elbv2Mock).not.toHaveReceivedCommand(ModifyRuleCommand);
    expect(cloudWatchMock).not.toHaveReceivedCommand(DescribeAlarmsCommand);
  });

  it("without $.launch", async () => {
    // Act
    const error = await shiftTraffic(state("application", {}, undefined, { launch: undefined })).catch((e: unknown) => e);

    // Assess
    expect((error as Error).message).toBe("shiftTraffic needs $.launch");
    expect(dynamoMock).not.toHaveReceivedCommand(GetItemCommand);
  });

  it("as the Lambda handler, keeps LockLost's name for the state machine's Catch", async () => {
    // Prepare
    givenLock({}, "arn:aws:states:us-east-1:123456789012:execution:deploy:run-2");

    // Act
    const call = handler(state("application"), lambdaContext);

    // Assess
    await expect(call).rejects.toMatchObject({ name: ERROR.lockLost });
  });
});
