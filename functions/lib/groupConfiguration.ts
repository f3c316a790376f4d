/**
 * What makes a new group the live one's equal besides its image (docs/design.md "Deploy", step 4):
 * - its capacity: max(configured, the live groups' now), for min, desired and max alike (a deploy never shrinks
 *   the environment), read again right before traffic moves (`matchLiveCapacity`);
 * - the live group's configuration, carried over: scaling policies of every type (with copies of the CloudWatch
 *   alarms of step and simple policies), scheduled actions, lifecycle hooks (with their notification targets and
 *   roles), suspended processes, termination policies, max instance lifetime, capacity rebalance, instance
 *   maintenance policy, default cooldown and warm-up, warm pool, and tags that are not this project's;
 * - the stage's configuration (`scaling`, `mixedInstances`), which wins where both define the same thing;
 * - the scale-in hold: while both groups serve, neither acts on alarms (the old one on schedules neither), so
 *   that the two cannot fight; released on rollback (the old groups) and at retirement (the new group).
 * Stage functions call in with one line each: launchReleaseGroup (`prepareCarryOver`), the two health checks
 * (`matchLiveCapacity`), retireGroups and rollback (`releaseScaleIn`), deleteOldGroups (`deleteOrphanedAlarmCopies`).
 */
import {
  type AutoScalingGroup,
  type CreateAutoScalingGroupCommandInput,
  CreateOrUpdateTagsCommand,
  DeleteTagsCommand,
  DescribeLifecycleHooksCommand,
  DescribeWarmPoolCommand,
  type LifecycleHook,
  type LifecycleHookSpecification,
  paginateDescribePolicies,
  paginateDescribeScheduledActions,
  PutScalingPolicyCommand,
  type PutScalingPolicyCommandInput,
  PutScheduledUpdateGroupActionCommand,
  type PutScheduledUpdateGroupActionCommandInput,
  PutWarmPoolCommand,
  ResumeProcessesCommand,
  type ScalingPolicy,
  type ScheduledUpdateGroupAction,
  SuspendProcessesCommand,
  type Tag,
  type WarmPoolConfiguration,
} from "@aws-sdk/client-auto-scaling";
import { DeleteAlarmsCommand, type MetricAlarm, paginateDescribeAlarms, PutMetricAlarmCommand, type PutMetricAlarmCommandInput } from "@aws-sdk/client-cloudwatch";
import { DescribeTargetGroupsCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import { autoScaling, cloudWatch, elbv2 } from "./clients.js";
import { nowSeconds } from "./clock.js";
import type { DeployState, EnvironmentSettings } from "./contract.js";
import { LaunchFailedError } from "./errors.js";
import { describeEnvironmentGroups, describeGroupsByName, isBeingDeleted, isGroupNotFound, resizeGroup, tagValue } from "./groups.js";
import { logger } from "./logger.js";
import type { TrafficTarget } from "./loadBalancer.js";
import { PROJECT, SCALING, TAG } from "./names.js";
import { listSome } from "./polling.js";

// ---- Capacity ----------------------------------------------------------------------------------------------

export interface GroupCapacity {
  min: number;
  desired: number;
  max: number;
}

const capacityOf = (group: AutoScalingGroup): GroupCapacity => ({ min: group.MinSize ?? 0, desired: group.DesiredCapacity ?? 0, max: group.MaxSize ?? 0 });

/**
 * The new group's capacity: each of min, desired and max the larger of the configured value and the live
 * groups' (an operator who raised the live group's max by hand, or scaled it out, keeps that room and those
 * instances; a deploy never shrinks the environment). Min never exceeds desired, max never falls below it.
 */
export function newGroupCapacity(settings: EnvironmentSettings, live: GroupCapacity[]): GroupCapacity {
  const desired = Math.max(settings.capacity.desired, ...live.map((group) => group.desired));
  return {
    min: Math.min(desired, Math.max(settings.capacity.min, ...live.map((group) => group.min))),
    desired,
    max: Math.max(settings.capacity.max, desired, ...live.map((group) => group.max)),
  };
}

// ---- The scale-in hold -------------------------------------------------------------------------------------

/**
 * Suspended on the old groups from Launch on. "Suspending AlarmNotification allows you to temporarily stop the
 * group's target tracking, step, and simple scaling policies without deleting the scaling policies or their
 * associated CloudWatch alarms" (Auto Scaling User Guide, "Considerations for suspending processes");
 * ScheduledActions is the process of the group's scheduled actions (SuspendProcesses' list of processes). While
 * the new group shares the traffic, the old group's policies would see half the load and scale it in, and a
 * schedule could relaunch instances into a group being retired. An operator's SetDesiredCapacity still works
 * (and is matched before cutover).
 */
const OLD_GROUP_HOLD = ["AlarmNotification", "ScheduledActions"] as const;
/**
 * Suspended on the new group while the old one still serves: its policies would see half the load and shrink it
 * under the capacity it must reach before cutover. Its schedules stay on: it is the group that will serve then.
 */
const NEW_GROUP_HOLD = ["AlarmNotification"] as const;
/** Processes a new group never inherits: without them it cannot launch, register or later be retired. */
const DEPLOY_NEEDS = ["Launch", "Terminate", "AddToLoadBalancer"];

/** The processes a deploy's hold suspended on the group (its tag). */
function heldProcesses(group: AutoScalingGroup): string[] {
  return (tagValue(group.Tags, TAG.scaleInHold) ?? "").split(",").filter(Boolean);
}

/** The processes suspended on the group by anyone but a deploy's hold: an operator's, carried over. */
function operatorSuspendedProcesses(group: AutoScalingGroup): string[] {
  const held = new Set(heldProcesses(group));
  return (group.SuspendedProcesses ?? [])
    .flatMap((process) => (process.ProcessName ? [process.ProcessName] : []))
    .filter((name) => !held.has(name))
    .sort();
}

function holdTag(groupName: string, processes: string[]): Tag {
  return { ResourceId: groupName, ResourceType: "auto-scaling-group", Key: TAG.scaleInHold, Value: processes.join(","), PropagateAtLaunch: false };
}

/**
 * Suspends `processes` on an existing group, except those already suspended by an operator (they stay theirs),
 * recording what it suspended in the group's hold tag first (a crash in between leaves the tag, which a release
 * reads). Idempotent. SuspendProcesses with no process suspends them all: never called empty.
 */
async function holdScaleIn(group: AutoScalingGroup, processes: readonly string[]): Promise<string[]> {
  const name = group.AutoScalingGroupName ?? "";
  const operator = new Set(operatorSuspendedProcesses(group));
  const hold = [...new Set([...heldProcesses(group), ...processes.filter((process) => !operator.has(process))])].sort();
  if (hold.length === 0) return [];
  await autoScaling.send(new CreateOrUpdateTagsCommand({ Tags: [holdTag(name, hold)] }));
  await autoScaling.send(new SuspendProcessesCommand({ AutoScalingGroupName: name, ScalingProcesses: hold }));
  logger.info("holding the group's scaling during the deploy", { groupName: name, processes: hold });
  return hold;
}

/**
 * Ends a deploy's hold on the named groups: resumes exactly the processes its tag lists, then removes the tag, so
 * every policy and process is as the operator left it. Groups without the tag, gone or being deleted are skipped.
 * Called by rollback (the groups that served, and the new group) and by retirement (the new group).
 */
export async function releaseScaleIn(groupNames: string[]): Promise<string[]> {
  const released: string[] = [];
  for (const group of await describeGroupsByName(groupNames)) {
    const name = group.AutoScalingGroupName ?? "";
    if (isBeingDeleted(group) || tagValue(group.Tags, TAG.scaleInHold) === undefined) continue;
    const held = heldProcesses(group);
    try {
      // ResumeProcesses with no process resumes them all: only ever the held ones.
      if (held.length > 0) await autoScaling.send(new ResumeProcessesCommand({ AutoScalingGroupName: name, ScalingProcesses: held }));
      await autoScaling.send(new DeleteTagsCommand({ Tags: [holdTag(name, held)] }));
    } catch (error) {
      if (isGroupNotFound(error)) continue;
      throw error;
    }
    logger.info("released the deploy's hold on the group", { groupName: name, processes: held });
    released.push(name);
  }
  return released;
}

// ---- Reading the live group --------------------------------------------------------------------------------

/** What the live group has besides its instances, as Auto Scaling and CloudWatch describe it. */
interface LiveConfiguration {
  group: AutoScalingGroup;
  policies: ScalingPolicy[];
  /** The alarms of its step and simple policies (target tracking and predictive policies own theirs). */
  alarms: MetricAlarm[];
  scheduledActions: ScheduledUpdateGroupAction[];
  hooks: LifecycleHook[];
  warmPool?: WarmPoolConfiguration;
}

/** DescribeAlarms takes at most 100 names ("AlarmNames ... max 100", botocore cloudwatch 2010-08-01). */
const ALARM_NAMES_PER_CALL = 100;
const OWN_ALARM_POLICY_TYPES = ["TargetTrackingScaling", "PredictiveScaling"];

async function readLiveConfiguration(group: AutoScalingGroup): Promise<LiveConfiguration> {
  const AutoScalingGroupName = group.AutoScalingGroupName ?? "";
  const policies: ScalingPolicy[] = [];
  for await (const page of paginateDescribePolicies({ client: autoScaling, pageSize: 100 }, { AutoScalingGroupName }))
    policies.push(...(page.ScalingPolicies ?? []));
  const scheduledActions: ScheduledUpdateGroupAction[] = [];
  for await (const page of paginateDescribeScheduledActions({ client: autoScaling, pageSize: 100 }, { AutoScalingGroupName }))
    scheduledActions.push(...(page.ScheduledUpdateGroupActions ?? []));
  const hooks = (await autoScaling.send(new DescribeLifecycleHooksCommand({ AutoScalingGroupName }))).LifecycleHooks ?? [];
  const warmPool = (await autoScaling.send(new DescribeWarmPoolCommand({ AutoScalingGroupName, MaxRecords: 1 }))).WarmPoolConfiguration;

  const alarmNames = [
    ...new Set(
      policies
        .filter((policy) => !OWN_ALARM_POLICY_TYPES.includes(policy.PolicyType ?? ""))
        .flatMap((policy) => (policy.Alarms ?? []).flatMap((alarm) => (alarm.AlarmName ? [alarm.AlarmName] : []))),
    ),
  ];
  const alarms: MetricAlarm[] = [];
  for (let i = 0; i < alarmNames.length; i += ALARM_NAMES_PER_CALL) {
    const AlarmNames = alarmNames.slice(i, i + ALARM_NAMES_PER_CALL);
    for await (const page of paginateDescribeAlarms({ client: cloudWatch }, { AlarmNames, AlarmTypes: ["MetricAlarm"] }))
      alarms.push(...(page.MetricAlarms ?? []));
  }
  return { group, policies, alarms, scheduledActions, hooks, warmPool };
}

/** The group whose configuration the new one takes: the largest live group (the newest on a tie). */
function sourceGroup(live: AutoScalingGroup[]): AutoScalingGroup | undefined {
  const created = (group: AutoScalingGroup) => group.CreatedTime?.getTime() ?? 0;
  return [...live].sort((a, b) => (b.DesiredCapacity ?? 0) - (a.DesiredCapacity ?? 0) || created(b) - created(a))[0];
}

// ---- Planning the new group (pure) -------------------------------------------------------------------------

/** What the new group gets, and the words for the launch's message. */
export interface NewGroupPlan {
  capacity: GroupCapacity;
  /** CreateAutoScalingGroup parameters beyond the launch's own (hooks, attributes, tags, mixed instances). */
  create: Partial<CreateAutoScalingGroupCommandInput>;
  policies: PutScalingPolicyCommandInput[];
  scheduledActions: PutScheduledUpdateGroupActionCommandInput[];
  warmPool?: WarmPoolConfiguration;
  /** Processes to suspend on the new group: the operator's carried over, and the hold while the old group serves. */
  suspend: string[];
  /** Of those, the hold (recorded in the hold tag at creation). */
  hold: string[];
  /** Alarms of the live group's step and simple policies, and the policy ARN each copied policy replaces. */
  alarms: MetricAlarm[];
  policyArns: Map<string, string>;
  source?: string;
  carried: string[];
  configured: string[];
}

/**
 * "If you try to schedule your action in the past, Amazon EC2 Auto Scaling returns an error message"
 * (PutScheduledUpdateGroupAction): a StartTime is carried over only this far in the future.
 */
const START_TIME_MARGIN_SECONDS = 60;

/** A deep copy with every `{ Name: "AutoScalingGroupName", Value: from }` dimension pointed at `to`. */
function renameGroupDimensions<T>(value: T, from: string, to: string): T {
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (node instanceof Date || node === null || typeof node !== "object") return node;
    const entries = Object.entries(node as Record<string, unknown>).map(([key, inner]) => [key, walk(inner)]);
    const copy = Object.fromEntries(entries) as Record<string, unknown>;
    if (copy.Name === "AutoScalingGroupName" && copy.Value === from) copy.Value = to;
    return copy;
  };
  return walk(value) as T;
}

const defined = <T extends object>(value: T): T =>
  Object.fromEntries(Object.entries(value).filter(([, inner]) => inner !== undefined)) as T;

const isConfigured = (name: string | undefined) => (name ?? "").startsWith(SCALING.configuredPrefix);
const predefinedMetricOf = (policy: Pick<ScalingPolicy, "TargetTrackingConfiguration">) =>
  policy.TargetTrackingConfiguration?.PredefinedMetricSpecification?.PredefinedMetricType;
const timeZoneOf = (action: { TimeZone?: string }) => action.TimeZone ?? "UTC";

/** The stage's `scaling`, as PutScalingPolicy / PutScheduledUpdateGroupAction inputs (without the group name). */
function configuredScaling(settings: EnvironmentSettings, resourceLabel: string | undefined) {
  const tracking = settings.scaling.targetTracking;
  const policies: PutScalingPolicyCommandInput[] = tracking
    ? [
        defined({
          AutoScalingGroupName: "",
          PolicyName: SCALING.targetTrackingPolicy,
          PolicyType: "TargetTrackingScaling",
          EstimatedInstanceWarmup: tracking.warmupSeconds,
          TargetTrackingConfiguration: {
            PredefinedMetricSpecification: defined({
              PredefinedMetricType: SCALING.predefinedMetric[tracking.metric],
              ResourceLabel: tracking.metric === "requestCountPerTarget" ? resourceLabel : undefined,
            }),
            TargetValue: tracking.targetValue,
          },
        }),
      ]
    : [];
  const scheduledActions: PutScheduledUpdateGroupActionCommandInput[] = settings.scaling.scheduledActions.map((action) =>
    defined({
      AutoScalingGroupName: "",
      ScheduledActionName: `${SCALING.configuredPrefix}${action.name}`,
      Recurrence: action.recurrence,
      MinSize: action.minCapacity,
      DesiredCapacity: action.desiredCapacity,
      MaxSize: action.maxCapacity,
      TimeZone: action.timeZone,
    }),
  );
  return { policies, scheduledActions };
}

function mixedInstancesPolicy(settings: EnvironmentSettings, launchTemplate: { LaunchTemplateId: string; Version: string }) {
  const mixed = settings.mixedInstances;
  if (!mixed) return undefined;
  return {
    LaunchTemplate: {
      LaunchTemplateSpecification: launchTemplate,
      Overrides: mixed.instanceTypes.map((InstanceType) => ({ InstanceType })),
    },
    InstancesDistribution: {
      OnDemandAllocationStrategy: "prioritized",
      OnDemandBaseCapacity: mixed.onDemandBaseCapacity,
      OnDemandPercentageAboveBaseCapacity: mixed.onDemandPercentageAboveBaseCapacity,
      SpotAllocationStrategy: mixed.spotAllocationStrategy,
    },
  };
}

/**
 * The launch template part of CreateAutoScalingGroup: the pinned version alone, or within the configured
 * MixedInstancesPolicy ("You must specify either a launch template (LaunchTemplate or MixedInstancesPolicy)").
 */
export function launchParameters(settings: EnvironmentSettings, version: string): Pick<CreateAutoScalingGroupCommandInput, "LaunchTemplate" | "MixedInstancesPolicy"> {
  const launchTemplate = { LaunchTemplateId: settings.launchTemplateId, Version: version };
  const mixed = mixedInstancesPolicy(settings, launchTemplate);
  return mixed ? { MixedInstancesPolicy: mixed } : { LaunchTemplate: launchTemplate };
}

/**
 * What the new group gets from the live groups (described now) and the configuration. Pure: every decision of
 * the carry-over is here, apart from the calls. `now` is epoch seconds.
 */
function planNewGroup(input: {
  settings: EnvironmentSettings;
  newGroupName: string;
  live: AutoScalingGroup[];
  source?: LiveConfiguration;
  now: number;
  resourceLabel?: string;
}): NewGroupPlan {
  const { settings, newGroupName, live, source, now } = input;
  const group = source?.group;
  const sourceName = group?.AutoScalingGroupName ?? "";
  const carried: string[] = [];
  const configured: string[] = [];
  const note = (what: string, names: (string | undefined)[]) => {
    const shown = names.filter((name): name is string => Boolean(name));
    if (shown.length > 0) carried.push(`${what} ${listSome(shown, 5)}`);
  };
  const fromConfig = configuredScaling(settings, input.resourceLabel);

  // Scaling policies: the configuration's target tracking replaces a live one on the same metric.
  const configuredMetrics = new Set(fromConfig.policies.map(predefinedMetricOf));
  const livePolicies = (source?.policies ?? []).filter(
    (policy) => !isConfigured(policy.PolicyName) && !(policy.PolicyType === "TargetTrackingScaling" && configuredMetrics.has(predefinedMetricOf(policy))),
  );
  const replaced = (source?.policies ?? []).filter((policy) => !isConfigured(policy.PolicyName) && !livePolicies.includes(policy));
  const policyArns = new Map<string, string>();
  const policies = [
    ...livePolicies.map((policy) => {
      if (policy.PolicyARN && policy.PolicyName) policyArns.set(policy.PolicyName, policy.PolicyARN);
      return renameGroupDimensions(
        defined({
          AutoScalingGroupName: newGroupName,
          PolicyName: policy.PolicyName,
          PolicyType: policy.PolicyType,
          AdjustmentType: policy.AdjustmentType,
          MinAdjustmentMagnitude: policy.MinAdjustmentMagnitude,
          ScalingAdjustment: policy.ScalingAdjustment,
          Cooldown: policy.Cooldown,
          MetricAggregationType: policy.MetricAggregationType,
          StepAdjustments: policy.StepAdjustments,
          EstimatedInstanceWarmup: policy.EstimatedInstanceWarmup,
          TargetTrackingConfiguration: policy.TargetTrackingConfiguration,
          PredictiveScalingConfiguration: policy.PredictiveScalingConfiguration,
          Enabled: policy.Enabled,
        }),
        sourceName,
        newGroupName,
      );
    }),
    ...fromConfig.policies.map((policy) => ({ ...policy, AutoScalingGroupName: newGroupName })),
  ];
  note("scaling policies", livePolicies.map((policy) => policy.PolicyName));

  // Scheduled actions: the configuration's replace a live one at the same time (recurrence and time zone).
  const configuredTimes = new Set(fromConfig.scheduledActions.map((action) => `${action.Recurrence}|${timeZoneOf(action)}`));
  const startsLater = (time: Date | undefined) => time !== undefined && time.getTime() / 1000 > now + START_TIME_MARGIN_SECONDS;
  const liveActions = (source?.scheduledActions ?? []).filter(
    (action) =>
      !isConfigured(action.ScheduledActionName) &&
      !(action.Recurrence && configuredTimes.has(`${action.Recurrence}|${timeZoneOf(action)}`)) &&
      // A one-time action due within the margin, or a schedule already over, has nothing left to carry.
      (action.Recurrence ? action.EndTime === undefined || startsLater(action.EndTime) : startsLater(action.StartTime)),
  );
  const scheduledActions = [
    ...liveActions.map((action) =>
      defined({
        AutoScalingGroupName: newGroupName,
        ScheduledActionName: action.ScheduledActionName,
        Recurrence: action.Recurrence,
        StartTime: startsLater(action.StartTime) ? action.StartTime : undefined,
        EndTime: action.EndTime,
        MinSize: action.MinSize,
        MaxSize: action.MaxSize,
        DesiredCapacity: action.DesiredCapacity,
        TimeZone: action.TimeZone,
      }),
    ),
    ...fromConfig.scheduledActions.map((action) => ({ ...action, AutoScalingGroupName: newGroupName })),
  ];
  note("scheduled actions", liveActions.map((action) => action.ScheduledActionName));

  const hooks: LifecycleHookSpecification[] = (source?.hooks ?? []).map((hook) =>
    defined({
      LifecycleHookName: hook.LifecycleHookName ?? "",
      LifecycleTransition: hook.LifecycleTransition ?? "",
      NotificationMetadata: hook.NotificationMetadata,
      HeartbeatTimeout: hook.HeartbeatTimeout,
      DefaultResult: hook.DefaultResult,
      NotificationTargetARN: hook.NotificationTargetARN,
      RoleARN: hook.RoleARN,
    }),
  );
  note("lifecycle hooks", hooks.map((hook) => hook.LifecycleHookName));

  // Group attributes, each only where it differs from AWS's default.
  const create: Partial<CreateAutoScalingGroupCommandInput> = {};
  if (group) {
    const terminationPolicies = group.TerminationPolicies ?? [];
    if (terminationPolicies.length > 0 && terminationPolicies.join() !== "Default") create.TerminationPolicies = terminationPolicies;
    if (group.MaxInstanceLifetime) create.MaxInstanceLifetime = group.MaxInstanceLifetime;
    if (group.CapacityRebalance) create.CapacityRebalance = true;
    if (group.InstanceMaintenancePolicy) create.InstanceMaintenancePolicy = group.InstanceMaintenancePolicy;
    if (group.DefaultCooldown !== undefined && group.DefaultCooldown !== 300) create.DefaultCooldown = group.DefaultCooldown;
    if (group.DefaultInstanceWarmup !== undefined) create.DefaultInstanceWarmup = group.DefaultInstanceWarmup;
    const attributes = Object.keys(create).map((key) => key.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase());
    if (attributes.length > 0) carried.push(attributes.join(", "));
    const tags = (group.Tags ?? []).filter((tag) => tag.Key && !tag.Key.startsWith(`${PROJECT}:`) && !tag.Key.startsWith("aws:") && tag.Key !== "Name");
    if (tags.length > 0) {
      create.Tags = tags.map((tag) => ({ ResourceId: newGroupName, ResourceType: "auto-scaling-group", Key: tag.Key, Value: tag.Value ?? "", PropagateAtLaunch: tag.PropagateAtLaunch ?? false }));
      note("tags", tags.map((tag) => tag.Key));
    }
  }
  if (hooks.length > 0) create.LifecycleHookSpecificationList = hooks;

  const warmPool = source?.warmPool && source.warmPool.Status !== "PendingDelete" ? source.warmPool : undefined;
  if (warmPool) carried.push("warm pool");

  const operator = group ? operatorSuspendedProcesses(group).filter((process) => !DEPLOY_NEEDS.includes(process)) : [];
  note("suspended processes", operator);
  // The hold: only while an old group serves, and only if the new group has policies to act on.
  const hold = live.length > 0 && policies.length > 0 ? NEW_GROUP_HOLD.filter((process) => !operator.includes(process)) : [];

  if (fromConfig.policies.length > 0 && settings.scaling.targetTracking) {
    const { metric, targetValue } = settings.scaling.targetTracking;
    configured.push(`target tracking ${metric} ${targetValue}${replaced.length > 0 ? ` (in place of ${replaced.map((policy) => policy.PolicyName).join(", ")})` : ""}`);
  }
  if (fromConfig.scheduledActions.length > 0) configured.push(`scheduled actions ${fromConfig.scheduledActions.map((action) => action.ScheduledActionName).join(", ")}`);
  if (settings.mixedInstances) configured.push(`mixed instances ${settings.mixedInstances.instanceTypes.join(", ")}`);

  return {
    capacity: newGroupCapacity(settings, live.map(capacityOf)),
    create,
    policies,
    scheduledActions,
    warmPool,
    suspend: [...new Set([...operator, ...hold])].sort(),
    hold,
    alarms: (source?.alarms ?? []).filter((alarm) => alarmPolicies(alarm, policyArns).length > 0),
    policyArns,
    ...(group ? { source: sourceName } : {}),
    carried,
    configured,
  };
}

/** The carried policies (by name) whose ARN an alarm's actions name. */
function alarmPolicies(alarm: MetricAlarm, policyArns: Map<string, string>): string[] {
  const actions = new Set([...(alarm.AlarmActions ?? []), ...(alarm.OKActions ?? []), ...(alarm.InsufficientDataActions ?? [])]);
  return [...policyArns].filter(([, arn]) => actions.has(arn)).map(([name]) => name);
}

// ---- Alarm copies ------------------------------------------------------------------------------------------

/** Alarm names are at most 255 characters (botocore cloudwatch 2010-08-01, AlarmName). */
const ALARM_NAME_MAX = 255;

/**
 * A copied alarm is named `<group name>:<original name>`: group names cannot contain ":" ("You cannot use a colon
 * (:) in the name", CreateAutoScalingGroup), so the prefix tells which group a copy belongs to, and a copy of a
 * copy keeps the original name.
 */
function alarmCopyName(groupName: string, alarmName: string, sourceGroupName: string): string {
  const original = alarmName.startsWith(`${sourceGroupName}:`) ? alarmName.slice(sourceGroupName.length + 1) : alarmName;
  return `${groupName}:${original}`.slice(0, ALARM_NAME_MAX);
}

function alarmCopy(alarm: MetricAlarm, plan: NewGroupPlan, newArns: Map<string, string>, newGroupName: string, settings: EnvironmentSettings): PutMetricAlarmCommandInput {
  const replacements = new Map([...plan.policyArns].flatMap(([name, oldArn]) => (newArns.has(name) ? [[oldArn, newArns.get(name)!] as const] : [])));
  const actions = (list: string[] | undefined) => list?.map((action) => replacements.get(action) ?? action);
  return renameGroupDimensions(
    defined({
      AlarmName: alarmCopyName(newGroupName, alarm.AlarmName ?? "", plan.source ?? ""),
      AlarmDescription: alarm.AlarmDescription,
      ActionsEnabled: alarm.ActionsEnabled,
      OKActions: actions(alarm.OKActions),
      AlarmActions: actions(alarm.AlarmActions),
      InsufficientDataActions: actions(alarm.InsufficientDataActions),
      MetricName: alarm.MetricName,
      Namespace: alarm.Namespace,
      Statistic: alarm.Statistic,
      ExtendedStatistic: alarm.ExtendedStatistic,
      Dimensions: alarm.Dimensions,
      Period: alarm.Period,
      Unit: alarm.Unit,
      EvaluationPeriods: alarm.EvaluationPeriods,
      DatapointsToAlarm: alarm.DatapointsToAlarm,
      Threshold: alarm.Threshold,
      ComparisonOperator: alarm.ComparisonOperator,
      TreatMissingData: alarm.TreatMissingData,
      EvaluateLowSampleCountPercentile: alarm.EvaluateLowSampleCountPercentile,
      Metrics: alarm.Metrics,
      ThresholdMetricId: alarm.ThresholdMetricId,
      // The tags IAM's PutMetricAlarm statement requires (aws:RequestTag); ignored when the alarm exists.
      Tags: [
        { Key: TAG.app, Value: settings.app },
        { Key: TAG.environment, Value: settings.environment },
      ],
    }),
    plan.source ?? "",
    newGroupName,
  );
}

/**
 * Deletes the alarm copies of groups that no longer exist or are being deleted (retired, or a rolled-back new
 * group): named `<group>:...` with a group name of this environment. Operators' own alarms are never touched.
 */
export async function deleteOrphanedAlarmCopies(settings: EnvironmentSettings): Promise<string[]> {
  const prefix = `${settings.app}-${settings.environment}-`;
  const copies: string[] = [];
  for await (const page of paginateDescribeAlarms({ client: cloudWatch }, { AlarmNamePrefix: prefix, AlarmTypes: ["MetricAlarm"] }))
    copies.push(...(page.MetricAlarms ?? []).flatMap((alarm) => (alarm.AlarmName?.includes(":") ? [alarm.AlarmName] : [])));
  if (copies.length === 0) return [];
  const groups = new Set((await describeEnvironmentGroups(settings)).filter((group) => !isBeingDeleted(group)).map((group) => group.AutoScalingGroupName));
  const orphans = copies.filter((name) => !groups.has(name.slice(0, name.indexOf(":"))));
  for (let i = 0; i < orphans.length; i += ALARM_NAMES_PER_CALL)
    await cloudWatch.send(new DeleteAlarmsCommand({ AlarmNames: orphans.slice(i, i + ALARM_NAMES_PER_CALL) }));
  if (orphans.length > 0) logger.info("deleted the alarm copies of groups that are gone", { alarms: orphans });
  return orphans;
}

// ---- Launch: reading, holding, applying --------------------------------------------------------------------

/**
 * ALBRequestCountPerTarget's ResourceLabel: `app/<lb>/<id>/targetgroup/<tg>/<id>` (PredefinedMetricSpecification),
 * of the target group the new group is attached to (`target`: ALB environments take turns on two).
 */
async function requestCountResourceLabel(settings: EnvironmentSettings, target: TrafficTarget): Promise<string | undefined> {
  if (settings.scaling.targetTracking?.metric !== "requestCountPerTarget") return undefined;
  if (target.kind !== "application") throw new LaunchFailedError('scaling.targetTracking: "requestCountPerTarget" needs an application load balancer');
  const { targetGroupArn } = target;
  const [targetGroup] = (await elbv2.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [targetGroupArn] }))).TargetGroups ?? [];
  const loadBalancerArn = targetGroup?.LoadBalancerArns?.[0];
  if (!loadBalancerArn) throw new LaunchFailedError(`scaling.targetTracking: target group ${targetGroupArn} is attached to no load balancer, so requests per target cannot be tracked`);
  return `${loadBalancerArn.slice(loadBalancerArn.indexOf(":loadbalancer/") + ":loadbalancer/".length)}/${targetGroupArn.slice(targetGroupArn.lastIndexOf(":") + 1)}`;
}

/** What launchReleaseGroup needs from the carry-over: the new group's plan, and how to finish it once created. */
export interface CarryOver {
  plan: NewGroupPlan;
  /** Tags for CreateAutoScalingGroup (the live group's others, and the hold's). */
  tags(newGroupName: string): Tag[];
  /** Applies what CreateAutoScalingGroup cannot take; idempotent (every call is a put). */
  apply(newGroupName: string): Promise<void>;
  /** The launch's progress line. */
  message(newGroupName: string, desired: number): string;
}

/**
 * Reads the live groups as they are now, holds their scaling, and plans the new group. Called by Launch before
 * it creates the new group (a re-run finds the hold in place and plans the same).
 */
export async function prepareCarryOver(state: DeployState, newGroupName: string, target: TrafficTarget): Promise<CarryOver> {
  const { settings } = state;
  const names = (state.plan?.liveGroups ?? []).map((group) => group.name).filter((name) => name !== newGroupName);
  const live = names.length > 0 ? (await describeGroupsByName(names)).filter((group) => !isBeingDeleted(group) && group.AutoScalingGroupName !== newGroupName) : [];
  const sourceOf = sourceGroup(live);
  const source = sourceOf ? await readLiveConfiguration(sourceOf) : undefined;
  const plan = planNewGroup({ settings, newGroupName, live, source, now: nowSeconds(), resourceLabel: await requestCountResourceLabel(settings, target) });
  const held: string[] = [];
  for (const group of live) {
    // Only what can act: alarms if the group has policies, schedules if it has scheduled actions (other live groups: both).
    const isSource = group === sourceOf;
    const processes = OLD_GROUP_HOLD.filter(
      (process) => !isSource || (process === "AlarmNotification" ? source!.policies.length > 0 : source!.scheduledActions.length > 0),
    );
    if ((await holdScaleIn(group, processes)).length > 0) held.push(group.AutoScalingGroupName ?? "");
  }
  const liveDesired = Math.max(0, ...live.map((group) => group.DesiredCapacity ?? 0));
  return {
    plan,
    tags: (groupName) => [...(plan.create.Tags ?? []), ...(plan.hold.length > 0 ? [holdTag(groupName, plan.hold)] : [])],
    apply: (groupName) => applyNewGroupPlan(groupName, plan, settings),
    message: (groupName, desired) => {
      const parts = [`launch: ${groupName} with ${desired} instance(s) (configured ${settings.capacity.desired}${plan.source ? `, live ${liveDesired}` : ""})`];
      if (plan.source) parts.push(plan.carried.length > 0 ? `carried over from ${plan.source}: ${plan.carried.join("; ")}` : `nothing to carry over from ${plan.source}`);
      if (plan.configured.length > 0) parts.push(`configured: ${plan.configured.join("; ")}`);
      if (held.length > 0 || plan.hold.length > 0) parts.push(`scaling held on ${[...held, ...(plan.hold.length > 0 ? [groupName] : [])].join(", ")} until cutover`);
      return parts.join("; ");
    },
  };
}

async function applyNewGroupPlan(groupName: string, plan: NewGroupPlan, settings: EnvironmentSettings): Promise<void> {
  const newArns = new Map<string, string>();
  for (const policy of plan.policies) {
    const answer = await autoScaling.send(new PutScalingPolicyCommand({ ...policy, AutoScalingGroupName: groupName }));
    if (policy.PolicyName && answer.PolicyARN) newArns.set(policy.PolicyName, answer.PolicyARN);
  }
  for (const alarm of plan.alarms) await cloudWatch.send(new PutMetricAlarmCommand(alarmCopy(alarm, plan, newArns, groupName, settings)));
  for (const action of plan.scheduledActions)
    await autoScaling.send(new PutScheduledUpdateGroupActionCommand({ ...action, AutoScalingGroupName: groupName }));
  if (plan.warmPool) {
    const { MaxGroupPreparedCapacity, MinSize, PoolState, InstanceReusePolicy } = plan.warmPool;
    await autoScaling.send(new PutWarmPoolCommand(defined({ AutoScalingGroupName: groupName, MaxGroupPreparedCapacity, MinSize, PoolState, InstanceReusePolicy })));
  }
  if (plan.suspend.length > 0) await autoScaling.send(new SuspendProcessesCommand({ AutoScalingGroupName: groupName, ScalingProcesses: plan.suspend }));
  logger.info("new group configured", { groupName, source: plan.source, carried: plan.carried, configured: plan.configured });
}

// ---- Capacity at cutover -----------------------------------------------------------------------------------

/**
 * The capacity the new group must reach before traffic moves: max(configured desired, the live groups' desired
 * now). Read again when a check finds the group ready (a scale-out during the bake or the health wait is not
 * lost); a larger number raises the new group's desired capacity (and its max, if needed) and is returned.
 */
export async function matchLiveCapacity(state: DeployState, group: AutoScalingGroup): Promise<number> {
  const name = group.AutoScalingGroupName ?? "";
  const current = group.DesiredCapacity ?? 0;
  const names = (state.plan?.liveGroups ?? []).map((live) => live.name).filter((live) => live !== name);
  const live = names.length > 0 ? (await describeGroupsByName(names)).filter((found) => !isBeingDeleted(found)) : [];
  const needed = newGroupCapacity(state.settings, live.map(capacityOf));
  if (needed.desired <= current) return current;
  const max = Math.max(group.MaxSize ?? 0, needed.max);
  await resizeGroup(name, { desired: needed.desired, max });
  logger.info("raised the new group to the live groups' capacity", { groupName: name, from: current, desired: needed.desired, max });
  return needed.desired;
}
