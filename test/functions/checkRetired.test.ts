import "aws-sdk-client-mock-vitest/extend";
import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  ExitStandbyCommand,
  SetInstanceProtectionCommand,
  UpdateAutoScalingGroupCommand,
} from "@aws-sdk/client-auto-scaling";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DescribeInstanceHealthCommand, ElasticLoadBalancingClient } from "@aws-sdk/client-elastic-load-balancing";
import { DescribeTargetHealthCommand, ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkRetired, handler } from "../../functions/checkRetired.js";
import type { RetirementResult } from "../../functions/lib/contract.js";
import { resetClock, setClock } from "../../functions/lib/clock.js";
import { ERROR } from "../../functions/lib/names.js";
import { TERMINATION_POLL_SECONDS } from "../../functions/lib/polling.js";
import { awsError, deployState, EXECUTION_ID, givenLockHeldBy, group, instances, lambdaContext, NOW, OLD_GROUP } from "./fixtures.js";

const autoScalingMock = mockClient(AutoScalingClient);
/** Every stage after Lock checks that this execution still holds the lock. */
const dynamoMock = mockClient(DynamoDBClient);
const elbv2Mock = mockClient(ElasticLoadBalancingV2Client);
const elbMock = mockClient(ElasticLoadBalancingClient);
const retirement: RetirementResult = { groups: [OLD_GROUP], drainedBy: NOW + 100, retiredBy: NOW + 1300 };
const retiringState = () => deployState("application", { retirement });

beforeEach(() => {
  dynamoMock.reset();
  givenLockHeldBy(dynamoMock, EXECUTION_ID);
  autoScalingMock.reset();
  elbv2Mock.reset();
  elbMock.reset();
  // The old targets are still draining unless a test says otherwise.
  elbv2Mock.on(DescribeTargetHealthCommand).resolves({
    TargetHealthDescriptions: ["i-old0000", "i-old0001", "i-old0002"].map((Id) => ({ Target: { Id, Port: 80 }, TargetHealth: { State: "draining", Reason: "Target.DeregistrationInProgress" } })),
  });
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

    // Assess: the load balancer still lists them draining: ask again in a few seconds, not at the end of the delay.
    expect(result).toEqual({
      status: "waiting",
      nextPollSeconds: 5,
      message: "deploy: draining old instance(s) at load balancer (3 left, at most 30 s to go)",
    });
    expect(autoScalingMock).not.toHaveReceivedCommand(UpdateAutoScalingGroupCommand);
  });

  it.each([
    ["application", "the target group no longer lists them"],
    ["classic", "the classic load balancer no longer lists them"],
  ] as const)("%s: scales in as soon as the old instances have left the load balancer, before the delay (%s)", async (kind, _how) => {
    // Prepare: 10 s after the detach, nothing in flight: the load balancer let them go.
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group(OLD_GROUP, { attached: false, Instances: instances(3, "InService", "Healthy", "i-old") })] });
    elbv2Mock.on(DescribeTargetHealthCommand).resolves({ TargetHealthDescriptions: [{ Target: { Id: "i-new-0", Port: 80 }, TargetHealth: { State: "healthy" } }] });
    elbMock.on(DescribeInstanceHealthCommand).resolves({ InstanceStates: [{ InstanceId: "i-new-0", State: "InService" }] });
    setClock(() => (NOW + 10) * 1000);

    // Act
    const result = await checkRetired(deployState(kind, { retirement }));

    // Assess
    expect(autoScalingMock).toHaveReceivedCommandWith(UpdateAutoScalingGroupCommand, { AutoScalingGroupName: OLD_GROUP, MinSize: 0, DesiredCapacity: 0 });
    expect(result).toMatchObject({ status: "waiting", message: "deploy: waiting for old instance(s) to terminate (3 left)" });
  });

  it("classic: an instance InService with 'deregistration currently in progress' is still draining", async () => {
    // Prepare
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group(OLD_GROUP, { attached: false, Instances: instances(1, "InService", "Healthy", "i-old") })] });
    elbMock.on(DescribeInstanceHealthCommand).resolves({
      InstanceStates: [{ InstanceId: "i-old0000", State: "InService", Description: "Instance deregistration currently in progress." }],
    });
    setClock(() => (NOW + 10) * 1000);

    // Act
    const result = await checkRetired(deployState("classic", { retirement }));

    // Assess
    expect(result.status).toBe("waiting");
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
    expect(result).toEqual({ status: "waiting", nextPollSeconds: TERMINATION_POLL_SECONDS, message: "deploy: waiting for old instance(s) to terminate (3 left)" });
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

  it("says `queued` while it waits when another deploy waits for the lock, so the state machine warms its functions up", async () => {
    // Prepare: a deploy registered to be woken at the unlock, and this execution's own token from an earlier wait of
    // its own (the item keeps it until the next acquisition).
    const queuedDeploy = "arn:aws:states:us-east-1:123456789012:execution:deploy:run-3";
    givenLockHeldBy(dynamoMock, EXECUTION_ID, [queuedDeploy, EXECUTION_ID]);
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group(OLD_GROUP, { attached: false, Instances: instances(3, "InService", "Healthy", "i-old") })] });
    setClock(() => (NOW + 70) * 1000);

    // Act: while draining, then while terminating, then once retired.
    const draining = await checkRetired(retiringState());
    setClock(() => (NOW + 101) * 1000);
    const terminating = await checkRetired(retiringState());
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [] });
    const retired = await checkRetired(retiringState());

    // Assess
    expect(draining).toMatchObject({ status: "waiting", queued: true });
    expect(terminating).toMatchObject({ status: "waiting", queued: true });
    expect(retired).not.toHaveProperty("queued");
  });

  it("says nothing of `queued` when the only waiter on the lock is this execution itself (from an earlier wait)", async () => {
    // Prepare
    givenLockHeldBy(dynamoMock, EXECUTION_ID, [EXECUTION_ID]);
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group(OLD_GROUP, { attached: false, Instances: instances(3, "InService", "Healthy", "i-old") })] });
    setClock(() => (NOW + 101) * 1000);

    // Act
    const result = await checkRetired(retiringState());

    // Assess
    expect(result.status).toBe("waiting");
    expect(result).not.toHaveProperty("queued");
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

  it.each(["Terminating", "Terminating:Proceed"])("past the deadline, keeps waiting for instances that are terminating by themselves (%s)", async (lifecycleState) => {
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group(OLD_GROUP, { MinSize: 0, DesiredCapacity: 0, Instances: instances(2, lifecycleState, "Healthy", "i-old") })] });
    setClock(() => (NOW + 1301) * 1000);
    const result = await checkRetired(retiringState());
    expect(result).toEqual({ status: "waiting", nextPollSeconds: TERMINATION_POLL_SECONDS, message: "deploy: waiting for old instance(s) to terminate (2 left)" });
  });

  it("is not drained while one old target has left the load balancer and another is still draining", async () => {
    // Prepare: i-old0000 has left the target group; i-old0001 still has a request in flight.
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group(OLD_GROUP, { attached: false, Instances: instances(2, "InService", "Healthy", "i-old") })] });
    elbv2Mock.on(DescribeTargetHealthCommand).resolves({
      TargetHealthDescriptions: [{ Target: { Id: "i-old0001", Port: 80 }, TargetHealth: { State: "draining", Reason: "Target.DeregistrationInProgress" } }],
    });
    setClock(() => (NOW + 10) * 1000);

    // Act
    const result = await checkRetired(retiringState());

    // Assess
    expect(result).toMatchObject({ status: "waiting", message: "deploy: draining old instance(s) at load balancer (2 left, at most 90 s to go)" });
    expect(autoScalingMock).not.toHaveReceivedCommand(UpdateAutoScalingGroupCommand);
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

  describe("at the edges of draining and the deadline", () => {
    const threeOld = () => ({ AutoScalingGroups: [group(OLD_GROUP, { attached: false, Instances: instances(3, "InService", "Healthy", "i-old") })] });

    it("at drainedBy itself, scales to 0 and waits for termination", async () => {
      // Prepare
      autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves(threeOld());
      setClock(() => (NOW + 100) * 1000);

      // Act
      const result = await checkRetired(retiringState());

      // Assess
      expect(autoScalingMock).toHaveReceivedCommandWith(UpdateAutoScalingGroupCommand, { AutoScalingGroupName: OLD_GROUP, MinSize: 0, DesiredCapacity: 0 });
      expect(result).toEqual({ status: "waiting", nextPollSeconds: TERMINATION_POLL_SECONDS, message: "deploy: waiting for old instance(s) to terminate (3 left)" });
    });

    it("at retiredBy itself, still waits for instances that are not terminating", async () => {
      // Prepare
      autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group(OLD_GROUP, { MinSize: 0, DesiredCapacity: 0, Instances: instances(1, "Terminating:Wait", "Healthy", "i-old") })] });
      setClock(() => (NOW + 1300) * 1000);

      // Act
      const result = await checkRetired(retiringState());

      // Assess
      expect(result).toMatchObject({ status: "waiting", message: "deploy: waiting for old instance(s) to terminate (1 left)" });
    });

    it("past the deadline, names no termination hook when the groups have none", async () => {
      // Prepare
      autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group(OLD_GROUP, { MinSize: 0, DesiredCapacity: 0, Instances: instances(1, "InService", "Healthy", "i-old") })] });
      setClock(() => (NOW + 1301) * 1000);

      // Act
      const attempt = checkRetired(retiringState());

      // Assess
      await expect(attempt).rejects.toMatchObject({
        name: ERROR.retirementOverdue,
        message: expect.stringMatching(/^1 old instance\(s\) still not terminating 1 s after the deadline \(draining, then 1200 s\): i-old0000 InService\. /),
      });
    });

    it("past the deadline, names every termination hook the instances may wait for", async () => {
      // Prepare
      const hooked: RetirementResult = {
        ...retirement,
        terminationHooks: [
          { group: OLD_GROUP, name: "drain", heartbeatTimeout: 600, defaultResult: "ABANDON" },
          { group: OLD_GROUP, name: "audit", heartbeatTimeout: 300, defaultResult: "CONTINUE" },
        ],
      };
      autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group(OLD_GROUP, { MinSize: 0, DesiredCapacity: 0, Instances: instances(1, "Terminating:Wait", "Healthy", "i-old") })] });
      setClock(() => (NOW + 1301) * 1000);

      // Act
      const attempt = checkRetired(deployState("application", { retirement: hooked }));

      // Assess
      await expect(attempt).rejects.toMatchObject({
        message: expect.stringContaining(
          `(draining, termination hook drain of ${OLD_GROUP} holds each for up to 600 s, then ABANDON; termination hook audit of ${OLD_GROUP} holds each for up to 300 s, then CONTINUE, then 1200 s)`,
        ),
      });
    });

    it("past the deadline, waits for an instance in Terminating, which is on its way out by itself", async () => {
      // Prepare
      autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group(OLD_GROUP, { MinSize: 0, DesiredCapacity: 0, Instances: instances(1, "Terminating", "Healthy", "i-old") })] });
      setClock(() => (NOW + 1301) * 1000);

      // Act
      const result = await checkRetired(retiringState());

      // Assess
      expect(result).toEqual({ status: "waiting", nextPollSeconds: TERMINATION_POLL_SECONDS, message: "deploy: waiting for old instance(s) to terminate (1 left)" });
    });
  });

  describe("termination hooks", () => {
    const hooks = (...timeouts: number[]): RetirementResult => ({
      ...retirement,
      retiredBy: NOW + 100 + 3600 + 1200,
      terminationHooks: timeouts.map((heartbeatTimeout, index) => ({ group: OLD_GROUP, name: `hook${index}`, heartbeatTimeout, defaultResult: "ABANDON" })),
    });
    const givenInstances = (...states: string[]) =>
      autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({
        AutoScalingGroups: [group(OLD_GROUP, { MinSize: 0, DesiredCapacity: 0, Instances: states.map((state, index) => instances(1, state, "Healthy", `i-old${index}`)[0]) })],
      });

    it("polls right after the soonest hook timeout still ahead, not one already past", async () => {
      // Prepare: hooks time out at NOW + 700 (past) and NOW + 3700; a second pair both ahead, at NOW + 380 and NOW + 350.
      givenInstances("Terminating:Wait");
      setClock(() => (NOW + 3690) * 1000);
      const onePast = await checkRetired(deployState("application", { retirement: hooks(600, 3600) }));
      setClock(() => (NOW + 300) * 1000);

      // Act
      const bothAhead = await checkRetired(deployState("application", { retirement: hooks(280, 250) }));

      // Assess
      expect(onePast.nextPollSeconds).toBe(11);
      expect(bothAhead.nextPollSeconds).toBe(51);
    });

    it("at a hook's timeout itself, polls again as soon as it may", async () => {
      // Prepare
      givenInstances("Terminating:Wait");
      setClock(() => (NOW + 700) * 1000);

      // Act
      const result = await checkRetired(deployState("application", { retirement: hooks(600) }));

      // Assess: the shortest poll (polling.ts POLL_BOUNDS), not the 5 s of termination polling.
      expect(result.nextPollSeconds).toBe(2);
    });

    it("once every hook timed out, polls every few seconds again", async () => {
      // Prepare
      givenInstances("Terminating:Wait");
      setClock(() => (NOW + 800) * 1000);

      // Act
      const result = await checkRetired(deployState("application", { retirement: hooks(600) }));

      // Assess
      expect(result.nextPollSeconds).toBe(TERMINATION_POLL_SECONDS);
    });

    it("names the hooks when one instance waits for them beside one terminating, and not when none waits", async () => {
      // Prepare
      setClock(() => (NOW + 300) * 1000);
      givenInstances("Terminating", "Terminating:Wait");
      const oneWaits = await checkRetired(deployState("application", { retirement: hooks(3600) }));
      givenInstances("Terminating", "Terminating");

      // Act
      const noneWaits = await checkRetired(deployState("application", { retirement: hooks(3600) }));

      // Assess
      expect(oneWaits.message).toBe(`deploy: waiting for old instance(s) to terminate (2 left; termination hook hook0 of ${OLD_GROUP} holds each for up to 3600 s, then ABANDON)`);
      expect(noneWaits).toEqual({ status: "waiting", nextPollSeconds: TERMINATION_POLL_SECONDS, message: "deploy: waiting for old instance(s) to terminate (2 left)" });
    });

    it("an instance in Terminating:Wait without known hooks polls every few seconds", async () => {
      // Prepare
      givenInstances("Terminating:Wait");
      setClock(() => (NOW + 300) * 1000);

      // Act
      const result = await checkRetired(retiringState());

      // Assess
      expect(result).toEqual({ status: "waiting", nextPollSeconds: TERMINATION_POLL_SECONDS, message: "deploy: waiting for old instance(s) to terminate (1 left)" });
    });
  });

  describe("emptying the old groups", () => {
    it("is ready, with its message, when the groups list no instances at all", async () => {
      // Prepare
      autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [{ ...group(OLD_GROUP, { MinSize: 0, DesiredCapacity: 0 }), Instances: undefined }] });
      setClock(() => (NOW + 140) * 1000);

      // Act
      const result = await checkRetired(retiringState());

      // Assess
      expect(result).toEqual({ status: "ready", nextPollSeconds: 0, message: "deploy: old instance(s) terminated" });
    });

    it("reads the groups once when nothing is held", async () => {
      // Prepare
      autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group(OLD_GROUP, { attached: false, Instances: instances(1, "InService", "Healthy", "i-old") })] });
      setClock(() => (NOW + 101) * 1000);

      // Act
      await checkRetired(retiringState());

      // Assess
      expect(autoScalingMock).toHaveReceivedCommandTimes(DescribeAutoScalingGroupsCommand, 1);
    });

    it.each([
      ["a scale-in-protected instance", { ...instances(1, "InService", "Healthy", "i-kept")[0], ProtectedFromScaleIn: true }],
      ["a Standby instance", instances(1, "Standby", "Healthy", "i-standby")[0]],
    ])("after releasing only %s, reads the groups again and reports what is there now", async (_, held) => {
      // Prepare: the second read finds the group empty.
      autoScalingMock
        .on(DescribeAutoScalingGroupsCommand)
        .resolvesOnce({ AutoScalingGroups: [group(OLD_GROUP, { attached: false, MinSize: 0, DesiredCapacity: 0, Instances: [held] })] })
        .resolves({ AutoScalingGroups: [group(OLD_GROUP, { attached: false, MinSize: 0, DesiredCapacity: 0, Instances: [] })] });
      setClock(() => (NOW + 101) * 1000);

      // Act
      const result = await checkRetired(retiringState());

      // Assess
      expect(autoScalingMock).toHaveReceivedCommandTimes(DescribeAutoScalingGroupsCommand, 2);
      expect(result.status).toBe("ready");
    });

    it("never scales a group that is being deleted, before or after releasing held instances", async () => {
      // Prepare: a group in deletion beside one with a Standby instance; both read again after ExitStandby.
      const deleting = group("shop-dev01-v0-run-9", { Status: "Delete in progress", MinSize: 1, DesiredCapacity: 1, Instances: instances(1, "InService", "Healthy", "i-del") });
      autoScalingMock
        .on(DescribeAutoScalingGroupsCommand)
        .resolvesOnce({ AutoScalingGroups: [deleting, group(OLD_GROUP, { attached: false, MinSize: 0, DesiredCapacity: 0, Instances: instances(1, "Standby", "Healthy", "i-standby") })] })
        .resolves({ AutoScalingGroups: [deleting, group(OLD_GROUP, { attached: false, MinSize: 0, DesiredCapacity: 1, Instances: instances(1, "InService", "Healthy", "i-standby") })] });
      setClock(() => (NOW + 101) * 1000);

      // Act
      await checkRetired(deployState("application", { retirement: { ...retirement, groups: [OLD_GROUP, "shop-dev01-v0-run-9"] } }));

      // Assess
      expect(autoScalingMock).not.toHaveReceivedCommandWith(UpdateAutoScalingGroupCommand, { AutoScalingGroupName: "shop-dev01-v0-run-9" });
      expect(autoScalingMock).toHaveReceivedCommandWith(UpdateAutoScalingGroupCommand, { AutoScalingGroupName: OLD_GROUP, MinSize: 0, DesiredCapacity: 0 });
    });
  });

  it("refuses a state without $.retirement, naming it", async () => {
    // Act
    const check = checkRetired(deployState());

    // Assess
    await expect(check).rejects.toThrow("checkRetired needs $.retirement");
  });
});
