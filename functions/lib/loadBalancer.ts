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

/** How the load balancer is named in messages. */
export function describeLoadBalancer(loadBalancer: LoadBalancerSettings): string {
  return loadBalancer.kind === "application"
    ? `target group ${loadBalancer.targetGroupArn}`
    : `classic load balancer ${loadBalancer.loadBalancerName}`;
}

/** The CreateAutoScalingGroup parameters that attach a new group to the load balancer. */
export function groupAttachmentParameters(
  loadBalancer: LoadBalancerSettings,
): { TargetGroupARNs: string[] } | { LoadBalancerNames: string[] } {
  return loadBalancer.kind === "application"
    ? { TargetGroupARNs: [loadBalancer.targetGroupArn] }
    : { LoadBalancerNames: [loadBalancer.loadBalancerName] };
}

/** Whether the group (as described) is attached to the load balancer. */
export function isAttached(group: AutoScalingGroup, loadBalancer: LoadBalancerSettings): boolean {
  return loadBalancer.kind === "application"
    ? (group.TargetGroupARNs ?? []).includes(loadBalancer.targetGroupArn)
    : (group.LoadBalancerNames ?? []).includes(loadBalancer.loadBalancerName);
}

/** Whether the group has an instance in service (Auto Scaling registers those at the load balancers it is attached to). */
export function hasInServiceInstances(group: AutoScalingGroup): boolean {
  return (group.Instances ?? []).some((instance) => instance.LifecycleState === "InService");
}

/** Whether the group serves: attached to the load balancer, with an instance in service. */
export function isServing(group: AutoScalingGroup, loadBalancer: LoadBalancerSettings): boolean {
  return isAttached(group, loadBalancer) && hasInServiceInstances(group);
}

/** Attach the group: Auto Scaling registers its instances (attaching twice is a no-op in AWS). */
export async function attachGroup(groupName: string, loadBalancer: LoadBalancerSettings): Promise<void> {
  if (loadBalancer.kind === "application") {
    await autoScaling.send(
      new AttachLoadBalancerTargetGroupsCommand({
        AutoScalingGroupName: groupName,
        TargetGroupARNs: [loadBalancer.targetGroupArn],
      }),
    );
  } else {
    await autoScaling.send(
      new AttachLoadBalancersCommand({ AutoScalingGroupName: groupName, LoadBalancerNames: [loadBalancer.loadBalancerName] }),
    );
  }
}

/**
 * Detach the group: its instances are deregistered and drain (deregistration delay / connection draining).
 * A group gone meanwhile is detached by definition.
 */
export async function detachGroup(groupName: string, loadBalancer: LoadBalancerSettings): Promise<void> {
  const command =
    loadBalancer.kind === "application"
      ? new DetachLoadBalancerTargetGroupsCommand({ AutoScalingGroupName: groupName, TargetGroupARNs: [loadBalancer.targetGroupArn] })
      : new DetachLoadBalancersCommand({ AutoScalingGroupName: groupName, LoadBalancerNames: [loadBalancer.loadBalancerName] });
  try {
    await autoScaling.send(command as DetachLoadBalancersCommand);
  } catch (error) {
    if (!isGroupNotFound(error)) throw error;
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
  loadBalancer: LoadBalancerSettings,
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
