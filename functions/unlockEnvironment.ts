import type { DeployState, UnlockResult } from "./lib/contract.js";
import { LockLostError } from "./lib/errors.js";
import { stageHandler } from "./lib/handler.js";
import { executionName, handOverToWaiters, lockIdFor, readLockRecord, releaseLockForWaiters, type Waiter } from "./lib/lock.js";
import { logger } from "./lib/logger.js";

/**
 * Deploy step 11 (and the failure paths): releases the lock this execution holds. Idempotent: a retry after a
 * release that went through finds the lock released by this execution and says so. An execution that never got
 * the lock (a failure before or while waiting for it) has nothing to release. An execution that held the lock
 * and finds it held, or released, by another one was superseded (a late redrive): `LockLost`, and the
 * execution ends without claiming an outcome it no longer owns.
 *
 * Hand-over: the deploys waiting for the lock recorded their task tokens on it (functions/lib/lock.ts,
 * `registerWaiter`); once released, each waiting `Wait for lock` task is completed (SendTaskSuccess), so every
 * waiter plans again and tries the lock at once (one wins, the others wait again). A retry after the release went
 * through completes them again: a task that is over already answers TaskTimedOut, which is ignored.
 */
export async function unlockEnvironment(state: DeployState): Promise<UnlockResult> {
  const { settings } = state;
  const me = state.execution.id;
  const lockId = lockIdFor(settings);
  const where = `the deploy lock of ${settings.app}/${settings.environment}`;
  const release = await releaseLockForWaiters(settings.lockTableName, lockId, me);
  if (release.released) {
    logger.info("lock released", { lockId });
    return { released: true, message: `released ${where}`, ...(await handOverTo(release.waiters, me, lockId)) };
  }
  const record = await readLockRecord(settings.lockTableName, lockId);
  const current = record?.holder
    ? `held by execution ${executionName(record.holder)} (release ${record.release ?? "?"})`
    : record?.releasedBy
      ? `released by execution ${executionName(record.releasedBy)}`
      : "free";
  if (state.lock?.status !== "ready") {
    return { released: false, message: `this execution never held ${where} (it is ${current}): nothing to release` };
  }
  if (!record || (!record.holder && record.releasedBy === me)) {
    // A retry of this unlock: the waiters may not have been told yet (the first try ended right after the release).
    const told = record?.releasedBy === me ? await handOverTo(record.waiters, me, lockId) : {};
    return { released: false, message: `${where} is already released (by this execution, or by hand)`, ...told };
  }
  throw new LockLostError(`${where} is ${current}, not by this execution ${me}: another deploy took over`);
}

/** Completes the waiters' `Wait for lock` tasks; those already over (timed out, told before) are skipped. */
async function handOverTo(waiters: Waiter[], me: string, lockId: string): Promise<Pick<UnlockResult, "handedOverTo">> {
  const handedOverTo = await handOverToWaiters(waiters, me, lockId);
  if (handedOverTo.length === 0) return {};
  logger.info("lock handed over", { lockId, waiters: handedOverTo });
  return { handedOverTo };
}

export const handler = stageHandler(unlockEnvironment);
