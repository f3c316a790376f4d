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
 * Deploy step 2: one deploy per environment at a time. `ready` = this execution holds the lock (also on a
 * re-run); `duplicate` = the release is already live or being deployed, or the S3 object that started this
 * execution was delivered before (no-op, the lock is not taken); `waiting` = another release is being deployed
 * (poll again after `nextPollSeconds`); `failed` = still waiting at the plan's lock deadline. A lock held by an
 * execution that is no longer running is taken over.
 */
export async function lockEnvironment(state: DeployState): Promise<LockResult> {
  const plan = requirePlan(state);
  const me = state.execution.id;
  const { lockTableName } = state.settings;
  const lockId = lockIdFor(state.settings);

  const liveWithRelease = plan.liveGroups.find((group) => group.release === plan.release);
  if (liveWithRelease) {
    return done("duplicate", `release ${plan.release} is already live in group ${liveWithRelease.name}; nothing to deploy`);
  }
  // EventBridge delivers at least once, for up to a day: the same upload is deployed once, whatever went live since.
  if (plan.delivery) {
    const claim = await claimDelivery(state.settings, plan.delivery, me);
    if (!claim.ours) {
      return done(
        "duplicate",
        `${deliveryIdentity(plan.delivery)} was already delivered to execution ${executionName(claim.execution)} at ${isoTime(claim.claimedAt)}; a repeated delivery deploys nothing`,
      );
    }
  }

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
    if (current.release === plan.release) {
      return done("duplicate", `release ${plan.release} is already being deployed by ${holder}; nothing to do`);
    }
    const secondsLeft = plan.lockDeadline - nowSeconds();
    if (secondsLeft <= 0) {
      return done("failed", `gave up waiting for the lock: the deploy of ${current.release} (${holder}) still holds it, since ${isoTime(current.acquiredAt)}`);
    }
    return {
      status: "waiting",
      nextPollSeconds: Math.max(1, Math.min(LOCK_POLL_SECONDS, secondsLeft)),
      message: `waiting for deploy of ${current.release} (${holder}) to finish`,
    };
  }
  return { status: "waiting", nextPollSeconds: 1, message: "the lock changed hands while we tried to take it; trying again" };
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
