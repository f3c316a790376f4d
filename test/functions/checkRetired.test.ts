import "aws-sdk-client-mock-vitest/extend";
import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  ExitStandbyCommand,
  SetInstanceProtectionCommand,
  UpdateAutoScalingGroupCommand,
} from "@aws-sdk/client-auto-scaling";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkRetired, handler } from "../../functions/checkRetired.js";
import type { RetirementResult } from "../../functions/lib/contract.js";
import { resetClock, setClock } from "../../functions/lib/clock.js";
import { ERROR } from "../../functions/lib/names.js";
import { awsError, deployState, EXECUTION_ID, givenLockHeldBy, group, instances, lambdaContext, NOW, OLD_GROUP } from "./fixtures.js";

const autoScalingMock = mockClient(AutoScalingClient);
/** Every stage after Lock checks that this execution still holds the lock. */
const dynamoMock = mockClient(DynamoDBClient);
const retirement: RetirementResult = { groups: [OLD_GROUP], drainedBy: NOW + 100, retiredBy: NOW + 1300 };
const retiringState = () => deployState("application", { retirement });

beforeEach(() => {
  dynamoMock.reset();
  givenLockHeldBy(dynamoMock, EXECUTION_ID);
  autoScalingMock.reset();
  setClock(() => NOW * 1000);
});
afterEach(() => resetClock());

describe("checkRetired", () => {
  it("while the load balancer drains, sleeps until draining is over and does not scale in yet", async () => {
    // Prepare
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group(OLD_GROUP, { attached: false, Instances: instances(3, "InService", "Healthy", "i-old") })] });
    setClock(() => (NOW + 70) * 1000);

    // Act
    const result = await checkRetired(retiringState());

    // Assess
    expect(result).toEqual({
      status: "waiting",
      nextPollSeconds: 31,
      message: "deploy: draining old instance(s) at load balancer (3 left, 30 s to go)",
    });
    expect(autoScalingMock).not.toHaveReceivedCommand(UpdateAutoScalingGroupCommand);
  });

  it("once drained, scales the old groups to 0 and waits for termination", async () => {
    // Prepare
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group(OLD_GROUP, { attached: false, Instances: instances(3, "InService", "Healthy", "i-old") })] });
    setClock(() => (NOW + 101) * 1000);

    // Act
    const result = await checkRetired(retiringState());

    // Assess
    expect(autoScalingMock).toHaveReceivedCommandWith(UpdateAutoScalingGroupCommand, { AutoScalingGroupName: OLD_GROUP, MinSize: 0, DesiredCapacity: 0 });
    expect(result).toEqual({ status: "waiting", nextPollSeconds: 5, message: "deploy: waiting for old instance(s) to terminate (3 left)" });
  });

  it("a group busy with a scaling activity fails the check with StillInUse, which the state machine retries", async () => {
    // Prepare
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group(OLD_GROUP, { attached: false, Instances: instances(3, "InService", "Healthy", "i-old") })] });
    autoScalingMock.on(UpdateAutoScalingGroupCommand).rejects(awsError("ScalingActivityInProgressFault", "Scaling activity 1234 is in progress"));
    setClock(() => (NOW + 101) * 1000);

    // Act
    const attempt = handler(retiringState(), lambdaContext);

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: ERROR.stillInUse, message: expect.stringContaining(`group ${OLD_GROUP} cannot be resized yet`) });
  });

  it("does not scale again a group already at 0", async () => {
    // Prepare
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group(OLD_GROUP, { MinSize: 0, DesiredCapacity: 0, Instances: instances(1, "Terminating", "Healthy", "i-old") })] });
    setClock(() => (NOW + 110) * 1000);

    // Act
    const result = await checkRetired(retiringState());

    // Assess
    expect(autoScalingMock).not.toHaveReceivedCommand(UpdateAutoScalingGroupCommand);
    expect(result.message).toBe("deploy: waiting for old instance(s) to terminate (1 left)");
  });

  it("is ready when the old groups have no instance left or are gone", async () => {
    // Prepare
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group(OLD_GROUP, { MinSize: 0, DesiredCapacity: 0, Instances: [] })] });
    setClock(() => (NOW + 140) * 1000);

    // Act
    const result = await checkRetired(retiringState());

    // Assess
    expect(result.status).toBe("ready");
  });

  it("past the deadline, throws RetirementOverdue naming the instances that are not terminating (the execution stops there)", async () => {
    // Prepare
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [group(OLD_GROUP, { MinSize: 0, DesiredCapacity: 0, Instances: [...instances(1, "Terminating:Wait", "Healthy", "i-old"), ...instances(1, "Terminating:Proceed", "Healthy", "i-going")] })],
    });
    setClock(() => (NOW + 1301) * 1000);

    // Act
    const attempt = checkRetired(retiringState());

    // Assess: only the stuck one is named; the one terminating by itself is not a reason.
    await expect(attempt).rejects.toMatchObject({ name: ERROR.retirementOverdue, message: expect.stringMatching(/^1 old instance\(s\) still not terminating 1 s after the deadline .*: i-old0000 Terminating:Wait\. Complete or abandon/) });
  });

  it("past the deadline, keeps waiting for instances that are terminating by themselves", async () => {
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group(OLD_GROUP, { MinSize: 0, DesiredCapacity: 0, Instances: instances(2, "Terminating:Proceed", "Healthy", "i-old") })] });
    setClock(() => (NOW + 1301) * 1000);
    const result = await checkRetired(retiringState());
    expect(result).toEqual({ status: "waiting", nextPollSeconds: 5, message: "deploy: waiting for old instance(s) to terminate (2 left)" });
  });

  it("while a termination hook holds the instances, says so and polls right after the hook's timeout, not every few seconds", async () => {
    // Prepare: AWS's default hook, one hour; the groups were scaled to 0 at drainedBy.
    const hooked: RetirementResult = { ...retirement, retiredBy: NOW + 100 + 3600 + 1200, terminationHooks: [{ group: OLD_GROUP, name: "drain", heartbeatTimeout: 3600, defaultResult: "ABANDON" }] };
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group(OLD_GROUP, { MinSize: 0, DesiredCapacity: 0, Instances: instances(2, "Terminating:Wait", "Healthy", "i-old") })] });
    setClock(() => (NOW + 3690) * 1000);

    // Act
    const result = await checkRetired(deployState("application", { retirement: hooked }));

    // Assess: the hook times out at NOW + 100 + 3600; one second after it.
    expect(result).toEqual({
      status: "waiting",
      nextPollSeconds: 11,
      message: `deploy: waiting for old instance(s) to terminate (2 left; termination hook drain of ${OLD_GROUP} holds each for up to 3600 s, then ABANDON)`,
    });
  });

  it("releases instances scale-in never terminates: scale-in protection off, Standby instances back in, then 0 again", async () => {
    // Prepare: one protected instance, one in Standby, after draining.
    const held = [
      { ...instances(1, "InService", "Healthy", "i-kept")[0], ProtectedFromScaleIn: true },
      ...instances(1, "Standby", "Healthy", "i-standby"),
    ];
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolvesOnce({ AutoScalingGroups: [group(OLD_GROUP, { attached: false, MinSize: 1, DesiredCapacity: 1, Instances: held })] })
      .resolves({ AutoScalingGroups: [group(OLD_GROUP, { attached: false, MinSize: 0, DesiredCapacity: 1, Instances: [{ ...held[0], ProtectedFromScaleIn: false }, { ...held[1], LifecycleState: "InService" }] })] });
    setClock(() => (NOW + 101) * 1000);

    // Act
    const result = await checkRetired(retiringState());

    // Assess
    expect(autoScalingMock).toHaveReceivedCommandWith(SetInstanceProtectionCommand, { AutoScalingGroupName: OLD_GROUP, InstanceIds: ["i-kept0000"], ProtectedFromScaleIn: false });
    expect(autoScalingMock).toHaveReceivedCommandWith(ExitStandbyCommand, { AutoScalingGroupName: OLD_GROUP, InstanceIds: ["i-standby0000"] });
    // Once before (1 -> 0) and once after ExitStandby raised the desired capacity again (1 -> 0).
    expect(autoScalingMock).toHaveReceivedCommandTimes(UpdateAutoScalingGroupCommand, 2);
    expect(result.status).toBe("waiting");
  });

  it("acts on nothing when another deploy has taken the lock over (a late redrive)", async () => {
    givenLockHeldBy(dynamoMock, "arn:aws:states:us-east-1:123456789012:execution:deploy:run-2");
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group(OLD_GROUP, { attached: false, Instances: instances(3, "InService", "Healthy", "i-old") })] });
    setClock(() => (NOW + 101) * 1000);
    await expect(checkRetired(retiringState())).rejects.toMatchObject({ name: ERROR.lockLost });
    expect(autoScalingMock).not.toHaveReceivedAnyCommand();
  });
});
