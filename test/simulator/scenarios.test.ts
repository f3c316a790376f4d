import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { STATE } from "../../functions/lib/names.js";
import { runScenario, type ScenarioResult } from "../../simulator/scenarios/scenario.js";
import { loadDeployDefinition, type AslDefinition } from "../../stacks/stateMachineDefinition.js";

/**
 * The scenario suite: every file in scenarios/ runs with the real state machine and stage functions on the
 * simulated region, and must end with no invariant violation (zero failed requests whenever there was healthy
 * capacity, no leftovers beyond retention, the live image kept, the outcome each step expects). Each
 * scenario then has its own, sharper assertions below.
 */
const SCENARIOS = path.resolve(import.meta.dirname, "../../scenarios");
const files = readdirSync(SCENARIOS).filter((f) => f.endsWith(".json")).sort();

let definition: AslDefinition;
const results = new Map<string, ScenarioResult>();
beforeAll(async () => {
  definition = await loadDeployDefinition("dev01");
}, 120_000);

async function result(name: string): Promise<ScenarioResult> {
  if (!results.has(name)) {
    const scenario = JSON.parse(readFileSync(path.join(SCENARIOS, `${name}.json`), "utf8"));
    results.set(name, await runScenario(scenario, definition));
  }
  return results.get(name)!;
}
const total = (calls: Record<string, number>) => Object.values(calls).reduce((a, b) => a + b, 0);

describe("scenario suite", () => {
  it.each(files.map((f) => f.replace(/\.json$/, "")))("%s holds every invariant", async (name) => {
    const run = await result(name);
    expect(run.invariantViolations).toEqual([]);
    expect(run.leftovers.locks).toEqual([]);
    for (const step of run.steps) if (step.expected) expect(step.outcome, `step ${step.step}`).toBe(step.expected);
  });
});

describe("scenario specifics", () => {
  it("normal deploy: within 5% of the physical minimum, zero failed requests, both releases served", async () => {
    const [, second] = (await result("normal-deploy")).steps;
    expect(second.simSeconds / second.physicalMinimumSeconds).toBeLessThanOrEqual(1.05);
    expect(second.failedRequests).toBe(0);
    expect(Object.keys(second.servedBy).sort()).toEqual(["v1", "v2"]);
    expect(second.bakes).toEqual({ base: 0, release: 1 });
  });

  it("first deploy bakes the base image once, later deploys reuse it", async () => {
    const steps = (await result("normal-deploy")).steps;
    expect(steps.map((s) => s.bakes.base)).toEqual([1, 0]);
  });

  it("classic load balancer: same deploy, and a broken release rolls back with v2 still serving", async () => {
    const steps = (await result("normal-deploy-classic")).steps;
    expect(steps.map((s) => s.outcome)).toEqual(["succeeded", "succeeded", "rolled-back"]);
    expect(steps[2].failedRequests).toBe(0);
    expect(Object.keys(steps[2].servedBy)).toEqual(["v2"]);
    expect(steps[2].liveGroup?.release).toBe("v2");
  });

  it("an unhealthy release rolls back at the end of the grace period, not at the deadline, serving v1 throughout", async () => {
    const [, broken, next] = (await result("unhealthy-release")).steps;
    expect(broken.error).toBe("ReleaseUnhealthy");
    // bake 600 + boot 40 + grace 300 + a poll: far below bake + the 1800 s health deadline.
    expect(broken.simSeconds).toBeLessThan(1000);
    expect(Object.keys(broken.servedBy)).toEqual(["v1"]);
    expect(next.outcome).toBe("succeeded");
  });

  it("deploying an earlier release's image skips the bake and keeps that image", async () => {
    const run = await result("existing-image");
    const rollback = run.steps[2];
    expect(rollback.bakes).toEqual({ base: 0, release: 0 });
    expect(rollback.liveGroup?.release).toBe("v1");
    expect(rollback.failedRequests).toBe(0);
  });

  it("a boot slower than the deadline rolls back and removes the half-created group", async () => {
    const run = await result("slow-boot");
    expect(run.steps[0].outcome).toBe("rolled-back");
    expect(run.leftovers.groups).toEqual([]);
    expect(run.leftovers.launchTemplateVersions).toEqual([]);
  });

  it("a failed bake launches nothing; a release that cannot boot rolls back within minutes; eventual consistency is ridden out", async () => {
    const [, bakeFailed, cannotBoot, notFoundAtFirst] = (await result("bake-boot-and-consistency-faults")).steps;
    expect(bakeFailed).toMatchObject({ outcome: "failed", error: "States.TaskFailed", failedRequests: 0 });
    expect(bakeFailed.apiCalls["AutoScaling:CreateAutoScalingGroup"]).toBeUndefined();
    expect(cannotBoot.outcome).toBe("rolled-back");
    expect(cannotBoot.cause).toContain("keep failing to launch");
    // bake 600 + a few boot attempts: far below bake + the 1800 s health deadline.
    expect(cannotBoot.simSeconds).toBeLessThan(900);
    expect(notFoundAtFirst).toMatchObject({ outcome: "succeeded", failedRequests: 0 });
  });

  it("a throttling storm on every describe call is absorbed by retries", async () => {
    const [, storm] = (await result("throttling-storm")).steps;
    expect(storm.outcome).toBe("succeeded");
    expect(storm.failedRequests).toBe(0);
  });

  it("read throttling storms (issue 12, item 8) are ridden out by the SDK's retries and the state machine's: the release goes live", async () => {
    const [, storm] = (await result("read-throttling-storm")).steps;
    expect(storm).toMatchObject({ outcome: "succeeded", failedRequests: 0 });
    // Every throttled request counts: 12 + 12 + 11 beyond what the deploy needs.
    expect(storm.apiCalls["AutoScaling:DescribeAutoScalingGroups"]).toBeGreaterThanOrEqual(12);
    expect(storm.apiCalls["ELBv2:DescribeTargetHealth"]).toBeGreaterThanOrEqual(13);
    expect(storm.apiCalls["DynamoDB:DeleteItem"]).toBe(12);
    expect((await result("read-throttling-storm")).leftovers.locks).toEqual([]);
  });

  it("a scenario replays exactly: the same seed gives the same figures, consistency delays and SDK back-offs included", async () => {
    const again = await runScenario(JSON.parse(readFileSync(path.join(SCENARIOS, "throttling-storm.json"), "utf8")), definition);
    expect(again).toEqual(await result("throttling-storm"));
  });

  it("a delete blocked by scaling activity is retried until it goes through", async () => {
    const [, step] = (await result("delete-blocked")).steps;
    expect(step.apiCalls["AutoScaling:DeleteAutoScalingGroup"]).toBeGreaterThanOrEqual(4);
    expect((await result("delete-blocked")).leftovers.groups).toHaveLength(1);
  });

  it("a snapshot in use is deleted on a later attempt; retention keeps live + 1 previous", async () => {
    const run = await result("snapshot-in-use");
    const releaseImages = run.leftovers.images.length - 1; // one base image
    expect(releaseImages).toBe(2);
    expect(run.leftovers.snapshots).toHaveLength(run.leftovers.images.length);
    expect(run.steps[2].apiCalls["EC2:DeleteSnapshot"]).toBeGreaterThanOrEqual(2);
  });

  it("a lifecycle-hook delay lengthens the retirement but the deploy still matches the physical minimum", async () => {
    const [, step] = (await result("lifecycle-hook")).steps;
    // bake 600 + boot 40 + one passing ALB check 30 + draining 300 + termination 30, and the 240 s hook.
    expect(step.physicalMinimumSeconds).toBe(1000 + 240);
    expect(step.simSeconds / step.physicalMinimumSeconds).toBeLessThanOrEqual(1.05);
  });

  it("a duplicate S3 event is a no-op, and so is uploading the live release again", async () => {
    const [, dup, again] = (await result("duplicate-event")).steps;
    expect(dup.duplicates).toEqual(["no-op"]);
    expect(dup.bakes.release).toBe(1);
    expect(again.outcome).toBe("no-op");
    expect(again.bakes.release).toBe(0);
  });

  it("two releases uploaded at once deploy one after the other; the environment ends on one group", async () => {
    const run = await result("concurrent-releases");
    expect(run.steps.slice(1).map((s) => s.outcome)).toEqual(["succeeded", "succeeded"]);
    expect(run.leftovers.groups).toHaveLength(1);
    expect(run.steps[1].failedRequests).toBe(0);
  });

  it("a crash after a side effect stops the execution there, and a redrive finishes the deploy", async () => {
    const steps = (await result("crash-and-redrive")).steps;
    expect(steps.map((s) => s.outcome)).toEqual(["succeeded", "failed", "succeeded", "rolled-back", "failed", "succeeded"]);
    expect(steps[1].error).toBe("Runtime.ExitError");
    expect(steps[2].liveGroup?.release).toBe("v2");
    expect(steps[5].liveGroup?.release).toBe("v4");
    expect(steps.every((s) => s.failedRequests === 0 || s.step === 1)).toBe(true);
  });

  it("a live group scaled out before the deploy is matched by the new group", async () => {
    const steps = (await result("scaled-out-live-group")).steps;
    expect(steps[1].liveGroup).toMatchObject({ desired: 5, inService: 5 });
    expect(steps[2].liveGroup).toMatchObject({ release: "v2", desired: 5, inService: 5 });
  });

  it("a 200-instance group deploys with the same number of API calls per poll as a 2-instance group", async () => {
    const [, large] = (await result("large-group")).steps;
    const [, small] = (await result("normal-deploy")).steps;
    expect(large.liveGroup).toMatchObject({ desired: 200, inService: 200 });
    expect(large.failedRequests).toBe(0);
    expect(total(large.apiCalls)).toBe(total(small.apiCalls));
    expect(large.simSeconds / large.physicalMinimumSeconds).toBeLessThanOrEqual(1.05);
  });
});

describe("the simulator runs what each Task's Resource names", () => {
  it("with the Roll back state invoking the unlock function, a broken release is no longer rolled back", async () => {
    // Prepare: the real definition, wired wrong as a mistake in the stack would wire it.
    const swapped = structuredClone(definition);
    swapped.States[STATE.rollback].Resource = swapped.States[STATE.unlockAfterRollback].Resource;
    const scenario = JSON.parse(readFileSync(path.join(SCENARIOS, "unhealthy-release.json"), "utf8"));
    // Act
    const run = await runScenario({ ...scenario, steps: scenario.steps.slice(0, 2) }, swapped);
    // Assess: the broken group stays behind, and the suite's invariants say so.
    expect(run.invariantViolations.join("\n")).toMatch(/groups left/);
    expect(run.leftovers.groups).toHaveLength(2);
  });
});
