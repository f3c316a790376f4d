import { afterEach, describe, expect, it } from "vitest";
import { allClients } from "../../functions/lib/clients.js";
import type { DeployState, HandoverRequest, LockResult } from "../../functions/lib/contract.js";
import { awaitLockHandover, lockEnvironment } from "../../functions/lockEnvironment.js";
import { unlockEnvironment } from "../../functions/unlockEnvironment.js";
import { attachRegion, bindFunctionClock, SimulatedRegion } from "../../simulator/region/index.js";
import type { TaskOutcome } from "../../simulator/region/services/stepfunctions.js";
import { controlPlan, controlSettings, executionArn, LOCK_TABLE } from "../functions/controlFixtures.js";

/**
 * The lock's hand-over end to end on the simulated region, with the real lock and unlock functions and the
 * simulated Step Functions' task tokens: including the race a scenario cannot time, an unlock between a waiter's
 * Lock (which saw the holder) and its Wait for lock (which registers the token).
 */
let close: (() => void) | undefined;
afterEach(() => close?.());

const HOLDER = executionArn("exec-holder");
const WAITER = executionArn("exec-waiter");
const OTHER_WAITER = executionArn("exec-waiter-2");
const IMAGE = { imageId: "ami-0123456789abcdef0", baked: true };

function world() {
  const region = new SimulatedRegion();
  const attachment = attachRegion(region, allClients);
  const restoreClock = bindFunctionClock(region);
  close = () => {
    attachment.detach();
    restoreClock();
  };
  region.dynamodb.createTable(LOCK_TABLE, "lockId");
  const settings = controlSettings();
  for (const arn of [HOLDER, WAITER, OTHER_WAITER])
    region.stepFunctions.recordExecution({
      executionArn: arn,
      stateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:shop-dev01-deploy",
      name: arn.slice(arn.lastIndexOf(":") + 1),
      status: "RUNNING",
      startMs: region.now(),
      input: "{}",
    });
  /** Runs a stage function on region time (its API requests take time). */
  const run = async <T>(work: () => Promise<T>): Promise<T> => {
    const [settled] = await region.scheduler.drive([work()]);
    if (settled.status === "rejected") throw settled.reason;
    return settled.value;
  };
  const state = (arn: string, release: string, lock?: LockResult): DeployState => ({
    settings,
    input: {},
    execution: { id: arn, name: arn.slice(arn.lastIndexOf(":") + 1), startTime: "2025-01-01T00:00:00.000Z" },
    plan: controlPlan({ release }),
    image: IMAGE,
    ...(lock && { lock }),
  });
  /** Wait for lock of `arn` after Lock answered `lock`: a task opened as Step Functions opens it, and the function run. */
  const waitForLock = async (arn: string, lock: LockResult) => {
    const task = region.stepFunctions.openCallbackTask(arn, "Wait for lock", { timeoutSeconds: lock.nextPollSeconds });
    let outcome: TaskOutcome | undefined;
    void task.outcome.then((o) => (outcome = o));
    const request: HandoverRequest = { settings, execution: state(arn, "v").execution, lock, taskToken: task.token };
    const result = await run(() => awaitLockHandover(request));
    await Promise.resolve();
    return { result, outcome: () => outcome };
  };
  return { region, run, state, waitForLock };
}

describe("the deploy lock's hand-over (simulated region, real functions)", () => {
  it("the holder's unlock completes every registered waiter's task; the retried unlock changes nothing", async () => {
    const w = world();
    expect(await w.run(() => lockEnvironment(w.state(HOLDER, "v1")))).toMatchObject({ status: "ready" });
    const waiting = await w.run(() => lockEnvironment(w.state(WAITER, "v2")));
    expect(waiting).toMatchObject({ status: "waiting", holder: HOLDER, nextPollSeconds: 300 });
    const otherWaiting = await w.run(() => lockEnvironment(w.state(OTHER_WAITER, "v3")));
    const first = await w.waitForLock(WAITER, waiting);
    const second = await w.waitForLock(OTHER_WAITER, otherWaiting);
    expect([first.result.registered, second.result.registered]).toEqual([true, true]);
    expect([first.outcome(), second.outcome()]).toEqual([undefined, undefined]);

    const unlocked = await w.run(() => unlockEnvironment(w.state(HOLDER, "v1", { status: "ready", nextPollSeconds: 0, message: "locked" })));
    await Promise.resolve();

    expect(unlocked).toMatchObject({ released: true, handedOverTo: [WAITER, OTHER_WAITER].sort() });
    expect(first.outcome()).toEqual({ output: { unlockedBy: HOLDER, lockId: "shop#dev01" } });
    expect(second.outcome()).toEqual({ output: { unlockedBy: HOLDER, lockId: "shop#dev01" } });
    // A retry of the holder's unlock: already released by itself; the tasks are over (TaskTimedOut), nobody is told twice.
    const retried = await w.run(() => unlockEnvironment(w.state(HOLDER, "v1", { status: "ready", nextPollSeconds: 0, message: "locked" })));
    expect(retried).toEqual({ released: false, message: "the deploy lock of shop/dev01 is already released (by this execution, or by hand)" });
    // Both race for the lock: one wins, the other waits again (on the winner).
    expect(await w.run(() => lockEnvironment(w.state(WAITER, "v2", waiting)))).toMatchObject({ status: "ready" });
    expect(await w.run(() => lockEnvironment(w.state(OTHER_WAITER, "v3", otherWaiting)))).toMatchObject({ status: "waiting", holder: WAITER });
  });

  it("the race: the holder unlocks after the waiter's Lock saw it and before its Wait for lock registers: the waiter goes on at once", async () => {
    const w = world();
    await w.run(() => lockEnvironment(w.state(HOLDER, "v1")));
    const waiting = await w.run(() => lockEnvironment(w.state(WAITER, "v2")));
    expect(waiting).toMatchObject({ status: "waiting", holder: HOLDER });
    // The unlock lands in between: nobody is registered yet, so it tells nobody.
    const unlocked = await w.run(() => unlockEnvironment(w.state(HOLDER, "v1", { status: "ready", nextPollSeconds: 0, message: "locked" })));
    expect(unlocked.handedOverTo).toBeUndefined();

    const startMs = w.region.now();
    const wait = await w.waitForLock(WAITER, waiting);

    // It did not register (the holder it saw no longer holds the lock) and completed its own task: no 300 s wait.
    expect(wait.result.registered).toBe(false);
    expect(wait.outcome()).toEqual({ output: { unlockedBy: HOLDER, lockId: "shop#dev01" } });
    expect(w.region.now() - startMs).toBeLessThan(5_000);
    expect(await w.run(() => lockEnvironment(w.state(WAITER, "v2", waiting)))).toMatchObject({ status: "ready" });
  });

  it("a holder that stops without unlocking: the waiter's task times out at nextPollSeconds, and Lock takes the lock over", async () => {
    const w = world();
    await w.run(() => lockEnvironment(w.state(HOLDER, "v1")));
    const waiting = await w.run(() => lockEnvironment(w.state(WAITER, "v2")));
    const wait = await w.waitForLock(WAITER, waiting);
    w.region.stepFunctions.updateExecution(HOLDER, { status: "ABORTED" });
    const startMs = w.region.now();
    w.region.scheduler.runUntil(startMs + waiting.nextPollSeconds * 1000);
    await Promise.resolve();
    expect(wait.outcome()).toMatchObject({ error: "States.Timeout" });
    const taken = await w.run(() => lockEnvironment(w.state(WAITER, "v2", waiting)));
    expect(taken).toMatchObject({ status: "ready", message: expect.stringContaining("took over from execution exec-holder") });
  });
});
