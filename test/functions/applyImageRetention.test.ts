import "aws-sdk-client-mock-vitest/extend";
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from "@aws-sdk/client-auto-scaling";
import {
  CreateTagsCommand,
  DeleteSnapshotCommand,
  DeleteTagsCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeLaunchTemplateVersionsCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  type Image,
} from "@aws-sdk/client-ec2";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { applyImageRetention, handler } from "../../functions/applyImageRetention.js";
import { TAG } from "../../functions/lib/names.js";
import { ERROR } from "../../functions/lib/names.js";
import { awsError, controlPlan, controlState, environmentGroup, lambdaContext, LAUNCH_TEMPLATE_ID, MY_EXECUTION, releaseImage } from "./controlFixtures.js";
import { givenLockHeldBy } from "./fixtures.js";

const ec2Mock = mockClient(EC2Client);
/** Every stage after Lock checks that this execution still holds the lock. */
const dynamoMock = mockClient(DynamoDBClient);
const autoScalingMock = mockClient(AutoScalingClient);

const LIVE = "ami-0000000000000000a";
const image = (id: string, release: string, month: string, snapshots: string[], extra: Partial<Image> = {}) => ({
  ...releaseImage({ id, release, created: `2025-${month}-01T00:00:00.000Z`, snapshots }),
  ...extra,
});
/** Newest first: live v7, previous v6-v4, v3 used by an old group, v2 by a launch-template version, v1 and v0 expired. */
const IMAGES = {
  v7: image(LIVE, "v7", "07", ["snap-7"]),
  v6: image("ami-00000000000000006", "v6", "06", ["snap-6"]),
  v5: image("ami-00000000000000005", "v5", "05", ["snap-5"]),
  v4: image("ami-00000000000000004", "v4", "04", ["snap-4"]),
  v3: image("ami-00000000000000003", "v3", "03", ["snap-3"]),
  v2: image("ami-00000000000000002", "v2", "02", ["snap-2"]),
  v1: image("ami-00000000000000001", "v1", "01", ["snap-1a", "snap-1b"]),
  v0: image("ami-00000000000000000", "v0", "01", ["snap-0"], { CreationDate: "2024-12-01T00:00:00.000Z" }),
};

function liveState() {
  return controlState({ plan: controlPlan({ release: "v7" }), image: { imageId: LIVE, baked: true } });
}

/** The environment: images on two pages (unsorted), the new and an old group, launch-template versions. */
function mockEnvironment(images: Image[] = Object.values(IMAGES)) {
  const [firstPage, secondPage] = [images.filter((_, i) => i % 2 === 1), images.filter((_, i) => i % 2 === 0)];
  ec2Mock.on(DescribeImagesCommand).resolvesOnce({ Images: firstPage, NextToken: "page-2" }).resolves({ Images: secondPage });
  autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({
    AutoScalingGroups: [
      environmentGroup({ name: "shop-dev01-v7-77777777", release: "v7", launchTemplateVersion: "8" }),
      environmentGroup({ name: "shop-dev01-v3-33333333", release: "v3", launchTemplateId: "lt-0ther000000000000", launchTemplateVersion: "3" }),
    ],
  });
  ec2Mock.on(DescribeLaunchTemplateVersionsCommand, { LaunchTemplateId: LAUNCH_TEMPLATE_ID }).resolves({
    LaunchTemplateVersions: [
      { VersionNumber: 8, LaunchTemplateData: { ImageId: LIVE } },
      { VersionNumber: 2, LaunchTemplateData: { ImageId: IMAGES.v2.ImageId } },
      { VersionNumber: 1, LaunchTemplateData: { ImageId: "resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64" } },
    ],
  });
  ec2Mock.on(DescribeLaunchTemplateVersionsCommand, { LaunchTemplateId: "lt-0ther000000000000" }).resolves({
    LaunchTemplateVersions: [{ VersionNumber: 3, LaunchTemplateData: { ImageId: IMAGES.v3.ImageId } }],
  });
  ec2Mock.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] });
  ec2Mock.on(CreateTagsCommand).resolves({});
  ec2Mock.on(DeregisterImageCommand).resolves({});
  ec2Mock.on(DeleteSnapshotCommand).resolves({});
}

beforeEach(() => {
  dynamoMock.reset();
  givenLockHeldBy(dynamoMock, MY_EXECUTION);
  ec2Mock.reset();
  autoScalingMock.reset();
});

describe("applyImageRetention", () => {
  it("keeps live + 3 previous + in-use images and deregisters the rest, then deletes their snapshots", async () => {
    // Prepare
    mockEnvironment();

    // Act
    const result = await applyImageRetention(liveState());

    // Assess
    expect(result).toEqual({
      kept: [LIVE, IMAGES.v6.ImageId, IMAGES.v5.ImageId, IMAGES.v4.ImageId, IMAGES.v3.ImageId, IMAGES.v2.ImageId],
      deregistered: [IMAGES.v1.ImageId, IMAGES.v0.ImageId],
      deletedSnapshots: ["snap-1a", "snap-1b", "snap-0"],
      skipped: false,
    });
    expect(ec2Mock).toHaveReceivedCommandTimes(DeregisterImageCommand, 2);
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeImagesCommand, {
      Owners: ["self"],
      Filters: [
        { Name: "tag:immutable-deploy:app", Values: ["shop"] },
        { Name: "tag:immutable-deploy:environment", Values: ["dev01"] },
        { Name: "tag:immutable-deploy:role", Values: ["release"] },
      ],
    });
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeLaunchTemplateVersionsCommand, { LaunchTemplateId: "lt-0ther000000000000", Versions: ["3"] });
  });

  it("marks snapshots for deletion before deregistering their image", async () => {
    // Prepare
    mockEnvironment();

    // Act
    await applyImageRetention(liveState());

    // Assess
    const order = ec2Mock.calls().map((call) => call.args[0].constructor.name);
    const firstTag = order.indexOf("CreateTagsCommand");
    expect(firstTag).toBeGreaterThan(-1);
    expect(firstTag).toBeLessThan(order.indexOf("DeregisterImageCommand"));
    expect(ec2Mock).toHaveReceivedCommandWith(CreateTagsCommand, {
      Resources: ["snap-1a", "snap-1b"],
      Tags: [
        { Key: TAG.pendingDelete, Value: "true" },
        { Key: "immutable-deploy:app", Value: "shop" },
        { Key: "immutable-deploy:environment", Value: "dev01" },
      ],
    });
  });

  it("keeps the image the input named even when it is old", async () => {
    // Prepare
    mockEnvironment();
    const state = { ...liveState(), plan: controlPlan({ release: "v0", imageId: IMAGES.v0.ImageId }) };

    // Act
    const result = await applyImageRetention(state);

    // Assess
    expect(result.kept).toContain(IMAGES.v0.ImageId);
    expect(result.deregistered).toEqual([IMAGES.v1.ImageId]);
    expect(ec2Mock).not.toHaveReceivedCommandWith(DeregisterImageCommand, { ImageId: IMAGES.v0.ImageId });
  });

  it("keeps an image still being baked (pending)", async () => {
    // Prepare
    mockEnvironment([...Object.values(IMAGES), image("ami-0000000000000000b", "v8", "08", [], { State: "pending" })]);

    // Act
    const result = await applyImageRetention({ ...liveState(), settings: { ...liveState().settings, retainReleaseImages: 0 } });

    // Assess
    expect(result.kept).toEqual(["ami-0000000000000000b", LIVE, IMAGES.v3.ImageId, IMAGES.v2.ImageId]);
  });

  it("treats an image already deregistered as gone and a snapshot already deleted as done", async () => {
    // Prepare
    mockEnvironment();
    ec2Mock.on(DeregisterImageCommand, { ImageId: IMAGES.v1.ImageId }).rejects(awsError("InvalidAMIID.Unavailable"));
    ec2Mock.on(DeleteSnapshotCommand, { SnapshotId: "snap-0" }).rejects(awsError("InvalidSnapshot.NotFound"));

    // Act
    const result = await applyImageRetention(liveState());

    // Assess
    expect(result.deregistered).toEqual([IMAGES.v1.ImageId, IMAGES.v0.ImageId]);
    expect(result.deletedSnapshots).toEqual(["snap-1a", "snap-1b"]);
  });

  it("never deletes a marked snapshot a kept image still uses, and unmarks it", async () => {
    // Prepare: a crash left snap-6 marked, but v6 is kept
    mockEnvironment();
    ec2Mock.on(DescribeSnapshotsCommand).resolves({ Snapshots: [{ SnapshotId: "snap-6" }] });
    ec2Mock.on(DeleteTagsCommand).resolves({});

    // Act
    const result = await applyImageRetention(liveState());

    // Assess
    expect(result.deletedSnapshots).not.toContain("snap-6");
    expect(ec2Mock).not.toHaveReceivedCommandWith(DeleteSnapshotCommand, { SnapshotId: "snap-6" });
    expect(ec2Mock).toHaveReceivedCommandWith(DeleteTagsCommand, { Resources: ["snap-6"], Tags: [{ Key: TAG.pendingDelete }] });
  });

  it("is idempotent: a second run after success changes nothing", async () => {
    // Prepare
    mockEnvironment(Object.values(IMAGES).filter((i) => i !== IMAGES.v1 && i !== IMAGES.v0));

    // Act
    const result = await applyImageRetention(liveState());

    // Assess
    expect(result.deregistered).toEqual([]);
    expect(result.deletedSnapshots).toEqual([]);
    expect(ec2Mock).not.toHaveReceivedCommand(DeregisterImageCommand);
    expect(ec2Mock).not.toHaveReceivedCommand(DeleteSnapshotCommand);
  });

  it("skips everything when the input asked to keep images", async () => {
    // Prepare
    const state = { ...liveState(), plan: controlPlan({ keepImages: true }) };

    // Act
    const result = await applyImageRetention(state);

    // Assess
    expect(result).toEqual({ kept: [], deregistered: [], deletedSnapshots: [], skipped: true });
    expect(ec2Mock).not.toHaveReceivedAnyCommand();
    expect(autoScalingMock).not.toHaveReceivedAnyCommand();
  });

  it("lets throttling through the handler as TransientAwsError (retried by the state machine)", async () => {
    // Prepare
    mockEnvironment();
    ec2Mock.on(DescribeImagesCommand).rejects(awsError("RequestLimitExceeded", "Request limit exceeded."));

    // Act
    const error = await handler(liveState(), lambdaContext).catch((e: unknown) => e);

    // Assess
    expect((error as Error).name).toBe(ERROR.transientAws);
    expect((error as Error).message).toContain("RequestLimitExceeded");
    expect(ec2Mock).not.toHaveReceivedCommand(DeregisterImageCommand);
  });
});
