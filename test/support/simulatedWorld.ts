/** Test fixtures on the simulated region: an environment with real SDK clients, release images, a launched group. */
import { AutoScalingClient, CreateAutoScalingGroupCommand, DescribeAutoScalingGroupsCommand } from "@aws-sdk/client-auto-scaling";
import { CreateLaunchTemplateVersionCommand, EC2Client } from "@aws-sdk/client-ec2";
import { ElasticLoadBalancingClient } from "@aws-sdk/client-elastic-load-balancing";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { allClients, autoScaling, ec2, elb, elbv2 } from "../../functions/lib/clients.js";
import type { DeployState, EnvironmentSettings } from "../../functions/lib/contract.js";
import { IMAGE_ROLE, TAG } from "../../functions/lib/names.js";
import {
  attachRegion,
  bindFunctionClock,
  createEnvironment,
  type CreateEnvironmentOptions,
  IMMEDIATE_CONSISTENCY,
  type RegionAttachment,
  SimulatedRegion,
  type SimulatedRegionOptions,
  type Timing,
} from "../../simulator/region/index.js";

/**
 * The region's processes without AWS's delays: no API latency, every change visible at once. Fixtures default
 * to it so a test of one behaviour is not timed by another; pass `region: {}` for the region's defaults (AWS's
 * latency and eventual consistency), as the scenarios run.
 */
export const INSTANT_REGION: Omit<SimulatedRegionOptions, "timing"> = { apiLatencySeconds: 0, consistency: IMMEDIATE_CONSISTENCY };

interface WorldOptions {
  environment?: CreateEnvironmentOptions;
  timing?: Partial<Timing>;
  /** Region options (default `INSTANT_REGION`). */
  region?: Omit<SimulatedRegionOptions, "timing">;
}

/** Attachments made by `attachForTest` and `simulatedWorld`, for `detachAll`. */
const open: RegionAttachment[] = [];

/** `attachRegion`, remembered so that `detachAll` (a file's afterEach) undoes it even when the test does not. */
export function attachForTest(region: SimulatedRegion, clients: Parameters<typeof attachRegion>[1]): RegionAttachment {
  const attachment = attachRegion(region, clients);
  open.push(attachment);
  return attachment;
}

/**
 * Detaches every region this file's tests attached and left attached: test files share worker threads
 * (vitest.config.ts), and an attachment keeps the timers and the clock patched for the region (detaching twice is
 * harmless).
 */
export function detachAll(): void {
  for (const attachment of open.splice(0)) attachment.detach();
}

/** A region with one environment and real SDK clients (the SDK's default configuration) routed to it. */
export function simulatedWorld(options: WorldOptions = {}) {
  const region = new SimulatedRegion({ ...(options.region ?? INSTANT_REGION), timing: options.timing });
  const settings = createEnvironment(region, options.environment);
  const clients = {
    autoScaling: new AutoScalingClient({ region: "us-east-1" }),
    ec2: new EC2Client({ region: "us-east-1" }),
    elbv2: new ElasticLoadBalancingV2Client({ region: "us-east-1" }),
    elb: new ElasticLoadBalancingClient({ region: "us-east-1" }),
  };
  const attachment = attachForTest(region, Object.values(clients));
  return { region, settings, clients, attachment };
}

/** An available release image, as a finished bake leaves it. */
export function releaseImage(region: SimulatedRegion, settings: EnvironmentSettings, release: string): string {
  return region.ec2.createImage({
    name: `${settings.app}-${release}`,
    tags: [
      { Key: TAG.app, Value: settings.app },
      { Key: TAG.environment, Value: settings.environment },
      { Key: TAG.release, Value: release },
      { Key: TAG.role, Value: IMAGE_ROLE.release },
    ],
  }).imageId;
}

/** What Launch does: a launch template version with the image, and a group pinned to it behind the LB. */
export async function launchGroup(
  world: ReturnType<typeof simulatedWorld>,
  options: { release: string; groupName?: string; desired?: number; max?: number },
): Promise<string> {
  const { region, settings, clients } = world;
  const imageId = releaseImage(region, settings, options.release);
  const version = await clients.ec2.send(
    new CreateLaunchTemplateVersionCommand({
      LaunchTemplateId: settings.launchTemplateId,
      SourceVersion: "$Default",
      LaunchTemplateData: { ImageId: imageId },
    }),
  );
  const groupName = options.groupName ?? `${settings.app}-${settings.environment}-${options.release}`;
  const desired = options.desired ?? settings.capacity.desired;
  await clients.autoScaling.send(
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: groupName,
      LaunchTemplate: { LaunchTemplateId: settings.launchTemplateId, Version: String(version.LaunchTemplateVersion?.VersionNumber) },
      MinSize: Math.min(settings.capacity.min, desired),
      DesiredCapacity: desired,
      MaxSize: options.max ?? Math.max(settings.capacity.max, desired),
      VPCZoneIdentifier: settings.subnetIds.join(","),
      HealthCheckType: "ELB",
      HealthCheckGracePeriod: settings.healthCheckGracePeriodSeconds,
      ...(settings.loadBalancer.kind === "application"
        ? { TargetGroupARNs: [settings.loadBalancer.targetGroupArn] }
        : { LoadBalancerNames: [settings.loadBalancer.loadBalancerName] }),
      Tags: [
        { Key: TAG.app, Value: settings.app, PropagateAtLaunch: true },
        { Key: TAG.environment, Value: settings.environment, PropagateAtLaunch: true },
        { Key: TAG.release, Value: options.release, PropagateAtLaunch: true },
      ],
    }),
  );
  return groupName;
}

export async function describeGroup(world: ReturnType<typeof simulatedWorld>, name: string) {
  const result = await world.clients.autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }));
  return result.AutoScalingGroups?.[0];
}

/**
 * The product's own SDK clients (functions/lib/clients.ts) and clock routed to a fresh simulated region with
 * one environment: stage functions called directly meet AWS as the simulator models it. `close()` undoes it.
 */
export function productWorld(options: WorldOptions = {}) {
  const region = new SimulatedRegion({ ...(options.region ?? INSTANT_REGION), timing: options.timing });
  const settings = createEnvironment(region, { app: "shop", environment: "dev01", ...options.environment });
  const attachment = attachRegion(region, allClients);
  const restoreClock = bindFunctionClock(region);
  return {
    region,
    settings,
    attachment,
    clients: { autoScaling, ec2, elbv2, elb },
    /** The deploy state as Step Functions hands it to a stage (override any part). */
    state(overrides: Partial<DeployState> = {}): DeployState {
      return {
        settings,
        input: {},
        execution: { id: EXECUTION_ARN, name: "exec-me", startTime: new Date(region.now()).toISOString() },
        ...overrides,
      };
    },
    close() {
      attachment.detach();
      restoreClock();
    },
  };
}

/** The execution every `productWorld` state belongs to. */
export const EXECUTION_ARN = "arn:aws:states:us-east-1:123456789012:execution:shop-dev01-deploy:exec-me";

/** What configureByHand points hooks and alarms at. */
export const BY_HAND = {
  hookTarget: "arn:aws:sqs:us-east-1:123456789012:lifecycle-hooks",
  hookRole: "arn:aws:iam::123456789012:role/hook-publisher",
  opsTopic: "arn:aws:sns:us-east-1:123456789012:ops",
} as const;

/**
 * Everything an operator can set on a group by hand, one of each kind (through the region's own API, so AWS's
 * validation applies): target-tracking (customized metric), step (with its CloudWatch alarm), simple and predictive
 * policies; a recurring scheduled action in a time zone and a one-time one; a launch hook with a notification
 * target and role and a termination hook; a warm pool; AZRebalance suspended; every group attribute; a tag.
 */
export function configureByHand(world: { region: SimulatedRegion }, name: string): { stepPolicyArn: string } {
  const asOperator = (operation: string, input: object) => world.region.call("AutoScaling", operation, input);
  const AutoScalingGroupName = name;
  asOperator("PutScalingPolicy", {
    AutoScalingGroupName,
    PolicyName: "queue-backlog",
    PolicyType: "TargetTrackingScaling",
    TargetTrackingConfiguration: {
      CustomizedMetricSpecification: { MetricName: "Backlog", Namespace: "Shop", Statistic: "Average", Dimensions: [{ Name: "AutoScalingGroupName", Value: name }] },
      TargetValue: 10,
    },
  });
  const { PolicyARN: stepPolicyArn } = asOperator("PutScalingPolicy", {
    AutoScalingGroupName,
    PolicyName: "cpu-high",
    PolicyType: "StepScaling",
    AdjustmentType: "ChangeInCapacity",
    StepAdjustments: [{ MetricIntervalLowerBound: 0, ScalingAdjustment: 2 }],
    EstimatedInstanceWarmup: 90,
  }) as { PolicyARN: string };
  world.region.call("CloudWatch", "PutMetricAlarm", {
    AlarmName: "shop-cpu-high",
    MetricName: "CPUUtilization",
    Namespace: "AWS/EC2",
    Statistic: "Average",
    Dimensions: [{ Name: "AutoScalingGroupName", Value: name }],
    Period: 60,
    EvaluationPeriods: 3,
    Threshold: 80,
    ComparisonOperator: "GreaterThanThreshold",
    AlarmActions: [stepPolicyArn, BY_HAND.opsTopic],
  });
  asOperator("PutScalingPolicy", { AutoScalingGroupName, PolicyName: "add-one", AdjustmentType: "ChangeInCapacity", ScalingAdjustment: 1, Cooldown: 120 });
  asOperator("PutScalingPolicy", {
    AutoScalingGroupName,
    PolicyName: "forecast",
    PolicyType: "PredictiveScaling",
    PredictiveScalingConfiguration: { MetricSpecifications: [{ TargetValue: 40, PredefinedMetricPairSpecification: { PredefinedMetricType: "ASGCPUUtilization" } }], Mode: "ForecastOnly" },
  });
  asOperator("PutScheduledUpdateGroupAction", { AutoScalingGroupName, ScheduledActionName: "nightly", Recurrence: "0 22 * * *", DesiredCapacity: 1, TimeZone: "Europe/Berlin" });
  asOperator("PutScheduledUpdateGroupAction", { AutoScalingGroupName, ScheduledActionName: "launch-day", StartTime: new Date(world.region.now() + 7 * 86_400_000), DesiredCapacity: 4 });
  asOperator("PutLifecycleHook", {
    AutoScalingGroupName,
    LifecycleHookName: "register",
    LifecycleTransition: "autoscaling:EC2_INSTANCE_LAUNCHING",
    HeartbeatTimeout: 30,
    DefaultResult: "CONTINUE",
    NotificationTargetARN: BY_HAND.hookTarget,
    RoleARN: BY_HAND.hookRole,
    NotificationMetadata: "shop",
  });
  asOperator("PutLifecycleHook", { AutoScalingGroupName, LifecycleHookName: "drain", LifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING", HeartbeatTimeout: 60, DefaultResult: "CONTINUE" });
  asOperator("PutWarmPool", { AutoScalingGroupName, MinSize: 1, PoolState: "Stopped", InstanceReusePolicy: { ReuseOnScaleIn: true } });
  asOperator("SuspendProcesses", { AutoScalingGroupName, ScalingProcesses: ["AZRebalance"] });
  asOperator("UpdateAutoScalingGroup", {
    AutoScalingGroupName,
    TerminationPolicies: ["OldestInstance"],
    MaxInstanceLifetime: 604_800,
    CapacityRebalance: true,
    DefaultCooldown: 120,
    DefaultInstanceWarmup: 60,
    InstanceMaintenancePolicy: { MinHealthyPercentage: 90, MaxHealthyPercentage: 120 },
  });
  asOperator("CreateOrUpdateTags", { Tags: [{ ResourceId: name, ResourceType: "auto-scaling-group", Key: "team", Value: "web", PropagateAtLaunch: true }] });
  return { stepPolicyArn };
}
