import { beforeAll, describe, expect, it } from "vitest";
import { type DeployState, RESULT_PATH, WARM_UP_EVENT } from "../../functions/lib/contract.js";
import { readBakedImage } from "../../functions/readBakedImage.js";
import { ERROR, INVOCATION_ERRORS, LAMBDA_ERROR, RETRY_BUDGET, STATE, TRANSIENT_ERRORS } from "../../functions/lib/names.js";
import { taskTarget } from "../../simulator/execution/asl.js";
import { TASK_STATES, type TaskStateName } from "../../stacks/pipeline/tables.js";
import { type AslDefinition, loadDeployDefinition } from "../../stacks/stateMachineDefinition.js";
import { calledFrom, type Doubles, EXECUTION, FLOW_TASK_TOKEN, type FlowRun, namedError, runFlow, sequence, type StateHandler } from "./harness.js";

/**
 * The synthesized state machine, run locally: every stage function is a scripted double, so these tests
 * prove the flow itself (order, loops, Catch/Retry routing, what each state receives).
 */

let definition: AslDefinition;
beforeAll(async () => {
  definition = await loadDeployDefinition("dev01");
}, 120_000);

const s3Event = {
  version: "0",
  id: "17793124-05d4-b198-2fde-7ededc63b103",
  "detail-type": "Object Created",
  source: "aws.s3",
  account: "123456789012",
  time: "2026-01-01T00:00:00Z",
  region: "us-east-1",
  resources: ["arn:aws:s3:::artifacts"],
  detail: { bucket: { name: "artifacts" }, object: { key: "releases/v2.tgz", etag: "abc", size: 10 } },
};

const livePlan = {
  release: "v2",
  artifact: { bucket: "artifacts", key: "releases/v2.tgz" },
  rebuildBase: false,
  keepImages: false,
  groupName: "webapp-dev01-v2-0a1b2c3d",
  liveGroups: [{ name: "webapp-dev01-v1-99999999", min: 1, desired: 2, max: 4, release: "v1" }],
  desiredCapacity: 2,
  lockDeadline: 1_900_000_000,
  bakeRequest: {
    ARTIFACT_BUCKET: "artifacts",
    ARTIFACT_KEY: "releases/v2.tgz",
    ARTIFACT_VERSION_ID: "",
    RELEASE: "v2",
    BASE_IMAGE_ID: "",
    REBUILD_BASE: "false",
  },
};

const ready = { status: "ready", nextPollSeconds: 0, message: "2/2 healthy" };
const waiting = { status: "waiting", nextPollSeconds: 7, message: "1/2 healthy" };
const bakeResult = {
  Build: {
    BuildStatus: "SUCCEEDED",
    ExportedEnvironmentVariables: [
      { Name: "IMAGE_ID", Value: "ami-0123456789abcdef0" },
      { Name: "BASE_IMAGE_ID", Value: "ami-0fedcba9876543210" },
    ],
  },
};

const claimed = { status: "claimed", nextPollSeconds: 0, message: "release v2 is no duplicate: baking without the lock" };
/** lockEnvironment's double: `claimed` as Claim release (no `$.image` yet), then `locking`'s answers in turn as Lock environment. */
function claimThen(...locking: Parameters<typeof sequence>): StateHandler {
  const lock = sequence(...locking);
  return async (input) => ((input as DeployState).image ? lock(input) : structuredClone(claimed));
}

/** A complete, happy set of doubles, one per stage function (and the bake); each test overrides what it is about. */
function happyDoubles(overrides: Doubles = {}): Doubles {
  return {
    prepareDeploy: sequence(livePlan),
    // Claim release (no image yet) claims; Lock environment (the image known) locks.
    lockEnvironment: claimThen({ status: "ready", nextPollSeconds: 0, message: "locked" }),
    bake: sequence(bakeResult),
    // Pure (reads the state document only): the real function, so the flow proves what the bake's output becomes.
    readBakedImage: (state: DeployState) => readBakedImage(state),
    launchReleaseGroup: sequence({ groupName: livePlan.groupName, launchTemplateVersion: "7", desiredCapacity: 2, healthyBy: 1_900_000_000 }),
    checkGroupHealth: sequence(ready),
    checkLoadBalancerHealth: sequence(ready),
    shiftTraffic: sequence(ready),
    retireGroups: sequence({ groups: ["webapp-dev01-v1-99999999"], drainedBy: 1_899_999_000, retiredBy: 1_900_000_000 }),
    checkRetired: sequence(ready),
    deleteOldGroups: sequence({ deletedGroups: ["webapp-dev01-v1-99999999"], deletedLaunchTemplateVersions: ["6"] }),
    applyImageRetention: sequence({ kept: [], deregistered: [], deletedSnapshots: [], skipped: false }),
    rollback: sequence({ restoredGroups: [], message: "rolled back" }),
    unlockEnvironment: sequence({ released: true, message: "unlocked" }),
    ...overrides,
  };
}

/** The states after cutover: none is caught (but for a lost lock), each stops the execution for a redrive. */
const AFTER_CUTOVER = [
  [STATE.retire, "retireGroups"],
  [STATE.checkRetired, "checkRetired"],
  [STATE.deleteOldGroups, "deleteOldGroups"],
  [STATE.imageRetention, "applyImageRetention"],
  [STATE.unlock, "unlockEnvironment"],
] as const;

const called = (run: FlowRun, state: string) => calledFrom(run, state);
const inputOf = (run: FlowRun, state: string) => run.calls.find((call) => call.state === state)?.input;

describe("deploy state machine flow", () => {
  it("runs a normal deploy in docs/design.md's order and wraps the S3 event with settings and execution", async () => {
    // Prepare
    const doubles = happyDoubles();
    // Act
    const run = await runFlow(definition, doubles, s3Event);
    // Assess
    expect(run.status).toBe("SUCCEEDED");
    expect(run.visited.filter((s) => definition.States[s].Type === "Task")).toEqual([
      STATE.prepare,
      STATE.claim,
      STATE.bake,
      STATE.useBakedImage,
      STATE.lock,
      STATE.launch,
      STATE.checkGroupHealth,
      STATE.checkLoadBalancerHealth,
      STATE.shiftTraffic,
      STATE.retire,
      STATE.checkRetired,
      STATE.deleteOldGroups,
      STATE.imageRetention,
      STATE.unlock,
    ]);
    expect(run.visited.at(-1)).toBe(STATE.succeeded);
    // Every stage function receives the whole state document as its payload.
    const prepareCall = inputOf(run, STATE.prepare);
    expect(prepareCall).toEqual(run.inputs[STATE.prepare]);
    expect(definition.States[STATE.launch].Parameters).toBeUndefined();
    const prepareInput = run.inputs[STATE.prepare];
    expect(prepareInput.input).toEqual(s3Event);
    expect(prepareInput.settings).toMatchObject({ app: "webapp", environment: "dev01", loadBalancer: { kind: "application" } });
    expect(prepareInput.execution.id).toMatch(/^arn:aws:states:/);
    // The baked image (the build's exported IMAGE_ID and BASE_IMAGE_ID) reaches Launch.
    expect(run.inputs[STATE.launch].image).toEqual({
      imageId: "ami-0123456789abcdef0",
      baseImageId: "ami-0fedcba9876543210",
      baked: true,
    });
    // The outcome is published from the execution's status (an EventBridge rule), not by a state.
    expect(run.calls.some((call) => call.target === "notify")).toBe(false);
  });

  it("first deploy with no live group still completes (nothing to retire)", async () => {
    const doubles = happyDoubles({
      prepareDeploy: sequence({ ...livePlan, liveGroups: [] }),
      retireGroups: sequence({ groups: [], retiredBy: 1_900_000_000 }),
      deleteOldGroups: sequence({ deletedGroups: [], deletedLaunchTemplateVersions: [] }),
    });
    const run = await runFlow(definition, doubles, { artifact: { bucket: "artifacts", key: "releases/v1.tgz" } });
    expect(run.status).toBe("SUCCEEDED");
    expect(called(run, STATE.rollback)).toBe(0);
  });

  it("polls with Wait states until the checks are ready", async () => {
    const doubles = happyDoubles({
      checkGroupHealth: sequence(waiting, waiting, ready),
      checkLoadBalancerHealth: sequence(waiting, ready),
      checkRetired: sequence(waiting, ready),
    });
    const run = await runFlow(definition, doubles, s3Event);
    expect(run.status).toBe("SUCCEEDED");
    expect(called(run, STATE.checkGroupHealth)).toBe(3);
    expect(run.visited.filter((s) => s === STATE.waitForGroup)).toHaveLength(2);
    expect(run.visited.filter((s) => s === STATE.waitForLoadBalancer)).toHaveLength(1);
    expect(run.visited.filter((s) => s === STATE.waitForRetirement)).toHaveLength(1);
  });

  it("deploys a given image without baking", async () => {
    const doubles = happyDoubles({
      prepareDeploy: sequence({ ...livePlan, artifact: undefined, bakeRequest: undefined, imageId: "ami-0aaaaaaaaaaaaaaaa", keepImages: true }),
    });
    const run = await runFlow(definition, doubles, { imageId: "ami-0aaaaaaaaaaaaaaaa" });
    expect(run.status).toBe("SUCCEEDED");
    expect(called(run, STATE.bake)).toBe(0);
    expect(run.inputs[STATE.launch].image).toEqual({ imageId: "ami-0aaaaaaaaaaaaaaaa", baked: false });
  });

  it("rolls back a release that never becomes healthy, then fails with the original reason", async () => {
    const reason = "0/2 instances healthy at load balancer after 900 s: i-1 unhealthy (Target.ResponseCodeMismatch)";
    const doubles = happyDoubles({
      checkLoadBalancerHealth: sequence(waiting, { status: "failed", nextPollSeconds: 0, message: reason }),
    });
    const run = await runFlow(definition, doubles, s3Event);
    expect(run.status).toBe("FAILED");
    expect(run.error).toBe(ERROR.releaseUnhealthy);
    expect(run.cause).toBe(reason);
    expect(called(run, STATE.rollback)).toBe(1);
    expect(called(run, STATE.unlockAfterRollback)).toBe(1);
    expect(run.visited.at(-1)).toBe(STATE.rolledBack);
    // The old group is never touched: nothing was retired or deleted.
    expect(called(run, STATE.retire)).toBe(0);
    expect(called(run, STATE.deleteOldGroups)).toBe(0);
    expect(run.inputs[STATE.rollback].error).toEqual({ Error: ERROR.releaseUnhealthy, Cause: reason });
  });

  it("watches the cutover with its Wait state until the bake time is over, then retires the old groups", async () => {
    const doubles = happyDoubles({ shiftTraffic: sequence(waiting, waiting, ready) });
    const run = await runFlow(definition, doubles, s3Event);
    expect(run.status).toBe("SUCCEEDED");
    expect(called(run, STATE.shiftTraffic)).toBe(3);
    expect(run.visited.filter((s) => s === STATE.waitForCutover)).toHaveLength(2);
    // The old groups are retired only after the cutover's last poll: the point of no return is the end of the bake time.
    expect(run.visited.indexOf(STATE.retire)).toBeGreaterThan(run.visited.lastIndexOf(STATE.shiftTraffic));
  });

  it("a breach during the cutover rolls back with CutoverBreached and the watch's message as the cause", async () => {
    const reason = "cutover: alarm webapp-dev01-green-target5xx in ALARM since 2026-01-01T00:38:00Z; all traffic back on the old groups";
    const doubles = happyDoubles({ shiftTraffic: sequence(waiting, { status: "failed", nextPollSeconds: 0, message: reason }) });
    const run = await runFlow(definition, doubles, s3Event);
    expect(run).toMatchObject({ status: "FAILED", error: ERROR.cutoverBreached, cause: reason });
    expect(called(run, STATE.rollback)).toBe(1);
    expect(run.visited.at(-1)).toBe(STATE.rolledBack);
    expect(called(run, STATE.retire)).toBe(0);
  });

  it("rolls back when the group never becomes healthy, too", async () => {
    const doubles = happyDoubles({
      checkGroupHealth: sequence({ status: "failed", nextPollSeconds: 0, message: "1/2 InService after 900 s" }),
    });
    const run = await runFlow(definition, doubles, s3Event);
    expect(run.error).toBe(ERROR.releaseUnhealthy);
    expect(called(run, STATE.rollback)).toBe(1);
    expect(called(run, STATE.checkLoadBalancerHealth)).toBe(0);
  });

  it("rolls back when a stage after Launch throws, keeping the original error and cause", async () => {
    const doubles = happyDoubles({
      checkGroupHealth: sequence(namedError("AccessDenied", "not authorized to DescribeAutoScalingGroups")),
    });
    const run = await runFlow(definition, doubles, s3Event);
    expect(run.status).toBe("FAILED");
    expect(run.error).toBe("AccessDenied");
    expect(run.cause).toBe("not authorized to DescribeAutoScalingGroups");
    expect(called(run, STATE.rollback)).toBe(1);
  });

  it("a bake failure launches nothing and never takes the lock; Unlock after failure finds nothing to release", async () => {
    const doubles = happyDoubles({ bake: sequence(namedError("States.TaskFailed", "Build failed: packer exit 1")) });
    const run = await runFlow(definition, doubles, s3Event);
    expect(run.status).toBe("FAILED");
    expect(run.error).toBe("States.TaskFailed");
    // The bake runs before Lock: the failure comes with Claim's `claimed` at $.lock, which Unlock reads as never held.
    expect(called(run, STATE.lock)).toBe(0);
    expect(run.inputs[STATE.unlockAfterFailure].lock).toEqual(claimed);
    expect(called(run, STATE.launch)).toBe(0);
    expect(called(run, STATE.rollback)).toBe(0);
    expect(called(run, STATE.unlockAfterFailure)).toBe(1);
    expect(run.visited.at(-1)).toBe(STATE.failed);
  });

  const exporting = (variables: { Name: string; Value?: string }[]) => ({ Build: { BuildStatus: "SUCCEEDED", ExportedEnvironmentVariables: variables } });
  it.each([
    ["no IMAGE_ID", [{ Name: "BASE_IMAGE_ID", Value: "ami-0fedcba9876543210" }], "succeeded without the image ids the deploy needs: IMAGE_ID: not exported;"],
    ["an IMAGE_ID without a value", [{ Name: "IMAGE_ID" }, { Name: "BASE_IMAGE_ID", Value: "ami-0fedcba9876543210" }], ": IMAGE_ID: not exported;"],
    ["an empty IMAGE_ID", [{ Name: "IMAGE_ID", Value: "" }, { Name: "BASE_IMAGE_ID", Value: "ami-0fedcba9876543210" }], ': IMAGE_ID: "" is not an AMI id;'],
    ["no BASE_IMAGE_ID", [{ Name: "IMAGE_ID", Value: "ami-0123456789abcdef0" }], ": BASE_IMAGE_ID: not exported;"],
    ["no exported variable at all", [], ": IMAGE_ID: not exported | BASE_IMAGE_ID: not exported;"],
  ])("a bake that succeeds with %s fails cleanly: unlocks, names the export", async (_, variables, named) => {
    // Prepare
    const doubles = happyDoubles({ bake: sequence(exporting(variables)) });
    // Act
    const run = await runFlow(definition, doubles, s3Event);
    // Assess
    expect(run.status).toBe("FAILED");
    expect(run.error, run.cause).toBe(ERROR.bakeFailed);
    expect(run.cause).toContain(named);
    expect(called(run, STATE.launch)).toBe(0);
    expect(called(run, STATE.unlockAfterFailure)).toBe(1);
    expect(run.visited.at(-1)).toBe(STATE.failed);
    expect(run.inputs[STATE.failed]).toMatchObject({ error: { Error: ERROR.bakeFailed } });
  });

  it("bad input fails in Prepare with InvalidDeployInput, touching nothing", async () => {
    const doubles = happyDoubles({
      prepareDeploy: sequence(namedError(ERROR.invalidInput, 'imageId: "ami-xyz" is not an AMI id')),
    });
    const run = await runFlow(definition, doubles, { imageId: "ami-xyz" });
    expect(run.error).toBe(ERROR.invalidInput);
    expect(called(run, STATE.lock)).toBe(0);
    expect(called(run, STATE.launch)).toBe(0);
  });

  it("a duplicate found at Lock, after the bake (the release went live or another execution took it meanwhile), is a no-op too", async () => {
    const doubles = happyDoubles({
      lockEnvironment: claimThen({ status: "duplicate", nextPollSeconds: 0, message: "release v2 is already being deployed by execution x" }),
    });
    const run = await runFlow(definition, doubles, s3Event);
    expect(run.status).toBe("SUCCEEDED");
    expect(run.visited.at(-1)).toBe(STATE.noOp);
    expect(called(run, STATE.bake)).toBe(1);
    expect(called(run, STATE.launch)).toBe(0);
    expect(called(run, STATE.unlock)).toBe(0);
  });

  it("a duplicate trigger is a no-op success, found by Claim release before any bake", async () => {
    const doubles = happyDoubles({
      lockEnvironment: sequence({ status: "duplicate", nextPollSeconds: 0, message: "release v2 is already live" }),
    });
    const run = await runFlow(definition, doubles, s3Event);
    expect(run.status).toBe("SUCCEEDED");
    expect(run.visited.at(-1)).toBe(STATE.noOp);
    expect(called(run, STATE.bake)).toBe(0);
    expect(called(run, STATE.launch)).toBe(0);
    expect(called(run, STATE.unlock)).toBe(0);
  });

  it("a concurrent deploy bakes first, then waits for the lock (handed over, or timed out), then proceeds without baking again", async () => {
    const waiting = { status: "waiting", nextPollSeconds: 300, message: "waiting for deploy of v1", holder: "arn:holder", deadline: 1_900_000_000 };
    const locking = claimThen(waiting, waiting, { status: "ready", nextPollSeconds: 0, message: "locked" });
    // Wait for lock: the first wait times out (a holder that never unlocked), the second is handed over at the unlock.
    const handovers = sequence(namedError("States.Timeout", ""), { unlockedBy: "arn:holder", lockId: "webapp#dev01" });
    const doubles = happyDoubles({ lockEnvironment: async (input) => ("taskToken" in input ? handovers(input) : locking(input)) });
    const run = await runFlow(definition, doubles, s3Event);
    expect(run.status).toBe("SUCCEEDED");
    expect(run.visited.filter((s) => s === STATE.waitForLock)).toHaveLength(2);
    // The lock function gets what it needs to register: the holder Lock saw, its own execution, and a task token.
    const waits = run.calls.filter((call) => call.state === STATE.waitForLock).map((call) => call.input);
    expect(waits[0]).toMatchObject({ lock: waiting, execution: { id: EXECUTION.Id }, taskToken: FLOW_TASK_TOKEN, settings: { app: "webapp" } });
    // The environment changed while waiting: the plan is made again before each new attempt.
    expect(called(run, STATE.refreshPlan)).toBe(2);
    expect(called(run, STATE.launch)).toBe(1);
    expect(called(run, STATE.bake)).toBe(1);
    expect(run.visited.indexOf(STATE.bake)).toBeLessThan(run.visited.indexOf(STATE.waitForLock));
    // The hand-over's output is discarded: Lock reads the lock itself.
    expect(run.inputs[STATE.refreshPlan].lock).toEqual(waiting);
  });

  it("Wait for lock is a callback task bounded by the lock's nextPollSeconds; only a time-out goes back to Lock, any other failure unlocks and fails", () => {
    const wait = definition.States[STATE.waitForLock];
    expect(wait.Type).toBe("Task");
    expect(taskTarget(wait)).toEqual({ kind: "lambda-callback", fn: "lockEnvironment" });
    expect(wait.TimeoutSecondsPath).toBe("$.lock.nextPollSeconds");
    expect(wait.Parameters.Payload["taskToken.$"]).toBe("$$.Task.Token");
    expect(wait.ResultPath).toBeNull();
    expect(wait.Catch).toEqual([
      { ErrorEquals: ["States.Timeout"], ResultPath: null, Next: STATE.refreshPlan },
      { ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: STATE.unlockAfterFailure },
    ]);
    expect(wait.Retry.map((retry: { ErrorEquals: string[] }) => retry.ErrorEquals)).toEqual([[...TRANSIENT_ERRORS], [...INVOCATION_ERRORS]]);
    expect(wait.Next).toBe(STATE.refreshPlan);
  });

  it("gives up waiting for the lock at the deadline, without launching", async () => {
    const doubles = happyDoubles({
      lockEnvironment: claimThen({ status: "failed", nextPollSeconds: 0, message: "v1 still deploying after 3600 s" }),
    });
    const run = await runFlow(definition, doubles, s3Event);
    expect(run.error).toBe(ERROR.lockTimeout);
    expect(run.cause).toBe("v1 still deploying after 3600 s");
    expect(called(run, STATE.launch)).toBe(0);
  });

  it("retries throttling and eventual consistency with backoff instead of failing", async () => {
    const doubles = happyDoubles({
      launchReleaseGroup: sequence(
        namedError(ERROR.transientAws, "Throttling: Rate exceeded"),
        namedError(ERROR.notYetVisible, "group not visible yet"),
        { groupName: livePlan.groupName, launchTemplateVersion: "7", desiredCapacity: 2, healthyBy: 1_900_000_000 },
      ),
      deleteOldGroups: sequence(namedError(ERROR.stillInUse, "ScalingActivityInProgress"), {
        deletedGroups: [],
        deletedLaunchTemplateVersions: [],
      }),
    });
    const run = await runFlow(definition, doubles, s3Event);
    expect(run.status).toBe("SUCCEEDED");
    expect(called(run, STATE.launch)).toBe(3);
    expect(called(run, STATE.deleteOldGroups)).toBe(2);
    expect(called(run, STATE.rollback)).toBe(0);
  });

  it.each(AFTER_CUTOVER)("after cutover a failure in %s stops there with the lock held, and a redrive resumes there", async (state, fn) => {
    // Prepare: the stage fails for good (say a missing permission); RetirementOverdue is how the retirement check fails.
    const error = state === STATE.checkRetired ? namedError(ERROR.retirementOverdue, "2 old instance(s) still not terminating") : namedError("AccessDenied", "not authorized");
    const failing = happyDoubles({ [fn]: sequence(error) });
    // Act
    const first = await runFlow(definition, failing, s3Event);
    // Assess: no rollback of a live, healthy release, no unlock; the execution stopped at the failing state.
    expect(first.status).toBe("FAILED");
    expect(first.failedState).toBe(state);
    expect(first.error).toBe(error.name);
    expect(called(first, STATE.rollback)).toBe(0);
    expect(called(first, STATE.unlockAfterFailure) + called(first, STATE.unlockAfterRollback)).toBe(0);
    if (state !== STATE.unlock) expect(called(first, STATE.unlock)).toBe(0);

    // Redrive: same definition, from the failed state, with the input it had; the cause is fixed.
    const redrive = await runFlow(definition, happyDoubles(), first.inputs[state], { startAt: state });
    expect(redrive.status).toBe("SUCCEEDED");
    expect(called(redrive, state)).toBe(1);
    expect(called(redrive, STATE.launch)).toBe(0);
    expect(called(redrive, STATE.unlock)).toBe(1);
    expect(redrive.output.plan.release).toBe("v2");
  });

  it.each([
    ...[STATE.launch, STATE.checkGroupHealth, STATE.checkLoadBalancerHealth, STATE.shiftTraffic].map((state) => [state, "before the bake time ends"] as const),
    ...AFTER_CUTOVER.map(([state]) => [state, "after cutover"] as const),
  ])("a lost lock in %s (%s) ends the run there, changing nothing: no rollback, no unlock", async (state) => {
    // Prepare: a late redrive of a superseded execution; every stage after Lock finds the lock held by another.
    const doubles = happyDoubles({ [TASK_STATES[state].fn]: sequence(namedError(ERROR.lockLost, "held by execution deploy-0007")) });
    // Act
    const run = await runFlow(definition, doubles, s3Event);
    // Assess
    expect(run).toMatchObject({ status: "FAILED", error: ERROR.lockLost, cause: "held by execution deploy-0007" });
    expect(run.visited.at(-1)).toBe(STATE.superseded);
    const cleanup = [STATE.rollback, STATE.unlock, STATE.unlockAfterRollback, STATE.unlockAfterFailure].filter((other) => other !== state);
    expect(run.visited.filter((visited) => (cleanup as string[]).includes(visited))).toEqual([]);
  });

  describe("image retention runs while the old instances terminate, off the path to Unlock", () => {
    const tasks = (run: FlowRun) => run.visited.filter((s) => definition.States[s].Type === "Task");
    const terminating = () => happyDoubles({ checkRetired: sequence(waiting, waiting, ready) });

    it("once, at the first wait, and not again after Delete", async () => {
      // Act
      const run = await runFlow(definition, terminating(), s3Event);
      // Assess
      expect(run.status).toBe("SUCCEEDED");
      expect(tasks(run).slice(-9)).toEqual([
        STATE.retire,
        STATE.checkRetired,
        STATE.imageRetentionWhileRetiring,
        STATE.warmUpDelete,
        STATE.warmUpUnlock,
        STATE.checkRetired,
        STATE.checkRetired,
        STATE.deleteOldGroups,
        STATE.unlock,
      ]);
      expect(run.visited.filter((s) => s === STATE.waitForRetirement)).toHaveLength(2);
      expect(run.inputs[STATE.unlock].retention).toEqual({ kept: [], deregistered: [], deletedSnapshots: [], skipped: false });
    });

    it("after Delete when the first check found nothing left to terminate", async () => {
      // Act
      const run = await runFlow(definition, happyDoubles(), s3Event);
      // Assess
      expect(called(run, STATE.imageRetentionWhileRetiring)).toBe(0);
      expect(run.visited.slice(-5)).toEqual([STATE.deleteOldGroups, STATE.imagesRetained, STATE.imageRetention, STATE.unlock, STATE.succeeded]);
    });

    it("a failure there stops the execution there, lock held; a redrive resumes there and runs retention once", async () => {
      // Prepare
      const failing = happyDoubles({ checkRetired: sequence(waiting, ready), applyImageRetention: sequence(namedError("AccessDenied", "not authorized")) });
      // Act
      const first = await runFlow(definition, failing, s3Event);
      const redrive = await runFlow(definition, happyDoubles({ checkRetired: sequence(ready) }), first.inputs[STATE.imageRetentionWhileRetiring], {
        startAt: STATE.imageRetentionWhileRetiring,
      });
      // Assess
      expect(first).toMatchObject({ status: "FAILED", failedState: STATE.imageRetentionWhileRetiring, error: "AccessDenied" });
      expect(called(first, STATE.unlock) + called(first, STATE.unlockAfterFailure) + called(first, STATE.rollback)).toBe(0);
      expect(redrive.status).toBe("SUCCEEDED");
      expect(tasks(redrive)).toEqual([STATE.imageRetentionWhileRetiring, STATE.warmUpDelete, STATE.warmUpUnlock, STATE.checkRetired, STATE.deleteOldGroups, STATE.unlock]);
    });

    it("warms Delete and Unlock up with Event invocations, which nothing waits for and whose failure changes nothing", async () => {
      // Act
      const run = await runFlow(definition, terminating(), s3Event);
      // Assess: each function once, with the warm-up event; the doubles (the real work) ran once each, later.
      const warmUps = run.calls.filter((call) => call.state === STATE.warmUpDelete || call.state === STATE.warmUpUnlock);
      expect(warmUps.map(({ target, input }) => ({ target, input }))).toEqual([
        { target: "deleteOldGroups", input: WARM_UP_EVENT },
        { target: "unlockEnvironment", input: WARM_UP_EVENT },
      ]);
      for (const state of [STATE.warmUpDelete, STATE.warmUpUnlock]) {
        expect(definition.States[state]).toMatchObject({ Resource: "arn:aws:states:::lambda:invoke", Parameters: { InvocationType: "Event" }, ResultPath: null });
        expect(definition.States[state].Retry).toBeUndefined();
        expect(definition.States[state].Catch).toEqual([{ ErrorEquals: ["States.ALL"], ResultPath: null, Next: definition.States[state].Next }]);
      }
    });

    it("when another deploy is queued behind this one, also warms up its Launch and health checks, then waits as usual", async () => {
      // Act
      const queued = await runFlow(definition, happyDoubles({ checkRetired: sequence({ ...waiting, queued: true }, waiting, ready) }), s3Event);
      const alone = await runFlow(definition, terminating(), s3Event);
      // Assess: Event invocations of the queued deploy's first functions, after Delete's and Unlock's, once.
      expect(queued.status).toBe("SUCCEEDED");
      const warmUps = (run: FlowRun) => run.calls.filter((call) => JSON.stringify(call.input) === JSON.stringify(WARM_UP_EVENT)).map((call) => call.target);
      expect(warmUps(queued)).toEqual(["deleteOldGroups", "unlockEnvironment", "launchReleaseGroup", "checkGroupHealth", "checkLoadBalancerHealth"]);
      expect(warmUps(alone)).toEqual(["deleteOldGroups", "unlockEnvironment"]);
      const retirementWait = queued.visited.slice(queued.visited.indexOf(STATE.warmUpUnlock), queued.visited.indexOf(STATE.waitForRetirement) + 1);
      expect(retirementWait).toEqual([STATE.warmUpUnlock, STATE.deployQueued, STATE.warmUpLaunch, STATE.warmUpCheckGroupHealth, STATE.warmUpCheckLoadBalancerHealth, STATE.waitForRetirement]);
      // A failed warm-up changes nothing: each catches everything and goes on to the next.
      for (const state of [STATE.warmUpLaunch, STATE.warmUpCheckGroupHealth, STATE.warmUpCheckLoadBalancerHealth]) {
        expect(definition.States[state]).toMatchObject({ Resource: "arn:aws:states:::lambda:invoke", Parameters: { InvocationType: "Event" }, ResultPath: null });
        expect(definition.States[state].Catch).toEqual([{ ErrorEquals: ["States.ALL"], ResultPath: null, Next: definition.States[state].Next }]);
      }
    });

    it("the watch before the end of the bake time warms Retire up (endsNext), then waits as usual", async () => {
      // Act
      const lastWatch = { status: "waiting", nextPollSeconds: 10, message: "bake time", endsNext: true };
      const run = await runFlow(definition, happyDoubles({ shiftTraffic: sequence(waiting, lastWatch, ready) }), s3Event);
      // Assess
      expect(run.status).toBe("SUCCEEDED");
      expect(run.calls.filter((call) => call.state === STATE.warmUpRetire).map(({ target, input }) => ({ target, input }))).toEqual([{ target: "retireGroups", input: WARM_UP_EVENT }]);
      const cutover = run.visited.slice(run.visited.indexOf(STATE.shiftTraffic), run.visited.indexOf(STATE.retire));
      expect(cutover).toEqual([
        STATE.shiftTraffic, STATE.cutoverDone, STATE.waitForCutover,
        STATE.shiftTraffic, STATE.cutoverDone, STATE.warmUpRetire, STATE.waitForCutover,
        STATE.shiftTraffic, STATE.cutoverDone,
      ]);
      expect(definition.States[STATE.warmUpRetire].Catch).toEqual([{ ErrorEquals: ["States.ALL"], ResultPath: null, Next: STATE.waitForCutover }]);
    });

    it("a lost lock there ends the run, changing nothing", async () => {
      // Act
      const run = await runFlow(definition, happyDoubles({ checkRetired: sequence(waiting, ready), applyImageRetention: sequence(namedError(ERROR.lockLost, "held by execution deploy-0007")) }), s3Event);
      // Assess
      expect(run).toMatchObject({ status: "FAILED", error: ERROR.lockLost });
      expect(run.visited.at(-1)).toBe(STATE.superseded);
      expect(called(run, STATE.deleteOldGroups) + called(run, STATE.unlock)).toBe(0);
    });
  });

  it.each([...INVOCATION_ERRORS])("%s on a task is retried (the task is idempotent), never a reason to roll back", async (errorName) => {
    // Prepare: the launch function crashes, times out, or Lambda fails it, twice; the third run goes through.
    const doubles = happyDoubles({
      launchReleaseGroup: sequence(
        namedError(errorName, "the function did not finish"),
        namedError(errorName, "the function did not finish"),
        { groupName: livePlan.groupName, launchTemplateVersion: "7", desiredCapacity: 2, healthyBy: 1_900_000_000 },
      ),
    });
    // Act
    const run = await runFlow(definition, doubles, s3Event);
    // Assess
    expect(run.status).toBe("SUCCEEDED");
    expect(called(run, STATE.launch)).toBe(3);
    expect(called(run, STATE.rollback)).toBe(0);
  });

  it("a crash that repeats past its retry budget is handled like any other failure: before cutover, a rollback", async () => {
    const doubles = happyDoubles({ checkGroupHealth: sequence(namedError(LAMBDA_ERROR.crashed, "Runtime exited with error: signal: killed")) });
    const run = await runFlow(definition, doubles, s3Event);
    expect(called(run, STATE.checkGroupHealth)).toBe(RETRY_BUDGET.invocation.maxAttempts + 1);
    expect(run).toMatchObject({ status: "FAILED", error: LAMBDA_ERROR.crashed });
    expect(called(run, STATE.rollback)).toBe(1);
    expect(run.visited.at(-1)).toBe(STATE.rolledBack);
  });

  it("a transient error is retried through its whole budget before a Catch sees it", async () => {
    const doubles = happyDoubles({ checkLoadBalancerHealth: sequence(namedError(ERROR.transientAws, "Throttling: Rate exceeded")) });
    const run = await runFlow(definition, doubles, s3Event);
    expect(called(run, STATE.checkLoadBalancerHealth)).toBe(RETRY_BUDGET.transient.maxAttempts + 1);
    expect(called(run, STATE.rollback)).toBe(1);
  });

  it("a rollback that fails for good still releases the lock, and the execution fails with the original error", async () => {
    // Prepare: the release never gets healthy; the rollback then hits a missing permission.
    const reason = "0/2 healthy at load balancer";
    const doubles = happyDoubles({
      checkLoadBalancerHealth: sequence({ status: "failed", nextPollSeconds: 0, message: reason }),
      rollback: sequence(namedError("AccessDenied", "not authorized to UpdateAutoScalingGroup")),
    });
    // Act
    const run = await runFlow(definition, doubles, s3Event);
    // Assess
    expect(run).toMatchObject({ status: "FAILED", error: ERROR.releaseUnhealthy, cause: reason });
    expect(called(run, STATE.unlockAfterFailure)).toBe(1);
    expect(run.inputs[STATE.failed].rollbackError).toMatchObject({ Error: "AccessDenied" });
  });
});

describe("critical states on their own", () => {
  it("every Lambda Task invokes the function the state -> function table names, and writes its result where the contract says", () => {
    const lambdaTasks = Object.entries(definition.States).filter(([, s]) => s.Type === "Task" && taskTarget(s).kind === "lambda");
    expect(lambdaTasks.map(([name]) => name).sort()).toEqual(Object.keys(TASK_STATES).sort());
    for (const [name, state] of lambdaTasks) {
      const spec = TASK_STATES[name as TaskStateName];
      expect({ name, target: taskTarget(state) }).toEqual({ name, target: { kind: "lambda", fn: spec.fn } });
      expect({ name, resultPath: state.ResultPath }).toEqual({ name, resultPath: RESULT_PATH[spec.result] });
    }
  });

  it("runs the double a Task's Resource names, not one chosen by the state's name", async () => {
    // Prepare: Roll back wired to the unlock function, as a mistake in the stack would wire it.
    const miswired = structuredClone(definition);
    miswired.States[STATE.rollback].Resource = miswired.States[STATE.unlockAfterRollback].Resource;
    const doubles = happyDoubles({ checkGroupHealth: sequence({ status: "failed", nextPollSeconds: 0, message: "0/2" }) });
    // Act
    const run = await runFlow(miswired, doubles, s3Event);
    // Assess: the Roll back state ran unlockEnvironment; rollback itself never ran.
    expect(run.calls.filter((call) => call.state === STATE.rollback).map((call) => call.target)).toEqual(["unlockEnvironment"]);
    expect(run.calls.some((call) => call.target === "rollback")).toBe(false);
  });

  it("every Wait state reads nextPollSeconds from its check's result", () => {
    const waits = Object.entries(definition.States).filter(([, s]) => s.Type === "Wait");
    expect(Object.fromEntries(waits.map(([name, s]) => [name, s.SecondsPath]))).toEqual({
      [STATE.waitForGroup]: "$.groupHealth.nextPollSeconds",
      [STATE.waitForLoadBalancer]: "$.loadBalancerHealth.nextPollSeconds",
      [STATE.waitForCutover]: "$.cutover.nextPollSeconds",
      [STATE.waitForRetirement]: "$.retired.nextPollSeconds",
    });
  });

  it("the state machine has a timeout; every Lambda task retries transient errors for minutes and crashes a few times", () => {
    expect(definition.TimeoutSeconds).toBeGreaterThan(0);
    const lambdaTasks = Object.entries(definition.States).filter(([, s]) => s.Type === "Task" && taskTarget(s).kind === "lambda");
    expect(lambdaTasks.map(([name]) => name).sort()).toEqual(Object.keys(TASK_STATES).sort());
    const waited = (retry: { IntervalSeconds: number; BackoffRate: number; MaxDelaySeconds: number; MaxAttempts: number }) =>
      Array.from({ length: retry.MaxAttempts }, (_, n) => Math.min(retry.IntervalSeconds * retry.BackoffRate ** n, retry.MaxDelaySeconds)).reduce((a, b) => a + b, 0);
    for (const [name, task] of lambdaTasks) {
      const [transient, invocation] = task.Retry;
      expect({ name, errors: transient.ErrorEquals }).toEqual({ name, errors: [...TRANSIENT_ERRORS] });
      expect({ name, errors: invocation.ErrorEquals }).toEqual({ name, errors: [...INVOCATION_ERRORS] });
      // Minutes, not seconds: at most ~11 minutes of full-jitter waits (half that on average), at most 60 s each.
      expect(waited(transient)).toBeGreaterThanOrEqual(600);
      expect(waited(transient)).toBeLessThanOrEqual(900);
      expect(transient).toMatchObject({ MaxDelaySeconds: 60, JitterStrategy: "FULL" });
      expect(invocation.MaxAttempts).toBeGreaterThanOrEqual(3);
    }
  });

  it("before Launch failures go to unlock, from Launch to the end of the bake time to rollback, after that only a lost lock is caught", () => {
    const catchers = (state: string) => (definition.States[state].Catch ?? []).map((c: { ErrorEquals: string[]; Next: string }) => `${c.ErrorEquals.join(",")} -> ${c.Next}`);
    const lost = `${ERROR.lockLost} -> ${STATE.superseded}`;
    for (const state of [STATE.prepare, STATE.claim, STATE.bake, STATE.useBakedImage, STATE.lock, STATE.refreshPlan])
      expect(catchers(state)).toEqual([`States.ALL -> ${STATE.unlockAfterFailure}`]);
    for (const state of [STATE.launch, STATE.checkGroupHealth, STATE.checkLoadBalancerHealth, STATE.shiftTraffic])
      expect(catchers(state)).toEqual([lost, `States.ALL -> ${STATE.rollback}`]);
    for (const state of [...AFTER_CUTOVER.map(([name]) => name), STATE.imageRetentionWhileRetiring]) expect(catchers(state)).toEqual([lost]);
    expect(catchers(STATE.rollback)).toEqual([lost, `States.ALL -> ${STATE.unlockAfterFailure}`]);
    expect(definition.States[STATE.rollback].Catch[1].ResultPath).toBe("$.rollbackError");
    for (const state of [STATE.failed, STATE.rolledBack, STATE.superseded])
      expect(definition.States[state]).toMatchObject({ Type: "Fail", ErrorPath: "$.error.Error", CausePath: "$.error.Cause" });
    // The retirement check reports an overdue retirement by throwing: its loop has no `failed` branch to a Fail state.
    // (Its other rule only sends the first wait through retention.)
    expect(definition.States[STATE.retired].Choices.map((c: { Next: string }) => c.Next)).toEqual([STATE.deleteOldGroups, STATE.imageRetentionWhileRetiring]);
    expect(definition.States[STATE.retired].Choices[0]).toMatchObject({ Variable: "$.retired.status", StringEquals: "ready" });
  });

  it("the bake passes the plan's bake request to CodeBuild and waits for the build (.sync)", () => {
    const bake = definition.States[STATE.bake];
    expect(bake.Resource).toMatch(/codebuild:startBuild\.sync$/);
    const overrides = bake.Parameters.EnvironmentVariablesOverride as { Name: string; "Value.$": string }[];
    expect(overrides.map((o) => o.Name).sort()).toEqual(
      ["ARTIFACT_BUCKET", "ARTIFACT_KEY", "ARTIFACT_VERSION_ID", "BASE_IMAGE_ID", "REBUILD_BASE", "RELEASE"],
    );
    expect(overrides.find((o) => o.Name === "ARTIFACT_KEY")?.["Value.$"]).toBe("$.plan.bakeRequest.ARTIFACT_KEY");
  });
});
