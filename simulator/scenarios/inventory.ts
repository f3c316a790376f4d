import type { EnvironmentSettings } from "../../functions/lib/contract.js";
import { TAG } from "../../functions/lib/names.js";
import type { SimulatedRegion } from "../region/region.js";
import { unmarshallItem } from "../region/services/dynamodb.js";
import { tagValueOf } from "../region/services/ec2.js";

/** What is left in the region for an environment (docs/design.md's `leftovers`, plus a few extras for invariants). */
export interface Leftovers {
  /** Groups of the environment that are not being deleted. */
  groups: string[];
  /** Groups in `Delete in progress` (gone a few seconds later). */
  groupsBeingDeleted: string[];
  /** Non-default versions of the environment's launch template. */
  launchTemplateVersions: number[];
  /** This account's images tagged with the app (release and base images), by id. */
  images: string[];
  /** This account's snapshots. */
  snapshots: string[];
  /** Held locks in the lock table (unmarshalled items with a `holder`; released locks and delivery records are not). */
  locks: Record<string, unknown>[];
  /** Instances not yet terminated. */
  liveInstances: string[];
  /** Groups (not being deleted) whose scaling a deploy still holds (tag `immutable-deploy:scale-in-hold`). */
  heldGroups: string[];
}

export function environmentGroups(region: SimulatedRegion, settings: Pick<EnvironmentSettings, "app" | "environment">) {
  return [...region.autoScaling.groups.values()].filter(
    (group) =>
      group.tags.some((tag) => tag.Key === TAG.app && tag.Value === settings.app) &&
      group.tags.some((tag) => tag.Key === TAG.environment && tag.Value === settings.environment),
  );
}

export function leftovers(region: SimulatedRegion, settings: EnvironmentSettings): Leftovers {
  const groups = environmentGroups(region, settings);
  const template = region.ec2.launchTemplates.get(settings.launchTemplateId);
  const lockTable = region.dynamodb.tables.get(settings.lockTableName);
  return {
    groups: groups.filter((group) => !group.deleting).map((group) => group.name).sort(),
    groupsBeingDeleted: groups.filter((group) => group.deleting).map((group) => group.name).sort(),
    launchTemplateVersions: template
      ? [...template.versions.keys()].filter((version) => version !== template.defaultVersion).sort((a, b) => a - b)
      : [],
    images: region.ec2
      .ownImages()
      .filter((image) => tagValueOf(image.tags, TAG.app) === settings.app)
      .map((image) => image.imageId)
      .sort(),
    snapshots: [...region.ec2.snapshots.values()].filter((snapshot) => snapshot.ownerId === region.account).map((snapshot) => snapshot.snapshotId).sort(),
    locks: lockTable ? [...lockTable.items.values()].map(unmarshallItem).filter((item) => typeof item.holder === "string") : [],
    liveInstances: [...region.ec2.instances.values()].filter((instance) => instance.state !== "terminated").map((instance) => instance.instanceId).sort(),
    heldGroups: groups.filter((group) => !group.deleting && tagValueOf(group.tags, TAG.scaleInHold) !== undefined).map((group) => group.name).sort(),
  };
}

/** Image ids referenced by any group's launch template version or any launch template version (never delete these). */
export function imagesInUse(region: SimulatedRegion): Set<string> {
  const inUse = new Set<string>();
  for (const template of region.ec2.launchTemplates.values()) {
    for (const version of template.versions.values()) if (version.data.ImageId) inUse.add(version.data.ImageId);
  }
  for (const instance of region.ec2.instances.values()) if (instance.state !== "terminated") inUse.add(instance.imageId);
  return inUse;
}

/** The release currently serving: images of the environment's groups' in-service instances. */
export function liveReleases(region: SimulatedRegion, settings: EnvironmentSettings): string[] {
  const releases = new Set<string>();
  for (const group of environmentGroups(region, settings)) {
    for (const gi of group.instances.values()) {
      const release = region.ec2.instances.get(gi.instanceId)?.release;
      if (release && gi.lifecycleState === "InService") releases.add(release);
    }
  }
  return [...releases].sort();
}

/** Images still referenced (by a launch template version or a running instance) that were deregistered. */
export function deregisteredImagesInUse(region: SimulatedRegion): string[] {
  return [...imagesInUse(region)].filter((id) => region.ec2.wasDeregistered(id)).sort();
}

export function countLeftovers(found: Leftovers): Record<keyof Leftovers, number> {
  return {
    groups: found.groups.length,
    groupsBeingDeleted: found.groupsBeingDeleted.length,
    launchTemplateVersions: found.launchTemplateVersions.length,
    images: found.images.length,
    snapshots: found.snapshots.length,
    locks: found.locks.length,
    liveInstances: found.liveInstances.length,
    heldGroups: found.heldGroups.length,
  };
}
