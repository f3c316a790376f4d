/**
 * Retirement steps shared by Retire old groups and Check old groups retired: whether the load balancer has let the
 * old instances go, and emptying the old groups once it has.
 */
import type { AutoScalingGroup } from "@aws-sdk/client-auto-scaling";
import { describeGroupsByName, isBeingDeleted, releaseHeldInstances, scaleGroupsToZero } from "./groups.js";
import { describeInstanceHealth, type LoadBalancerSettings, trafficTargets } from "./loadBalancer.js";

/** Scales the old groups to 0 and lets them empty: protected and Standby instances are released first. */
export async function emptyGroups(groupNames: string[], groups: AutoScalingGroup[]): Promise<AutoScalingGroup[]> {
  const live = groups.filter((group) => !isBeingDeleted(group));
  await scaleGroupsToZero(live);
  const released = await releaseHeldInstances(live);
  if (released.unprotected.length === 0 && released.outOfStandby.length === 0) return groups;
  // ExitStandby raised the desired capacity again: read the groups anew and scale them back to 0.
  const fresh = await describeGroupsByName(groupNames);
  await scaleGroupsToZero(fresh.filter((group) => !isBeingDeleted(group)));
  return fresh;
}

/**
 * Whether every instance of the old groups has left the load balancer (draining over). ALB and classic ELB both
 * complete a deregistration as soon as the target has no in-flight requests and no active connections ("If a
 * deregistering target has no in-flight requests and no active connections, Elastic Load Balancing immediately
 * completes the deregistration process": ELB User Guide, "Deregistration delay" (ALB) and "Configure connection
 * draining for your Classic Load Balancer"), and then no longer lists it (a classic ELB reports it `OutOfService:
 * Instance is not currently registered with the LoadBalancer`, which the unlisted describe leaves out). One call
 * per target group (an ALB has two; before, only the first was asked, and old groups in the second looked drained
 * at once: harmless after a bake time, in which the old target group gets no new request, but wrong).
 */
export async function leftTheLoadBalancer(loadBalancer: LoadBalancerSettings, groups: AutoScalingGroup[]): Promise<boolean> {
  const instanceIds = groups.flatMap((group) => group.Instances ?? []).map((instance) => instance.InstanceId ?? "");
  // Every place they can have been in (an ALB's two target groups): the old groups serve from either, by deploy.
  for (const target of trafficTargets(loadBalancer)) {
    const health = await describeInstanceHealth(target, instanceIds);
    if (!health.every((instance) => instance.state === "not registered")) return false;
  }
  return true;
}
