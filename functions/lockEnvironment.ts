import type { DeployPlan, DeployState, LockResult } from "./lib/contract.js";
import { nowSeconds } from "./lib/clock.js";
import { stageHandler } from "./lib/handler.js";
import {
  claimDelivery,
  deliveryIdentity,
  executionName,
  isExecutionRunning,
  lockIdFor,
  readLock,
  takeOverLock,
  tryAcquireLock,
} from "./lib/lock.js";
import { logger } from "./lib/logger.js";

/** Upper bound of one wait between lock attempts: short enough to start soon after the other deploy ends. */
export const LOCK_POLL_SECONDS = 30;
/** Acquire races (the holder changes between our reads) are retried this often before reporting `waiting`. */
const ACQUIRE_ATTEMPTS = 3;

/**
 * Two states run this function (stacks/pipeline/tables.ts), told apart by whether the image is known yet.
 *
 * **Claim release** (deploy step 2, before the bake, `$.image` absent): is this deploy a duplicate? `duplicate` =
 * the release is already live, the S3 object that started this execution was delivered before (recorded by its
 * identity, `claimDelivery`), or a running execution of the same release holds the lock (no-op); otherwise
 * `claimed`: bake, without the lock. The lock is never taken here.
 *
 * **Lock environment** (deploy step 4, after the bake, `$.image` present): one deploy per environment at a time.
 * `ready` = this execution holds the lock (also on a re-run); `duplicate` = the release went live, or is being
 * deployed, meanwhile; `waiting` = another release is being deployed (poll again after `nextPollSeconds`);
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
      nextPollSeconds: Math.max(1, Math.min(LOCK_POLL_SECONDS, secondsLeft)),
      message: `waiting for deploy of ${current.release} (${holder}) to finish`,
      deadline,
    };
  }
  return { status: "waiting", nextPollSeconds: 1, message: "the lock changed hands while we tried to take it; trying again", deadline };
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

export const handler = stageHandler(lockEnvironment);
