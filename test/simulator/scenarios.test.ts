import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULTS, LAMBDA_ERROR, STATE } from "../../functions/lib/names.js";
import { parseScenario, runScenario, type ScenarioResult } from "../../simulator/scenarios/scenario.js";
import { WATCH_POLL_SECONDS } from "../../functions/shiftTraffic.js";
import { LOCK_HANDOVER_TIMEOUT_SECONDS } from "../../functions/lockEnvironment.js";
import { STAGE_FUNCTION_IDS } from "../../stacks/pipeline/tables.js";
import { loadDeployDefinition, type AslDefinition } from "../../stacks/stateMachineDefinition.js";
import { describeApiCallChecks } from "../aws/apiCallChecks.js";
import { describeIamCoverage } from "../stacks/iamCoverage.js";
import { readScenario, SCENARIO_DIR as SCENARIOS, SCENARIO_NAMES, scenarioRuns } from "../support/scenarioRuns.js";

/**
 * The scenario suite: every file in scenarios/ runs with the real state machine and stage functions on the
 * simulated region, and must end with no invariant violation (zero failed requests whenever there was healthy
 * capacity, no leftovers beyond retention, the live image kept, the outcome each step expects). Each
 * scenario then has its own, sharper assertions below. The same runs (each scenario once) feed the checks of
 * every call against AWS's service models and of every call against the functions' IAM roles, at the end.
 */
const PENDING = path.join(SCENARIOS, "pending");
// git keeps no empty folder: with nothing pending, scenarios/pending/ does not exist in a clean clone.
const pendingFiles = existsSync(PENDING) ? readdirSync(PENDING).filter((f) => f.endsWith(".json")).sort() : [];
const README = readFileSync(path.resolve(import.meta.dirname, "../../README.md"), "utf8");

let definition: AslDefinition;
const runs = scenarioRuns(() => definition);
const result = (name: string): Promise<ScenarioResult> => runs.result(name);
beforeAll(async () => {
  definition = await loadDeployDefinition("dev01");
}, 120_000);

/** The real definition with one change, as a mistake in the stack (or the product) would make it. */
function mutated(change: (states: Record<string, any>) => void): AslDefinition {
  const copy = structuredClone(definition);
  change(copy.States);
  return copy;
}
/** The default cutover's own time when a release replaces another (canary: one step, then the bake time). */
const CUTOVER_SECONDS = DEFAULTS.cutoverStepSeconds + DEFAULTS.bakeTimeSeconds;
const total = (calls: Record<string, number>) => Object.values(calls).reduce((a, b) => a + b, 0);

describe("scenario suite", () => {
  it.each(SCENARIO_NAMES)("%s holds every invariant", async (name) => {
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
    expect(steps[2].cause).toContain("every one failed 2 health checks in a row");
    expect(steps[2].cause).toContain("OutOfService (Instance: Instance has failed at least the UnhealthyThreshold number of health checks consecutively.)");
    expect(steps[2].failedRequests).toBe(0);
    expect(Object.keys(steps[2].servedBy)).toEqual(["v2"]);
    expect(steps[2].liveGroup?.release).toBe("v2");
  });

  it("an unhealthy release rolls back once every target failed its checks, not at the end of the grace period, serving v1 throughout", async () => {
    const [, broken, next] = (await result("unhealthy-release")).steps;
    expect(broken.error).toBe("ReleaseUnhealthy");
    expect(broken.cause).toMatch(/every one failed 2 health checks in a row .*i-\d+ unhealthy \(Target\.FailedHealthChecks: Health checks failed\)/);
    expect(broken.notified).toEqual(["rolled-back"]);
    // bake 600 + boot 40 + two failed checks 30 s apart (the second at 60 s after registration) + a poll and the
    // rollback: not bake + boot + the 300 s grace period.
    expect(broken.simSeconds).toBeLessThan(600 + 40 + 60 + 60);
    expect(Object.keys(broken.servedBy)).toEqual(["v1"]);
    expect(next.outcome).toBe("succeeded");
  });

  it("with a slow-start allowance as long as the grace period, a dead release rolls back at its end, in the load balancer's words", async () => {
    const [, broken] = (await result("slow-start-allowance")).steps;
    expect(broken).toMatchObject({ outcome: "rolled-back", error: "ReleaseUnhealthy", failedRequests: 0 });
    // Auto Scaling replaced the failing instances before the check gave up; their last reason is kept.
    expect(broken.cause).toMatch(/i-\d+ replaced by Auto Scaling, last seen unhealthy \(Target\.FailedHealthChecks: Health checks failed\)|every one failed 2 health checks in a row/);
    expect(broken.simSeconds).toBeGreaterThan(600 + 40 + 300);
    expect(broken.simSeconds).toBeLessThan(1000);
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
    // bake 600 + boot 40 + one passing ALB check 30 + the cutover (canary step, bake time) + termination 30
    // (requests take no time: the old targets leave the load balancer at once), and the 240 s hook.
    expect(step.physicalMinimumSeconds).toBe(700 + CUTOVER_SECONDS + 240);
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

  it("a deploy queued behind another bakes while it waits (issue 17 item 3): after the first unlocks it only swaps", async () => {
    const [, first, queued] = (await result("concurrent-releases")).steps;
    // Both bakes ran at once, outside the lock, and each deploy baked once.
    expect(first.bakes).toEqual({ base: 0, release: 2 });
    const [firstDone, queuedDone] = [first.finishSeconds!, queued.finishSeconds!].sort((a, b) => a - b);
    // The queued one's bake ended before the first unlocked, and the unlock hands the lock over at once (a task
    // token): what is left after it is the queued one's swap, no poll. Its swap bound (its finish bound without the
    // bake) leaves out the Lambda and Step Functions latency every deploy pays, so the measure is the first
    // deploy's own swap (its time after its 600 s bake), which paid the same: at most 10 s more.
    const swapBound = queued.physicalMinimumSeconds - 600;
    const firstSwap = first.simSeconds - 600;
    expect(firstSwap).toBeGreaterThanOrEqual(swapBound);
    expect(queuedDone - firstDone).toBeLessThanOrEqual(firstSwap + 10);
  });

  it("a queued deploy waits on a task token, not a poll: one unlock's hand-over, and a few transitions while it waits", async () => {
    const [, first, queued] = (await result("concurrent-releases")).steps;
    const [ahead, behind] = [first, queued].sort((a, b) => a.finishSeconds! - b.finishSeconds!);
    // The unlock completed the waiter's task once (the step's calls: both deploys).
    expect(queued.apiCalls["SFN:SendTaskSuccess"]).toBe(1);
    // The queued deploy does what the first did, plus its waits: Wait for lock, Refresh plan, Lock environment and
    // Lock acquired? per wait, one wait per LOCK_HANDOVER_TIMEOUT_SECONDS at most (a 30 s poll made 4 per 30 s).
    const waitedSeconds = ahead.finishSeconds! - 600;
    const waits = Math.ceil(waitedSeconds / LOCK_HANDOVER_TIMEOUT_SECONDS);
    // Plus one retirement poll (Check, Choice, Wait) either way: termination polls every 2 s, at another phase in each deploy.
    const onePoll = { transitions: 3, invocations: 1 };
    expect(behind.stateTransitions - ahead.stateTransitions).toBeLessThanOrEqual(4 * waits + onePoll.transitions);
    expect(behind.lambdaInvocations - ahead.lambdaInvocations).toBeLessThanOrEqual(3 * waits + onePoll.invocations);
  });

  it("a holder stopped without unlocking (StopExecution) strands no one: notify tells the waiter, which takes the lock over", async () => {
    const [, stopped, queued] = (await result("queued-deploy-holder-stops-without-unlock")).steps;
    expect([stopped.outcome, queued.outcome]).toEqual(["failed", "succeeded"]);
    expect(stopped.error).toBe("Stopped");
    expect(stopped.notified).toEqual(["aborted"]);
    // No unlock ran; the notification of the stop completed the waiter's task (the step's calls: both deploys),
    // so it did not wait out its time-out (up to 300 s): it took over at once and only swapped.
    expect(queued.apiCalls["SFN:SendTaskSuccess"]).toBe(1);
    const stoppedAt = stopped.finishSeconds!;
    const swap = queued.physicalMinimumSeconds - 600;
    expect(queued.finishSeconds! - stoppedAt).toBeGreaterThanOrEqual(swap);
    expect(queued.finishSeconds! - stoppedAt).toBeLessThan(swap + LOCK_HANDOVER_TIMEOUT_SECONDS / 5);
  });

  it("a queued deploy's fresh image survives the running deploy's image retention, even with no previous image kept", async () => {
    const steps = (await result("queued-deploy-bakes-while-waiting")).steps;
    expect(steps.map((s) => s.outcome)).toEqual(["succeeded", "succeeded", "succeeded", "succeeded"]);
    expect(steps[1].bakes).toEqual({ base: 0, release: 2 });
  });

  it("two first deploys that both need the base image bake it twice (bakes run outside the lock): one base image is left over", async () => {
    const [v1, v2, v3] = (await result("concurrent-first-deploys-bake-base")).steps;
    expect([v1.outcome, v2.outcome, v3.outcome]).toEqual(["succeeded", "succeeded", "succeeded"]);
    expect(v1.bakes).toEqual({ base: 2, release: 2 });
    // The next deploy reuses the newer one; nothing deletes base images (README "Base image reuse").
    expect(v3.bakes).toEqual({ base: 0, release: 1 });
  });

  it("crashes are retried; a failure after cutover stops for a redrive, which finishes; a late redrive of a superseded run changes nothing", async () => {
    const steps = (await result("crash-and-redrive")).steps;
    expect(steps.map((s) => s.outcome)).toEqual(["succeeded", "succeeded", "succeeded", "succeeded", "failed", "succeeded", "failed", "succeeded", "failed"]);
    // A crash right after the detach, the create and the delete: each crashed once and its task ran again (the
    // step succeeded); the clean deploy crashed nowhere. (Invocation totals also move with eventual consistency.)
    for (const crashed of steps.slice(1, 4)) expect(crashed.lambdaErrors[LAMBDA_ERROR.crashed]).toBe(1);
    expect(steps[7].lambdaErrors[LAMBDA_ERROR.crashed]).toBeUndefined();
    expect(steps[4]).toMatchObject({ error: "AccessDeniedException", notified: ["needs-attention"], liveGroup: { release: "v5" } });
    expect(steps[5]).toMatchObject({ notified: ["succeeded"], liveGroup: { release: "v5" } });
    // v7 took the lock over from v6's stopped execution and retired what v6 left.
    expect(steps[7].liveGroup?.release).toBe("v7");
    // It only read the lock: its stage's check, then notify (the lock is v7's now: no waiter of its to tell).
    expect(steps[8]).toMatchObject({ error: "LockLost", notified: ["failed"], apiCalls: { "DynamoDB:GetItem": 2 } });
    expect(steps[8].apiCalls["SFN:SendTaskSuccess"]).toBeUndefined();
    expect(Object.keys(steps[8].apiCalls).filter((op) => !op.startsWith("DynamoDB:") && !op.startsWith("SFN:") && !op.startsWith("SNS:") && !op.startsWith("EventBridge:"))).toEqual([]);
    expect(steps.every((s) => s.failedRequests === 0)).toBe(true);
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

describe("second edition: behaviours over time, capacity, operators", () => {
  it("first deploy: requests before any release served are counted apart, not as failed", async () => {
    const [first] = (await result("first-deploy")).steps;
    expect(first.failedRequests).toBe(0);
    expect(first.requestsBeforeFirstRelease).toBeGreaterThan(1000);
    // Ten requests a second for the whole step; the step ends between two requests (API calls take 0.1 s), so
    // the count is within one second's requests of simSeconds * 10.
    expect(Math.abs(first.requestsBeforeFirstRelease + (first.servedBy.v1 ?? 0) - first.simSeconds * 10)).toBeLessThanOrEqual(10);
  });

  it("a release slower than the health check timeout rolls back; one within it goes live with no failed request", async () => {
    const [, tooSlow, slowButFine] = (await result("slow-release")).steps;
    expect(tooSlow.outcome).toBe("rolled-back");
    expect(tooSlow.servedBy.v2).toBeUndefined();
    expect(slowButFine).toMatchObject({ outcome: "succeeded", failedRequests: 0, liveGroup: { release: "v3" } });
    expect(slowButFine.servedBy.v3).toBeGreaterThan(0);
  });

  it("a short launch-capacity shortage delays the deploy by the group's launch retries and fails no request", async () => {
    const [, short] = (await result("launch-capacity")).steps;
    expect(short).toMatchObject({ outcome: "succeeded", failedRequests: 0, liveGroup: { release: "v2", inService: 2 } });
    // The physical minimum does not count the failed launches; the group's retries, 10 s apart, do.
    expect(short.simSeconds - short.physicalMinimumSeconds).toBeGreaterThanOrEqual(6 * 10);
  });

  it("a release that dies while half launched rolls back without serving anyone: it waits on the target group without traffic", async () => {
    const [, dying] = (await result("release-dies-half-launched")).steps;
    expect(dying.outcome).toBe("rolled-back");
    // Before the cutover (issue 14) its instance served until the unhealthy threshold took it out; now the new
    // group is proven healthy on the idle target group first, so its death costs no request.
    expect(dying).toMatchObject({ failedRequests: 0, failedBy: {} });
    expect(dying.servedBy.v2).toBeUndefined();
    expect(dying.recoverySeconds).toBeUndefined();
    expect(dying.liveGroup?.release).toBe("v1");
  });

  it("requests that take 2 s drain with their instance: a deploy fails none; beyond the instances' capacity they fail", async () => {
    const [, deploy] = (await result("requests-take-time")).steps;
    expect(deploy).toMatchObject({ outcome: "succeeded", failedRequests: 0 });
    const overloaded = await runScenario({ ...readScenario("requests-take-time"), traffic: { requestsPerSecond: 40, requestSeconds: 2, requestsPerInstancePerSecond: 15 } }, definition);
    expect(overloaded.steps[1].failedBy.v1).toBeGreaterThan(0);
    expect(overloaded.invariantViolations.join("\n")).toMatch(/step 2 \(v2\): \d+ failed request\(s\) although the environment had healthy capacity/);
  });

  it("the live group's own termination hook holds the retirement for its heartbeat timeout, and the minimum counts it", async () => {
    const [, configured, deploy] = (await result("live-group-termination-hook")).steps;
    expect(configured.liveGroup?.lifecycleHooks).toEqual(["drain-120s"]);
    // A normal deploy's minimum (700 s: an application load balancer takes a new target in at its first passing
    // check, and lets an idle old one go at once), the cutover's step and bake time, plus the hook's 120 s.
    expect(deploy.physicalMinimumSeconds).toBe(700 + CUTOVER_SECONDS + 120);
    expect(deploy.simSeconds).toBeGreaterThanOrEqual(700 + CUTOVER_SECONDS + 120);
    expect(deploy.simSeconds / deploy.physicalMinimumSeconds).toBeLessThanOrEqual(1.05);
  });

  it("scaleLiveGroup beyond MaxSize is refused as AWS refuses it; with a new max it goes through", async () => {
    const [, refused, raised] = (await result("scale-live-group-beyond-max")).steps;
    expect(refused).toMatchObject({ outcome: "failed", error: "ValidationError", cause: "New SetDesiredCapacity value 5 is above max value 4 for the AutoScalingGroup." });
    expect(refused.liveGroup).toMatchObject({ desired: 2, max: 4 });
    expect(raised.liveGroup).toMatchObject({ desired: 5, max: 6, inService: 5 });
  });

  it("duplicate events inside a concurrent step are no-ops, each checked", async () => {
    const [, v2, v3] = (await result("concurrent-duplicate-events")).steps;
    expect(v2.duplicates).toEqual(["no-op"]);
    expect(v3.duplicates).toEqual(["no-op"]);
    // A repeated delivery is recognised by the S3 object's identity at Claim release, while the first still bakes:
    // four executions, two bakes.
    expect(v2.bakes).toEqual({ base: 0, release: 2 });
  });

  it("liveGroup is the serving group, not the alphabetically first; the result ends with it", async () => {
    const run = await result("rollback-keeps-retired-release-retired");
    // Step 2 failed after detaching v1: both groups exist, v2 serves.
    expect(run.steps[1].liveGroup?.release).toBe("v2");
    expect(run.liveGroup).toMatchObject({ release: "v4", desired: 2, min: 1, max: 4, scalingPolicies: [], lifecycleHooks: [], scheduledActions: [] });
  });
});

describe("issue 13: the new group matches the live one", () => {
  it("a hand-added target-tracking policy, termination hook and scheduled action exist on the new group after the deploy", async () => {
    const [, configured, deploy] = (await result("live-group-configuration-carried-over")).steps;
    expect(configured.liveGroup).toMatchObject({ release: "v1", scalingPolicies: ["cpu-target-55"], lifecycleHooks: ["drain-60s"], scheduledActions: ["scale-to-3"] });
    expect(deploy).toMatchObject({ outcome: "succeeded", failedRequests: 0 });
    expect(deploy.liveGroup).toMatchObject({ release: "v2", scalingPolicies: ["cpu-target-55"], lifecycleHooks: ["drain-60s"], scheduledActions: ["scale-to-3"], suspendedProcesses: [] });
  });

  it("the configured target tracking and scheduled action are on every new group; the configured CPU target replaces an operator's", async () => {
    const [first, , second] = (await result("configured-scaling")).steps;
    expect(first.liveGroup).toMatchObject({ scalingPolicies: ["immutable-deploy-target-tracking"], scheduledActions: ["immutable-deploy-business-hours"] });
    expect(second.liveGroup).toMatchObject({
      release: "v2",
      scalingPolicies: ["immutable-deploy-target-tracking"],
      scheduledActions: ["immutable-deploy-business-hours", "scale-to-4"],
    });
  });

  it("a scale-out to 5 during the bake is matched before cutover, with zero failed requests", async () => {
    const [, deploy] = (await result("scale-out-during-bake")).steps;
    expect(deploy).toMatchObject({ outcome: "succeeded", failedRequests: 0, liveGroup: { release: "v2", desired: 5, inService: 5 } });
  });

  it("a scale-out after Launch is matched by the check right before cutover, with zero failed requests", async () => {
    const run = await result("scale-out-during-health-wait");
    const [, , deploy] = run.steps;
    expect(deploy).toMatchObject({ outcome: "succeeded", failedRequests: 0, liveGroup: { release: "v2", desired: 5, inService: 5 } });
    // The load balancer check, the last state before cutover, raised the new group (it only goes on once 5 are healthy).
    expect(run.callsByStageFunction?.checkLoadBalancerHealth).toContain("AutoScaling:UpdateAutoScalingGroup");
  });

  it("a live group whose max an operator raised and scaled beyond the configured max keeps its instances and its room", async () => {
    const steps = (await result("scale-live-group-beyond-max")).steps;
    expect(steps[3]).toMatchObject({ outcome: "succeeded", failedRequests: 0, liveGroup: { release: "v2", desired: 5, max: 6, inService: 5 } });
  });

  it("a rollback leaves the old group's policies, hooks, schedules and suspended processes as they were; the next deploy carries them", async () => {
    const [, , rolledBack, next] = (await result("rollback-keeps-live-group-configuration")).steps;
    const configuration = { scalingPolicies: ["cpu-target-55"], lifecycleHooks: ["drain-60s"], scheduledActions: ["scale-to-3"], suspendedProcesses: ["AZRebalance"] };
    expect(rolledBack).toMatchObject({ outcome: "rolled-back", failedRequests: 0, liveGroup: { release: "v1", ...configuration } });
    expect(next).toMatchObject({ outcome: "succeeded", failedRequests: 0, liveGroup: { release: "v3", ...configuration } });
  });

  it("a scale-in hold a rollback never released is reported", async () => {
    // The Roll back state invoking the unlock function: nothing resumes the old group's processes.
    const noRollback = mutated((states) => {
      states[STATE.rollback].Resource = states[STATE.unlockAfterRollback].Resource;
    });
    const run = await runScenario(readScenario("rollback-keeps-live-group-configuration"), noRollback);
    expect(run.invariantViolations.join("\n")).toMatch(/step 3 \(v2\): scaling still held by a deploy on webapp-sim-v1-[0-9a-f]{8}/);
  });
});

describe("failure paths users can trust (issue 12)", () => {
  it.each(["rollback-keeps-retired-release-retired", "rollback-keeps-retired-release-retired-classic"])(
    "%s: a rollback restores what served (v2), never the group an earlier deploy retired (v1); the next deploy retires both",
    async (name) => {
      const [, stopped, rolledBack, next] = (await result(name)).steps;
      expect(stopped).toMatchObject({ outcome: "failed", notified: ["needs-attention"] });
      expect(rolledBack).toMatchObject({ outcome: "rolled-back", failedRequests: 0, servedBy: { v2: expect.any(Number) }, liveGroup: { release: "v2" } });
      expect(rolledBack.servedBy.v1).toBeUndefined();
      expect(next.outcome).toBe("succeeded");
      expect((await result(name)).leftovers.groups).toHaveLength(1);
    },
  );

  it("rollback finds a new group Auto Scaling does not list yet, by its name, instead of calling it never created", async () => {
    const [, step, next] = (await result("rollback-finds-unlisted-group")).steps;
    // It is deleted, not left attached; waiting on the target group without traffic, it never served (before the
    // cutover, issue 14, it served the 3004 requests while unlisted).
    expect(step).toMatchObject({ outcome: "rolled-back", error: "NotYetVisible", liveGroup: { release: "v1" }, failedRequests: 0 });
    expect(step.servedBy.v2).toBeUndefined();
    expect(step.apiCalls["AutoScaling:DeleteAutoScalingGroup"]).toBe(1);
    expect(next.outcome).toBe("succeeded");
  });

  it("a crash or a lost answer is retried, never a reason to roll back", async () => {
    for (const name of ["crash-after-nth-call", "lost-response"]) {
      const steps = (await result(name)).steps;
      expect(steps.map((s) => s.outcome)).toEqual(["succeeded", "succeeded", "succeeded"]);
      expect(steps.every((s) => s.failedRequests === 0)).toBe(true);
    }
    const [, lostCreate] = (await result("lost-response")).steps;
    // The retry finds the group the lost call created (AlreadyExists) and adopts it: nothing deleted, nothing twice
    // (the creates before it are the region's own "not a fully-formed launch template" right after the version).
    expect(lostCreate.apiCalls["AutoScaling:CreateAutoScalingGroup"]).toBeGreaterThanOrEqual(2);
    expect((await result("lost-response")).leftovers.groups).toHaveLength(1);
    expect(lostCreate.apiCalls["AutoScaling:DeleteAutoScalingGroup"]).toBe(1);
  });

  it("Auto Scaling's 'not a fully-formed launch template' right after the version was created is retried, not rolled back", async () => {
    const [, step] = (await result("launch-template-not-ready")).steps;
    expect(step).toMatchObject({ outcome: "succeeded", bakes: { base: 0, release: 1 }, liveGroup: { release: "v2" } });
    // The three injected refusals, the region's own while the version propagates, then the create that works.
    expect(step.apiCalls["AutoScaling:CreateAutoScalingGroup"]).toBeGreaterThanOrEqual(4);
    expect(step.apiCalls["EC2:CreateLaunchTemplateVersion"]).toBe(1);
  });

  it("read throttling never rolls back a healthy 200-instance release: 12 throttled group reads, 11 target-health reads, 11 unlocks", async () => {
    const [, step] = (await result("read-throttling-never-rolls-back")).steps;
    expect(step).toMatchObject({ outcome: "succeeded", failedRequests: 0, liveGroup: { release: "v2", desired: 200 } });
    // Every throttled request counts, the SDK's own retries included: 12 + 11 + 11 beyond what the deploy needs.
    expect(step.apiCalls["AutoScaling:DescribeAutoScalingGroups"]).toBeGreaterThanOrEqual(12);
    expect(step.apiCalls["ELBv2:DescribeTargetHealth"]).toBeGreaterThanOrEqual(12);
    expect(step.apiCalls["DynamoDB:UpdateItem"]).toBe(12);
    expect((await result("read-throttling-never-rolls-back")).leftovers.locks).toEqual([]);
  });

  it("a termination hook with AWS's default one hour holds the retirement that long, and neither that deploy nor the next fails", async () => {
    const [, , hooked, next] = (await result("termination-hook-default-timeout")).steps;
    expect(hooked).toMatchObject({ outcome: "succeeded", physicalMinimumSeconds: 700 + CUTOVER_SECONDS + 3600 });
    expect(hooked.simSeconds / hooked.physicalMinimumSeconds).toBeLessThanOrEqual(1.05);
    // Polled right after the hook's timeout, not every few seconds for an hour.
    // (the cutover's watch polls its minutes as well: a task, a choice and a wait per poll).
    expect(hooked.stateTransitions).toBeLessThan(400 + 3 * Math.ceil(CUTOVER_SECONDS / WATCH_POLL_SECONDS));
    expect(next.outcome).toBe("succeeded");
  });

  it("a group with a scale-in-protected and a Standby instance is retired: both released, the group empties", async () => {
    const run = await result("protected-and-standby-instances");
    expect(run.steps[2]).toMatchObject({ outcome: "succeeded", liveGroup: { release: "v2", desired: 3 } });
    expect(run.steps[2].apiCalls["AutoScaling:SetInstanceProtection"]).toBe(1);
    expect(run.steps[2].apiCalls["AutoScaling:ExitStandby"]).toBe(1);
    expect(run.leftovers.groups).toHaveLength(1);
  });

  it("retirement past every allowance keeps the lock and says needs attention; once the instances are gone a redrive finishes", async () => {
    const [, overdue, , redriven] = (await result("retirement-overdue-needs-attention")).steps;
    expect(overdue).toMatchObject({ outcome: "failed", error: "RetirementOverdue", notified: ["needs-attention"], liveGroup: { release: "v2" } });
    expect(overdue.cause).toContain("Terminating:Wait");
    expect(redriven).toMatchObject({ outcome: "succeeded", notified: ["succeeded"] });
  });

  it("a late redelivery of an earlier upload is a no-op, whatever went live since", async () => {
    const steps = (await result("late-redelivery")).steps;
    expect(steps.slice(3).map((s) => [s.release, s.outcome, s.bakes.release, s.liveGroup?.release])).toEqual([
      ["v2", "no-op", 0, "v3"],
      ["v3", "no-op", 0, "v3"],
    ]);
  });

  it("a notification that fails is retried by Lambda and never changes the outcome", async () => {
    const [, rolledBack, succeeded] = (await result("notification-fails")).steps;
    expect(rolledBack).toMatchObject({ outcome: "rolled-back", notified: ["rolled-back"] });
    expect(rolledBack.apiCalls["SNS:Publish"]).toBe(3);
    expect(succeeded).toMatchObject({ outcome: "succeeded", notified: ["succeeded"] });
    expect(succeeded.apiCalls["EventBridge:PutEvents"]).toBe(2);
  });

  it("every task is idempotent: the scenarios hold every invariant with each stage function run twice in a row", async () => {
    // Between them these run every stage function, every failure path (unlock after failure, rollback, a stop for
    // a redrive and the redrive) and both load balancer kinds.
    const names = ["normal-deploy-classic", "bake-boot-and-consistency-faults", "rollback-keeps-retired-release-retired", "crash-and-redrive"];
    const ran = new Set<string>();
    for (const name of names) {
      const twice = await runScenario(readScenario(name), definition, { invokeTwice: true });
      expect({ name, violations: twice.invariantViolations }).toEqual({ name, violations: [] });
      expect(twice.steps.map((s) => s.outcome)).toEqual((await result(name)).steps.map((s) => s.outcome));
      for (const fn of Object.keys(twice.callsByStageFunction ?? {})) ran.add(fn);
    }
    // Every stage function made its AWS calls twice over; readBakedImage makes none (it reads $.bake), so it shows here only by its absence.
    expect(STAGE_FUNCTION_IDS.filter((fn) => !ran.has(fn))).toEqual(["readBakedImage"]);
  }, 300_000);
});

describe("the second edition's invariants catch what they are for", () => {
  /** A scenario up to the step that shows the violation: the steps after it only cost time. */
  const firstSteps = (name: string, steps: number) => {
    const scenario = readScenario(name);
    return { ...scenario, steps: scenario.steps.slice(0, steps) };
  };

  it("a failed step is checked too: a failure that keeps the lock leaves it behind", async () => {
    // The unlock after a rollback invoking Prepare instead: the lock stays with an execution that ended in a Fail state.
    // (Before issue 17 item 3 a failed bake showed it; the bake now runs before Lock, so a failed bake holds no lock.)
    const noUnlock = mutated((states) => {
      states[STATE.unlockAfterRollback].Resource = states[STATE.prepare].Resource;
    });
    const run = await runScenario(firstSteps("unhealthy-release", 2), noUnlock);
    expect(run.steps[1]).toMatchObject({ outcome: "rolled-back", error: "ReleaseUnhealthy" });
    expect(run.invariantViolations.join("\n")).toMatch(/step 2 \(v2\): lock left behind/);
  });

  it("a release a deploy retired that serves again is reported: a late redelivery deployed again (no S3 object identity)", async () => {
    // The plan without the delivered object's identity, as before issue 12: only the release label is compared.
    const planFields = ["release", "artifact", "rebuildBase", "keepImages", "groupName", "liveGroups", "desiredCapacity", "bakeRequest"];
    const noIdentity = mutated((states) => {
      for (const state of [STATE.prepare, STATE.refreshPlan]) states[state].ResultSelector = Object.fromEntries(planFields.map((field) => [`${field}.$`, `$.${field}`]));
    });
    const run = await runScenario(firstSteps("late-redelivery", 4), noIdentity);
    expect(run.steps[3]).toMatchObject({ release: "v2", outcome: "succeeded" });
    expect(run.invariantViolations.join("\n")).toMatch(/release v2 served again after step 3 retired its group/);
  });

  it("an outcome notification that does not say what happened is reported", async () => {
    // A stop after cutover that unlocks and ends in "Deploy failed" (what Retirement overdue did): told `failed`, lock released.
    const stopIsFailure = mutated((states) => {
      states[STATE.checkRetired].Catch = [...(states[STATE.checkRetired].Catch ?? []), { ErrorEquals: ["States.ALL"], Next: STATE.unlockAfterFailure, ResultPath: "$.error" }];
    });
    const run = await runScenario(firstSteps("retirement-overdue-needs-attention", 2), stopIsFailure);
    expect(run.steps[1]).toMatchObject({ outcome: "failed", notified: ["failed"] });
    // The environment is left with both groups and no lock: no redrive can finish it, and the invariants say so.
    expect(run.invariantViolations.join("\n")).toMatch(/step 2 \(v2\): 2 groups left/);
  });

  it("a release reported rolled back that keeps serving is reported", async () => {
    const swapped = mutated((states) => {
      states[STATE.rollback].Resource = states[STATE.unlockAfterRollback].Resource;
    });
    const run = await runScenario(readScenario("rollback-finds-unlisted-group"), swapped);
    expect(run.steps[1].outcome).toBe("rolled-back");
    expect(run.invariantViolations.join("\n")).toMatch(/release v2 served again after step 2 reported it rolled back/);
  });

  it("a duplicate inside a concurrent step that is not a no-op is reported", async () => {
    // The "duplicate" answer (of Claim release and of Lock) routed to the lock-timeout failure instead of "Nothing to deploy".
    const noDuplicates = mutated((states) => {
      for (const state of Object.values(states)) {
        const choices: { StringEquals?: string; Next: string }[] = state.Choices ?? [];
        for (const choice of choices) if (choice.StringEquals === "duplicate") choice.Next = STATE.lockTimedOut;
      }
    });
    const run = await runScenario(readScenario("concurrent-duplicate-events"), noDuplicates);
    expect(run.invariantViolations.join("\n")).toMatch(/step 2 \(v[23]\): a duplicate execution ended failed, expected no-op/);
  });
});

describe("engine: crashAfter nth, loseResponseAfter, during", () => {
  const withStep = (step: object) => ({ name: "engine", steps: [{ deploy: { release: "v1" }, expect: "succeeded" }, step] });

  it("crashAfter { nth } crashes right after the execution's nth call of the operation, not the first", async () => {
    const crashAt = async (nth: number) =>
      (await runScenario(withStep({ deploy: { release: "v2", crashAfter: { operation: "EC2:DescribeLaunchTemplateVersions", nth } } }), definition)).steps[1];
    const [first, second] = [await crashAt(1), await crashAt(2)];
    const [, clean] = (await result("normal-deploy")).steps;
    // The crash is retried: one more invocation than a clean deploy, and the calls the crashed run made again.
    expect([first.outcome, second.outcome]).toEqual(["succeeded", "succeeded"]);
    expect(first.lambdaErrors[LAMBDA_ERROR.crashed]).toBe(1);
    expect(clean.lambdaErrors[LAMBDA_ERROR.crashed]).toBeUndefined();
    expect(first.apiCalls["EC2:DescribeLaunchTemplateVersions"]).toBe(clean.apiCalls["EC2:DescribeLaunchTemplateVersions"] + 1);
    expect(second.apiCalls["EC2:DescribeLaunchTemplateVersions"]).toBe(clean.apiCalls["EC2:DescribeLaunchTemplateVersions"] + 2);
    // The string form is the first call.
    const stringForm = (await runScenario(withStep({ deploy: { release: "v2", crashAfter: "EC2:DescribeLaunchTemplateVersions" } }), definition)).steps[1];
    expect(stringForm.apiCalls).toEqual(first.apiCalls);
  });

  it("loseResponseAfter: the call takes effect in the region, the stage function sees the SDK's TimeoutError (and is retried)", async () => {
    const run = await runScenario(withStep({ deploy: { release: "v2", loseResponseAfter: "AutoScaling:CreateAutoScalingGroup" } }), definition);
    const step = run.steps[1];
    expect(step.outcome).toBe("succeeded");
    // The lost call created the group; the retry's create is refused (AlreadyExists) and the group adopted.
    expect(step.apiCalls["AutoScaling:CreateAutoScalingGroup"]).toBeGreaterThanOrEqual(2);
    expect(run.leftovers.groups).toHaveLength(1);
  });

  it("during acts on the serving group at its time; a refused action and one past the end of the step are reported", async () => {
    // Requests of 400 s keep the Standby instance draining for the whole deregistration delay (the load balancer
    // lets an idle target go at once).
    const run = await runScenario(
      {
        ...withStep({
          configureLiveGroup: { standbyInstances: 1 },
          during: [
            { atSeconds: 100, configureLiveGroup: { targetTrackingCpuPercent: 50 } },
            { atSeconds: 10, scaleLiveGroup: { desired: 9 } },
            { atSeconds: 100000, scaleLiveGroup: { desired: 3 } },
          ],
        }),
        traffic: { requestsPerSecond: 1, requestSeconds: 400 },
      },
      definition,
    );
    expect(run.steps[1].liveGroup).toMatchObject({ scalingPolicies: ["cpu-target-50"], desired: 1, inService: 1 });
    expect(run.steps[1].simSeconds).toBeGreaterThanOrEqual(300); // Standby waits for the draining
    expect(run.invariantViolations).toEqual([
      "step 2: during[1] scaleLiveGroup at 10 s was refused: ValidationError: New SetDesiredCapacity value 9 is above max value 4 for the AutoScalingGroup.",
      expect.stringMatching(/^step 2: during\[2\] at 100000 s never acted: the step ended after \d+ s$/),
    ]);
  });
});

describe("cutover (issue 14): the old groups stay ready until the new release has proven itself under traffic", () => {
  it("a canary release that dies 120 s after passing its checks fails at most 200 requests and is rolled back, naming what fired and when", async () => {
    const [, dying, next] = (await result("release-dies-after-cutover")).steps;
    expect(dying).toMatchObject({ outcome: "rolled-back", error: "CutoverBreached", liveGroup: { release: "v1" } });
    expect(dying.failedRequests).toBeLessThanOrEqual(200);
    expect(dying.recoverySeconds).toBeGreaterThan(0);
    expect(dying.cause).toMatch(/^cutover: (target health|alarm) .* seen at \d{4}-\d\d-\d\dT[\d:]+Z with 10 % of requests on the new release, all traffic back on the old groups at /);
    expect(next).toMatchObject({ outcome: "succeeded", failedRequests: 0 });
  });

  it("all at once, the same release fails at most 1200 requests, then everything is back on the old group", async () => {
    const [, good, dying] = (await result("cutover-all-at-once")).steps;
    expect(good).toMatchObject({ outcome: "succeeded", failedRequests: 0 });
    expect(dying).toMatchObject({ outcome: "rolled-back", error: "CutoverBreached", liveGroup: { release: "v2" } });
    expect(dying.failedRequests).toBeGreaterThan(0);
    expect(dying.failedRequests).toBeLessThanOrEqual(1200);
  });

  it("a flapping release, healthy enough for its checks, is caught by the target 5XX alarm", async () => {
    const [, flapping] = (await result("release-flaps")).steps;
    expect(flapping).toMatchObject({ outcome: "rolled-back", error: "CutoverBreached" });
    expect(flapping.cause).toMatch(/alarm webapp-sim-(blue|green)-target5xx in ALARM since/);
  });

  it("linear steps: a good release goes through every step; a dying one is caught part way", async () => {
    const [, good, dying] = (await result("cutover-linear")).steps;
    expect(good).toMatchObject({ outcome: "succeeded", failedRequests: 0 });
    expect(dying).toMatchObject({ outcome: "rolled-back", error: "CutoverBreached" });
    expect(dying.cause).toMatch(/with (25|50|75) % of requests on the new release/);
  });

  it("an operator's alarm, and the built-in one of the new group's target group, roll back without a failed request", async () => {
    const [, configured, builtIn, next] = (await result("cutover-alarm-breach")).steps;
    expect(configured).toMatchObject({ outcome: "rolled-back", failedRequests: 0, error: "CutoverBreached" });
    expect(configured.cause).toContain("alarm webapp-sim-checkout-errors in ALARM since");
    expect(builtIn.cause).toContain("alarm webapp-sim-blue-target5xx in ALARM since");
    expect(next).toMatchObject({ outcome: "succeeded", failedRequests: 0 });
  });

  it("approval: approved, the release goes to 100 %; never approved, it is rolled back when the wait ends", async () => {
    const [, approved, unapproved, approvedEarly] = (await result("cutover-approval")).steps;
    expect(approved).toMatchObject({ outcome: "succeeded", failedRequests: 0 });
    expect(unapproved).toMatchObject({ outcome: "rolled-back", failedRequests: 0, error: "CutoverBreached" });
    expect(unapproved.cause).toContain("no approval within 600 s");
    expect(approvedEarly).toMatchObject({ outcome: "succeeded", failedRequests: 0 });
  });

  it("an operator's rollback during the bake time switches back in seconds, without a failed request", async () => {
    const [, rolledBack, next] = (await result("cutover-operator-rollback")).steps;
    expect(rolledBack).toMatchObject({ outcome: "rolled-back", failedRequests: 0, error: "CutoverBreached", liveGroup: { release: "v1" } });
    expect(rolledBack.servedBy.v2).toBeGreaterThan(0);
    const [, seenAt, backAt] = /seen at (\S+) with .* at (\S+?);/.exec(rolledBack.cause ?? "") ?? [];
    expect((Date.parse(backAt) - Date.parse(seenAt)) / 1000).toBeLessThanOrEqual(20);
    expect(next.outcome).toBe("succeeded");
  });

  it("classic ELB: all at once with the old group kept scaled; alarm and operator rollbacks bring it back without a failed request", async () => {
    const [, good, alarmed, operator, , next] = (await result("cutover-classic")).steps;
    expect(good).toMatchObject({ outcome: "succeeded", failedRequests: 0 });
    expect(alarmed).toMatchObject({ outcome: "rolled-back", failedRequests: 0, liveGroup: { release: "v2" } });
    expect(operator).toMatchObject({ outcome: "rolled-back", failedRequests: 0, liveGroup: { release: "v2" } });
    expect(next).toMatchObject({ outcome: "succeeded", failedRequests: 0, liveGroup: { release: "v7" } });
  });

  // Every gate on every strategy (issue 14, "Done when"): the deploys that should go on are approved, so each
  // rollback can only be for its own reason, which its cause names.
  it.each([
    ["cutover-gates-all-at-once", "100", "0"],
    ["cutover-gates-linear", "(25|50|75)", "75"],
    ["cutover-gates-classic", "100", "0"],
  ])("%s: approved it goes live; an alarm, an operator's rollback and a missing approval each roll it back, without a failed request", async (name, breachPercent, waitPercent) => {
    const [, approved, alarmed, operator, unapproved, next] = (await result(name)).steps;
    const percent = (at: string) => new RegExp(`with ${at} % of requests on the new release, all traffic back on the old groups at `);
    expect(approved).toMatchObject({ outcome: "succeeded", failedRequests: 0, liveGroup: { release: "v2" } });
    expect(alarmed).toMatchObject({ outcome: "rolled-back", failedRequests: 0, error: "CutoverBreached", liveGroup: { release: "v2" } });
    expect(alarmed.cause).toContain("alarm webapp-sim-checkout-errors in ALARM since");
    expect(alarmed.cause).toMatch(percent(breachPercent));
    expect(operator).toMatchObject({ outcome: "rolled-back", failedRequests: 0, error: "CutoverBreached", liveGroup: { release: "v2" } });
    expect(operator.cause).toContain("asked for a rollback");
    expect(operator.cause).toMatch(percent(breachPercent));
    expect(unapproved).toMatchObject({ outcome: "rolled-back", failedRequests: 0, error: "CutoverBreached", liveGroup: { release: "v2" } });
    expect(unapproved.cause).toContain("no approval within 600 s");
    // All at once waits for approval before any request reaches the new release; linear, before its last step.
    expect(unapproved.cause).toMatch(percent(waitPercent));
    expect(next).toMatchObject({ outcome: "succeeded", failedRequests: 0, liveGroup: { release: "v6" } });
  });

  it("classic ELB: a release that dies 120 s after passing its checks fails at most 1200 requests, then v2 serves everything again", async () => {
    const [, , , , dying, next] = (await result("cutover-classic")).steps;
    expect(dying).toMatchObject({ release: "v6", outcome: "rolled-back", error: "CutoverBreached", liveGroup: { release: "v2" } });
    expect(dying.failedRequests).toBeGreaterThan(0);
    expect(dying.failedRequests).toBeLessThanOrEqual(1200);
    expect(dying.recoverySeconds).toBeGreaterThan(0);
    expect(dying.cause).toMatch(/with 100 % of requests on the new release, all traffic back on the old groups at /);
    // A classic ELB does not fail open: from v6's instances going OutOfService until v2's, attached again, pass
    // healthyThreshold checks, it has no instance to route to. Those requests, and only those, are v6's too.
    expect(dying.noHealthyTargetAfter).toEqual({ v6: dying.failedBy["(no healthy target)"] });
    expect(Object.keys(dying.failedBy).sort()).toEqual(["(no healthy target)", "v6"]);
    expect(dying.servedBy.v2).toBeGreaterThan(0);
    expect(next).toMatchObject({ release: "v7", outcome: "succeeded", failedRequests: 0 });
  });
});

describe("pending scenarios (scenarios/pending/, not run by the suite yet)", () => {
  it("README lists exactly the pending scenarios (none today)", () => {
    if (pendingFiles.length === 0) expect(README).toContain("None is pending today");
    for (const file of pendingFiles) expect(README).toContain(`scenarios/pending/${file}`);
  });
  it.each(pendingFiles)("%s is valid and documented as expected to pass once its issue lands", (file) => {
    expect(() => parseScenario(JSON.parse(readFileSync(path.join(PENDING, file), "utf8")))).not.toThrow();
    // Its own list item (which may wrap over several lines) says which issue it waits for.
    const item = README.split("\n- ").find((entry) => entry.startsWith(`[\`scenarios/pending/${file}\`]`));
    expect(item?.replace(/\s+/g, " ")).toMatch(/expected to pass once issue \d+ lands/);
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

/** The warm-ups a deploy sends for the one queued behind it. */
const QUEUED_WARM_UPS = [STATE.warmUpLaunch, STATE.warmUpCheckGroupHealth, STATE.warmUpCheckLoadBalancerHealth];

describe("Retire, Delete old groups and Unlock environment start warm (warm-up invocations shortly before each)", () => {
  it("without the warm-ups, the second deploy pays three more cold starts on its path to the end", async () => {
    // Prepare: the same definition without the warm-up invocations (each one's predecessor goes straight on).
    const withoutWarmUps = mutated((states) => {
      states[STATE.imageRetentionWhileRetiring].Next = STATE.waitForRetirement;
      for (const state of [STATE.warmUpDelete, STATE.warmUpUnlock, STATE.deployQueued, ...QUEUED_WARM_UPS]) delete states[state];
      states[STATE.cutoverDone].Choices = states[STATE.cutoverDone].Choices.filter((rule: { Next: string }) => rule.Next !== STATE.warmUpRetire);
      delete states[STATE.warmUpRetire];
    });
    // Act
    const [, warm] = (await result("normal-deploy")).steps;
    const [, cold] = (await runScenario(readScenario("normal-deploy"), withoutWarmUps)).steps;
    // Assess: the warm-ups are three more invocations, and three Init phases (1 s each) fewer on the path to the end
    // (less the Retire warm-up's own task, which the last watch's wait follows).
    expect(cold.outcome).toBe("succeeded");
    expect(warm.lambdaInvocations - cold.lambdaInvocations).toBe(3);
    expect(warm.lambdaColdStarts).toBe(cold.lambdaColdStarts);
    expect(cold.simSeconds - warm.simSeconds).toBeGreaterThanOrEqual(2);
  });

  it("a deploy queued behind another launches warm: the holder warms its Launch and health checks up while it retires", async () => {
    // Prepare: the same definition without the warm-ups for the queued deploy (Deploy queued behind? always waits).
    const withoutQueuedWarmUps = mutated((states) => {
      states[STATE.warmUpUnlock].Next = STATE.waitForRetirement;
      states[STATE.warmUpUnlock].Catch[0].Next = STATE.waitForRetirement;
      for (const state of [STATE.deployQueued, ...QUEUED_WARM_UPS]) delete states[state];
    });
    // Act
    const [, ...warm] = (await result("concurrent-releases")).steps;
    const [, ...cold] = (await runScenario(readScenario("concurrent-releases"), withoutQueuedWarmUps)).steps;
    // Assess: the deploy that held the lock sends three more invocations, each an Init phase (the functions are long
    // idle); the one queued behind it starts Launch, Check group health and Check load balancer health in a warm
    // environment (three Init phases fewer) and finishes earlier after the unlock.
    const byFinish = (steps: typeof warm) => [...steps].sort((a, b) => a.finishSeconds! - b.finishSeconds!);
    const [holder, queued] = byFinish(warm);
    const [coldHolder, coldQueued] = byFinish(cold);
    expect([holder.release, queued.release]).toEqual([coldHolder.release, coldQueued.release]);
    expect(holder.lambdaColdStarts - coldHolder.lambdaColdStarts).toBe(3);
    expect(coldQueued.lambdaColdStarts - queued.lambdaColdStarts).toBe(3);
    expect(coldQueued.finishSeconds! - coldHolder.finishSeconds!).toBeGreaterThan(queued.finishSeconds! - holder.finishSeconds!);
  });
});

describeApiCallChecks(runs);
describeIamCoverage(runs);
