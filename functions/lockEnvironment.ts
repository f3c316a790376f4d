import type { DeployPlan, DeployState, HandoverOutput, HandoverRequest, HandoverResult, LockResult } from "./lib/contract.js";
import { nowSeconds } from "./lib/clock.js";
import { stageHandler } from "./lib/handler.js";
import {
  claimDelivery,
  deliveryIdentity,
  executionName,
  handOver,
  isExecutionRunning,
  lockIdFor,
  readLock,
  registerWaiter,
  takeOverLock,
  tryAcquireLock,
} from "./lib/lock.js";
import { logger } from "./lib/logger.js";

/**
 * Upper bound of one `Wait for lock` (its TimeoutSecondsPath reads `nextPollSeconds`): the holder's unlock ends
 * the wait at once (a task-token hand-over), so this only bounds how late a waiter notices a holder that ended
 * without unlocking (aborted, timed out, stopped after cutover for a redrive): then it takes the lock over. Each
 * wait costs 4 state transitions and 3 Lambda invocations (Wait for lock, Refresh plan, Lock environment):
 * 12 waits at most in the default hour of `lockWaitSeconds`, where a 30 s poll made 120.
 */
export const LOCK_HANDOVER_TIMEOUT_SECONDS = 300;
/** Acquire races (the holder changes between our reads) are retried this often before reporting `waiting`. */
const ACQUIRE_ATTEMPTS = 3;

/**
 * Two states run this function (stacks/pipeline/tables.ts), told apart by whether the image is known yet; a third,
 * Wait for lock, runs `awaitLockHandover` (its payload carries a task token: `lockOrAwait`).
 *
 * **Claim release** (deploy step 2, before the bake, `$.image` absent): is this deploy a duplicate? `duplicate` =
 * the release is already live, the S3 object that started this execution was delivered before (recorded by its
 * identity, `claimDelivery`), or a running execution of the same release holds the lock (no-op); otherwise
 * `claimed`: bake, without the lock. The lock is never taken here.
 *
 * **Lock environment** (deploy step 4, after the bake, `$.image` present): one deploy per environment at a time.
 * `ready` = this execution holds the lock (also on a re-run); `duplicate` = the release went live, or is being
 * deployed, meanwhile; `waiting` = another release is being deployed by `holder` (wait for its unlock's hand-over,
 * at most `nextPollSeconds`);
 * `failed` = still waiting at the deadline, which is fixed at the first attempt (the end of the bake) plus
 * `timeouts.lockWaitSeconds` and carried in `$.lock.deadline`. A lock held by an execution that is no longer
 * running is taken over.
 */
export async function lockEnvironment(state: DeployState): Promise<LockResult> {
  const plan = requirePlan(state);
  const liveWithRelease = plan.liveGroups.find((group) => group.release === plan.release);
  if (liveWithRelease) {
    return done("duplicate", `release ${plan.release} is already live in group ${liveWithRelease.name}; nothing to deploy`);
  }
  return state.image ? acquire(state, plan) : claim(state, plan);
}

/** Claim release: a repeated delivery, or a duplicate in flight, ends here, before it bakes. */
async function claim(state: DeployState, plan: DeployPlan): Promise<LockResult> {
  const me = state.execution.id;
  // EventBridge delivers at least once, for up to a day: the same upload is deployed once, whatever went live since.
  if (plan.delivery) {
    const claimed = await claimDelivery(state.settings, plan.delivery, me);
    if (!claimed.ours) {
      return done(
        "duplicate",
        `${deliveryIdentity(plan.delivery)} was already delivered to execution ${executionName(claimed.execution)} at ${isoTime(claimed.claimedAt)}; a repeated delivery deploys nothing`,
      );
    }
  }
  const current = await readLock(state.settings.lockTableName, lockIdFor(state.settings));
  if (current && current.holder !== me && current.release === plan.release && (await isExecutionRunning(current.holder))) {
    return inFlight(plan, current.holder);
  }
  return done("claimed", `release ${plan.release} is no duplicate: baking without the lock`);
}

/** Lock environment: take the lock, or wait for it until the deadline. */
async function acquire(state: DeployState, plan: DeployPlan): Promise<LockResult> {
  const me = state.execution.id;
  const { lockTableName } = state.settings;
  const lockId = lockIdFor(state.settings);
  // Counted from the first attempt (the end of the bake), not from the execution's start: the bake does not
  // shorten the wait. A redrive of a stopped wait resumes with the deadline it had.
  const deadline =
    state.lock?.status === "waiting" && state.lock.deadline !== undefined ? state.lock.deadline : nowSeconds() + state.settings.timeouts.lockWaitSeconds;

  for (let attempt = 0; attempt < ACQUIRE_ATTEMPTS; attempt++) {
    if (await tryAcquireLock(lockTableName, lockId, me, plan.release)) {
      return done("ready", `lock acquired for release ${plan.release}`);
    }
    const current = await readLock(lockTableName, lockId);
    if (!current) continue; // released between our write and our read: try again
    if (current.holder === me) return done("ready", `lock acquired for release ${plan.release}`);

    if (!(await isExecutionRunning(current.holder))) {
      if (await takeOverLock(lockTableName, lockId, current.holder, me, plan.release)) {
        const message = `lock acquired for release ${plan.release}: took over from execution ${executionName(current.holder)} (release ${current.release}), which is no longer running`;
        logger.warn(message, { previousHolder: current.holder });
        return done("ready", message);
      }
      continue; // someone else took it over first: look again
    }

    const holder = `execution ${executionName(current.holder)}`;
    if (current.release === plan.release) return inFlight(plan, current.holder);
    const secondsLeft = deadline - nowSeconds();
    if (secondsLeft <= 0) {
      return done("failed", `gave up waiting for the lock: the deploy of ${current.release} (${holder}) still holds it, since ${isoTime(current.acquiredAt)}`);
    }
    return {
      status: "waiting",
      nextPollSeconds: Math.max(1, Math.min(LOCK_HANDOVER_TIMEOUT_SECONDS, secondsLeft)),
      message: `waiting for deploy of ${current.release} (${holder}) to finish`,
      deadline,
      holder: current.holder,
    };
  }
  // No holder to wait for: `Wait for lock` finds none and goes on at once.
  return { status: "waiting", nextPollSeconds: 1, message: "the lock changed hands while we tried to take it; trying again", deadline };
}

/**
 * **Wait for lock** (a `.waitForTaskToken` Task, after Lock reported `waiting`): records this execution's task token
 * on the lock, only while the holder Lock saw still holds it; that holder's unlock completes the task
 * (functions/unlockEnvironment.ts) and the deploy plans again and takes the lock. If the holder unlocked (or the lock
 * changed hands) since Lock looked, nobody would: the function completes its own task at once. Step Functions
 * ignores what it returns; the task's TimeoutSecondsPath (`$.lock.nextPollSeconds`) ends a wait no unlock ends.
 */
export async function awaitLockHandover(request: HandoverRequest): Promise<HandoverResult> {
  const { settings, taskToken } = request;
  if (!taskToken) throw new Error("Wait for lock needs taskToken ($$.Task.Token) in its payload");
  const me = request.execution.id;
  const lockId = lockIdFor(settings);
  const holder = request.lock?.holder;
  if (holder && (await registerWaiter(settings.lockTableName, lockId, holder, me, taskToken))) {
    return { registered: true, message: `waiting for execution ${executionName(holder)} to hand the lock over at its unlock` };
  }
  const output: HandoverOutput = { unlockedBy: holder ?? "(none)", lockId };
  const completed = await handOver(taskToken, output);
  const message = holder
    ? `execution ${executionName(holder)} no longer holds the lock: trying again at once`
    : "no holder to wait for: trying again at once";
  return { registered: false, message: completed ? message : `${message} (the task was over already)` };
}

/** Another running execution deploys the same release: this one is a duplicate (Claim and Lock alike). */
function inFlight(plan: DeployPlan, holder: string): LockResult {
  return done("duplicate", `release ${plan.release} is already being deployed by execution ${executionName(holder)}; nothing to do`);
}

function done(status: LockResult["status"], message: string): LockResult {
  return { status, nextPollSeconds: 0, message };
}

function requirePlan(state: DeployState): DeployPlan {
  if (!state.plan) throw new Error("lockEnvironment needs $.plan (the result of Prepare)");
  return state.plan;
}

function isoTime(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString();
}

/** One function, three states: Claim release and Lock environment (a deploy state), Wait for lock (a task token). */
export function lockOrAwait(event: DeployState | HandoverRequest): Promise<LockResult | HandoverResult> {
  return "taskToken" in event ? awaitLockHandover(event) : lockEnvironment(event);
}

export const handler = stageHandler(lockOrAwait);
