import {
  CreateTagsCommand,
  DeleteSnapshotCommand,
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
 * Deploy step 10: keep the live image, the N newest other release images (instant rollback), the image the
 * input named, and every image an Auto Scaling group of the environment or a remaining launch-template
 * version references; deregister the other release images of this app and environment, then delete their
 * snapshots. Base images are never touched here. Idempotent: a re-run finishes what a previous run began.
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
  const inUse = await imagesInUse(settings);
  const liveImageId = state.image?.imageId;
  const protectedIds = new Set([...inUse, liveImageId, plan?.imageId].filter((id): id is string => Boolean(id)));
  const previous = new Set(
    images
      .filter((image) => image.ImageId !== liveImageId)
      .slice(0, settings.retainReleaseImages)
      .map((image) => image.ImageId),
  );
  // A pending image is a bake still running (or stuck): not ours to judge yet.
  const isKept = (image: Image) =>
    protectedIds.has(image.ImageId ?? "") || previous.has(image.ImageId) || image.State === "pending";
  const kept = images.filter(isKept);
  const expired = images.filter((image) => !isKept(image));

  const deregistered: string[] = [];
  const snapshotsToDelete = new Set<string>();
  for (const image of expired) {
    const snapshotIds = snapshotIdsOf(image);
    if (snapshotIds.length > 0) await markPendingDelete(snapshotIds, settings);
    await deregisterImage(image.ImageId as string);
    deregistered.push(image.ImageId as string);
    snapshotIds.forEach((id) => snapshotsToDelete.add(id));
  }

  // Snapshots marked by an earlier run (crash, or InvalidSnapshot.InUse), except any a kept image still uses.
  for (const id of await listPendingDeleteSnapshots(settings)) snapshotsToDelete.add(id);
  const keptSnapshots = new Set(kept.flatMap(snapshotIdsOf));
  const stillNeeded = [...snapshotsToDelete].filter((id) => keptSnapshots.has(id));
  if (stillNeeded.length > 0) await unmarkPendingDelete(stillNeeded);
  const deletedSnapshots = await deleteSnapshots([...snapshotsToDelete].filter((id) => !keptSnapshots.has(id)));

  logger.info("image retention applied", { kept: kept.map((i) => i.ImageId), deregistered, deletedSnapshots });
  return {
    kept: kept.map((image) => image.ImageId as string),
    deregistered,
    deletedSnapshots,
    skipped: false,
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
 * Every image a launch could still use: the launch-template versions the environment's groups name (their own
 * template, mixed-instances templates and overrides, their instances' templates) and every remaining version
 * of the environment's launch template.
 */
export async function imagesInUse(settings: EnvironmentSettings): Promise<Set<string>> {
  const groups = await describeEnvironmentGroups(settings);
  const versionsByTemplate = new Map<string, { ref: Pick<DescribeLaunchTemplateVersionsCommandInput, "LaunchTemplateId" | "LaunchTemplateName">; versions: Set<string> }>();
  for (const spec of groups.flatMap(launchTemplatesOf)) {
    const ref = spec.LaunchTemplateId ? { LaunchTemplateId: spec.LaunchTemplateId } : { LaunchTemplateName: spec.LaunchTemplateName };
    const key = spec.LaunchTemplateId ?? `name:${spec.LaunchTemplateName}`;
    if (key === settings.launchTemplateId) continue; // all of its versions are read below
    const entry = versionsByTemplate.get(key) ?? { ref, versions: new Set<string>() };
    entry.versions.add(spec.Version ?? "$Default");
    versionsByTemplate.set(key, entry);
  }

  const imageIds = new Set<string>(await imagesOfAllVersions(settings.launchTemplateId));
  for (const { ref, versions } of versionsByTemplate.values()) {
    const list = [...versions];
    for (let i = 0; i < list.length; i += VERSIONS_PER_CALL) {
      const batch = list.slice(i, i + VERSIONS_PER_CALL);
      for (const id of await imagesOfVersions({ ...ref, Versions: batch })) imageIds.add(id);
    }
  }
  return imageIds;
}

async function imagesOfAllVersions(launchTemplateId: string): Promise<string[]> {
  const imageIds: string[] = [];
  try {
    for (const version of await listLaunchTemplateVersions(launchTemplateId)) addAmi(imageIds, version.LaunchTemplateData?.ImageId);
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

async function deregisterImage(imageId: string): Promise<void> {
  try {
    await ec2.send(new DeregisterImageCommand({ ImageId: imageId }));
  } catch (error) {
    if (!hasErrorCode(error, ...IMAGE_GONE_CODES)) throw error;
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
