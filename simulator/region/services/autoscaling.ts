import type {
  Activity,
  AttachLoadBalancersCommandInput,
  AttachLoadBalancersCommandOutput,
  AttachLoadBalancerTargetGroupsCommandInput,
  AttachLoadBalancerTargetGroupsCommandOutput,
  AutoScalingGroup,
  CreateAutoScalingGroupCommandInput,
  CreateAutoScalingGroupCommandOutput,
  DeleteAutoScalingGroupCommandInput,
  DeleteAutoScalingGroupCommandOutput,
  DescribeAutoScalingGroupsCommandInput,
  DescribeAutoScalingGroupsCommandOutput,
  DescribeLoadBalancersCommandInput,
  DescribeLoadBalancersCommandOutput,
  DescribeLoadBalancerTargetGroupsCommandInput,
  DescribeLoadBalancerTargetGroupsCommandOutput,
  DescribeScalingActivitiesCommandInput,
  DescribeScalingActivitiesCommandOutput,
  DescribeTrafficSourcesCommandInput,
  DescribeTrafficSourcesCommandOutput,
  DetachLoadBalancersCommandInput,
  DetachLoadBalancersCommandOutput,
  DetachLoadBalancerTargetGroupsCommandInput,
  DetachLoadBalancerTargetGroupsCommandOutput,
  Filter,
  ResumeProcessesCommandInput,
  ResumeProcessesCommandOutput,
  SuspendProcessesCommandInput,
  SuspendProcessesCommandOutput,
  UpdateAutoScalingGroupCommandInput,
  UpdateAutoScalingGroupCommandOutput,
} from "@aws-sdk/client-auto-scaling";
import { DEFAULTS } from "../../../functions/lib/names.js";
import type { ScheduledEvent } from "../clock.js";
import { type CallContext, type OperationHandlers, type Output, type RegionContext, decodeToken, encodeToken, isHidden } from "../context.js";
import { awsError } from "../errors.js";
import { REGION_DELAYS } from "../timing.js";
import type { Ec2Service, SimInstance, SimLaunchTemplate } from "./ec2.js";
import type { HealthCheckedPool, Registration } from "./health.js";
import type { LoadBalancingService } from "./loadbalancing.js";

export type GroupLifecycleState = "Pending" | "InService" | "Terminating" | "Terminating:Wait" | "Terminating:Proceed";

export interface GroupInstance {
  instanceId: string;
  lifecycleState: GroupLifecycleState;
  healthStatus: "Healthy" | "Unhealthy";
  /** Resolved launch template version number the instance was launched from. */
  launchTemplateVersion: string;
  launchedAtMs: number;
  inServiceAtMs?: number;
  activity: SimActivity;
  graceTimer?: ScheduledEvent;
  hookTimer?: ScheduledEvent;
  /** True when ForceDelete skips draining and hooks. */
  forced?: boolean;
  /** The instance stopped behind the group's back; the next EC2 health check will replace it. */
  ec2CheckPending?: boolean;
}

export interface SimActivity {
  activityId: string;
  groupName: string;
  description: string;
  cause: string;
  startMs: number;
  endMs?: number;
  statusCode: "InProgress" | "Successful" | "Failed" | "Cancelled";
  statusMessage?: string;
}

export interface GroupTag {
  Key: string;
  Value: string;
  PropagateAtLaunch: boolean;
}

export interface SimGroup {
  name: string;
  arn: string;
  min: number;
  max: number;
  desired: number;
  launchTemplate: { launchTemplateId: string; launchTemplateName: string; version: string };
  targetGroupArns: string[];
  loadBalancerNames: string[];
  /**
   * Detached target groups / classic load balancers still deregistering the group's instances: `Removing` until
   * the last one left (draining included), and listed by the describes meanwhile (Auto Scaling API reference,
   * DetachLoadBalancerTargetGroups: "it enters the Removing state while deregistering the instances").
   */
  removing: { targetGroupArns: string[]; loadBalancerNames: string[] };
  healthCheckType: "EC2" | "ELB";
  healthCheckGracePeriod: number;
  subnetIds: string[];
  tags: GroupTag[];
  createdAtMs: number;
  /** `Delete in progress`. */
  deleting: boolean;
  instances: Map<string, GroupInstance>;
  activities: SimActivity[];
  suspendedProcesses: Set<string>;
  launchRetry?: ScheduledEvent;
  subnetCursor: number;
}

/** DescribeAutoScalingGroups: 50 names per call unless MaxRecords allows more; at most 100 records a page. */
const DEFAULT_MAX_RECORDS = 50;
const MAX_RECORDS_LIMIT = 100;

function validationError(message: string): Error {
  return awsError("AutoScaling", "ValidationError", message);
}

function groupNotFound(name: string): Error {
  return validationError(`AutoScalingGroup name not found - AutoScalingGroup '${name}' not found`);
}

export class AutoScalingService {
  readonly groups = new Map<string, SimGroup>();

  constructor(
    private readonly ctx: RegionContext,
    private readonly ec2: Ec2Service,
    private readonly loadBalancing: LoadBalancingService,
  ) {
    ec2.onInstanceChange((instance) => this.instanceChanged(instance));
    loadBalancing.onRegistrationChange((pool, instanceId, registration) => this.registrationChanged(pool, instanceId, registration));
  }

  handlers(): OperationHandlers {
    return {
      CreateAutoScalingGroup: (input: CreateAutoScalingGroupCommandInput) => this.createGroup(input),
      DescribeAutoScalingGroups: (input: DescribeAutoScalingGroupsCommandInput, call: CallContext) => this.describeGroups(input, call),
      UpdateAutoScalingGroup: (input: UpdateAutoScalingGroupCommandInput) => this.updateGroup(input),
      DeleteAutoScalingGroup: (input: DeleteAutoScalingGroupCommandInput) => this.deleteGroup(input),
      AttachLoadBalancerTargetGroups: (input: AttachLoadBalancerTargetGroupsCommandInput) => this.attachTargetGroups(input),
      DetachLoadBalancerTargetGroups: (input: DetachLoadBalancerTargetGroupsCommandInput) => this.detachTargetGroups(input),
      AttachLoadBalancers: (input: AttachLoadBalancersCommandInput) => this.attachLoadBalancers(input),
      DetachLoadBalancers: (input: DetachLoadBalancersCommandInput) => this.detachLoadBalancers(input),
      DescribeScalingActivities: (input: DescribeScalingActivitiesCommandInput) => this.describeScalingActivities(input),
      DescribeLoadBalancerTargetGroups: (input: DescribeLoadBalancerTargetGroupsCommandInput) => this.describeLoadBalancerTargetGroups(input),
      DescribeLoadBalancers: (input: DescribeLoadBalancersCommandInput) => this.describeLoadBalancers(input),
      DescribeTrafficSources: (input: DescribeTrafficSourcesCommandInput) => this.describeTrafficSources(input),
      SuspendProcesses: (input: SuspendProcessesCommandInput) => this.suspendProcesses(input),
      ResumeProcesses: (input: ResumeProcessesCommandInput) => this.resumeProcesses(input),
    };
  }

  requireGroup(name: string | undefined): SimGroup {
    const group = this.groups.get(name ?? "");
    if (!group) throw groupNotFound(name ?? "");
    return group;
  }

  /** Sets desired capacity as a scaling policy would (scenario `scaleLiveGroup`), bypassing the API. */
  scaleGroup(name: string, desired: number): void {
    const group = this.requireGroup(name);
    group.desired = desired;
    group.max = Math.max(group.max, desired);
    group.min = Math.min(group.min, desired);
    this.reconcile(group, "a user request explicitly set group desired capacity changing the desired capacity");
  }

  // ---- the group's engine ---------------------------------------------------------------------------

  private activeInstances(group: SimGroup): GroupInstance[] {
    return [...group.instances.values()].filter((gi) => gi.lifecycleState === "Pending" || gi.lifecycleState === "InService");
  }

  private startActivity(group: SimGroup, description: string, cause: string): SimActivity {
    const activity: SimActivity = {
      activityId: `${this.ctx.ids.count("activity").toString(16).padStart(8, "0")}-0000-4000-8000-000000000000`,
      groupName: group.name,
      description,
      cause: `At ${new Date(this.ctx.clock.now()).toISOString()} ${cause}.`,
      startMs: this.ctx.clock.now(),
      statusCode: "InProgress",
    };
    group.activities.unshift(activity);
    return activity;
  }

  private endActivity(activity: SimActivity, statusCode: SimActivity["statusCode"], statusMessage?: string): void {
    if (activity.statusCode !== "InProgress") return;
    activity.statusCode = statusCode;
    activity.statusMessage = statusMessage;
    activity.endMs = this.ctx.clock.now();
  }

  /** Launches or terminates instances until the active count equals desired capacity. */
  private reconcile(group: SimGroup, cause: string): void {
    if (group.deleting) return;
    const active = this.activeInstances(group);
    if (active.length < group.desired && !group.suspendedProcesses.has("Launch") && !group.launchRetry) {
      for (let i = active.length; i < group.desired; i++) {
        if (!this.launchOne(group, cause)) break;
      }
    } else if (active.length > group.desired && !group.suspendedProcesses.has("Terminate")) {
      // Default termination policy, simplified: oldest launch template version first, then oldest instance.
      const victims = [...active]
        .sort((a, b) => Number(a.launchTemplateVersion) - Number(b.launchTemplateVersion) || a.launchedAtMs - b.launchedAtMs)
        .slice(0, active.length - group.desired);
      for (const victim of victims) {
        this.beginTermination(group, victim, `an instance was taken out of service in response to a difference between desired and actual capacity, shrinking the capacity from ${active.length} to ${group.desired}`);
      }
    }
  }

  /** One RunInstances; false when the launch failed (a retry is scheduled). */
  private launchOne(group: SimGroup, cause: string): boolean {
    const failLaunch = (message: string) => {
      const activity = this.startActivity(group, "Launching a new EC2 instance.  Status Reason: " + message, cause);
      this.endActivity(activity, "Failed", `${message} Launching EC2 instance failed.`);
      this.scheduleLaunchRetry(group);
      return false;
    };
    const template = this.ec2.launchTemplates.get(group.launchTemplate.launchTemplateId);
    if (!template) return failLaunch(`The specified launch template, with template ID ${group.launchTemplate.launchTemplateId}, does not exist.`);
    const versionNumber = this.ec2.resolveVersion(template, group.launchTemplate.version);
    if (versionNumber === undefined) {
      return failLaunch(`The specified launch template version ${group.launchTemplate.version} of ${template.launchTemplateId} does not exist.`);
    }
    const data = template.versions.get(versionNumber)!.data;
    const imageId = data.ImageId ?? "";
    const image = this.ec2.images.get(imageId);
    if (!image || image.state !== "available") return failLaunch(`The image id '[${imageId}]' does not exist.`);
    const subnetId = group.subnetIds[group.subnetCursor++ % group.subnetIds.length];
    const instanceType = data.InstanceType ?? DEFAULTS.instanceType;
    const zone = this.ec2.availabilityZoneOf(subnetId);
    if (!this.ctx.faults.takeLaunchCapacity(instanceType, zone)) {
      // The text EC2 gives for InsufficientInstanceCapacity (RunInstances), which Auto Scaling shows as the
      // failed activity's status reason; it tries the group's next subnet on its next attempt.
      const others = [...new Set(group.subnetIds.map((id) => this.ec2.availabilityZoneOf(id)))].filter((other) => other !== zone);
      return failLaunch(
        `We currently do not have sufficient ${instanceType} capacity in the Availability Zone you requested (${zone}). ` +
          `Our system will be working on provisioning additional capacity. You can currently get ${instanceType} capacity by not specifying an Availability Zone in your request` +
          `${others.length > 0 ? ` or choosing ${others.join(", ")}` : ""}.`,
      );
    }
    const instance = this.ec2.launchInstance({
      imageId,
      subnetId,
      launchTemplate: { launchTemplateId: template.launchTemplateId, version: String(versionNumber) },
      tags: [
        { Key: "aws:autoscaling:groupName", Value: group.name },
        ...group.tags.filter((tag) => tag.PropagateAtLaunch).map((tag) => ({ Key: tag.Key, Value: tag.Value })),
      ],
    });
    const activity = this.startActivity(group, `Launching a new EC2 instance: ${instance.instanceId}`, cause);
    group.instances.set(instance.instanceId, {
      instanceId: instance.instanceId,
      lifecycleState: "Pending",
      healthStatus: "Healthy",
      launchTemplateVersion: String(versionNumber),
      launchedAtMs: this.ctx.clock.now(),
      activity,
    });
    return true;
  }

  private scheduleLaunchRetry(group: SimGroup): void {
    if (group.launchRetry) return;
    group.launchRetry = this.ctx.scheduler.after(
      REGION_DELAYS.launchRetrySeconds,
      () => {
        group.launchRetry = undefined;
        if (this.groups.get(group.name) === group) this.reconcile(group, "an instance was started in response to a difference between desired and actual capacity");
      },
      `launch retry ${group.name}`,
    );
  }

  /** The load balancers the group is attached to (not those it is being removed from). */
  private poolsOfGroup(group: SimGroup): HealthCheckedPool[] {
    const pools: HealthCheckedPool[] = [];
    for (const arn of group.targetGroupArns) {
      const targetGroup = this.loadBalancing.targetGroups.get(arn);
      if (targetGroup) pools.push(targetGroup.pool);
    }
    for (const name of group.loadBalancerNames) {
      const lb = this.loadBalancing.classicLoadBalancers.get(name);
      if (lb) pools.push(lb.pool);
    }
    return pools;
  }

  private groupOf(instanceId: string): { group: SimGroup; gi: GroupInstance } | undefined {
    for (const group of this.groups.values()) {
      const gi = group.instances.get(instanceId);
      if (gi) return { group, gi };
    }
    return undefined;
  }

  private instanceChanged(instance: SimInstance): void {
    const found = this.groupOf(instance.instanceId);
    if (!found) return;
    const { group, gi } = found;
    if (instance.state === "running" && gi.lifecycleState === "Pending") {
      // Registered with the load balancers as the instance enters InService.
      gi.lifecycleState = "InService";
      gi.inServiceAtMs = this.ctx.clock.now();
      for (const pool of this.poolsOfGroup(group)) pool.register(instance.instanceId);
      this.endActivity(gi.activity, "Successful");
      if (group.healthCheckType === "ELB") {
        gi.graceTimer = this.ctx.scheduler.after(group.healthCheckGracePeriod, () => this.checkLoadBalancerHealth(group, gi), `grace ${gi.instanceId}`);
      }
      return;
    }
    if (instance.state === "shutting-down" || instance.state === "terminated") {
      if (gi.lifecycleState === "Pending") {
        // Boot failure: the launch failed; Auto Scaling retries after a pause.
        group.instances.delete(gi.instanceId);
        this.endActivity(gi.activity, "Failed", instance.stateReason?.Message ?? "Instance failed to launch");
        this.scheduleLaunchRetry(group);
        this.afterInstanceRemoved(group);
        return;
      }
      if (gi.lifecycleState === "InService" && !gi.ec2CheckPending) {
        // Terminated behind the group's back: the group's next EC2 health check marks it Unhealthy and
        // replaces it; until then the load balancer may still route to it.
        gi.ec2CheckPending = true;
        this.ctx.scheduler.after(REGION_DELAYS.autoScalingHealthCheckSeconds, () => {
          if (gi.lifecycleState !== "InService" || this.groups.get(group.name) !== group) return;
          gi.healthStatus = "Unhealthy";
          this.beginTermination(group, gi, "an instance was taken out of service in response to an EC2 health check indicating it has been terminated or stopped");
          this.reconcile(group, "an instance was started in response to a difference between desired and actual capacity");
        }, `EC2 health check ${gi.instanceId}`);
        return;
      }
      if (instance.state === "terminated" && gi.lifecycleState === "Terminating:Proceed") this.removeTerminated(group, gi);
    }
  }

  private removeTerminated(group: SimGroup, gi: GroupInstance): void {
    group.instances.delete(gi.instanceId);
    gi.graceTimer?.cancel();
    gi.hookTimer?.cancel();
    this.endActivity(gi.activity, "Successful");
    this.afterInstanceRemoved(group);
  }

  private afterInstanceRemoved(group: SimGroup): void {
    if (!group.deleting) this.reconcile(group, "an instance was started in response to a difference between desired and actual capacity");
  }

  private registrationChanged(pool: HealthCheckedPool, instanceId: string, registration: Registration | undefined): void {
    if (!registration) for (const group of this.groups.values()) this.finishRemovals(group);
    const found = this.groupOf(instanceId);
    if (!found) return;
    const { group, gi } = found;
    if (registration?.state === "unhealthy" && gi.lifecycleState === "InService") this.checkLoadBalancerHealth(group, gi);
    if (!registration && gi.lifecycleState === "Terminating") this.continueTermination(group, gi);
  }

  /** ELB health check type: unhealthy at any of the group's load balancers after the grace period -> replace. */
  private checkLoadBalancerHealth(group: SimGroup, gi: GroupInstance): void {
    if (group.healthCheckType !== "ELB" || gi.lifecycleState !== "InService" || gi.inServiceAtMs === undefined) return;
    if (this.ctx.clock.now() < gi.inServiceAtMs + group.healthCheckGracePeriod * 1000) return;
    if (group.suspendedProcesses.has("HealthCheck")) return;
    const unhealthy = this.poolsOfGroup(group).some((pool) => pool.registrations.get(gi.instanceId)?.state === "unhealthy");
    if (!unhealthy) return;
    gi.healthStatus = "Unhealthy";
    if (group.suspendedProcesses.has("ReplaceUnhealthy")) return;
    this.beginTermination(group, gi, "an instance was taken out of service in response to an ELB system health check failure");
    this.reconcile(group, "an instance was started in response to a difference between desired and actual capacity");
  }

  /** Terminating: deregister (draining), wait for the drain, the lifecycle hook if any, then terminate. */
  private beginTermination(group: SimGroup, gi: GroupInstance, cause: string, forced = false): void {
    gi.graceTimer?.cancel();
    gi.lifecycleState = "Terminating";
    gi.forced = forced;
    this.endActivity(gi.activity, "Cancelled");
    gi.activity = this.startActivity(group, `Terminating EC2 instance: ${gi.instanceId}`, cause);
    for (const pool of this.poolsOfGroup(group)) pool.deregister(gi.instanceId);
    this.continueTermination(group, gi);
  }

  private continueTermination(group: SimGroup, gi: GroupInstance): void {
    if (gi.lifecycleState !== "Terminating") return;
    const stillDraining = this.poolsOfGroup(group).some((pool) => pool.registrations.has(gi.instanceId));
    if (stillDraining && !gi.forced) return;
    const hookSeconds = gi.forced ? 0 : this.ctx.faults.lifecycleHookSeconds;
    const proceed = () => {
      gi.lifecycleState = "Terminating:Proceed";
      const instance = this.ec2.instances.get(gi.instanceId);
      // Already terminated behind the group's back: the group forgets it now.
      if (!instance || instance.state === "terminated") return this.removeTerminated(group, gi);
      this.ec2.terminateInstance(gi.instanceId, "Client.UserInitiatedShutdown: User initiated shutdown");
    };
    if (hookSeconds > 0) {
      gi.lifecycleState = "Terminating:Wait";
      gi.hookTimer = this.ctx.scheduler.after(hookSeconds, proceed, `lifecycle hook ${gi.instanceId}`);
    } else {
      proceed();
    }
  }

  // ---- API ------------------------------------------------------------------------------------------

  private validateCapacity(min: number, desired: number, max: number): void {
    if (min > max) throw validationError(`Max bound, ${max}, must be greater than or equal to min bound, ${min}`);
    if (desired < min || desired > max) {
      throw validationError(`Desired capacity:${desired} must be between the specified min size:${min} and max size:${max}`);
    }
  }

  /**
   * Auto Scaling sees launch-template versions late: a version created moments ago is refused as if it did not
   * exist, with the ValidationError Terraform's AWS provider retries for the same reason (timing.ts).
   */
  private requireUsableVersion(template: SimLaunchTemplate, version: string): void {
    const number = this.ec2.resolveVersion(template, version);
    if (number === undefined || this.ctx.clock.now() < this.ec2.versionUsableByAutoScalingAtMs(template, number)) {
      throw validationError(`You must use a valid fully-formed launch template. The specified launch template version ${version} of ${template.launchTemplateId} does not exist.`);
    }
  }

  private validateTargets(targetGroupArns: string[], loadBalancerNames: string[]): void {
    if (targetGroupArns.some((arn) => !this.loadBalancing.targetGroups.has(arn))) {
      throw validationError("Provided Target Groups may not be valid. Please ensure they exist and try again.");
    }
    if (loadBalancerNames.some((name) => !this.loadBalancing.classicLoadBalancers.has(name))) {
      throw validationError("Provided Load Balancers may not be valid. Please ensure they exist and try again.");
    }
  }

  private createGroup(input: CreateAutoScalingGroupCommandInput): Output<CreateAutoScalingGroupCommandOutput> {
    const name = input.AutoScalingGroupName ?? "";
    if (this.groups.has(name)) throw awsError("AutoScaling", "AlreadyExists", `AutoScalingGroup by this name already exists - A group with the name ${name} already exists`);
    const spec = input.LaunchTemplate;
    if (!spec || (!spec.LaunchTemplateId && !spec.LaunchTemplateName)) {
      throw validationError("Valid requests must contain either LaunchTemplate, LaunchConfigurationName, InstanceId or MixedInstancesPolicy parameter.");
    }
    const template = this.ec2.findLaunchTemplate(spec.LaunchTemplateId, spec.LaunchTemplateName);
    if (!template) {
      throw validationError(`You must use a valid fully-formed launch template. The specified launch template, with template ID ${spec.LaunchTemplateId ?? spec.LaunchTemplateName}, does not exist.`);
    }
    const version = spec.Version ?? "$Default";
    this.requireUsableVersion(template, version);
    const min = input.MinSize ?? 0;
    const max = input.MaxSize ?? 0;
    const desired = input.DesiredCapacity ?? min;
    this.validateCapacity(min, desired, max);
    const subnetIds = (input.VPCZoneIdentifier ?? "").split(",").map((s) => s.trim()).filter(Boolean);
    if (subnetIds.length === 0) throw validationError("At least one Availability Zone or VPC Subnet is required.");
    const targetGroupArns = [...(input.TargetGroupARNs ?? []), ...(input.TrafficSources ?? []).filter((t) => t.Type !== "elb").map((t) => t.Identifier ?? "")];
    const loadBalancerNames = [...(input.LoadBalancerNames ?? []), ...(input.TrafficSources ?? []).filter((t) => t.Type === "elb").map((t) => t.Identifier ?? "")];
    this.validateTargets(targetGroupArns, loadBalancerNames);
    const group: SimGroup = {
      name,
      arn: `arn:aws:autoscaling:${this.ctx.regionName}:${this.ctx.account}:autoScalingGroup:${this.ctx.ids.next("uuid", 8).slice(5)}-0000-4000-8000-000000000000:autoScalingGroupName/${name}`,
      min,
      max,
      desired,
      launchTemplate: { launchTemplateId: template.launchTemplateId, launchTemplateName: template.name, version },
      targetGroupArns,
      loadBalancerNames,
      removing: { targetGroupArns: [], loadBalancerNames: [] },
      healthCheckType: input.HealthCheckType === "ELB" ? "ELB" : "EC2",
      healthCheckGracePeriod: input.HealthCheckGracePeriod ?? (input.HealthCheckType === "ELB" ? DEFAULTS.healthCheckGracePeriodSeconds : 0),
      subnetIds,
      tags: (input.Tags ?? []).map((tag) => ({ Key: tag.Key ?? "", Value: tag.Value ?? "", PropagateAtLaunch: tag.PropagateAtLaunch ?? false })),
      createdAtMs: this.ctx.clock.now(),
      deleting: false,
      instances: new Map(),
      activities: [],
      suspendedProcesses: new Set(),
      subnetCursor: 0,
    };
    this.groups.set(name, group);
    this.reconcile(group, `a user request created an AutoScalingGroup changing the desired capacity from 0 to ${desired}`);
    return {};
  }

  private toGroup(group: SimGroup): AutoScalingGroup {
    return {
      AutoScalingGroupName: group.name,
      AutoScalingGroupARN: group.arn,
      LaunchTemplate: {
        LaunchTemplateId: group.launchTemplate.launchTemplateId,
        LaunchTemplateName: group.launchTemplate.launchTemplateName,
        Version: group.launchTemplate.version,
      },
      MinSize: group.min,
      MaxSize: group.max,
      DesiredCapacity: group.desired,
      DefaultCooldown: 300,
      AvailabilityZones: [...new Set(group.subnetIds.map((id) => this.ec2.availabilityZoneOf(id)))],
      LoadBalancerNames: [...group.loadBalancerNames, ...group.removing.loadBalancerNames],
      TargetGroupARNs: [...group.targetGroupArns, ...group.removing.targetGroupArns],
      HealthCheckType: group.healthCheckType,
      HealthCheckGracePeriod: group.healthCheckGracePeriod,
      Instances: [...group.instances.values()].map((gi) => {
        const instance = this.ec2.instances.get(gi.instanceId);
        return {
          InstanceId: gi.instanceId,
          InstanceType: DEFAULTS.instanceType,
          AvailabilityZone: instance?.availabilityZone,
          LifecycleState: gi.lifecycleState,
          HealthStatus: gi.healthStatus,
          LaunchTemplate: {
            LaunchTemplateId: group.launchTemplate.launchTemplateId,
            LaunchTemplateName: group.launchTemplate.launchTemplateName,
            Version: gi.launchTemplateVersion,
          },
          ProtectedFromScaleIn: false,
        };
      }),
      CreatedTime: new Date(group.createdAtMs),
      SuspendedProcesses: [...group.suspendedProcesses].map((name) => ({ ProcessName: name, SuspensionReason: "User suspended at " + new Date(group.createdAtMs).toISOString() })),
      VPCZoneIdentifier: group.subnetIds.join(","),
      EnabledMetrics: [],
      Status: group.deleting ? "Delete in progress" : undefined,
      Tags: group.tags.map((tag) => ({ ResourceId: group.name, ResourceType: "auto-scaling-group", ...tag })),
      TerminationPolicies: ["Default"],
      NewInstancesProtectedFromScaleIn: false,
      ServiceLinkedRoleARN: `arn:aws:iam::${this.ctx.account}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`,
      TrafficSources: [
        ...[...group.targetGroupArns, ...group.removing.targetGroupArns].map((arn) => ({ Identifier: arn, Type: "elbv2" })),
        ...[...group.loadBalancerNames, ...group.removing.loadBalancerNames].map((name) => ({ Identifier: name, Type: "elb" })),
      ],
    };
  }

  private static matchesFilters(group: SimGroup, filters: Filter[] | undefined): boolean {
    for (const filter of filters ?? []) {
      const name = filter.Name ?? "";
      const values = filter.Values ?? [];
      if (name.startsWith("tag:")) {
        const key = name.slice(4);
        if (!group.tags.some((tag) => tag.Key === key && values.includes(tag.Value))) return false;
      } else if (name === "tag-key") {
        if (!group.tags.some((tag) => values.includes(tag.Key))) return false;
      } else if (name === "tag-value") {
        if (!group.tags.some((tag) => values.includes(tag.Value))) return false;
      } else {
        throw validationError(`Filter name '${name}' is not valid`);
      }
    }
    return true;
  }

  /** A new group shows in DescribeAutoScalingGroups only after a while (eventual consistency; writes see it at once). */
  private isVisible(group: SimGroup): boolean {
    return this.ctx.clock.now() >= group.createdAtMs + this.ctx.consistency.delayMs("groupVisibleSeconds", group.name);
  }

  private describeGroups(input: DescribeAutoScalingGroupsCommandInput, call: CallContext): Output<DescribeAutoScalingGroupsCommandOutput> {
    const maxRecords = input.MaxRecords ?? DEFAULT_MAX_RECORDS;
    if (maxRecords < 1 || maxRecords > MAX_RECORDS_LIMIT) {
      throw validationError(`1 validation error detected: Value '${maxRecords}' at 'maxRecords' failed to satisfy constraint: Member must have value less than or equal to ${MAX_RECORDS_LIMIT}`);
    }
    const names = input.AutoScalingGroupNames;
    // "By default, you can only specify up to 50 names. You can optionally increase this limit using MaxRecords."
    if (names && names.length > Math.max(DEFAULT_MAX_RECORDS, maxRecords)) {
      throw validationError(`The number of AutoScalingGroupNames (${names.length}) exceeds the limit of ${Math.max(DEFAULT_MAX_RECORDS, maxRecords)}.`);
    }
    const offset = decodeToken(input.NextToken);
    if (offset === undefined) throw awsError("AutoScaling", "InvalidNextToken", "The token is invalid.");
    const groups = [...this.groups.values()]
      .filter((group) => !names || names.includes(group.name))
      .filter((group) => !isHidden(group.createdAtMs, call) && this.isVisible(group))
      .filter((group) => AutoScalingService.matchesFilters(group, input.Filters))
      .sort((a, b) => a.name.localeCompare(b.name));
    const pageOfGroups = groups.slice(offset, offset + maxRecords);
    const end = offset + maxRecords;
    return { AutoScalingGroups: pageOfGroups.map((group) => this.toGroup(group)), NextToken: end < groups.length ? encodeToken(end) : undefined };
  }

  private updateGroup(input: UpdateAutoScalingGroupCommandInput): Output<UpdateAutoScalingGroupCommandOutput> {
    const group = this.requireGroup(input.AutoScalingGroupName);
    if (group.deleting) throw awsError("AutoScaling", "ScalingActivityInProgress", `AutoScalingGroup ${group.name} is pending delete.`);
    const min = input.MinSize ?? group.min;
    const max = input.MaxSize ?? group.max;
    // Without an explicit desired capacity, AWS moves it into the new [min, max] range.
    const desired = input.DesiredCapacity ?? Math.min(Math.max(group.desired, min), max);
    this.validateCapacity(min, desired, max);
    if (input.LaunchTemplate) {
      const template = this.ec2.findLaunchTemplate(input.LaunchTemplate.LaunchTemplateId, input.LaunchTemplate.LaunchTemplateName);
      const version = input.LaunchTemplate.Version ?? "$Default";
      if (!template) throw validationError("You must use a valid fully-formed launch template.");
      this.requireUsableVersion(template, version);
      group.launchTemplate = { launchTemplateId: template.launchTemplateId, launchTemplateName: template.name, version };
    }
    if (input.HealthCheckType) group.healthCheckType = input.HealthCheckType === "ELB" ? "ELB" : "EC2";
    if (input.HealthCheckGracePeriod !== undefined) group.healthCheckGracePeriod = input.HealthCheckGracePeriod;
    const from = group.desired;
    group.min = min;
    group.max = max;
    group.desired = desired;
    this.reconcile(group, `a user request update of AutoScalingGroup constraints to min: ${min}, max: ${max}, desired: ${desired} changing the desired capacity from ${from} to ${desired}`);
    return {};
  }

  private deleteGroup(input: DeleteAutoScalingGroupCommandInput): Output<DeleteAutoScalingGroupCommandOutput> {
    const group = this.requireGroup(input.AutoScalingGroupName);
    if (group.deleting) return {};
    if (input.ForceDelete) {
      group.deleting = true;
      group.launchRetry?.cancel();
      for (const gi of group.instances.values()) {
        if (gi.lifecycleState === "Pending" || gi.lifecycleState === "InService") {
          this.beginTermination(group, gi, "a user request deleted the AutoScalingGroup (ForceDelete)", true);
        } else {
          gi.forced = true;
          gi.hookTimer?.cancel();
          this.continueTermination(group, gi);
        }
      }
      // ForceDelete does not wait for the instances to be terminated.
      this.ctx.scheduler.after(REGION_DELAYS.groupDeleteSeconds, () => this.forget(group), `delete group ${group.name}`);
      return {};
    }
    if (group.activities.some((activity) => activity.statusCode === "InProgress")) {
      throw awsError("AutoScaling", "ScalingActivityInProgress", "You cannot delete an AutoScalingGroup while there are scaling activities in progress.");
    }
    if (group.instances.size > 0) {
      throw awsError("AutoScaling", "ResourceInUse", "You cannot delete an AutoScalingGroup while there are instances still in the group.");
    }
    group.deleting = true;
    group.launchRetry?.cancel();
    this.ctx.scheduler.after(REGION_DELAYS.groupDeleteSeconds, () => this.forget(group), `delete group ${group.name}`);
    return {};
  }

  private forget(group: SimGroup): void {
    if (this.groups.get(group.name) === group) this.groups.delete(group.name);
  }

  private attach(group: SimGroup, targetGroupArns: string[], loadBalancerNames: string[]): void {
    this.validateTargets(targetGroupArns, loadBalancerNames);
    for (const arn of targetGroupArns) if (!group.targetGroupArns.includes(arn)) group.targetGroupArns.push(arn);
    for (const name of loadBalancerNames) if (!group.loadBalancerNames.includes(name)) group.loadBalancerNames.push(name);
    // Attaching again while `Removing` takes the load balancer back.
    group.removing.targetGroupArns = group.removing.targetGroupArns.filter((arn) => !targetGroupArns.includes(arn));
    group.removing.loadBalancerNames = group.removing.loadBalancerNames.filter((name) => !loadBalancerNames.includes(name));
    const inService = [...group.instances.values()].filter((gi) => gi.lifecycleState === "InService");
    for (const pool of this.poolsOfGroup(group)) for (const gi of inService) pool.register(gi.instanceId);
  }

  /**
   * Detaching deregisters the group's instances: they start draining and get no new requests. The load
   * balancer stays listed as `Removing` until every instance has left it (finishRemovals).
   */
  private detach(group: SimGroup, targetGroupArns: string[], loadBalancerNames: string[]): void {
    const pools: HealthCheckedPool[] = [];
    for (const arn of targetGroupArns) {
      if (!group.targetGroupArns.includes(arn)) continue;
      group.targetGroupArns = group.targetGroupArns.filter((existing) => existing !== arn);
      group.removing.targetGroupArns.push(arn);
      const targetGroup = this.loadBalancing.targetGroups.get(arn);
      if (targetGroup) pools.push(targetGroup.pool);
    }
    for (const name of loadBalancerNames) {
      if (!group.loadBalancerNames.includes(name)) continue;
      group.loadBalancerNames = group.loadBalancerNames.filter((existing) => existing !== name);
      group.removing.loadBalancerNames.push(name);
      const lb = this.loadBalancing.classicLoadBalancers.get(name);
      if (lb) pools.push(lb.pool);
    }
    for (const pool of pools) for (const gi of group.instances.values()) pool.deregister(gi.instanceId);
    // Terminating instances no longer wait for a load balancer the group has left.
    for (const gi of [...group.instances.values()]) this.continueTermination(group, gi);
    this.finishRemovals(group);
  }

  /** A `Removing` load balancer is gone from the group once none of the group's instances is registered with it. */
  private finishRemovals(group: SimGroup): void {
    const stillRegistered = (pool: HealthCheckedPool | undefined) =>
      pool !== undefined && [...group.instances.keys()].some((id) => pool.registrations.has(id));
    group.removing.targetGroupArns = group.removing.targetGroupArns.filter((arn) => stillRegistered(this.loadBalancing.targetGroups.get(arn)?.pool));
    group.removing.loadBalancerNames = group.removing.loadBalancerNames.filter((name) =>
      stillRegistered(this.loadBalancing.classicLoadBalancers.get(name)?.pool),
    );
  }

  /** The group's load balancers as DescribeTrafficSources and friends report them: `InService`, `Added` or `Removing`. */
  private attachmentStates(group: SimGroup): Array<{ identifier: string; type: "elbv2" | "elb"; state: string }> {
    const attachedState = (pool: HealthCheckedPool | undefined) => {
      if (group.healthCheckType !== "ELB") return "Added";
      const passed = pool && [...group.instances.keys()].some((id) => pool.registrations.get(id)?.state === "healthy");
      return passed ? "InService" : "Added";
    };
    return [
      ...group.targetGroupArns.map((arn) => ({ identifier: arn, type: "elbv2" as const, state: attachedState(this.loadBalancing.targetGroups.get(arn)?.pool) })),
      ...group.loadBalancerNames.map((name) => ({ identifier: name, type: "elb" as const, state: attachedState(this.loadBalancing.classicLoadBalancers.get(name)?.pool) })),
      ...group.removing.targetGroupArns.map((arn) => ({ identifier: arn, type: "elbv2" as const, state: "Removing" })),
      ...group.removing.loadBalancerNames.map((name) => ({ identifier: name, type: "elb" as const, state: "Removing" })),
    ];
  }

  private describeLoadBalancerTargetGroups(input: DescribeLoadBalancerTargetGroupsCommandInput): Output<DescribeLoadBalancerTargetGroupsCommandOutput> {
    const states = this.attachmentStates(this.requireGroup(input.AutoScalingGroupName)).filter((entry) => entry.type === "elbv2");
    return { LoadBalancerTargetGroups: states.map((entry) => ({ LoadBalancerTargetGroupARN: entry.identifier, State: entry.state })) };
  }

  private describeLoadBalancers(input: DescribeLoadBalancersCommandInput): Output<DescribeLoadBalancersCommandOutput> {
    const states = this.attachmentStates(this.requireGroup(input.AutoScalingGroupName)).filter((entry) => entry.type === "elb");
    return { LoadBalancers: states.map((entry) => ({ LoadBalancerName: entry.identifier, State: entry.state })) };
  }

  private describeTrafficSources(input: DescribeTrafficSourcesCommandInput): Output<DescribeTrafficSourcesCommandOutput> {
    const states = this.attachmentStates(this.requireGroup(input.AutoScalingGroupName)).filter((entry) => !input.TrafficSourceType || entry.type === input.TrafficSourceType);
    return { TrafficSources: states.map((entry) => ({ Identifier: entry.identifier, Type: entry.type, State: entry.state, TrafficSource: entry.identifier })) };
  }

  private attachTargetGroups(input: AttachLoadBalancerTargetGroupsCommandInput): Output<AttachLoadBalancerTargetGroupsCommandOutput> {
    this.attach(this.requireGroup(input.AutoScalingGroupName), input.TargetGroupARNs ?? [], []);
    return {};
  }

  private detachTargetGroups(input: DetachLoadBalancerTargetGroupsCommandInput): Output<DetachLoadBalancerTargetGroupsCommandOutput> {
    this.detach(this.requireGroup(input.AutoScalingGroupName), input.TargetGroupARNs ?? [], []);
    return {};
  }

  private attachLoadBalancers(input: AttachLoadBalancersCommandInput): Output<AttachLoadBalancersCommandOutput> {
    this.attach(this.requireGroup(input.AutoScalingGroupName), [], input.LoadBalancerNames ?? []);
    return {};
  }

  private detachLoadBalancers(input: DetachLoadBalancersCommandInput): Output<DetachLoadBalancersCommandOutput> {
    this.detach(this.requireGroup(input.AutoScalingGroupName), [], input.LoadBalancerNames ?? []);
    return {};
  }

  private toActivity(activity: SimActivity): Activity {
    return {
      ActivityId: activity.activityId,
      AutoScalingGroupName: activity.groupName,
      Description: activity.description,
      Cause: activity.cause,
      StartTime: new Date(activity.startMs),
      EndTime: activity.endMs === undefined ? undefined : new Date(activity.endMs),
      StatusCode: activity.statusCode,
      StatusMessage: activity.statusMessage,
      Progress: activity.statusCode === "InProgress" ? 50 : 100,
    };
  }

  private describeScalingActivities(input: DescribeScalingActivitiesCommandInput): Output<DescribeScalingActivitiesCommandOutput> {
    const groups = input.AutoScalingGroupName ? [this.requireGroup(input.AutoScalingGroupName)] : [...this.groups.values()];
    const ids = input.ActivityIds ?? [];
    const activities = groups
      .flatMap((group) => group.activities)
      .filter((activity) => ids.length === 0 || ids.includes(activity.activityId))
      .sort((a, b) => b.startMs - a.startMs);
    const offset = decodeToken(input.NextToken);
    if (offset === undefined) throw awsError("AutoScaling", "InvalidNextToken", "The token is invalid.");
    const maxRecords = input.MaxRecords ?? 100;
    const end = offset + maxRecords;
    return { Activities: activities.slice(offset, end).map((activity) => this.toActivity(activity)), NextToken: end < activities.length ? encodeToken(end) : undefined };
  }

  private suspendProcesses(input: SuspendProcessesCommandInput): Output<SuspendProcessesCommandOutput> {
    const group = this.requireGroup(input.AutoScalingGroupName);
    const all = ["Launch", "Terminate", "AddToLoadBalancer", "AlarmNotification", "AZRebalance", "HealthCheck", "InstanceRefresh", "ReplaceUnhealthy", "ScheduledActions"];
    for (const name of input.ScalingProcesses && input.ScalingProcesses.length > 0 ? input.ScalingProcesses : all) group.suspendedProcesses.add(name);
    return {};
  }

  private resumeProcesses(input: ResumeProcessesCommandInput): Output<ResumeProcessesCommandOutput> {
    const group = this.requireGroup(input.AutoScalingGroupName);
    if (input.ScalingProcesses && input.ScalingProcesses.length > 0) {
      for (const name of input.ScalingProcesses) group.suspendedProcesses.delete(name);
    } else {
      group.suspendedProcesses.clear();
    }
    this.reconcile(group, "a user request resumed processes");
    return {};
  }

}
