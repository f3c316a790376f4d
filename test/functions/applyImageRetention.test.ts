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
import { applyImageRetention, handler, imagesInUse, RETENTION_BATCH } from "../../functions/applyImageRetention.js";
import { launchTemplateVersionDescription } from "../../functions/lib/launchTemplates.js";
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

/** This execution started in mid-June and baked v7 (July): every other image is older than its start. */
const STARTED = "2025-06-15T00:00:00.000Z";

function liveState() {
  return controlState({
    plan: controlPlan({ release: "v7" }),
    image: { imageId: LIVE, baked: true },
    execution: { id: MY_EXECUTION, name: "exec-me", startTime: STARTED },
  });
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

  it("keeps an available image another deploy baked since this execution started (one queued behind it)", async () => {
    // Prepare: v8, baked beside this deploy (while it ran) and waiting for the lock, is available and never launched.
    const queued = image("ami-0000000000000000b", "v8", "08", ["snap-8"]);
    mockEnvironment([...Object.values(IMAGES), queued]);

    // Act: even with no previous images to keep
    const result = await applyImageRetention({ ...liveState(), settings: { ...liveState().settings, retainReleaseImages: 0 } });

    // Assess
    expect(result.kept).toEqual([queued.ImageId, LIVE, IMAGES.v3.ImageId, IMAGES.v2.ImageId]);
    expect(ec2Mock).not.toHaveReceivedCommandWith(DeregisterImageCommand, { ImageId: queued.ImageId });
  });

  it("judges an image registered since it started like any other when its release was live when it looked (launched already)", async () => {
    // Prepare: v6b was baked beside this deploy, went live first, and this deploy (queued behind it) retires it now.
    const launched = image("ami-0000000000000000b", "v6b", "06", ["snap-6b"], { CreationDate: "2025-06-20T00:00:00.000Z" });
    mockEnvironment([...Object.values(IMAGES), launched]);
    const state = liveState();
    const plan = { ...state.plan!, liveGroups: [{ name: "shop-dev01-v6b-66666666", min: 1, desired: 2, max: 4, release: "v6b" }] };

    // Act
    const result = await applyImageRetention({ ...state, plan, settings: { ...state.settings, retainReleaseImages: 0 } });

    // Assess
    expect(result.deregistered).toContain(launched.ImageId);
  });

  it("judges an image registered before this execution started like any other", async () => {
    // Prepare: an execution that started after v8 was registered (v8 is no bake beside it).
    const older = image("ami-0000000000000000b", "v8", "06", ["snap-8"], { CreationDate: "2025-06-20T00:00:00.000Z" });
    mockEnvironment([...Object.values(IMAGES), older]);
    const state = liveState();

    // Act
    const result = await applyImageRetention({ ...state, execution: { ...state.execution, startTime: "2025-06-25T00:00:00.000Z" }, settings: { ...state.settings, retainReleaseImages: 0 } });

    // Assess
    expect(result.deregistered).toContain(older.ImageId);
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

describe("applyImageRetention, the finer points", () => {
  const withTags = (i: Image, ...keys: string[]) => ({ ...i, Tags: [...(i.Tags ?? []), ...keys.map((Key) => ({ Key, Value: "true" }))] });
  const retaining = (count: number) => ({ ...liveState(), settings: { ...liveState().settings, retainReleaseImages: count } });
  /** DescribeImages by id (the second look before deregistering) answers `fresh` instead of the listing. */
  function givenFreshImages(fresh: (imageIds: string[]) => Image[]) {
    const listed = Object.values(IMAGES);
    const [firstPage, secondPage] = [listed.filter((_, i) => i % 2 === 1), listed.filter((_, i) => i % 2 === 0)];
    ec2Mock.on(DescribeImagesCommand).callsFake((input: DescribeImagesCommandInput) => {
      if (input.ImageIds) return { Images: fresh(input.ImageIds) };
      return input.NextToken ? { Images: secondPage } : { Images: firstPage, NextToken: "page-2" };
    });
  }
  const describedByIds = () => ec2Mock.commandCalls(DescribeImagesCommand).map((call) => call.args[0].input.ImageIds).filter(Boolean);
  const pendingDeleteMarks = () => ec2Mock.commandCalls(CreateTagsCommand).filter((call) => (call.args[0].input.Tags ?? []).some((tag) => tag.Key === TAG.pendingDelete));

  it("a run with nothing expired writes no tag, withdraws nothing and reads no more than the environment", async () => {
    // Prepare: v1 and v0 are gone already; everything listed is kept.
    mockEnvironment(Object.values(IMAGES).filter((i) => i !== IMAGES.v1 && i !== IMAGES.v0));

    // Act
    await applyImageRetention(liveState());

    // Assess: only the claims of the kept images are written.
    expect(pendingDeleteMarks()).toHaveLength(0);
    expect(ec2Mock).not.toHaveReceivedCommand(DeleteTagsCommand);
    expect(describedByIds()).toEqual([]);
    // The environment's groups only (no app-wide listing), its launch template listed whole once.
    expect(autoScalingMock).toHaveReceivedCommandTimes(DescribeAutoScalingGroupsCommand, 1);
    expect(ec2Mock.commandCalls(DescribeLaunchTemplateVersionsCommand, { LaunchTemplateId: LAUNCH_TEMPLATE_ID })).toHaveLength(1);
  });

  it("withdraws no claim and unmarks no snapshot when there is none to withdraw or unmark", async () => {
    mockEnvironment();
    await applyImageRetention(liveState());
    expect(ec2Mock).not.toHaveReceivedCommand(DeleteTagsCommand);
  });

  it("reads the snapshots marked for deletion of this app and environment, its own account's only", async () => {
    mockEnvironment();
    await applyImageRetention(liveState());
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeSnapshotsCommand, {
      OwnerIds: ["self"],
      Filters: [
        { Name: `tag:${TAG.pendingDelete}`, Values: ["true"] },
        { Name: "tag:immutable-deploy:app", Values: ["shop"] },
        { Name: "tag:immutable-deploy:environment", Values: ["dev01"] },
      ],
    });
  });

  it("does not delete again a snapshot DeregisterImage deleted that the listing still shows marked", async () => {
    // Prepare: the marks of this run are listed (the listing lags behind the deletions).
    mockEnvironment();
    ec2Mock.on(DescribeSnapshotsCommand).resolves({ Snapshots: [{ SnapshotId: "snap-0" }, { SnapshotId: "snap-1a" }] });

    // Act
    const result = await applyImageRetention(liveState());

    // Assess
    expect(result.deletedSnapshots).toEqual(["snap-0", "snap-1a", "snap-1b"]);
    expect(ec2Mock).not.toHaveReceivedCommand(DeleteSnapshotCommand);
  });

  it("claims only the available kept images: a bake still pending is kept unclaimed", async () => {
    mockEnvironment([...Object.values(IMAGES), image("ami-0000000000000000b", "v8", "08", [], { State: "pending" })]);
    await applyImageRetention(retaining(0));
    expect(ec2Mock).toHaveReceivedCommandWith(CreateTagsCommand, { Resources: [LIVE, IMAGES.v3.ImageId!, IMAGES.v2.ImageId!], Tags: [{ Key: retainedByTag("dev01"), Value: "true" }] });
    expect(ec2Mock.commandCalls(CreateTagsCommand).flatMap((call) => call.args[0].input.Resources)).not.toContain("ami-0000000000000000b");
  });

  it("ignores an image EC2 still lists as deregistered: it takes no place among the images kept", async () => {
    // Prepare: v6 was deregistered a moment ago; one previous image is kept.
    mockEnvironment(Object.values(IMAGES).map((i) => (i === IMAGES.v6 ? { ...i, State: "deregistered" as const } : i)));

    // Act
    const result = await applyImageRetention(retaining(1));

    // Assess
    expect(result.kept).toEqual([LIVE, IMAGES.v5.ImageId, IMAGES.v3.ImageId, IMAGES.v2.ImageId]);
    expect(result.deregistered).toEqual([IMAGES.v0.ImageId, IMAGES.v1.ImageId, IMAGES.v4.ImageId]);
    expect(ec2Mock).not.toHaveReceivedCommandWith(DeregisterImageCommand, { ImageId: IMAGES.v6.ImageId });
  });

  it("counts an image without a creation date as the oldest", async () => {
    const undated = image("ami-0000000000000000e", "vx", "01", ["snap-x"], { CreationDate: undefined });
    mockEnvironment([undated, ...Object.values(IMAGES)]);
    const result = await applyImageRetention(liveState());
    expect(result.deregistered).toEqual([undated.ImageId, IMAGES.v0.ImageId, IMAGES.v1.ImageId]);
    expect(result.kept).toEqual([LIVE, IMAGES.v6.ImageId, IMAGES.v5.ImageId, IMAGES.v4.ImageId, IMAGES.v3.ImageId, IMAGES.v2.ImageId]);
  });

  it("an image its origin already claims gets only this environment's claim", async () => {
    // Prepare: the live image was promoted from staging, which claims it.
    const promoted = withTags(releaseImage({ id: "ami-0000000000000000c", release: "v8", created: "2025-08-01T00:00:00.000Z", environment: "staging" }), retainedByTag("staging"));
    mockEnvironment([...Object.values(IMAGES), promoted]);

    // Act
    await applyImageRetention({ ...liveState(), image: { imageId: promoted.ImageId!, baked: false } });

    // Assess
    const claimOfPromoted = ec2Mock.commandCalls(CreateTagsCommand).find((call) => call.args[0].input.Resources?.includes(promoted.ImageId!));
    expect(claimOfPromoted?.args[0].input.Tags).toEqual([{ Key: retainedByTag("dev01"), Value: "true" }]);
  });

  it("withdraws its claim on an expired image only it claims, then deregisters it", async () => {
    mockEnvironment([...Object.values(IMAGES).filter((i) => i !== IMAGES.v1), withTags(IMAGES.v1, retainedByTag("dev01"))]);
    const result = await applyImageRetention(liveState());
    expect(ec2Mock).toHaveReceivedCommandWith(DeleteTagsCommand, { Resources: [IMAGES.v1.ImageId!], Tags: [{ Key: retainedByTag("dev01") }] });
    expect(result.deregistered).toEqual([IMAGES.v0.ImageId, IMAGES.v1.ImageId]);
    expect(result.released).toEqual([]);
  });

  it("looks again only at the images no one else keeps", async () => {
    // Prepare: v1 is claimed by staging too; v0 is unclaimed.
    mockEnvironment([...Object.values(IMAGES).filter((i) => i !== IMAGES.v1), withTags(IMAGES.v1, retainedByTag("dev01"), retainedByTag("staging"))]);

    // Act
    const result = await applyImageRetention(liveState());

    // Assess
    expect(describedByIds()).toEqual([[IMAGES.v0.ImageId]]);
    expect(result).toMatchObject({ deregistered: [IMAGES.v0.ImageId], released: [IMAGES.v1.ImageId] });
  });

  it("leaves an image another environment's retention deregistered meanwhile to it: neither deregistered nor released", async () => {
    // Prepare: looked at again, v1 is listed as deregistered and v0 is not listed at all.
    mockEnvironment();
    givenFreshImages((ids) => ids.filter((id) => id === IMAGES.v1.ImageId).map(() => ({ ...IMAGES.v1, State: "deregistered" as const })));

    // Act
    const result = await applyImageRetention(liveState());

    // Assess
    expect(result).toMatchObject({ deregistered: [], released: [], deletedSnapshots: [] });
    expect(ec2Mock).not.toHaveReceivedCommand(DeregisterImageCommand);
    expect(pendingDeleteMarks()).toHaveLength(0);
  });

  it("keeps an image another environment claimed meanwhile (released), and deregisters the rest", async () => {
    // Prepare: looked at again, v0 carries staging's claim.
    mockEnvironment();
    givenFreshImages((ids) => Object.values(IMAGES).filter((i) => ids.includes(i.ImageId!)).map((i) => (i === IMAGES.v0 ? withTags(i, retainedByTag("staging")) : i)));

    // Act
    const result = await applyImageRetention(liveState());

    // Assess
    expect(result).toMatchObject({ deregistered: [IMAGES.v1.ImageId], released: [IMAGES.v0.ImageId] });
  });

  it("looks at the images one by one when one of them is gone, and leaves the gone one", async () => {
    // Prepare: v0 is gone: DescribeImages refuses any list that names it.
    mockEnvironment();
    givenFreshImages((ids) => {
      if (ids.includes(IMAGES.v0.ImageId!)) throw awsError("InvalidAMIID.NotFound", `The image id '[${IMAGES.v0.ImageId}]' does not exist`);
      return Object.values(IMAGES).filter((i) => ids.includes(i.ImageId!));
    });

    // Act
    const result = await applyImageRetention(liveState());

    // Assess
    expect(describedByIds()).toEqual([[IMAGES.v1.ImageId, IMAGES.v0.ImageId], [IMAGES.v1.ImageId], [IMAGES.v0.ImageId]]);
    expect(result).toMatchObject({ deregistered: [IMAGES.v1.ImageId], released: [] });
  });

  it("any other error looking at the images again stops the run before any deregistration", async () => {
    mockEnvironment();
    givenFreshImages(() => {
      throw awsError("UnauthorizedOperation");
    });
    await expect(applyImageRetention(liveState())).rejects.toMatchObject({ name: "UnauthorizedOperation" });
    expect(ec2Mock).not.toHaveReceivedCommand(DeregisterImageCommand);
  });

  it("marks only the EBS snapshots of an image with an instance-store device too", async () => {
    const withEphemeral = { ...IMAGES.v1, BlockDeviceMappings: [...IMAGES.v1.BlockDeviceMappings!, { DeviceName: "/dev/sdb", VirtualName: "ephemeral0" }] };
    mockEnvironment([...Object.values(IMAGES).filter((i) => i !== IMAGES.v1), withEphemeral]);
    const result = await applyImageRetention(liveState());
    expect(pendingDeleteMarks()[0].args[0].input.Resources).toEqual(["snap-0", "snap-1a", "snap-1b"]);
    expect(result.deletedSnapshots).toEqual(["snap-0", "snap-1a", "snap-1b"]);
  });

  it("stops at a DeregisterImage error other than the image being gone", async () => {
    mockEnvironment();
    ec2Mock.on(DeregisterImageCommand, { ImageId: IMAGES.v0.ImageId }).rejects(awsError("UnauthorizedOperation"));
    await expect(applyImageRetention(liveState())).rejects.toMatchObject({ name: "UnauthorizedOperation" });
    expect(ec2Mock).not.toHaveReceivedCommand(DeleteSnapshotCommand);
  });

  describe("snapshots DeregisterImage could not delete", () => {
    const notDeleted = () =>
      ec2Mock.on(DeregisterImageCommand).resolves({
        Return: true,
        DeleteSnapshotResults: [
          { SnapshotId: "snap-0", ReturnCode: "internal-error" },
          { SnapshotId: "snap-1a", ReturnCode: "internal-error" },
          { SnapshotId: "snap-1b", ReturnCode: "internal-error" },
        ],
      });

    it("names those still in use and retries (StillInUse), having deleted the others", async () => {
      // Prepare
      mockEnvironment();
      notDeleted();
      ec2Mock.on(DeleteSnapshotCommand, { SnapshotId: "snap-1a" }).rejects(awsError("InvalidSnapshot.InUse"));
      ec2Mock.on(DeleteSnapshotCommand, { SnapshotId: "snap-1b" }).rejects(awsError("InvalidSnapshot.InUse"));

      // Act
      const attempt = applyImageRetention(liveState());

      // Assess
      await expect(attempt).rejects.toMatchObject({
        name: ERROR.stillInUse,
        message: "snapshot(s) snap-1a, snap-1b still in use (image deregistration not yet visible); deleted 1 other(s), will retry",
      });
      expect(ec2Mock).toHaveReceivedCommandWith(DeleteSnapshotCommand, { SnapshotId: "snap-0" });
    });

    it("passes any other DeleteSnapshot error on", async () => {
      mockEnvironment();
      notDeleted();
      ec2Mock.on(DeleteSnapshotCommand, { SnapshotId: "snap-0" }).rejects(awsError("UnauthorizedOperation"));
      await expect(applyImageRetention(liveState())).rejects.toMatchObject({ name: "UnauthorizedOperation" });
    });
  });

  describe("launch-template versions", () => {
    it("reads the versions the groups name 50 per call", async () => {
      // Prepare: other environments' groups on 50 versions of one template and 51 of another.
      const groupsOn = (templateId: string, count: number) =>
        Array.from({ length: count }, (_, i) => environmentGroup({ name: `shop-x${i}-${templateId}`, launchTemplateId: templateId, launchTemplateVersion: String(i + 1) }));
      mockEnvironment(Object.values(IMAGES), [...groupsOn("lt-0fifty00000000000", 50), ...groupsOn("lt-0fiftyone00000000", 51)]);
      ec2Mock.on(DescribeLaunchTemplateVersionsCommand, { LaunchTemplateId: "lt-0fifty00000000000" }).resolves({ LaunchTemplateVersions: [] });
      ec2Mock.on(DescribeLaunchTemplateVersionsCommand, { LaunchTemplateId: "lt-0fiftyone00000000" }).resolves({ LaunchTemplateVersions: [] });

      // Act
      await applyImageRetention(liveState());

      // Assess
      const versionsRead = (templateId: string) =>
        ec2Mock.commandCalls(DescribeLaunchTemplateVersionsCommand, { LaunchTemplateId: templateId }).map((call) => call.args[0].input.Versions);
      const numbers = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => String(from + i));
      expect(versionsRead("lt-0fifty00000000000")).toEqual([numbers(1, 50)]);
      expect(versionsRead("lt-0fiftyone00000000")).toEqual([numbers(1, 50), ["51"]]);
    });

    it("reads each template groups name by name on its own", async () => {
      // Prepare: two groups of other environments launch v1 and v0 from two templates they name by name.
      const named = (name: string, template: string) => ({ ...environmentGroup({ name }), LaunchTemplate: { LaunchTemplateName: template } });
      mockEnvironment(Object.values(IMAGES), [named("shop-staging-v1-11111111", "named-one"), named("shop-qa-v0-00000000", "named-two")]);
      ec2Mock.on(DescribeLaunchTemplateVersionsCommand, { LaunchTemplateName: "named-one" }).resolves({ LaunchTemplateVersions: [{ VersionNumber: 1, LaunchTemplateData: { ImageId: IMAGES.v1.ImageId } }] });
      ec2Mock.on(DescribeLaunchTemplateVersionsCommand, { LaunchTemplateName: "named-two" }).resolves({ LaunchTemplateVersions: [{ VersionNumber: 1, LaunchTemplateData: { ImageId: IMAGES.v0.ImageId } }] });

      // Act
      const result = await applyImageRetention(liveState());

      // Assess
      expect(ec2Mock).toHaveReceivedCommandWith(DescribeLaunchTemplateVersionsCommand, { LaunchTemplateName: "named-two", Versions: ["$Default"] });
      expect(result).toMatchObject({ deregistered: [], released: [IMAGES.v1.ImageId, IMAGES.v0.ImageId] });
    });

    it("an error listing the environment's launch-template versions stops the run before any deregistration", async () => {
      // Prepare: only the listing of every version fails (its versions named by groups read fine).
      mockEnvironment();
      ec2Mock.on(DescribeLaunchTemplateVersionsCommand, { LaunchTemplateId: LAUNCH_TEMPLATE_ID, MaxResults: 200 }).rejects(awsError("RequestLimitExceeded"));

      // Act
      const attempt = applyImageRetention(liveState());

      // Assess
      await expect(attempt).rejects.toMatchObject({ name: "RequestLimitExceeded" });
      expect(ec2Mock).not.toHaveReceivedCommand(DeregisterImageCommand);
    });

    it("imagesInUse: the groups being retired and the versions Delete removes with them protect nothing (retention runs while they terminate)", async () => {
      // Prepare: v2's group is being retired; it names version 2 (created for it), which nothing else names.
      mockEnvironment();
      const retiringName = "shop-dev01-v2-22222222";
      autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({
        AutoScalingGroups: [
          environmentGroup({ name: "shop-dev01-v7-77777777", release: "v7", launchTemplateVersion: "8" }),
          environmentGroup({ name: retiringName, release: "v2", launchTemplateVersion: "2" }),
        ],
      });
      ec2Mock.on(DescribeLaunchTemplateVersionsCommand, { LaunchTemplateId: LAUNCH_TEMPLATE_ID }).resolves({
        LaunchTemplateVersions: [
          { VersionNumber: 8, VersionDescription: launchTemplateVersionDescription("shop-dev01-v7-77777777"), LaunchTemplateData: { ImageId: LIVE } },
          { VersionNumber: 2, VersionDescription: launchTemplateVersionDescription(retiringName), LaunchTemplateData: { ImageId: IMAGES.v2.ImageId } },
          { VersionNumber: 1, DefaultVersion: true, LaunchTemplateData: { ImageId: IMAGES.v3.ImageId } },
        ],
      });

      // Act
      const whileRetiring = await imagesInUse(liveState().settings, new Set([retiringName]));
      const before = await imagesInUse(liveState().settings);

      // Assess: the default version keeps its image; v2's group and version keep nothing once it is retiring.
      expect([...whileRetiring].sort()).toEqual([IMAGES.v3.ImageId, LIVE].sort());
      expect([...before].sort()).toEqual([IMAGES.v2.ImageId, IMAGES.v3.ImageId, LIVE].sort());
    });

    it("imagesInUse: a version Delete removes anyway (its group is gone) protects nothing; the new group's (keep) does, listed or not", async () => {
      // Prepare: version 5 was created for a group deleted long ago (a failed Delete left it); version 9 for the new
      // group, which Auto Scaling does not list yet.
      mockEnvironment();
      autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({
        AutoScalingGroups: [environmentGroup({ name: "shop-dev01-v7-77777777", release: "v7", launchTemplateVersion: "8" })],
      });
      ec2Mock.on(DescribeLaunchTemplateVersionsCommand, { LaunchTemplateId: LAUNCH_TEMPLATE_ID }).resolves({
        LaunchTemplateVersions: [
          { VersionNumber: 9, VersionDescription: launchTemplateVersionDescription("shop-dev01-v8-88888888"), LaunchTemplateData: { ImageId: IMAGES.v5.ImageId } },
          { VersionNumber: 8, VersionDescription: launchTemplateVersionDescription("shop-dev01-v7-77777777"), LaunchTemplateData: { ImageId: LIVE } },
          { VersionNumber: 5, VersionDescription: launchTemplateVersionDescription("shop-dev01-v4-44444444"), LaunchTemplateData: { ImageId: IMAGES.v4.ImageId } },
          { VersionNumber: 1, DefaultVersion: true, LaunchTemplateData: { ImageId: IMAGES.v3.ImageId } },
        ],
      });

      // Act
      const withKeep = await imagesInUse(liveState().settings, new Set(), ["9"]);
      const withoutKeep = await imagesInUse(liveState().settings);

      // Assess: the live group's and the default version's images, and the new group's only when kept.
      expect([...withKeep].sort()).toEqual([IMAGES.v5.ImageId, IMAGES.v3.ImageId, LIVE].sort());
      expect([...withoutKeep].sort()).toEqual([IMAGES.v3.ImageId, LIVE].sort());
    });

    it("imagesInUse: the AMIs the environment's groups and its launch template's versions name, nothing else", async () => {
      // Prepare: besides an SSM parameter, one version of the environment's template names no image.
      mockEnvironment();
      ec2Mock.on(DescribeLaunchTemplateVersionsCommand, { LaunchTemplateId: LAUNCH_TEMPLATE_ID }).resolves({
        LaunchTemplateVersions: [
          { VersionNumber: 8, LaunchTemplateData: { ImageId: LIVE } },
          { VersionNumber: 2, LaunchTemplateData: { ImageId: IMAGES.v2.ImageId } },
          { VersionNumber: 1, LaunchTemplateData: { ImageId: "resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64" } },
          { VersionNumber: 0, LaunchTemplateData: { InstanceType: "t3.micro" } },
        ],
      });

      // Act
      const inUse = await imagesInUse(liveState().settings);

      // Assess
      expect([...inUse].sort()).toEqual([IMAGES.v3.ImageId, IMAGES.v2.ImageId, LIVE].sort());
    });
  });
});
