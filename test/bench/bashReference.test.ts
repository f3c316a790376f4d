import { describe, expect, it } from "vitest";
import type { EnvironmentSettings } from "../../functions/lib/contract.js";
import {
  BASH_REFERENCE_CLIENTS,
  DEFAULT_SAFETY_CAP_SECONDS,
  SEED_POLL_SECONDS,
  countApiCallsDuring,
  runBashReferenceDeploy,
  type BashReferenceOptions,
  type BashReferenceResult,
} from "../../scripts/bench/bashReference.js";
import { type LoadBalancerKind, SimulatedRegion, type Timing, attachRegion, createEnvironment, physicalMinimum } from "../../simulator/region/index.js";
import { INSTANT_REGION } from "../support/simulatedWorld.js";

const LOAD_BALANCER_KINDS: LoadBalancerKind[] = ["application", "classic"];
const RETIRE_WAIT_OPERATIONS = 4;

/**
 * A fresh region (no API latency, no consistency delays: the model's own timing is what is checked) and
 * environment with the model's clients routed to it; `deploy` drives one run in virtual time.
 */
function world(loadBalancer: LoadBalancerKind, timing: Partial<Timing> = {}) {
  const region = new SimulatedRegion({ ...INSTANT_REGION, timing });
  const settings: EnvironmentSettings = createEnvironment(region, { config: { loadBalancer }, environment: "dev01" });
  const deploy = async (options: BashReferenceOptions): Promise<BashReferenceResult> => {
    const attachment = attachRegion(region, BASH_REFERENCE_CLIENTS);
    try {
      const run = runBashReferenceDeploy(region, settings, options);
      const [settled] = await region.scheduler.drive([run]);
      if (settled.status === "rejected") throw settled.reason;
      return settled.value;
    } finally {
      attachment.detach();
    }
  };
  return { region, settings, deploy };
}

const ceilToPolls = (seconds: number) => Math.ceil(seconds / SEED_POLL_SECONDS);

/** One lookup, then one per poll of the new-group wait and of the old-instances wait. */
function groupDescribesOfNormalDeploy(timing: Timing): number {
  return 1 + ceilToPolls(timing.instanceBootSeconds) + ceilToPolls(timing.drainingSeconds + timing.terminationSeconds);
}

describe.each(LOAD_BALANCER_KINDS)("Bash reference model, %s load balancer", (loadBalancer) => {
  it("a normal deploy takes the physical minimum plus the 4 s polling overshoot of each wait", async () => {
    // Prepare
    const { region, deploy } = world(loadBalancer);
    const first = await deploy({ release: "v1" });
    const minimum = physicalMinimum(region.timing, { bake: "release", launch: true, retire: true, loadBalancer });

    // Act
    const second = await deploy({ release: "v2" });

    // Assess
    expect(first.outcome).toBe("succeeded");
    expect(second).toMatchObject({ outcome: "succeeded", timedOut: false });
    expect(second.simSeconds).toBeGreaterThan(minimum.totalSeconds);
    // Only the naps take time: the run is a whole number of 4 s polls, each wait overshooting by less than one.
    expect(second.simSeconds).toBe(second.polls * SEED_POLL_SECONDS);
    expect(second.simSeconds - minimum.totalSeconds).toBeLessThan(RETIRE_WAIT_OPERATIONS * SEED_POLL_SECONDS);
    const { parts } = minimum;
    expect(second.waitSeconds.bake).toBe(ceilToPolls(parts.bakeSeconds) * SEED_POLL_SECONDS);
    expect(second.waitSeconds.groupInService).toBe(ceilToPolls(parts.bootSeconds) * SEED_POLL_SECONDS);
    expect(second.waitSeconds.loadBalancerHealthy).toBe(ceilToPolls(parts.loadBalancerHealthySeconds) * SEED_POLL_SECONDS);
    expect(second.waitSeconds.oldInstancesGone).toBe(ceilToPolls(parts.drainingSeconds + parts.terminationSeconds) * SEED_POLL_SECONDS);
  });

  it("polls the load balancer with one call per poll, whatever the instance count", async () => {
    // Prepare
    const { deploy } = world(loadBalancer);
    await deploy({ release: "v1" });

    // Act
    const second = await deploy({ release: "v2" });

    // Assess
    const healthOperation = loadBalancer === "application" ? "ELBv2:DescribeTargetHealth" : "ELB:DescribeInstanceHealth";
    expect(second.apiCalls[healthOperation]).toBe(second.pollsByWait.loadBalancerHealthy);
    const deregisterOperation = loadBalancer === "application" ? "ELBv2:DeregisterTargets" : "ELB:DeregisterInstancesFromLoadBalancer";
    expect(second.apiCalls[deregisterOperation]).toBe(1);
    expect(second.apiCalls["AutoScaling:DeleteAutoScalingGroup"]).toBe(1);
  });

  it("reports that it deregistered the image it has just deployed, as the seed's cleanup does", async () => {
    // Prepare
    const { region, deploy } = world(loadBalancer);
    await deploy({ release: "v1" });

    // Act
    const second = await deploy({ release: "v2" });

    // Assess
    const liveImage = second.imageId!;
    expect(second.defects).toEqual([expect.stringContaining(`deregistered the live image ${liveImage}`)]);
    expect(region.ec2.images.has(liveImage)).toBe(false);
    const liveGroup = region.autoScaling.groups.get(second.groupName!)!;
    const runningOnIt = [...liveGroup.instances.keys()].filter((id) => region.ec2.instances.get(id)?.imageId === liveImage);
    expect(runningOnIt).toHaveLength(liveGroup.desired);
  });

  it("keeps an image it was given (the seed's IMAGE_ID sets CLEANUP=no)", async () => {
    // Prepare
    const { region, deploy } = world(loadBalancer);
    const first = await deploy({ release: "v1" });
    await deploy({ release: "v2" });
    region.advance(60); // the previous run's old group is gone (Delete in progress lasts 10 s)
    const base = region.codeBuild.findBaseImage("webapp")!;

    // Act
    const third = await deploy({ release: "v1-again", imageId: base.imageId });

    // Assess
    expect(first.outcome).toBe("succeeded");
    expect(third).toMatchObject({ outcome: "succeeded", defects: [] });
    expect(third.pollsByWait.bake).toBe(0);
    expect(third.apiCalls["EC2:DeregisterImage"]).toBeUndefined();
    expect(region.ec2.images.has(base.imageId)).toBe(true);
  });

  it("aborts when started while the previous run's old group is still being deleted (empty --instances)", async () => {
    // Prepare
    const { region, deploy } = world(loadBalancer);
    await deploy({ release: "v1" });
    await deploy({ release: "v2" });
    const beingDeleted = [...region.autoScaling.groups.values()].filter((group) => group.deleting).map((group) => group.name);
    const givenImage = region.codeBuild.findBaseImage("webapp")!.imageId;

    // Act: a given image skips the bake, so the lookup runs at once
    const third = await deploy({ release: "v3", imageId: givenImage });

    // Assess
    expect(beingDeleted).toHaveLength(1);
    expect(third.outcome).toBe("aborted");
    expect(third.error).toContain(`argument --instances: expected at least one argument (old group ${beingDeleted[0]}`);
    expect(third.defects).toEqual([expect.stringContaining(`no rollback: the new group ${third.groupName}`)]);
  });

  it("stops at the safety cap on a release that never becomes healthy, where the seed would poll on", async () => {
    // Prepare
    const { region, deploy } = world(loadBalancer);
    await deploy({ release: "v1" });
    await deploy({ release: "v2" });
    region.setReleaseBehavior("v3", { appHealthy: false });
    const capSeconds = 1800;

    // Act
    const third = await deploy({ release: "v3", safetyCapSeconds: capSeconds });

    // Assess
    expect(third).toMatchObject({ outcome: "hung", timedOut: true, simSeconds: capSeconds });
    expect(third.error).toMatch(/load balancer: 0\/2 healthy/);
    expect(third.pollsByWait.oldInstancesGone).toBe(0);
    expect(third.defects).toEqual(expect.arrayContaining([expect.stringContaining("no rollback")]));
  });
});

describe("Bash reference model on a broken release, without a cap short enough to stop it", () => {
  it("dies once the replaced instances it keeps polling vanish, leaving the broken group running", async () => {
    // Prepare
    const { region, deploy } = world("classic");
    await deploy({ release: "v1" });
    region.setReleaseBehavior("v2", { appHealthy: false });

    // Act
    const second = await deploy({ release: "v2" });

    // Assess
    expect(second.outcome).toBe("aborted");
    expect(second.timedOut).toBe(false);
    expect(second.simSeconds).toBeLessThan(DEFAULT_SAFETY_CAP_SECONDS);
    expect(second.error).toMatch(/InvalidInstance/);
    expect(second.defects).toEqual([
      expect.stringContaining("polls the instance ids read once before it"),
      expect.stringContaining(`no rollback: the new group ${second.groupName}`),
    ]);
    expect(region.autoScaling.groups.size).toBe(2);
  });

  it("hits the default 6 h cap on a release whose instances never boot, where the seed would poll forever", async () => {
    // Prepare
    const { region, deploy } = world("application");
    await deploy({ release: "v1" });
    region.setReleaseBehavior("v2", { bootFails: true });

    // Act
    const second = await deploy({ release: "v2" });

    // Assess
    expect(second).toMatchObject({ outcome: "hung", timedOut: true, simSeconds: DEFAULT_SAFETY_CAP_SECONDS });
    expect(second.error).toMatch(/InService/);
    expect(second.pollsByWait.loadBalancerHealthy).toBe(0);
  });
});

describe("Bash reference model under faults", () => {
  it("absorbs throttling the way the AWS CLI retries it, and aborts (set -e) when it outlasts those retries", async () => {
    // Prepare
    const absorbed = world("application");
    const outlasted = world("application");
    for (const { deploy } of [absorbed, outlasted]) await deploy({ release: "v1" });
    absorbed.region.faults.inject([{ operation: "AutoScaling:DescribeAutoScalingGroups", error: "Throttling", times: 4 }]);
    outlasted.region.faults.inject([{ operation: "AutoScaling:DescribeAutoScalingGroups", error: "Throttling", times: 5 }]);

    // Act
    const [retried, failed] = [await absorbed.deploy({ release: "v2" }), await outlasted.deploy({ release: "v2" })];

    // Assess
    expect(retried.outcome).toBe("succeeded");
    // 4 extra attempts of the lookup, after 0.5 + 1 + 2 + 4 s of CLI back-off.
    expect(retried.apiCalls["AutoScaling:DescribeAutoScalingGroups"]).toBe(4 + groupDescribesOfNormalDeploy(absorbed.region.timing));
    expect(failed).toMatchObject({ outcome: "aborted", timedOut: false });
    expect(failed.error).toMatch(/^Throttling/);
    expect(failed.apiCalls["AutoScaling:CreateAutoScalingGroup"]).toBeUndefined();
  });

  it("aborts on a failed bake and reports that the seed's pipe to tee hides packer's failure", async () => {
    // Prepare
    const { region, deploy } = world("classic");
    region.faults.inject([{ bakeFailsTimes: 1 }]);

    // Act
    const first = await deploy({ release: "v1" });

    // Assess
    expect(first.outcome).toBe("aborted");
    expect(first.defects).toEqual([expect.stringContaining("without pipefail")]);
    expect(first.apiCalls).toEqual({});
  });
});

describe("Bash reference model's API calls", () => {
  it("makes DescribeAutoScalingGroups calls in proportion to the waits, one per 4 s", async () => {
    // Prepare
    const fast = world("application", { instanceBootSeconds: 40 });
    const slow = world("application", { instanceBootSeconds: 200 });
    for (const { deploy } of [fast, slow]) await deploy({ release: "v1" });

    // Act
    const [fastSecond, slowSecond] = [await fast.deploy({ release: "v2" }), await slow.deploy({ release: "v2" })];

    // Assess
    expect(fastSecond.apiCalls["AutoScaling:DescribeAutoScalingGroups"]).toBe(groupDescribesOfNormalDeploy(fast.region.timing));
    expect(slowSecond.apiCalls["AutoScaling:DescribeAutoScalingGroups"]).toBe(groupDescribesOfNormalDeploy(slow.region.timing));
    const describes = (r: BashReferenceResult) => r.apiCalls["AutoScaling:DescribeAutoScalingGroups"];
    expect(describes(slowSecond) - describes(fastSecond)).toBe((200 - 40) / SEED_POLL_SECONDS);
  });

  it("countApiCallsDuring counts only the calls made while the function runs", async () => {
    // Prepare
    const { region, deploy } = world("classic");
    await deploy({ release: "v1" });

    // Act
    const { result, apiCalls } = await countApiCallsDuring(region, () => deploy({ release: "v2" }));

    // Assess
    expect(apiCalls).toEqual(result.apiCalls);
    expect(apiCalls["AutoScaling:CreateAutoScalingGroup"]).toBe(1);
  });
});
