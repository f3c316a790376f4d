/**
 * The carry-over, the scale-in hold and the capacity at cutover (functions/lib/groupConfiguration.ts), proven
 * against the simulated region with the product's own SDK clients: a live group configured as an operator would
 * configure it by hand, then the real stage functions, then what the region holds.
 */
import { afterEach, describe, expect, it } from "vitest";
import { checkGroupHealth } from "../../functions/checkGroupHealth.js";
import { checkLoadBalancerHealth } from "../../functions/checkLoadBalancerHealth.js";
import { launchReleaseGroup } from "../../functions/launchReleaseGroup.js";
import type { DeployPlan, DeployState, GroupSnapshot, LaunchResult } from "../../functions/lib/contract.js";
import { deleteOrphanedAlarmCopies, newGroupCapacity } from "../../functions/lib/groupConfiguration.js";
import { snapshotGroup } from "../../functions/lib/groups.js";
import { TAG } from "../../functions/lib/names.js";
import { lockEnvironment } from "../../functions/lockEnvironment.js";
import { releaseGroupName } from "../../functions/prepareDeploy.js";
import { retireGroups } from "../../functions/retireGroups.js";
import { rollback } from "../../functions/rollback.js";
import type { SimGroup } from "../../simulator/region/services/autoscaling.js";
import { BY_HAND, configureByHand, describeGroup, EXECUTION_ARN, launchGroup, productWorld, releaseImage } from "../support/simulatedWorld.js";

let world: ReturnType<typeof productWorld>;
afterEach(() => world?.close());


const simGroup = (name: string): SimGroup => world.region.autoScaling.groups.get(name)!;
const suspended = (name: string) => [...simGroup(name).suspendedProcesses].sort();
const holdTag = (name: string) => simGroup(name).tags.find((tag) => tag.Key === TAG.scaleInHold)?.Value;
const asOperator = (operation: string, input: object) => world.region.call("AutoScaling", operation, input);
/** The Environment stack's cutover alarms (never copies: their names have no ":"). */
const builtInAlarms = () => world.settings.cutover.builtInAlarms.flatMap((entry) => entry.alarms);

/** A live group v1, serving, with whatever `configure` sets on it by hand. */
async function liveGroup(configure: (name: string) => void = () => {}): Promise<GroupSnapshot> {
  const name = await launchGroup(world, { release: "v1" });
  world.region.advance(120);
  configure(name);
  return snapshotGroup((await describeGroup(world, name))!);
}

function plan(liveGroups: GroupSnapshot[], release = "v2"): DeployPlan {
  return {
    release,
    rebuildBase: false,
    keepImages: false,
    groupName: releaseGroupName(world.settings, release, EXECUTION_ARN),
    liveGroups,
    desiredCapacity: 2,
  };
}

/** The state Launch receives for a deploy of `release` while `liveGroups` serve, with the lock held. */
async function launchState(liveGroups: GroupSnapshot[], release = "v2"): Promise<DeployState> {
  const imageId = releaseImage(world.region, world.settings, release);
  const state = world.state({ plan: plan(liveGroups, release), image: { imageId, baked: true } });
  await lockEnvironment(state);
  return state;
}

/** A fresh world whose live group v1 an operator configured with everything (configureByHand), and v2 launched beside it. */
async function launchedBesideConfiguredLiveGroup() {
  world = productWorld();
  const live = await liveGroup((name) => configureByHand(world, name));
  const state = await launchState([live]);
  return { live, state, launch: await launchReleaseGroup(state) };
}

describe("the new group matches the live one", () => {
  it("carries over every kind of scaling policy, the step policy's alarm, schedules, hooks, warm pool, attributes, tags and processes", async () => {
    // Prepare
    world = productWorld();
    let stepPolicyArn = "";
    const live = await liveGroup((name) => ({ stepPolicyArn } = configureByHand(world, name)));
    const state = await launchState([live]);

    // Act
    const launch = await launchReleaseGroup(state);

    // Assess
    const group = simGroup(launch.groupName);
    expect([...group.policies.keys()].sort()).toEqual(["add-one", "cpu-high", "forecast", "queue-backlog"]);
    // A customized metric of the live group's own is the new group's now.
    expect(group.policies.get("queue-backlog")!.definition.TargetTrackingConfiguration?.CustomizedMetricSpecification?.Dimensions).toEqual([
      { Name: "AutoScalingGroupName", Value: launch.groupName },
    ]);
    expect(group.policies.get("cpu-high")!.definition).toMatchObject({ PolicyType: "StepScaling", StepAdjustments: [{ MetricIntervalLowerBound: 0, ScalingAdjustment: 2 }], EstimatedInstanceWarmup: 90 });
    expect(group.policies.get("add-one")!.definition).toMatchObject({ ScalingAdjustment: 1, Cooldown: 120, AdjustmentType: "ChangeInCapacity" });
    // The step policy's alarm: copied, on the new group's metric, acting on the new group's policy (and still on the topic).
    const copy = world.region.cloudWatch.alarms.get(`${launch.groupName}:shop-cpu-high`)!;
    expect(copy.definition.Dimensions).toEqual([{ Name: "AutoScalingGroupName", Value: launch.groupName }]);
    expect(copy.definition.AlarmActions).toEqual([group.policies.get("cpu-high")!.arn, BY_HAND.opsTopic]);
    expect(copy.tags).toEqual([
      { Key: TAG.app, Value: "shop" },
      { Key: TAG.environment, Value: "dev01" },
    ]);
    expect(world.region.cloudWatch.alarms.get("shop-cpu-high")!.definition.AlarmActions).toEqual([stepPolicyArn, BY_HAND.opsTopic]);
    expect([...group.scheduledActions.values()].map(({ name, recurrence, timeZone, desired }) => ({ name, recurrence, timeZone, desired }))).toEqual([
      { name: "nightly", recurrence: "0 22 * * *", timeZone: "Europe/Berlin", desired: 1 },
      { name: "launch-day", recurrence: undefined, timeZone: undefined, desired: 4 },
    ]);
    expect(group.lifecycleHooks.get("register")).toMatchObject({ transition: "autoscaling:EC2_INSTANCE_LAUNCHING", heartbeatTimeout: 30, defaultResult: "CONTINUE", notificationTargetArn: BY_HAND.hookTarget, roleArn: BY_HAND.hookRole, notificationMetadata: "shop" });
    expect(group.lifecycleHooks.get("drain")).toMatchObject({ transition: "autoscaling:EC2_INSTANCE_TERMINATING", heartbeatTimeout: 60 });
    expect(group.warmPool).toMatchObject({ MinSize: 1, PoolState: "Stopped", InstanceReusePolicy: { ReuseOnScaleIn: true } });
    expect(group.attributes).toEqual({
      terminationPolicies: ["OldestInstance"],
      maxInstanceLifetime: 604_800,
      capacityRebalance: true,
      instanceMaintenancePolicy: { MinHealthyPercentage: 90, MaxHealthyPercentage: 120 },
      defaultCooldown: 120,
      defaultInstanceWarmup: 60,
    });
    expect(group.tags).toContainEqual({ Key: "team", Value: "web", PropagateAtLaunch: true });
    // The operator's suspension, and the hold while the old group serves (recorded in the tag).
    expect(suspended(launch.groupName)).toEqual(["AZRebalance", "AlarmNotification"]);
    expect(holdTag(launch.groupName)).toBe("AlarmNotification");
    expect(launch.message).toBe(
      `launch: ${launch.groupName} with 2 instance(s) (configured 2, live 2); carried over from ${live.name}: ` +
        "scaling policies queue-backlog, cpu-high, add-one, forecast; scheduled actions nightly, launch-day; lifecycle hooks register, drain; " +
        "termination policies, max instance lifetime, capacity rebalance, instance maintenance policy, default cooldown, default instance warmup; " +
        `tags team; warm pool; suspended processes AZRebalance; scaling held on ${live.name}, ${launch.groupName} until cutover`,
    );
  });

  it("holds the old group's alarms and schedules from Launch on, and a rollback leaves its policies and processes as they were", async () => {
    // Prepare
    world = productWorld();
    const live = await liveGroup((name) => configureByHand(world, name));
    const state = await launchState([live]);
    const policiesBefore = structuredClone([...simGroup(live.name).policies.values()]);

    // Act
    const launch = await launchReleaseGroup(state);
    const held = { processes: suspended(live.name), tag: holdTag(live.name) };
    await rollback({ ...state, launch });

    // Assess
    expect(held).toEqual({ processes: ["AZRebalance", "AlarmNotification", "ScheduledActions"], tag: "AlarmNotification,ScheduledActions" });
    expect(suspended(live.name)).toEqual(["AZRebalance"]);
    expect(holdTag(live.name)).toBeUndefined();
    expect([...simGroup(live.name).policies.values()]).toEqual(policiesBefore);
    expect([...simGroup(live.name).scheduledActions.keys()]).toEqual(["nightly", "launch-day"]);
  });

  it("a rollback releases the hold on a group it leaves alone too (detached by an earlier deploy, not serving)", async () => {
    // Prepare: v1 serves; v0, which an earlier deploy detached, still runs (a leftover the next success retires).
    world = productWorld();
    const live = await liveGroup((name) => configureByHand(world, name));
    const leftover = await launchGroup(world, { release: "v0", desired: 1 });
    world.region.advance(120);
    if (world.settings.loadBalancer.kind !== "application") throw new Error("expected an ALB environment");
    asOperator("DetachLoadBalancerTargetGroups", { AutoScalingGroupName: leftover, TargetGroupARNs: [world.settings.loadBalancer.targetGroupArn] });
    const detached = { ...snapshotGroup((await describeGroup(world, leftover))!), attached: false, serving: false };
    const state = await launchState([{ ...live, attached: true, serving: true }, detached]);

    // Act
    const launch = await launchReleaseGroup(state);
    const heldLeftover = holdTag(leftover);
    const result = await rollback({ ...state, launch });

    // Assess: v0 was held like every group Prepare found, and is left as it was: detached, nothing suspended.
    expect(heldLeftover).toBe("AlarmNotification,ScheduledActions");
    expect(result.restoredGroups).toEqual([live.name]);
    expect(simGroup(leftover).targetGroupArns).toEqual([]);
    expect(suspended(leftover)).toEqual([]);
    expect(holdTag(leftover)).toBeUndefined();
    expect(suspended(live.name)).toEqual(["AZRebalance"]);
  });

  it("an operator's own AlarmNotification suspension is neither taken for the hold nor resumed by the rollback", async () => {
    // Prepare
    world = productWorld();
    const live = await liveGroup((name) => {
      asOperator("PutScalingPolicy", { AutoScalingGroupName: name, PolicyName: "add-one", AdjustmentType: "ChangeInCapacity", ScalingAdjustment: 1 });
      asOperator("PutScheduledUpdateGroupAction", { AutoScalingGroupName: name, ScheduledActionName: "nightly", Recurrence: "0 22 * * *", DesiredCapacity: 1 });
      asOperator("SuspendProcesses", { AutoScalingGroupName: name, ScalingProcesses: ["AlarmNotification"] });
    });
    const state = await launchState([live]);

    // Act
    const launch = await launchReleaseGroup(state);
    const whileHeld = holdTag(live.name);
    await rollback({ ...state, launch });

    // Assess
    expect(whileHeld).toBe("ScheduledActions");
    expect(suspended(live.name)).toEqual(["AlarmNotification"]);
  });

  it("is idempotent: a second Launch finds the hold in place, carries the same, and copies each alarm once", async () => {
    // Prepare
    world = productWorld();
    const live = await liveGroup((name) => configureByHand(world, name));
    const state = await launchState([live]);
    const first = await launchReleaseGroup(state);
    world.region.advance(30);

    // Act
    const again = await launchReleaseGroup(state);

    // Assess
    expect(again).toEqual(first);
    expect(holdTag(live.name)).toBe("AlarmNotification,ScheduledActions");
    // The hold on the old group is not mistaken for the operator's on the second look.
    expect(suspended(first.groupName)).toEqual(["AZRebalance", "AlarmNotification"]);
    expect([...world.region.cloudWatch.alarms.keys()].sort()).toEqual([`${first.groupName}:shop-cpu-high`, "shop-cpu-high", ...builtInAlarms()].sort());
  });

  it("releases the new group's hold once the old group leaves the load balancer", async () => {
    // Prepare
    const { live, state, launch } = await launchedBesideConfiguredLiveGroup();

    // Act
    await retireGroups({ ...state, launch });

    // Assess
    expect(suspended(launch.groupName)).toEqual(["AZRebalance"]);
    expect(holdTag(launch.groupName)).toBeUndefined();
    // The retiring group stays held: no schedule may launch into it while it drains.
    expect(suspended(live.name)).toEqual(["AZRebalance", "AlarmNotification", "ScheduledActions"]);
  });

  it("while held, the old group's schedule does not run; the new group's copy of it does", async () => {
    // Prepare: a schedule due every minute that sets desired capacity 3.
    world = productWorld();
    const live = await liveGroup((name) =>
      asOperator("PutScheduledUpdateGroupAction", { AutoScalingGroupName: name, ScheduledActionName: "every-minute", Recurrence: "* * * * *", DesiredCapacity: 3 }),
    );
    const state = await launchState([live]);
    const launch = await launchReleaseGroup(state);

    // Act
    world.region.advance(120);

    // Assess
    expect(simGroup(live.name).desired).toBe(2);
    expect(simGroup(launch.groupName).desired).toBe(3);
  });
});

describe("the configuration wins where both define the same thing", () => {
  it("a configured CPU target replaces the live CPU target; a configured schedule at the same time replaces the live one; a schedule the configuration dropped is not carried", async () => {
    // Prepare
    world = productWorld();
    const live = await liveGroup((name) => {
      asOperator("PutScalingPolicy", { AutoScalingGroupName: name, PolicyName: "cpu-target-55", PolicyType: "TargetTrackingScaling", TargetTrackingConfiguration: { PredefinedMetricSpecification: { PredefinedMetricType: "ASGAverageCPUUtilization" }, TargetValue: 55 } });
      asOperator("PutScalingPolicy", { AutoScalingGroupName: name, PolicyName: "network-in", PolicyType: "TargetTrackingScaling", TargetTrackingConfiguration: { PredefinedMetricSpecification: { PredefinedMetricType: "ASGAverageNetworkIn" }, TargetValue: 1e6 } });
      asOperator("PutScheduledUpdateGroupAction", { AutoScalingGroupName: name, ScheduledActionName: "morning", Recurrence: "0 8 * * *", TimeZone: "Europe/Berlin", DesiredCapacity: 3 });
      // What an earlier configuration applied, since removed from it.
      asOperator("PutScheduledUpdateGroupAction", { AutoScalingGroupName: name, ScheduledActionName: "immutable-deploy-weekend", Recurrence: "0 0 * * 6", DesiredCapacity: 1 });
    });
    world.settings.scaling = {
      targetTracking: { metric: "cpu", targetValue: 50, warmupSeconds: 120 },
      scheduledActions: [{ name: "business-hours", recurrence: "0 8 * * *", timeZone: "Europe/Berlin", desiredCapacity: 4, maxCapacity: 4 }],
    };
    const state = await launchState([live]);

    // Act
    const launch = await launchReleaseGroup(state);

    // Assess
    const group = simGroup(launch.groupName);
    expect([...group.policies.keys()].sort()).toEqual(["immutable-deploy-target-tracking", "network-in"]);
    expect(group.policies.get("immutable-deploy-target-tracking")!.definition).toMatchObject({
      PolicyType: "TargetTrackingScaling",
      EstimatedInstanceWarmup: 120,
      TargetTrackingConfiguration: { PredefinedMetricSpecification: { PredefinedMetricType: "ASGAverageCPUUtilization" }, TargetValue: 50 },
    });
    expect([...group.scheduledActions.keys()]).toEqual(["immutable-deploy-business-hours"]);
    expect(group.scheduledActions.get("immutable-deploy-business-hours")).toMatchObject({ recurrence: "0 8 * * *", timeZone: "Europe/Berlin", desired: 4, max: 4 });
    expect(launch.message).toContain("configured: target tracking cpu 50 (in place of cpu-target-55); scheduled actions immutable-deploy-business-hours");
  });

  it("tracks ALB requests per target with the resource label of the environment's load balancer and target group", async () => {
    // Prepare
    world = productWorld();
    world.settings.scaling = { targetTracking: { metric: "requestCountPerTarget", targetValue: 600 }, scheduledActions: [] };
    const state = await launchState([]);

    // Act
    const launch = await launchReleaseGroup(state);

    // Assess: the region refuses a label whose target group is not attached to the group.
    // The new group's target group is the one Launch attached it to (ALB environments take turns on two).
    const targetGroupArn = launch.target ?? "";
    expect(simGroup(launch.groupName).targetGroupArns).toEqual([targetGroupArn]);
    const label = simGroup(launch.groupName).policies.get("immutable-deploy-target-tracking")!.definition.TargetTrackingConfiguration?.PredefinedMetricSpecification;
    expect(label?.PredefinedMetricType).toBe("ALBRequestCountPerTarget");
    expect(label?.ResourceLabel).toMatch(new RegExp(`^app/shop-dev01/[0-9a-f]{16}/${targetGroupArn.slice(targetGroupArn.lastIndexOf(":") + 1)}$`));
  });

  it("launches a configured mixed-instances group pinned to the new version, with the On-Demand/Spot split", async () => {
    // Prepare
    world = productWorld();
    world.settings.mixedInstances = { instanceTypes: ["t3.small", "t3a.small"], onDemandBaseCapacity: 1, onDemandPercentageAboveBaseCapacity: 25, spotAllocationStrategy: "price-capacity-optimized" };
    const state = await launchState([]);

    // Act
    const launch = await launchReleaseGroup(state);

    // Assess
    const described = (await describeGroup(world, launch.groupName))!;
    expect(described.LaunchTemplate).toBeUndefined();
    expect(described.MixedInstancesPolicy).toEqual({
      LaunchTemplate: {
        LaunchTemplateSpecification: { LaunchTemplateId: world.settings.launchTemplateId, Version: launch.launchTemplateVersion },
        Overrides: [{ InstanceType: "t3.small" }, { InstanceType: "t3a.small" }],
      },
      InstancesDistribution: { OnDemandAllocationStrategy: "prioritized", OnDemandBaseCapacity: 1, OnDemandPercentageAboveBaseCapacity: 25, SpotAllocationStrategy: "price-capacity-optimized" },
    });
    expect(snapshotGroup(described).launchTemplateVersion).toBe(launch.launchTemplateVersion);
  });
});

describe("capacity at cutover", () => {
  it("newGroupCapacity: each of min, desired and max the larger of configured and live; min never above desired", () => {
    world = productWorld();
    world.settings.capacity = { min: 1, desired: 2, max: 4 };
    expect(newGroupCapacity(world.settings, [])).toEqual({ min: 1, desired: 2, max: 4 });
    expect(newGroupCapacity(world.settings, [{ min: 1, desired: 5, max: 6 }])).toEqual({ min: 1, desired: 5, max: 6 });
    expect(newGroupCapacity(world.settings, [{ min: 3, desired: 3, max: 3 }, { min: 0, desired: 0, max: 0 }])).toEqual({ min: 3, desired: 3, max: 4 });
  });

  /** Launch while `live` serves, then time until the new group is healthy in the group. */
  async function launchedBeside(live: GroupSnapshot): Promise<{ state: DeployState; launch: LaunchResult }> {
    const state = await launchState([live]);
    const launch = await launchReleaseGroup(state);
    world.region.advance(90);
    return { state, launch };
  }

  it("a scale-out of the live group after Launch: the group check raises the new group and waits for it", async () => {
    // Prepare
    world = productWorld();
    const { state, launch } = await launchedBeside(await liveGroup());
    asOperator("SetDesiredCapacity", { AutoScalingGroupName: state.plan!.liveGroups[0].name, DesiredCapacity: 4 });

    // Act
    const check = await checkGroupHealth({ ...state, launch });

    // Assess
    expect(check).toMatchObject({ status: "waiting", healthy: 2, desired: 4 });
    expect(simGroup(launch.groupName)).toMatchObject({ desired: 4, max: 4 });
  });

  it("right before cutover: the load balancer check raises the new group beyond its max, and does not give up at the old window's grace end", async () => {
    // Prepare: the new group was healthy in the group at 2; then the operator raised the live group's max to 6 and scaled it to 6.
    world = productWorld();
    const { state, launch } = await launchedBeside(await liveGroup());
    const groupHealth = await checkGroupHealth({ ...state, launch });
    expect(groupHealth).toMatchObject({ status: "ready", desired: 2 });
    asOperator("UpdateAutoScalingGroup", { AutoScalingGroupName: state.plan!.liveGroups[0].name, MaxSize: 6, DesiredCapacity: 6 });
    world.region.advance(world.settings.healthCheckGracePeriodSeconds);

    // Act
    const raised = await checkLoadBalancerHealth({ ...state, launch, groupHealth });
    world.region.advance(180);
    const later = await checkLoadBalancerHealth({ ...state, launch, groupHealth });

    // Assess
    expect(raised).toMatchObject({ status: "waiting", healthy: 2, desired: 6 });
    expect(simGroup(launch.groupName)).toMatchObject({ desired: 6, max: 6 });
    expect(later).toMatchObject({ status: "ready", healthy: 6, desired: 6 });
  });
});

describe("alarm copies", () => {
  it("those of groups that are gone are deleted; the operator's own alarm and the live group's copy stay", async () => {
    // Prepare: v2 launched beside v1 (copying v1's alarm), then rolled back (v2 force-deleted).
    const { live, state, launch } = await launchedBesideConfiguredLiveGroup();
    await rollback({ ...state, launch });
    world.region.advance(30);
    world.region.call("CloudWatch", "PutMetricAlarm", {
      AlarmName: `${live.name}:shop-cpu-high`,
      MetricName: "CPUUtilization",
      Namespace: "AWS/EC2",
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: "GreaterThanThreshold",
    });

    // Act
    const deleted = await deleteOrphanedAlarmCopies(world.settings);

    // Assess
    expect(deleted).toEqual([`${launch.groupName}:shop-cpu-high`]);
    expect([...world.region.cloudWatch.alarms.keys()].sort()).toEqual([`${live.name}:shop-cpu-high`, "shop-cpu-high", ...builtInAlarms()].sort());
  });
});
