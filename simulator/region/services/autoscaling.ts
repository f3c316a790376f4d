import type {
  Activity,
  CompleteLifecycleActionCommandInput,
  CompleteLifecycleActionCommandOutput,
  DeleteLifecycleHookCommandInput,
  DeleteLifecycleHookCommandOutput,
  DeletePolicyCommandInput,
  DeletePolicyCommandOutput,
  DeleteScheduledActionCommandInput,
  DeleteScheduledActionCommandOutput,
  DescribeLifecycleHooksCommandInput,
  DescribeLifecycleHooksCommandOutput,
  DescribePoliciesCommandInput,
  DescribePoliciesCommandOutput,
  DescribeScheduledActionsCommandInput,
  DescribeScheduledActionsCommandOutput,
  EnterStandbyCommandInput,
  EnterStandbyCommandOutput,
  ExitStandbyCommandInput,
  ExitStandbyCommandOutput,
  LifecycleHook,
  LifecycleHookSpecification,
  PutLifecycleHookCommandInput,
  PutLifecycleHookCommandOutput,
  PutScalingPolicyCommandInput,
  PutScalingPolicyCommandOutput,
  PutScheduledUpdateGroupActionCommandInput,
  PutScheduledUpdateGroupActionCommandOutput,
  RecordLifecycleActionHeartbeatCommandInput,
  RecordLifecycleActionHeartbeatCommandOutput,
  ScalingPolicy,
  ScheduledUpdateGroupAction,
  SetDesiredCapacityCommandInput,
  SetDesiredCapacityCommandOutput,
  SetInstanceProtectionCommandInput,
  SetInstanceProtectionCommandOutput,
  AttachLoadBalancersCommandInput,
  AttachLoadBalancersCommandOutput,
  AttachLoadBalancerTargetGroupsCommandInput,
  AttachLoadBalancerTargetGroupsCommandOutput,
  AutoScalingGroup,
  CreateAutoScalingGroupCommandInput,
  CreateAutoScalingGroupCommandOutput,
  CreateOrUpdateTagsCommandInput,
  CreateOrUpdateTagsCommandOutput,
  DeleteTagsCommandInput,
  DeleteTagsCommandOutput,
  DeleteWarmPoolCommandInput,
  DeleteWarmPoolCommandOutput,
  DescribeWarmPoolCommandInput,
  DescribeWarmPoolCommandOutput,
  InstanceMaintenancePolicy,
  MixedInstancesPolicy,
  PutWarmPoolCommandInput,
  PutWarmPoolCommandOutput,
  WarmPoolConfiguration,
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
import { isTimeZone, nextOccurrence, parseRecurrence } from "../../../functions/lib/recurrence.js";
import type { CloudWatchService } from "./cloudwatch.js";
import type { Ec2Service, SimInstance, SimLaunchTemplate } from "./ec2.js";
import type { HealthCheckedPool, Registration } from "./health.js";
import type { LoadBalancingService } from "./loadbalancing.js";

export type GroupLifecycleState =
  | "Pending"
  | "Pending:Wait"
  | "InService"
  | "EnteringStandby"
  | "Standby"
  | "Terminating"
  | "Terminating:Wait"
  | "Terminating:Proceed";

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
  /** True when ForceDelete skips draining and hooks. */
  forced?: boolean;
  /** The instance stopped behind the group's back; the next EC2 health check will replace it. */
  ec2CheckPending?: boolean;
  /** Scale-in protection (SetInstanceProtection, or the group's NewInstancesProtectedFromScaleIn at InService). */
  protectedFromScaleIn: boolean;
  /** Lifecycle hooks the instance waits for in `Pending:Wait` / `Terminating:Wait`, by hook name. */
  waitingFor?: Map<string, HookWait>;
  /** What happens once every hook is done. */
  hooksDone?: () => void;
  /** What the hooks decided so far: ABANDON of a launch hook terminates the instance. */
  abandoned?: boolean;
}

interface HookWait {
  timer: ScheduledEvent;
  /** The hook's DefaultResult, applied when its heartbeat timeout passes. */
  defaultResult: LifecycleResult;
  heartbeatTimeout: number;
}

type LifecycleResult = "CONTINUE" | "ABANDON";
export type LifecycleTransition = "autoscaling:EC2_INSTANCE_LAUNCHING" | "autoscaling:EC2_INSTANCE_TERMINATING";

export interface SimLifecycleHook {
  name: string;
  transition: LifecycleTransition;
  heartbeatTimeout: number;
  defaultResult: LifecycleResult;
  notificationTargetArn?: string;
  roleArn?: string;
  notificationMetadata?: string;
}

export interface SimScalingPolicy {
  name: string;
  arn: string;
  /** PutScalingPolicy's input as given (minus the group name), answered back by DescribePolicies. */
  definition: Omit<PutScalingPolicyCommandInput, "AutoScalingGroupName" | "PolicyName">;
  alarms: { AlarmName: string; AlarmARN: string }[];
}

export interface SimScheduledAction {
  name: string;
  arn: string;
  recurrence?: string;
  startTimeMs?: number;
  endTimeMs?: number;
  min?: number;
  max?: number;
  desired?: number;
  timeZone?: string;
  /** The next run, while one is due. */
  next?: ScheduledEvent;
  nextRunMs?: number;
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
  newInstancesProtectedFromScaleIn: boolean;
  policies: Map<string, SimScalingPolicy>;
  scheduledActions: Map<string, SimScheduledAction>;
  lifecycleHooks: Map<string, SimLifecycleHook>;
  /** Stored and described as given; the simplified termination policy below does not read them. */
  attributes: GroupAttributes;
  /** Stored and described (PutWarmPool); no instance is ever kept warm here. */
  warmPool?: WarmPoolConfiguration;
  /** The group's MixedInstancesPolicy as given; instances launch with its first instance type. */
  mixedInstancesPolicy?: MixedInstancesPolicy;
}

/** Group settings the region stores and answers back without acting on them (docs/simulator-region.md). */
export interface GroupAttributes {
  terminationPolicies: string[];
  maxInstanceLifetime?: number;
  capacityRebalance: boolean;
  instanceMaintenancePolicy?: InstanceMaintenancePolicy;
  defaultCooldown: number;
  defaultInstanceWarmup?: number;
}

/** TerminationPolicies' named values (a Lambda function ARN is the other kind), CreateAutoScalingGroup in botocore's model docs. */
const TERMINATION_POLICIES = ["Default", "AllocationStrategy", "ClosestToNextInstanceHour", "NewestInstance", "OldestInstance", "OldestLaunchConfiguration", "OldestLaunchTemplate"];
/** "If specified, the value must be either 0 or a number equal to or greater than 86,400 seconds (1 day)" (MaxInstanceLifetime). */
const MIN_INSTANCE_LIFETIME = 86_400;
/** DefaultCooldown: "Default: 300 seconds". */
const DEFAULT_COOLDOWN = 300;

/** SuspendProcesses' ScalingProcesses: "One or more of the following processes" (Auto Scaling API reference). */
export const SCALING_PROCESSES = [
  "Launch",
  "Terminate",
  "AddToLoadBalancer",
  "AlarmNotification",
  "AZRebalance",
  "HealthCheck",
  "InstanceRefresh",
  "ReplaceUnhealthy",
  "ScheduledActions",
] as const;

/** DescribeAutoScalingGroups: 50 names per call unless MaxRecords allows more; at most 100 records a page. */
const DEFAULT_MAX_RECORDS = 50;
const MAX_RECORDS_LIMIT = 100;

/**
 * PutLifecycleHook: "HeartbeatTimeout ... The range is from 30 to 7200 seconds. The default value is 3600 seconds
 * (1 hour)"; "DefaultResult ... The default value is ABANDON" (botocore autoscaling 2011-01-01 model docs).
 */
export const LIFECYCLE_HOOK_DEFAULTS = { heartbeatTimeout: 3600, minHeartbeat: 30, maxHeartbeat: 7200, defaultResult: "ABANDON" } as const;
const LIFECYCLE_TRANSITIONS: readonly LifecycleTransition[] = ["autoscaling:EC2_INSTANCE_LAUNCHING", "autoscaling:EC2_INSTANCE_TERMINATING"];
const POLICY_TYPES = ["SimpleScaling", "StepScaling", "TargetTrackingScaling", "PredictiveScaling"] as const;
/** The scenario's injected `lifecycleHookSeconds` fault acts as one more termination hook under this name. */
const INJECTED_HOOK = "(injected lifecycleHookSeconds fault)";

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
    private readonly cloudWatch: CloudWatchService,
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
      SetDesiredCapacity: (input: SetDesiredCapacityCommandInput) => this.setDesiredCapacity(input),
      PutScalingPolicy: (input: PutScalingPolicyCommandInput) => this.putScalingPolicy(input),
      DescribePolicies: (input: DescribePoliciesCommandInput) => this.describePolicies(input),
      DeletePolicy: (input: DeletePolicyCommandInput) => this.deletePolicy(input),
      PutScheduledUpdateGroupAction: (input: PutScheduledUpdateGroupActionCommandInput) => this.putScheduledAction(input),
      DescribeScheduledActions: (input: DescribeScheduledActionsCommandInput) => this.describeScheduledActions(input),
      DeleteScheduledAction: (input: DeleteScheduledActionCommandInput) => this.deleteScheduledAction(input),
      PutLifecycleHook: (input: PutLifecycleHookCommandInput) => this.putLifecycleHook(input),
      DescribeLifecycleHooks: (input: DescribeLifecycleHooksCommandInput) => this.describeLifecycleHooks(input),
      DeleteLifecycleHook: (input: DeleteLifecycleHookCommandInput) => this.deleteLifecycleHook(input),
      CompleteLifecycleAction: (input: CompleteLifecycleActionCommandInput) => this.completeLifecycleAction(input),
      RecordLifecycleActionHeartbeat: (input: RecordLifecycleActionHeartbeatCommandInput) => this.recordHeartbeat(input),
      SetInstanceProtection: (input: SetInstanceProtectionCommandInput) => this.setInstanceProtection(input),
      EnterStandby: (input: EnterStandbyCommandInput) => this.enterStandby(input),
      ExitStandby: (input: ExitStandbyCommandInput) => this.exitStandby(input),
      CreateOrUpdateTags: (input: CreateOrUpdateTagsCommandInput) => this.createOrUpdateTags(input),
      DeleteTags: (input: DeleteTagsCommandInput) => this.deleteTags(input),
      PutWarmPool: (input: PutWarmPoolCommandInput) => this.putWarmPool(input),
      DescribeWarmPool: (input: DescribeWarmPoolCommandInput) => this.describeWarmPool(input),
      DeleteWarmPool: (input: DeleteWarmPoolCommandInput) => this.deleteWarmPool(input),
    };
  }

  requireGroup(name: string | undefined): SimGroup {
    const group = this.groups.get(name ?? "");
    if (!group) throw groupNotFound(name ?? "");
    return group;
  }

  // ---- the group's engine ---------------------------------------------------------------------------

  /** Instances that count toward desired capacity (Standby ones do not). */
  private activeInstances(group: SimGroup): GroupInstance[] {
    return [...group.instances.values()].filter(
      (gi) => gi.lifecycleState === "Pending" || gi.lifecycleState === "Pending:Wait" || gi.lifecycleState === "InService",
    );
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
      // Protected instances are never chosen: "If all instances in an Auto Scaling group are protected from scale
      // in, and a scale in event occurs, its desired capacity is decremented. However, the Auto Scaling group can't
      // terminate the required number of instances until their instance scale in protection settings are
      // disabled" (Auto Scaling User Guide, "Use instance scale-in protection").
      const victims = active
        .filter((gi) => !gi.protectedFromScaleIn)
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
      protectedFromScaleIn: false,
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
      const hooks = this.hooksOf(group, "autoscaling:EC2_INSTANCE_LAUNCHING");
      if (hooks.length === 0) return this.enterService(group, gi);
      // Launch hooks hold the instance in Pending:Wait, outside the load balancer, until each completes or times out.
      gi.lifecycleState = "Pending:Wait";
      this.waitForHooks(gi, hooks, () => {
        if (!gi.abandoned) return this.enterService(group, gi);
        gi.lifecycleState = "Terminating:Proceed";
        this.endActivity(gi.activity, "Failed", "Instance failed to complete user's Lifecycle Action: Lifecycle Action with result ABANDON.");
        this.ec2.terminateInstance(gi.instanceId, "Client.UserInitiatedShutdown: User initiated shutdown");
      });
      return;
    }
    if (instance.state === "shutting-down" || instance.state === "terminated") {
      if (gi.lifecycleState === "Pending" || gi.lifecycleState === "Pending:Wait") {
        // Boot failure: the launch failed; Auto Scaling retries after a pause.
        this.stopWaiting(gi);
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

  /** InService: registered with the group's load balancers; the grace period of the ELB health check starts. */
  private enterService(group: SimGroup, gi: GroupInstance): void {
    gi.lifecycleState = "InService";
    gi.inServiceAtMs = this.ctx.clock.now();
    gi.protectedFromScaleIn ||= group.newInstancesProtectedFromScaleIn;
    for (const pool of this.poolsOfGroup(group)) pool.register(gi.instanceId);
    this.endActivity(gi.activity, "Successful");
    if (group.healthCheckType === "ELB") {
      gi.graceTimer = this.ctx.scheduler.after(group.healthCheckGracePeriod, () => this.checkLoadBalancerHealth(group, gi), `grace ${gi.instanceId}`);
    }
  }

  private removeTerminated(group: SimGroup, gi: GroupInstance): void {
    group.instances.delete(gi.instanceId);
    gi.graceTimer?.cancel();
    this.stopWaiting(gi);
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
    if (!registration) this.afterDeregistered(group, gi);
  }

  /** A load balancer let go of the instance (drained, or the group left it): what waited for that goes on. */
  private afterDeregistered(group: SimGroup, gi: GroupInstance): void {
    if (gi.lifecycleState === "Terminating") this.continueTermination(group, gi);
    if (gi.lifecycleState === "EnteringStandby" && !this.stillRegistered(group, gi)) {
      gi.lifecycleState = "Standby";
      this.endActivity(gi.activity, "Successful");
    }
  }

  private stillRegistered(group: SimGroup, gi: GroupInstance): boolean {
    return this.poolsOfGroup(group).some((pool) => pool.registrations.has(gi.instanceId));
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

  /** Terminating: deregister (draining), wait for the drain, the termination lifecycle hooks if any, then terminate. */
  private beginTermination(group: SimGroup, gi: GroupInstance, cause: string, forced = false): void {
    gi.graceTimer?.cancel();
    this.stopWaiting(gi);
    gi.lifecycleState = "Terminating";
    gi.forced = forced;
    this.endActivity(gi.activity, "Cancelled");
    gi.activity = this.startActivity(group, `Terminating EC2 instance: ${gi.instanceId}`, cause);
    for (const pool of this.poolsOfGroup(group)) pool.deregister(gi.instanceId);
    this.continueTermination(group, gi);
  }

  private continueTermination(group: SimGroup, gi: GroupInstance): void {
    if (gi.lifecycleState !== "Terminating") return;
    if (this.stillRegistered(group, gi) && !gi.forced) return;
    const proceed = () => {
      gi.lifecycleState = "Terminating:Proceed";
      const instance = this.ec2.instances.get(gi.instanceId);
      // Already terminated behind the group's back: the group forgets it now.
      if (!instance || instance.state === "terminated") return this.removeTerminated(group, gi);
      this.ec2.terminateInstance(gi.instanceId, "Client.UserInitiatedShutdown: User initiated shutdown");
    };
    const hooks = gi.forced ? [] : this.hooksOf(group, "autoscaling:EC2_INSTANCE_TERMINATING");
    const injected = this.ctx.faults.lifecycleHookSeconds;
    if (!gi.forced && injected > 0) hooks.push({ name: INJECTED_HOOK, heartbeatTimeout: injected, defaultResult: "CONTINUE", transition: "autoscaling:EC2_INSTANCE_TERMINATING" });
    if (hooks.length === 0) return proceed();
    // For a terminating instance CONTINUE and ABANDON both end in termination (Auto Scaling User Guide,
    // "Complete a lifecycle action"): the instance waits until every hook is done or has timed out.
    gi.lifecycleState = "Terminating:Wait";
    this.waitForHooks(gi, hooks, proceed);
  }

  /** ForceDelete: an instance already terminating stops waiting for draining and hooks. */
  private forceOut(group: SimGroup, gi: GroupInstance): void {
    gi.forced = true;
    if (gi.lifecycleState === "Terminating:Wait") {
      this.stopWaiting(gi);
      gi.lifecycleState = "Terminating";
    }
    this.continueTermination(group, gi);
  }

  // ---- lifecycle hooks ----------------------------------------------------------------------------------

  private hooksOf(group: SimGroup, transition: LifecycleTransition): SimLifecycleHook[] {
    return [...group.lifecycleHooks.values()].filter((hook) => hook.transition === transition);
  }

  /** The instance waits for each hook until it completes or its heartbeat timeout applies its default result. */
  private waitForHooks(gi: GroupInstance, hooks: SimLifecycleHook[], done: () => void): void {
    gi.abandoned = false;
    gi.waitingFor = new Map();
    gi.hooksDone = done;
    for (const hook of hooks) this.armHookTimeout(gi, hook.name, hook.heartbeatTimeout, hook.defaultResult);
  }

  private armHookTimeout(gi: GroupInstance, hookName: string, heartbeatTimeout: number, defaultResult: LifecycleResult): void {
    gi.waitingFor?.get(hookName)?.timer.cancel();
    const timer = this.ctx.scheduler.after(heartbeatTimeout, () => this.hookCompleted(gi, hookName, defaultResult), `lifecycle hook ${hookName} ${gi.instanceId}`);
    gi.waitingFor?.set(hookName, { timer, defaultResult, heartbeatTimeout });
  }

  /** One hook is done; ABANDON ends the wait at once ("ABANDON stops any remaining actions, such as other lifecycle hooks"). */
  private hookCompleted(gi: GroupInstance, hookName: string, result: LifecycleResult): void {
    const waits = gi.waitingFor;
    if (!waits?.has(hookName)) return;
    waits.get(hookName)!.timer.cancel();
    waits.delete(hookName);
    if (result === "ABANDON") gi.abandoned = true;
    if (waits.size > 0 && !gi.abandoned) return;
    const done = gi.hooksDone;
    this.stopWaiting(gi);
    done?.();
  }

  private stopWaiting(gi: GroupInstance): void {
    for (const wait of gi.waitingFor?.values() ?? []) wait.timer.cancel();
    gi.waitingFor = undefined;
    gi.hooksDone = undefined;
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
    if (input.LaunchTemplate && input.MixedInstancesPolicy) throw validationError("Only one of LaunchTemplate or MixedInstancesPolicy may be specified.");
    const spec = input.LaunchTemplate ?? input.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification;
    if (input.MixedInstancesPolicy) this.validateMixedInstances(input.MixedInstancesPolicy);
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
      newInstancesProtectedFromScaleIn: input.NewInstancesProtectedFromScaleIn ?? false,
      policies: new Map(),
      scheduledActions: new Map(),
      lifecycleHooks: new Map(),
      attributes: this.attributes(input, { terminationPolicies: ["Default"], capacityRebalance: false, defaultCooldown: DEFAULT_COOLDOWN }),
      ...(input.MixedInstancesPolicy && { mixedInstancesPolicy: structuredClone(input.MixedInstancesPolicy) }),
    };
    for (const spec of input.LifecycleHookSpecificationList ?? []) this.storeLifecycleHook(group, spec);
    this.groups.set(name, group);
    this.reconcile(group, `a user request created an AutoScalingGroup changing the desired capacity from 0 to ${desired}`);
    return {};
  }

  /** Group attributes from Create/UpdateAutoScalingGroup, validated as AWS validates them; `base` for what is not given. */
  private attributes(input: CreateAutoScalingGroupCommandInput | UpdateAutoScalingGroupCommandInput, base: GroupAttributes): GroupAttributes {
    const lifetime = input.MaxInstanceLifetime;
    if (lifetime !== undefined && lifetime !== 0 && lifetime < MIN_INSTANCE_LIFETIME)
      throw validationError(`MaxInstanceLifetime ${lifetime} must be either 0 or a number equal to or greater than ${MIN_INSTANCE_LIFETIME} seconds`);
    for (const policy of input.TerminationPolicies ?? [])
      if (!TERMINATION_POLICIES.includes(policy) && !policy.startsWith("arn:aws:lambda:")) throw validationError(`Invalid termination policy ${policy}`);
    return {
      terminationPolicies: input.TerminationPolicies?.length ? [...input.TerminationPolicies] : base.terminationPolicies,
      maxInstanceLifetime: lifetime ?? base.maxInstanceLifetime,
      capacityRebalance: input.CapacityRebalance ?? base.capacityRebalance,
      instanceMaintenancePolicy: input.InstanceMaintenancePolicy ? structuredClone(input.InstanceMaintenancePolicy) : base.instanceMaintenancePolicy,
      defaultCooldown: input.DefaultCooldown ?? base.defaultCooldown,
      defaultInstanceWarmup: input.DefaultInstanceWarmup ?? base.defaultInstanceWarmup,
    };
  }

  /** "You can specify up to 40 instance types per Auto Scaling group" (LaunchTemplateOverrides.InstanceType). */
  private validateMixedInstances(policy: MixedInstancesPolicy): void {
    const overrides = policy.LaunchTemplate?.Overrides ?? [];
    if (overrides.length > 40) throw validationError(`You can specify up to 40 instance types per Auto Scaling group, not ${overrides.length}`);
    const percent = policy.InstancesDistribution?.OnDemandPercentageAboveBaseCapacity;
    if (percent !== undefined && (percent < 0 || percent > 100)) throw validationError(`OnDemandPercentageAboveBaseCapacity ${percent} must be from 0 to 100`);
  }

  /** The instance type a group launches: its mixed-instances policy's first, else the launch template's (the stock one here). */
  private instanceTypeOf(group: SimGroup): string {
    return group.mixedInstancesPolicy?.LaunchTemplate?.Overrides?.[0]?.InstanceType ?? DEFAULTS.instanceType;
  }

  private toGroup(group: SimGroup): AutoScalingGroup {
    const launchTemplate = {
      LaunchTemplateId: group.launchTemplate.launchTemplateId,
      LaunchTemplateName: group.launchTemplate.launchTemplateName,
      Version: group.launchTemplate.version,
    };
    const { attributes } = group;
    return {
      AutoScalingGroupName: group.name,
      AutoScalingGroupARN: group.arn,
      // A group with a mixed-instances policy has its launch template there, not beside it.
      ...(group.mixedInstancesPolicy
        ? { MixedInstancesPolicy: structuredClone(group.mixedInstancesPolicy) }
        : { LaunchTemplate: launchTemplate }),
      MinSize: group.min,
      MaxSize: group.max,
      DesiredCapacity: group.desired,
      DefaultCooldown: attributes.defaultCooldown,
      ...(attributes.defaultInstanceWarmup !== undefined && { DefaultInstanceWarmup: attributes.defaultInstanceWarmup }),
      ...(attributes.maxInstanceLifetime !== undefined && { MaxInstanceLifetime: attributes.maxInstanceLifetime }),
      CapacityRebalance: attributes.capacityRebalance,
      ...(attributes.instanceMaintenancePolicy && { InstanceMaintenancePolicy: structuredClone(attributes.instanceMaintenancePolicy) }),
      ...(group.warmPool && { WarmPoolConfiguration: structuredClone(group.warmPool), WarmPoolSize: 0 }),
      AvailabilityZones: [...new Set(group.subnetIds.map((id) => this.ec2.availabilityZoneOf(id)))],
      LoadBalancerNames: [...group.loadBalancerNames, ...group.removing.loadBalancerNames],
      TargetGroupARNs: [...group.targetGroupArns, ...group.removing.targetGroupArns],
      HealthCheckType: group.healthCheckType,
      HealthCheckGracePeriod: group.healthCheckGracePeriod,
      Instances: [...group.instances.values()].map((gi) => {
        const instance = this.ec2.instances.get(gi.instanceId);
        return {
          InstanceId: gi.instanceId,
          InstanceType: this.instanceTypeOf(group),
          AvailabilityZone: instance?.availabilityZone,
          LifecycleState: gi.lifecycleState,
          HealthStatus: gi.healthStatus,
          LaunchTemplate: {
            LaunchTemplateId: group.launchTemplate.launchTemplateId,
            LaunchTemplateName: group.launchTemplate.launchTemplateName,
            Version: gi.launchTemplateVersion,
          },
          ProtectedFromScaleIn: gi.protectedFromScaleIn,
        };
      }),
      CreatedTime: new Date(group.createdAtMs),
      SuspendedProcesses: [...group.suspendedProcesses].map((name) => ({ ProcessName: name, SuspensionReason: "User suspended at " + new Date(group.createdAtMs).toISOString() })),
      VPCZoneIdentifier: group.subnetIds.join(","),
      EnabledMetrics: [],
      Status: group.deleting ? "Delete in progress" : undefined,
      Tags: group.tags.map((tag) => ({ ResourceId: group.name, ResourceType: "auto-scaling-group", ...tag })),
      TerminationPolicies: [...attributes.terminationPolicies],
      NewInstancesProtectedFromScaleIn: group.newInstancesProtectedFromScaleIn,
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
    if (input.NewInstancesProtectedFromScaleIn !== undefined) group.newInstancesProtectedFromScaleIn = input.NewInstancesProtectedFromScaleIn;
    group.attributes = this.attributes(input, group.attributes);
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
      for (const gi of [...group.instances.values()]) {
        if (gi.lifecycleState.startsWith("Terminating")) this.forceOut(group, gi);
        else this.beginTermination(group, gi, "a user request deleted the AutoScalingGroup (ForceDelete)", true);
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
    for (const action of group.scheduledActions.values()) action.next?.cancel();
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
    // Terminating (or standby-bound) instances no longer wait for a load balancer the group has left.
    for (const gi of [...group.instances.values()]) this.afterDeregistered(group, gi);
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

  /** "If you omit this property, all processes are specified" (SuspendProcesses, ScalingProcesses). */
  private suspendProcesses(input: SuspendProcessesCommandInput): Output<SuspendProcessesCommandOutput> {
    const group = this.requireGroup(input.AutoScalingGroupName);
    const unknown = (input.ScalingProcesses ?? []).filter((name) => !(SCALING_PROCESSES as readonly string[]).includes(name));
    if (unknown.length > 0) throw validationError(`Invalid scaling process ${unknown.join(", ")}; valid values: ${SCALING_PROCESSES.join(", ")}`);
    for (const name of input.ScalingProcesses && input.ScalingProcesses.length > 0 ? input.ScalingProcesses : SCALING_PROCESSES) group.suspendedProcesses.add(name);
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

  // ---- tags and warm pools ---------------------------------------------------------------------------------

  /** Tags: ResourceType "auto-scaling-group", ResourceId the group's name; an existing key is replaced. */
  private taggedGroups(tags: { ResourceId?: string; ResourceType?: string }[] | undefined): SimGroup[] {
    return (tags ?? []).map((tag) => {
      if (tag.ResourceType !== "auto-scaling-group") throw validationError(`Invalid ResourceType ${tag.ResourceType}; valid value: auto-scaling-group`);
      return this.requireGroup(tag.ResourceId);
    });
  }

  private createOrUpdateTags(input: CreateOrUpdateTagsCommandInput): Output<CreateOrUpdateTagsCommandOutput> {
    const groups = this.taggedGroups(input.Tags);
    for (const [i, tag] of (input.Tags ?? []).entries()) {
      const group = groups[i];
      const entry = { Key: tag.Key ?? "", Value: tag.Value ?? "", PropagateAtLaunch: tag.PropagateAtLaunch ?? false };
      group.tags = [...group.tags.filter((existing) => existing.Key !== entry.Key), entry];
    }
    return {};
  }

  private deleteTags(input: DeleteTagsCommandInput): Output<DeleteTagsCommandOutput> {
    const groups = this.taggedGroups(input.Tags);
    for (const [i, tag] of (input.Tags ?? []).entries()) groups[i].tags = groups[i].tags.filter((existing) => existing.Key !== tag.Key);
    return {};
  }

  /** Stored and described as given (MaxGroupPreparedCapacity from -1, MinSize from 0, PoolState Stopped by default). */
  private putWarmPool(input: PutWarmPoolCommandInput): Output<PutWarmPoolCommandOutput> {
    const group = this.requireGroup(input.AutoScalingGroupName);
    if (input.MaxGroupPreparedCapacity !== undefined && input.MaxGroupPreparedCapacity < -1) throw validationError("MaxGroupPreparedCapacity must be -1 or more");
    if (input.MinSize !== undefined && input.MinSize < 0) throw validationError("MinSize must be 0 or more");
    if (input.PoolState && !["Stopped", "Running", "Hibernated"].includes(input.PoolState)) throw validationError(`Invalid PoolState ${input.PoolState}`);
    const { AutoScalingGroupName: _name, ...configuration } = structuredClone(input);
    group.warmPool = { PoolState: "Stopped", MinSize: 0, ...configuration };
    return {};
  }

  private describeWarmPool(input: DescribeWarmPoolCommandInput): Output<DescribeWarmPoolCommandOutput> {
    const group = this.requireGroup(input.AutoScalingGroupName);
    return { ...(group.warmPool && { WarmPoolConfiguration: structuredClone(group.warmPool) }), Instances: [] };
  }

  private deleteWarmPool(input: DeleteWarmPoolCommandInput): Output<DeleteWarmPoolCommandOutput> {
    const group = this.requireGroup(input.AutoScalingGroupName);
    if (!group.warmPool) throw validationError(`No warm pool found for Auto Scaling group ${group.name}`);
    group.warmPool = undefined;
    return {};
  }

  // ---- manual scaling, scale-in protection, standby --------------------------------------------------------

  /**
   * Desired capacity outside [min, max] is refused, as AWS does ("The desired capacity must be equal to or greater
   * than the minimum group size, and equal to or less than the maximum group size", Auto Scaling User Guide, "Set
   * scaling limits"; the wording is the ValidationError AWS returns, e.g. "New SetDesiredCapacity value 2 is above
   * max value 1 for the AutoScalingGroup.").
   */
  private setDesiredCapacity(input: SetDesiredCapacityCommandInput): Output<SetDesiredCapacityCommandOutput> {
    const group = this.requireGroup(input.AutoScalingGroupName);
    if (group.deleting) throw awsError("AutoScaling", "ScalingActivityInProgress", `AutoScalingGroup ${group.name} is pending delete.`);
    const desired = input.DesiredCapacity ?? group.desired;
    if (desired > group.max) throw validationError(`New SetDesiredCapacity value ${desired} is above max value ${group.max} for the AutoScalingGroup.`);
    if (desired < group.min) throw validationError(`New SetDesiredCapacity value ${desired} is below min value ${group.min} for the AutoScalingGroup.`);
    const from = group.desired;
    group.desired = desired;
    this.reconcile(group, `a user request explicitly set group desired capacity changing the desired capacity from ${from} to ${desired}`);
    return {};
  }

  private groupInstances(group: SimGroup, ids: string[] | undefined): GroupInstance[] {
    return (ids ?? []).map((id) => {
      const gi = group.instances.get(id);
      if (!gi) throw validationError(`The instance ${id} is not part of Auto Scaling group ${group.name}.`);
      return gi;
    });
  }

  private setInstanceProtection(input: SetInstanceProtectionCommandInput): Output<SetInstanceProtectionCommandOutput> {
    const group = this.requireGroup(input.AutoScalingGroupName);
    for (const gi of this.groupInstances(group, input.InstanceIds)) gi.protectedFromScaleIn = input.ProtectedFromScaleIn ?? false;
    // Unprotected instances may now go, if the group is above its desired capacity.
    this.reconcile(group, "an instance was taken out of service in response to a difference between desired and actual capacity");
    return {};
  }

  /**
   * Standby: "the instance is deregistered from the load balancer" (after connection draining), it stops counting
   * toward desired capacity, and is neither health-checked nor terminated by scale-in (Auto Scaling User Guide,
   * "Temporarily remove instances from your Auto Scaling group"). With ShouldDecrementDesiredCapacity the desired
   * capacity drops (not below min); without it the group launches replacements.
   */
  private enterStandby(input: EnterStandbyCommandInput): Output<EnterStandbyCommandOutput> {
    const group = this.requireGroup(input.AutoScalingGroupName);
    const instances = this.groupInstances(group, input.InstanceIds);
    for (const gi of instances) if (gi.lifecycleState !== "InService") throw validationError(`The instance ${gi.instanceId} is not in InService.`);
    if (input.ShouldDecrementDesiredCapacity) {
      if (group.desired - instances.length < group.min)
        throw validationError(
          `AutoScalingGroup ${group.name} has min-size=${group.min}, max-size=${group.max}, and desired-size=${group.desired}. ` +
            `To place into standby ${instances.length} instances, please update the AutoScalingGroup sizes appropriately.`,
        );
      group.desired -= instances.length;
    }
    const activities = instances.map((gi) => {
      gi.graceTimer?.cancel();
      gi.lifecycleState = "EnteringStandby";
      this.endActivity(gi.activity, "Successful");
      gi.activity = this.startActivity(group, `Moving EC2 instance to Standby: ${gi.instanceId}`, "a user request set the instance to Standby");
      for (const pool of this.poolsOfGroup(group)) pool.deregister(gi.instanceId);
      this.afterDeregistered(group, gi);
      return this.toActivity(gi.activity);
    });
    this.reconcile(group, "an instance was started in response to a difference between desired and actual capacity");
    return { Activities: activities };
  }

  private exitStandby(input: ExitStandbyCommandInput): Output<ExitStandbyCommandOutput> {
    const group = this.requireGroup(input.AutoScalingGroupName);
    const instances = this.groupInstances(group, input.InstanceIds);
    for (const gi of instances) if (gi.lifecycleState !== "Standby") throw validationError(`The instance ${gi.instanceId} is not in Standby.`);
    // "After you put the instances back in service, the desired capacity is incremented" (ExitStandby).
    if (group.desired + instances.length > group.max)
      throw validationError(
        `AutoScalingGroup ${group.name} has min-size=${group.min}, max-size=${group.max}, and desired-size=${group.desired}. ` +
          `To move out of standby ${instances.length} instances, please update the AutoScalingGroup sizes appropriately.`,
      );
    group.desired += instances.length;
    const activities = instances.map((gi) => {
      gi.activity = this.startActivity(group, `Moving EC2 instance out of Standby: ${gi.instanceId}`, "a user request moved the instance out of Standby");
      this.enterService(group, gi);
      return this.toActivity(gi.activity);
    });
    return { Activities: activities };
  }

  // ---- scaling policies ------------------------------------------------------------------------------------

  /**
   * Stored and described as given; policies do not act here (the region has no CloudWatch metrics), scenarios
   * change capacity with `scaleLiveGroup` instead. A target-tracking policy lists the two alarms AWS creates for it;
   * a step or simple policy lists the CloudWatch alarms whose actions name it (which its owner creates).
   * AdjustmentType is "Required if the policy type is StepScaling or SimpleScaling"; StepAdjustments "Required if
   * the policy type is StepScaling"; a ResourceLabel names a target group, and "You can't specify a resource label
   * unless the target group is attached to the Auto Scaling group" (PutScalingPolicy, botocore's model docs).
   */
  private putScalingPolicy(input: PutScalingPolicyCommandInput): Output<PutScalingPolicyCommandOutput> {
    const group = this.requireGroup(input.AutoScalingGroupName);
    const name = input.PolicyName ?? "";
    const type = input.PolicyType ?? "SimpleScaling";
    if (!(POLICY_TYPES as readonly string[]).includes(type)) throw validationError(`Invalid policy type ${type}; valid values: ${POLICY_TYPES.join(", ")}`);
    if (type === "TargetTrackingScaling" && input.TargetTrackingConfiguration?.TargetValue === undefined)
      throw validationError("TargetTrackingConfiguration with a TargetValue is required for a TargetTrackingScaling policy.");
    if (type === "SimpleScaling" && input.ScalingAdjustment === undefined)
      throw validationError("ScalingAdjustment is required for a SimpleScaling policy.");
    if ((type === "SimpleScaling" || type === "StepScaling") && !input.AdjustmentType)
      throw validationError(`AdjustmentType is required for a ${type} policy.`);
    if (type === "StepScaling" && !input.StepAdjustments?.length) throw validationError("StepAdjustments is required for a StepScaling policy.");
    const label = input.TargetTrackingConfiguration?.PredefinedMetricSpecification?.ResourceLabel;
    if (label !== undefined && !group.targetGroupArns.some((arn) => label.endsWith(`/${arn.slice(arn.lastIndexOf(":") + 1)}`)))
      throw validationError(`The target group of ResourceLabel ${label} is not attached to the Auto Scaling group ${group.name}.`);
    const existing = group.policies.get(name);
    const id = existing ? existing.arn.split(":")[6] : `${this.ctx.ids.next("uuid", 8).slice(5)}-0000-4000-8000-000000000000`;
    const alarm = (kind: string) => {
      const alarmName = `TargetTracking-${group.name}-${kind}-${id}`;
      return { AlarmName: alarmName, AlarmARN: `arn:aws:cloudwatch:${this.ctx.regionName}:${this.ctx.account}:alarm:${alarmName}` };
    };
    const { AutoScalingGroupName: _group, PolicyName: _name, ...definition } = structuredClone(input);
    const policy: SimScalingPolicy = {
      name,
      arn: existing?.arn ?? `arn:aws:autoscaling:${this.ctx.regionName}:${this.ctx.account}:scalingPolicy:${id}:autoScalingGroupName/${group.name}:policyName/${name}`,
      definition: { ...definition, PolicyType: type },
      alarms: type === "TargetTrackingScaling" ? [alarm("AlarmHigh"), alarm("AlarmLow")] : [],
    };
    group.policies.set(name, policy);
    return { PolicyARN: policy.arn, Alarms: policy.alarms };
  }

  private toPolicy(group: SimGroup, policy: SimScalingPolicy): ScalingPolicy {
    const alarms = policy.definition.PolicyType === "TargetTrackingScaling" ? policy.alarms : this.cloudWatch.alarmsActingOn(policy.arn);
    return { AutoScalingGroupName: group.name, PolicyName: policy.name, PolicyARN: policy.arn, Enabled: true, ...structuredClone(policy.definition), Alarms: alarms } as ScalingPolicy;
  }

  private describePolicies(input: DescribePoliciesCommandInput): Output<DescribePoliciesCommandOutput> {
    const groups = input.AutoScalingGroupName ? [this.requireGroup(input.AutoScalingGroupName)] : [...this.groups.values()];
    const names = input.PolicyNames ?? [];
    const types = input.PolicyTypes ?? [];
    const policies = groups.flatMap((group) =>
      [...group.policies.values()]
        .filter((policy) => (names.length === 0 || names.includes(policy.name) || names.includes(policy.arn)) && (types.length === 0 || types.includes(policy.definition.PolicyType ?? "")))
        .map((policy) => this.toPolicy(group, policy)),
    );
    const { items, nextToken } = this.page(policies, input.MaxRecords, input.NextToken);
    return { ScalingPolicies: items, NextToken: nextToken };
  }

  private deletePolicy(input: DeletePolicyCommandInput): Output<DeletePolicyCommandOutput> {
    const group = this.requireGroup(input.AutoScalingGroupName);
    const policy = [...group.policies.values()].find((p) => p.name === input.PolicyName || p.arn === input.PolicyName);
    if (!policy) throw validationError(`Policy ${input.PolicyName} not found for AutoScalingGroup ${group.name}`);
    group.policies.delete(policy.name);
    return {};
  }

  /** DescribePolicies / DescribeScheduledActions: "The default value is 50 and the maximum value is 100." */
  private page<T>(items: T[], maxRecords: number | undefined, token: string | undefined): { items: T[]; nextToken?: string } {
    const max = maxRecords ?? DEFAULT_MAX_RECORDS;
    if (max < 1 || max > MAX_RECORDS_LIMIT) throw validationError(`1 validation error detected: Value '${max}' at 'maxRecords' failed to satisfy constraint: Member must have value less than or equal to ${MAX_RECORDS_LIMIT}`);
    const offset = decodeToken(token);
    if (offset === undefined) throw awsError("AutoScaling", "InvalidNextToken", "The token is invalid.");
    const end = offset + max;
    return { items: items.slice(offset, end), nextToken: end < items.length ? encodeToken(end) : undefined };
  }

  // ---- scheduled actions -----------------------------------------------------------------------------------

  /**
   * A scheduled action runs at StartTime and/or on its Recurrence (UTC cron, recurrence.ts) and then sets the
   * group's min/max/desired; "if a scheduled action runs without specifying new minimum and maximum size limits
   * for the group, then the group's current minimum and maximum size limits apply" (Auto Scaling User Guide,
   * "Set scaling limits"). Suspending ScheduledActions skips runs. A one-time action is gone once it ran.
   */
  private putScheduledAction(input: PutScheduledUpdateGroupActionCommandInput): Output<PutScheduledUpdateGroupActionCommandOutput> {
    const group = this.requireGroup(input.AutoScalingGroupName);
    const name = input.ScheduledActionName ?? "";
    if (input.MinSize === undefined && input.MaxSize === undefined && input.DesiredCapacity === undefined)
      throw validationError("At least one of MinSize, MaxSize or DesiredCapacity must be specified.");
    if (input.TimeZone && !isTimeZone(input.TimeZone))
      throw validationError(`Invalid time zone ${input.TimeZone}: the canonical name of an IANA time zone is required`);
    if (input.Recurrence) {
      try {
        parseRecurrence(input.Recurrence);
      } catch (error) {
        throw validationError(`Invalid recurrence "${input.Recurrence}": ${(error as Error).message}`);
      }
    }
    const start = input.StartTime ?? input.Time;
    const startTimeMs = start ? new Date(start).getTime() : undefined;
    if (startTimeMs !== undefined && startTimeMs < this.ctx.clock.now()) throw validationError("Given start time is in the past");
    if (startTimeMs === undefined && !input.Recurrence) throw validationError("Either StartTime or Recurrence must be specified.");
    group.scheduledActions.get(name)?.next?.cancel();
    const action: SimScheduledAction = {
      name,
      arn: group.scheduledActions.get(name)?.arn ?? `arn:aws:autoscaling:${this.ctx.regionName}:${this.ctx.account}:scheduledUpdateGroupAction:${this.ctx.ids.next("uuid", 8).slice(5)}-0000-4000-8000-000000000000:autoScalingGroupName/${group.name}:scheduledActionName/${name}`,
      recurrence: input.Recurrence,
      startTimeMs,
      endTimeMs: input.EndTime ? new Date(input.EndTime).getTime() : undefined,
      min: input.MinSize,
      max: input.MaxSize,
      desired: input.DesiredCapacity,
      timeZone: input.TimeZone,
    };
    group.scheduledActions.set(name, action);
    this.scheduleNextRun(group, action, action.startTimeMs);
    return {};
  }

  private scheduleNextRun(group: SimGroup, action: SimScheduledAction, atMs?: number): void {
    const next = atMs ?? (action.recurrence ? nextOccurrence(parseRecurrence(action.recurrence), this.ctx.clock.now(), action.timeZone) : undefined);
    if (next === undefined || (action.endTimeMs !== undefined && next > action.endTimeMs)) {
      group.scheduledActions.delete(action.name);
      return;
    }
    action.nextRunMs = next;
    action.next = this.ctx.scheduler.at(next, () => this.runScheduledAction(group, action), `scheduled action ${action.name} of ${group.name}`);
  }

  private runScheduledAction(group: SimGroup, action: SimScheduledAction): void {
    if (group.scheduledActions.get(action.name) !== action || this.groups.get(group.name) !== group) return;
    if (!group.suspendedProcesses.has("ScheduledActions") && !group.deleting) {
      const min = action.min ?? group.min;
      const max = action.max ?? group.max;
      if (min <= max) {
        const from = group.desired;
        group.min = min;
        group.max = max;
        group.desired = Math.min(Math.max(action.desired ?? group.desired, min), max);
        this.reconcile(group, `a scheduled action update of AutoScalingGroup constraints to min: ${min}, max: ${max}, desired: ${group.desired} changing the desired capacity from ${from} to ${group.desired}`);
      }
    }
    if (action.recurrence) this.scheduleNextRun(group, action);
    else group.scheduledActions.delete(action.name);
  }

  private describeScheduledActions(input: DescribeScheduledActionsCommandInput): Output<DescribeScheduledActionsCommandOutput> {
    const groups = input.AutoScalingGroupName ? [this.requireGroup(input.AutoScalingGroupName)] : [...this.groups.values()];
    const names = input.ScheduledActionNames ?? [];
    const actions: ScheduledUpdateGroupAction[] = groups.flatMap((group) =>
      [...group.scheduledActions.values()]
        .filter((action) => names.length === 0 || names.includes(action.name))
        .map((action) => ({
          AutoScalingGroupName: group.name,
          ScheduledActionName: action.name,
          ScheduledActionARN: action.arn,
          Time: action.nextRunMs === undefined ? undefined : new Date(action.nextRunMs),
          StartTime: action.nextRunMs === undefined ? undefined : new Date(action.nextRunMs),
          EndTime: action.endTimeMs === undefined ? undefined : new Date(action.endTimeMs),
          Recurrence: action.recurrence,
          MinSize: action.min,
          MaxSize: action.max,
          DesiredCapacity: action.desired,
          TimeZone: action.timeZone,
        })),
    );
    const { items, nextToken } = this.page(actions, input.MaxRecords, input.NextToken);
    return { ScheduledUpdateGroupActions: items, NextToken: nextToken };
  }

  private deleteScheduledAction(input: DeleteScheduledActionCommandInput): Output<DeleteScheduledActionCommandOutput> {
    const group = this.requireGroup(input.AutoScalingGroupName);
    const action = group.scheduledActions.get(input.ScheduledActionName ?? "");
    if (!action) throw validationError(`Scheduled Update Group Action name not found - Could not find scheduled action ${input.ScheduledActionName} of ${group.name}`);
    action.next?.cancel();
    group.scheduledActions.delete(action.name);
    return {};
  }

  // ---- lifecycle hooks (API) ---------------------------------------------------------------------------------

  /** Creates or updates a hook; AWS's defaults: HeartbeatTimeout 3600 s (30-7200), DefaultResult ABANDON. */
  private storeLifecycleHook(group: SimGroup, spec: Partial<LifecycleHookSpecification>): void {
    const name = spec.LifecycleHookName ?? "";
    const existing = group.lifecycleHooks.get(name);
    const transition = (spec.LifecycleTransition ?? existing?.transition) as LifecycleTransition | undefined;
    if (!transition || !LIFECYCLE_TRANSITIONS.includes(transition))
      throw validationError(`Invalid LifecycleTransition ${spec.LifecycleTransition ?? "(missing)"}; valid values: ${LIFECYCLE_TRANSITIONS.join(", ")}`);
    const heartbeatTimeout = spec.HeartbeatTimeout ?? existing?.heartbeatTimeout ?? LIFECYCLE_HOOK_DEFAULTS.heartbeatTimeout;
    if (heartbeatTimeout < LIFECYCLE_HOOK_DEFAULTS.minHeartbeat || heartbeatTimeout > LIFECYCLE_HOOK_DEFAULTS.maxHeartbeat)
      throw validationError(`HeartbeatTimeout ${heartbeatTimeout} must be from ${LIFECYCLE_HOOK_DEFAULTS.minHeartbeat} to ${LIFECYCLE_HOOK_DEFAULTS.maxHeartbeat} seconds`);
    const defaultResult = (spec.DefaultResult ?? existing?.defaultResult ?? LIFECYCLE_HOOK_DEFAULTS.defaultResult) as LifecycleResult;
    if (defaultResult !== "CONTINUE" && defaultResult !== "ABANDON") throw validationError(`Invalid DefaultResult ${defaultResult}; valid values: CONTINUE, ABANDON`);
    group.lifecycleHooks.set(name, {
      name,
      transition,
      heartbeatTimeout,
      defaultResult,
      notificationTargetArn: spec.NotificationTargetARN ?? existing?.notificationTargetArn,
      roleArn: spec.RoleARN ?? existing?.roleArn,
      notificationMetadata: spec.NotificationMetadata ?? existing?.notificationMetadata,
    });
  }

  private putLifecycleHook(input: PutLifecycleHookCommandInput): Output<PutLifecycleHookCommandOutput> {
    this.storeLifecycleHook(this.requireGroup(input.AutoScalingGroupName), input);
    return {};
  }

  private describeLifecycleHooks(input: DescribeLifecycleHooksCommandInput): Output<DescribeLifecycleHooksCommandOutput> {
    const group = this.requireGroup(input.AutoScalingGroupName);
    const names = input.LifecycleHookNames ?? [];
    const hooks: LifecycleHook[] = [...group.lifecycleHooks.values()]
      .filter((hook) => names.length === 0 || names.includes(hook.name))
      .map((hook) => ({
        AutoScalingGroupName: group.name,
        LifecycleHookName: hook.name,
        LifecycleTransition: hook.transition,
        HeartbeatTimeout: hook.heartbeatTimeout,
        // "The maximum is 172800 seconds (48 hours) or 100 times HeartbeatTimeout, whichever is smaller."
        GlobalTimeout: Math.min(172_800, 100 * hook.heartbeatTimeout),
        DefaultResult: hook.defaultResult,
        NotificationTargetARN: hook.notificationTargetArn,
        RoleARN: hook.roleArn,
        NotificationMetadata: hook.notificationMetadata,
      }));
    return { LifecycleHooks: hooks };
  }

  private deleteLifecycleHook(input: DeleteLifecycleHookCommandInput): Output<DeleteLifecycleHookCommandOutput> {
    const group = this.requireGroup(input.AutoScalingGroupName);
    if (!group.lifecycleHooks.delete(input.LifecycleHookName ?? ""))
      throw validationError(`No Lifecycle Hook found for name ${input.LifecycleHookName} of AutoScalingGroup ${group.name}`);
    return {};
  }

  private waitingInstance(input: { AutoScalingGroupName?: string; LifecycleHookName?: string; InstanceId?: string }): GroupInstance {
    const group = this.requireGroup(input.AutoScalingGroupName);
    const gi = group.instances.get(input.InstanceId ?? "");
    if (!gi?.waitingFor?.has(input.LifecycleHookName ?? "")) throw validationError(`No active Lifecycle Action found with instance ID ${input.InstanceId}`);
    return gi;
  }

  private completeLifecycleAction(input: CompleteLifecycleActionCommandInput): Output<CompleteLifecycleActionCommandOutput> {
    const result = input.LifecycleActionResult;
    if (result !== "CONTINUE" && result !== "ABANDON") throw validationError(`Invalid LifecycleActionResult ${result}; valid values: CONTINUE, ABANDON`);
    this.hookCompleted(this.waitingInstance(input), input.LifecycleHookName ?? "", result);
    return {};
  }

  /** "Extends the timeout by the length of time defined using the PutLifecycleHook API call." */
  private recordHeartbeat(input: RecordLifecycleActionHeartbeatCommandInput): Output<RecordLifecycleActionHeartbeatCommandOutput> {
    const gi = this.waitingInstance(input);
    const wait = gi.waitingFor!.get(input.LifecycleHookName ?? "")!;
    this.armHookTimeout(gi, input.LifecycleHookName ?? "", wait.heartbeatTimeout, wait.defaultResult);
    return {};
  }
}
