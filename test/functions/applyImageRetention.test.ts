import "aws-sdk-client-mock-vitest/extend";
import {
  type AutoScalingGroup,
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  type DescribeAutoScalingGroupsCommandInput,
} from "@aws-sdk/client-auto-scaling";
import {
  CreateTagsCommand,
  DeleteSnapshotCommand,
  DeleteTagsCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  type DescribeImagesCommandInput,
  DescribeLaunchTemplateVersionsCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  type Image,
} from "@aws-sdk/client-ec2";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { applyImageRetention, handler, RETENTION_BATCH } from "../../functions/applyImageRetention.js";
import { ERROR, retainedByTag, TAG } from "../../functions/lib/names.js";
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

/**
 * The environment: images listed on two pages (unsorted) and described by id, the new and an old group,
 * launch-template versions. `otherGroups` are groups of other environments (only the app-wide listing has them).
 */
function mockEnvironment(images: Image[] = Object.values(IMAGES), otherGroups: AutoScalingGroup[] = []) {
  const [firstPage, secondPage] = [images.filter((_, i) => i % 2 === 1), images.filter((_, i) => i % 2 === 0)];
  ec2Mock.on(DescribeImagesCommand).callsFake((input: DescribeImagesCommandInput) => {
    if (input.ImageIds) return { Images: images.filter((image) => input.ImageIds!.includes(image.ImageId!)) };
    return input.NextToken ? { Images: secondPage } : { Images: firstPage, NextToken: "page-2" };
  });
  const groups = [
    environmentGroup({ name: "shop-dev01-v7-77777777", release: "v7", launchTemplateVersion: "8" }),
    environmentGroup({ name: "shop-dev01-v3-33333333", release: "v3", launchTemplateId: "lt-0ther000000000000", launchTemplateVersion: "3" }),
  ];
  autoScalingMock.on(DescribeAutoScalingGroupsCommand).callsFake((input: DescribeAutoScalingGroupsCommandInput) => {
    const appWide = !input.Filters?.some((filter) => filter.Name === `tag:${TAG.environment}`);
    return { AutoScalingGroups: appWide ? [...groups, ...otherGroups] : groups };
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
  ec2Mock.on(DeleteTagsCommand).resolves({});
  // EC2 deletes each image's snapshots in the same call (DeleteAssociatedSnapshots) and reports each.
  ec2Mock.on(DeregisterImageCommand).callsFake((input: { ImageId: string; DeleteAssociatedSnapshots?: boolean }) => ({
    Return: true,
    DeleteSnapshotResults: input.DeleteAssociatedSnapshots
      ? (images.find((candidate) => candidate.ImageId === input.ImageId)?.BlockDeviceMappings ?? []).map((mapping) => ({ SnapshotId: mapping.Ebs?.SnapshotId, ReturnCode: "success" }))
      : undefined,
  }));
  ec2Mock.on(DeleteSnapshotCommand).resolves({});
}

beforeEach(() => {
  dynamoMock.reset();
  givenLockHeldBy(dynamoMock, MY_EXECUTION);
  ec2Mock.reset();
  autoScalingMock.reset();
});

describe("applyImageRetention", () => {
  it("keeps live + 3 previous + in-use images and deregisters the rest with their snapshots, one call per image", async () => {
    // Prepare
    mockEnvironment();

    // Act
    const result = await applyImageRetention(liveState());

    // Assess
    expect(result).toEqual({
      kept: [LIVE, IMAGES.v6.ImageId, IMAGES.v5.ImageId, IMAGES.v4.ImageId, IMAGES.v3.ImageId, IMAGES.v2.ImageId],
      deregistered: [IMAGES.v0.ImageId, IMAGES.v1.ImageId],
      released: [],
      deletedSnapshots: ["snap-0", "snap-1a", "snap-1b"],
      skipped: false,
    });
    // Oldest first; EC2 deleted the snapshots in the DeregisterImage calls, so no DeleteSnapshot call.
    expect(ec2Mock).toHaveReceivedCommandTimes(DeregisterImageCommand, 2);
    expect(ec2Mock).toHaveReceivedCommandWith(DeregisterImageCommand, { ImageId: IMAGES.v1.ImageId, DeleteAssociatedSnapshots: true });
    expect(ec2Mock).toHaveReceivedCommandTimes(DeleteSnapshotCommand, 0);
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeImagesCommand, {
      Owners: ["self"],
      Filters: [
        { Name: "tag:immutable-deploy:app", Values: ["shop"] },
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
      Resources: ["snap-0", "snap-1a", "snap-1b"],
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

  it("treats an image already deregistered as gone, tries its snapshots itself, and a snapshot already deleted as done", async () => {
    // Prepare
    mockEnvironment();
    ec2Mock.on(DeregisterImageCommand, { ImageId: IMAGES.v1.ImageId }).rejects(awsError("InvalidAMIID.Unavailable"));
    ec2Mock.on(DeleteSnapshotCommand, { SnapshotId: "snap-1a" }).rejects(awsError("InvalidSnapshot.NotFound"));

    // Act
    const result = await applyImageRetention(liveState());

    // Assess
    expect(result.deregistered).toEqual([IMAGES.v0.ImageId, IMAGES.v1.ImageId]);
    expect(result.deletedSnapshots).toEqual(["snap-0", "snap-1b"]);
  });

  it("leaves a snapshot EC2 skipped (another image uses it) unmarked, and deletes one EC2 could not itself", async () => {
    // Prepare
    mockEnvironment();
    ec2Mock.on(DeregisterImageCommand, { ImageId: IMAGES.v1.ImageId }).resolves({
      Return: true,
      DeleteSnapshotResults: [
        { SnapshotId: "snap-1a", ReturnCode: "skipped" },
        { SnapshotId: "snap-1b", ReturnCode: "internal-error" },
      ],
    });

    // Act
    const result = await applyImageRetention(liveState());

    // Assess
    expect(result.deletedSnapshots).toEqual(["snap-0", "snap-1b"]);
    expect(ec2Mock).toHaveReceivedCommandWith(DeleteTagsCommand, { Resources: ["snap-1a"], Tags: [{ Key: TAG.pendingDelete }] });
    expect(ec2Mock).not.toHaveReceivedCommandWith(DeleteSnapshotCommand, { SnapshotId: "snap-1a" });
  });

  it(`deregisters at most ${RETENTION_BATCH} images per run, oldest first, and reports the rest as remaining`, async () => {
    // Prepare: a backlog of 120 expired images beside the live one.
    const backlog = Array.from({ length: 120 }, (_, i) =>
      image(`ami-1${String(i).padStart(16, "0")}`, `old${i}`, "01", [`snap-old${i}`], { CreationDate: new Date(Date.UTC(2024, 0, 1) + i * 86_400_000).toISOString() }),
    );
    mockEnvironment([IMAGES.v7, ...backlog]);

    // Act
    const result = await applyImageRetention({ ...liveState(), settings: { ...liveState().settings, retainReleaseImages: 0 } });

    // Assess: the 50 oldest, one call each, their snapshots marked in one call; 70 left for the next deploy.
    expect(result.deregistered).toEqual(backlog.slice(0, RETENTION_BATCH).map((i) => i.ImageId));
    expect(result.remaining).toBe(120 - RETENTION_BATCH);
    expect(ec2Mock).toHaveReceivedCommandTimes(DeregisterImageCommand, RETENTION_BATCH);
    expect(ec2Mock.commandCalls(CreateTagsCommand).filter((call) => (call.args[0].input.Tags ?? []).some((tag) => tag.Key === TAG.pendingDelete))).toHaveLength(1);
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
    expect(result).toEqual({ kept: [], deregistered: [], released: [], deletedSnapshots: [], skipped: true });
    expect(ec2Mock).not.toHaveReceivedAnyCommand();
    expect(autoScalingMock).not.toHaveReceivedAnyCommand();
  });

  it("claims every kept image for this environment, once", async () => {
    // Prepare: v6 is already claimed by dev01
    const claimed = (i: Image, ...environments: string[]) => ({ ...i, Tags: [...(i.Tags ?? []), ...environments.map((e) => ({ Key: retainedByTag(e), Value: "true" }))] });
    mockEnvironment([...Object.values(IMAGES).filter((i) => i !== IMAGES.v6), claimed(IMAGES.v6, "dev01")]);

    // Act
    await applyImageRetention(liveState());

    // Assess
    expect(ec2Mock).toHaveReceivedCommandWith(CreateTagsCommand, {
      Resources: [LIVE, IMAGES.v5.ImageId!, IMAGES.v4.ImageId!, IMAGES.v3.ImageId!, IMAGES.v2.ImageId!],
      Tags: [{ Key: "immutable-deploy:retained-by:dev01", Value: "true" }],
    });
  });

  it("keeps an image another environment claims or launches from: withdraws only its own claim", async () => {
    // Prepare: v1 (claimed by dev01 and staging) and v0 (used by a staging group) are beyond retention
    const withTags = (i: Image, ...keys: string[]) => ({ ...i, Tags: [...(i.Tags ?? []), ...keys.map((Key) => ({ Key, Value: "true" }))] });
    const stagingGroup = { ...environmentGroup({ name: "shop-staging-v0-00000000", release: "v0", launchTemplateId: "lt-0staging000000000", launchTemplateVersion: "4" }) };
    mockEnvironment(
      [...Object.values(IMAGES).filter((i) => i !== IMAGES.v1), withTags(IMAGES.v1, retainedByTag("dev01"), retainedByTag("staging"))],
      [stagingGroup],
    );
    ec2Mock.on(DescribeLaunchTemplateVersionsCommand, { LaunchTemplateId: "lt-0staging000000000" }).resolves({
      LaunchTemplateVersions: [{ VersionNumber: 4, LaunchTemplateData: { ImageId: IMAGES.v0.ImageId } }],
    });

    // Act
    const result = await applyImageRetention(liveState());

    // Assess
    expect(result.deregistered).toEqual([]);
    expect(result.released.sort()).toEqual([IMAGES.v0.ImageId, IMAGES.v1.ImageId].sort());
    expect(ec2Mock).toHaveReceivedCommandWith(DeleteTagsCommand, { Resources: [IMAGES.v1.ImageId!], Tags: [{ Key: retainedByTag("dev01") }] });
    expect(ec2Mock).not.toHaveReceivedCommand(DeregisterImageCommand);
  });

  it("the first claim on another environment's image records its origin's claim too", async () => {
    // Prepare: the live image was promoted from staging, which baked it before claims existed
    const promoted = releaseImage({ id: "ami-0000000000000000c", release: "v8", created: "2025-08-01T00:00:00.000Z", environment: "staging" });
    mockEnvironment([...Object.values(IMAGES), promoted]);
    const state = { ...liveState(), image: { imageId: promoted.ImageId!, baked: false } };

    // Act
    await applyImageRetention(state);

    // Assess
    expect(ec2Mock).toHaveReceivedCommandWith(CreateTagsCommand, {
      Resources: [promoted.ImageId!],
      Tags: [
        { Key: retainedByTag("dev01"), Value: "true" },
        { Key: retainedByTag("staging"), Value: "true" },
      ],
    });
  });

  it("ignores release images of other environments it never claimed", async () => {
    // Prepare
    const foreign = releaseImage({ id: "ami-0000000000000000d", release: "x1", created: "2020-01-01T00:00:00.000Z", environment: "staging" });
    mockEnvironment([...Object.values(IMAGES), foreign]);

    // Act
    const result = await applyImageRetention(liveState());

    // Assess
    expect([...result.kept, ...result.deregistered, ...result.released]).not.toContain(foreign.ImageId);
    expect(ec2Mock).not.toHaveReceivedCommandWith(DeregisterImageCommand, { ImageId: foreign.ImageId });
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

  describe("launch templates that name images", () => {
    it("an old group's launch template that no longer exists keeps no image, and the rest goes on", async () => {
      // Prepare: v3 is only in use by the old group's template, which is gone.
      mockEnvironment();
      ec2Mock.on(DescribeLaunchTemplateVersionsCommand, { LaunchTemplateId: "lt-0ther000000000000" }).rejects(awsError("InvalidLaunchTemplateId.NotFound"));

      // Act
      const result = await applyImageRetention(liveState());

      // Assess
      expect(result.deregistered).toContain(IMAGES.v3.ImageId);
      expect(result.kept).not.toContain(IMAGES.v3.ImageId);
    });

    it("the environment's launch template gone keeps no image of its versions", async () => {
      // Prepare: v2 is only in use by a version of the environment's template.
      mockEnvironment();
      ec2Mock.on(DescribeLaunchTemplateVersionsCommand, { LaunchTemplateId: LAUNCH_TEMPLATE_ID }).rejects(awsError("InvalidLaunchTemplateId.NotFound"));

      // Act
      const result = await applyImageRetention(liveState());

      // Assess
      expect(result.deregistered).toContain(IMAGES.v2.ImageId);
    });

    it.each([
      ["the old group's template", { LaunchTemplateId: "lt-0ther000000000000" }],
      ["the environment's template", { LaunchTemplateId: LAUNCH_TEMPLATE_ID }],
    ])("any other error reading %s stops the run before deregistering anything", async (_, template) => {
      // Prepare
      mockEnvironment();
      ec2Mock.on(DescribeLaunchTemplateVersionsCommand, template).rejects(awsError("RequestLimitExceeded"));

      // Act
      const attempt = applyImageRetention(liveState());

      // Assess
      await expect(attempt).rejects.toMatchObject({ name: "RequestLimitExceeded" });
      expect(ec2Mock).not.toHaveReceivedCommand(DeregisterImageCommand);
    });

    it("reads a template a group names by name (its default version) and keeps the image it launches", async () => {
      // Prepare: another environment's group launches v1 from a template it names by name, without a version.
      const named = { ...environmentGroup({ name: "shop-staging-v1-11111111" }), LaunchTemplate: { LaunchTemplateName: "named-template" } };
      mockEnvironment(Object.values(IMAGES), [named]);
      ec2Mock.on(DescribeLaunchTemplateVersionsCommand, { LaunchTemplateName: "named-template" }).resolves({ LaunchTemplateVersions: [{ VersionNumber: 1, LaunchTemplateData: { ImageId: IMAGES.v1.ImageId } }] });

      // Act
      const result = await applyImageRetention(liveState());

      // Assess
      expect(ec2Mock).toHaveReceivedCommandWith(DescribeLaunchTemplateVersionsCommand, { LaunchTemplateName: "named-template", Versions: ["$Default"] });
      expect(result.deregistered).not.toContain(IMAGES.v1.ImageId);
      expect(result.released).toContain(IMAGES.v1.ImageId);
    });
  });
});
