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
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { handler, retireGroups } from "../../functions/retireGroups.js";
import { resetClock, setClock } from "../../functions/lib/clock.js";
import { ERROR } from "../../functions/lib/names.js";
import {
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
const lockHeldBy = (holder: string) => givenLockHeldBy(dynamoMock, holder);
const DRAINED_BY = NOW + 300;

beforeEach(() => {
  autoScalingMock.reset();
  dynamoMock.reset();
  lockHeldBy(EXECUTION_ID);
  autoScalingMock.on(DescribeLifecycleHooksCommand).resolves({ LifecycleHooks: [] });
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
