import type {
  CreateLaunchTemplateVersionCommandInput,
  CreateLaunchTemplateVersionCommandOutput,
  CreateTagsCommandInput,
  CreateTagsCommandOutput,
  DeleteLaunchTemplateVersionsCommandInput,
  DeleteLaunchTemplateVersionsCommandOutput,
  DeleteSnapshotCommandInput,
  DeleteSnapshotCommandOutput,
  DeleteTagsCommandInput,
  DeleteTagsCommandOutput,
  DeregisterImageCommandInput,
  DeregisterImageCommandOutput,
  DescribeImagesCommandInput,
  DescribeImagesCommandOutput,
  DescribeInstancesCommandInput,
  DescribeInstancesCommandOutput,
  DescribeLaunchTemplateVersionsCommandInput,
  DescribeLaunchTemplateVersionsCommandOutput,
  DescribeSnapshotsCommandInput,
  DescribeSnapshotsCommandOutput,
  Filter,
  Image,
  Instance,
  LaunchTemplateVersion,
  ResponseLaunchTemplateData,
  Snapshot,
  Tag,
} from "@aws-sdk/client-ec2";
import { TAG } from "../../../functions/lib/names.js";
import { type CallContext, type OperationHandlers, type Output, type RegionContext, decodeToken, encodeToken, isHidden } from "../context.js";
import { awsError } from "../errors.js";
import { REGION_DELAYS } from "../timing.js";

export type ImageState = "pending" | "available" | "deregistered";
export type SnapshotState = "pending" | "completed";
export type InstanceState = "pending" | "running" | "shutting-down" | "terminated";

export interface SimImage {
  imageId: string;
  name: string;
  state: ImageState;
  ownerId: string;
  createdAtMs: number;
  snapshotIds: string[];
  tags: Tag[];
}

export interface SimSnapshot {
  snapshotId: string;
  ownerId: string;
  state: SnapshotState;
  createdAtMs: number;
  volumeSize: number;
  description: string;
  tags: Tag[];
}

export interface SimLaunchTemplateVersion {
  versionNumber: number;
  description?: string;
  data: ResponseLaunchTemplateData;
  createdAtMs: number;
}

export interface SimLaunchTemplate {
  launchTemplateId: string;
  name: string;
  createdAtMs: number;
  defaultVersion: number;
  latestVersion: number;
  versions: Map<number, SimLaunchTemplateVersion>;
  tags: Tag[];
}

export interface SimInstance {
  instanceId: string;
  imageId: string;
  /** The image's `immutable-deploy:release` tag, when it has one (traffic counts `servedBy` with it). */
  release?: string;
  state: InstanceState;
  /** The app answers requests and health checks. */
  appServing: boolean;
  /** How long each answer of the app takes, health checks included (0: at once). */
  answerSeconds: number;
  /** When a load balancer first routed to the instance (a release's `appDiesAfterSeconds` counts from here). */
  firstServedAtMs?: number;
  /** The app died (`appDiesAfterSeconds`): it never answers again on this instance. */
  appDead?: boolean;
  launchedAtMs: number;
  subnetId: string;
  availabilityZone: string;
  privateIpAddress: string;
  launchTemplate?: { launchTemplateId: string; version: string };
  tags: Tag[];
  stateReason?: { Code: string; Message: string };
}

/** How the app of a release behaves on its instances (scenario `deploy.appHealthy`, `deploy.bootFails`, ...). */
export interface ReleaseBehavior {
  /** False: the app never becomes healthy (a broken release). Default true. */
  appHealthy: boolean;
  /** True: every instance of the release fails to boot (terminated with Server.InternalError). Default false. */
  bootFails: boolean;
  /** The app stops answering this long after a load balancer first routed to the instance (it passed its checks). */
  appDiesAfterSeconds?: number;
  /** From app start: answering for this long, then not for this long, and so on. */
  appFlapSeconds?: number;
  /** Every answer, health checks included, takes this long. */
  appSlowSeconds?: number;
}

const HEALTHY_RELEASE: Readonly<ReleaseBehavior> = Object.freeze({ appHealthy: true, bootFails: false });

export type InstanceListener = (instance: SimInstance) => void;

/**
 * Runs instances for real instead of on the model's timers (the local rehearsal: one process per instance).
 * With a host set, an instance is `running` when the host says it is up (not after instanceBootSeconds),
 * and `terminated` when the host says it has stopped (not after terminationSeconds).
 */
export interface InstanceHost {
  /** Starts the instance; call `running()` once it is up, or `failed(message)` when it cannot boot. */
  boot(instance: SimInstance, outcome: { running(): void; failed(message: string): void }): void;
  /** Stops the instance (it is `shutting-down`); call `terminated()` once it has stopped. */
  terminate(instance: SimInstance, terminated: () => void): void;
}

/** Owner of the stock images the Environment stack's launch template starts from (like Amazon's own AMIs). */
export const STOCK_IMAGE_OWNER = "137112412989";

export function tagValueOf(tags: readonly Tag[] | undefined, key: string): string | undefined {
  return tags?.find((tag) => tag.Key === key)?.Value;
}

/** EC2-style filter matching on tags and a few named attributes. Unknown filter names fail loudly. */
export function matchesEc2Filters(
  filters: readonly Filter[] | undefined,
  tags: readonly Tag[],
  attributes: Record<string, string | undefined>,
): boolean {
  for (const filter of filters ?? []) {
    const name = filter.Name ?? "";
    const values = filter.Values ?? [];
    const matches = (candidate: string | undefined) =>
      candidate !== undefined && values.some((value) => wildcardMatch(value, candidate));
    if (name.startsWith("tag:")) {
      if (!matches(tagValueOf(tags, name.slice(4)))) return false;
    } else if (name === "tag-key") {
      if (!tags.some((tag) => matches(tag.Key))) return false;
    } else if (name === "tag-value") {
      if (!tags.some((tag) => matches(tag.Value))) return false;
    } else if (name in attributes) {
      if (!matches(attributes[name])) return false;
    } else {
      throw awsError("EC2", "InvalidParameterValue", `The filter '${name}' is invalid (not modelled by the simulated region)`);
    }
  }
  return true;
}

function wildcardMatch(pattern: string, value: string): boolean {
  if (!pattern.includes("*") && !pattern.includes("?")) return pattern === value;
  const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
  return regex.test(value);
}

function page<T>(items: T[], maxResults: number | undefined, nextToken: string | undefined, service: "EC2"): { items: T[]; nextToken?: string } {
  const offset = decodeToken(nextToken);
  if (offset === undefined) throw awsError(service, "InvalidPaginationToken", `Invalid token: ${nextToken}`);
  if (maxResults === undefined) return { items: items.slice(offset) };
  const end = offset + maxResults;
  return { items: items.slice(offset, end), nextToken: end < items.length ? encodeToken(end) : undefined };
}

export class Ec2Service {
  readonly images = new Map<string, SimImage>();
  readonly snapshots = new Map<string, SimSnapshot>();
  readonly launchTemplates = new Map<string, SimLaunchTemplate>();
  readonly instances = new Map<string, SimInstance>();
  /**
   * Deregistered images: DescribeImages lists them (state `deregistered`) until `listedUntilMs`, then answers an
   * id with an empty result while an instance still runs from it, and with InvalidAMIID.NotFound after that.
   */
  private readonly deregistered = new Map<string, { image: SimImage; listedUntilMs: number }>();
  /** CreateLaunchTemplateVersion's ClientToken -> the version it created (EC2 idempotency). */
  private readonly versionTokens = new Map<string, { launchTemplateId: string; versionNumber: number; request: string }>();
  /** Availability Zone of each subnet, in the order first seen (a, b, c, ...). */
  private readonly subnetZones = new Map<string, string>();
  private readonly releaseBehaviors = new Map<string, ReleaseBehavior>();
  private readonly instanceListeners: InstanceListener[] = [];
  private readonly lifecycleTimers = new Map<string, Array<{ cancel(): void }>>();
  private instanceHost?: InstanceHost;
  /** The host each hosted instance was booted on (it also stops it, even if the host was changed since). */
  private readonly hostOf = new Map<string, InstanceHost>();

  constructor(private readonly ctx: RegionContext) {}

  /** Instances launched from now on run on `host` (undefined: back to the model's timers). */
  setInstanceHost(host: InstanceHost | undefined): void {
    this.instanceHost = host;
  }

  /** Called on every instance state change (running, app serving, shutting-down, terminated). */
  onInstanceChange(listener: InstanceListener): void {
    this.instanceListeners.push(listener);
  }

  setReleaseBehavior(release: string, behavior: Partial<ReleaseBehavior>): void {
    this.releaseBehaviors.set(release, { ...this.releaseBehavior(release), ...behavior });
  }

  releaseBehavior(release: string | undefined): ReleaseBehavior {
    return (release && this.releaseBehaviors.get(release)) || HEALTHY_RELEASE;
  }

  /**
   * A load balancer routes to the instance for the first time (its target turned healthy): from here a release
   * with `appDiesAfterSeconds` stops answering after that long, for good.
   */
  firstServed(instanceId: string): void {
    const instance = this.instances.get(instanceId);
    if (!instance || instance.firstServedAtMs !== undefined || instance.state !== "running") return;
    instance.firstServedAtMs = this.ctx.clock.now();
    const diesAfter = this.releaseBehavior(instance.release).appDiesAfterSeconds;
    if (diesAfter === undefined) return;
    this.track(
      instance,
      this.ctx.scheduler.after(diesAfter, () => this.setAppServing(instance, false, "died"), `app dies ${instance.instanceId}`),
    );
  }

  /** The app starts answering; a flapping release then alternates every `appFlapSeconds` until the instance stops. */
  private startApp(instance: SimInstance, behavior: ReleaseBehavior): void {
    if (instance.state !== "running") return;
    this.setAppServing(instance, true, "started");
    const flap = behavior.appFlapSeconds;
    if (!flap) return;
    const toggle = () => {
      if (instance.state !== "running" || instance.appDead) return;
      this.setAppServing(instance, !instance.appServing, "flapped");
      this.track(instance, this.ctx.scheduler.after(flap, toggle, `app flaps ${instance.instanceId}`));
    };
    this.track(instance, this.ctx.scheduler.after(flap, toggle, `app flaps ${instance.instanceId}`));
  }

  private setAppServing(instance: SimInstance, serving: boolean, why: "started" | "died" | "flapped"): void {
    if (instance.state !== "running" || instance.appDead) return;
    if (why === "died") instance.appDead = true;
    if (instance.appServing === serving) return;
    instance.appServing = serving;
    this.emit(instance);
  }

  // ---- images and snapshots --------------------------------------------------------------------------

  /**
   * Creates an AMI with one root snapshot; both `pending` until `availableAtMs` (default: now). `createdAtMs`
   * (default: now) backdates one that existed before the simulation began.
   */
  createImage(options: { name: string; tags: Tag[]; ownerId?: string; availableAtMs?: number; createdAtMs?: number }): SimImage {
    const now = this.ctx.clock.now();
    const createdAtMs = options.createdAtMs ?? now;
    const availableAtMs = options.availableAtMs ?? now;
    const imageId = this.ctx.ids.next("ami");
    const snapshot: SimSnapshot = {
      snapshotId: this.ctx.ids.next("snap"),
      ownerId: options.ownerId ?? this.ctx.account,
      state: availableAtMs > now ? "pending" : "completed",
      createdAtMs,
      volumeSize: 8,
      description: `Created by CreateImage for ${imageId}`,
      tags: options.tags.map((tag) => ({ ...tag })),
    };
    const image: SimImage = {
      imageId,
      name: options.name,
      state: availableAtMs > now ? "pending" : "available",
      ownerId: options.ownerId ?? this.ctx.account,
      createdAtMs,
      snapshotIds: [snapshot.snapshotId],
      tags: options.tags.map((tag) => ({ ...tag })),
    };
    this.snapshots.set(snapshot.snapshotId, snapshot);
    this.images.set(imageId, image);
    if (availableAtMs > now) {
      this.ctx.scheduler.at(
        availableAtMs,
        () => {
          if (this.images.get(imageId) === image) image.state = "available";
          if (this.snapshots.get(snapshot.snapshotId) === snapshot) snapshot.state = "completed";
        },
        `image ${imageId} available`,
      );
    }
    return image;
  }

  /** True for an image id this region deregistered (it is gone from `images`). */
  wasDeregistered(imageId: string): boolean {
    return this.deregistered.has(imageId);
  }

  /** Images of this account (not the stock ones), deregistered ones excluded. */
  ownImages(): SimImage[] {
    return [...this.images.values()].filter((image) => image.ownerId === this.ctx.account);
  }

  // ---- launch templates ---------------------------------------------------------------------------------

  /** The Environment stack's launch template with its version 1; `createdAtMs` as for `createImage`. */
  createLaunchTemplate(options: { name: string; data: ResponseLaunchTemplateData; tags?: Tag[]; createdAtMs?: number }): SimLaunchTemplate {
    const createdAtMs = options.createdAtMs ?? this.ctx.clock.now();
    const template: SimLaunchTemplate = {
      launchTemplateId: this.ctx.ids.next("lt"),
      name: options.name,
      createdAtMs,
      defaultVersion: 1,
      latestVersion: 1,
      versions: new Map([[1, { versionNumber: 1, data: options.data, createdAtMs, description: "created by the Environment stack" }]]),
      tags: options.tags ?? [],
    };
    this.launchTemplates.set(template.launchTemplateId, template);
    return template;
  }

  findLaunchTemplate(id: string | undefined, name: string | undefined): SimLaunchTemplate | undefined {
    if (id) return this.launchTemplates.get(id);
    return [...this.launchTemplates.values()].find((template) => template.name === name);
  }

  requireLaunchTemplate(id: string | undefined, name: string | undefined): SimLaunchTemplate {
    const template = this.findLaunchTemplate(id, name);
    if (template) return template;
    if (id) throw awsError("EC2", "InvalidLaunchTemplateId.NotFound", `The specified launch template, with template ID ${id}, does not exist.`);
    throw awsError("EC2", "InvalidLaunchTemplateName.NotFoundException", `The specified launch template, with template name ${name}, does not exist.`);
  }

  /** `$Latest`, `$Default` or a number -> the version number, or undefined when it does not exist. */
  resolveVersion(template: SimLaunchTemplate, version: string | undefined): number | undefined {
    const wanted = version ?? "$Default";
    const number = wanted === "$Latest" ? template.latestVersion : wanted === "$Default" ? template.defaultVersion : Number(wanted);
    return template.versions.has(number) ? number : undefined;
  }

  /** When a launch-template version shows in DescribeLaunchTemplateVersions (eventual consistency). */
  versionVisibleAtMs(template: SimLaunchTemplate, version: SimLaunchTemplateVersion): number {
    return version.createdAtMs + this.ctx.consistency.delayMs("launchTemplateVersionVisibleSeconds", `${template.launchTemplateId}:${version.versionNumber}`);
  }

  /** When Auto Scaling accepts a launch-template version (before: "You must use a valid fully-formed launch template"). */
  versionUsableByAutoScalingAtMs(template: SimLaunchTemplate, versionNumber: number): number {
    const version = template.versions.get(versionNumber);
    if (!version) return Number.POSITIVE_INFINITY;
    return version.createdAtMs + this.ctx.consistency.delayMs("launchTemplateVersionToAutoScalingSeconds", `${template.launchTemplateId}:${versionNumber}`);
  }

  private imageVisible(image: SimImage): boolean {
    return this.ctx.clock.now() >= image.createdAtMs + this.ctx.consistency.delayMs("imageVisibleSeconds", image.imageId);
  }

  /** The subnet's Availability Zone (subnets get zones a, b, c, ... in the order they are first used). */
  availabilityZoneOf(subnetId: string): string {
    let zone = this.subnetZones.get(subnetId);
    if (!zone) {
      zone = `${this.ctx.regionName}${"abcdef"[this.subnetZones.size % 6]}`;
      this.subnetZones.set(subnetId, zone);
    }
    return zone;
  }

  // ---- instances ------------------------------------------------------------------------------------------

  /**
   * Starts an instance (the Auto Scaling group's RunInstances): `pending`, then after the boot time either
   * `running` (the app serving appStartSeconds later, when the release is healthy) or, for a release whose
   * boot fails, `shutting-down` -> `terminated` with `Server.InternalError`.
   */
  launchInstance(options: {
    imageId: string;
    subnetId: string;
    launchTemplate?: { launchTemplateId: string; version: string };
    tags: Tag[];
  }): SimInstance {
    const image = this.images.get(options.imageId);
    const release = image ? tagValueOf(image.tags, TAG.release) : undefined;
    const behavior = this.releaseBehavior(release);
    const n = this.ctx.ids.count("ip");
    const instance: SimInstance = {
      instanceId: this.ctx.ids.next("i"),
      imageId: options.imageId,
      release,
      state: "pending",
      appServing: false,
      answerSeconds: behavior.appSlowSeconds ?? 0,
      launchedAtMs: this.ctx.clock.now(),
      subnetId: options.subnetId,
      availabilityZone: this.availabilityZoneOf(options.subnetId),
      privateIpAddress: `10.0.${Math.floor(n / 250) % 250}.${(n % 250) + 4}`,
      launchTemplate: options.launchTemplate,
      tags: options.tags,
    };
    this.instances.set(instance.instanceId, instance);
    if (this.instanceHost) {
      this.bootOnHost(instance, this.instanceHost, behavior);
      this.emit(instance);
      return instance;
    }
    const { instanceBootSeconds, appStartSeconds, terminationSeconds } = this.ctx.timing;
    const boot = this.ctx.scheduler.after(
      instanceBootSeconds,
      () => {
        if (instance.state !== "pending") return;
        if (behavior.bootFails) {
          instance.stateReason = { Code: "Server.InternalError", Message: "Server.InternalError: Internal error on launch" };
          this.setState(instance, "shutting-down");
          this.track(instance, this.ctx.scheduler.after(Math.min(terminationSeconds, 5), () => this.finishTermination(instance), `terminate ${instance.instanceId}`));
          return;
        }
        this.setState(instance, "running");
        if (!behavior.appHealthy) return;
        this.track(
          instance,
          this.ctx.scheduler.after(
            appStartSeconds,
            () => this.startApp(instance, behavior),
            `app start ${instance.instanceId}`,
          ),
        );
      },
      `boot ${instance.instanceId}`,
    );
    this.track(instance, boot);
    this.emit(instance);
    return instance;
  }

  /** The host's answer comes back on its own time; a stale one (instance already terminating) is ignored. */
  private bootOnHost(instance: SimInstance, host: InstanceHost, behavior: ReleaseBehavior): void {
    this.hostOf.set(instance.instanceId, host);
    host.boot(instance, {
      running: () => {
        if (instance.state !== "pending") return;
        instance.appServing = behavior.appHealthy;
        this.setState(instance, "running");
      },
      failed: (message) => {
        if (instance.state !== "pending") return;
        instance.stateReason = { Code: "Server.InternalError", Message: `Server.InternalError: ${message}` };
        this.setState(instance, "shutting-down");
        host.terminate(instance, () => this.finishTermination(instance));
      },
    });
  }

  /** Starts termination: the app stops at once, the instance is `terminated` after terminationSeconds. */
  terminateInstance(instanceId: string, reason = "Client.UserInitiatedShutdown: User initiated shutdown"): void {
    const instance = this.instances.get(instanceId);
    if (!instance || instance.state === "shutting-down" || instance.state === "terminated") return;
    this.cancelTimers(instance);
    instance.stateReason = { Code: reason.split(":")[0], Message: reason };
    this.setState(instance, "shutting-down");
    const host = this.hostOf.get(instanceId);
    if (host) {
      host.terminate(instance, () => this.finishTermination(instance));
      return;
    }
    this.track(
      instance,
      this.ctx.scheduler.after(this.ctx.timing.terminationSeconds, () => this.finishTermination(instance), `terminate ${instanceId}`),
    );
  }

  private finishTermination(instance: SimInstance): void {
    if (instance.state === "terminated") return;
    this.hostOf.delete(instance.instanceId);
    this.cancelTimers(instance);
    this.setState(instance, "terminated");
    // Terminated instances stay visible for a while, as in EC2, then vanish.
    this.ctx.scheduler.after(REGION_DELAYS.terminatedVisibleSeconds, () => this.instances.delete(instance.instanceId), "forget instance");
  }

  private setState(instance: SimInstance, state: InstanceState): void {
    instance.state = state;
    if (state !== "running") instance.appServing = false;
    this.emit(instance);
  }

  private emit(instance: SimInstance): void {
    this.ctx.touch();
    for (const listener of this.instanceListeners) listener(instance);
  }

  private track(instance: SimInstance, timer: { cancel(): void }): void {
    const timers = this.lifecycleTimers.get(instance.instanceId) ?? [];
    timers.push(timer);
    this.lifecycleTimers.set(instance.instanceId, timers);
  }

  private cancelTimers(instance: SimInstance): void {
    for (const timer of this.lifecycleTimers.get(instance.instanceId) ?? []) timer.cancel();
    this.lifecycleTimers.delete(instance.instanceId);
  }

  // ---- API ------------------------------------------------------------------------------------------------

  handlers(): OperationHandlers {
    return {
      DescribeImages: (input: DescribeImagesCommandInput, call: CallContext) => this.describeImages(input, call),
      DeregisterImage: (input: DeregisterImageCommandInput) => this.deregisterImage(input),
      DescribeSnapshots: (input: DescribeSnapshotsCommandInput) => this.describeSnapshots(input),
      DeleteSnapshot: (input: DeleteSnapshotCommandInput) => this.deleteSnapshot(input),
      CreateTags: (input: CreateTagsCommandInput) => this.createTags(input),
      DeleteTags: (input: DeleteTagsCommandInput) => this.deleteTags(input),
      DescribeLaunchTemplateVersions: (input: DescribeLaunchTemplateVersionsCommandInput, call: CallContext) =>
        this.describeLaunchTemplateVersions(input, call),
      CreateLaunchTemplateVersion: (input: CreateLaunchTemplateVersionCommandInput) => this.createLaunchTemplateVersion(input),
      DeleteLaunchTemplateVersions: (input: DeleteLaunchTemplateVersionsCommandInput) => this.deleteLaunchTemplateVersions(input),
      DescribeInstances: (input: DescribeInstancesCommandInput, call: CallContext) => this.describeInstances(input, call),
    };
  }

  private toImage(image: SimImage): Image {
    return {
      ImageId: image.imageId,
      Name: image.name,
      State: image.state,
      OwnerId: image.ownerId,
      CreationDate: new Date(image.createdAtMs).toISOString(),
      Public: false,
      ImageType: "machine",
      Architecture: "x86_64",
      RootDeviceName: "/dev/xvda",
      RootDeviceType: "ebs",
      VirtualizationType: "hvm",
      EnaSupport: true,
      BlockDeviceMappings: image.snapshotIds.map((snapshotId, index) => ({
        DeviceName: index === 0 ? "/dev/xvda" : `/dev/xvd${"bcdefgh"[index - 1]}`,
        Ebs: { SnapshotId: snapshotId, VolumeSize: 8, VolumeType: "gp3", DeleteOnTermination: true, Encrypted: true },
      })),
      Tags: image.tags.length > 0 ? image.tags.map((tag) => ({ ...tag })) : undefined,
    };
  }

  /** Deregistered images DescribeImages still lists (state `deregistered`), for a while after deregistration. */
  private listedDeregistered(): SimImage[] {
    const now = this.ctx.clock.now();
    return [...this.deregistered.values()].filter((entry) => now < entry.listedUntilMs).map((entry) => entry.image);
  }

  private describeImages(input: DescribeImagesCommandInput, call: CallContext): Output<DescribeImagesCommandOutput> {
    const shown = (image: SimImage) => this.imageVisible(image) && !isHidden(image.createdAtMs, call);
    let candidates: SimImage[];
    if (input.ImageIds && input.ImageIds.length > 0) {
      const listed = new Map(this.listedDeregistered().map((image) => [image.imageId, image]));
      const runningFrom = new Set([...this.instances.values()].filter((i) => i.state !== "terminated").map((i) => i.imageId));
      candidates = [];
      const unknown: string[] = [];
      for (const id of input.ImageIds) {
        const image = this.images.get(id) ?? listed.get(id);
        if (image && shown(image)) candidates.push(image);
        // "After all instances that reference a deregistered AMI are terminated, specifying the ID of the image
        // will eventually return an error": until then (and while listed) the id just yields nothing.
        else if (!(this.deregistered.has(id) && runningFrom.has(id))) unknown.push(id);
      }
      if (unknown.length > 0) throw awsError("EC2", "InvalidAMIID.NotFound", `The image id '[${unknown.join(", ")}]' does not exist`);
    } else {
      candidates = [...this.images.values(), ...this.listedDeregistered()].filter(shown);
    }
    const owners = input.Owners ?? [];
    const images = candidates
      .filter((image) => owners.length === 0 || owners.some((owner) => (owner === "self" ? this.ctx.account : owner) === image.ownerId || (owner === "amazon" && image.ownerId === STOCK_IMAGE_OWNER)))
      .filter((image) =>
        matchesEc2Filters(input.Filters, image.tags, { state: image.state, name: image.name, "image-id": image.imageId, "owner-id": image.ownerId }),
      );
    const result = page(images, input.MaxResults, input.NextToken, "EC2");
    return { Images: result.items.map((image) => this.toImage(image)), NextToken: result.nextToken };
  }

  private deregisterImage(input: DeregisterImageCommandInput): Output<DeregisterImageCommandOutput> {
    const imageId = input.ImageId ?? "";
    const image = this.images.get(imageId);
    if (!image && this.listedDeregistered().some((listed) => listed.imageId === imageId)) {
      throw awsError("EC2", "InvalidAMIID.Unavailable", `The image id '[${imageId}]' is no longer available`);
    }
    if (!image || !this.imageVisible(image)) throw awsError("EC2", "InvalidAMIID.NotFound", `The image id '[${imageId}]' does not exist`);
    if (image.ownerId !== this.ctx.account) throw awsError("EC2", "AuthFailure", `Not authorized for image:${imageId}`);
    this.images.delete(imageId);
    const listedMs = this.ctx.consistency.delayMs("deregisteredImageListedSeconds", imageId);
    this.deregistered.set(imageId, { image: { ...image, state: "deregistered" }, listedUntilMs: this.ctx.clock.now() + listedMs });
    // DeleteAssociatedSnapshots deletes the snapshots in the same call; "If a snapshot is associated with multiple
    // AMIs, it is not deleted" (`skipped`; EC2 API reference, DeregisterImage).
    const deleteSnapshotResults = input.DeleteAssociatedSnapshots
      ? image.snapshotIds.map((snapshotId) => {
          if ([...this.images.values()].some((other) => other.snapshotIds.includes(snapshotId))) {
            return { SnapshotId: snapshotId, ReturnCode: "skipped" as const };
          }
          // The `snapshotInUseTimes` fault: EC2 could not delete it this time ("internal-error", a server error).
          if (this.ctx.faults.takeSnapshotInUse()) return { SnapshotId: snapshotId, ReturnCode: "internal-error" as const };
          this.snapshots.delete(snapshotId);
          return { SnapshotId: snapshotId, ReturnCode: "success" as const };
        })
      : undefined;
    return { Return: true, DeleteSnapshotResults: deleteSnapshotResults };
  }

  private toSnapshot(snapshot: SimSnapshot): Snapshot {
    return {
      SnapshotId: snapshot.snapshotId,
      State: snapshot.state,
      StartTime: new Date(snapshot.createdAtMs),
      VolumeSize: snapshot.volumeSize,
      Description: snapshot.description,
      OwnerId: snapshot.ownerId,
      Encrypted: true,
      Progress: snapshot.state === "completed" ? "100%" : "50%",
      VolumeId: "vol-ffffffff",
      StorageTier: "standard",
      Tags: snapshot.tags.length > 0 ? snapshot.tags.map((tag) => ({ ...tag })) : undefined,
    };
  }

  private describeSnapshots(input: DescribeSnapshotsCommandInput): Output<DescribeSnapshotsCommandOutput> {
    let candidates: SimSnapshot[];
    if (input.SnapshotIds && input.SnapshotIds.length > 0) {
      const missing = input.SnapshotIds.filter((id) => !this.snapshots.has(id));
      if (missing.length > 0) throw awsError("EC2", "InvalidSnapshot.NotFound", `The snapshot '${missing[0]}' does not exist.`);
      candidates = input.SnapshotIds.map((id) => this.snapshots.get(id)!);
    } else {
      candidates = [...this.snapshots.values()];
    }
    const owners = (input.OwnerIds ?? []).map((owner) => (owner === "self" ? this.ctx.account : owner));
    const snapshots = candidates
      .filter((snapshot) => owners.length === 0 || owners.includes(snapshot.ownerId))
      .filter((snapshot) =>
      matchesEc2Filters(input.Filters, snapshot.tags, { status: snapshot.state, description: snapshot.description, "snapshot-id": snapshot.snapshotId }),
    );
    const result = page(snapshots, input.MaxResults, input.NextToken, "EC2");
    return { Snapshots: result.items.map((snapshot) => this.toSnapshot(snapshot)), NextToken: result.nextToken };
  }

  private deleteSnapshot(input: DeleteSnapshotCommandInput): Output<DeleteSnapshotCommandOutput> {
    const snapshotId = input.SnapshotId ?? "";
    if (!this.snapshots.has(snapshotId)) throw awsError("EC2", "InvalidSnapshot.NotFound", `The snapshot '${snapshotId}' does not exist.`);
    const user = [...this.images.values()].find((image) => image.snapshotIds.includes(snapshotId));
    if (user) throw awsError("EC2", "InvalidSnapshot.InUse", `The snapshot ${snapshotId} is currently in use by ${user.imageId}`);
    if (this.ctx.faults.takeSnapshotInUse()) {
      throw awsError("EC2", "InvalidSnapshot.InUse", `The snapshot ${snapshotId} is currently in use by an image being deregistered`);
    }
    this.snapshots.delete(snapshotId);
    return {};
  }

  private taggable(resourceId: string): { tags: Tag[] } | undefined {
    return this.images.get(resourceId) ?? this.snapshots.get(resourceId) ?? this.instances.get(resourceId) ?? this.launchTemplates.get(resourceId);
  }

  private createTags(input: CreateTagsCommandInput): Output<CreateTagsCommandOutput> {
    for (const resourceId of input.Resources ?? []) {
      const resource = this.taggable(resourceId);
      if (!resource) throw awsError("EC2", "InvalidID", `The ID '${resourceId}' is not valid`);
      for (const tag of input.Tags ?? []) {
        resource.tags = [...resource.tags.filter((existing) => existing.Key !== tag.Key), { Key: tag.Key, Value: tag.Value ?? "" }];
      }
    }
    return {};
  }

  private deleteTags(input: DeleteTagsCommandInput): Output<DeleteTagsCommandOutput> {
    for (const resourceId of input.Resources ?? []) {
      const resource = this.taggable(resourceId);
      if (!resource) continue;
      resource.tags = resource.tags.filter((existing) => !(input.Tags ?? []).some((tag) => tag.Key === existing.Key));
    }
    return {};
  }

  private toVersion(template: SimLaunchTemplate, version: SimLaunchTemplateVersion): LaunchTemplateVersion {
    return {
      LaunchTemplateId: template.launchTemplateId,
      LaunchTemplateName: template.name,
      VersionNumber: version.versionNumber,
      VersionDescription: version.description,
      CreateTime: new Date(version.createdAtMs),
      CreatedBy: `arn:aws:iam::${this.ctx.account}:root`,
      DefaultVersion: template.defaultVersion === version.versionNumber,
      LaunchTemplateData: structuredClone(version.data),
    };
  }

  private describeLaunchTemplateVersions(
    input: DescribeLaunchTemplateVersionsCommandInput,
    call: CallContext,
  ): Output<DescribeLaunchTemplateVersionsCommandOutput> {
    const template = this.requireLaunchTemplate(input.LaunchTemplateId, input.LaunchTemplateName);
    const now = this.ctx.clock.now();
    let versions: SimLaunchTemplateVersion[];
    if (input.Versions && input.Versions.length > 0) {
      versions = input.Versions.map((wanted) => {
        const number = this.resolveVersion(template, wanted);
        const version = number === undefined ? undefined : template.versions.get(number);
        if (!version || isHidden(version.createdAtMs, call) || now < this.versionVisibleAtMs(template, version)) {
          throw awsError("EC2", "InvalidLaunchTemplateId.VersionNotFound", `Could not find launch template version ${wanted} for launch template ${template.launchTemplateId}`);
        }
        return version;
      });
    } else {
      const min = input.MinVersion ? Number(input.MinVersion) : Number.NEGATIVE_INFINITY;
      const max = input.MaxVersion ? Number(input.MaxVersion) : Number.POSITIVE_INFINITY;
      versions = [...template.versions.values()]
        .filter((version) => version.versionNumber >= min && version.versionNumber <= max && !isHidden(version.createdAtMs, call))
        .filter((version) => now >= this.versionVisibleAtMs(template, version))
        .sort((a, b) => b.versionNumber - a.versionNumber);
    }
    versions = versions.filter((version) =>
      matchesEc2Filters(input.Filters, [], {
        "image-id": version.data.ImageId,
        "instance-type": version.data.InstanceType,
        "is-default-version": String(template.defaultVersion === version.versionNumber),
      }),
    );
    const result = page(versions, input.MaxResults, input.NextToken, "EC2");
    return { LaunchTemplateVersions: result.items.map((version) => this.toVersion(template, version)), NextToken: result.nextToken };
  }

  private createLaunchTemplateVersion(input: CreateLaunchTemplateVersionCommandInput): Output<CreateLaunchTemplateVersionCommandOutput> {
    const template = this.requireLaunchTemplate(input.LaunchTemplateId, input.LaunchTemplateName);
    // "If you provide the same client token with different parameters, you get IdempotentParameterMismatch"
    // (EC2 API guide, "Ensure idempotency"); the same request again gets the version it created.
    const request = JSON.stringify({ ...input, ClientToken: undefined });
    const earlier = input.ClientToken ? this.versionTokens.get(input.ClientToken) : undefined;
    if (earlier) {
      if (earlier.request !== request || earlier.launchTemplateId !== template.launchTemplateId) {
        throw awsError("EC2", "IdempotentParameterMismatch", `Client token ${input.ClientToken} was used with different parameters`);
      }
      const version = template.versions.get(earlier.versionNumber);
      if (version) return { LaunchTemplateVersion: this.toVersion(template, version) };
    }
    let base: ResponseLaunchTemplateData = {};
    if (input.SourceVersion !== undefined) {
      const number = this.resolveVersion(template, input.SourceVersion);
      if (number === undefined) {
        throw awsError("EC2", "InvalidLaunchTemplateId.VersionNotFound", `Could not find launch template version ${input.SourceVersion} for launch template ${template.launchTemplateId}`);
      }
      base = structuredClone(template.versions.get(number)!.data);
    }
    // Request and response launch template data share the fields this project uses (ImageId, tags, ...).
    const data = { ...base, ...(structuredClone(input.LaunchTemplateData ?? {}) as ResponseLaunchTemplateData) };
    const versionNumber = template.latestVersion + 1;
    const version: SimLaunchTemplateVersion = { versionNumber, description: input.VersionDescription, data, createdAtMs: this.ctx.clock.now() };
    template.versions.set(versionNumber, version);
    template.latestVersion = versionNumber;
    if (input.ClientToken) this.versionTokens.set(input.ClientToken, { launchTemplateId: template.launchTemplateId, versionNumber, request });
    // EC2 accepts a missing AMI here and only warns: launches from this version will fail.
    const imageMissing = data.ImageId !== undefined && !this.images.has(data.ImageId);
    return {
      LaunchTemplateVersion: this.toVersion(template, version),
      Warning: imageMissing
        ? { Errors: [{ Code: "InvalidAMIID.NotFound", Message: `The image id '[${data.ImageId}]' does not exist` }] }
        : undefined,
    };
  }

  private deleteLaunchTemplateVersions(input: DeleteLaunchTemplateVersionsCommandInput): Output<DeleteLaunchTemplateVersionsCommandOutput> {
    const template = this.requireLaunchTemplate(input.LaunchTemplateId, input.LaunchTemplateName);
    const versions = input.Versions ?? [];
    if (versions.length > 200) throw awsError("EC2", "InvalidParameterValue", "You can delete up to 200 launch template versions in a single request.");
    const succeeded: NonNullable<DeleteLaunchTemplateVersionsCommandOutput["SuccessfullyDeletedLaunchTemplateVersions"]> = [];
    const failed: NonNullable<DeleteLaunchTemplateVersionsCommandOutput["UnsuccessfullyDeletedLaunchTemplateVersions"]> = [];
    for (const wanted of versions) {
      const number = Number(wanted);
      const base = { LaunchTemplateId: template.launchTemplateId, LaunchTemplateName: template.name, VersionNumber: number };
      if (!template.versions.has(number)) {
        failed.push({ ...base, ResponseError: { Code: "launchTemplateVersionDoesNotExist", Message: `The specified launch template version ${wanted} does not exist.` } });
      } else if (number === template.defaultVersion) {
        // Refused per version (not a thrown error), as EC2 does.
        failed.push({ ...base, ResponseError: { Code: "unexpectedError", Message: "Cannot delete the default version of a launch template." } });
      } else {
        template.versions.delete(number);
        succeeded.push(base);
      }
    }
    return {
      SuccessfullyDeletedLaunchTemplateVersions: succeeded.length > 0 ? succeeded : undefined,
      UnsuccessfullyDeletedLaunchTemplateVersions: failed.length > 0 ? failed : undefined,
    };
  }

  private toInstance(instance: SimInstance): Instance {
    const stateCodes: Record<InstanceState, number> = { pending: 0, running: 16, "shutting-down": 32, terminated: 48 };
    return {
      InstanceId: instance.instanceId,
      ImageId: instance.imageId,
      InstanceType: "t3.micro",
      LaunchTime: new Date(instance.launchedAtMs),
      State: { Code: stateCodes[instance.state], Name: instance.state },
      StateReason: instance.stateReason,
      SubnetId: instance.subnetId,
      VpcId: "vpc-00000000000000001",
      PrivateIpAddress: instance.privateIpAddress,
      Placement: { AvailabilityZone: instance.availabilityZone, Tenancy: "default" },
      Tags: instance.tags.map((tag) => ({ ...tag })),
    };
  }

  private describeInstances(input: DescribeInstancesCommandInput, call: CallContext): Output<DescribeInstancesCommandOutput> {
    let candidates: SimInstance[];
    if (input.InstanceIds && input.InstanceIds.length > 0) {
      const missing = input.InstanceIds.filter((id) => !this.instances.has(id) || isHidden(this.instances.get(id)!.launchedAtMs, call));
      if (missing.length > 0) throw awsError("EC2", "InvalidInstanceID.NotFound", `The instance IDs '${missing.join(", ")}' do not exist`);
      candidates = input.InstanceIds.map((id) => this.instances.get(id)!);
    } else {
      candidates = [...this.instances.values()].filter((instance) => !isHidden(instance.launchedAtMs, call));
    }
    const instances = candidates.filter((instance) =>
      matchesEc2Filters(input.Filters, instance.tags, {
        "instance-state-name": instance.state,
        "image-id": instance.imageId,
        "instance-id": instance.instanceId,
      }),
    );
    const result = page(instances, input.MaxResults, input.NextToken, "EC2");
    return {
      Reservations: result.items.map((instance) => ({
        ReservationId: `r-${instance.instanceId.slice(2)}`,
        OwnerId: this.ctx.account,
        Instances: [this.toInstance(instance)],
      })),
      NextToken: result.nextToken,
    };
  }

}
