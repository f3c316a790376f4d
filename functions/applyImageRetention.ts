import type { AutoScalingGroup } from "@aws-sdk/client-auto-scaling";
import {
  CreateTagsCommand,
  DeleteSnapshotCommand,
  type DeleteSnapshotReturnCode,
  DeleteTagsCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeLaunchTemplateVersionsCommand,
  type DescribeLaunchTemplateVersionsCommandInput,
  type Image,
  paginateDescribeImages,
  paginateDescribeSnapshots,
} from "@aws-sdk/client-ec2";
import { ec2 } from "./lib/clients.js";
import type { DeployState, EnvironmentSettings, RetentionResult } from "./lib/contract.js";
import {
  hasErrorCode,
  IMAGE_GONE_CODES,
  LAUNCH_TEMPLATE_GONE_CODES,
  SNAPSHOT_GONE_CODES,
  SNAPSHOT_IN_USE_CODES,
  StillInUseError,
} from "./lib/errors.js";
import { describeAppGroups, describeEnvironmentGroups, tagValue } from "./lib/groups.js";
import { stageHandler } from "./lib/handler.js";
import { launchTemplatesOf, listLaunchTemplateVersions, versionsGoneWith } from "./lib/launchTemplates.js";
import { assertLockHeld } from "./lib/lock.js";
import { logger } from "./lib/logger.js";
import { IMAGE_ROLE, retainedByTag, TAG } from "./lib/names.js";

/** Versions named per DescribeLaunchTemplateVersions call. */
const VERSIONS_PER_CALL = 50;

/**
 * Images deregistered per run, oldest first; the rest wait for the next deploy (`remaining`). Each is one
 * DeregisterImage call (its snapshots deleted in the same call), so a backlog of 1000 expired images costs a run
 * about 50 calls, well inside the function's 300 s, instead of 3000 calls after cutover.
 */
export const RETENTION_BATCH = 50;

/**
 * Deploy step 10: keep the live image, the N newest other release images (instant rollback), the image the
 * input named, every image an Auto Scaling group of the environment or a remaining launch-template version
 * references, and images still baking or registered since this execution started (another deploy's); let go of
 * the other release images this environment baked or claimed, then delete their snapshots. Base images are never
 * touched here. Idempotent: a re-run finishes what a previous run began.
 *
 * Images belong to the app, not to one environment (a release can be promoted: build once, deploy many). Each
 * environment claims the images it keeps with its own tag (`retainedByTag`); an image it no longer keeps loses
 * that claim, and is deregistered only when no other environment claims it and no group of the app, in any
 * environment, launches from it.
 */
export async function applyImageRetention(state: DeployState): Promise<RetentionResult> {
  const { settings, plan } = state;
  // A superseded execution (a late redrive) must not judge images by a live image that no longer is.
  await assertLockHeld(settings, state.execution.id);
  if (plan?.keepImages) {
    logger.info("image retention skipped: keepImages");
    return { kept: [], deregistered: [], released: [], deletedSnapshots: [], skipped: true };
  }

  // The groups this deploy retires count as deleted already: retention runs while their instances terminate
  // (definition.ts), and judges exactly what it would judge after Delete (their versions go with them).
  const newGroupName = state.launch?.groupName ?? plan?.groupName;
  const retiring = new Set((state.retirement?.groups ?? []).filter((name) => name !== newGroupName));
  const inUse = await imagesInUse(settings, retiring, state.launch ? [state.launch.launchTemplateVersion] : []);
  const liveImageId = state.image?.imageId;
  const protectedIds = new Set([...inUse, liveImageId, plan?.imageId].filter((id): id is string => Boolean(id)));
  // This environment's images: baked here, claimed here (promoted earlier), or live or in use here (promoted now).
  const images = (await listAppReleaseImages(settings.app)).filter(
    (image) => tagValue(image.Tags, TAG.environment) === settings.environment || claimsOf(image).includes(settings.environment) || protectedIds.has(image.ImageId ?? ""),
  );
  const previous = new Set(
    images
      .filter((image) => image.ImageId !== liveImageId)
      .slice(0, settings.retainReleaseImages)
      .map((image) => image.ImageId),
  );
  // A pending image is a bake still running (or stuck): not ours to judge yet. Nor is one registered since this
  // execution started that it did not deploy: another deploy baked it beside this one (bakes run without the
  // lock), most likely one queued behind this one that launches it once this one unlocks. The next deploy judges
  // it. Except the image of a release this deploy found live (and retired): that one was launched already.
  const started = Date.parse(state.execution.startTime);
  const launchedReleases = new Set((plan?.liveGroups ?? []).map((group) => group.release));
  const bakedBeside = (image: Image) =>
    image.ImageId !== liveImageId &&
    Number.isFinite(started) &&
    Date.parse(image.CreationDate ?? "") >= started &&
    !launchedReleases.has(tagValue(image.Tags, TAG.release));
  const isKept = (image: Image) =>
    protectedIds.has(image.ImageId ?? "") || previous.has(image.ImageId) || image.State === "pending" || bakedBeside(image);
  const kept = images.filter(isKept);
  await claimImages(kept.filter((image) => image.State === "available"), settings.environment);
  const { released, unclaimed } = await withdrawClaims(images.filter((image) => !isKept(image)), settings, retiring);

  // Oldest first (images are newest first), at most RETENTION_BATCH; the rest wait for the next deploy.
  const batch = unclaimed.slice(-RETENTION_BATCH).reverse();
  // Marked first, in one call, so a crash (or a deletion EC2 reports it could not do) leaves them findable.
  const batchSnapshots = batch.flatMap(snapshotIdsOf);
  if (batchSnapshots.length > 0) await markPendingDelete(batchSnapshots, settings);
  const deregistered: string[] = [];
  const deletedSnapshots: string[] = [];
  const sharedSnapshots: string[] = [];
  /** Snapshots EC2 did not report deleted or shared, and those marked by an earlier run: DeleteSnapshot tries them. */
  const snapshotsToDelete = new Set<string>();
  for (const image of batch) {
    const codes = new Map((await deregisterImage(image.ImageId as string)).map((result) => [result.SnapshotId, result.ReturnCode]));
    deregistered.push(image.ImageId as string);
    for (const snapshotId of snapshotIdsOf(image)) {
      const code = codes.get(snapshotId);
      if (code === "success") deletedSnapshots.push(snapshotId);
      // "not deleted because it's associated with other AMIs" (DeregisterImage API reference): not ours to delete.
      else if (code === "skipped") sharedSnapshots.push(snapshotId);
      else snapshotsToDelete.add(snapshotId);
    }
  }

  // Snapshots marked by an earlier run (crash, or InvalidSnapshot.InUse), except any a kept or other image still uses.
  const deletedNow = new Set(deletedSnapshots);
  for (const id of await listPendingDeleteSnapshots(settings)) if (!deletedNow.has(id)) snapshotsToDelete.add(id);
  const keptSnapshots = new Set([...[...kept, ...released].flatMap(snapshotIdsOf), ...sharedSnapshots]);
  const stillNeeded = [...new Set([...snapshotsToDelete, ...sharedSnapshots])].filter((id) => keptSnapshots.has(id));
  if (stillNeeded.length > 0) await unmarkPendingDelete(stillNeeded);
  deletedSnapshots.push(...(await deleteSnapshots([...snapshotsToDelete].filter((id) => !keptSnapshots.has(id)))));

  const remaining = unclaimed.length - batch.length;
  const ids = (list: Image[]) => list.map((image) => image.ImageId as string);
  logger.info("image retention applied", { kept: ids(kept), released: ids(released), deregistered, deletedSnapshots, remaining });
  return { kept: ids(kept), deregistered, released: ids(released), deletedSnapshots, skipped: false, ...(remaining > 0 && { remaining }) };
}

/** The app's release images in every environment, newest first (all pages). */
export async function listAppReleaseImages(app: string): Promise<Image[]> {
  const images: Image[] = [];
  const pages = paginateDescribeImages(
    { client: ec2, pageSize: 100 },
    {
      Owners: ["self"],
      Filters: [
        { Name: `tag:${TAG.app}`, Values: [app] },
        { Name: `tag:${TAG.role}`, Values: [IMAGE_ROLE.release] },
      ],
    },
  );
  for await (const page of pages) images.push(...(page.Images ?? []));
  // EC2 keeps listing a deregistered image for a while (State "deregistered"): it is gone already, and so are
  // its snapshots, which a re-run must not try to tag.
  return images
    .filter((image) => image.ImageId && image.State !== "deregistered")
    .sort((a, b) => (b.CreationDate ?? "").localeCompare(a.CreationDate ?? ""));
}

/** The environments that claim an image (`immutable-deploy:retained-by:<environment>` tags). */
export function claimsOf(image: Image): string[] {
  return (image.Tags ?? []).flatMap((tag) => (tag.Key?.startsWith(TAG.retainedByPrefix) ? [tag.Key.slice(TAG.retainedByPrefix.length)] : []));
}

/**
 * Claims the kept images for this environment. The first claim ever put on an image of another environment
 * also records its origin's claim: an image baked before claims existed is kept by its origin without one.
 */
async function claimImages(images: Image[], environment: string): Promise<void> {
  const byKeys = new Map<string, string[]>();
  for (const image of images) {
    const claims = claimsOf(image);
    if (claims.includes(environment)) continue;
    const origin = tagValue(image.Tags, TAG.environment);
    const keys = [environment, ...(claims.length === 0 && origin && origin !== environment ? [origin] : [])].map(retainedByTag).join(",");
    byKeys.set(keys, [...(byKeys.get(keys) ?? []), image.ImageId as string]);
  }
  for (const [keys, imageIds] of byKeys) {
    await ec2.send(new CreateTagsCommand({ Resources: imageIds, Tags: keys.split(",").map((Key) => ({ Key, Value: "true" })) }));
  }
}

/**
 * Withdraws this environment's claim on the images it no longer keeps. Those another environment still claims
 * or a group of the app (any environment) launches from are `released`: they stay. The rest are `unclaimed`,
 * read again after the withdrawal so that a claim another environment added meanwhile still saves an image.
 */
async function withdrawClaims(expired: Image[], settings: EnvironmentSettings, retiring: Set<string>): Promise<{ released: Image[]; unclaimed: Image[] }> {
  const claimed = expired.filter((image) => claimsOf(image).includes(settings.environment)).map((image) => image.ImageId as string);
  if (claimed.length > 0) await ec2.send(new DeleteTagsCommand({ Resources: claimed, Tags: [{ Key: retainedByTag(settings.environment) }] }));
  const claimedElsewhere = (image: Image) => claimsOf(image).some((environment) => environment !== settings.environment);
  let candidates = expired.filter((image) => !claimedElsewhere(image));
  if (candidates.length > 0) {
    const usedByApp = await imagesUsedByAppGroups(settings, retiring);
    candidates = candidates.filter((image) => !usedByApp.has(image.ImageId as string));
  }
  let gone = new Set<Image>();
  if (candidates.length > 0) {
    const fresh = new Map((await describeImagesById(candidates.map((image) => image.ImageId as string))).map((image) => [image.ImageId, image]));
    // One that no longer exists (or that EC2 still lists as deregistered) was deregistered by another
    // environment's retention, which also handles its snapshots.
    gone = new Set(candidates.filter((image) => (fresh.get(image.ImageId)?.State ?? "deregistered") === "deregistered"));
    candidates = candidates.filter((image) => !gone.has(image) && !claimedElsewhere(fresh.get(image.ImageId)!));
  }
  const unclaimed = new Set(candidates);
  return { released: expired.filter((image) => !unclaimed.has(image) && !gone.has(image)), unclaimed: candidates };
}

async function describeImagesById(imageIds: string[]): Promise<Image[]> {
  try {
    return (await ec2.send(new DescribeImagesCommand({ ImageIds: imageIds }))).Images ?? [];
  } catch (error) {
    // One of them is already gone: deregistering it again is harmless, so judge the rest one by one.
    if (!hasErrorCode(error, ...IMAGE_GONE_CODES)) throw error;
    if (imageIds.length === 1) return [];
    return (await Promise.all(imageIds.map((id) => describeImagesById([id])))).flat();
  }
}

/**
 * Every image a launch could still use: the launch-template versions the environment's groups name (their own
 * template, mixed-instances templates and overrides, their instances' templates) and every version of the
 * environment's launch template that Delete old groups keeps (`keep`: the new group's). `retiring` groups count as
 * deleted, with the versions Delete removes with them: they never launch again (scaled to 0, deleted next), and an
 * AMI deregistered under running instances does not affect them. So do versions this project created for groups
 * that are gone (a Delete that failed left them): Delete removes them next, and nothing launches from them.
 */
export async function imagesInUse(settings: EnvironmentSettings, retiring: ReadonlySet<string> = new Set(), keep: readonly string[] = []): Promise<Set<string>> {
  const groups = (await describeEnvironmentGroups(settings)).filter((group) => !retiring.has(group.AutoScalingGroupName ?? ""));
  const imageIds = new Set<string>(await imagesOfRemainingVersions(settings.launchTemplateId, groups, keep));
  for (const id of await imagesOfGroups(groups, settings.launchTemplateId)) imageIds.add(id);
  return imageIds;
}

/** Every image a group of the app launches from, in any environment (the versions the groups name), but the retiring ones'. */
async function imagesUsedByAppGroups(settings: EnvironmentSettings, retiring: ReadonlySet<string>): Promise<Set<string>> {
  return new Set(await imagesOfGroups((await describeAppGroups(settings.app)).filter((group) => !retiring.has(group.AutoScalingGroupName ?? ""))));
}

/** The images of the launch-template versions the groups name, except those of `skipTemplateId` (read whole elsewhere). */
async function imagesOfGroups(groups: AutoScalingGroup[], skipTemplateId?: string): Promise<string[]> {
  const versionsByTemplate = new Map<string, { ref: Pick<DescribeLaunchTemplateVersionsCommandInput, "LaunchTemplateId" | "LaunchTemplateName">; versions: Set<string> }>();
  for (const spec of groups.flatMap(launchTemplatesOf)) {
    const ref = spec.LaunchTemplateId ? { LaunchTemplateId: spec.LaunchTemplateId } : { LaunchTemplateName: spec.LaunchTemplateName };
    const key = spec.LaunchTemplateId ?? `name:${spec.LaunchTemplateName}`;
    if (key === skipTemplateId) continue;
    const entry = versionsByTemplate.get(key) ?? { ref, versions: new Set<string>() };
    entry.versions.add(spec.Version ?? "$Default");
    versionsByTemplate.set(key, entry);
  }
  const imageIds: string[] = [];
  for (const { ref, versions } of versionsByTemplate.values()) {
    const list = [...versions];
    for (let i = 0; i < list.length; i += VERSIONS_PER_CALL) {
      imageIds.push(...(await imagesOfVersions({ ...ref, Versions: list.slice(i, i + VERSIONS_PER_CALL) })));
    }
  }
  return imageIds;
}

/** The images of the launch template's versions, but those Delete removes once only `remaining` are left (`versionsGoneWith`). */
async function imagesOfRemainingVersions(launchTemplateId: string, remaining: AutoScalingGroup[], keep: readonly string[]): Promise<string[]> {
  const imageIds: string[] = [];
  try {
    const versions = await listLaunchTemplateVersions(launchTemplateId);
    const gone = new Set(versionsGoneWith(versions, remaining, launchTemplateId, keep));
    for (const version of versions) if (!gone.has(version)) addAmi(imageIds, version.LaunchTemplateData?.ImageId);
  } catch (error) {
    if (!hasErrorCode(error, ...LAUNCH_TEMPLATE_GONE_CODES)) throw error;
  }
  return imageIds;
}

async function imagesOfVersions(input: DescribeLaunchTemplateVersionsCommandInput): Promise<string[]> {
  const imageIds: string[] = [];
  try {
    const result = await ec2.send(new DescribeLaunchTemplateVersionsCommand(input));
    for (const version of result.LaunchTemplateVersions ?? []) addAmi(imageIds, version.LaunchTemplateData?.ImageId);
  } catch (error) {
    // A template or version that no longer exists cannot launch anything.
    if (!hasErrorCode(error, ...LAUNCH_TEMPLATE_GONE_CODES)) throw error;
  }
  return imageIds;
}

/** Only plain AMI ids count (a `resolve:ssm:` parameter names no image of ours). */
function addAmi(imageIds: string[], imageId: string | undefined): void {
  if (imageId?.startsWith("ami-")) imageIds.push(imageId);
}

function snapshotIdsOf(image: Image): string[] {
  return (image.BlockDeviceMappings ?? [])
    .map((mapping) => mapping.Ebs?.SnapshotId)
    .filter((id): id is string => Boolean(id));
}

async function markPendingDelete(snapshotIds: string[], settings: EnvironmentSettings): Promise<void> {
  await ec2.send(
    new CreateTagsCommand({
      Resources: snapshotIds,
      Tags: [
        { Key: TAG.pendingDelete, Value: "true" },
        { Key: TAG.app, Value: settings.app },
        { Key: TAG.environment, Value: settings.environment },
      ],
    }),
  );
}

async function unmarkPendingDelete(snapshotIds: string[]): Promise<void> {
  await ec2.send(new DeleteTagsCommand({ Resources: snapshotIds, Tags: [{ Key: TAG.pendingDelete }] }));
}

async function listPendingDeleteSnapshots(settings: EnvironmentSettings): Promise<string[]> {
  const snapshotIds: string[] = [];
  const pages = paginateDescribeSnapshots(
    { client: ec2, pageSize: 1000 },
    {
      OwnerIds: ["self"],
      Filters: [
        { Name: `tag:${TAG.pendingDelete}`, Values: ["true"] },
        { Name: `tag:${TAG.app}`, Values: [settings.app] },
        { Name: `tag:${TAG.environment}`, Values: [settings.environment] },
      ],
    },
  );
  for await (const page of pages) {
    for (const snapshot of page.Snapshots ?? []) if (snapshot.SnapshotId) snapshotIds.push(snapshot.SnapshotId);
  }
  return snapshotIds;
}

/**
 * One call per image: `DeleteAssociatedSnapshots` deletes its snapshots in the same request and reports each
 * (`success`, `skipped` when another AMI uses it, or an error code; EC2 API reference, DeregisterImage; newer than
 * botocore's and aws-sdk v2's models, in @aws-sdk/client-ec2's). An image already gone reports nothing.
 */
async function deregisterImage(imageId: string): Promise<DeleteSnapshotReturnCode[]> {
  try {
    const result = await ec2.send(new DeregisterImageCommand({ ImageId: imageId, DeleteAssociatedSnapshots: true }));
    return result.DeleteSnapshotResults ?? [];
  } catch (error) {
    if (!hasErrorCode(error, ...IMAGE_GONE_CODES)) throw error;
    return [];
  }
}

/** Deletes every snapshot it can; throws `StillInUseError` (retried) naming those still in use. */
async function deleteSnapshots(snapshotIds: string[]): Promise<string[]> {
  const deleted: string[] = [];
  const inUse: string[] = [];
  for (const snapshotId of snapshotIds) {
    try {
      await ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId }));
      deleted.push(snapshotId);
    } catch (error) {
      if (hasErrorCode(error, ...SNAPSHOT_GONE_CODES)) continue;
      if (hasErrorCode(error, ...SNAPSHOT_IN_USE_CODES)) {
        inUse.push(snapshotId);
        continue;
      }
      throw error;
    }
  }
  if (inUse.length > 0) {
    throw new StillInUseError(
      `snapshot(s) ${inUse.join(", ")} still in use (image deregistration not yet visible); deleted ${deleted.length} other(s), will retry`,
    );
  }
  return deleted;
}

export const handler = stageHandler(applyImageRetention);
