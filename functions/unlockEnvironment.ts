import type { DeployState, UnlockResult } from "./lib/contract.js";
import { stageHandler } from "./lib/handler.js";
import { executionName, lockIdFor, readLock, releaseLock } from "./lib/lock.js";
import { logger } from "./lib/logger.js";

/**
 * Deploy step 11 (and the failure paths): releases the lock if this execution holds it. Idempotent: a lock
 * already gone, or held by another execution (never taken, or taken over), is left alone without error.
 */
export async function unlockEnvironment(state: DeployState): Promise<UnlockResult> {
  const { settings } = state;
  const me = state.execution.id;
  const lockId = lockIdFor(settings);
  if (await releaseLock(settings.lockTableName, lockId, me)) {
    logger.info("lock released", { lockId });
    return { released: true, message: `released the deploy lock of ${settings.app}/${settings.environment}` };
  }
  const current = await readLock(settings.lockTableName, lockId);
  const message = current
    ? `the deploy lock of ${settings.app}/${settings.environment} is held by execution ${executionName(current.holder)} (release ${current.release}), not by this one: left as is`
    : `the deploy lock of ${settings.app}/${settings.environment} is already free`;
  return { released: false, message };
}

export const handler = stageHandler(unlockEnvironment);
