/**
 * What runs in an environment, read the way the stage functions read it (their own helpers, functions/lib/):
 * its groups with their release, image and instance health, and the release images it keeps.
 */
import type { AutoScalingGroup } from "@aws-sdk/client-auto-scaling";
import { DescribeLaunchTemplateVersionsCommand, type Image } from "@aws-sdk/client-ec2";
import { claimsOf, listAppReleaseImages } from "../functions/applyImageRetention.js";
import { ec2 } from "../functions/lib/clients.js";
import type { EnvironmentSettings } from "../functions/lib/contract.js";
import { describeAppGroups, describeEnvironmentGroups, isBeingDeleted, tagValue } from "../functions/lib/groups.js";
import { launchTemplatesOf } from "../functions/lib/launchTemplates.js";
import { describeInstanceHealth, isAttached } from "../functions/lib/loadBalancer.js";
import { TAG } from "../functions/lib/names.js";

export interface GroupView {
  name: string;
  environment: string | null;
  release: string | null;
  imageId: string | null;
  launchTemplateVersion: string | null;
  min: number;
  desired: number;
  max: number;
  /** Attached to the environment's load balancer. */
  attached: boolean;
  instances: { inService: number; healthyAtLoadBalancer: number; total: number };
  status: string | null;
}

/** The image each group's own launch-template version launches (one DescribeLaunchTemplateVersions per template). */
async function imagesOfGroups(groups: AutoScalingGroup[]): Promise<Map<string, string>> {
  const byTemplate = new Map<string, Set<string>>();
  for (const group of groups) {
    const spec = group.LaunchTemplate ?? launchTemplatesOf(group)[0];
    if (!spec?.LaunchTemplateId) continue;
    byTemplate.set(spec.LaunchTemplateId, (byTemplate.get(spec.LaunchTemplateId) ?? new Set()).add(spec.Version ?? "$Default"));
  }
  const images = new Map<string, string>();
  for (const [templateId, versions] of byTemplate) {
    try {
      const { LaunchTemplateVersions } = await ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: templateId, Versions: [...versions] }));
      for (const version of LaunchTemplateVersions ?? []) {
        if (version.LaunchTemplateData?.ImageId) images.set(`${templateId}:${version.VersionNumber}`, version.LaunchTemplateData.ImageId);
      }
    } catch {
      // A template or version gone meanwhile: its groups show no image.
    }
  }
  const result = new Map<string, string>();
  for (const group of groups) {
    const spec = group.LaunchTemplate ?? launchTemplatesOf(group)[0];
    const image = spec?.LaunchTemplateId ? images.get(`${spec.LaunchTemplateId}:${spec.Version}`) : undefined;
    if (image && group.AutoScalingGroupName) result.set(group.AutoScalingGroupName, image);
  }
  return result;
}

/** The environment's groups (not being deleted), with what each runs and how healthy it is. */
export async function environmentGroups(settings: EnvironmentSettings): Promise<GroupView[]> {
  const groups = (await describeEnvironmentGroups(settings)).filter((group) => !isBeingDeleted(group));
  const images = await imagesOfGroups(groups);
  const instanceIds = groups.flatMap((group) => (group.Instances ?? []).map((i) => i.InstanceId ?? "")).filter(Boolean);
  const health = new Map((await describeInstanceHealth(settings.loadBalancer, instanceIds)).map((h) => [h.instanceId, h.healthy]));
  return groups
    .map((group) => {
      const instances = group.Instances ?? [];
      return {
        name: group.AutoScalingGroupName ?? "",
        environment: tagValue(group.Tags, TAG.environment) ?? null,
        release: tagValue(group.Tags, TAG.release) ?? null,
        imageId: images.get(group.AutoScalingGroupName ?? "") ?? null,
        launchTemplateVersion: group.LaunchTemplate?.Version ?? null,
        min: group.MinSize ?? 0,
        desired: group.DesiredCapacity ?? 0,
        max: group.MaxSize ?? 0,
        attached: isAttached(group, settings.loadBalancer),
        instances: {
          inService: instances.filter((i) => i.LifecycleState === "InService").length,
          healthyAtLoadBalancer: instances.filter((i) => health.get(i.InstanceId ?? "")).length,
          total: instances.length,
        },
        status: group.Status ?? null,
      };
    })
    .sort((a, b) => b.instances.healthyAtLoadBalancer - a.instances.healthyAtLoadBalancer || a.name.localeCompare(b.name));
}

/** The group that serves: attached to the load balancer with the most healthy instances there. */
export function liveGroupOf(groups: GroupView[]): GroupView | undefined {
  return groups.find((group) => group.attached && group.instances.healthyAtLoadBalancer > 0) ?? groups.find((group) => group.attached);
}

export interface ImageView {
  imageId: string;
  release: string | null;
  state: string;
  createdAt: string | null;
  ageSeconds: number | null;
  /** The environment that baked it (`immutable-deploy:environment`). */
  bakedIn: string | null;
  /** The environments whose retention keeps it (`immutable-deploy:retained-by:<environment>`). */
  retainedBy: string[];
  /** Groups of the app, in any environment, that launch from it. */
  usedBy: { group: string; environment: string | null }[];
  live: boolean;
  /** Available, not live: `rollback --to <release>` can deploy it. */
  rollbackTarget: boolean;
}

/**
 * The release images of this environment, newest first: the ones it baked, claims or runs, with who else keeps
 * or runs them.
 */
export async function environmentImages(settings: EnvironmentSettings, liveImageId: string | null, nowMs: number): Promise<ImageView[]> {
  const appGroups = (await describeAppGroups(settings.app)).filter((group) => !isBeingDeleted(group));
  const groupImages = await imagesOfGroups(appGroups);
  const usedBy = (imageId: string) =>
    appGroups
      .filter((group) => groupImages.get(group.AutoScalingGroupName ?? "") === imageId)
      .map((group) => ({ group: group.AutoScalingGroupName ?? "", environment: tagValue(group.Tags, TAG.environment) ?? null }));
  const runsHere = (imageId: string) => usedBy(imageId).some((use) => use.environment === settings.environment);
  const ours = (image: Image) =>
    tagValue(image.Tags, TAG.environment) === settings.environment || claimsOf(image).includes(settings.environment) || runsHere(image.ImageId ?? "");
  return (await listAppReleaseImages(settings.app)).filter(ours).map((image) => {
    const imageId = image.ImageId ?? "";
    const created = image.CreationDate ? Date.parse(image.CreationDate) : NaN;
    const live = imageId === liveImageId;
    return {
      imageId,
      release: tagValue(image.Tags, TAG.release) ?? null,
      state: image.State ?? "unknown",
      createdAt: Number.isFinite(created) ? new Date(created).toISOString() : null,
      ageSeconds: Number.isFinite(created) ? Math.max(0, Math.round((nowMs - created) / 1000)) : null,
      bakedIn: tagValue(image.Tags, TAG.environment) ?? null,
      retainedBy: claimsOf(image).sort(),
      usedBy: usedBy(imageId),
      live,
      rollbackTarget: !live && image.State === "available",
    };
  });
}
