import { createHash } from "node:crypto";
import { type AutoScalingGroup, CreateAutoScalingGroupCommand, type Tag } from "@aws-sdk/client-auto-scaling";
import {
  CreateLaunchTemplateVersionCommand,
  DescribeLaunchTemplateVersionsCommand,
  type LaunchTemplateTagSpecificationRequest,
  type ResourceType,
} from "@aws-sdk/client-ec2";
import { autoScaling, ec2 } from "./lib/clients.js";
import { nowSeconds } from "./lib/clock.js";
import type { DeployPlan, DeployState, EnvironmentSettings, LaunchResult } from "./lib/contract.js";
import {
  errorMessage,
  GROUP_EXISTS_CODES,
  hasErrorCode,
  isLaunchTemplateNotUsableYet,
  LAUNCH_REJECTED_CODES,
  LaunchFailedError,
  NotYetVisibleError,
  SERVICE_LINKED_ROLE_FAILURE_CODES,
  StillInUseError,
} from "./lib/errors.js";
import { type CarryOver, launchParameters, prepareCarryOver } from "./lib/groupConfiguration.js";
import { describeGroupsByName, isBeingDeleted, tagValue } from "./lib/groups.js";
import { stageHandler } from "./lib/handler.js";
import { launchTemplatesOf, launchTemplateVersionDescription, listLaunchTemplateVersions } from "./lib/launchTemplates.js";
import { attachedTargets, groupAttachmentParameters, targetId, trafficTargets, type TrafficTarget } from "./lib/loadBalancer.js";
import { assertLockHeld } from "./lib/lock.js";
import { logger } from "./lib/logger.js";
import { LAUNCH_TEMPLATE_SETTLE_SECONDS, retryWhileNotYetVisible } from "./lib/polling.js";
import { liveTargetGroup, otherTargetGroup, readRouting } from "./lib/trafficRule.js";
import { AUTO_SCALING_SERVICE, AUTO_SCALING_SERVICE_LINKED_ROLE, IMAGE_ROLE, TAG } from "./lib/names.js";

function rejectedLaunch(error: unknown, what: string): never {
  if (hasErrorCode(error, ...LAUNCH_REJECTED_CODES)) throw new LaunchFailedError(`${what}: ${errorMessage(error)}`, { cause: error });
  throw error;
}

function releaseTags(settings: EnvironmentSettings, plan: DeployPlan): { Key: string; Value: string }[] {
  return [
    { Key: TAG.app, Value: settings.app },
    { Key: TAG.environment, Value: settings.environment },
    { Key: TAG.release, Value: plan.release },
    { Key: TAG.role, Value: IMAGE_ROLE.release },
  ];
}

/**
 * A version's TagSpecifications replace the source version's list as a whole, so the template's own tags
 * (set by the Environment stack) are carried over and ours added on top, for instances and their volumes.
 */
function mergeTagSpecifications(
  source: LaunchTemplateTagSpecificationRequest[],
  tags: { Key: string; Value: string }[],
): LaunchTemplateTagSpecificationRequest[] {
  const ours: ResourceType[] = ["instance", "volume"];
  const merged = source.filter((spec) => !ours.includes(spec.ResourceType as ResourceType));
  for (const resourceType of ours) {
    const inherited = source.find((spec) => spec.ResourceType === resourceType)?.Tags ?? [];
    const keys = new Set(tags.map((tag) => tag.Key));
    merged.push({ ResourceType: resourceType, Tags: [...inherited.filter((tag) => !keys.has(tag.Key ?? "")), ...tags] });
  }
  return merged;
}

const createdSeconds = (date: Date | undefined) => (date ? Math.floor(date.getTime() / 1000) : nowSeconds());

/** The version for this group: the one an earlier run created, or a new one from the template's default. */
async function ensureLaunchTemplateVersion(
  settings: EnvironmentSettings,
  plan: DeployPlan,
  imageId: string,
): Promise<{ version: string; createdAt: number }> {
  const description = launchTemplateVersionDescription(plan.groupName);
  const existing = (
    await listLaunchTemplateVersions(settings.launchTemplateId, [{ Name: "image-id", Values: [imageId] }])
  ).find((version) => version.VersionDescription === description && version.LaunchTemplateData?.ImageId === imageId);
  if (existing?.VersionNumber !== undefined) {
    logger.info("reusing launch template version", { version: existing.VersionNumber, groupName: plan.groupName });
    return { version: String(existing.VersionNumber), createdAt: createdSeconds(existing.CreateTime) };
  }

  // $Default is the configuration the Environment stack manages; $Latest may be an earlier release's version.
  const source = await ec2
    .send(
      new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: settings.launchTemplateId, Versions: ["$Default"] }),
    )
    .catch((error: unknown) => rejectedLaunch(error, `launch template ${settings.launchTemplateId}`));
  const sourceTags = source.LaunchTemplateVersions?.[0]?.LaunchTemplateData?.TagSpecifications ?? [];
  const created = await ec2
    .send(
      new CreateLaunchTemplateVersionCommand({
        LaunchTemplateId: settings.launchTemplateId,
        SourceVersion: "$Default",
        VersionDescription: description,
        // Same request twice (a retried call) yields one version; 64 characters at most.
        ClientToken: createHash("sha256").update(`${settings.launchTemplateId}|${plan.groupName}|${imageId}`).digest("hex"),
        LaunchTemplateData: {
          ImageId: imageId,
          TagSpecifications: mergeTagSpecifications(sourceTags, releaseTags(settings, plan)),
        },
      }),
    )
    .catch((error: unknown) => rejectedLaunch(error, `cannot create a launch template version with image ${imageId}`));
  const version = created.LaunchTemplateVersion?.VersionNumber;
  if (version === undefined) throw new Error("CreateLaunchTemplateVersion returned no version number");
  logger.info("created launch template version", { version, imageId, groupName: plan.groupName });
  return { version: String(version), createdAt: createdSeconds(created.LaunchTemplateVersion?.CreateTime) };
}

function groupTags(state: DeployState, plan: DeployPlan, carryOver: CarryOver): Tag[] {
  const { settings } = state;
  const tag = (Key: string, Value: string, PropagateAtLaunch: boolean): Tag => ({
    ResourceId: plan.groupName,
    ResourceType: "auto-scaling-group",
    Key,
    Value,
    PropagateAtLaunch,
  });
  return [
    ...carryOver.tags(plan.groupName),
    tag(TAG.app, settings.app, true),
    tag(TAG.environment, settings.environment, true),
    tag(TAG.release, plan.release, true),
    tag(TAG.execution, state.execution.id, false),
    tag("Name", `${settings.app}-${settings.environment}-${plan.release}`, true),
  ];
}

/** What the new group is created from: the version (and when it was created), the carried-over configuration, the target. */
interface GroupRequest {
  state: DeployState;
  plan: DeployPlan;
  version: string;
  versionCreatedAt: number;
  carryOver: CarryOver;
  target: TrafficTarget;
}

/**
 * Creates the group, answering when (epoch seconds, just before the call that created it); one that exists already
 * (an earlier run's) is fine (undefined): ensureGroup checks whose it is.
 */
async function createGroup({ state, plan, version, versionCreatedAt, carryOver, target }: GroupRequest): Promise<number | undefined> {
  const { settings } = state;
  const { min, desired, max } = carryOver.plan.capacity;
  const calledAt = nowSeconds();
  try {
    await autoScaling.send(
      new CreateAutoScalingGroupCommand({
        ...carryOver.plan.create,
        AutoScalingGroupName: plan.groupName,
        // Pinned to the version number: a later $Latest/$Default change must never alter this release's instances.
        ...launchParameters(settings, version),
        VPCZoneIdentifier: settings.subnetIds.join(","),
        MinSize: min,
        DesiredCapacity: desired,
        MaxSize: max,
        HealthCheckType: "ELB",
        HealthCheckGracePeriod: settings.healthCheckGracePeriodSeconds,
        ...groupAttachmentParameters(target),
        Tags: groupTags(state, plan, carryOver),
      }),
    );
    logger.info("created auto scaling group", { groupName: plan.groupName, version, desired });
    return calledAt;
  } catch (error) {
    // Auto Scaling sees a new version late and refuses it meanwhile (errors.ts, isLaunchTemplateNotUsableYet).
    const age = nowSeconds() - versionCreatedAt;
    if (isLaunchTemplateNotUsableYet(error) && age < LAUNCH_TEMPLATE_SETTLE_SECONDS) {
      throw new NotYetVisibleError(`launch template version ${version} (created ${age} s ago) is not usable by Auto Scaling yet: ${errorMessage(error)}`);
    }
    if (hasErrorCode(error, ...SERVICE_LINKED_ROLE_FAILURE_CODES)) {
      throw new LaunchFailedError(
        `cannot create group ${plan.groupName}: Auto Scaling could not create or use its service-linked role ` +
          `(${errorMessage(error)}); the launch function's role needs iam:CreateServiceLinkedRole on ` +
          `role/${AUTO_SCALING_SERVICE_LINKED_ROLE} with iam:AWSServiceName=${AUTO_SCALING_SERVICE}, ` +
          `or create the role once: aws iam create-service-linked-role --aws-service-name ${AUTO_SCALING_SERVICE}`,
        { cause: error },
      );
    }
    if (!hasErrorCode(error, ...GROUP_EXISTS_CODES)) {
      rejectedLaunch(error, `cannot create group ${plan.groupName}`);
    }
    logger.info("auto scaling group already exists", { groupName: plan.groupName });
    return undefined;
  }
}

/**
 * The new group: when it was created (epoch seconds; a re-run or redrive keeps the deadline the first run set, to
 * within the second that run took to create it) and, when an earlier run created it, the group as read.
 */
type EnsuredGroup = { createdAt: number; existing?: AutoScalingGroup };

/**
 * The group for this execution: created now, or the one an earlier run of this execution created, with the
 * live group's configuration and the stage's (functions/lib/groupConfiguration.ts) at the live groups' capacity.
 * A group created now is what this run asked for: it is not read back (Auto Scaling lists a new group 1-5 s late,
 * and its instances take longer than that to boot; Check group health waits for the listing). An existing one is
 * read, and must be this execution's.
 */
async function ensureGroup(request: GroupRequest): Promise<EnsuredGroup> {
  const { state, plan } = request;
  // Auto Scaling accepts a new version seconds late: asked again here, not by a Retry (the same for the listing below).
  const calledAt = await retryWhileNotYetVisible(() => createGroup(request));
  if (calledAt !== undefined) return { createdAt: calledAt };
  const group = await retryWhileNotYetVisible(async () => {
    const [found] = await describeGroupsByName([plan.groupName]);
    if (!found) throw new NotYetVisibleError(`group ${plan.groupName} exists but is not listed yet`);
    return found;
  });
  if (isBeingDeleted(group)) {
    throw new StillInUseError(`group ${plan.groupName} is being deleted; it is created again once it is gone`);
  }
  const owner = tagValue(group.Tags, TAG.execution);
  if (owner !== state.execution.id) {
    throw new LaunchFailedError(
      `group ${plan.groupName} already exists and belongs to ${owner ? `execution ${owner}` : "no deploy execution"}`,
    );
  }
  return { createdAt: createdSeconds(group.CreatedTime), existing: group };
}

/**
 * Where the new group waits for its health checks: on an ALB the target group that gets no traffic now (the new
 * group is proven healthy there before the cutover gives it any), on a classic ELB the load balancer itself.
 */
async function idleTarget(settings: EnvironmentSettings): Promise<TrafficTarget> {
  const { loadBalancer } = settings;
  if (loadBalancer.kind === "classic") return trafficTargets(loadBalancer)[0];
  const live = liveTargetGroup(loadBalancer, await readRouting(loadBalancer));
  return { kind: "application", targetGroupArn: otherTargetGroup(loadBalancer, live) };
}

export async function launchReleaseGroup(state: DeployState): Promise<LaunchResult> {
  const { plan } = state;
  const imageId = state.image?.imageId;
  if (!plan || !imageId) throw new Error("launchReleaseGroup needs $.plan and $.image.imageId");
  const { timeouts } = state.settings;

  // A redriven execution whose lock another deploy took over must not launch beside it.
  await assertLockHeld(state.settings, state.execution.id);
  const { version, createdAt: versionCreatedAt } = await ensureLaunchTemplateVersion(state.settings, plan, imageId);
  const target = await idleTarget(state.settings);
  const carryOver = await prepareCarryOver(state, plan.groupName, target);
  const { createdAt, existing } = await ensureGroup({ state, plan, version, versionCreatedAt, carryOver, target });
  await carryOver.apply(plan.groupName);

  // A group created now has what this run asked for; one an earlier run created says which version it is pinned to,
  // its desired capacity and where that run attached it.
  const pinnedVersion = (existing && launchTemplatesOf(existing)[0]?.Version) ?? version;
  if (pinnedVersion !== version) {
    logger.warn("group is pinned to another launch template version", { groupName: plan.groupName, pinnedVersion, version });
  }
  const desiredCapacity = existing?.DesiredCapacity ?? carryOver.plan.capacity.desired;
  const attachedTo = (existing && attachedTargets(existing, state.settings.loadBalancer)[0]) ?? target;
  return {
    groupName: plan.groupName,
    target: targetId(attachedTo),
    launchTemplateVersion: pinnedVersion,
    desiredCapacity,
    createdAt,
    healthyBy: createdAt + timeouts.groupHealthySeconds + timeouts.loadBalancerHealthySeconds,
    message: carryOver.message(plan.groupName, desiredCapacity),
  };
}

export const handler = stageHandler(launchReleaseGroup);
