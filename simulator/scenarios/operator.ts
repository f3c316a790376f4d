import type { EnvironmentSettings } from "../../functions/lib/contract.js";
import { TAG } from "../../functions/lib/names.js";
import type { SimulatedRegion } from "../region/region.js";
import type { SimGroup } from "../region/services/autoscaling.js";
import { tagValueOf } from "../region/services/ec2.js";
import { environmentGroups } from "./inventory.js";
import type { ConfigureLiveGroupSpec, ScaleLiveGroupSpec } from "./schema.js";

/**
 * The live group, and what an operator does to it by hand (scenario steps `scaleLiveGroup`,
 * `configureLiveGroup`, and `during`). Every change goes through the region's Auto Scaling API, so AWS's own
 * validation applies (a desired capacity above MaxSize is refused, not silently allowed).
 */

/** The top-level `liveGroup` of a scenario result (docs/design.md "Simulation"). */
export interface LiveGroupSummary {
  name: string;
  release?: string;
  desired: number;
  min: number;
  max: number;
  scalingPolicies: string[];
  lifecycleHooks: string[];
  scheduledActions: string[];
  suspendedProcesses: string[];
}

/** The names configureLiveGroup gives what it creates (README "Writing a scenario"). */
export const OPERATOR_NAMES = {
  cpuPolicy: (percent: number) => `cpu-target-${percent}`,
  terminationHook: (seconds: number) => `drain-${seconds}s`,
  scheduledAction: (desired: number) => `scale-to-${desired}`,
} as const;

/** The instances requests can go to now: routable in a pool the load balancer sends requests to (an ALB's by weight). */
export function routableInstances(region: SimulatedRegion, settings: EnvironmentSettings): Set<string> {
  return new Set(region.loadBalancing.routedPools(settings.loadBalancer).flatMap(({ pool }) => pool.routableInstanceIds()));
}

/**
 * Seconds from registration to the first health check of each target of `release`'s serving group at the load
 * balancer now routing to it (`Registration.firstCheckAtMs`: one interval, or the seeded phase), for the physics
 * bound; empty when that release does not serve.
 */
export function firstCheckSecondsOf(region: SimulatedRegion, settings: EnvironmentSettings, release: string): number[] {
  const group = servingGroup(region, settings);
  if (!group || tagValueOf(group.tags, TAG.release) !== release) return [];
  return region.loadBalancing.routedPools(settings.loadBalancer).flatMap(({ pool }) =>
    [...group.instances.keys()].flatMap((id) => {
      const registration = pool.registrations.get(id);
      return registration && registration.state !== "draining" ? [(registration.firstCheckAtMs - registration.registeredAtMs) / 1000] : [];
    }),
  );
}

/**
 * The group serving the environment: of its groups not being deleted, the one with the most instances the load
 * balancer routes to; on a tie (or none serving) the oldest, the one that was live before a deploy began.
 */
export function servingGroup(region: SimulatedRegion, settings: EnvironmentSettings): SimGroup | undefined {
  const routable = routableInstances(region, settings);
  const serving = (group: SimGroup) => [...group.instances.keys()].filter((id) => routable.has(id)).length;
  return environmentGroups(region, settings)
    .filter((group) => !group.deleting)
    .sort((a, b) => serving(b) - serving(a) || a.createdAtMs - b.createdAtMs)[0];
}

export function summarizeGroup(group: SimGroup): LiveGroupSummary {
  return {
    name: group.name,
    release: tagValueOf(group.tags, TAG.release),
    desired: group.desired,
    min: group.min,
    max: group.max,
    scalingPolicies: [...group.policies.keys()].sort(),
    lifecycleHooks: [...group.lifecycleHooks.keys()].sort(),
    scheduledActions: [...group.scheduledActions.keys()].sort(),
    suspendedProcesses: [...group.suspendedProcesses].sort(),
  };
}

/** Changes the live group's capacity as an operator would: SetDesiredCapacity, or UpdateAutoScalingGroup with limits. */
export function scaleLiveGroup(region: SimulatedRegion, group: SimGroup, spec: ScaleLiveGroupSpec): void {
  if (spec.min === undefined && spec.max === undefined) {
    region.call("AutoScaling", "SetDesiredCapacity", { AutoScalingGroupName: group.name, DesiredCapacity: spec.desired });
    return;
  }
  region.call("AutoScaling", "UpdateAutoScalingGroup", {
    AutoScalingGroupName: group.name,
    MinSize: spec.min,
    MaxSize: spec.max,
    DesiredCapacity: spec.desired,
  });
}

/**
 * What an operator sets by hand on the live group: a target-tracking policy on average CPU, a termination lifecycle
 * hook with that heartbeat timeout (AWS's DefaultResult), a recurring scheduled action, scale-in protection on
 * the first n in-service instances, Standby (desired capacity decremented, the console's default) for the next n,
 * suspended processes.
 */
export function configureLiveGroup(region: SimulatedRegion, group: SimGroup, spec: ConfigureLiveGroupSpec): void {
  const AutoScalingGroupName = group.name;
  if (spec.targetTrackingCpuPercent !== undefined)
    region.call("AutoScaling", "PutScalingPolicy", {
      AutoScalingGroupName,
      PolicyName: OPERATOR_NAMES.cpuPolicy(spec.targetTrackingCpuPercent),
      PolicyType: "TargetTrackingScaling",
      TargetTrackingConfiguration: { PredefinedMetricSpecification: { PredefinedMetricType: "ASGAverageCPUUtilization" }, TargetValue: spec.targetTrackingCpuPercent },
    });
  if (spec.lifecycleHookSeconds !== undefined)
    region.call("AutoScaling", "PutLifecycleHook", {
      AutoScalingGroupName,
      LifecycleHookName: OPERATOR_NAMES.terminationHook(spec.lifecycleHookSeconds),
      LifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING",
      HeartbeatTimeout: spec.lifecycleHookSeconds,
    });
  if (spec.scheduledAction)
    region.call("AutoScaling", "PutScheduledUpdateGroupAction", {
      AutoScalingGroupName,
      ScheduledActionName: OPERATOR_NAMES.scheduledAction(spec.scheduledAction.desired),
      Recurrence: spec.scheduledAction.recurrence,
      DesiredCapacity: spec.scheduledAction.desired,
      MinSize: spec.scheduledAction.min,
      MaxSize: spec.scheduledAction.max,
    });
  const inService = [...group.instances.values()]
    .filter((gi) => gi.lifecycleState === "InService")
    .map((gi) => gi.instanceId)
    .sort();
  const protect = inService.slice(0, spec.protectedInstances ?? 0);
  const standby = inService.slice(protect.length, protect.length + (spec.standbyInstances ?? 0));
  const short = (spec.protectedInstances ?? 0) + (spec.standbyInstances ?? 0) - inService.length;
  if (short > 0) throw new Error(`the live group ${group.name} has ${inService.length} instance(s) in service, ${short} fewer than asked for`);
  if (protect.length)
    region.call("AutoScaling", "SetInstanceProtection", { AutoScalingGroupName, InstanceIds: protect, ProtectedFromScaleIn: true });
  if (standby.length)
    region.call("AutoScaling", "EnterStandby", { AutoScalingGroupName, InstanceIds: standby, ShouldDecrementDesiredCapacity: true });
  if (spec.suspendProcesses) region.call("AutoScaling", "SuspendProcesses", { AutoScalingGroupName, ScalingProcesses: spec.suspendProcesses });
}

/** Nothing in the environment in transition: no instance launching, entering standby or terminating, no target in its first checks or draining. */
export function isSettled(region: SimulatedRegion, settings: EnvironmentSettings): boolean {
  const moving = environmentGroups(region, settings).some((group) =>
    [...group.instances.values()].some((gi) => gi.lifecycleState.startsWith("Pending") || gi.lifecycleState.startsWith("Terminating") || gi.lifecycleState === "EnteringStandby"),
  );
  if (moving) return false;
  const registrations = region.loadBalancing.environmentPools(settings.loadBalancer).flatMap((pool) => [...pool.registrations.values()]);
  return registrations.every((r) => r.state !== "initial" && r.state !== "draining");
}
