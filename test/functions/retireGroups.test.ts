import "aws-sdk-client-mock-vitest/extend";
import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  DescribeLifecycleHooksCommand,
  DetachLoadBalancersCommand,
  DetachLoadBalancerTargetGroupsCommand,
  UpdateAutoScalingGroupCommand,
} from "@aws-sdk/client-auto-scaling";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DescribeInstanceHealthCommand, ElasticLoadBalancingClient } from "@aws-sdk/client-elastic-load-balancing";
import { DescribeTargetHealthCommand, ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { handler, retireGroups } from "../../functions/retireGroups.js";
import { resetClock, setClock } from "../../functions/lib/clock.js";
import type { CutoverResult } from "../../functions/lib/contract.js";
import { ERROR } from "../../functions/lib/names.js";
import {
  ALTERNATE_TARGET_GROUP_ARN,
  awsError,
  CLASSIC_LB_NAME,
  deployState,
  EXECUTION_ID,
  givenLockHeldBy,
  group,
  instances,
  lambdaContext,
  NEW_GROUP,
  NOW,
  OLD_GROUP,
  oldSnapshot,
  TARGET_GROUP_ARN,
} from "./fixtures.js";

const autoScalingMock = mockClient(AutoScalingClient);
const dynamoMock = mockClient(DynamoDBClient);
const elbv2Mock = mockClient(ElasticLoadBalancingV2Client);
const elbMock = mockClient(ElasticLoadBalancingClient);
/** The load balancer still drains these instances (an ALB's target groups, a classic ELB), unless a test says otherwise. */
function givenDraining(instanceIds: string[]) {
  elbv2Mock.on(DescribeTargetHealthCommand).resolves({
    TargetHealthDescriptions: instanceIds.map((Id) => ({ Target: { Id, Port: 80 }, TargetHealth: { State: "draining", Reason: "Target.DeregistrationInProgress" } })),
  });
  elbMock.on(DescribeInstanceHealthCommand).resolves({
    InstanceStates: instanceIds.map((InstanceId) => ({ InstanceId, State: "InService", Description: "Instance deregistration currently in progress." })),
  });
}
const lockHeldBy = (holder: string) => givenLockHeldBy(dynamoMock, holder);
const DRAINED_BY = NOW + 300;
/** $.cutover once traffic is all on the new group, since `percentSince`. */
const cutoverAt100 = (percentSince: number, newTarget: string): CutoverResult => ({
  status: "ready",
  nextPollSeconds: 0,
  message: "cutover: done",
  strategy: "all-at-once",
  newTarget,
  percent: 100,
  percentSince,
  trafficSince: percentSince,
});

beforeEach(() => {
  autoScalingMock.reset();
  dynamoMock.reset();
  lockHeldBy(EXECUTION_ID);
  autoScalingMock.on(DescribeLifecycleHooksCommand).resolves({ LifecycleHooks: [] });
  elbv2Mock.reset();
  elbMock.reset();
  givenDraining(["i-old0000", "i-old0001", "i-old0002", "i-new0000", "i-new0001", "i-new0002"]);
  setClock(() => NOW * 1000);
});
afterEach(() => resetClock());

describe("retireGroups", () => {
  it("refuses to retire anything when another deploy has taken the lock over (a late redrive)", async () => {
    // Prepare
    lockHeldBy("arn:aws:states:us-east-1:123456789012:execution:deploy:run-2");
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group(OLD_GROUP)] });

    // Act
    const attempt = retireGroups(deployState());

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: ERROR.lockLost, message: expect.stringContaining("run-2") });
    expect(autoScalingMock).not.toHaveReceivedCommand(DetachLoadBalancerTargetGroupsCommand);
    expect(autoScalingMock).not.toHaveReceivedCommand(UpdateAutoScalingGroupCommand);
  });

  it.each([
    ["application" as const, DetachLoadBalancerTargetGroupsCommand, { TargetGroupARNs: [TARGET_GROUP_ARN] }],
    ["classic" as const, DetachLoadBalancersCommand, { LoadBalancerNames: [CLASSIC_LB_NAME] }],
  ])("takes the old group out of the %s load balancer and leaves the scale-in until draining is over", async (kind, detach, names) => {
    // Prepare
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group(OLD_GROUP, { kind, Instances: instances(2, "InService", "Healthy", "i-old") })] });

    // Act
    const result = await retireGroups(deployState(kind));

    // Assess
    expect(autoScalingMock).toHaveReceivedCommandWith(detach as never, { AutoScalingGroupName: OLD_GROUP, ...names } as never);
    expect(autoScalingMock).not.toHaveReceivedCommand(UpdateAutoScalingGroupCommand);
    expect(result).toEqual({ groups: [OLD_GROUP], drainedBy: DRAINED_BY, retiredBy: DRAINED_BY + 1200 });
  });

  it.each(["application" as const, "classic" as const])("on the %s load balancer, scales in at once when nothing was in flight (the load balancer let the instances go at the detach)", async (kind) => {
    // Prepare: neither target group (nor the classic ELB) lists the old instances any more.
    givenDraining([]);
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group(OLD_GROUP, { kind, Instances: instances(2, "InService", "Healthy", "i-old") })] });

    // Act
    const result = await retireGroups(deployState(kind));

    // Assess: drained now; the wait is for termination only.
    expect(autoScalingMock).toHaveReceivedCommandWith(UpdateAutoScalingGroupCommand, { AutoScalingGroupName: OLD_GROUP, MinSize: 0, DesiredCapacity: 0 });
    expect(result).toEqual({ groups: [OLD_GROUP], drainedBy: NOW, retiredBy: NOW + 1200 });
    if (kind === "application") expect(elbv2Mock).toHaveReceivedCommandTimes(DescribeTargetHealthCommand, 2);
  });

  it("waits for the drain when the second target group still drains an old instance", async () => {
    // Prepare: the first target group does not list them; the alternate one (where this old group served) does.
    elbv2Mock.on(DescribeTargetHealthCommand).resolves({ TargetHealthDescriptions: [] });
    elbv2Mock.on(DescribeTargetHealthCommand, { TargetGroupArn: ALTERNATE_TARGET_GROUP_ARN }).resolves({
      TargetHealthDescriptions: [{ Target: { Id: "i-old0001", Port: 80 }, TargetHealth: { State: "draining" } }],
    });
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group(OLD_GROUP, { Instances: instances(2, "InService", "Healthy", "i-old") })] });

    // Act
    const result = await retireGroups(deployState());

    // Assess
    expect(autoScalingMock).not.toHaveReceivedCommand(UpdateAutoScalingGroupCommand);
    expect(result.drainedBy).toBe(DRAINED_BY);
  });

  it("never touches the new group, even if Prepare listed it", async () => {
    // Prepare
    const state = deployState();
    state.plan!.liveGroups = [oldSnapshot, { ...oldSnapshot, name: NEW_GROUP }];
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group(OLD_GROUP)] });

    // Act
    const result = await retireGroups(state);

    // Assess
    expect(autoScalingMock).toHaveReceivedCommandWith(DescribeAutoScalingGroupsCommand, { AutoScalingGroupNames: [OLD_GROUP] });
    expect(autoScalingMock).not.toHaveReceivedCommandWith(DetachLoadBalancerTargetGroupsCommand, { AutoScalingGroupName: NEW_GROUP });
    expect(result.groups).toEqual([OLD_GROUP]);
  });

  it("scales to 0 right away when nothing drains (detached and already empty)", async () => {
    // Prepare
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group(OLD_GROUP, { attached: false, DesiredCapacity: 0, MinSize: 1 })] });

    // Act
    const result = await retireGroups(deployState());

    // Assess
    expect(autoScalingMock).toHaveReceivedCommandWith(UpdateAutoScalingGroupCommand, { AutoScalingGroupName: OLD_GROUP, MinSize: 0, DesiredCapacity: 0 });
    expect(autoScalingMock).not.toHaveReceivedCommand(DetachLoadBalancerTargetGroupsCommand);
    expect(result.drainedBy).toBe(NOW);
  });

  it("does not drain old instances that are terminating already, and asks the load balancer nothing (classic, just after the cutover detached them)", async () => {
    // Prepare: the cutover detached the old group 10 s ago; its instances terminate, the ELB still lists them deregistering.
    const state = deployState("classic", { cutover: cutoverAt100(NOW - 10, CLASSIC_LB_NAME) });
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [group(OLD_GROUP, { kind: "classic", attached: false, Instances: instances(2, "Terminating", "Healthy", "i-old") })],
    });
    givenDraining(["i-old0000", "i-old0001"]);

    // Act
    const result = await retireGroups(state);

    // Assess: nothing of theirs drains any more: no wait, no load-balancer read, the scale-in now.
    expect(result.drainedBy).toBe(NOW);
    expect(elbMock).not.toHaveReceivedCommand(DescribeInstanceHealthCommand);
    expect(autoScalingMock).toHaveReceivedCommandWith(UpdateAutoScalingGroupCommand, { AutoScalingGroupName: OLD_GROUP, MinSize: 0, DesiredCapacity: 0 });
  });

  it("on a re-run after the detach (redrive) does not detach again, and drains in full before scale-in", async () => {
    // Prepare
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group(OLD_GROUP, { attached: false, Instances: instances(2, "InService", "Healthy", "i-old") })] });

    // Act
    const result = await retireGroups(deployState());

    // Assess
    expect(autoScalingMock).not.toHaveReceivedCommand(DetachLoadBalancerTargetGroupsCommand);
    expect(autoScalingMock).not.toHaveReceivedCommand(UpdateAutoScalingGroupCommand);
    expect(result.drainedBy).toBe(DRAINED_BY);
  });

  it("skips old groups that are already gone or being deleted", async () => {
    // Prepare
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group(OLD_GROUP, { Status: "Delete in progress" })] });

    // Act
    const result = await retireGroups(deployState());

    // Assess
    expect(autoScalingMock).not.toHaveReceivedCommand(DetachLoadBalancerTargetGroupsCommand);
    expect(result).toEqual({ groups: [], drainedBy: NOW, retiredBy: NOW + 1200 });
  });

  it("tolerates an old group deleted between describe and detach", async () => {
    // Prepare
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group(OLD_GROUP)] });
    autoScalingMock.on(DetachLoadBalancerTargetGroupsCommand).rejects(awsError("ValidationError", `AutoScalingGroup name not found - AutoScalingGroup '${OLD_GROUP}' not found`));

    // Act
    const result = await retireGroups(deployState());

    // Assess
    expect(result.groups).toEqual([OLD_GROUP]);
  });

  it("reads the old groups' termination hooks and allows for the longest heartbeat timeout on top of retireSeconds", async () => {
    // Prepare: AWS's default hook (3600 s, ABANDON) and a launch hook, which retirement does not wait for.
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group(OLD_GROUP, { Instances: instances(2, "InService", "Healthy", "i-old") })] });
    autoScalingMock.on(DescribeLifecycleHooksCommand, { AutoScalingGroupName: OLD_GROUP }).resolves({
      LifecycleHooks: [
        { LifecycleHookName: "drain", AutoScalingGroupName: OLD_GROUP, LifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING", HeartbeatTimeout: 3600, DefaultResult: "ABANDON" },
        { LifecycleHookName: "warm-up", AutoScalingGroupName: OLD_GROUP, LifecycleTransition: "autoscaling:EC2_INSTANCE_LAUNCHING", HeartbeatTimeout: 7200, DefaultResult: "CONTINUE" },
      ],
    });

    // Act
    const result = await retireGroups(deployState());

    // Assess
    expect(result).toEqual({
      groups: [OLD_GROUP],
      drainedBy: DRAINED_BY,
      retiredBy: DRAINED_BY + 3600 + 1200,
      terminationHooks: [{ group: OLD_GROUP, name: "drain", heartbeatTimeout: 3600, defaultResult: "ABANDON" }],
    });
  });

  it("a throttled detach reaches the state machine as TransientAwsError", async () => {
    // Prepare
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group(OLD_GROUP)] });
    autoScalingMock.on(DetachLoadBalancerTargetGroupsCommand).rejects(awsError("Throttling", "Rate exceeded"));

    // Act
    const retire = handler(deployState(), lambdaContext);

    // Assess
    await expect(retire).rejects.toMatchObject({ name: ERROR.transientAws });
  });

  it.each([
    ["desired 0, instances still in service (a scale-in already asked for)", { DesiredCapacity: 0, Instances: instances(2, "InService", "Healthy", "i-old") }],
    ["desired 2, every instance terminating", { Instances: instances(2, "Terminating:Wait", "Healthy", "i-old") }],
    ["desired 2, no instances listed", { Instances: undefined }],
  ])("a detached old group with nothing to drain (%s) is scaled to 0 at once", async (_, fields) => {
    // Prepare
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group(OLD_GROUP, { attached: false, ...fields })] });

    // Act
    const result = await retireGroups(deployState());

    // Assess
    expect(autoScalingMock).toHaveReceivedCommandWith(UpdateAutoScalingGroupCommand, { AutoScalingGroupName: OLD_GROUP, MinSize: 0, DesiredCapacity: 0 });
    expect(result.drainedBy).toBe(NOW);
  });

  it("a detached old group with one instance in service beside a terminating one drains in full", async () => {
    // Prepare
    const mixed = [...instances(1, "InService", "Healthy", "i-old"), ...instances(1, "Terminating", "Healthy", "i-gone")];
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group(OLD_GROUP, { attached: false, Instances: mixed })] });

    // Act
    const result = await retireGroups(deployState());

    // Assess
    expect(autoScalingMock).not.toHaveReceivedCommand(UpdateAutoScalingGroupCommand);
    expect(result.drainedBy).toBe(DRAINED_BY);
  });

  it.each([
    ["100 s ago: drains the rest of drainingSeconds", NOW - 100, NOW + 200],
    ["400 s ago: drained already, scaled to 0 at once", NOW - 400, NOW],
  ])("on a classic ELB, counts the draining from the cutover that took the old group out, %s", async (_, percentSince, drainedBy) => {
    // Prepare: the cutover (all at once) detached the old group at percentSince; drainingSeconds is 300.
    const state = deployState("classic", { cutover: cutoverAt100(percentSince, CLASSIC_LB_NAME) });
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [group(OLD_GROUP, { kind: "classic", attached: false, Instances: instances(2, "InService", "Healthy", "i-old") })],
    });

    // Act
    const result = await retireGroups(state);

    // Assess
    expect(autoScalingMock).not.toHaveReceivedCommand(DetachLoadBalancersCommand);
    expect(result.drainedBy).toBe(drainedBy);
    expect(autoScalingMock).toHaveReceivedCommandTimes(UpdateAutoScalingGroupCommand, drainedBy === NOW ? 1 : 0);
  });

  it("on a classic ELB, an old group the cutover left already empty is scaled to 0 at once", async () => {
    // Prepare: detached by the cutover 10 s ago, nothing running in it.
    const state = deployState("classic", { cutover: cutoverAt100(NOW - 10, CLASSIC_LB_NAME) });
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group(OLD_GROUP, { kind: "classic", attached: false, DesiredCapacity: 0 })] });

    // Act
    const result = await retireGroups(state);

    // Assess: nothing drains, so the load balancer is not asked either.
    expect(autoScalingMock).toHaveReceivedCommandWith(UpdateAutoScalingGroupCommand, { AutoScalingGroupName: OLD_GROUP, MinSize: 0, DesiredCapacity: 0 });
    expect(result.drainedBy).toBe(NOW);
    expect(elbMock).not.toHaveReceivedCommand(DescribeInstanceHealthCommand);
  });

  it("on an ALB, a redrive that finds the old group detached drains in full from now, whatever the cutover's time", async () => {
    // Prepare: an ALB cutover moves weights, it detaches nothing: the detach was this stage's, at a time not recorded.
    const state = deployState("application", { cutover: cutoverAt100(NOW - 100, TARGET_GROUP_ARN) });
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group(OLD_GROUP, { attached: false, Instances: instances(2, "InService", "Healthy", "i-old") })] });

    // Act
    const result = await retireGroups(state);

    // Assess
    expect(autoScalingMock).not.toHaveReceivedCommand(UpdateAutoScalingGroupCommand);
    expect(result.drainedBy).toBe(DRAINED_BY);
  });

  it("without $.launch, never touches the new group Prepare named", async () => {
    // Prepare
    const state = deployState("application", { launch: undefined });
    state.plan!.liveGroups = [oldSnapshot, { ...oldSnapshot, name: NEW_GROUP }];
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group(OLD_GROUP)] });

    // Act
    const result = await retireGroups(state);

    // Assess
    expect(autoScalingMock).toHaveReceivedCommandWith(DescribeAutoScalingGroupsCommand, { AutoScalingGroupNames: [OLD_GROUP] });
    expect(result.groups).toEqual([OLD_GROUP]);
  });

  it("refuses a state without $.plan, naming it", async () => {
    // Act
    const retire = retireGroups(deployState("application", { plan: undefined }));

    // Assess
    await expect(retire).rejects.toThrow("retireGroups needs $.plan");
  });
});
