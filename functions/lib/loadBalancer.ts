/**
 * One view of the environment's load balancer, whichever kind it is: an ALB/NLB target group (elbv2) or a
 * classic ELB (elb). Auto Scaling attaches a group to it (and then registers/deregisters the group's instances
 * itself); the checks ask it which instances pass its health check.
 */
import {
  type AutoScalingGroup,
  AttachLoadBalancersCommand,
  AttachLoadBalancerTargetGroupsCommand,
  DetachLoadBalancersCommand,
  DetachLoadBalancerTargetGroupsCommand,
} from "@aws-sdk/client-auto-scaling";
import { DescribeInstanceHealthCommand } from "@aws-sdk/client-elastic-load-balancing";
import { DescribeTargetHealthCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import { autoScaling, elb, elbv2 } from "./clients.js";
import type { EnvironmentSettings } from "./contract.js";
import { isGroupNotFound } from "./groups.js";

export type LoadBalancerSettings = EnvironmentSettings["loadBalancer"];

/**
 * One place a group takes traffic from: one of an ALB's two target groups, or the classic load balancer. A group
 * is attached to one of them; the checks ask that one about its instances.
 */
export type TrafficTarget = { kind: "application"; targetGroupArn: string } | { kind: "classic"; loadBalancerName: string };

/** Every place of the environment a group can be attached to (ALB: both target groups, the default action's first). */
export function trafficTargets(loadBalancer: LoadBalancerSettings): TrafficTarget[] {
  return loadBalancer.kind === "application"
    ? [loadBalancer.targetGroupArn, loadBalancer.alternateTargetGroupArn].map((targetGroupArn) => ({ kind: "application", targetGroupArn }))
    : [{ kind: "classic", loadBalancerName: loadBalancer.loadBalancerName }];
}

/** A target's ARN (target group) or name (classic load balancer): how the state document records it. */
export function targetId(target: TrafficTarget): string {
  return target.kind === "application" ? target.targetGroupArn : target.loadBalancerName;
}

/** The environment's target recorded as `id` (see targetId); an id that is none of them is refused. */
export function targetById(loadBalancer: LoadBalancerSettings, id: string): TrafficTarget {
  const target = trafficTargets(loadBalancer).find((candidate) => targetId(candidate) === id);
  if (!target) throw new Error(`${id} is not a target group or load balancer of this environment (${trafficTargets(loadBalancer).map(targetId).join(", ")})`);
  return target;
}

/** Where Launch attached the new group ($.launch.target; the first target for a launch that did not record it). */
export function newGroupTarget(loadBalancer: LoadBalancerSettings, launch: { target?: string }): TrafficTarget {
  return launch.target ? targetById(loadBalancer, launch.target) : trafficTargets(loadBalancer)[0];
}

/** The environment's targets the group (as described) is attached to. */
export function attachedTargets(group: AutoScalingGroup, loadBalancer: LoadBalancerSettings): TrafficTarget[] {
  return trafficTargets(loadBalancer).filter((target) =>
    target.kind === "application"
      ? (group.TargetGroupARNs ?? []).includes(target.targetGroupArn)
      : (group.LoadBalancerNames ?? []).includes(target.loadBalancerName),
  );
}

/**
 * Classic ELB reports an instance that is draining (connection draining after deregistration) as InService
 * with this description; it takes no new requests, so it is not healthy for a deploy.
 */
const CLASSIC_DEREGISTRATION_IN_PROGRESS = "deregistration currently in progress";

export interface InstanceLoadBalancerHealth {
  instanceId: string;
  healthy: boolean;
  /** The load balancer's own state word (`healthy`, `initial`, `draining`, `InService`, ...) or `not registered`. */
  state: string;
  /** Its reason code and description (`Target.FailedHealthChecks: Health checks failed with these codes: [503]`). */
  reason?: string;
  /**
   * It failed `unhealthyThreshold` consecutive health checks: ALB's `unhealthy` (a target that fails
   * UnhealthyThresholdCount checks in a row; ALB User Guide, "Health checks for your target groups"), classic ELB's
   * `OutOfService` "Instance has failed at least the UnhealthyThreshold number of health checks consecutively."
   */
  failedChecks: boolean;
}

/** Classic ELB's description of an instance that failed its health checks (DescribeInstanceHealth). */
const CLASSIC_FAILED_CHECKS = "failed at least the unhealthythreshold";

/** `i-0abc unhealthy (Target.FailedHealthChecks: Health checks failed)`: one instance's health, for messages. */
export function describeInstanceState(health: InstanceLoadBalancerHealth): string {
  return `${health.instanceId} ${health.state}${health.reason ? ` (${health.reason})` : ""}`;
}

function reasonOf(code: string | undefined, description: string | undefined): string | undefined {
  const parts = [code && code !== "N/A" ? code : undefined, description && description !== "N/A" ? description : undefined].filter(Boolean);
  return parts.length > 0 ? parts.join(": ") : undefined;
}

/** How a target is named in messages. */
export function describeLoadBalancer(target: TrafficTarget): string {
  return target.kind === "application" ? `target group ${target.targetGroupArn}` : `classic load balancer ${target.loadBalancerName}`;
}

/** The CreateAutoScalingGroup parameters that attach a new group to a target. */
export function groupAttachmentParameters(target: TrafficTarget): { TargetGroupARNs: string[] } | { LoadBalancerNames: string[] } {
  return target.kind === "application" ? { TargetGroupARNs: [target.targetGroupArn] } : { LoadBalancerNames: [target.loadBalancerName] };
}

/** Whether the group (as described) is attached to the load balancer (ALB: to either target group). */
export function isAttached(group: AutoScalingGroup, loadBalancer: LoadBalancerSettings): boolean {
  return attachedTargets(group, loadBalancer).length > 0;
}

/** Whether the group has an instance in service (Auto Scaling registers those at the load balancers it is attached to). */
export function hasInServiceInstances(group: AutoScalingGroup): boolean {
  return (group.Instances ?? []).some((instance) => instance.LifecycleState === "InService");
}

/** Whether the group serves: attached to the load balancer, with an instance in service. */
export function isServing(group: AutoScalingGroup, loadBalancer: LoadBalancerSettings): boolean {
  return isAttached(group, loadBalancer) && hasInServiceInstances(group);
}

/** Attach the group to a target: Auto Scaling registers its instances (attaching twice is a no-op in AWS). */
export async function attachGroup(groupName: string, target: TrafficTarget): Promise<void> {
  if (target.kind === "application") {
    await autoScaling.send(new AttachLoadBalancerTargetGroupsCommand({ AutoScalingGroupName: groupName, TargetGroupARNs: [target.targetGroupArn] }));
  } else {
    await autoScaling.send(new AttachLoadBalancersCommand({ AutoScalingGroupName: groupName, LoadBalancerNames: [target.loadBalancerName] }));
  }
}

/**
 * Detach the group (as described) from every target of the environment it is attached to: its instances are
 * deregistered and drain (deregistration delay / connection draining). A group gone meanwhile is detached by
 * definition.
 */
export async function detachGroup(group: AutoScalingGroup, loadBalancer: LoadBalancerSettings): Promise<void> {
  const AutoScalingGroupName = group.AutoScalingGroupName ?? "";
  for (const target of attachedTargets(group, loadBalancer)) {
    const command =
      target.kind === "application"
        ? new DetachLoadBalancerTargetGroupsCommand({ AutoScalingGroupName, TargetGroupARNs: [target.targetGroupArn] })
        : new DetachLoadBalancersCommand({ AutoScalingGroupName, LoadBalancerNames: [target.loadBalancerName] });
    try {
      await autoScaling.send(command as DetachLoadBalancersCommand);
    } catch (error) {
      if (!isGroupNotFound(error)) throw error;
    }
  }
}

/**
 * The load balancer's view of the given instances, in their order. One call whatever the instance count:
 * both DescribeTargetHealth and DescribeInstanceHealth, asked without an instance list, return every
 * registered target in one unpaged response, so a 300-instance group costs what a 1-instance group does
 * (naming instances instead would take one call per batch and fail on an already terminated one). An
 * instance missing from the answer is not registered (yet): not healthy.
 */
export async function describeInstanceHealth(
  loadBalancer: TrafficTarget,
  instanceIds: string[],
): Promise<InstanceLoadBalancerHealth[]> {
  if (instanceIds.length === 0) return [];
  const registered = new Map<string, InstanceLoadBalancerHealth>();
  // One instance may be registered more than once (several ports): it is healthy only if every entry is.
  const record = (entry: InstanceLoadBalancerHealth) => {
    const previous = registered.get(entry.instanceId);
    if (!previous || (previous.healthy && !entry.healthy)) registered.set(entry.instanceId, entry);
  };
  if (loadBalancer.kind === "application") {
    const answer = await elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: loadBalancer.targetGroupArn }));
    for (const description of answer.TargetHealthDescriptions ?? []) {
      const instanceId = description.Target?.Id;
      if (!instanceId) continue;
      const state = description.TargetHealth?.State ?? "unknown";
      // Only `healthy` takes traffic; `initial`, `unhealthy`, `draining`, `unused`, `unavailable` do not.
      record({
        instanceId,
        healthy: state === "healthy",
        state,
        reason: reasonOf(description.TargetHealth?.Reason, description.TargetHealth?.Description),
        failedChecks: state === "unhealthy",
      });
    }
  } else {
    const answer = await elb.send(new DescribeInstanceHealthCommand({ LoadBalancerName: loadBalancer.loadBalancerName }));
    for (const instanceState of answer.InstanceStates ?? []) {
      const instanceId = instanceState.InstanceId;
      if (!instanceId) continue;
      const state = instanceState.State ?? "unknown";
      const draining = (instanceState.Description ?? "").toLowerCase().includes(CLASSIC_DEREGISTRATION_IN_PROGRESS);
      record({
        instanceId,
        healthy: state === "InService" && !draining,
        state: draining ? "draining" : state,
        reason: reasonOf(instanceState.ReasonCode, instanceState.Description),
        failedChecks: state === "OutOfService" && (instanceState.Description ?? "").toLowerCase().includes(CLASSIC_FAILED_CHECKS),
      });
    }
  }
  return instanceIds.map(
    (instanceId) => registered.get(instanceId) ?? { instanceId, healthy: false, state: "not registered", failedChecks: false },
  );
}
