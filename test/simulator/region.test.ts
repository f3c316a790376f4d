import {
  DeleteAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeScalingActivitiesCommand,
  DetachLoadBalancersCommand,
  DetachLoadBalancerTargetGroupsCommand,
  ResourceInUseFault,
  ScalingActivityInProgressFault,
  UpdateAutoScalingGroupCommand,
} from "@aws-sdk/client-auto-scaling";
import { DescribeInstanceHealthCommand } from "@aws-sdk/client-elastic-load-balancing";
import { DescribeTargetHealthCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import { afterEach, describe, expect, it } from "vitest";
import { allClients } from "../../functions/lib/clients.js";
import { describeGroupsByName } from "../../functions/lib/groups.js";
import { describeGroup, INSTANT_REGION, launchGroup, simulatedWorld, detachAll } from "../support/simulatedWorld.js";
import {
  DEFAULT_TIMING,
  IMMEDIATE_CONSISTENCY,
  Scheduler,
  SIMULATION_EPOCH_MS,
  NO_HEALTHY_TARGET,
  TrafficModel,
  VirtualClock,
  attachRegion,
  loadBalancerHealthySeconds,
  physicalMinimum,
} from "../../simulator/region/index.js";

// Test files share worker threads (vitest.config.ts): leave no region attached for the next file.
afterEach(detachAll);

const T0 = SIMULATION_EPOCH_MS;

function targetGroupArn(world: ReturnType<typeof simulatedWorld>): string {
  if (world.settings.loadBalancer.kind !== "application") throw new Error("expected an ALB environment");
  return world.settings.loadBalancer.targetGroupArn;
}

async function targetStates(world: ReturnType<typeof simulatedWorld>): Promise<string[]> {
  const health = await world.clients.elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn(world) }));
  return (health.TargetHealthDescriptions ?? []).map((d) => d.TargetHealth?.State ?? "?").sort();
}

describe("virtual clock and scheduler", () => {
  it("fires events in time order, FIFO for equal times, and moves the clock to each event", () => {
    // Prepare
    const scheduler = new Scheduler(new VirtualClock(T0));
    const fired: string[] = [];
    scheduler.at(T0 + 2000, () => fired.push(`b@${scheduler.now() - T0}`));
    scheduler.at(T0 + 1000, () => fired.push(`a@${scheduler.now() - T0}`));
    scheduler.at(T0 + 2000, () => fired.push(`c@${scheduler.now() - T0}`));
    const cancelled = scheduler.at(T0 + 1500, () => fired.push("cancelled"));
    cancelled.cancel();
    // Act
    scheduler.runUntil(T0 + 5000);
    // Assess
    expect(fired).toEqual(["a@1000", "b@2000", "c@2000"]);
    expect(scheduler.now()).toBe(T0 + 5000);
  });

  it("drives concurrent activities: the clock jumps to the earliest wake-up only when all are parked", async () => {
    // Prepare
    const scheduler = new Scheduler(new VirtualClock(T0));
    const log: string[] = [];
    const activity = async (name: string, waits: number[]) => {
      for (const seconds of waits) {
        await Promise.resolve(); // some work between waits
        await scheduler.sleep(seconds);
        log.push(`${name}@${(scheduler.now() - T0) / 1000}`);
      }
      return name;
    };
    // Act
    const results = await scheduler.drive([activity("a", [10, 10]), activity("b", [5, 30])]);
    // Assess
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "fulfilled"]);
    expect(log).toEqual(["b@5", "a@10", "a@20", "b@35"]);
    expect(scheduler.now()).toBe(T0 + 35_000);
  });
});

describe("Auto Scaling group with an ALB target group", () => {
  it("launches instances that become InService after the boot time, and new targets healthy at their first passing check", async () => {
    // Prepare
    const world = simulatedWorld();
    const start = world.region.now();
    // Act
    const name = await launchGroup(world, { release: "v1" });
    world.region.advance(DEFAULT_TIMING.instanceBootSeconds - 1);
    const beforeBoot = await describeGroup(world, name);
    world.region.advance(1);
    const afterBoot = await describeGroup(world, name);
    const statesAtBoot = await targetStates(world);
    world.region.runUntil(start + (DEFAULT_TIMING.instanceBootSeconds + loadBalancerHealthySeconds(DEFAULT_TIMING, "application")) * 1000 - 1);
    const statesJustBefore = await targetStates(world);
    world.region.advance(0.001);
    const statesAfter = await targetStates(world);
    // Assess
    expect(beforeBoot?.Instances?.map((i) => i.LifecycleState)).toEqual(["Pending", "Pending"]);
    expect(afterBoot?.Instances?.map((i) => i.LifecycleState)).toEqual(["InService", "InService"]);
    expect(afterBoot?.Instances?.every((i) => i.HealthStatus === "Healthy")).toBe(true);
    expect(statesAtBoot).toEqual(["initial", "initial"]);
    expect(statesJustBefore).toEqual(["initial", "initial"]);
    expect(statesAfter).toEqual(["healthy", "healthy"]);
    // ALB guide: "After your target is registered, it must pass one health check to be considered healthy."
    expect(loadBalancerHealthySeconds(DEFAULT_TIMING, "application")).toBe(DEFAULT_TIMING.healthCheckIntervalSeconds);
  });

  it("drains scaled-in instances for the deregistration delay, then terminates them", async () => {
    // Prepare
    const world = simulatedWorld();
    const name = await launchGroup(world, { release: "v1" });
    world.region.advance(200);
    // Act
    await world.clients.autoScaling.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: name, MinSize: 0, DesiredCapacity: 0 }));
    const scaledIn = world.region.now();
    const terminating = await describeGroup(world, name);
    const draining = await targetStates(world);
    world.region.runUntil(scaledIn + DEFAULT_TIMING.drainingSeconds * 1000 - 1);
    const stillDraining = await targetStates(world);
    world.region.runUntil(scaledIn + DEFAULT_TIMING.drainingSeconds * 1000);
    const drained = await targetStates(world);
    const proceeding = await describeGroup(world, name);
    world.region.advance(DEFAULT_TIMING.terminationSeconds);
    const empty = await describeGroup(world, name);
    // Assess
    expect(terminating?.Instances?.map((i) => i.LifecycleState)).toEqual(["Terminating", "Terminating"]);
    expect(draining).toEqual(["draining", "draining"]);
    expect(stillDraining).toEqual(["draining", "draining"]);
    expect(drained).toEqual([]);
    expect(proceeding?.Instances?.map((i) => i.LifecycleState)).toEqual(["Terminating:Proceed", "Terminating:Proceed"]);
    expect(empty?.Instances).toEqual([]);
  });

  it("keeps terminating instances in Terminating:Wait for the lifecycle-hook delay", async () => {
    // Prepare
    const world = simulatedWorld();
    const name = await launchGroup(world, { release: "v1", desired: 1 });
    world.region.advance(200);
    world.region.faults.inject([{ lifecycleHookSeconds: 120 }]);
    // Act
    await world.clients.autoScaling.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: name, MinSize: 0, DesiredCapacity: 0 }));
    world.region.advance(DEFAULT_TIMING.drainingSeconds + 119);
    const waiting = await describeGroup(world, name);
    world.region.advance(1 + DEFAULT_TIMING.terminationSeconds);
    const done = await describeGroup(world, name);
    // Assess
    expect(waiting?.Instances?.[0]?.LifecycleState).toBe("Terminating:Wait");
    expect(done?.Instances).toEqual([]);
  });

  it("refuses to delete a group while instances remain or activities run, then deletes it", async () => {
    // Prepare
    const world = simulatedWorld();
    const name = await launchGroup(world, { release: "v1" });
    world.region.advance(200);
    const deleteGroup = () => world.clients.autoScaling.send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: name }));
    // Act
    const withInstances = await deleteGroup().catch((error: unknown) => error);
    await world.clients.autoScaling.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: name, MinSize: 0, DesiredCapacity: 0 }));
    const whileDraining = await deleteGroup().catch((error: unknown) => error);
    world.region.advance(DEFAULT_TIMING.drainingSeconds + DEFAULT_TIMING.terminationSeconds);
    await deleteGroup();
    const beingDeleted = await describeGroup(world, name);
    world.region.advance(60);
    const gone = await describeGroup(world, name);
    // Assess
    expect(withInstances).toBeInstanceOf(ResourceInUseFault);
    expect(withInstances).toMatchObject({ name: "ResourceInUseFault", Code: "ResourceInUse", $metadata: { httpStatusCode: 400 } });
    expect(whileDraining).toBeInstanceOf(ScalingActivityInProgressFault);
    expect(whileDraining).toMatchObject({ Code: "ScalingActivityInProgress" });
    expect(beingDeleted?.Status).toBe("Delete in progress");
    expect(gone).toBeUndefined();
  });

  it("ForceDelete terminates the instances without waiting for draining", async () => {
    // Prepare
    const world = simulatedWorld();
    const name = await launchGroup(world, { release: "v1" });
    world.region.advance(200);
    // Act
    await world.clients.autoScaling.send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: name, ForceDelete: true }));
    world.region.advance(DEFAULT_TIMING.terminationSeconds);
    // Assess
    expect(await describeGroup(world, name)).toBeUndefined();
    expect([...world.region.ec2.instances.values()].map((i) => i.state)).toEqual(["terminated", "terminated"]);
  });

  it("replaces instances of a release that never becomes healthy after the grace period", async () => {
    // Prepare
    const world = simulatedWorld();
    world.region.setReleaseBehavior("broken", { appHealthy: false });
    const name = await launchGroup(world, { release: "broken", desired: 1 });
    // Act
    world.region.advance(DEFAULT_TIMING.instanceBootSeconds + 2 * DEFAULT_TIMING.healthCheckIntervalSeconds);
    const unhealthyAtLb = await targetStates(world);
    const stillInGracePeriod = await describeGroup(world, name);
    world.region.advance(world.settings.healthCheckGracePeriodSeconds);
    const activities = await world.clients.autoScaling.send(new DescribeScalingActivitiesCommand({ AutoScalingGroupName: name }));
    // Assess
    expect(unhealthyAtLb).toEqual(["unhealthy"]);
    expect(stillInGracePeriod?.Instances?.[0]?.HealthStatus).toBe("Healthy");
    expect(activities.Activities?.some((a) => a.Cause?.includes("ELB system health check failure"))).toBe(true);
    expect(activities.Activities?.filter((a) => a.Description?.startsWith("Launching")).length).toBe(2);
  });

  it("records a failed launch and retries when instances fail to boot", async () => {
    // Prepare
    const world = simulatedWorld();
    world.region.setReleaseBehavior("noboot", { bootFails: true });
    const name = await launchGroup(world, { release: "noboot", desired: 1 });
    // Act
    world.region.advance(DEFAULT_TIMING.instanceBootSeconds + 1);
    const activities = await world.clients.autoScaling.send(new DescribeScalingActivitiesCommand({ AutoScalingGroupName: name }));
    world.region.advance(30);
    const retried = await describeGroup(world, name);
    // Assess
    expect(activities.Activities?.[0]).toMatchObject({ StatusCode: "Failed", StatusMessage: expect.stringContaining("Server.InternalError") });
    expect(retried?.Instances?.length).toBe(1);
    expect(retried?.Instances?.[0]?.LifecycleState).toBe("Pending");
  });

  it("pages 120 groups, rejects more than 50 names by default, and describes a 200-instance group in one call", async () => {
    // Prepare
    const world = simulatedWorld();
    const names: string[] = [];
    for (let i = 0; i < 120; i++) names.push(await launchGroup(world, { release: `r${i}`, groupName: `g-${String(i).padStart(3, "0")}`, desired: 0 }));
    const big = await launchGroup(world, { release: "big", desired: 200, max: 200 });
    world.region.advance(DEFAULT_TIMING.instanceBootSeconds + loadBalancerHealthySeconds(DEFAULT_TIMING, "application"));
    const callsBefore = world.region.apiCallCounts()["AutoScaling:DescribeAutoScalingGroups"] ?? 0;
    // Act
    const first = await world.clients.autoScaling.send(new DescribeAutoScalingGroupsCommand({ MaxRecords: 100 }));
    const second = await world.clients.autoScaling.send(new DescribeAutoScalingGroupsCommand({ MaxRecords: 100, NextToken: first.NextToken }));
    const tooMany = await world.clients.autoScaling
      .send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: names.slice(0, 51) }))
      .catch((error: unknown) => error);
    const bigGroup = await describeGroup(world, big);
    const health = await world.clients.elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn(world) }));
    const describeCalls = (world.region.apiCallCounts()["AutoScaling:DescribeAutoScalingGroups"] ?? 0) - callsBefore;
    // Assess
    expect(first.AutoScalingGroups?.length).toBe(100);
    expect(second.AutoScalingGroups?.length).toBe(21);
    expect(second.NextToken).toBeUndefined();
    expect(tooMany).toMatchObject({ name: "ValidationError", Code: "ValidationError" });
    expect(bigGroup?.Instances?.filter((i) => i.LifecycleState === "InService").length).toBe(200);
    expect(health.TargetHealthDescriptions?.filter((d) => d.TargetHealth?.State === "healthy").length).toBe(200);
    expect(describeCalls).toBe(4);
  });

  it("answers functions/lib groups helpers through allClients, batching 50 names per call", async () => {
    // Prepare
    const world = simulatedWorld();
    const attachment = attachRegion(world.region, allClients);
    const names: string[] = [];
    for (let i = 0; i < 120; i++) names.push(await launchGroup(world, { release: `r${i}`, groupName: `g-${i}`, desired: 0 }));
    const before = world.region.apiCallCounts()["AutoScaling:DescribeAutoScalingGroups"] ?? 0;
    try {
      // Act
      const groups = await describeGroupsByName([...names, "missing-group"]);
      const calls = (world.region.apiCallCounts()["AutoScaling:DescribeAutoScalingGroups"] ?? 0) - before;
      // Assess
      expect(groups.length).toBe(120);
      expect(calls).toBe(3);
    } finally {
      attachment.detach();
    }
  });
});

describe("classic ELB", () => {
  it("reports OutOfService while registering, InService when healthy, and InService during connection draining", async () => {
    // Prepare
    const world = simulatedWorld({ environment: { config: { loadBalancer: "classic" } } });
    if (world.settings.loadBalancer.kind !== "classic") throw new Error("expected a classic environment");
    const loadBalancerName = world.settings.loadBalancer.loadBalancerName;
    const name = await launchGroup(world, { release: "v1", desired: 1 });
    const health = async () =>
      (await world.clients.elb.send(new DescribeInstanceHealthCommand({ LoadBalancerName: loadBalancerName }))).InstanceStates ?? [];
    // Act
    world.region.advance(DEFAULT_TIMING.instanceBootSeconds);
    const registering = await health();
    world.region.advance(loadBalancerHealthySeconds(DEFAULT_TIMING, "classic"));
    const inService = await health();
    const instanceId = inService[0]?.InstanceId ?? "";
    await world.clients.autoScaling.send(new DetachLoadBalancersCommand({ AutoScalingGroupName: name, LoadBalancerNames: [loadBalancerName] }));
    const draining = await health();
    world.region.advance(DEFAULT_TIMING.drainingSeconds);
    const afterDraining = await world.clients.elb.send(
      new DescribeInstanceHealthCommand({ LoadBalancerName: loadBalancerName, Instances: [{ InstanceId: instanceId }] }),
    );
    // Assess
    expect(registering).toEqual([
      { InstanceId: instanceId, State: "OutOfService", ReasonCode: "ELB", Description: "Instance registration is still in progress." },
    ]);
    expect(inService).toEqual([{ InstanceId: instanceId, State: "InService", ReasonCode: "N/A", Description: "N/A" }]);
    expect(draining).toEqual([
      { InstanceId: instanceId, State: "InService", ReasonCode: "N/A", Description: "Instance deregistration currently in progress." },
    ]);
    expect(afterDraining.InstanceStates).toEqual([
      { InstanceId: instanceId, State: "OutOfService", ReasonCode: "N/A", Description: "Instance is not currently registered with the LoadBalancer." },
    ]);
  });
});

describe("app behaviour over time", () => {
  async function healthReasons(world: ReturnType<typeof simulatedWorld>): Promise<string[]> {
    const health = await world.clients.elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn(world) }));
    return (health.TargetHealthDescriptions ?? []).map((d) => `${d.TargetHealth?.State}${d.TargetHealth?.Reason ? ` ${d.TargetHealth.Reason}` : ""}`);
  }
  const healthyAt = DEFAULT_TIMING.instanceBootSeconds + loadBalancerHealthySeconds(DEFAULT_TIMING, "application");

  it("appDiesAfterSeconds: passes its checks, stops answering that long after it first served, then fails its checks", async () => {
    // Prepare
    const world = simulatedWorld();
    world.region.setReleaseBehavior("v1", { appDiesAfterSeconds: 120 });
    await launchGroup(world, { release: "v1", desired: 1 });
    // Act
    world.region.advance(healthyAt);
    const served = await healthReasons(world);
    const [instance] = [...world.region.ec2.instances.values()];
    world.region.advance(119);
    const stillServing = instance.appServing;
    world.region.advance(1);
    const died = instance.appServing;
    world.region.advance(DEFAULT_TIMING.unhealthyThreshold * DEFAULT_TIMING.healthCheckIntervalSeconds);
    // Assess
    expect(served).toEqual(["healthy"]);
    expect(instance.firstServedAtMs).toBe(T0 + healthyAt * 1000);
    expect([stillServing, died]).toEqual([true, false]);
    expect(await healthReasons(world)).toEqual(["unhealthy Target.FailedHealthChecks"]);
  });

  it("appFlapSeconds: up and down by turns; an ALB takes it in at its first passing check and, as it never fails two checks in a row, keeps it", async () => {
    // Prepare
    const world = simulatedWorld();
    world.region.setReleaseBehavior("v1", { appFlapSeconds: 10 });
    await launchGroup(world, { release: "v1", desired: 1 });
    const [instance] = [...world.region.ec2.instances.values()];
    const seen = new Set<boolean>();
    const health = new Set<string>();
    // Act
    for (let t = 0; t < 600; t += 5) {
      world.region.advance(5);
      if (instance.state === "running") seen.add(instance.appServing);
      if (t >= healthyAt) for (const reason of await healthReasons(world)) health.add(reason);
    }
    // Assess: checks 30 s apart meet a 20 s cycle at alternating phases: pass, fail, pass, ...
    expect([...seen].sort()).toEqual([false, true]);
    expect([...health]).toEqual(["healthy"]);
  });

  it("appSlowSeconds: an answer slower than the health check timeout is a Target.Timeout; a slower one within it passes that much later", async () => {
    // Prepare
    const slow = simulatedWorld();
    slow.region.setReleaseBehavior("v1", { appSlowSeconds: 5 });
    await launchGroup(slow, { release: "v1", desired: 1 });
    const late = simulatedWorld();
    late.region.setReleaseBehavior("v1", { appSlowSeconds: 2 });
    await launchGroup(late, { release: "v1", desired: 1 });
    // Act
    slow.region.advance(healthyAt + 2 * DEFAULT_TIMING.healthCheckIntervalSeconds);
    late.region.advance(healthyAt + 1);
    const notYet = await healthReasons(late);
    late.region.advance(1);
    // Assess: the stage's health check timeout is 4 s (DEFAULTS.healthCheckTimeoutSeconds)
    expect(await healthReasons(slow)).toEqual(["unhealthy Target.Timeout"]);
    expect(notYet).toEqual(["initial Elb.InitialHealthChecking"]);
    expect(await healthReasons(late)).toEqual(["healthy"]);
  });
});

describe("traffic model", () => {
  it("counts requests before any release served apart, fails them once one has, and none while an instance is healthy", async () => {
    // Prepare
    const world = simulatedWorld();
    const traffic = new TrafficModel(world.region, world.settings.loadBalancer, 10);
    traffic.start();
    const group = await launchGroup(world, { release: "v1" });
    // Act
    const healthyAfter = DEFAULT_TIMING.instanceBootSeconds + loadBalancerHealthySeconds(DEFAULT_TIMING, "application");
    world.region.advance(healthyAfter);
    const beforeHealthy = traffic.counters();
    world.region.advance(600);
    const steady = TrafficModel.difference(traffic.counters(), beforeHealthy);
    const beforeScaleIn = traffic.counters();
    await world.clients.autoScaling.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: group, MinSize: 0, DesiredCapacity: 0 }));
    world.region.advance(100);
    const empty = TrafficModel.difference(traffic.counters(), beforeScaleIn);
    // Assess
    expect(beforeHealthy).toEqual({ total: healthyAfter * 10, failed: 0, beforeFirstRelease: healthyAfter * 10, servedBy: {}, failedBy: {}, noHealthyTargetAfter: {} });
    expect(steady).toEqual({ total: 6000, failed: 0, beforeFirstRelease: 0, servedBy: { v1: 6000 }, failedBy: {}, noHealthyTargetAfter: {} });
    expect(empty).toEqual({ total: 1000, failed: 1000, beforeFirstRelease: 0, servedBy: {}, failedBy: { [NO_HEALTHY_TARGET]: 1000 }, noHealthyTargetAfter: {} });
    expect(traffic.failures[0]).toMatchObject({ reason: "no healthy target", count: 1000 });
  });

  it("classic ELB: requests with no healthy target count after the one release whose instances failed their checks, not after a detach", async () => {
    // Prepare: one v1 instance that dies 60 s after it first served, behind a classic ELB (which does not fail open).
    const world = simulatedWorld({ environment: { config: { loadBalancer: "classic" } } });
    if (world.settings.loadBalancer.kind !== "classic") throw new Error("expected a classic environment");
    world.region.setReleaseBehavior("v1", { appDiesAfterSeconds: 60 });
    const group = await launchGroup(world, { release: "v1", desired: 1 });
    const traffic = new TrafficModel(world.region, world.settings.loadBalancer, 10);
    traffic.start();
    world.region.advance(DEFAULT_TIMING.instanceBootSeconds + loadBalancerHealthySeconds(DEFAULT_TIMING, "classic") + 60);
    // Act: its checks fail (OutOfService after unhealthyThreshold of them), then the group leaves the load balancer.
    const beforeChecksFail = traffic.counters();
    world.region.advance((DEFAULT_TIMING.unhealthyThreshold + 1) * DEFAULT_TIMING.healthCheckIntervalSeconds);
    const outOfService = TrafficModel.difference(traffic.counters(), beforeChecksFail);
    const beforeDetach = traffic.counters();
    await world.clients.autoScaling.send(new DetachLoadBalancersCommand({ AutoScalingGroupName: group, LoadBalancerNames: [world.settings.loadBalancer.loadBalancerName] }));
    world.region.advance(10);
    const detached = TrafficModel.difference(traffic.counters(), beforeDetach);
    // Assess
    expect(outOfService.failedBy.v1).toBeGreaterThan(0);
    expect(outOfService.failedBy[NO_HEALTHY_TARGET]).toBeGreaterThan(0);
    expect(outOfService.noHealthyTargetAfter).toEqual({ v1: outOfService.failedBy[NO_HEALTHY_TARGET] });
    expect(detached).toMatchObject({ failed: 100, failedBy: { [NO_HEALTHY_TARGET]: 100 }, noHealthyTargetAfter: {} });
  });

  it("swaps releases with zero failed requests when the new group is healthy before the old one drains", async () => {
    // Prepare
    const world = simulatedWorld();
    const old = await launchGroup(world, { release: "v1" });
    world.region.advance(200);
    const traffic = new TrafficModel(world.region, world.settings.loadBalancer, 10);
    traffic.start();
    // Act
    await launchGroup(world, { release: "v2" });
    world.region.advance(200);
    await world.clients.autoScaling.send(
      new DetachLoadBalancerTargetGroupsCommand({ AutoScalingGroupName: old, TargetGroupARNs: [targetGroupArn(world)] }),
    );
    await world.clients.autoScaling.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: old, MinSize: 0, DesiredCapacity: 0 }));
    world.region.advance(DEFAULT_TIMING.drainingSeconds + DEFAULT_TIMING.terminationSeconds + 60);
    const counters = traffic.counters();
    // Assess
    expect(counters.failed).toBe(0);
    expect(counters.total).toBe((200 + DEFAULT_TIMING.drainingSeconds + DEFAULT_TIMING.terminationSeconds + 60) * 10);
    expect(counters.servedBy.v1).toBeGreaterThan(0);
    expect(counters.servedBy.v2).toBeGreaterThan(counters.servedBy.v1 ?? 0);
  });

  it("fails requests routed to an instance terminated behind the load balancer's back until checks notice", async () => {
    // Prepare
    const world = simulatedWorld();
    await launchGroup(world, { release: "v1", desired: 2 });
    world.region.advance(200);
    const traffic = new TrafficModel(world.region, world.settings.loadBalancer, 10);
    traffic.start();
    const [instance] = [...world.region.ec2.instances.values()];
    // Act
    world.region.ec2.terminateInstance(instance.instanceId);
    world.region.advance(600);
    // Assess
    expect(traffic.counters().failed).toBeGreaterThan(0);
    expect(traffic.counters().failed).toBeLessThanOrEqual(5 * 2 * DEFAULT_TIMING.healthCheckIntervalSeconds);
    expect(traffic.failures.map((f) => f.reason)).toEqual(["target not serving"]);
    expect([...world.region.ec2.instances.values()].filter((i) => i.state === "running").length).toBe(2);
  });
  it("with a request duration, requests in flight finish while their instance drains, and are cut off by a ForceDelete", async () => {
    // Prepare
    const world = simulatedWorld();
    const old = await launchGroup(world, { release: "v1" });
    world.region.advance(200);
    const drained = new TrafficModel(world.region, world.settings.loadBalancer, { requestsPerSecond: 10, requestSeconds: 20 });
    drained.start();
    await launchGroup(world, { release: "v2" });
    world.region.advance(200);
    // Act: the old group leaves the load balancer properly (drains), then the new one is force-deleted mid-request.
    await world.clients.autoScaling.send(new DetachLoadBalancerTargetGroupsCommand({ AutoScalingGroupName: old, TargetGroupARNs: [targetGroupArn(world)] }));
    world.region.advance(DEFAULT_TIMING.drainingSeconds + 1);
    const afterDrain = drained.counters();
    const v2 = [...world.region.autoScaling.groups.values()].find((g) => g.name !== old)!.name;
    await world.clients.autoScaling.send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: v2, ForceDelete: true }));
    world.region.advance(1);
    // Assess
    expect(afterDrain.failed).toBe(0);
    expect(afterDrain.servedBy.v1).toBeGreaterThan(0);
    const cut = drained.counters();
    // 10 requests/s for 20 s each: about 200 in flight when the instances went away.
    expect(cut.failedBy.v2).toBeGreaterThanOrEqual(190);
    expect(drained.failures.find((f) => f.reason === "cut off")).toMatchObject({ release: "v2" });
  });

  it("fails requests beyond an instance's capacity, and none within it", async () => {
    // Prepare
    const world = simulatedWorld();
    await launchGroup(world, { release: "v1", desired: 2 });
    world.region.advance(200);
    const within = new TrafficModel(world.region, world.settings.loadBalancer, { requestsPerSecond: 20, requestsPerInstancePerSecond: 10 });
    const beyond = new TrafficModel(world.region, world.settings.loadBalancer, { requestsPerSecond: 30, requestsPerInstancePerSecond: 10 });
    within.start();
    beyond.start();
    // Act
    world.region.advance(100);
    // Assess
    expect(within.counters()).toMatchObject({ total: 2000, failed: 0, servedBy: { v1: 2000 } });
    expect(beyond.counters()).toMatchObject({ total: 3000, failed: 1000, servedBy: { v1: 2000 } });
    expect(beyond.failures.every((f) => f.reason === "over capacity")).toBe(true);
  });
});

describe("physical minimum", () => {
  it("adds bake, boot, health checks, draining, hook and termination with zero orchestration delay", () => {
    // Act
    const normal = physicalMinimum(DEFAULT_TIMING, { bake: "release", launch: true, retire: true });
    const classic = physicalMinimum(DEFAULT_TIMING, { bake: "release", launch: true, retire: true, loadBalancer: "classic" });
    const first = physicalMinimum(DEFAULT_TIMING, { bake: "base-and-release", launch: true, retire: false });
    const slowApp = physicalMinimum({ ...DEFAULT_TIMING, appStartSeconds: 45 }, { bake: "none", launch: true, retire: true, lifecycleHookSeconds: 60 });
    const slowAppClassic = physicalMinimum({ ...DEFAULT_TIMING, appStartSeconds: 45 }, { bake: "none", launch: true, retire: true, loadBalancer: "classic" });
    // Assess: a new ALB target needs one passing check, a classic instance healthyThreshold (2) in a row.
    expect(normal.totalSeconds).toBe(600 + 40 + 30 + 300 + 30);
    expect(classic.totalSeconds).toBe(600 + 40 + 60 + 300 + 30);
    expect(first.totalSeconds).toBe(900 + 600 + 40 + 30);
    expect(slowApp.parts.loadBalancerHealthySeconds).toBe(60);
    expect(slowApp.totalSeconds).toBe(40 + 60 + 300 + 60 + 30);
    expect(slowAppClassic.parts.loadBalancerHealthySeconds).toBe(90);
  });

  it("with a seeded phase: the first passing check of each new target, the slowest one bounding the release", () => {
    // Act: phases 10 s and 25 s, app start 5 s (ALB: healthy at the first check; classic: healthyThreshold in a row).
    const early = physicalMinimum(DEFAULT_TIMING, { bake: "release", launch: true, retire: false, firstCheckSeconds: [10, 25] });
    const classic = physicalMinimum(DEFAULT_TIMING, { bake: "release", launch: true, retire: false, firstCheckSeconds: [10, 25], loadBalancer: "classic" });
    // A phase of 3 s comes before the app answers: that target passes one interval later, at 33 s.
    const beforeApp = physicalMinimum(DEFAULT_TIMING, { bake: "release", launch: true, retire: false, firstCheckSeconds: [3, 25] });
    // Assess
    expect(early.parts.loadBalancerHealthySeconds).toBe(25);
    expect(early.totalSeconds).toBe(600 + 40 + 25);
    expect(classic.parts.loadBalancerHealthySeconds).toBe(25 + 30);
    expect(beforeApp.parts.loadBalancerHealthySeconds).toBe(33);
    expect(loadBalancerHealthySeconds(DEFAULT_TIMING, "application", 30)).toBe(loadBalancerHealthySeconds(DEFAULT_TIMING, "application"));
    expect(loadBalancerHealthySeconds({ ...DEFAULT_TIMING, appStartSeconds: 45 }, "application", 10)).toBe(70);
    expect(physicalMinimum(DEFAULT_TIMING, { bake: "release", launch: true, retire: false, firstCheckSeconds: [] }).parts.loadBalancerHealthySeconds).toBe(30);
  });
});

describe("health-check phase (timing healthCheckPhase)", () => {
  const intervalMs = DEFAULT_TIMING.healthCheckIntervalSeconds * 1000;
  /** Registers `count` targets at once in the environment's pool; the ms from each one's registration to its first check. */
  function phasesMs(options: { phase?: "aligned" | "seeded"; seed?: number; loadBalancer?: "application" | "classic"; count?: number }): number[] {
    const world = simulatedWorld({
      environment: { config: { loadBalancer: options.loadBalancer ?? "application" } },
      timing: options.phase ? { healthCheckPhase: options.phase } : {},
      region: { ...INSTANT_REGION, consistency: { ...IMMEDIATE_CONSISTENCY, seed: options.seed ?? 1 } },
    });
    const target = world.settings.loadBalancer;
    const pool =
      target.kind === "application"
        ? world.region.loadBalancing.targetGroups.get(target.targetGroupArn)!.pool
        : world.region.loadBalancing.classicLoadBalancers.get(target.loadBalancerName)!.pool;
    world.region.advance(7);
    for (let i = 0; i < (options.count ?? 20); i++) pool.register(`i-phase${i}`);
    world.attachment.detach();
    return [...pool.registrations.values()].map((r) => r.firstCheckAtMs - r.registeredAtMs);
  }

  it("aligned (the default): every first check exactly one interval after registration", () => {
    // Act
    const defaults = phasesMs({});
    const aligned = phasesMs({ phase: "aligned", loadBalancer: "classic" });
    // Assess
    expect(new Set([...defaults, ...aligned])).toEqual(new Set([intervalMs]));
  });

  it("seeded: a draw per target in (0, interval], different across targets, the same for the same seed", () => {
    // Act
    const seeded = phasesMs({ phase: "seeded" });
    const again = phasesMs({ phase: "seeded" });
    const otherSeed = phasesMs({ phase: "seeded", seed: 2 });
    // Assess
    expect(seeded.every((ms) => ms > 0 && ms <= intervalMs)).toBe(true);
    expect(new Set(seeded).size).toBe(seeded.length);
    expect(again).toEqual(seeded);
    expect(otherSeed).not.toEqual(seeded);
    expect(otherSeed.every((ms) => ms > 0 && ms <= intervalMs)).toBe(true);
    // Spread over the interval, not bunched at one end.
    expect(Math.min(...seeded)).toBeLessThan(intervalMs / 3);
    expect(Math.max(...seeded)).toBeGreaterThan((2 * intervalMs) / 3);
  });

  it("seeded: each target turns healthy at its own first passing check, and the physics bound is when the last one does", async () => {
    // Prepare: appStartSeconds 15, so a phase below it fails its first check and passes one interval later.
    const timing = { ...DEFAULT_TIMING, appStartSeconds: 15, healthCheckPhase: "seeded" as const };
    const world = simulatedWorld({ timing });
    const pool = world.region.loadBalancing.targetGroups.get(targetGroupArn(world))!.pool;
    const healthyAt = new Map<string, number>();
    world.region.loadBalancing.onRegistrationChange((_pool, id, registration) => {
      if (registration?.state === "healthy" && !healthyAt.has(id)) healthyAt.set(id, world.region.now());
    });
    // Act
    await launchGroup(world, { release: "v1", desired: 8 });
    world.region.advance(DEFAULT_TIMING.instanceBootSeconds + 2 * DEFAULT_TIMING.healthCheckIntervalSeconds);
    world.attachment.detach();
    // Assess
    const registrations = [...pool.registrations.values()];
    expect(registrations).toHaveLength(8);
    const firstChecks = registrations.map((r) => (r.firstCheckAtMs - r.registeredAtMs) / 1000);
    expect(firstChecks.some((s) => s < timing.appStartSeconds)).toBe(true);
    expect(firstChecks.some((s) => s >= timing.appStartSeconds)).toBe(true);
    for (const r of registrations) {
      const first = (r.firstCheckAtMs - r.registeredAtMs) / 1000;
      expect(healthyAt.get(r.instanceId)! - r.registeredAtMs).toBe(loadBalancerHealthySeconds(timing, "application", first) * 1000);
    }
    const registeredAt = registrations[0].registeredAtMs;
    const lastHealthy = Math.max(...healthyAt.values());
    const bound = physicalMinimum(timing, { bake: "none", launch: true, retire: false, firstCheckSeconds: firstChecks });
    expect(registrations.every((r) => r.registeredAtMs === registeredAt)).toBe(true);
    expect(bound.parts.loadBalancerHealthySeconds * 1000).toBe(lastHealthy - registeredAt);
    // The aligned assumption is not the physics of a seeded phase (here it is below the last target's).
    expect(physicalMinimum(timing, { bake: "none", launch: true, retire: false }).parts.loadBalancerHealthySeconds).not.toBe(bound.parts.loadBalancerHealthySeconds);
  });
});

describe("load balancer target quota", () => {
  it("registers at most 1,000 targets per target group and per classic load balancer, as AWS's default quotas allow", () => {
    for (const loadBalancer of ["application", "classic"] as const) {
      // Prepare
      const world = simulatedWorld({ environment: { config: { loadBalancer } } });
      const target = world.settings.loadBalancer;
      expect(target.kind).toBe(loadBalancer);
      const pool =
        target.kind === "application"
          ? world.region.loadBalancing.targetGroups.get(target.targetGroupArn)!.pool
          : world.region.loadBalancing.classicLoadBalancers.get(target.loadBalancerName)!.pool;

      // Act
      for (let i = 0; i < 1001; i++) pool.register(`i-quota${i}`);

      // Assess
      expect(pool.registrations.size, loadBalancer).toBe(1000);
      expect(pool.refusedOverQuota, loadBalancer).toBe(1);
      expect(pool.registrations.has("i-quota1000"), loadBalancer).toBe(false);
      world.attachment.detach();
    }
  });
});
