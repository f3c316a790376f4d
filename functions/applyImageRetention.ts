import {
  CreateTagsCommand,
  DeleteSnapshotCommand,
  type DeleteSnapshotReturnCode,
  DeleteTagsCommand,
  DeregisterImageCommand,
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
import { describeEnvironmentGroups } from "./lib/groups.js";
import { stageHandler } from "./lib/handler.js";
import { launchTemplatesOf, listLaunchTemplateVersions } from "./lib/launchTemplates.js";
import { assertLockHeld } from "./lib/lock.js";
import { logger } from "./lib/logger.js";
import { IMAGE_ROLE, TAG } from "./lib/names.js";

/** Versions named per DescribeLaunchTemplateVersions call. */
const VERSIONS_PER_CALL = 50;

/**
 * Expired-image candidates judged per run, oldest first; the rest wait for the next deploy (`remaining`). Each
 * deregistration is one DeregisterImage call (snapshots deleted in the same call), and which of them a launch
 * template still uses is one filtered listing, so a backlog of 1000 expired images costs a run about 50 calls,
 * well inside the function's 300 s, instead of 3000 calls (and every launch-template version listed) after cutover.
 */
export const RETENTION_BATCH = 50;

/**
 * Deploy step 10: keep the live image, the N newest other release images (instant rollback), the image the
 * input named, and every image an Auto Scaling group of the environment or a remaining launch-template
 * version references; deregister the other release images of this app and environment, at most
 * RETENTION_BATCH per run, with their snapshots. Base images are never touched here. Idempotent: a re-run
 * finishes what a previous run began.
 */
export async function applyImageRetention(state: DeployState): Promise<RetentionResult> {
  const { settings, plan } = state;
  // A superseded execution (a late redrive) must not judge images by a live image that no longer is.
  await assertLockHeld(settings, state.execution.id);
  if (plan?.keepImages) {
    logger.info("image retention skipped: keepImages");
    return { kept: [], deregistered: [], deletedSnapshots: [], skipped: true };
  }

  const images = await listReleaseImages(settings);
  const liveImageId = state.image?.imageId;
  const previous = new Set(
    images
      .filter((image) => image.ImageId !== liveImageId)
      .slice(0, settings.retainReleaseImages)
      .map((image) => image.ImageId),
  );
  // A pending image is a bake still running (or stuck): not ours to judge yet.
  const candidates = images.filter(
    (image) => image.ImageId !== liveImageId && image.ImageId !== plan?.imageId && !previous.has(image.ImageId) && image.State !== "pending",
  );
  // The oldest RETENTION_BATCH are judged this run (images are newest first); the rest wait for the next deploy.
  const judged = candidates.slice(-RETENTION_BATCH).reverse();
  const inUse = judged.length > 0 ? await imagesInUse(settings, judged.map((image) => image.ImageId as string)) : new Set<string>();
  const batch = judged.filter((image) => !inUse.has(image.ImageId as string));
  const batchIds = new Set(batch.map((image) => image.ImageId));
  const kept = images.filter((image) => !batchIds.has(image.ImageId));

  // Marked first, in one call, so a crash (or a deletion EC2 reports it could not do) leaves them findable.
  const batchSnapshots = batch.flatMap(snapshotIdsOf);
  if (batchSnapshots.length > 0) await markPendingDelete(batchSnapshots, settings);
  const deregistered: string[] = [];
  const deletedSnapshots: string[] = [];
  const sharedSnapshots: string[] = [];
  /** Snapshots of the batch EC2 did not report deleted or shared: DeleteSnapshot tries them below. */
  const leftOver = new Set<string>();
  for (const image of batch) {
    const results = await deregisterImage(image.ImageId as string);
    deregistered.push(image.ImageId as string);
    const codes = new Map(results.map((result) => [result.SnapshotId, result.ReturnCode]));
    for (const snapshotId of snapshotIdsOf(image)) {
      const code = codes.get(snapshotId);
      if (code === "success") deletedSnapshots.push(snapshotId);
      // "not deleted because it's associated with other AMIs" (DeregisterImage API reference): not ours to delete.
      else if (code === "skipped") sharedSnapshots.push(snapshotId);
      else leftOver.add(snapshotId);
    }
  }

  // Then what is still marked: an earlier run's (crash, InvalidSnapshot.InUse) and what EC2 could not delete just
  // now (or an image already gone, whose call reported nothing); except any a kept or other image still uses.
  const deletedNow = new Set(deletedSnapshots);
  const keptSnapshots = new Set([...kept.flatMap(snapshotIdsOf), ...sharedSnapshots]);
  for (const id of await listPendingDeleteSnapshots(settings)) if (!deletedNow.has(id)) leftOver.add(id);
  const stillNeeded = [...leftOver, ...sharedSnapshots].filter((id) => keptSnapshots.has(id));
  if (stillNeeded.length > 0) await unmarkPendingDelete([...new Set(stillNeeded)]);
  deletedSnapshots.push(...(await deleteSnapshots([...leftOver].filter((id) => !keptSnapshots.has(id)))));

  const remaining = candidates.length - judged.length;
  logger.info("image retention applied", { kept: kept.map((i) => i.ImageId), deregistered, deletedSnapshots, remaining });
  return {
    kept: kept.map((image) => image.ImageId as string),
    deregistered,
    deletedSnapshots,
    skipped: false,
    ...(remaining > 0 && { remaining }),
  };
}

/** This app's and environment's release images, newest first (all pages). */
async function listReleaseImages(settings: EnvironmentSettings): Promise<Image[]> {
  const images: Image[] = [];
  const pages = paginateDescribeImages(
    { client: ec2, pageSize: 100 },
    {
      Owners: ["self"],
      Filters: [
        { Name: `tag:${TAG.app}`, Values: [settings.app] },
        { Name: `tag:${TAG.environment}`, Values: [settings.environment] },
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

/**
 * Which of `candidates` a launch could still use: the launch-template versions the environment's groups name
 * (their own template, mixed-instances templates and overrides, their instances' templates), and any remaining
 * version of the environment's launch template that has one of them (listed with EC2's `image-id` filter, not
 * every version: a template keeps hundreds).
 */
async function imagesInUse(settings: EnvironmentSettings, candidates: string[]): Promise<Set<string>> {
  const groups = await describeEnvironmentGroups(settings);
  const versionsByTemplate = new Map<string, { ref: Pick<DescribeLaunchTemplateVersionsCommandInput, "LaunchTemplateId" | "LaunchTemplateName">; versions: Set<string> }>();
  for (const spec of groups.flatMap(launchTemplatesOf)) {
    const ref = spec.LaunchTemplateId ? { LaunchTemplateId: spec.LaunchTemplateId } : { LaunchTemplateName: spec.LaunchTemplateName };
    const key = spec.LaunchTemplateId ?? `name:${spec.LaunchTemplateName}`;
    if (key === settings.launchTemplateId) continue; // its versions with a candidate are read below
    const entry = versionsByTemplate.get(key) ?? { ref, versions: new Set<string>() };
    entry.versions.add(spec.Version ?? "$Default");
    versionsByTemplate.set(key, entry);
  }

  const imageIds = new Set<string>(await environmentTemplateImages(settings.launchTemplateId, candidates));
  for (const { ref, versions } of versionsByTemplate.values()) {
    const list = [...versions];
    for (let i = 0; i < list.length; i += VERSIONS_PER_CALL) {
      const batch = list.slice(i, i + VERSIONS_PER_CALL);
      for (const id of await imagesOfVersions({ ...ref, Versions: batch })) imageIds.add(id);
    }
  }
  return imageIds;
}

/** Images of the environment template's versions that use one of `candidates` (at most RETENTION_BATCH values). */
async function environmentTemplateImages(launchTemplateId: string, candidates: string[]): Promise<string[]> {
  const imageIds: string[] = [];
  try {
    const filter = [{ Name: "image-id", Values: candidates }];
    for (const version of await listLaunchTemplateVersions(launchTemplateId, filter)) addAmi(imageIds, version.LaunchTemplateData?.ImageId);
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
