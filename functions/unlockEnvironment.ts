import type { DeployState, UnlockResult } from "./lib/contract.js";
import { LockLostError } from "./lib/errors.js";
import { stageHandler } from "./lib/handler.js";
import { executionName, lockIdFor, readLockRecord, releaseLock } from "./lib/lock.js";
import { logger } from "./lib/logger.js";

/**
 * Deploy step 11 (and the failure paths): releases the lock this execution holds. Idempotent: a retry after a
 * release that went through finds the lock released by this execution and says so. An execution that never got
 * the lock (a failure before or while waiting for it) has nothing to release. An execution that held the lock
 * and finds it held, or released, by another one was superseded (a late redrive): `LockLost`, and the
 * execution ends without claiming an outcome it no longer owns.
 */
export async function unlockEnvironment(state: DeployState): Promise<UnlockResult> {
  const { settings } = state;
  const me = state.execution.id;
  const lockId = lockIdFor(settings);
  const where = `the deploy lock of ${settings.app}/${settings.environment}`;
  if (await releaseLock(settings.lockTableName, lockId, me)) {
    logger.info("lock released", { lockId });
    return { released: true, message: `released ${where}` };
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
    return { released: false, message: `${where} is already released (by this execution, or by hand)` };
  }
  throw new LockLostError(`${where} is ${current}, not by this execution ${me}: another deploy took over`);
}

export const handler = stageHandler(unlockEnvironment);
