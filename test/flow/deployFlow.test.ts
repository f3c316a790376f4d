import { beforeAll, describe, expect, it } from "vitest";
import { ERROR, STATE } from "../../functions/lib/names.js";
import { type AslDefinition, loadDeployDefinition } from "../../stacks/stateMachineDefinition.js";
import { namedError, runFlow, sequence, type StateHandler } from "./harness.js";

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

/** A complete, happy set of stage doubles; each test overrides what it is about. */
function happyHandlers(overrides: Record<string, StateHandler> = {}): Record<string, StateHandler> {
  return {
    [STATE.prepare]: sequence(livePlan),
    [STATE.refreshPlan]: sequence(livePlan),
    [STATE.lock]: sequence({ status: "ready", nextPollSeconds: 0, message: "locked" }),
    [STATE.bake]: sequence(bakeResult),
    [STATE.launch]: sequence({ groupName: livePlan.groupName, launchTemplateVersion: "7", desiredCapacity: 2, healthyBy: 1_900_000_000 }),
    [STATE.checkGroupHealth]: sequence(ready),
    [STATE.checkLoadBalancerHealth]: sequence(ready),
    [STATE.retire]: sequence({ groups: ["webapp-dev01-v1-99999999"], retiredBy: 1_900_000_000 }),
    [STATE.checkRetired]: sequence(ready),
    [STATE.deleteOldGroups]: sequence({ deletedGroups: ["webapp-dev01-v1-99999999"], deletedLaunchTemplateVersions: ["6"] }),
    [STATE.imageRetention]: sequence({ kept: [], deregistered: [], deletedSnapshots: [], skipped: false }),
    [STATE.rollback]: sequence({ restoredGroups: [], message: "rolled back" }),
    [STATE.unlock]: sequence({ released: true, message: "unlocked" }),
    [STATE.unlockAfterRollback]: sequence({ released: true, message: "unlocked" }),
    [STATE.unlockAfterFailure]: sequence({ released: true, message: "unlocked" }),
    [STATE.notifySucceeded]: sequence({ outcome: "succeeded" }),
    [STATE.notifyNoOp]: sequence({ outcome: "no-op" }),
    [STATE.notifyRolledBack]: sequence({ outcome: "rolled-back" }),
    [STATE.notifyFailed]: sequence({ outcome: "failed" }),
    ...overrides,
  };
}

const called = (handlers: Record<string, StateHandler>, state: string) =>
  (handlers[state] as ReturnType<typeof sequence>).calls.length;

describe("deploy state machine flow", () => {
  it("runs a normal deploy in DESIGN.md's order and wraps the S3 event with settings and execution", async () => {
    // Prepare
    const handlers = happyHandlers();
    // Act
    const run = await runFlow(definition, handlers, s3Event);
    // Assess
    expect(run.status).toBe("SUCCEEDED");
    expect(run.visited.filter((s) => definition.States[s].Type === "Task")).toEqual([
      STATE.prepare,
      STATE.lock,
      STATE.bake,
      STATE.launch,
      STATE.checkGroupHealth,
      STATE.checkLoadBalancerHealth,
      STATE.retire,
      STATE.checkRetired,
      STATE.deleteOldGroups,
      STATE.imageRetention,
      STATE.unlock,
      STATE.notifySucceeded,
    ]);
    // Every stage function receives the whole state document as its payload.
    const prepareCall = (handlers[STATE.prepare] as ReturnType<typeof sequence>).calls[0];
    expect(prepareCall).toEqual(run.inputs[STATE.prepare]);
    expect(definition.States[STATE.launch].Parameters).toBeUndefined();
    const prepareInput = run.inputs[STATE.prepare];
    expect(prepareInput.input).toEqual(s3Event);
    expect(prepareInput.settings).toMatchObject({ app: "webapp", environment: "dev01", loadBalancer: { kind: "application" } });
    expect(prepareInput.execution.id).toMatch(/^arn:aws:states:/);
    // The baked image (item 0 of the exported-variable filter) reaches Launch.
    expect(run.inputs[STATE.launch].image).toEqual({
      imageId: "ami-0123456789abcdef0",
      baseImageId: "ami-0fedcba9876543210",
      baked: true,
    });
    const notified = (handlers[STATE.notifySucceeded] as ReturnType<typeof sequence>).calls[0];
    expect(notified).toMatchObject({ outcome: "succeeded", state: { plan: { release: "v2" } } });
  });

  it("first deploy with no live group still completes (nothing to retire)", async () => {
    const handlers = happyHandlers({
      [STATE.prepare]: sequence({ ...livePlan, liveGroups: [] }),
      [STATE.retire]: sequence({ groups: [], retiredBy: 1_900_000_000 }),
      [STATE.deleteOldGroups]: sequence({ deletedGroups: [], deletedLaunchTemplateVersions: [] }),
    });
    const run = await runFlow(definition, handlers, { artifact: { bucket: "artifacts", key: "releases/v1.tgz" } });
    expect(run.status).toBe("SUCCEEDED");
    expect(called(handlers, STATE.rollback)).toBe(0);
  });

  it("polls with Wait states until the checks are ready", async () => {
    const handlers = happyHandlers({
      [STATE.checkGroupHealth]: sequence(waiting, waiting, ready),
      [STATE.checkLoadBalancerHealth]: sequence(waiting, ready),
      [STATE.checkRetired]: sequence(waiting, ready),
    });
    const run = await runFlow(definition, handlers, s3Event);
    expect(run.status).toBe("SUCCEEDED");
    expect(called(handlers, STATE.checkGroupHealth)).toBe(3);
    expect(run.visited.filter((s) => s === STATE.waitForGroup)).toHaveLength(2);
    expect(run.visited.filter((s) => s === STATE.waitForLoadBalancer)).toHaveLength(1);
    expect(run.visited.filter((s) => s === STATE.waitForRetirement)).toHaveLength(1);
  });

  it("deploys a given image without baking", async () => {
    const handlers = happyHandlers({
      [STATE.prepare]: sequence({ ...livePlan, artifact: undefined, bakeRequest: undefined, imageId: "ami-0aaaaaaaaaaaaaaaa", keepImages: true }),
    });
    const run = await runFlow(definition, handlers, { imageId: "ami-0aaaaaaaaaaaaaaaa" });
    expect(run.status).toBe("SUCCEEDED");
    expect(called(handlers, STATE.bake)).toBe(0);
    expect(run.inputs[STATE.launch].image).toEqual({ imageId: "ami-0aaaaaaaaaaaaaaaa", baked: false });
  });

  it("rolls back a release that never becomes healthy, then fails with the original reason", async () => {
    const reason = "0/2 instances healthy at load balancer after 900 s: i-1 unhealthy (Target.ResponseCodeMismatch)";
    const handlers = happyHandlers({
      [STATE.checkLoadBalancerHealth]: sequence(waiting, { status: "failed", nextPollSeconds: 0, message: reason }),
    });
    const run = await runFlow(definition, handlers, s3Event);
    expect(run.status).toBe("FAILED");
    expect(run.error).toBe(ERROR.releaseUnhealthy);
    expect(run.cause).toBe(reason);
    expect(called(handlers, STATE.rollback)).toBe(1);
    expect(called(handlers, STATE.unlockAfterRollback)).toBe(1);
    expect(called(handlers, STATE.notifyRolledBack)).toBe(1);
    // The old group is never touched: nothing was retired or deleted.
    expect(called(handlers, STATE.retire)).toBe(0);
    expect(called(handlers, STATE.deleteOldGroups)).toBe(0);
    expect(run.inputs[STATE.rollback].error).toEqual({ Error: ERROR.releaseUnhealthy, Cause: reason });
  });

  it("rolls back when the group never becomes healthy, too", async () => {
    const handlers = happyHandlers({
      [STATE.checkGroupHealth]: sequence({ status: "failed", nextPollSeconds: 0, message: "1/2 InService after 900 s" }),
    });
    const run = await runFlow(definition, handlers, s3Event);
    expect(run.error).toBe(ERROR.releaseUnhealthy);
    expect(called(handlers, STATE.rollback)).toBe(1);
    expect(called(handlers, STATE.checkLoadBalancerHealth)).toBe(0);
  });

  it("rolls back when a stage after Launch throws, keeping the original error and cause", async () => {
    const handlers = happyHandlers({
      [STATE.checkGroupHealth]: sequence(namedError("AccessDenied", "not authorized to DescribeAutoScalingGroups")),
    });
    const run = await runFlow(definition, handlers, s3Event);
    expect(run.status).toBe("FAILED");
    expect(run.error).toBe("AccessDenied");
    expect(run.cause).toBe("not authorized to DescribeAutoScalingGroups");
    expect(called(handlers, STATE.rollback)).toBe(1);
  });

  it("a bake failure launches nothing and releases the lock", async () => {
    const handlers = happyHandlers({ [STATE.bake]: sequence(namedError("States.TaskFailed", "Build failed: packer exit 1")) });
    const run = await runFlow(definition, handlers, s3Event);
    expect(run.status).toBe("FAILED");
    expect(run.error).toBe("States.TaskFailed");
    expect(called(handlers, STATE.launch)).toBe(0);
    expect(called(handlers, STATE.rollback)).toBe(0);
    expect(called(handlers, STATE.unlockAfterFailure)).toBe(1);
    expect(called(handlers, STATE.notifyFailed)).toBe(1);
  });

  it("bad input fails in Prepare with InvalidDeployInput, touching nothing", async () => {
    const handlers = happyHandlers({
      [STATE.prepare]: sequence(namedError(ERROR.invalidInput, 'imageId: "ami-xyz" is not an AMI id')),
    });
    const run = await runFlow(definition, handlers, { imageId: "ami-xyz" });
    expect(run.error).toBe(ERROR.invalidInput);
    expect(called(handlers, STATE.lock)).toBe(0);
    expect(called(handlers, STATE.launch)).toBe(0);
  });

  it("a duplicate trigger is a no-op success", async () => {
    const handlers = happyHandlers({
      [STATE.lock]: sequence({ status: "duplicate", nextPollSeconds: 0, message: "release v2 is already live" }),
    });
    const run = await runFlow(definition, handlers, s3Event);
    expect(run.status).toBe("SUCCEEDED");
    expect(run.visited.at(-1)).toBe(STATE.noOp);
    expect(called(handlers, STATE.bake)).toBe(0);
    expect(called(handlers, STATE.launch)).toBe(0);
    expect(called(handlers, STATE.notifyNoOp)).toBe(1);
  });

  it("a concurrent deploy waits for the lock, then proceeds", async () => {
    const handlers = happyHandlers({
      [STATE.lock]: sequence(
        { status: "waiting", nextPollSeconds: 30, message: "waiting for deploy of v1" },
        { status: "waiting", nextPollSeconds: 30, message: "waiting for deploy of v1" },
        { status: "ready", nextPollSeconds: 0, message: "locked" },
      ),
    });
    const run = await runFlow(definition, handlers, s3Event);
    expect(run.status).toBe("SUCCEEDED");
    expect(run.visited.filter((s) => s === STATE.waitForLock)).toHaveLength(2);
    // The environment changed while waiting: the plan is made again before each new attempt.
    expect(called(handlers, STATE.refreshPlan)).toBe(2);
    expect(called(handlers, STATE.launch)).toBe(1);
  });

  it("gives up waiting for the lock at the deadline, without launching", async () => {
    const handlers = happyHandlers({
      [STATE.lock]: sequence({ status: "failed", nextPollSeconds: 0, message: "v1 still deploying after 3600 s" }),
    });
    const run = await runFlow(definition, handlers, s3Event);
    expect(run.error).toBe(ERROR.lockTimeout);
    expect(run.cause).toBe("v1 still deploying after 3600 s");
    expect(called(handlers, STATE.launch)).toBe(0);
  });

  it("retries throttling and eventual consistency with backoff instead of failing", async () => {
    const handlers = happyHandlers({
      [STATE.launch]: sequence(
        namedError(ERROR.transientAws, "Throttling: Rate exceeded"),
        namedError(ERROR.notYetVisible, "group not visible yet"),
        { groupName: livePlan.groupName, launchTemplateVersion: "7", desiredCapacity: 2, healthyBy: 1_900_000_000 },
      ),
      [STATE.deleteOldGroups]: sequence(namedError(ERROR.stillInUse, "ScalingActivityInProgress"), {
        deletedGroups: [],
        deletedLaunchTemplateVersions: [],
      }),
    });
    const run = await runFlow(definition, handlers, s3Event);
    expect(run.status).toBe("SUCCEEDED");
    expect(called(handlers, STATE.launch)).toBe(3);
    expect(called(handlers, STATE.deleteOldGroups)).toBe(2);
    expect(called(handlers, STATE.rollback)).toBe(0);
  });

  it("after the point of no return a failure stops at its state, and a redrive resumes there", async () => {
    // Prepare: deleting the old group fails for good (say a missing permission) half-way through retirement.
    const failing = happyHandlers({
      [STATE.deleteOldGroups]: sequence(namedError("AccessDenied", "not authorized to DeleteAutoScalingGroup")),
    });
    // Act
    const first = await runFlow(definition, failing, s3Event);
    // Assess: no rollback of a live, healthy release; the execution stopped at the failing state.
    expect(first.status).toBe("FAILED");
    expect(first.failedState).toBe(STATE.deleteOldGroups);
    expect(called(failing, STATE.rollback)).toBe(0);
    expect(called(failing, STATE.unlock)).toBe(0);

    // Redrive: same definition, from the failed state, with the input it had; the permission is fixed.
    const fixed = happyHandlers();
    const redrive = await runFlow(definition, fixed, first.inputs[STATE.deleteOldGroups], { startAt: STATE.deleteOldGroups });
    expect(redrive.status).toBe("SUCCEEDED");
    expect(called(fixed, STATE.deleteOldGroups)).toBe(1);
    expect(called(fixed, STATE.launch)).toBe(0);
    expect(called(fixed, STATE.unlock)).toBe(1);
    expect(redrive.output.plan.release).toBe("v2");
  });

  it("a lost notification does not change a successful outcome", async () => {
    const handlers = happyHandlers({ [STATE.notifySucceeded]: sequence(namedError("AuthorizationError", "sns:Publish denied")) });
    const run = await runFlow(definition, handlers, s3Event);
    expect(run.status).toBe("SUCCEEDED");
    expect(run.output.notificationError.Error).toBe("AuthorizationError");
  });
});

describe("critical states on their own", () => {
  it("every Wait state reads nextPollSeconds from its check's result", () => {
    const waits = Object.entries(definition.States).filter(([, s]) => s.Type === "Wait");
    expect(Object.fromEntries(waits.map(([name, s]) => [name, s.SecondsPath]))).toEqual({
      [STATE.waitForLock]: "$.lock.nextPollSeconds",
      [STATE.waitForGroup]: "$.groupHealth.nextPollSeconds",
      [STATE.waitForLoadBalancer]: "$.loadBalancerHealth.nextPollSeconds",
      [STATE.waitForRetirement]: "$.retired.nextPollSeconds",
    });
  });

  it("the state machine has a timeout, and every task retries transient errors with capped backoff", () => {
    expect(definition.TimeoutSeconds).toBeGreaterThan(0);
    const lambdaTasks = Object.entries(definition.States).filter(([name, s]) => s.Type === "Task" && name !== STATE.bake);
    expect(lambdaTasks.length).toBeGreaterThanOrEqual(12);
    for (const [, task] of lambdaTasks) {
      expect(task.Retry[0].ErrorEquals).toEqual(expect.arrayContaining([ERROR.transientAws, "Lambda.TooManyRequestsException"]));
      expect(task.Retry[0].MaxDelaySeconds).toBeLessThanOrEqual(60);
    }
  });

  it("before Launch failures go to unlock, from Launch to the load-balancer check they go to rollback, after that nothing is caught", () => {
    const catchTarget = (state: string) => definition.States[state].Catch?.[0]?.Next;
    expect(catchTarget(STATE.prepare)).toBe(STATE.unlockAfterFailure);
    expect(catchTarget(STATE.lock)).toBe(STATE.unlockAfterFailure);
    expect(catchTarget(STATE.refreshPlan)).toBe(STATE.unlockAfterFailure);
    expect(catchTarget(STATE.bake)).toBe(STATE.unlockAfterFailure);
    for (const state of [STATE.launch, STATE.checkGroupHealth, STATE.checkLoadBalancerHealth])
      expect(catchTarget(state)).toBe(STATE.rollback);
    for (const state of [STATE.retire, STATE.checkRetired, STATE.deleteOldGroups, STATE.imageRetention, STATE.rollback])
      expect(definition.States[state].Catch).toBeUndefined();
    expect(definition.States[STATE.failed]).toMatchObject({ ErrorPath: "$.error.Error", CausePath: "$.error.Cause" });
    expect(definition.States[STATE.rolledBack]).toMatchObject({ ErrorPath: "$.error.Error", CausePath: "$.error.Cause" });
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
