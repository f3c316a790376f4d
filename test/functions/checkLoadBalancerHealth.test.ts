import "aws-sdk-client-mock-vitest/extend";
import { AutoScalingClient, DescribeAutoScalingGroupsCommand, DescribeScalingActivitiesCommand } from "@aws-sdk/client-auto-scaling";
import { DescribeInstanceHealthCommand, ElasticLoadBalancingClient } from "@aws-sdk/client-elastic-load-balancing";
import { DescribeTargetHealthCommand, ElasticLoadBalancingV2Client, type TargetHealthStateEnum } from "@aws-sdk/client-elastic-load-balancing-v2";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkLoadBalancerHealth, handler } from "../../functions/checkLoadBalancerHealth.js";
import type { GroupHealthResult } from "../../functions/lib/contract.js";
import { resetClock, setClock } from "../../functions/lib/clock.js";
import { ERROR } from "../../functions/lib/names.js";
import { ALTERNATE_TARGET_GROUP_ARN, awsError, CLASSIC_LB_NAME, deployState, EXECUTION_ID, givenLockHeldBy, group, instances, lambdaContext, NEW_GROUP, NOW } from "./fixtures.js";

const autoScalingMock = mockClient(AutoScalingClient);
/** Every stage after Lock checks that this execution still holds the lock. */
const dynamoMock = mockClient(DynamoDBClient);
const elbv2Mock = mockClient(ElasticLoadBalancingV2Client);
const elbMock = mockClient(ElasticLoadBalancingClient);

function givenNewGroupInstances(ids: string[], desired = ids.length) {
  autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({
    AutoScalingGroups: [group(NEW_GROUP, { DesiredCapacity: desired, Instances: ids.map((id) => ({ ...instances(1)[0], InstanceId: id })) })],
  });
}

const targets = (states: Record<string, TargetHealthStateEnum>) => ({
  TargetHealthDescriptions: Object.entries(states).map(([id, state]) => ({ Target: { Id: id, Port: 80 }, TargetHealth: { State: state } })),
});

const groupReady = (from: number, to: number): GroupHealthResult => ({
  status: "ready",
  nextPollSeconds: 0,
  message: "",
  healthy: 2,
  desired: 2,
  checkedAt: to,
  inServiceWindow: { from, to },
});

beforeEach(() => {
  dynamoMock.reset();
  givenLockHeldBy(dynamoMock, EXECUTION_ID);
  autoScalingMock.reset();
  autoScalingMock.on(DescribeScalingActivitiesCommand).resolves({ Activities: [] });
  elbv2Mock.reset();
  elbMock.reset();
  setClock(() => NOW * 1000);
});
afterEach(() => resetClock());

describe("checkLoadBalancerHealth with an application load balancer", () => {
  it("is ready when every new instance is healthy in the target group", async () => {
    // Prepare
    givenNewGroupInstances(["i-1", "i-2"]);
    elbv2Mock.on(DescribeTargetHealthCommand).resolves(targets({ "i-1": "healthy", "i-2": "healthy", "i-old": "draining" }));

    // Act
    const result = await checkLoadBalancerHealth(deployState("application"));

    // Assess
    expect(result).toMatchObject({ status: "ready", message: "deploy: new instance(s) are healthy at load balancer (2/2)" });
    // The target group Launch attached the new group to (the one without traffic), not the live one.
    expect(elbv2Mock).toHaveReceivedCommandWith(DescribeTargetHealthCommand, { TargetGroupArn: ALTERNATE_TARGET_GROUP_ARN });
  });

  it.each(["draining", "initial", "unhealthy", "unused", "unavailable"] as TargetHealthStateEnum[])(
    "does not count a %s target as healthy",
    async (state) => {
      // Prepare
      givenNewGroupInstances(["i-1", "i-2"]);
      elbv2Mock.on(DescribeTargetHealthCommand).resolves(targets({ "i-1": "healthy", "i-2": state }));

      // Act
      const result = await checkLoadBalancerHealth(deployState("application"));

      // Assess
      expect(result).toMatchObject({ status: "waiting", message: "deploy: ensuring new instance(s) are healthy at load balancer (1/2)" });
    },
  );

  it("does not count an instance the target group does not list (not registered yet)", async () => {
    // Prepare
    givenNewGroupInstances(["i-1", "i-2"]);
    elbv2Mock.on(DescribeTargetHealthCommand).resolves(targets({ "i-1": "healthy" }));

    // Act
    const result = await checkLoadBalancerHealth(deployState("application"));

    // Assess
    expect(result).toMatchObject({ status: "waiting", healthy: 1 });
  });

  it("checks a 150-instance group with one load balancer call and one group call", async () => {
    // Prepare
    const ids = instances(150).map((instance) => instance.InstanceId!);
    givenNewGroupInstances(ids);
    elbv2Mock.on(DescribeTargetHealthCommand).resolves(targets(Object.fromEntries(ids.map((id, i) => [id, i < 149 ? "healthy" : "initial"]))));

    // Act
    const result = await checkLoadBalancerHealth(deployState("application"));

    // Assess
    expect(result).toMatchObject({ status: "waiting", message: expect.stringContaining("(149/150)") });
    expect(elbv2Mock).toHaveReceivedCommandTimes(DescribeTargetHealthCommand, 1);
    expect(autoScalingMock).toHaveReceivedCommandTimes(DescribeAutoScalingGroupsCommand, 1);
  });

  it("polls right after the health checks that can turn the targets healthy", async () => {
    // Prepare: the instances registered between NOW-10 and NOW-4; interval 30 s, threshold 2.
    givenNewGroupInstances(["i-1", "i-2"]);
    elbv2Mock.on(DescribeTargetHealthCommand).resolves(targets({ "i-1": "initial", "i-2": "initial" }));
    const state = deployState("application", { groupHealth: groupReady(NOW - 10, NOW - 4) });

    // Act
    const first = await checkLoadBalancerHealth(state);
    setClock(() => (NOW + 21) * 1000);
    const second = await checkLoadBalancerHealth(state);
    setClock(() => (NOW + 27) * 1000);
    const third = await checkLoadBalancerHealth(state);

    // Assess: candidates NOW-10+30, NOW-4+30, NOW-10+60, ... each plus 1 s margin.
    expect(first.nextPollSeconds).toBe(21);
    expect(second.nextPollSeconds).toBe(6);
    expect(third.nextPollSeconds).toBe(24);
  });

  it("fails after the deadline, naming the unhealthy targets and their state", async () => {
    // Prepare
    givenNewGroupInstances(["i-1", "i-2"]);
    elbv2Mock.on(DescribeTargetHealthCommand).resolves({
      TargetHealthDescriptions: [
        { Target: { Id: "i-1" }, TargetHealth: { State: "healthy" } },
        { Target: { Id: "i-2" }, TargetHealth: { State: "unhealthy", Reason: "Target.ResponseCodeMismatch" } },
      ],
    });
    setClock(() => (NOW + 601) * 1000);

    // Act
    const result = await checkLoadBalancerHealth(deployState("application"));

    // Assess
    expect(result.status).toBe("failed");
    expect(result.message).toContain("i-2 unhealthy (Target.ResponseCodeMismatch)");
  });

  it("fails as soon as the group's grace period is over with a target still unhealthy, not at the deadline", async () => {
    // Prepare: in service since NOW - 300 (the grace period), so Auto Scaling would replace the instance now.
    givenNewGroupInstances(["i-1", "i-2"]);
    elbv2Mock.on(DescribeTargetHealthCommand).resolves({
      TargetHealthDescriptions: [
        { Target: { Id: "i-1" }, TargetHealth: { State: "healthy" } },
        { Target: { Id: "i-2" }, TargetHealth: { State: "unhealthy", Reason: "Target.FailedHealthChecks" } },
      ],
    });
    const state = deployState("application", { groupHealth: groupReady(NOW - 310, NOW - 300) });

    // Act
    const result = await checkLoadBalancerHealth(state);

    // Assess
    expect(state.launch!.healthyBy).toBeGreaterThan(NOW);
    expect(result.status).toBe("failed");
    expect(result.message).toContain("300 s after going InService");
    expect(result.message).toContain("i-2 unhealthy (Target.FailedHealthChecks)");
  });

  it("keeps waiting inside the grace period and polls no later than its end", async () => {
    // Prepare: in service since NOW - 280: 20 s of grace left.
    givenNewGroupInstances(["i-1", "i-2"]);
    elbv2Mock.on(DescribeTargetHealthCommand).resolves(targets({ "i-1": "healthy", "i-2": "unhealthy" }));

    // Act
    const result = await checkLoadBalancerHealth(deployState("application", { groupHealth: groupReady(NOW - 290, NOW - 280) }));

    // Assess
    expect(result.status).toBe("waiting");
    expect(result.nextPollSeconds).toBeLessThanOrEqual(20);
  });

  it("fails as soon as every new target has failed its health checks, long before the grace period ends", async () => {
    // Prepare: in service for 70 s; both targets failed unhealthyThreshold checks in a row.
    givenNewGroupInstances(["i-1", "i-2"]);
    elbv2Mock.on(DescribeTargetHealthCommand).resolves(targets({ "i-1": "unhealthy", "i-2": "unhealthy" }));

    // Act
    const result = await checkLoadBalancerHealth(deployState("application", { groupHealth: groupReady(NOW - 75, NOW - 70) }));

    // Assess
    expect(result.status).toBe("failed");
    expect(result.message).toContain("every one failed 2 health checks in a row");
  });

  it("waits while only some targets failed, or while the slow-start allowance lasts", async () => {
    // Prepare
    givenNewGroupInstances(["i-1", "i-2"]);
    elbv2Mock.on(DescribeTargetHealthCommand).resolves(targets({ "i-1": "unhealthy", "i-2": "initial" }));
    const some = await checkLoadBalancerHealth(deployState("application", { groupHealth: groupReady(NOW - 75, NOW - 70) }));
    elbv2Mock.on(DescribeTargetHealthCommand).resolves(targets({ "i-1": "unhealthy", "i-2": "unhealthy" }));
    const allowed = deployState("application", { groupHealth: groupReady(NOW - 75, NOW - 70) });
    allowed.settings = { ...allowed.settings, slowStartAllowanceSeconds: 120 };

    // Act
    const withinAllowance = await checkLoadBalancerHealth(allowed);
    setClock(() => (NOW + 50) * 1000);
    const afterAllowance = await checkLoadBalancerHealth(allowed);

    // Assess
    expect(some.status).toBe("waiting");
    expect(withinAllowance.status).toBe("waiting");
    expect(afterAllowance.status).toBe("failed");
    expect(afterAllowance.message).toContain("slow-start allowance of 120 s over");
  });

  it("names the target group the new group waits on, and no slow-start allowance when there is none, when every target failed", async () => {
    // Prepare: the new group is in the alternate target group (no traffic); no slow-start allowance (the default).
    givenNewGroupInstances(["i-1", "i-2"]);
    elbv2Mock.on(DescribeTargetHealthCommand).resolves(targets({ "i-1": "unhealthy", "i-2": "unhealthy" }));
    const state = deployState("application", { groupHealth: groupReady(NOW - 75, NOW - 70) });

    // Act
    const result = await checkLoadBalancerHealth(state);

    // Assess
    expect(state.settings.slowStartAllowanceSeconds).toBe(0);
    expect(result).toMatchObject({
      status: "failed",
      nextPollSeconds: 0,
      message: `deploy: new instance(s) not healthy at target group ${ALTERNATE_TARGET_GROUP_ARN}: every one failed 2 health checks in a row (0/2): i-1 unhealthy, i-2 unhealthy`,
    });
  });

  it("at the deadline itself fails at once when every target failed; after it, names the deadline", async () => {
    // Prepare: no in-service window from the group check, so no grace period either: only the deadline bounds the wait.
    givenNewGroupInstances(["i-1", "i-2"]);
    elbv2Mock.on(DescribeTargetHealthCommand).resolves(targets({ "i-1": "unhealthy", "i-2": "unhealthy" }));
    const state = deployState("application");
    const deadline = state.launch!.healthyBy;

    // Act
    setClock(() => deadline * 1000);
    const atDeadline = await checkLoadBalancerHealth(state);
    setClock(() => (deadline + 1) * 1000);
    const afterDeadline = await checkLoadBalancerHealth(state);

    // Assess
    expect(atDeadline).toMatchObject({
      status: "failed",
      message: `deploy: new instance(s) not healthy at target group ${ALTERNATE_TARGET_GROUP_ARN}: every one failed 2 health checks in a row (0/2): i-1 unhealthy, i-2 unhealthy`,
    });
    expect(afterDeadline).toMatchObject({
      status: "failed",
      message: `deploy: new instance(s) not healthy at target group ${ALTERNATE_TARGET_GROUP_ARN} by the deadline (0/2): i-1 unhealthy, i-2 unhealthy`,
    });
  });

  it("waits, rather than calling the release dead, while Auto Scaling replaces every instance (none left under the check)", async () => {
    // Prepare: both instances terminating, their replacements not launched yet; long past the slow-start allowance.
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [
        group(NEW_GROUP, {
          DesiredCapacity: 2,
          Instances: ["i-1", "i-2"].map((id) => ({ ...instances(1)[0], InstanceId: id, LifecycleState: "Terminating" as const })),
        }),
      ],
    });
    elbv2Mock.on(DescribeTargetHealthCommand).resolves(targets({ "i-1": "draining", "i-2": "draining" }));

    // Act
    const result = await checkLoadBalancerHealth(deployState("application", { groupHealth: groupReady(NOW - 75, NOW - 70) }));

    // Assess
    expect(result).toMatchObject({ status: "waiting", healthy: 0, desired: 2, message: "deploy: ensuring new instance(s) are healthy at load balancer (0/2)" });
  });

  it("counts the slow-start allowance from the group check's in-service window also while a raised capacity registers", async () => {
    // Prepare: in service since NOW - 70 with 2; desired raised to 3 since; every target failed; allowance 120 s (to NOW + 50).
    givenNewGroupInstances(["i-1", "i-2", "i-3"], 3);
    elbv2Mock.on(DescribeTargetHealthCommand).resolves(targets({ "i-1": "unhealthy", "i-2": "unhealthy", "i-3": "unhealthy" }));
    const state = deployState("application", { groupHealth: groupReady(NOW - 75, NOW - 70) });
    state.settings = { ...state.settings, slowStartAllowanceSeconds: 120 };

    // Act
    const within = await checkLoadBalancerHealth(state);
    setClock(() => (NOW + 50) * 1000);
    const over = await checkLoadBalancerHealth(state);

    // Assess
    expect(within).toMatchObject({ status: "waiting", healthy: 0, desired: 3 });
    expect(over).toMatchObject({ status: "failed", message: expect.stringContaining("every one failed 2 health checks in a row (slow-start allowance of 120 s over) (0/3)") });
  });

  it("a throttled DescribeTargetHealth reaches the state machine as TransientAwsError", async () => {
    // Prepare
    givenNewGroupInstances(["i-1"]);
    elbv2Mock.on(DescribeTargetHealthCommand).rejects(awsError("Throttling", "Rate exceeded"));

    // Act
    const check = handler(deployState("application"), lambdaContext);

    // Assess
    await expect(check).rejects.toMatchObject({ name: ERROR.transientAws });
  });
});

describe("checkLoadBalancerHealth with a classic load balancer", () => {
  it("is ready when every new instance is InService", async () => {
    // Prepare
    givenNewGroupInstances(["i-1", "i-2"]);
    elbMock.on(DescribeInstanceHealthCommand).resolves({
      InstanceStates: [
        { InstanceId: "i-1", State: "InService", ReasonCode: "N/A", Description: "N/A" },
        { InstanceId: "i-2", State: "InService", ReasonCode: "N/A", Description: "N/A" },
      ],
    });

    // Act
    const result = await checkLoadBalancerHealth(deployState("classic"));

    // Assess
    expect(result).toMatchObject({ status: "ready" });
    expect(elbMock).toHaveReceivedCommandWith(DescribeInstanceHealthCommand, { LoadBalancerName: CLASSIC_LB_NAME });
    expect(elbv2Mock).not.toHaveReceivedCommand(DescribeTargetHealthCommand);
  });

  it("does not count an InService instance whose deregistration is in progress (draining)", async () => {
    // Prepare
    givenNewGroupInstances(["i-1", "i-2"]);
    elbMock.on(DescribeInstanceHealthCommand).resolves({
      InstanceStates: [
        { InstanceId: "i-1", State: "InService", ReasonCode: "N/A", Description: "N/A" },
        { InstanceId: "i-2", State: "InService", ReasonCode: "N/A", Description: "Instance deregistration currently in progress." },
      ],
    });

    // Act
    const result = await checkLoadBalancerHealth(deployState("classic"));

    // Assess
    expect(result).toMatchObject({ status: "waiting", healthy: 1 });
  });

  it("does not count an OutOfService instance, and names it on failure", async () => {
    // Prepare
    givenNewGroupInstances(["i-1", "i-2"]);
    elbMock.on(DescribeInstanceHealthCommand).resolves({
      InstanceStates: [
        { InstanceId: "i-1", State: "InService" },
        { InstanceId: "i-2", State: "OutOfService", ReasonCode: "Instance", Description: "Instance has failed at least the UnhealthyThreshold number of health checks consecutively." },
      ],
    });
    setClock(() => (NOW + 601) * 1000);

    // Act
    const result = await checkLoadBalancerHealth(deployState("classic"));

    // Assess
    expect(result.status).toBe("failed");
    expect(result.message).toContain("i-2 OutOfService (Instance: Instance has failed at least the UnhealthyThreshold number of health checks consecutively.)");
  });

  it("checks a 130-instance group with one DescribeInstanceHealth call", async () => {
    // Prepare
    const ids = instances(130).map((instance) => instance.InstanceId!);
    givenNewGroupInstances(ids);
    elbMock.on(DescribeInstanceHealthCommand).resolves({ InstanceStates: ids.map((id) => ({ InstanceId: id, State: "InService" })) });

    // Act
    const result = await checkLoadBalancerHealth(deployState("classic"));

    // Assess
    expect(result).toMatchObject({ status: "ready", message: expect.stringContaining("(130/130)") });
    expect(elbMock).toHaveReceivedCommandTimes(DescribeInstanceHealthCommand, 1);
  });
});

describe("checkLoadBalancerHealth says why, in the load balancer's words", () => {
  it("keeps each instance's last reason across polls, so an instance Auto Scaling replaced is not reported as 'not registered'", async () => {
    // Prepare: the first poll sees i-1 failing its checks with a 503; by the failing poll Auto Scaling has replaced it with i-3.
    givenNewGroupInstances(["i-1", "i-2"]);
    elbv2Mock.on(DescribeTargetHealthCommand).resolves({
      TargetHealthDescriptions: [
        { Target: { Id: "i-1" }, TargetHealth: { State: "unhealthy", Reason: "Target.ResponseCodeMismatch", Description: "Health checks failed with these codes: [503]" } },
        { Target: { Id: "i-2" }, TargetHealth: { State: "healthy" } },
      ],
    });
    setClock(() => (NOW + 100) * 1000);
    const first = await checkLoadBalancerHealth(deployState("application", { groupHealth: groupReady(NOW - 60, NOW) }));
    givenNewGroupInstances(["i-2", "i-3"]);
    elbv2Mock.on(DescribeTargetHealthCommand).resolves(targets({ "i-2": "healthy", "i-3": "initial" }));
    autoScalingMock.on(DescribeScalingActivitiesCommand).resolves({
      Activities: [
        { ActivityId: "a-2", AutoScalingGroupName: NEW_GROUP, Cause: "", StartTime: new Date(), StatusCode: "Successful", Description: "Launching a new EC2 instance: i-3" },
        { ActivityId: "a-1", AutoScalingGroupName: NEW_GROUP, Cause: "", StartTime: new Date(), StatusCode: "Failed", StatusMessage: "Instance failed to complete user's Lifecycle Action." },
      ],
    });
    setClock(() => (NOW + 601) * 1000);

    // Act
    const failed = await checkLoadBalancerHealth(deployState("application", { groupHealth: groupReady(NOW - 60, NOW), loadBalancerHealth: first }));

    // Assess
    expect(first).toMatchObject({ status: "waiting", lastSeen: { "i-1": "i-1 unhealthy (Target.ResponseCodeMismatch: Health checks failed with these codes: [503])" } });
    expect(failed.status).toBe("failed");
    expect(failed.message).toMatch(
      /: i-3 initial, i-1 replaced by Auto Scaling, last seen unhealthy \(Target\.ResponseCodeMismatch: Health checks failed with these codes: \[503\]\); last failed activity: Instance failed to complete user's Lifecycle Action\.$/,
    );
    expect(failed.message).not.toContain("not registered");
  });

  it("an instance back in 'initial' keeps the reason it failed with", async () => {
    givenNewGroupInstances(["i-1"]);
    elbv2Mock.on(DescribeTargetHealthCommand).resolves(targets({ "i-1": "initial" }));
    setClock(() => (NOW + 601) * 1000);
    const previous = { status: "waiting" as const, nextPollSeconds: 5, message: "", healthy: 0, desired: 1, lastSeen: { "i-1": "i-1 unhealthy (Target.Timeout: Request timed out)" } };
    const result = await checkLoadBalancerHealth(deployState("application", { loadBalancerHealth: previous }));
    expect(result.message).toMatch(/ by the deadline \(0\/1\): i-1 initial, earlier unhealthy \(Target\.Timeout: Request timed out\)$/);
  });

  it("remembers the last reasons of at most 10 instances", async () => {
    // Prepare: 11 instances, each failing its checks.
    const ids = Array.from({ length: 11 }, (_, index) => `i-${String(index).padStart(2, "0")}`);
    givenNewGroupInstances(ids);
    elbv2Mock.on(DescribeTargetHealthCommand).resolves(targets(Object.fromEntries(ids.map((id) => [id, "unhealthy"]))));

    // Act
    const result = await checkLoadBalancerHealth(deployState("application"));

    // Assess: the last ten.
    expect(Object.keys(result.lastSeen ?? {})).toEqual(ids.slice(1));
  });

  it.each([
    ["application", () => elbv2Mock.on(DescribeTargetHealthCommand).resolves(targets({ "i-1": "healthy" }))],
    ["classic", () => elbMock.on(DescribeInstanceHealthCommand).resolves({ InstanceStates: [{ InstanceId: "i-1", State: "InService", ReasonCode: "N/A", Description: "N/A" }] })],
  ] as const)("remembers nothing while the %s load balancer says only healthy and not registered", async (kind, answer) => {
    // Prepare: i-1 healthy, i-2 not registered yet.
    givenNewGroupInstances(["i-1", "i-2"]);
    answer();

    // Act
    const result = await checkLoadBalancerHealth(deployState(kind));

    // Assess
    expect(result).toEqual({ status: "waiting", nextPollSeconds: 5, message: "deploy: ensuring new instance(s) are healthy at load balancer (1/2)", healthy: 1, desired: 2 });
  });
});

describe("checkLoadBalancerHealth at its edges", () => {
  const unhealthySecond = () => elbv2Mock.on(DescribeTargetHealthCommand).resolves(targets({ "i-1": "healthy", "i-2": "unhealthy" }));

  it("does not count a terminating instance the target group still lists as healthy", async () => {
    // Prepare: desired 3; the third instance is terminating.
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [group(NEW_GROUP, { DesiredCapacity: 3, Instances: [...instances(2, "InService", "Healthy", "i-"), ...instances(1, "Terminating", "Healthy", "i-gone")] })],
    });
    elbv2Mock.on(DescribeTargetHealthCommand).resolves(targets({ "i-0000": "healthy", "i-0001": "healthy", "i-gone0000": "healthy" }));

    // Act
    const result = await checkLoadBalancerHealth(deployState("application"));

    // Assess
    expect(result).toMatchObject({ status: "waiting", healthy: 2, desired: 3 });
  });

  it("at the deadline itself, still waits", async () => {
    // Prepare
    givenNewGroupInstances(["i-1", "i-2"]);
    unhealthySecond();
    setClock(() => (NOW + 600) * 1000);

    // Act
    const result = await checkLoadBalancerHealth(deployState("application"));

    // Assess
    expect(result).toMatchObject({ status: "waiting", nextPollSeconds: 1 });
  });

  it.each([
    ["at the deadline itself, for the grace period", 600, "300 s after going InService (the group's health check grace period)"],
    ["past the deadline, for the deadline", 601, "by the deadline"],
  ])("with the grace period over too, fails %s, naming the load balancer", async (_, secondsFromNow, why) => {
    // Prepare: in service since NOW, so the grace period ended at NOW + 300.
    givenNewGroupInstances(["i-1", "i-2"]);
    unhealthySecond();
    setClock(() => (NOW + secondsFromNow) * 1000);

    // Act
    const result = await checkLoadBalancerHealth(deployState("application", { groupHealth: groupReady(NOW - 10, NOW) }));

    // Assess
    expect(result.status).toBe("failed");
    expect(result.message).toBe(`deploy: new instance(s) not healthy at target group ${ALTERNATE_TARGET_GROUP_ARN} ${why} (1/2): i-2 unhealthy`);
  });

  it("polls no later than the end of the grace period when the next health check comes after it", async () => {
    // Prepare: in service at NOW - 281: grace ends at NOW + 19, the next check that can change anything at NOW + 19 + 1.
    givenNewGroupInstances(["i-1", "i-2"]);
    elbv2Mock.on(DescribeTargetHealthCommand).resolves(targets({ "i-1": "healthy", "i-2": "initial" }));

    // Act
    const result = await checkLoadBalancerHealth(deployState("application", { groupHealth: groupReady(NOW - 281, NOW - 281) }));

    // Assess
    expect(result).toMatchObject({ status: "waiting", nextPollSeconds: 19 });
  });

  it("waits for healthyThreshold - 1 intervals after registration before the first check that can turn a target healthy", async () => {
    // Prepare: threshold 5, interval 30: registered at NOW - 10 .. NOW - 4, the first change at NOW + 110 at the earliest.
    givenNewGroupInstances(["i-1", "i-2"]);
    elbv2Mock.on(DescribeTargetHealthCommand).resolves(targets({ "i-1": "initial", "i-2": "initial" }));
    const state = deployState("application", { groupHealth: groupReady(NOW - 10, NOW - 4) });
    state.settings.healthCheck = { ...state.settings.healthCheck, intervalSeconds: 30, healthyThreshold: 5 };
    setClock(() => (NOW + 80) * 1000);

    // Act
    const result = await checkLoadBalancerHealth(state);

    // Assess: NOW - 10 + 4 * 30 = NOW + 110, one second after it.
    expect(result.nextPollSeconds).toBe(31);
  });

  it("polls less often while instances added by a raised capacity register", async () => {
    // Prepare: the group check saw 2 desired; the group wants 3 now.
    givenNewGroupInstances(["i-1", "i-2", "i-3"], 3);
    elbv2Mock.on(DescribeTargetHealthCommand).resolves(targets({ "i-1": "healthy", "i-2": "healthy" }));

    // Act
    const result = await checkLoadBalancerHealth(deployState("application", { groupHealth: groupReady(NOW - 10, NOW - 4) }));

    // Assess
    expect(result).toMatchObject({ status: "waiting", nextPollSeconds: 15, healthy: 2, desired: 3 });
  });

  it("fails when the new group is gone", async () => {
    // Prepare
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [] });

    // Act
    const result = await checkLoadBalancerHealth(deployState("application"));

    // Assess
    expect(result).toMatchObject({ status: "failed", message: expect.stringContaining("no longer exists") });
  });

  it("refuses a state without $.launch, naming it", async () => {
    // Act
    const check = checkLoadBalancerHealth(deployState("application", { launch: undefined }));

    // Assess
    await expect(check).rejects.toThrow("checkLoadBalancerHealth needs $.launch");
  });
});
