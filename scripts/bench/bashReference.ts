/**
 * A reference model of the seeds' Bash deploy script (seed 002, "A immutable deploy script", lines 191-452;
 * line numbers are those of ../shared/seeds/002_9ca7cf070190a9cc.txt), replayed step for step on a simulated region so `npm run bench` can set the state machine's figures beside
 * it on the same timeline. It keeps the seed's algorithm, including its flaws: fixed 4 s naps before every
 * describe, one wait after the other, no deadline, no rollback, a delete whose refusal is ignored, and the
 * cleanup that deregisters the image it has just deployed. The only thing added is a safety cap on virtual
 * time, so a release that never becomes healthy cannot hang the benchmark (the seed would poll forever).
 *
 * Every AWS call goes through its own SDK clients (`BASH_REFERENCE_CLIENTS`, one attempt per request: the AWS
 * CLI's retries are the model's `cli()`); the caller routes them to the region with
 * `attachRegion(region, BASH_REFERENCE_CLIENTS)`. Time is the region's: drive the returned promise
 * with `region.scheduler.drive([...])`. Use a region of its own: the model recognises old groups by the
 * seed's name prefix (`asg-<app>-<environment>`), not by the pipeline's tags.
 */
import {
  type AutoScalingGroup,
  AutoScalingClient,
  CreateAutoScalingGroupCommand,
  DeleteAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
  UpdateAutoScalingGroupCommand,
} from "@aws-sdk/client-auto-scaling";
import {
  CreateLaunchTemplateVersionCommand,
  DeleteLaunchTemplateVersionsCommand,
  DeregisterImageCommand,
  DeleteSnapshotCommand,
  DescribeImagesCommand,
  DescribeLaunchTemplateVersionsCommand,
  EC2Client,
} from "@aws-sdk/client-ec2";
import {
  DeregisterInstancesFromLoadBalancerCommand,
  DescribeInstanceHealthCommand,
  DescribeLoadBalancersCommand,
  ElasticLoadBalancingClient,
} from "@aws-sdk/client-elastic-load-balancing";
import {
  DeregisterTargetsCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import type { EnvironmentSettings } from "../../functions/lib/contract.js";
import { awsErrorCode, isTransientAwsError } from "../../functions/lib/errors.js";
import { TAG } from "../../functions/lib/names.js";
import type { SimulatedRegion } from "../../simulator/region/region.js";

/** `zzz;zzz` before every describe: two `sleep 2` (seed lines 220-223, 355, 368, 400). */
export const SEED_POLL_SECONDS = 4;
/** `--health-check-grace-period 300` (seed line 342). */
export const SEED_HEALTH_CHECK_GRACE_PERIOD_SECONDS = 300;
/** The seed has no deadline at all; the model stops here and reports `hung`. */
export const DEFAULT_SAFETY_CAP_SECONDS = 6 * 3600;
/**
 * The AWS CLI's own retries of throttling and 5xx errors (botocore "legacy" mode, the CLI's default in the
 * seed's time): 5 attempts, waiting rand(0,1) x 2^(n-1) s before retry n; the model waits the mean.
 */
const CLI_MAX_ATTEMPTS = 5;

/** The script's `aws` commands: one attempt per request, since `cli()` models the CLI's retries. */
const ONE_ATTEMPT = { maxAttempts: 1 } as const;
const autoScaling = new AutoScalingClient(ONE_ATTEMPT);
const ec2 = new EC2Client(ONE_ATTEMPT);
const elb = new ElasticLoadBalancingClient(ONE_ATTEMPT);
const elbv2 = new ElasticLoadBalancingV2Client(ONE_ATTEMPT);
/** Attach these to the region the model runs on. */
export const BASH_REFERENCE_CLIENTS = [autoScaling, ec2, elb, elbv2] as const;

export type BashReferenceWait = "bake" | "groupInService" | "loadBalancerHealthy" | "oldInstancesGone";

export interface BashReferenceOptions {
  /** The release label (the bake tags the image with it). */
  release: string;
  /** Deploy this image (seed's IMAGE_ID): no bake, and no image cleanup (the seed then sets CLEANUP="no", line 288). */
  imageId?: string;
  /** Bake on this base image (seed's PRIMAL_ID, lines 258-265). */
  baseImageId?: string;
  /**
   * Bake a new base ("primal") image even when one exists. The seed does that whenever PRIMAL_ID is unset;
   * its author sets PRIMAL_ID "most of the time" (lines 194-197), which is the default here: the bake reuses
   * the region's current base image, or bakes one when there is none, like the pipeline's bake.
   */
  rebuildBase?: boolean;
  /** Virtual seconds after which the model gives up (`timedOut`, outcome `hung`). Default 6 h. */
  safetyCapSeconds?: number;
}

export interface BashReferenceResult {
  /** Virtual seconds from the script's start to its end (or to the safety cap). */
  simSeconds: number;
  /** API calls the run made, by "Service:Operation" (delta of `region.apiCalls`; includes CLI retries). */
  apiCalls: Record<string, number>;
  /** 4 s naps taken, all waits together. Without faults simSeconds = 4 x polls: nothing else takes time. */
  polls: number;
  pollsByWait: Record<BashReferenceWait, number>;
  /** Virtual seconds spent in each wait. */
  waitSeconds: Record<BashReferenceWait, number>;
  /** What the seed's algorithm did wrong on this run (it carries on regardless). */
  defects: string[];
  timedOut: boolean;
  /**
   * `hung`: still waiting at the safety cap. `aborted`: a command failed and `set -e` (line 192) ended the
   * script where it stood (e.g. an API error the CLI's retries did not absorb, or a failed bake).
   */
  outcome: "succeeded" | "hung" | "aborted";
  /** The wait the model was stuck in (hung) or the failure that ended it (aborted). */
  error?: string;
  /** The group this run created (`asg-<app>-<environment>-<stamp>`), if it got that far. */
  groupName?: string;
  /** The image deployed (baked or given). */
  imageId?: string;
}

/** Runs `fn` and returns its result with the region's API calls made meanwhile (by anyone), by operation. */
export async function countApiCallsDuring<T>(
  region: SimulatedRegion,
  fn: () => Promise<T>,
): Promise<{ result: T; apiCalls: Record<string, number> }> {
  const before = new Map(region.apiCalls);
  const result = await fn();
  return { result, apiCalls: apiCallsSince(region, before) };
}

function apiCallsSince(region: SimulatedRegion, before: ReadonlyMap<string, number>): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [operation, count] of [...region.apiCalls.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const made = count - (before.get(operation) ?? 0);
    if (made > 0) delta[operation] = made;
  }
  return delta;
}

/** Ends the script the way `set -e` does: at the failed command. */
class ScriptAborted extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ScriptAborted";
  }
}

/** The safety cap was reached inside a wait. */
class SafetyCapReached extends Error {
  constructor(readonly wait: string) {
    super(`still ${wait} at the safety cap`);
    this.name = "SafetyCapReached";
  }
}

/** `date +"%Y%m%d%H%M%S"` (seed lines 217-219), on the virtual clock. */
function timestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:T]/g, "").slice(0, 14);
}

/**
 * Replays seed 002's deploy (lines 438-452) on `region` for `settings`' environment: bake, look up the old
 * groups, launch the new one, wait until it is InService then healthy at the load balancer, retire the old
 * groups one by one, delete the old launch-template versions and deregister the image just deployed.
 */
export async function runBashReferenceDeploy(
  region: SimulatedRegion,
  settings: EnvironmentSettings,
  options: BashReferenceOptions,
): Promise<BashReferenceResult> {
  const script = new BashReferenceScript(region, settings, options);
  const callsBefore = new Map(region.apiCalls);
  const startMs = region.now();
  let outcome: BashReferenceResult["outcome"] = "succeeded";
  let error: string | undefined;
  try {
    await script.deploy();
  } catch (thrown) {
    if (thrown instanceof SafetyCapReached) {
      outcome = "hung";
      error = thrown.message;
    } else if (thrown instanceof ScriptAborted) {
      outcome = "aborted";
      error = thrown.message;
    } else {
      throw thrown;
    }
    script.noteUnfinishedRun();
  }
  return {
    simSeconds: (region.now() - startMs) / 1000,
    apiCalls: apiCallsSince(region, callsBefore),
    polls: Object.values(script.pollsByWait).reduce((sum, n) => sum + n, 0),
    pollsByWait: { ...script.pollsByWait },
    waitSeconds: { ...script.waitSeconds },
    defects: [...script.defects],
    timedOut: outcome === "hung",
    outcome,
    ...(error ? { error } : {}),
    ...(script.groupName ? { groupName: script.groupName } : {}),
    ...(script.imageId ? { imageId: script.imageId } : {}),
  };
}

/** The old group as `lookup_existing_asg` saw it (asg-list.log): its name and instances at that moment. */
interface ExistingGroup {
  name: string;
  instanceIds: string[];
}

class BashReferenceScript {
  readonly pollsByWait: Record<BashReferenceWait, number> = { bake: 0, groupInService: 0, loadBalancerHealthy: 0, oldInstancesGone: 0 };
  readonly waitSeconds: Record<BashReferenceWait, number> = { bake: 0, groupInService: 0, loadBalancerHealthy: 0, oldInstancesGone: 0 };
  readonly defects: string[] = [];
  groupName?: string;
  imageId?: string;
  /** Seed's NAME="ponyfoo-$NODE_ENV" (line 439). */
  private readonly name: string;
  private readonly stamp: string;
  private readonly capAtMs: number;
  /** CLEANUP="no" when IMAGE_ID is given (line 288). */
  private readonly cleanup: boolean;
  /** ELB_INSTANCES (line 363), once the load-balancer wait has started. */
  private loadBalancerWaitInstanceIds?: string[];

  constructor(
    private readonly region: SimulatedRegion,
    private readonly settings: EnvironmentSettings,
    private readonly options: BashReferenceOptions,
  ) {
    this.name = `${settings.app}-${settings.environment}`;
    this.stamp = timestamp(region.now());
    this.capAtMs = region.now() + (options.safetyCapSeconds ?? DEFAULT_SAFETY_CAP_SECONDS) * 1000;
    this.imageId = options.imageId;
    this.cleanup = options.imageId === undefined;
  }

  /** Lines 446-452, in order. */
  async deploy(): Promise<void> {
    await this.maybeBuildImages();
    const existing = await this.lookupExistingGroups();
    await this.launchUpdatedGroup();
    await this.waitOnHealth();
    await this.cleanupOutdatedGroups(existing);
    await this.cleanupDeploymentImage();
  }

  // ---- lines 245-291: maybe_build_primal_image, maybe_build_deployment_image --------------------------

  /**
   * The seed runs `packer build` twice on the operator's machine (primal, then carnivore); the model runs
   * the region's bake (same durations: base bake when needed, then the release bake) and checks it every
   * 4 s, one wait after the other like the script.
   */
  private async maybeBuildImages(): Promise<void> {
    if (this.options.imageId !== undefined) return;
    const build = this.region.codeBuild.startBuild(
      {
        APP: this.settings.app,
        ENVIRONMENT: this.settings.environment,
        RELEASE: this.options.release,
        ARTIFACT_BUCKET: "",
        ARTIFACT_KEY: "",
        ARTIFACT_VERSION_ID: "",
        BASE_IMAGE_ID: this.options.baseImageId ?? "",
        REBUILD_BASE: this.options.rebuildBase ? "true" : "false",
      },
      "bake",
    );
    await this.pollUntil("bake", "baking the image", async () => build.buildStatus !== "IN_PROGRESS");
    if (build.buildStatus !== "SUCCEEDED" || !build.exported.IMAGE_ID) {
      // `packer build ... | tee` without pipefail (lines 253-255, 274-278) hides packer's exit status: the
      // script goes on with the last log line as IMAGE_ID and fails at create-launch-configuration.
      this.defects.push(
        `a failed bake is not noticed: \`packer build | tee\` without pipefail hides packer's exit status (seed lines 274-278); the script went on with a bogus IMAGE_ID`,
      );
      throw new ScriptAborted(`bake ${build.id} ${build.buildStatus}: ${build.failureMessage ?? "no image"}; create-launch-configuration then fails on the bogus IMAGE_ID`);
    }
    this.imageId = build.exported.IMAGE_ID;
  }

  // ---- lines 294-321: lookup_existing_asg -------------------------------------------------------------

  /** Every group in the account (all pages, as the CLI fetches them) whose name starts with asg-$NAME. */
  private async lookupExistingGroups(): Promise<{ groups: ExistingGroup[]; launchTemplateVersions: number[] }> {
    const prefix = `asg-${this.name}`;
    const groups: AutoScalingGroup[] = [];
    let token: string | undefined;
    do {
      const page = await this.cli(() => autoScaling.send(new DescribeAutoScalingGroupsCommand({ NextToken: token })));
      groups.push(...(page.AutoScalingGroups ?? []));
      token = page.NextToken;
    } while (token);
    // describe-launch-configurations (line 298): launch configurations are gone from AWS, so the model
    // lists the launch template's versions instead (see launchUpdatedGroup).
    // The default version is the environment's own (made at setup), never one a deploy created.
    const versions: number[] = [];
    token = undefined;
    do {
      const page = await this.cli(() =>
        ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: this.settings.launchTemplateId, NextToken: token })),
      );
      for (const version of page.LaunchTemplateVersions ?? []) {
        if (!version.DefaultVersion && version.VersionNumber !== undefined) versions.push(version.VersionNumber);
      }
      token = page.NextToken;
    } while (token);
    return {
      groups: groups
        .filter((group) => (group.AutoScalingGroupName ?? "").startsWith(prefix))
        .map((group) => ({ name: group.AutoScalingGroupName ?? "", instanceIds: (group.Instances ?? []).map((i) => i.InstanceId ?? "") })),
      launchTemplateVersions: versions.sort((a, b) => a - b),
    };
  }

  // ---- lines 324-348: launch_updated_asg --------------------------------------------------------------

  private async launchUpdatedGroup(): Promise<void> {
    const loadBalancer = this.settings.loadBalancer;
    // describe-load-balancers to read the ELB's availability zones (lines 326-328); the target group for an ALB.
    if (loadBalancer.kind === "classic") {
      await this.cli(() => elb.send(new DescribeLoadBalancersCommand({ LoadBalancerNames: [loadBalancer.loadBalancerName] })));
    } else {
      await this.cli(() => elbv2.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [loadBalancer.targetGroupArn] })));
    }
    // create-launch-configuration (lines 330-335). AWS no longer offers launch configurations to new
    // accounts, so the model creates a launch template version with the image instead: same role, one call.
    const version = await this.cli(() =>
      ec2.send(
        new CreateLaunchTemplateVersionCommand({
          LaunchTemplateId: this.settings.launchTemplateId,
          SourceVersion: "$Default",
          VersionDescription: `lc-${this.name}-${this.stamp}`,
          LaunchTemplateData: { ImageId: this.imageId },
        }),
      ),
    );
    const groupName = `asg-${this.name}-${this.stamp}`;
    const { min, desired, max } = this.settings.capacity;
    // create-auto-scaling-group (lines 337-347): ELB health checks, 300 s grace, attached to the load balancer.
    await this.cli(() =>
      autoScaling.send(
        new CreateAutoScalingGroupCommand({
          AutoScalingGroupName: groupName,
          LaunchTemplate: { LaunchTemplateId: this.settings.launchTemplateId, Version: String(version.LaunchTemplateVersion?.VersionNumber) },
          VPCZoneIdentifier: this.settings.subnetIds.join(","),
          HealthCheckType: "ELB",
          HealthCheckGracePeriod: SEED_HEALTH_CHECK_GRACE_PERIOD_SECONDS,
          ...(loadBalancer.kind === "classic"
            ? { LoadBalancerNames: [loadBalancer.loadBalancerName] }
            : { TargetGroupARNs: [loadBalancer.targetGroupArn] }),
          MinSize: min,
          MaxSize: max,
          DesiredCapacity: desired,
          Tags: [
            { Key: "Name", Value: this.name },
            { Key: "Role", Value: "web" },
            // Not in the seed: lets the region's inventory (leftovers, live releases) see the group.
            { Key: TAG.app, Value: this.settings.app },
            { Key: TAG.environment, Value: this.settings.environment },
            { Key: TAG.release, Value: this.options.release },
          ],
        }),
      ),
    );
    this.groupName = groupName;
  }

  // ---- lines 350-377: wait_on_health ------------------------------------------------------------------

  private async waitOnHealth(): Promise<void> {
    const desired = this.settings.capacity.desired;
    const groupName = this.groupName!;
    let lastDescription: AutoScalingGroup | undefined;
    let inService = 0;
    await this.pollUntil("groupInService", "waiting for the new group's instances to be InService", async () => {
      const described = await this.cli(() => autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [groupName] })));
      lastDescription = described.AutoScalingGroups?.[0];
      inService = (lastDescription?.Instances ?? []).filter((i) => i.LifecycleState === "InService" && i.HealthStatus === "Healthy").length;
      return inService === desired;
    });
    // ELB_INSTANCES comes from the last group description and is never refreshed (line 363): an instance
    // the group replaces meanwhile is waited on forever.
    const instanceIds = (lastDescription?.Instances ?? []).map((i) => i.InstanceId ?? "");
    this.loadBalancerWaitInstanceIds = instanceIds;
    const loadBalancer = this.settings.loadBalancer;
    let healthy = 0;
    await this.pollUntil("loadBalancerHealthy", () => `waiting for the load balancer: ${healthy}/${desired} healthy`, async () => {
      if (loadBalancer.kind === "classic") {
        const described = await this.cli(() =>
          elb.send(
            new DescribeInstanceHealthCommand({ LoadBalancerName: loadBalancer.loadBalancerName, Instances: instanceIds.map((InstanceId) => ({ InstanceId })) }),
          ),
        );
        healthy = (described.InstanceStates ?? []).filter((s) => s.State === "InService").length;
      } else {
        const described = await this.cli(() =>
          elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: loadBalancer.targetGroupArn, Targets: instanceIds.map((Id) => ({ Id })) })),
        );
        healthy = (described.TargetHealthDescriptions ?? []).filter((d) => d.TargetHealth?.State === "healthy").length;
      }
      return healthy === desired;
    });
  }

  // ---- lines 379-418: cleanup_outdated_autoscaling_groups ---------------------------------------------

  private async cleanupOutdatedGroups(existing: { groups: ExistingGroup[]; launchTemplateVersions: number[] }): Promise<void> {
    const loadBalancer = this.settings.loadBalancer;
    for (const group of existing.groups) {
      // deregister-instances-from-load-balancer with the instances seen at lookup (lines 382-390).
      if (group.instanceIds.length === 0) {
        throw new ScriptAborted(`aws: error: argument --instances: expected at least one argument (old group ${group.name} has no instances)`);
      }
      if (loadBalancer.kind === "classic") {
        await this.cli(() =>
          elb.send(
            new DeregisterInstancesFromLoadBalancerCommand({
              LoadBalancerName: loadBalancer.loadBalancerName,
              Instances: group.instanceIds.map((InstanceId) => ({ InstanceId })),
            }),
          ),
        );
      } else {
        await this.cli(() =>
          elbv2.send(new DeregisterTargetsCommand({ TargetGroupArn: loadBalancer.targetGroupArn, Targets: group.instanceIds.map((Id) => ({ Id })) })),
        );
      }
      // update-auto-scaling-group --max-size 0 --min-size 0 (lines 392-395): desired follows max down.
      await this.cli(() => autoScaling.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: group.name, MaxSize: 0, MinSize: 0 })));
      let operational = 0;
      await this.pollUntil("oldInstancesGone", () => `waiting for ${group.name}'s instances to terminate (${operational} operational)`, async () => {
        const described = await this.cli(() => autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group.name] })));
        const found = described.AutoScalingGroups?.find((g) => g.AutoScalingGroupName === group.name);
        // `.shift().Instances` on a group that is gone fails inside $(...), and set -e ends the script.
        if (!found) throw new ScriptAborted(`underscore: cannot read 'Instances' of undefined (group ${group.name} is gone)`);
        operational = (found.Instances ?? []).length;
        return operational === 0;
      });
      // delete-auto-scaling-group ... || echo "delete failed. maybe it's already deleted." (lines 409-410):
      // one attempt; a refusal is ignored and the group stays behind.
      try {
        await this.cli(() => autoScaling.send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: group.name })));
      } catch (thrown) {
        if (!(thrown instanceof ScriptAborted)) throw thrown;
        this.defects.push(`left old group ${group.name} behind: its delete was refused (${thrown.message}) and the script ignores that (seed line 410)`);
      }
    }
    // delete-launch-configuration for every one found at lookup (lines 412-417), failures ignored. Versions
    // are deleted one per call like the seed's configurations; the environment's default version is not a
    // deploy's and is left alone.
    for (const versionNumber of existing.launchTemplateVersions) {
      try {
        await this.cli(() =>
          ec2.send(new DeleteLaunchTemplateVersionsCommand({ LaunchTemplateId: this.settings.launchTemplateId, Versions: [String(versionNumber)] })),
        );
      } catch (thrown) {
        if (!(thrown instanceof ScriptAborted)) throw thrown;
      }
    }
  }

  // ---- lines 422-433: cleanup_deployment_image --------------------------------------------------------

  /**
   * Deregisters IMAGE_ID and deletes its snapshot: the image the new group has just launched from. Running
   * instances keep running, but the live group can no longer launch replacements or scale out.
   */
  private async cleanupDeploymentImage(): Promise<void> {
    if (!this.cleanup || !this.imageId) return;
    const imageId = this.imageId;
    const described = await this.cli(() => ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] })));
    const snapshotId = described.Images?.[0]?.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId;
    await this.cli(() => ec2.send(new DeregisterImageCommand({ ImageId: imageId })));
    this.defects.push(
      `deregistered the live image ${imageId} (seed lines 422-433): group ${this.groupName} can no longer launch replacement or scale-out instances`,
    );
    if (!snapshotId) throw new ScriptAborted(`aws ec2 delete-snapshot --snapshot-id null: the image had no snapshot`);
    await this.cli(() => ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId })));
  }

  /**
   * What a run that did not finish (hung or aborted) left behind, as defects. Read from the region's state
   * directly: the model's bookkeeping, not calls the seed makes.
   */
  noteUnfinishedRun(): void {
    const group = this.groupName ? this.region.autoScaling.groups.get(this.groupName) : undefined;
    if (!group) return;
    const waitedOn = this.loadBalancerWaitInstanceIds ?? [];
    const replaced = waitedOn.filter((id) => !group.instances.has(id));
    if (replaced.length > 0) {
      this.defects.push(
        `the load-balancer wait polls the instance ids read once before it (seed line 363): the group replaced ${replaced.join(", ")}, which can never become healthy`,
      );
    }
    this.defects.push(`no rollback: the new group ${group.name} (${group.instances.size} instances) was left running beside the old group(s)`);
  }

  // ---- the shell around the commands ------------------------------------------------------------------

  /**
   * Sleeps 4 s, then checks; again and again until `done` (the seed's `while` loops nap before each
   * describe). Stops at the safety cap.
   */
  private async pollUntil(wait: BashReferenceWait, describe: string | (() => string), done: () => Promise<boolean>): Promise<void> {
    const startMs = this.region.now();
    try {
      for (;;) {
        if (this.region.now() + SEED_POLL_SECONDS * 1000 > this.capAtMs) {
          throw new SafetyCapReached(typeof describe === "string" ? describe : describe());
        }
        await this.region.scheduler.sleep(SEED_POLL_SECONDS);
        this.pollsByWait[wait] += 1;
        if (await done()) return;
      }
    } finally {
      this.waitSeconds[wait] += (this.region.now() - startMs) / 1000;
    }
  }

  /**
   * One `aws ...` command: the CLI retries throttling and 5xx errors itself (in virtual time); any other
   * failure, or one that outlasts the retries, is the command failing (`ScriptAborted`, `set -e`).
   */
  private async cli<T>(send: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await send();
      } catch (thrown) {
        if (isTransientAwsError(thrown) && attempt < CLI_MAX_ATTEMPTS) {
          await this.region.scheduler.sleep(0.5 * 2 ** (attempt - 1));
          continue;
        }
        const code = awsErrorCode(thrown) ?? "Error";
        throw new ScriptAborted(`${code}: ${thrown instanceof Error ? thrown.message : String(thrown)}`);
      }
    }
  }
}
