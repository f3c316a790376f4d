import "aws-sdk-client-mock-vitest/extend";
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from "@aws-sdk/client-auto-scaling";
import { DescribeImagesCommand, EC2Client } from "@aws-sdk/client-ec2";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { resetClock, setClock } from "../../functions/lib/clock.js";
import { ERROR } from "../../functions/lib/names.js";
import { bakeRequestFor, prepareDeploy, releaseGroupName } from "../../functions/prepareDeploy.js";
import {
  awsError,
  controlSettings,
  controlState,
  environmentGroup,
  MY_EXECUTION,
  releaseImage,
  s3ObjectCreatedEvent,
} from "./controlFixtures.js";
import { ALTERNATE_TARGET_GROUP_ARN, group, instances } from "./fixtures.js";

const autoScalingMock = mockClient(AutoScalingClient);
const ec2Mock = mockClient(EC2Client);
const NOW_SECONDS = 1_750_000_000;

beforeEach(() => {
  autoScalingMock.reset();
  ec2Mock.reset();
  autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [] });
  setClock(() => NOW_SECONDS * 1000);
});

afterEach(() => resetClock());

describe("prepareDeploy: the two input shapes", () => {
  it("plans a deploy from an S3 Object Created event as EventBridge delivers it", async () => {
    // Prepare
    const state = controlState({ input: s3ObjectCreatedEvent({ key: "releases/myapp-1.4.2.tgz", versionId: "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY" }) });

    // Act
    const plan = await prepareDeploy(state);

    // Assess
    const object = {
      bucket: "shop-artifacts",
      key: "releases/myapp-1.4.2.tgz",
      etag: "b1946ac92492d2347c6235b4d2611184",
      versionId: "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY",
      sequencer: "00617F08299329D189",
    };
    expect(plan).toEqual({
      release: "myapp-1.4.2",
      artifact: object,
      // The S3 object's identity: a repeated delivery of this very object is a no-op (Lock).
      delivery: object,
      rebuildBase: false,
      keepImages: false,
      groupName: releaseGroupName(state.settings, "myapp-1.4.2", MY_EXECUTION),
      liveGroups: [],
      desiredCapacity: 2,
      bakeRequest: {
        ARTIFACT_BUCKET: "shop-artifacts",
        ARTIFACT_KEY: "releases/myapp-1.4.2.tgz",
        ARTIFACT_VERSION_ID: "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY",
        RELEASE: "myapp-1.4.2",
        BASE_IMAGE_ID: "",
        REBUILD_BASE: "false",
      },
    });
    expect(plan.groupName).toMatch(/^shop-dev01-myapp-1\.4\.2-[0-9a-f]{8}$/);
    expect(ec2Mock).not.toHaveReceivedAnyCommand();
  });

  it("decodes the S3 event's URL-encoded key, keeps a semantic version with build metadata as the label, names the group by the one rule", async () => {
    // Prepare: S3 sends "+" as %2B (a "+" in the event would be a space).
    const state = controlState({ input: s3ObjectCreatedEvent({ key: "releases/web-app-2.4.2%2Bbuild.188.tgz" }) });

    // Act
    const plan = await prepareDeploy(state);

    // Assess
    expect(plan.release).toBe("web-app-2.4.2+build.188");
    expect(plan.artifact?.key).toBe("releases/web-app-2.4.2+build.188.tgz");
    expect(plan.bakeRequest).toMatchObject({ ARTIFACT_KEY: "releases/web-app-2.4.2+build.188.tgz", RELEASE: "web-app-2.4.2+build.188" });
    expect(plan.groupName).toMatch(/^shop-dev01-web-app-2\.4\.2-build\.188@[0-9a-f]{8}-[0-9a-f]{8}$/);
  });

  it("takes a manual artifact key as given (not URL-decoded)", async () => {
    // Prepare
    const state = controlState({ input: { artifact: { bucket: "shop-artifacts", key: "releases/web-app-2.4.2+build.188.tgz" } } });

    // Act
    const plan = await prepareDeploy(state);

    // Assess
    expect(plan).toMatchObject({ release: "web-app-2.4.2+build.188", artifact: { key: "releases/web-app-2.4.2+build.188.tgz" } });
  });

  it("plans a deploy from a manual artifact input with options", async () => {
    // Prepare
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [releaseImage({ id: "ami-0123456789abcdef0", release: "base", created: "2025-01-01T00:00:00.000Z", role: "base" })] });
    const state = controlState({
      input: { artifact: { bucket: "shop-artifacts", key: "releases/v2.tgz" }, baseImageId: "ami-0123456789abcdef0", keepImages: true },
    });

    // Act
    const plan = await prepareDeploy(state);

    // Assess
    expect(plan).toMatchObject({
      release: "v2",
      artifact: { bucket: "shop-artifacts", key: "releases/v2.tgz" },
      baseImageId: "ami-0123456789abcdef0",
      rebuildBase: false,
      keepImages: true,
      bakeRequest: { ARTIFACT_VERSION_ID: "", BASE_IMAGE_ID: "ami-0123456789abcdef0", RELEASE: "v2", REBUILD_BASE: "false" },
    });
    expect(plan.imageId).toBeUndefined();
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeImagesCommand, { ImageIds: ["ami-0123456789abcdef0"] });
  });

  it("uses an explicit release label over the artifact's file name and passes rebuildBase to the bake", async () => {
    // Prepare
    const state = controlState({ input: { artifact: { bucket: "shop-artifacts", key: "releases/build.tgz", versionId: "v-1" }, rebuildBase: true, release: "2025.01.02-hotfix" } });

    // Act
    const plan = await prepareDeploy(state);

    // Assess
    expect(plan.release).toBe("2025.01.02-hotfix");
    expect(plan.groupName).toMatch(/^shop-dev01-2025\.01\.02-hotfix-[0-9a-f]{8}$/);
    expect(plan.bakeRequest).toEqual({
      ARTIFACT_BUCKET: "shop-artifacts",
      ARTIFACT_KEY: "releases/build.tgz",
      ARTIFACT_VERSION_ID: "v-1",
      RELEASE: "2025.01.02-hotfix",
      BASE_IMAGE_ID: "",
      REBUILD_BASE: "true",
    });
  });

  it("takes the release of an image-only input from the image's release tag", async () => {
    // Prepare
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [releaseImage({ id: "ami-0aaaaaaaaaaaaaaa1", release: "v1", created: "2025-01-01T00:00:00.000Z" })] });

    // Act
    const plan = await prepareDeploy(controlState({ input: { imageId: "ami-0aaaaaaaaaaaaaaa1" } }));

    // Assess
    expect(plan).toMatchObject({ release: "v1", imageId: "ami-0aaaaaaaaaaaaaaa1" });
    expect(plan.artifact).toBeUndefined();
    expect(plan.bakeRequest).toBeUndefined();
  });

  it("accepts another environment's release image of the app (a promotion: the exact image that environment tested)", async () => {
    // Prepare
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [releaseImage({ id: "ami-0aaaaaaaaaaaaaaa1", release: "v1", created: "2025-01-01T00:00:00.000Z", environment: "staging" })] });

    // Act
    const plan = await prepareDeploy(controlState({ input: { imageId: "ami-0aaaaaaaaaaaaaaa1" } }));

    // Assess
    expect(plan).toMatchObject({ release: "v1", imageId: "ami-0aaaaaaaaaaaaaaa1" });
    expect(plan.bakeRequest).toBeUndefined();
  });

  it("is deterministic per execution: a re-run yields the same group name, another execution another", async () => {
    // Prepare
    const input = { artifact: { bucket: "shop-artifacts", key: "releases/v2.tgz" } };

    // Act
    const first = await prepareDeploy(controlState({ input }));
    const again = await prepareDeploy(controlState({ input }));
    const other = await prepareDeploy(controlState({ input, execution: { id: `${MY_EXECUTION}-2`, name: "x", startTime: "" } }));

    // Assess
    expect(again.groupName).toBe(first.groupName);
    expect(other.groupName).not.toBe(first.groupName);
  });

  it("keeps group names within 255 characters and keeps the execution hash", () => {
    // Prepare
    const settings = controlSettings({ app: "a".repeat(200), environment: "e".repeat(60) });

    // Act
    const name = releaseGroupName(settings, "v2", MY_EXECUTION);

    // Assess
    expect(name).toHaveLength(255);
    expect(name).toBe(`${name.slice(0, 246)}-${releaseGroupName(controlSettings(), "v2", MY_EXECUTION).slice(-8)}`);
  });
});

describe("prepareDeploy: live groups and capacity", () => {
  it("lists live groups (not ones being deleted, not its own) and takes the larger desired capacity", async () => {
    // Prepare
    const state = controlState({ input: { artifact: { bucket: "shop-artifacts", key: "releases/v2.tgz" } } });
    const ownGroup = releaseGroupName(state.settings, "v2", MY_EXECUTION);
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [
        environmentGroup({ name: "shop-dev01-v1-aaaaaaaa", release: "v1", desired: 3, launchTemplateVersion: "7" }),
        environmentGroup({ name: "shop-dev01-v0-bbbbbbbb", release: "v0", desired: 9, status: "Delete in progress" }),
        environmentGroup({ name: ownGroup, release: "v2", desired: 4 }),
      ],
    });

    // Act
    const plan = await prepareDeploy(state);

    // Assess
    expect(plan.liveGroups).toEqual([{ name: "shop-dev01-v1-aaaaaaaa", min: 1, desired: 3, max: 4, release: "v1", launchTemplateVersion: "7", attached: false, serving: false }]);
    expect(plan.desiredCapacity).toBe(3);
    expect(autoScalingMock).toHaveReceivedCommandWith(DescribeAutoScalingGroupsCommand, {
      Filters: [
        { Name: "tag:immutable-deploy:app", Values: ["shop"] },
        { Name: "tag:immutable-deploy:environment", Values: ["dev01"] },
      ],
    });
  });

  it("records which groups are attached and serving: what a rollback restores, and what it leaves as it is", async () => {
    // Prepare: one serving group, one an earlier deploy detached (still running), one attached but empty.
    const state = controlState({ input: { artifact: { bucket: "shop-artifacts", key: "releases/v3.tgz" } } });
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [
        group("shop-dev01-v2-serving", { Instances: instances(2, "InService", "Healthy", "i-v2") }),
        group("shop-dev01-v1-retired", { attached: false, Instances: instances(2, "InService", "Healthy", "i-v1") }),
        group("shop-dev01-v0-empty", { DesiredCapacity: 0, Instances: [] }),
      ],
    });

    // Act
    const plan = await prepareDeploy(state);

    // Assess
    expect(plan.liveGroups.map(({ name, attached, serving }) => ({ name, attached, serving }))).toEqual([
      { name: "shop-dev01-v2-serving", attached: true, serving: true },
      { name: "shop-dev01-v1-retired", attached: false, serving: false },
      { name: "shop-dev01-v0-empty", attached: true, serving: false },
    ]);
  });

  it("records where each attached live group takes traffic from (the target group a rollback attaches it to), and nothing for a detached one", async () => {
    // Prepare: the live group serves from the alternate target group (the previous cutover moved it there).
    const state = controlState({ input: { artifact: { bucket: "shop-artifacts", key: "releases/v3.tgz" } } });
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [
        group("shop-dev01-v2-serving", { TargetGroupARNs: [ALTERNATE_TARGET_GROUP_ARN], Instances: instances(2, "InService", "Healthy", "i-v2") }),
        group("shop-dev01-v1-retired", { attached: false, Instances: instances(2, "InService", "Healthy", "i-v1") }),
      ],
    });

    // Act
    const plan = await prepareDeploy(state);

    // Assess
    expect(plan.liveGroups[0].target).toBe(ALTERNATE_TARGET_GROUP_ARN);
    expect(plan.liveGroups[1]).not.toHaveProperty("target");
  });

  it("keeps a live group's scale-out beyond the configured max (an operator raised its max by hand)", async () => {
    // Prepare: configured max 4; the live group was given max 6 and scaled to 5.
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [{ ...environmentGroup({ name: "shop-dev01-v1-aaaaaaaa", release: "v1", desired: 5 }), MaxSize: 6 }],
    });

    // Act
    const plan = await prepareDeploy(controlState({ input: { artifact: { bucket: "shop-artifacts", key: "releases/v2.tgz" } } }));

    // Assess
    expect(plan.desiredCapacity).toBe(5);
  });
});

const IMAGE = "ami-0123456789abcdef0";
const ARTIFACT = { bucket: "shop-artifacts", key: "releases/v2.tgz" };

/** Each bad input, the field its message must name, and a fragment of what it must say. */
const badInputs: { title: string; input: unknown; fragment: string }[] = [
  { title: "not an object", input: "releases/v2.tgz", fragment: 'input: "releases/v2.tgz" is not an object' },
  { title: "an array", input: [ARTIFACT], fragment: "input: " },
  { title: "neither artifact nor imageId", input: { release: "v2" }, fragment: 'neither "artifact" nor "imageId"' },
  { title: "both artifact and imageId", input: { artifact: ARTIFACT, imageId: IMAGE }, fragment: 'both "artifact" and "imageId"' },
  { title: "malformed imageId", input: { imageId: "ami-xyz" }, fragment: 'imageId: "ami-xyz" is not an AMI id; allowed: "ami-" followed by 8 or 17' },
  { title: "malformed baseImageId", input: { artifact: ARTIFACT, baseImageId: "ami-12" }, fragment: 'baseImageId: "ami-12" is not an AMI id' },
  { title: "unknown key (typo)", input: { artifact: ARTIFACT, keepImage: true }, fragment: 'keepImage: unknown field (did you mean "keepImages"?); allowed: artifact, imageId, baseImageId, rebuildBase, keepImages, release' },
  { title: "unknown artifact key", input: { artifact: { ...ARTIFACT, version: "1" } }, fragment: 'artifact.version: unknown field (did you mean "versionId"?); allowed: bucket, key, versionId' },
  { title: "rebuildBase not a boolean", input: { artifact: ARTIFACT, rebuildBase: "yes" }, fragment: 'rebuildBase: "yes" is a string; allowed: true or false' },
  { title: "keepImages not a boolean", input: { imageId: IMAGE, keepImages: 1 }, fragment: "keepImages: 1 is a number; allowed: true or false" },
  { title: "bad release label", input: { artifact: ARTIFACT, release: "v 2!" }, fragment: 'release: "v 2!" is not a release label' },
  { title: "artifact outside the release prefix", input: { artifact: { bucket: "shop-artifacts", key: "uploads/v2.tgz" } }, fragment: 'artifact.key: "uploads/v2.tgz" is not a release artifact key; allowed: a key under "releases/"' },
  { title: "artifact not a .tgz", input: { artifact: { bucket: "shop-artifacts", key: "releases/v2.zip" } }, fragment: 'artifact.key: "releases/v2.zip" is not a release artifact key' },
  { title: "missing artifact bucket", input: { artifact: { key: "releases/v2.tgz" } }, fragment: "artifact.bucket: (missing); required: a string" },
  { title: "bad bucket name", input: { artifact: { bucket: "Shop_Artifacts", key: "releases/v2.tgz" } }, fragment: 'artifact.bucket: "Shop_Artifacts" is not an S3 bucket name' },
  { title: "artifact file name is no release label", input: { artifact: { bucket: "shop-artifacts", key: "releases/my app.tgz" } }, fragment: 'artifact.key: "releases/my app.tgz" gives release label "my app"' },
  { title: "baseImageId with imageId", input: { imageId: IMAGE, baseImageId: IMAGE }, fragment: 'baseImageId: "ami-0123456789abcdef0" given with "imageId"' },
  { title: "rebuildBase with baseImageId", input: { artifact: ARTIFACT, baseImageId: IMAGE, rebuildBase: true }, fragment: "rebuildBase: true given with baseImageId" },
  { title: "S3 event from another source", input: { ...s3ObjectCreatedEvent({ key: "releases/v2.tgz" }), source: "aws.ec2" }, fragment: 'source: "aws.ec2" is not an S3 event source; allowed: "aws.s3"' },
  { title: "S3 event of another type", input: { ...s3ObjectCreatedEvent({ key: "releases/v2.tgz" }), "detail-type": "Object Deleted" }, fragment: 'detail-type: "Object Deleted" is not a supported event; allowed: "Object Created"' },
  { title: "S3 event outside the prefix", input: s3ObjectCreatedEvent({ key: "tmp/v2.tgz" }), fragment: 'detail.object.key: "tmp/v2.tgz" is not a release artifact key' },
  { title: "S3 event without etag", input: (() => { const e = s3ObjectCreatedEvent({ key: "releases/v2.tgz" }); delete (e.detail.object as { etag?: string }).etag; return e; })(), fragment: "detail.object.etag: (missing)" },
  { title: "S3 event whose file name is no label", input: s3ObjectCreatedEvent({ key: "releases/v2%21.tgz" }), fragment: 'detail.object.key: "releases/v2%21.tgz" (URL-decoded: "releases/v2!.tgz") gives release label "v2!", which is not a release label' },
  { title: "S3 event key with a space (arrives as +)", input: s3ObjectCreatedEvent({ key: "releases/my+app.tgz" }), fragment: 'detail.object.key: "releases/my+app.tgz" (URL-decoded: "releases/my app.tgz") gives release label "my app"' },
  { title: "S3 event key that decodes to no artifact", input: s3ObjectCreatedEvent({ key: "releases/v2.tgz%2Ebak" }), fragment: 'detail.object.key: "releases/v2.tgz%2Ebak" (URL-decoded: "releases/v2.tgz.bak") is not a release artifact key' },
  { title: "S3 event key that is not URL-encoded", input: s3ObjectCreatedEvent({ key: "releases/v2%ZZ.tgz" }), fragment: 'detail.object.key: "releases/v2%ZZ.tgz" is not a URL-encoded S3 key; allowed: the key as S3 event notifications encode it' },
];

describe("prepareDeploy: bad inputs fail with InvalidDeployInput naming the field, touching nothing", () => {
  it.each(badInputs)("$title", async ({ input, fragment }) => {
    // Prepare
    const state = controlState({ input });

    // Act
    const error = await prepareDeploy(state).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).toBe(ERROR.invalidInput);
    expect((error as Error).message).toContain(fragment);
    expect(autoScalingMock).not.toHaveReceivedAnyCommand();
    expect(ec2Mock).not.toHaveReceivedAnyCommand();
  });

  it.each([
    { title: "an image that does not exist", rejection: awsError("InvalidAMIID.NotFound"), images: undefined, fragment: "does not exist" },
    { title: "an image still pending", rejection: undefined, images: [releaseImage({ id: IMAGE, release: "v1", created: "2025", state: "pending" })], fragment: "is pending, not available" },
    { title: "a base image", rejection: undefined, images: [releaseImage({ id: IMAGE, release: "v1", created: "2025", role: "base" })], fragment: "is not a release image" },
    { title: "an image whose release tag is no release label", rejection: undefined, images: [releaseImage({ id: IMAGE, release: "v1 final", created: "2025" })], fragment: 'has no usable immutable-deploy:release tag ("v1 final")' },
    { title: "an image without release tag", rejection: undefined, images: [{ ...releaseImage({ id: IMAGE, release: "v1", created: "2025" }), Tags: releaseImage({ id: IMAGE, release: "v1", created: "2025" }).Tags?.filter((t) => t.Key !== "immutable-deploy:release") }], fragment: "has no usable immutable-deploy:release tag" },
  ])("rejects $title, naming imageId, before touching anything", async ({ rejection, images, fragment }) => {
    // Prepare
    if (rejection) ec2Mock.on(DescribeImagesCommand).rejects(rejection);
    else ec2Mock.on(DescribeImagesCommand).resolves({ Images: images });

    // Act
    const error = await prepareDeploy(controlState({ input: { imageId: IMAGE } })).catch((e: unknown) => e);

    // Assess
    expect((error as Error).name).toBe(ERROR.invalidInput);
    expect((error as Error).message).toContain(`imageId: "${IMAGE}"`);
    expect((error as Error).message).toContain(fragment);
    expect(autoScalingMock).not.toHaveReceivedAnyCommand();
  });

  it("rejects an image of another app", async () => {
    // Prepare
    const image = releaseImage({ id: IMAGE, release: "v1", created: "2025" });
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [{ ...image, Tags: image.Tags?.map((t) => (t.Key === "immutable-deploy:app" ? { ...t, Value: "blog" } : t)) }] });

    // Act
    const error = await prepareDeploy(controlState({ input: { imageId: IMAGE } })).catch((e: unknown) => e);

    // Assess
    expect((error as Error).name).toBe(ERROR.invalidInput);
    expect((error as Error).message).toContain(`imageId: "${IMAGE}" is not tagged for app shop`);
  });
});

describe("prepareDeploy: what a named image must be, in the error's words", () => {
  const BASE = "ami-0fedcba9876543210";
  const release = (options: Partial<Parameters<typeof releaseImage>[0]> = {}) => releaseImage({ id: IMAGE, release: "v1", created: "2025", ...options });
  const withoutTag = (image: ReturnType<typeof releaseImage>, key: string) => ({ ...image, Tags: image.Tags?.filter((t) => t.Key !== key) });
  const RELEASE_RULE = "allowed: an available release image tagged immutable-deploy:app=shop and immutable-deploy:role=release";

  it.each([
    ["an image without role tag", withoutTag(release(), "immutable-deploy:role"), `is not a release image (immutable-deploy:role=none); ${RELEASE_RULE}`],
    ["an image without a state", { ...release(), State: undefined }, `is in an unknown state, not available; ${RELEASE_RULE}`],
  ])("rejects %s as imageId with the whole rule", async (_, image, problem) => {
    // Prepare
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [image] });

    // Act
    const attempt = prepareDeploy(controlState({ input: { imageId: IMAGE } }));

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: ERROR.invalidInput, message: `imageId: "${IMAGE}" ${problem}` });
  });

  it("rejects a release image named as baseImageId, with the base image rule", async () => {
    // Prepare
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [release()] });

    // Act
    const attempt = prepareDeploy(controlState({ input: { artifact: { bucket: "shop-artifacts", key: "releases/v2.tgz" }, baseImageId: IMAGE } }));

    // Assess
    await expect(attempt).rejects.toMatchObject({
      name: ERROR.invalidInput,
      message: `baseImageId: "${IMAGE}" is not a base image (immutable-deploy:role=release); allowed: an available base image tagged immutable-deploy:app=shop and immutable-deploy:role=base`,
    });
  });

  it("takes a base image of this app whatever environment baked it (base images are shared)", async () => {
    // Prepare
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [releaseImage({ id: BASE, release: "base", created: "2025", role: "base", environment: "production" })] });

    // Act
    const plan = await prepareDeploy(controlState({ input: { artifact: { bucket: "shop-artifacts", key: "releases/v2.tgz" }, baseImageId: BASE } }));

    // Assess
    expect(plan).toMatchObject({ baseImageId: BASE, bakeRequest: { BASE_IMAGE_ID: BASE } });
  });

  it("an answer without Images means the image does not exist", async () => {
    // Prepare
    ec2Mock.on(DescribeImagesCommand).resolves({});

    // Act
    const attempt = prepareDeploy(controlState({ input: { imageId: IMAGE } }));

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: ERROR.invalidInput, message: expect.stringContaining(`imageId: "${IMAGE}" does not exist or is not visible to this account; `) });
  });

  it("passes on an EC2 error other than not-found (throttling, permissions): it is no answer about the image", async () => {
    // Prepare
    ec2Mock.on(DescribeImagesCommand).rejects(awsError("RequestLimitExceeded"));

    // Act
    const attempt = prepareDeploy(controlState({ input: { imageId: IMAGE } }));

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: "RequestLimitExceeded" });
  });

  it("a manual artifact input is no S3 delivery: no delivery to claim in Lock", async () => {
    // Act
    const plan = await prepareDeploy(controlState({ input: { artifact: { bucket: "shop-artifacts", key: "releases/v2.tgz" } } }));

    // Assess
    expect(plan.artifact).toEqual({ bucket: "shop-artifacts", key: "releases/v2.tgz" });
    expect("delivery" in plan).toBe(false);
  });

  it("bakeRequestFor gives an empty string for every artifact field an input without artifact leaves unset", () => {
    // Act
    const request = bakeRequestFor({ source: "manual", imageId: IMAGE, rebuildBase: false, keepImages: false }, "v1");

    // Assess
    expect(request).toEqual({ ARTIFACT_BUCKET: "", ARTIFACT_KEY: "", ARTIFACT_VERSION_ID: "", RELEASE: "v1", BASE_IMAGE_ID: "", REBUILD_BASE: "false" });
  });
});
