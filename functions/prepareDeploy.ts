import { createHash } from "node:crypto";
import { DescribeImagesCommand, type Image } from "@aws-sdk/client-ec2";
import { ec2 } from "./lib/clients.js";
import {
  type BakeRequest,
  type DeployPlan,
  type DeployState,
  type EnvironmentSettings,
  type GroupSnapshot,
  RELEASE_LABEL_PATTERN,
  releaseNamePart,
} from "./lib/contract.js";
import { hasErrorCode, IMAGE_NOT_FOUND_CODES, InvalidDeployInputError } from "./lib/errors.js";
import { newGroupCapacity } from "./lib/groupConfiguration.js";
import { describeEnvironmentGroups, isBeingDeleted, snapshotGroup, tagValue } from "./lib/groups.js";
import { stageHandler } from "./lib/handler.js";
import { type DeployRequest, parseDeployInput } from "./lib/input.js";
import { attachedTargets, isAttached, isServing, targetId } from "./lib/loadBalancer.js";
import { logger } from "./lib/logger.js";
import { IMAGE_ROLE, TAG } from "./lib/names.js";
import { show } from "./lib/validation.js";

/** Auto Scaling group names are at most 255 characters. */
const GROUP_NAME_MAX = 255;

/**
 * Deploy step 1: validate the execution input (either shape), resolve the release label, derive the new
 * group's name and find the environment's live groups. Read-only: a bad input fails here with
 * `InvalidDeployInput` before anything is touched, and a re-run (redrive) yields the same plan.
 */
export async function prepareDeploy(state: DeployState): Promise<DeployPlan> {
  const { settings, execution } = state;
  const request = parseDeployInput(state.input);

  const image = request.imageId ? await describeNamedImage(request.imageId, "imageId", IMAGE_ROLE.release, settings) : undefined;
  if (request.baseImageId) await describeNamedImage(request.baseImageId, "baseImageId", IMAGE_ROLE.base, settings);
  const release = request.release ?? releaseOfImage(image, request.imageId);

  const groupName = releaseGroupName(settings, release, execution.id);
  // Which groups serve now is what a rollback restores; the others (retired or left detached) stay as they are.
  const liveGroups = (await describeEnvironmentGroups(settings))
    .filter((group) => !isBeingDeleted(group) && group.AutoScalingGroupName !== groupName)
    .map((group) => {
      const [target] = attachedTargets(group, settings.loadBalancer);
      return { ...snapshotGroup(group), attached: isAttached(group, settings.loadBalancer), serving: isServing(group, settings.loadBalancer), ...(target && { target: targetId(target) }) };
    });

  const plan: DeployPlan = {
    release,
    ...(request.artifact && { artifact: request.artifact }),
    ...(request.source === "s3-event" && request.artifact && { delivery: request.artifact }),
    ...(request.imageId && { imageId: request.imageId }),
    ...(request.baseImageId && { baseImageId: request.baseImageId }),
    rebuildBase: request.rebuildBase,
    keepImages: request.keepImages,
    groupName,
    liveGroups,
    desiredCapacity: desiredCapacityFor(settings, liveGroups),
    ...(request.artifact && { bakeRequest: bakeRequestFor(request, release) }),
  };
  logger.info("deploy prepared", { release, groupName, liveGroups: liveGroups.map((g) => g.name), source: request.source });
  return plan;
}

/**
 * `${app}-${environment}-${release name part}-${8 hex of sha256(execution id)}` (the label by contract.ts's
 * `releaseNamePart`): a redrive or re-run finds the same group.
 */
export function releaseGroupName(settings: EnvironmentSettings, release: string, executionId: string): string {
  const suffix = createHash("sha256").update(executionId).digest("hex").slice(0, 8);
  // Shorten the readable part, never the hash: it is what makes the name unique per execution.
  const readable = `${settings.app}-${settings.environment}-${releaseNamePart(release)}`.slice(0, GROUP_NAME_MAX - suffix.length - 1);
  return `${readable}-${suffix}`;
}

/**
 * max(configured desired, the live groups' desired), not capped by the configured max: an operator who raised
 * the live group's max and scaled it out keeps those instances (the new group's max follows, see newGroupCapacity).
 */
export function desiredCapacityFor(settings: EnvironmentSettings, liveGroups: GroupSnapshot[]): number {
  return newGroupCapacity(settings, liveGroups).desired;
}

/** The Bake state's CodeBuild overrides: every value a string, "" for unset (CodeBuild has no null). */
export function bakeRequestFor(request: DeployRequest, release: string): BakeRequest {
  return {
    ARTIFACT_BUCKET: request.artifact?.bucket ?? "",
    ARTIFACT_KEY: request.artifact?.key ?? "",
    ARTIFACT_VERSION_ID: request.artifact?.versionId ?? "",
    RELEASE: release,
    BASE_IMAGE_ID: request.baseImageId ?? "",
    REBUILD_BASE: request.rebuildBase ? "true" : "false",
  };
}

/**
 * The named image, which must exist, be available and be this app's. A release image of another environment is
 * fine (a promotion: build once, deploy many); image retention keeps it while any environment claims or uses it
 * (functions/applyImageRetention.ts).
 */
async function describeNamedImage(
  imageId: string,
  field: "imageId" | "baseImageId",
  role: (typeof IMAGE_ROLE)[keyof typeof IMAGE_ROLE],
  settings: EnvironmentSettings,
): Promise<Image> {
  let image: Image | undefined;
  try {
    image = (await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images?.[0];
  } catch (error) {
    if (!hasErrorCode(error, ...IMAGE_NOT_FOUND_CODES)) throw error;
  }
  const problem = imageProblem(image, role, settings);
  if (problem) {
    throw new InvalidDeployInputError(`${field}: ${show(imageId)} ${problem}`);
  }
  return image as Image;
}

function imageProblem(image: Image | undefined, role: string, settings: EnvironmentSettings): string | undefined {
  const expected = `allowed: an available ${role} image tagged ${TAG.app}=${settings.app} and ${TAG.role}=${role}`;
  if (!image) return `does not exist or is not visible to this account; ${expected}`;
  if (image.State !== "available") return `is ${image.State ?? "in an unknown state"}, not available; ${expected}`;
  if (tagValue(image.Tags, TAG.app) !== settings.app) return `is not tagged for app ${settings.app}; ${expected}`;
  if (tagValue(image.Tags, TAG.role) !== role) return `is not a ${role} image (${TAG.role}=${tagValue(image.Tags, TAG.role) ?? "none"}); ${expected}`;
  return undefined;
}

function releaseOfImage(image: Image | undefined, imageId: string | undefined): string {
  const release = tagValue(image?.Tags, TAG.release);
  if (!release || !RELEASE_LABEL_PATTERN.test(release)) {
    throw new InvalidDeployInputError(
      `imageId: ${show(imageId)} has no usable ${TAG.release} tag (${show(release)}); allowed: an image tagged with its release, or give "release" explicitly`,
    );
  }
  return release;
}

export const handler = stageHandler(prepareDeploy);
