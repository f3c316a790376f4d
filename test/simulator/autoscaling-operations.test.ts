import {
  CompleteLifecycleActionCommand,
  DeletePolicyCommand,
  DescribeLifecycleHooksCommand,
  DescribePoliciesCommand,
  DescribeScalingActivitiesCommand,
  DescribeScheduledActionsCommand,
  EnterStandbyCommand,
  ExitStandbyCommand,
  PutLifecycleHookCommand,
  PutScalingPolicyCommand,
  PutScheduledUpdateGroupActionCommand,
  SetDesiredCapacityCommand,
  SetInstanceProtectionCommand,
  UpdateAutoScalingGroupCommand,
} from "@aws-sdk/client-auto-scaling";
import { DescribeTargetHealthCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_TIMING, SIMULATION_EPOCH_MS } from "../../simulator/region/index.js";
import { nextOccurrence, parseRecurrence } from "../../functions/lib/recurrence.js";
import { describeGroup, launchGroup, simulatedWorld, detachAll } from "../support/simulatedWorld.js";

// Test files share worker threads (vitest.config.ts): leave no region attached for the next file.
afterEach(detachAll);

/** Auto Scaling as an operator meets it: what AWS refuses, and what policies, hooks, protection and Standby do. */

type World = ReturnType<typeof simulatedWorld>;

async function servingGroup(world: World, options: { desired?: number; max?: number } = {}) {
  const name = await launchGroup(world, { release: "v1", ...options });
  world.region.advance(200);
  return name;
}

const states = async (world: World, name: string) => (await describeGroup(world, name))?.Instances?.map((i) => i.LifecycleState) ?? [];
const errorOf = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error as Error & { Code?: string });

async function targetStates(world: World): Promise<Record<string, string>> {
  if (world.settings.loadBalancer.kind !== "application") throw new Error("expected an ALB environment");
  const health = await world.clients.elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: world.settings.loadBalancer.targetGroupArn }));
  return Object.fromEntries((health.TargetHealthDescriptions ?? []).map((d) => [d.Target?.Id ?? "", d.TargetHealth?.State ?? ""]));
}

describe("desired capacity", () => {
  it("refuses SetDesiredCapacity above MaxSize or below MinSize with AWS's ValidationError, and scales within", async () => {
    // Prepare
    const world = simulatedWorld();
    const name = await servingGroup(world);
    const set = (DesiredCapacity: number) => world.clients.autoScaling.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: name, DesiredCapacity }));
    // Act
    const above = await errorOf(set(5));
    const below = await errorOf(set(0));
    await set(3);
    world.region.advance(DEFAULT_TIMING.instanceBootSeconds);
    // Assess
    expect(above).toMatchObject({ name: "ValidationError", message: "New SetDesiredCapacity value 5 is above max value 4 for the AutoScalingGroup." });
    expect(below).toMatchObject({ name: "ValidationError", message: "New SetDesiredCapacity value 0 is below min value 1 for the AutoScalingGroup." });
    expect(await describeGroup(world, name)).toMatchObject({ DesiredCapacity: 3, MaxSize: 4 });
    expect(await states(world, name)).toEqual(["InService", "InService", "InService"]);
  });
});

describe("scale-in protection", () => {
  it("keeps a protected instance through a scale-in; the desired capacity drops anyway, and unprotecting lets it go", async () => {
    // Prepare
    const world = simulatedWorld();
    const name = await servingGroup(world);
    const [protectedId, otherId] = ((await describeGroup(world, name))?.Instances ?? []).map((i) => i.InstanceId ?? "");
    await world.clients.autoScaling.send(new SetInstanceProtectionCommand({ AutoScalingGroupName: name, InstanceIds: [protectedId], ProtectedFromScaleIn: true }));
    // Act
    await world.clients.autoScaling.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: name, MinSize: 0, DesiredCapacity: 0 }));
    world.region.advance(DEFAULT_TIMING.drainingSeconds + DEFAULT_TIMING.terminationSeconds + 10);
    const afterScaleIn = await describeGroup(world, name);
    await world.clients.autoScaling.send(new SetInstanceProtectionCommand({ AutoScalingGroupName: name, InstanceIds: [protectedId], ProtectedFromScaleIn: false }));
    world.region.advance(DEFAULT_TIMING.drainingSeconds + DEFAULT_TIMING.terminationSeconds + 10);
    // Assess
    expect(afterScaleIn?.DesiredCapacity).toBe(0);
    expect(afterScaleIn?.Instances).toEqual([expect.objectContaining({ InstanceId: protectedId, LifecycleState: "InService", ProtectedFromScaleIn: true })]);
    expect(world.region.ec2.instances.get(otherId)?.state).toBe("terminated");
    expect(await states(world, name)).toEqual([]);
  });
});

describe("Standby", () => {
  it("drains the instance out of the load balancer, stops counting it, survives a scale-in to 0, and comes back on ExitStandby", async () => {
    // Prepare
    const world = simulatedWorld();
    const name = await servingGroup(world, { desired: 2 });
    const [standbyId] = ((await describeGroup(world, name))?.Instances ?? []).map((i) => i.InstanceId ?? "");
    // Act
    const entered = await world.clients.autoScaling.send(new EnterStandbyCommand({ AutoScalingGroupName: name, InstanceIds: [standbyId], ShouldDecrementDesiredCapacity: true }));
    const entering = await describeGroup(world, name);
    const draining = await targetStates(world);
    world.region.advance(DEFAULT_TIMING.drainingSeconds + 1);
    const inStandby = await describeGroup(world, name);
    const belowMin = await errorOf(world.clients.autoScaling.send(new EnterStandbyCommand({ AutoScalingGroupName: name, InstanceIds: [inStandby?.Instances?.find((i) => i.InstanceId !== standbyId)?.InstanceId ?? ""], ShouldDecrementDesiredCapacity: true })));
    await world.clients.autoScaling.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: name, MinSize: 0, DesiredCapacity: 0 }));
    world.region.advance(DEFAULT_TIMING.drainingSeconds + DEFAULT_TIMING.terminationSeconds + 10);
    const scaledIn = await describeGroup(world, name);
    await world.clients.autoScaling.send(new ExitStandbyCommand({ AutoScalingGroupName: name, InstanceIds: [standbyId] }));
    const back = await describeGroup(world, name);
    world.region.advance(2 * DEFAULT_TIMING.healthCheckIntervalSeconds);
    // Assess
    expect(entered.Activities?.[0]?.Description).toBe(`Moving EC2 instance to Standby: ${standbyId}`);
    expect(entering).toMatchObject({ DesiredCapacity: 1 });
    expect(entering?.Instances?.find((i) => i.InstanceId === standbyId)?.LifecycleState).toBe("EnteringStandby");
    expect(draining[standbyId]).toBe("draining");
    expect(inStandby?.Instances?.map((i) => i.LifecycleState).sort()).toEqual(["InService", "Standby"]);
    expect(belowMin).toMatchObject({ name: "ValidationError", message: expect.stringContaining("To place into standby 1 instances") });
    expect(scaledIn?.Instances).toEqual([expect.objectContaining({ InstanceId: standbyId, LifecycleState: "Standby" })]);
    expect(back).toMatchObject({ DesiredCapacity: 1, Instances: [expect.objectContaining({ InstanceId: standbyId, LifecycleState: "InService" })] });
    expect((await targetStates(world))[standbyId]).toBe("healthy");
  });
});

describe("lifecycle hooks", () => {
  it("defaults to a one-hour heartbeat and ABANDON, holds a terminating instance that long, and lets go on CompleteLifecycleAction", async () => {
    // Prepare
    const world = simulatedWorld();
    const name = await servingGroup(world, { desired: 2 });
    await world.clients.autoScaling.send(new PutLifecycleHookCommand({ AutoScalingGroupName: name, LifecycleHookName: "drain", LifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING" }));
    const [first, second] = ((await describeGroup(world, name))?.Instances ?? []).map((i) => i.InstanceId ?? "");
    // Act
    const hooks = await world.clients.autoScaling.send(new DescribeLifecycleHooksCommand({ AutoScalingGroupName: name }));
    const tooShort = await errorOf(world.clients.autoScaling.send(new PutLifecycleHookCommand({ AutoScalingGroupName: name, LifecycleHookName: "x", LifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING", HeartbeatTimeout: 10 })));
    await world.clients.autoScaling.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: name, MinSize: 0, DesiredCapacity: 0 }));
    world.region.advance(DEFAULT_TIMING.drainingSeconds + 1);
    const waiting = await states(world, name);
    await world.clients.autoScaling.send(new CompleteLifecycleActionCommand({ AutoScalingGroupName: name, LifecycleHookName: "drain", InstanceId: first, LifecycleActionResult: "CONTINUE" }));
    world.region.advance(DEFAULT_TIMING.terminationSeconds);
    const firstState = world.region.ec2.instances.get(first)?.state;
    world.region.advance(3600 - 2 - DEFAULT_TIMING.terminationSeconds);
    const secondStillWaiting = world.region.autoScaling.groups.get(name)?.instances.get(second)?.lifecycleState;
    world.region.advance(2 + DEFAULT_TIMING.terminationSeconds);
    // Assess
    expect(hooks.LifecycleHooks).toEqual([expect.objectContaining({ LifecycleHookName: "drain", HeartbeatTimeout: 3600, DefaultResult: "ABANDON", GlobalTimeout: 172_800 })]);
    expect(tooShort).toMatchObject({ name: "ValidationError", message: expect.stringContaining("from 30 to 7200") });
    expect(waiting).toEqual(["Terminating:Wait", "Terminating:Wait"]);
    expect(firstState).toBe("terminated");
    expect(secondStillWaiting).toBe("Terminating:Wait");
    expect(await states(world, name)).toEqual([]);
  });

  it("holds a launching instance in Pending:Wait outside the load balancer; ABANDON at the timeout terminates it and the group retries", async () => {
    // Prepare
    const world = simulatedWorld();
    const name = await servingGroup(world, { desired: 1 });
    await world.clients.autoScaling.send(new PutLifecycleHookCommand({ AutoScalingGroupName: name, LifecycleHookName: "warm-up", LifecycleTransition: "autoscaling:EC2_INSTANCE_LAUNCHING", HeartbeatTimeout: 60 }));
    // Act
    await world.clients.autoScaling.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: name, DesiredCapacity: 2 }));
    world.region.advance(DEFAULT_TIMING.instanceBootSeconds + 1);
    const held = await describeGroup(world, name);
    const heldId = held?.Instances?.find((i) => i.LifecycleState === "Pending:Wait")?.InstanceId ?? "";
    const targets = await targetStates(world);
    world.region.advance(60);
    const activities = await world.clients.autoScaling.send(new DescribeScalingActivitiesCommand({ AutoScalingGroupName: name }));
    // Assess
    expect(held?.Instances?.map((i) => i.LifecycleState).sort()).toEqual(["InService", "Pending:Wait"]);
    expect(targets[heldId]).toBeUndefined();
    expect(world.region.ec2.instances.get(heldId)?.state).not.toBe("running");
    expect(activities.Activities?.some((a) => a.StatusCode === "Failed" && /ABANDON/.test(a.StatusMessage ?? ""))).toBe(true);
  });
});

describe("scheduled actions and scaling policies", () => {
  it("runs a recurring scheduled action at its next UTC time, within the group's limits, and describes its next run", async () => {
    // Prepare: the region's clock starts at 2026-01-01T00:00Z.
    const world = simulatedWorld();
    const name = await servingGroup(world);
    await world.clients.autoScaling.send(new PutScheduledUpdateGroupActionCommand({ AutoScalingGroupName: name, ScheduledActionName: "morning", Recurrence: "0 8 * * *", DesiredCapacity: 9 }));
    const bad = await errorOf(world.clients.autoScaling.send(new PutScheduledUpdateGroupActionCommand({ AutoScalingGroupName: name, ScheduledActionName: "x", Recurrence: "0 25 * * *", DesiredCapacity: 1 })));
    const past = await errorOf(world.clients.autoScaling.send(new PutScheduledUpdateGroupActionCommand({ AutoScalingGroupName: name, ScheduledActionName: "y", StartTime: new Date(SIMULATION_EPOCH_MS), DesiredCapacity: 1 })));
    // Act
    const described = await world.clients.autoScaling.send(new DescribeScheduledActionsCommand({ AutoScalingGroupName: name }));
    world.region.runUntil(SIMULATION_EPOCH_MS + 8 * 3600_000 - 1);
    const before = (await describeGroup(world, name))?.DesiredCapacity;
    world.region.runUntil(SIMULATION_EPOCH_MS + 8 * 3600_000);
    const after = (await describeGroup(world, name))?.DesiredCapacity;
    const next = await world.clients.autoScaling.send(new DescribeScheduledActionsCommand({ AutoScalingGroupName: name }));
    // Assess
    expect(described.ScheduledUpdateGroupActions).toEqual([expect.objectContaining({ ScheduledActionName: "morning", Recurrence: "0 8 * * *", StartTime: new Date("2026-01-01T08:00:00Z") })]);
    expect(bad).toMatchObject({ name: "ValidationError", message: expect.stringContaining("hour") });
    expect(past).toMatchObject({ name: "ValidationError", message: "Given start time is in the past" });
    expect([before, after]).toEqual([2, 4]); // desired 9 capped at MaxSize 4
    expect(next.ScheduledUpdateGroupActions?.[0]?.StartTime).toEqual(new Date("2026-01-02T08:00:00Z"));
  });

  it("stores a target-tracking policy with its two alarms, describes it by group, and deletes it", async () => {
    // Prepare
    const world = simulatedWorld();
    const name = await servingGroup(world);
    // Act
    const put = await world.clients.autoScaling.send(
      new PutScalingPolicyCommand({
        AutoScalingGroupName: name,
        PolicyName: "cpu",
        PolicyType: "TargetTrackingScaling",
        TargetTrackingConfiguration: { PredefinedMetricSpecification: { PredefinedMetricType: "ASGAverageCPUUtilization" }, TargetValue: 55 },
      }),
    );
    const missingTarget = await errorOf(world.clients.autoScaling.send(new PutScalingPolicyCommand({ AutoScalingGroupName: name, PolicyName: "x", PolicyType: "TargetTrackingScaling" })));
    const described = await world.clients.autoScaling.send(new DescribePoliciesCommand({ AutoScalingGroupName: name }));
    await world.clients.autoScaling.send(new DeletePolicyCommand({ AutoScalingGroupName: name, PolicyName: "cpu" }));
    const afterDelete = await world.clients.autoScaling.send(new DescribePoliciesCommand({ AutoScalingGroupName: name }));
    // Assess
    expect(put.Alarms?.map((a) => a.AlarmName)).toEqual([expect.stringMatching(/^TargetTracking-.*-AlarmHigh-/), expect.stringMatching(/^TargetTracking-.*-AlarmLow-/)]);
    expect(missingTarget).toMatchObject({ name: "ValidationError" });
    expect(described.ScalingPolicies).toEqual([
      expect.objectContaining({ PolicyName: "cpu", PolicyARN: put.PolicyARN, PolicyType: "TargetTrackingScaling", TargetTrackingConfiguration: expect.objectContaining({ TargetValue: 55 }) }),
    ]);
    expect(afterDelete.ScalingPolicies).toEqual([]);
  });
});

describe("launch capacity", () => {
  it("launches `available` instances, fails the next `times` launches with InsufficientInstanceCapacity, then launches again", async () => {
    // Prepare
    const world = simulatedWorld();
    world.region.faults.inject([{ launchCapacity: { available: 1, times: 2 } }]);
    // Act
    const name = await launchGroup(world, { release: "v1", desired: 2 });
    const atOnce = await describeGroup(world, name);
    world.region.advance(60);
    const later = await describeGroup(world, name);
    const activities = await world.clients.autoScaling.send(new DescribeScalingActivitiesCommand({ AutoScalingGroupName: name }));
    // Assess
    expect(atOnce?.Instances).toHaveLength(1);
    expect(later?.Instances).toHaveLength(2);
    const failed = activities.Activities?.filter((a) => a.StatusCode === "Failed") ?? [];
    expect(failed).toHaveLength(2);
    // EC2's InsufficientInstanceCapacity message, as Auto Scaling's activity quotes it.
    expect(failed[0].StatusMessage).toMatch(/^We currently do not have sufficient t3\.micro capacity in the Availability Zone you requested \(us-east-1a\)\..*Launching EC2 instance failed\.$/);
  });
});

describe("recurrence (crontab, UTC)", () => {
  const at = (iso: string) => Date.parse(iso);
  it.each([
    ["0 8 * * *", "2026-01-01T08:00:00Z", "2026-01-02T08:00:00Z"],
    ["*/15 * * * *", "2026-01-01T08:07:00Z", "2026-01-01T08:15:00Z"],
    ["30 0 1 1,6,12 *", "2026-01-01T00:30:00Z", "2026-06-01T00:30:00Z"],
    // Both day fields restricted: either one matching runs the action (the 15th, or any Monday).
    ["0 0 15 * 1", "2026-01-05T00:00:00Z", "2026-01-12T00:00:00Z"],
    ["0 0 * * 7", "2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z"],
  ])("%s after %s runs next at %s", (expression, after, expected) => {
    expect(new Date(nextOccurrence(parseRecurrence(expression), at(after))!).toISOString()).toBe(new Date(at(expected)).toISOString());
  });

  it.each([["0 8 * *"], ["60 * * * *"], ["a * * * *"], ["5-1 * * * *"]])("rejects %s", (expression) => {
    expect(() => parseRecurrence(expression)).toThrow(RangeError);
  });
});
