/**
 * Idempotency and retries, proven against the simulated region rather than against answers a test scripted:
 * each stage function runs twice (or after a fault) with the product's own SDK clients, and the test looks at
 * what the region holds afterwards.
 */
import { afterEach, describe, expect, it } from "vitest";
import { applyImageRetention } from "../../functions/applyImageRetention.js";
import { deleteOldGroups } from "../../functions/deleteOldGroups.js";
import { launchReleaseGroup } from "../../functions/launchReleaseGroup.js";
import type { DeployPlan, DeployState } from "../../functions/lib/contract.js";
import { ERROR, TAG } from "../../functions/lib/names.js";
import { lockEnvironment } from "../../functions/lockEnvironment.js";
import { releaseGroupName } from "../../functions/prepareDeploy.js";
import { unlockEnvironment } from "../../functions/unlockEnvironment.js";
import { EXECUTION_ARN, launchGroup, productWorld, releaseImage } from "../support/simulatedWorld.js";

let world: ReturnType<typeof productWorld>;
afterEach(() => world?.close());

function plan(overrides: Partial<DeployPlan> = {}): DeployPlan {
  return {
    release: "v2",
    rebuildBase: false,
    keepImages: false,
    groupName: releaseGroupName(world.settings, "v2", EXECUTION_ARN),
    liveGroups: [],
    desiredCapacity: 2,
    ...overrides,
  };
}

/** The lock table's items as stored (DynamoDB attribute values). */
const lockItems = (): Record<string, any>[] => [...world.region.dynamodb.tables.get(world.settings.lockTableName)!.items.values()];

/** The image is known: lockEnvironment runs as Lock environment (without it, as Claim release). */
const IMAGE = { imageId: "ami-0123456789abcdef0", baked: true };

describe("the deploy lock", () => {
  it("lockEnvironment is idempotent: a second run of the holding execution is ready again and the lock is still its own", async () => {
    // Prepare
    world = productWorld();
    const state = world.state({ plan: plan(), image: IMAGE });
    // Act
    const first = await lockEnvironment(state);
    const again = await lockEnvironment(state);
    // Assess
    expect([first.status, again.status]).toEqual(["ready", "ready"]);
    expect(lockItems()).toHaveLength(1);
    expect(lockItems()[0]).toMatchObject({ holder: { S: EXECUTION_ARN }, release: { S: "v2" } });
  });

  it("unlockEnvironment is idempotent: the second run finds the lock released by this execution and does not fail", async () => {
    // Prepare
    world = productWorld();
    const state = world.state({ plan: plan(), image: IMAGE });
    state.lock = await lockEnvironment(state);
    // Act
    const first = await unlockEnvironment(state);
    const again = await unlockEnvironment(state);
    // Assess
    expect(first.released).toBe(true);
    expect(again).toEqual({ released: false, message: "the deploy lock of shop/dev01 is already released (by this execution, or by hand)" });
    expect(lockItems()).toEqual([{ lockId: { S: "shop#dev01" }, releasedBy: { S: EXECUTION_ARN }, releasedAt: expect.anything() }]);
  });

  it("a released lock is free: the next deploy takes it; the superseded execution's late unlock is LockLost", async () => {
    // Prepare: this execution held and released the lock; another deploy took it since.
    world = productWorld();
    const state = world.state({ plan: plan(), image: IMAGE });
    state.lock = await lockEnvironment(state);
    await unlockEnvironment(state);
    const other = world.state({ plan: plan({ release: "v3" }), image: IMAGE, execution: { id: `${EXECUTION_ARN}-next`, name: "exec-next", startTime: state.execution.startTime } });
    // Act
    const taken = await lockEnvironment(other);
    const late = await unlockEnvironment(state).catch((error: unknown) => error);
    // Assess
    expect(taken.status).toBe("ready");
    expect(late).toMatchObject({ name: ERROR.lockLost });
    expect(lockItems()).toEqual([expect.objectContaining({ holder: { S: `${EXECUTION_ARN}-next` }, release: { S: "v3" } })]);
  });

  it("a second delivery of the same S3 object is a duplicate (at Claim release, before any bake) whatever went live since; a new upload of the same key is not", async () => {
    // Prepare: v2's upload was delivered to this execution; it went live and was replaced since (no live group is v2).
    world = productWorld();
    const object = { bucket: "shop-artifacts", key: "releases/v2.tgz", etag: "e1", versionId: "ver-1", sequencer: "0A" };
    const first = world.state({ plan: plan({ delivery: object }) });
    await lockEnvironment(first);
    await unlockEnvironment({ ...first, lock: { status: "ready", nextPollSeconds: 0, message: "" } });
    const redelivered = world.state({ plan: plan({ delivery: object }), execution: { id: `${EXECUTION_ARN}-again`, name: "exec-again", startTime: first.execution.startTime } });
    const reuploaded = world.state({ plan: plan({ delivery: { ...object, versionId: "ver-2", sequencer: "0B" } }), execution: { id: `${EXECUTION_ARN}-new`, name: "exec-new", startTime: first.execution.startTime } });
    // Act
    const duplicate = await lockEnvironment(redelivered);
    const fresh = await lockEnvironment(reuploaded);
    const rerun = await lockEnvironment(first);
    // Assess
    expect(duplicate).toMatchObject({ status: "duplicate", message: expect.stringMatching(/^s3:\/\/shop-artifacts\/releases\/v2\.tgz \(version ver-1\) was already delivered to execution exec-me at .*; a repeated delivery deploys nothing$/) });
    expect(fresh.status).toBe("claimed");
    // The first execution itself (a re-run of Claim release) is not its own duplicate.
    expect(rerun.status).not.toBe("duplicate");
    const deliveries = lockItems().filter((item) => item.deliveredTo);
    expect(deliveries).toHaveLength(2);
    for (const item of deliveries) expect(Number(item.expiresAt.N) - Number(item.claimedAt.N)).toBe(7 * 24 * 3600);
  });
});

describe("launchReleaseGroup", () => {
  async function launchState(): Promise<DeployState> {
    const imageId = releaseImage(world.region, world.settings, "v2");
    const state = world.state({ plan: plan(), image: { imageId, baked: true } });
    await lockEnvironment(state);
    return state;
  }

  it("a group not yet visible right after its creation: the launch looks again a second later and adopts it; a retry creates nothing twice", async () => {
    // Prepare: Auto Scaling does not list the new group on the first look (eventual consistency).
    world = productWorld();
    const state = await launchState();
    world.region.faults.inject([{ operation: "AutoScaling:DescribeAutoScalingGroups", error: "NotFound", times: 1 }]);
    // Act: the launch (which waits a real second here, outside a simulated invocation), then a retry of it.
    const first = await launchReleaseGroup(state);
    world.region.advance(2);
    const retry = await launchReleaseGroup(state);
    // Assess
    expect(first.groupName).toBe(state.plan!.groupName);
    expect(retry).toEqual(first);
    expect([...world.region.autoScaling.groups.keys()]).toEqual([state.plan!.groupName]);
    const versions = [...world.region.ec2.launchTemplates.get(world.settings.launchTemplateId)!.versions.keys()];
    expect(versions).toEqual([1, Number(retry.launchTemplateVersion)]);
  });

  it("is idempotent: a second run reuses the version and the group, with the same deadline", async () => {
    // Prepare
    world = productWorld();
    const state = await launchState();
    const first = await launchReleaseGroup(state);
    world.region.advance(500);
    // Act
    const again = await launchReleaseGroup(state);
    // Assess
    expect(again).toEqual(first);
    expect(world.region.autoScaling.groups.size).toBe(1);
    expect(world.region.ec2.launchTemplates.get(world.settings.launchTemplateId)!.versions.size).toBe(2);
  });
});

describe("deleteOldGroups", () => {
  it("a delete refused while a scaling activity runs is StillInUse; the retry deletes the group", async () => {
    // Prepare: an old group retired to 0 instances, then a scaling activity still in progress on the first delete.
    world = productWorld();
    const old = await launchGroup(world, { release: "v1", desired: 0 });
    const retired: DeployState = world.state({ plan: plan(), image: IMAGE, retirement: { groups: [old], drainedBy: 0, retiredBy: 0 } });
    await lockEnvironment(retired);
    world.region.faults.inject([{ operation: "AutoScaling:DeleteAutoScalingGroup", error: "ScalingActivityInProgress", times: 1 }]);
    // Act
    const first = await deleteOldGroups(retired).catch((error: unknown) => error);
    const retry = await deleteOldGroups(retired);
    world.region.advance(60);
    // Assess
    expect(first).toMatchObject({ name: ERROR.stillInUse });
    expect(retry.deletedGroups).toEqual([old]);
    expect(world.region.autoScaling.groups.has(old)).toBe(false);
  });
});

describe("applyImageRetention", () => {
  /** Release images v1..vn, an hour apart (retention orders them by creation time); returns their ids by release. */
  function images(count: number): Record<string, string> {
    const ids: Record<string, string> = {};
    for (let n = 1; n <= count; n++) {
      ids[`v${n}`] = releaseImage(world.region, world.settings, `v${n}`);
      world.region.advance(3600);
    }
    return ids;
  }
  const releaseImagesLeft = () =>
    world.region.ec2
      .ownImages()
      .filter((image) => image.tags.some((tag) => tag.Key === TAG.role && tag.Value === "release"))
      .map((image) => image.tags.find((tag) => tag.Key === TAG.release)?.Value)
      .sort();

  it("with nothing else in use, the retention count alone decides: the live image and the N newest others stay", async () => {
    // Prepare: seven release images, v7 live, no group or launch-template version naming any of them.
    world = productWorld();
    world.settings.retainReleaseImages = 2;
    const ids = images(7);
    const state = world.state({ plan: plan({ release: "v7" }), image: { imageId: ids.v7, baked: true } });
    await lockEnvironment(state);
    // Act
    const result = await applyImageRetention(state);
    // Assess
    expect(releaseImagesLeft()).toEqual(["v5", "v6", "v7"]);
    expect(result.deregistered.sort()).toEqual([ids.v1, ids.v2, ids.v3, ids.v4].sort());
    expect(result.deletedSnapshots).toHaveLength(4);
    expect([...world.region.ec2.snapshots.keys()]).toHaveLength(world.region.ec2.images.size);
  });

  it("a snapshot EC2 still reports in use fails the run with StillInUse; the re-run finds it by its mark and deletes it", async () => {
    // Prepare: v1 expires, but EC2 holds its snapshot for a moment after the deregistration.
    world = productWorld();
    world.settings.retainReleaseImages = 1;
    const ids = images(3);
    const snapshotOfV1 = world.region.ec2.images.get(ids.v1)!.snapshotIds[0];
    // Twice: EC2 cannot delete it in the DeregisterImage call (DeleteAssociatedSnapshots: internal-error), nor
    // right after by DeleteSnapshot (InvalidSnapshot.InUse).
    world.region.faults.inject([{ snapshotInUseTimes: 2 }]);
    const state = world.state({ plan: plan({ release: "v3" }), image: { imageId: ids.v3, baked: true } });
    await lockEnvironment(state);
    // Act
    const first = await applyImageRetention(state).catch((error: unknown) => error);
    const rerun = await applyImageRetention(state);
    // Assess
    expect(first).toMatchObject({ name: ERROR.stillInUse });
    expect((first as Error).message).toContain(snapshotOfV1);
    expect(rerun.deregistered).toEqual([]);
    expect(rerun.deletedSnapshots).toEqual([snapshotOfV1]);
    expect(world.region.ec2.snapshots.has(snapshotOfV1)).toBe(false);
    expect(releaseImagesLeft()).toEqual(["v2", "v3"]);
  });
});
