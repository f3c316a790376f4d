import "aws-sdk-client-mock-vitest/extend";
import { AutoScalingClient, DeleteAutoScalingGroupCommand, DescribeAutoScalingGroupsCommand } from "@aws-sdk/client-auto-scaling";
import { CloudWatchClient, DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import { DeleteLaunchTemplateVersionsCommand, DescribeLaunchTemplateVersionsCommand, EC2Client } from "@aws-sdk/client-ec2";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { deleteOldGroups, handler } from "../../functions/deleteOldGroups.js";
import { resetClock, setClock } from "../../functions/lib/clock.js";
import { ERROR } from "../../functions/lib/names.js";
import { awsError, deployState, EXECUTION_ID, givenLockHeldBy, group, lambdaContext, LAUNCH_TEMPLATE_ID, NEW_GROUP, NOW, OLD_GROUP } from "./fixtures.js";

const autoScalingMock = mockClient(AutoScalingClient);
/** Every stage after Lock checks that this execution still holds the lock. */
const dynamoMock = mockClient(DynamoDBClient);
const ec2Mock = mockClient(EC2Client);
// Alarm copies of gone groups are deleted too (tested on the simulated region in groupConfiguration.test.ts).
const cloudWatchMock = mockClient(CloudWatchClient);
const retiredState = () => deployState("application", { retirement: { groups: [OLD_GROUP], drainedBy: NOW, retiredBy: NOW + 100 } });

const version = (VersionNumber: number, groupName?: string, DefaultVersion = false) => ({
  VersionNumber,
  DefaultVersion,
  VersionDescription: groupName ? `immutable-deploy group ${groupName}` : "stack managed",
});

/** The old group by name (until deleted), and the environment's remaining groups by tag filter. */
function givenGroups(oldGroup: ReturnType<typeof group>[], remaining = [group(NEW_GROUP)]) {
  autoScalingMock
    .on(DescribeAutoScalingGroupsCommand)
    .callsFake((input: { Filters?: unknown }) => ({ AutoScalingGroups: input.Filters ? remaining : oldGroup }));
}

const deleteAll = (input: { Versions: string[] }) => ({
  SuccessfullyDeletedLaunchTemplateVersions: input.Versions.map((v) => ({ LaunchTemplateId: LAUNCH_TEMPLATE_ID, VersionNumber: Number(v) })),
});

beforeEach(() => {
  dynamoMock.reset();
  givenLockHeldBy(dynamoMock, EXECUTION_ID);
  autoScalingMock.reset();
  ec2Mock.reset();
  cloudWatchMock.reset();
  cloudWatchMock.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [] });
  setClock(() => NOW * 1000);
  ec2Mock.on(DeleteLaunchTemplateVersionsCommand).callsFake(deleteAll);
});
afterEach(() => resetClock());

describe("deleteOldGroups", () => {
  it("deletes the retired group without ForceDelete, and the versions only gone groups used", async () => {
    // Prepare
    givenGroups([group(OLD_GROUP, { MinSize: 0, DesiredCapacity: 0, LaunchTemplate: { LaunchTemplateId: LAUNCH_TEMPLATE_ID, Version: "3" } })]);
    ec2Mock.on(DescribeLaunchTemplateVersionsCommand).resolves({
      LaunchTemplateVersions: [version(1, undefined, true), version(2, "very-old-group"), version(3, OLD_GROUP), version(4, NEW_GROUP), version(5)],
    });

    // Act
    const result = await deleteOldGroups(retiredState());

    // Assess
    expect(autoScalingMock).toHaveReceivedCommandWith(DeleteAutoScalingGroupCommand, { AutoScalingGroupName: OLD_GROUP });
    expect(autoScalingMock.commandCalls(DeleteAutoScalingGroupCommand)[0].args[0].input.ForceDelete).toBeUndefined();
    expect(ec2Mock).toHaveReceivedCommandWith(DeleteLaunchTemplateVersionsCommand, { LaunchTemplateId: LAUNCH_TEMPLATE_ID, Versions: ["2", "3"] });
    expect(result).toEqual({ deletedGroups: [OLD_GROUP], deletedLaunchTemplateVersions: ["2", "3"] });
  });

  it("keeps versions a remaining group uses, even when $Latest", async () => {
    // Prepare
    givenGroups([], [group(NEW_GROUP), group("manual-group", { LaunchTemplate: { LaunchTemplateId: LAUNCH_TEMPLATE_ID, Version: "$Latest" } })]);
    ec2Mock.on(DescribeLaunchTemplateVersionsCommand).resolves({
      LaunchTemplateVersions: [version(1, undefined, true), version(3, OLD_GROUP), version(4, NEW_GROUP), version(6, "crashed-group")],
    });

    // Act
    const result = await deleteOldGroups(retiredState());

    // Assess
    expect(result.deletedLaunchTemplateVersions).toEqual(["3"]);
  });

  it("turns ResourceInUse into StillInUse through the handler", async () => {
    // Prepare
    givenGroups([group(OLD_GROUP)]);
    autoScalingMock.on(DeleteAutoScalingGroupCommand).rejects(awsError("ResourceInUseFault", "You cannot delete an AutoScalingGroup while there are instances"));

    // Act
    const cleanup = handler(retiredState(), lambdaContext);

    // Assess
    await expect(cleanup).rejects.toMatchObject({ name: ERROR.stillInUse });
  });

  it("a second run after success deletes nothing and does not fail", async () => {
    // Prepare
    givenGroups([]);
    ec2Mock.on(DescribeLaunchTemplateVersionsCommand).resolves({ LaunchTemplateVersions: [version(1, undefined, true), version(4, NEW_GROUP)] });

    // Act
    const result = await deleteOldGroups(retiredState());

    // Assess
    expect(autoScalingMock).not.toHaveReceivedCommand(DeleteAutoScalingGroupCommand);
    expect(ec2Mock).not.toHaveReceivedCommand(DeleteLaunchTemplateVersionsCommand);
    expect(result).toEqual({ deletedGroups: [OLD_GROUP], deletedLaunchTemplateVersions: [] });
  });

  it("treats a group that vanished between describe and delete as deleted", async () => {
    // Prepare
    givenGroups([group(OLD_GROUP, { MinSize: 0, DesiredCapacity: 0 })]);
    ec2Mock.on(DescribeLaunchTemplateVersionsCommand).resolves({ LaunchTemplateVersions: [] });
    autoScalingMock.on(DeleteAutoScalingGroupCommand).rejects(awsError("ValidationError", "AutoScalingGroup name not found - null"));

    // Act
    const result = await deleteOldGroups(retiredState());

    // Assess
    expect(result.deletedGroups).toEqual([OLD_GROUP]);
  });

  it("deletes 250 stale versions in batches of 200 and counts already-deleted ones", async () => {
    // Prepare
    givenGroups([]);
    const stale = Array.from({ length: 250 }, (_, i) => version(10 + i, `gone-${i}`));
    ec2Mock.on(DescribeLaunchTemplateVersionsCommand).resolves({ LaunchTemplateVersions: [version(1, undefined, true), ...stale] });
    ec2Mock
      .on(DeleteLaunchTemplateVersionsCommand)
      .callsFakeOnce((input: { Versions: string[] }) => ({
        SuccessfullyDeletedLaunchTemplateVersions: input.Versions.slice(1).map((v) => ({ VersionNumber: Number(v) })),
        UnsuccessfullyDeletedLaunchTemplateVersions: [
          { VersionNumber: Number(input.Versions[0]), ResponseError: { Code: "launchTemplateVersionDoesNotExist", Message: "gone" } },
        ],
      }))
      .callsFake(deleteAll);

    // Act
    const result = await deleteOldGroups(retiredState());

    // Assess
    expect(ec2Mock).toHaveReceivedCommandTimes(DeleteLaunchTemplateVersionsCommand, 2);
    expect(ec2Mock.commandCalls(DeleteLaunchTemplateVersionsCommand)[0].args[0].input.Versions).toHaveLength(200);
    expect(result.deletedLaunchTemplateVersions).toHaveLength(250);
  });

  it("does not delete a group already being deleted again, and its versions go as it does", async () => {
    // Prepare: the old group is in "Delete in progress", still listed by the tag filter.
    const deleting = group(OLD_GROUP, { Status: "Delete in progress", LaunchTemplate: { LaunchTemplateId: LAUNCH_TEMPLATE_ID, Version: "3" } });
    givenGroups([deleting], [group(NEW_GROUP), deleting]);
    ec2Mock.on(DescribeLaunchTemplateVersionsCommand).resolves({ LaunchTemplateVersions: [version(1, undefined, true), version(3, OLD_GROUP), version(4, NEW_GROUP)] });

    // Act
    const result = await deleteOldGroups(retiredState());

    // Assess
    expect(autoScalingMock).not.toHaveReceivedCommand(DeleteAutoScalingGroupCommand);
    expect(result).toEqual({ deletedGroups: [OLD_GROUP], deletedLaunchTemplateVersions: ["3"] });
  });

  it("keeps every version of a remaining group, also one it no longer uses", async () => {
    // Prepare: the new group uses version 4; version 2 was made for it by an earlier run.
    givenGroups([]);
    ec2Mock.on(DescribeLaunchTemplateVersionsCommand).resolves({
      LaunchTemplateVersions: [version(1, undefined, true), version(2, NEW_GROUP), version(3, OLD_GROUP), version(4, NEW_GROUP)],
    });

    // Act
    const result = await deleteOldGroups(retiredState());

    // Assess
    expect(result.deletedLaunchTemplateVersions).toEqual(["3"]);
  });

  it("keeps the new group's version while Auto Scaling does not list the new group yet", async () => {
    // Prepare: the tag filter finds no group (eventual consistency).
    givenGroups([], []);
    ec2Mock.on(DescribeLaunchTemplateVersionsCommand).resolves({ LaunchTemplateVersions: [version(1, undefined, true), version(3, OLD_GROUP), version(4, NEW_GROUP)] });

    // Act
    const result = await deleteOldGroups(retiredState());

    // Assess
    expect(result.deletedLaunchTemplateVersions).toEqual(["3"]);
  });

  it.each([
    ["$.launch (no $.plan)", { plan: undefined }],
    ["$.plan (no $.launch)", { launch: undefined }],
  ])("never deletes the new group named in %s, even when retirement lists it", async (_, parts) => {
    // Prepare: a retirement that lists the new group beside the old one.
    givenGroups([group(OLD_GROUP)]);
    ec2Mock.on(DescribeLaunchTemplateVersionsCommand).resolves({ LaunchTemplateVersions: [] });
    const state = deployState("application", { ...parts, retirement: { groups: [OLD_GROUP, NEW_GROUP], drainedBy: NOW, retiredBy: NOW + 100 } });

    // Act
    const result = await deleteOldGroups(state);

    // Assess
    expect(autoScalingMock).toHaveReceivedCommandTimes(DeleteAutoScalingGroupCommand, 1);
    expect(autoScalingMock).toHaveReceivedCommandWith(DeleteAutoScalingGroupCommand, { AutoScalingGroupName: OLD_GROUP });
    expect(result.deletedGroups).toEqual([OLD_GROUP]);
  });

  it("refuses a state without $.retirement, naming it", async () => {
    // Act
    const cleanup = deleteOldGroups(deployState("application", { retirement: undefined }));

    // Assess
    await expect(cleanup).rejects.toThrow("deleteOldGroups needs $.retirement");
  });
});
