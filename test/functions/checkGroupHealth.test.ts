import "aws-sdk-client-mock-vitest/extend";
import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  DescribeScalingActivitiesCommand,
} from "@aws-sdk/client-auto-scaling";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkGroupHealth, GROUP_LISTING_GRACE_SECONDS, handler } from "../../functions/checkGroupHealth.js";
import type { GroupHealthResult } from "../../functions/lib/contract.js";
import { resetClock, setClock } from "../../functions/lib/clock.js";
import { ERROR } from "../../functions/lib/names.js";
import { SLOW_BOOT_AFTER_SECONDS } from "../../functions/lib/polling.js";
import { awsError, deployState, EXECUTION_ID, givenLockHeldBy, group, instances, lambdaContext, NEW_GROUP, NOW } from "./fixtures.js";

const autoScalingMock = mockClient(AutoScalingClient);
/** Every stage after Lock checks that this execution still holds the lock. */
const dynamoMock = mockClient(DynamoDBClient);

const givenNewGroup = (fields: Parameters<typeof group>[1]) =>
  autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group(NEW_GROUP, fields)] });

beforeEach(() => {
  dynamoMock.reset();
  givenLockHeldBy(dynamoMock, EXECUTION_ID);
  autoScalingMock.reset();
  setClock(() => NOW * 1000);
});
afterEach(() => resetClock());

describe("checkGroupHealth", () => {
  it("waits while instances boot, polling every few seconds, with a progress message", async () => {
    // Prepare
    givenNewGroup({ Instances: [...instances(1), ...instances(1, "Pending", "Healthy", "i-boot")] });

    // Act
    const result = await checkGroupHealth(deployState());

    // Assess
    expect(result).toMatchObject({
      status: "waiting",
      nextPollSeconds: 5,
      message: "deploy: ensuring new instance(s) are healthy in the group (1/2)",
    });
    expect(autoScalingMock).toHaveReceivedCommandWith(DescribeAutoScalingGroupsCommand, { AutoScalingGroupNames: [NEW_GROUP] });
  });

  it("gives up early when the release's instances keep failing to launch, naming the failure", async () => {
    // Prepare: 3 minutes in, nothing in service, three failed launches.
    givenNewGroup({ CreatedTime: new Date((NOW - 180) * 1000), Instances: instances(2, "Pending", "Healthy", "i-boot") });
    const failed = { StatusCode: "Failed" as const, StatusMessage: "Server.InternalError: Internal error on launch", ActivityId: "a", AutoScalingGroupName: NEW_GROUP, Cause: "c", StartTime: new Date() };
    autoScalingMock.on(DescribeScalingActivitiesCommand).resolves({ Activities: [failed, failed, failed] });

    // Act
    const result = await checkGroupHealth(deployState());

    // Assess
    expect(result.status).toBe("failed");
    expect(result.message).toContain("keep failing to launch (3 failed launches, none in service)");
    expect(result.message).toContain("Server.InternalError");
  });

  it("keeps waiting through a slow boot with fewer failures, polling less often, and does not look at activities early on", async () => {
    // Prepare: a slow boot with one failed launch so far.
    givenNewGroup({ CreatedTime: new Date((NOW - 180) * 1000), Instances: instances(2, "Pending", "Healthy", "i-boot") });
    autoScalingMock.on(DescribeScalingActivitiesCommand).resolves({ Activities: [{ StatusCode: "Failed", ActivityId: "a", AutoScalingGroupName: NEW_GROUP, Cause: "c", StartTime: new Date() }] });

    // Act
    const slow = await checkGroupHealth(deployState());
    autoScalingMock.resetHistory();
    givenNewGroup({ Instances: instances(2, "Pending", "Healthy", "i-boot") });
    const early = await checkGroupHealth(deployState());

    // Assess
    expect(slow).toMatchObject({ status: "waiting", nextPollSeconds: 15 });
    expect(early).toMatchObject({ status: "waiting", nextPollSeconds: 5 });
    expect(autoScalingMock).not.toHaveReceivedCommand(DescribeScalingActivitiesCommand);
  });

  it.each([
    [SLOW_BOOT_AFTER_SECONDS - 1, "waiting"],
    [SLOW_BOOT_AFTER_SECONDS, "failed"],
  ])("with nothing in service and three failed launches, %i s after the group's creation is %s", async (age, status) => {
    // Prepare: a slow boot counts from SLOW_BOOT_AFTER_SECONDS (120 s) itself.
    givenNewGroup({ CreatedTime: new Date((NOW - age) * 1000), Instances: instances(2, "Pending", "Healthy", "i-boot") });
    const failed = { StatusCode: "Failed" as const, StatusMessage: "Server.InternalError: Internal error on launch", ActivityId: "a", AutoScalingGroupName: NEW_GROUP, Cause: "c", StartTime: new Date() };
    autoScalingMock.on(DescribeScalingActivitiesCommand).resolves({ Activities: [failed, failed, failed] });

    // Act
    const result = await checkGroupHealth(deployState());

    // Assess
    expect(result.status).toBe(status);
  });

  it("waits longer while an unhealthy instance is being replaced", async () => {
    // Prepare
    givenNewGroup({ Instances: [...instances(1), ...instances(1, "InService", "Unhealthy", "i-bad")] });

    // Act
    const result = await checkGroupHealth(deployState());

    // Assess
    expect(result).toMatchObject({ status: "waiting", nextPollSeconds: 15 });
  });

  it("is ready when every desired instance is InService and Healthy, and records when they went InService", async () => {
    // Prepare: the previous check ran 5 s ago and was still waiting.
    givenNewGroup({ Instances: instances(2) });
    const previous: GroupHealthResult = { status: "waiting", nextPollSeconds: 5, message: "", healthy: 1, desired: 2, checkedAt: NOW - 5 };

    // Act
    const result = await checkGroupHealth(deployState("application", { groupHealth: previous }));

    // Assess
    expect(result).toMatchObject({
      status: "ready",
      message: "deploy: new instance(s) are healthy in the group (2/2)",
      inServiceWindow: { from: NOW - 5, to: NOW },
    });
  });

  it("counts against the group's own desired capacity", async () => {
    // Prepare
    givenNewGroup({ DesiredCapacity: 3, Instances: instances(2) });

    // Act
    const result = await checkGroupHealth(deployState());

    // Assess
    expect(result).toMatchObject({ status: "waiting", healthy: 2, desired: 3 });
  });

  it("never polls past the deadline", async () => {
    // Prepare
    givenNewGroup({ Instances: instances(2, "Pending") });
    const state = deployState();
    state.launch!.healthyBy = NOW + 2;

    // Act
    const result = await checkGroupHealth(state);

    // Assess
    expect(result.nextPollSeconds).toBe(2);
  });

  it("fails after the deadline, naming the instances that are not healthy and the failed activity", async () => {
    // Prepare
    givenNewGroup({ Instances: [...instances(1), ...instances(1, "Pending", "Healthy", "i-stuck")] });
    autoScalingMock.on(DescribeScalingActivitiesCommand).resolves({
      Activities: [
        { ActivityId: "a", AutoScalingGroupName: NEW_GROUP, Cause: "c", StartTime: new Date(), StatusCode: "Failed", StatusMessage: "Instance failed to boot", Description: "Launching" },
      ],
    });
    setClock(() => (NOW + 601) * 1000);

    // Act
    const result = await checkGroupHealth(deployState());

    // Assess: the healthy instance is not named.
    expect(result.status).toBe("failed");
    expect(result.message).toBe(
      "deploy: new instance(s) not healthy in the group by the deadline (1/2): not healthy: i-stuck0000 Pending/Healthy; last failed activity: Instance failed to boot",
    );
  });

  it("fails after the deadline naming the instances that never launched, and no activity when none failed", async () => {
    // Prepare: one of two instances healthy, the other never launched, no failed scaling activity.
    givenNewGroup({ Instances: instances(1) });
    autoScalingMock.on(DescribeScalingActivitiesCommand).resolves({ Activities: [] });
    setClock(() => (NOW + 601) * 1000);

    // Act
    const result = await checkGroupHealth(deployState());

    // Assess
    expect(result).toMatchObject({
      status: "failed",
      message: "deploy: new instance(s) not healthy in the group by the deadline (1/2): 1 instance(s) never launched",
    });
  });

  it("dates the in-service window from the group's creation when no earlier check was waiting", async () => {
    // Prepare: created 100 s ago; an earlier waiting check from an older state document without checkedAt.
    givenNewGroup({ CreatedTime: new Date((NOW - 100) * 1000), Instances: instances(2) });
    const previous = { status: "waiting", nextPollSeconds: 5, message: "", healthy: 1, desired: 2 } as unknown as GroupHealthResult;

    // Act
    const first = await checkGroupHealth(deployState());
    const afterOlderCheck = await checkGroupHealth(deployState("application", { groupHealth: previous }));

    // Assess
    expect(first).toMatchObject({ status: "ready", inServiceWindow: { from: NOW - 100, to: NOW } });
    expect(afterOlderCheck).toMatchObject({ status: "ready", inServiceWindow: { from: NOW - 100, to: NOW } });
  });

  it("a group that lists no instances yet is booting: polls every few seconds", async () => {
    // Prepare: desired 1, Instances not in the answer at all.
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [{ ...group(NEW_GROUP, { DesiredCapacity: 1 }), Instances: undefined }] });

    // Act
    const result = await checkGroupHealth(deployState());

    // Assess
    expect(result).toMatchObject({ status: "waiting", nextPollSeconds: 5, healthy: 0, desired: 1 });
  });

  it("refuses a state without $.launch, naming it", async () => {
    // Act
    const check = checkGroupHealth(deployState("application", { launch: undefined }));

    // Assess
    await expect(check).rejects.toThrow("checkGroupHealth needs $.launch");
  });

  it("fails when the new group is gone", async () => {
    // Prepare
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [] });

    // Act
    const result = await checkGroupHealth(deployState());

    // Assess
    expect(result).toMatchObject({ status: "failed", message: expect.stringContaining("no longer exists") });
  });

  it.each([
    ["created 5 s ago: not listed yet, waiting", 5, { status: "waiting", nextPollSeconds: 5, healthy: 0, desired: 2, message: `deploy: new group ${NEW_GROUP} not listed by Auto Scaling yet (created 5 s ago)` }],
    [`created ${GROUP_LISTING_GRACE_SECONDS} s ago: gone`, GROUP_LISTING_GRACE_SECONDS, { status: "failed", message: expect.stringContaining("no longer exists") }],
  ])("a group Auto Scaling does not list, %s", async (_, age, expected) => {
    // Prepare: Launch created the group without reading it back.
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [] });
    const state = deployState();
    state.launch = { ...state.launch!, createdAt: NOW - age };

    // Act
    const result = await checkGroupHealth(state);

    // Assess
    expect(result).toMatchObject(expected);
  });

  it("a throttled describe reaches the state machine as TransientAwsError", async () => {
    // Prepare
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).rejects(awsError("Throttling", "Rate exceeded"));

    // Act
    const check = handler(deployState(), lambdaContext);

    // Assess
    await expect(check).rejects.toMatchObject({ name: ERROR.transientAws });
  });

  it("at the deadline itself, still waits", async () => {
    // Prepare
    givenNewGroup({ Instances: [...instances(1), ...instances(1, "InService", "Unhealthy", "i-bad")] });
    setClock(() => (NOW + 600) * 1000);

    // Act
    const result = await checkGroupHealth(deployState());

    // Assess
    expect(result).toMatchObject({ status: "waiting", nextPollSeconds: 1 });
  });

  it("does not give up on a slow boot with failed launches while one instance is in service", async () => {
    // Prepare: 3 minutes in, three failed launches, one instance InService (not yet healthy) beside a pending one.
    givenNewGroup({ CreatedTime: new Date((NOW - 180) * 1000), Instances: [...instances(1, "InService", "Unhealthy", "i-up"), ...instances(1, "Pending", "Healthy", "i-boot")] });
    const failed = { StatusCode: "Failed" as const, StatusMessage: "Server.InternalError", ActivityId: "a", AutoScalingGroupName: NEW_GROUP, Cause: "c", StartTime: new Date() };
    autoScalingMock.on(DescribeScalingActivitiesCommand).resolves({ Activities: [failed, failed, failed] });

    // Act
    const result = await checkGroupHealth(deployState());

    // Assess
    expect(result).toMatchObject({ status: "waiting", nextPollSeconds: 15 });
  });

  it.each([
    ["a Pending:Wait instance (a launch hook)", instances(1, "Pending:Wait", "Healthy", "i-hook")],
    ["an instance terminating, its replacement not yet listed", instances(1, "Terminating", "Healthy", "i-gone")],
  ])("counts %s as booting: polls every few seconds", async (_, other) => {
    // Prepare
    givenNewGroup({ Instances: [...instances(1), ...other] });

    // Act
    const result = await checkGroupHealth(deployState());

    // Assess
    expect(result).toMatchObject({ status: "waiting", nextPollSeconds: 5 });
  });
});
