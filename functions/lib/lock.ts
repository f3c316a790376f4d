import { createHash } from "node:crypto";
import {
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type UpdateItemCommandInput,
  type AttributeValue,
} from "@aws-sdk/client-dynamodb";
import { DescribeExecutionCommand, SendTaskSuccessCommand } from "@aws-sdk/client-sfn";
import { dynamodb, sfn } from "./clients.js";
import { nowSeconds } from "./clock.js";
import type { ArtifactRef, EnvironmentSettings, HandoverOutput } from "./contract.js";
import { CONDITION_FAILED_CODES, EXECUTION_GONE_CODES, hasErrorCode, LockLostError, TASK_GONE_CODES } from "./errors.js";

/**
 * The per-environment deploy lock: one item per `${app}#${environment}` in the lock table (partition key
 * `lockId`), held by an execution ARN (`holder`). Every write is conditional, so two executions can never both
 * hold it. Releasing removes `holder` and records who released it (`releasedBy`), so a retried unlock knows it
 * already did, and a stale one knows another deploy did. The same table remembers the S3 objects deploys were
 * started for (`claimDelivery`), each item with a TTL. Plain DynamoDB client with hand-marshalled strings: the
 * items are a few attributes, and the simulator answers the plain client's commands.
 *
 * Hand-over (README "The deploy lock"): a deploy that waits for the lock records its Step Functions task token on
 * the lock item (`registerWaiter`, an attribute `waiter:<execution ARN>` per waiting execution, written only while
 * the holder it waits for still holds the lock), and the unlock that releases the lock reads the tokens in the
 * same write (`releaseLockForWaiters`) and completes each task (`handOver`), so the waiters try again at once.
 */

export interface LockItem {
  lockId: string;
  /** The holding execution's ARN. */
  holder: string;
  release: string;
  /** Epoch seconds. */
  acquiredAt: number;
  /** An operator approved the holder's move to 100 % (`requestCutoverAction`). */
  approval?: OperatorRequest;
  /** An operator asked the holder to switch back and roll back during its cutover (`requestCutoverAction`). */
  rollbackRequest?: OperatorRequest;
  /**
   * The other deploys registered to be woken when the holder unlocks (`registerWaiter`), when there are any. A
   * waiter that went on by itself since (its wait timed out) may still be listed until the next acquisition.
   */
  waiters?: string[];
}

/** Who asked, and when (epoch seconds). */
export interface OperatorRequest {
  by: string;
  at: number;
}

/**
 * What an operator can ask of the deploy that holds the lock while it cuts over: `approve` (the move to 100 %, when
 * the stage asks for approval) and `rollback` (switch traffic back now and roll back). Each is recorded on the lock
 * item with the execution it is for (`<action>For`), so a request never carries over to the next deploy; the
 * cutover's watch reads the item at every poll (functions/shiftTraffic.ts).
 */
export const CUTOVER_ACTIONS = { approve: "approved", rollback: "rollbackRequested" } as const;
export type CutoverAction = keyof typeof CUTOVER_ACTIONS;

function operatorRequest(item: Record<string, AttributeValue>, action: CutoverAction, holder: string): OperatorRequest | undefined {
  const prefix = CUTOVER_ACTIONS[action];
  if (item[`${prefix}For`]?.S !== holder) return undefined;
  return { by: item[`${prefix}By`]?.S ?? "(unknown)", at: Number(item[`${prefix}At`]?.N ?? 0) };
}

export function lockIdFor(settings: Pick<EnvironmentSettings, "app" | "environment">): string {
  return `${settings.app}#${settings.environment}`;
}

/** `arn:aws:states:region:account:execution:machine:name` -> `name`, for messages. */
export function executionName(executionArn: string): string {
  return executionArn.slice(executionArn.lastIndexOf(":") + 1) || executionArn;
}

/** Sends a conditional write: true when it applied, false when its condition did not hold. */
async function conditionalWrite(write: () => Promise<unknown>): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (error) {
    if (hasErrorCode(error, ...CONDITION_FAILED_CODES)) return false;
    throw error;
  }
}

function toItem(lock: LockItem): Record<string, AttributeValue> {
  return {
    lockId: { S: lock.lockId },
    holder: { S: lock.holder },
    release: { S: lock.release },
    acquiredAt: { N: String(lock.acquiredAt) },
  };
}

/** The lock item as stored: held (`holder`) or released (`releasedBy`), or absent. */
export interface LockRecord {
  holder?: string;
  release?: string;
  releasedBy?: string;
  /** The deploys that registered to be woken when the lock is released (see `registerWaiter`). */
  waiters: Waiter[];
}

/** A deploy waiting for the lock: its execution and the task token of its `Wait for lock` task. */
export interface Waiter {
  execution: string;
  taskToken: string;
}

/** Prefix of the lock item's attributes that hold a waiting execution's task token (`waiter:<execution ARN>`). */
export const WAITER_ATTRIBUTE_PREFIX = "waiter:";

function waitersOf(item: Record<string, AttributeValue> | undefined): Waiter[] {
  return Object.entries(item ?? {})
    .filter(([name, value]) => name.startsWith(WAITER_ATTRIBUTE_PREFIX) && value.S !== undefined)
    .map(([name, value]) => ({ execution: name.slice(WAITER_ATTRIBUTE_PREFIX.length), taskToken: value.S! }))
    .sort((a, b) => a.execution.localeCompare(b.execution));
}

function fromItem(item: Record<string, AttributeValue> | undefined): LockItem | undefined {
  if (!item?.lockId?.S || !item.holder?.S) return undefined;
  const holder = item.holder.S;
  const approval = operatorRequest(item, "approve", holder);
  const rollbackRequest = operatorRequest(item, "rollback", holder);
  const waiters = waitersOf(item)
    .map((waiter) => waiter.execution)
    .filter((execution) => execution !== holder);
  return {
    lockId: item.lockId.S,
    holder,
    release: item.release?.S ?? "(unknown)",
    acquiredAt: Number(item.acquiredAt?.N ?? 0),
    ...(approval && { approval }),
    ...(rollbackRequest && { rollbackRequest }),
    ...(waiters.length > 0 && { waiters }),
  };
}

/** Takes the lock if it is free or already ours. Returns false when another execution holds it. */
export async function tryAcquireLock(tableName: string, lockId: string, holder: string, release: string): Promise<boolean> {
  return conditionalWrite(() =>
    dynamodb.send(
      new PutItemCommand({
        TableName: tableName,
        Item: toItem({ lockId, holder, release, acquiredAt: nowSeconds() }),
        // Free: never taken, or released (the item stays, without a holder).
        ConditionExpression: "attribute_not_exists(holder) OR holder = :me",
        ExpressionAttributeValues: { ":me": { S: holder } },
      }),
    ),
  );
}

/** Moves the lock from `previousHolder` to `holder`; false when someone else changed it first. */
export async function takeOverLock(
  tableName: string,
  lockId: string,
  previousHolder: string,
  holder: string,
  release: string,
): Promise<boolean> {
  return conditionalWrite(() =>
    dynamodb.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { lockId: { S: lockId } },
        UpdateExpression: "SET holder = :me, #release = :release, acquiredAt = :now",
        ConditionExpression: "holder = :previous",
        ExpressionAttributeNames: { "#release": "release" },
        ExpressionAttributeValues: {
          ":me": { S: holder },
          ":release": { S: release },
          ":now": { N: String(nowSeconds()) },
          ":previous": { S: previousHolder },
        },
      }),
    ),
  );
}

async function getItem(tableName: string, key: string): Promise<Record<string, AttributeValue> | undefined> {
  const result = await dynamodb.send(new GetItemCommand({ TableName: tableName, Key: { lockId: { S: key } }, ConsistentRead: true }));
  return result.Item;
}

/** The lock while someone holds it; undefined when it is free. */
export async function readLock(tableName: string, lockId: string): Promise<LockItem | undefined> {
  return fromItem(await getItem(tableName, lockId));
}

/** The lock item as stored, held or released. */
export async function readLockRecord(tableName: string, lockId: string): Promise<LockRecord | undefined> {
  const item = await getItem(tableName, lockId);
  if (!item) return undefined;
  return { holder: item.holder?.S, release: item.release?.S, releasedBy: item.releasedBy?.S, waiters: waitersOf(item) };
}

/**
 * Releases the lock only if `holder` holds it, and records that `holder` released it: `released` is false when it
 * is free or someone else's. The item stays (without `holder`), so a retry of the same unlock can tell it is done.
 * Also returns the waiters recorded on the item when the release applied: read in the same write,
 * so a waiter registers either before it (and is in the list) or after it (and its conditional write fails: it
 * goes on by itself). The waiter attributes stay on the released item, so a retried unlock finds them again; the
 * next acquisition (a PutItem) replaces the whole item.
 */
export async function releaseLockForWaiters(tableName: string, lockId: string, holder: string): Promise<{ released: boolean; waiters: Waiter[] }> {
  let attributes: Record<string, AttributeValue> | undefined;
  const released = await conditionalWrite(async () => {
    const result = await dynamodb.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { lockId: { S: lockId } },
        UpdateExpression: "REMOVE holder, #release, acquiredAt SET releasedBy = :me, releasedAt = :now",
        ConditionExpression: "holder = :me",
        ExpressionAttributeNames: { "#release": "release" },
        ExpressionAttributeValues: { ":me": { S: holder }, ":now": { N: String(nowSeconds()) } },
        ReturnValues: "ALL_NEW",
      }),
    );
    attributes = result.Attributes;
  });
  return { released, waiters: released ? waitersOf(attributes) : [] };
}

/**
 * Records `waiter`'s task token on the lock item, only while `holder` still holds the lock: false when it no
 * longer does (released, or taken over, since the waiter looked), and then nobody will complete the task: the
 * waiter must go on by itself. Registering again replaces the execution's earlier token (one attribute per waiter).
 */
export async function registerWaiter(tableName: string, lockId: string, holder: string, waiter: string, taskToken: string): Promise<boolean> {
  return conditionalWrite(() =>
    dynamodb.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { lockId: { S: lockId } },
        UpdateExpression: "SET #waiter = :token",
        ConditionExpression: "holder = :holder",
        ExpressionAttributeNames: { "#waiter": `${WAITER_ATTRIBUTE_PREFIX}${waiter}` },
        ExpressionAttributeValues: { ":token": { S: taskToken }, ":holder": { S: holder } },
      }),
    ),
  );
}

/**
 * Completes a waiting deploy's `Wait for lock` task (SendTaskSuccess with `output`): true when it did, false when
 * the task is over already (it timed out, was completed before, e.g. by an earlier try of the same unlock, or its
 * execution ended: TaskTimedOut, TaskDoesNotExist, InvalidToken). Other errors are thrown (throttling: retried).
 */
export async function handOver(taskToken: string, output: object): Promise<boolean> {
  try {
    await sfn.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
    return true;
  } catch (error) {
    if (hasErrorCode(error, ...TASK_GONE_CODES)) return false;
    throw error;
  }
}

/**
 * Completes the `Wait for lock` task of each of `waiters` (`handOver`), for the lock `from` held: by its unlock, or,
 * when it ended without one, by its notification. `from`'s own token (from an earlier wait of its own: that task is
 * long over) and tasks already over are skipped. The executions told.
 */
export async function handOverToWaiters(waiters: Waiter[], from: string, lockId: string): Promise<string[]> {
  const output: HandoverOutput = { unlockedBy: from, lockId };
  const told: string[] = [];
  for (const waiter of waiters) {
    if (waiter.execution === from) continue;
    if (await handOver(waiter.taskToken, output)) told.push(waiter.execution);
  }
  return told;
}

/** Whether an execution is still running; one that no longer exists is not. */
export async function isExecutionRunning(executionArn: string): Promise<boolean> {
  try {
    const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    return execution.status === "RUNNING";
  } catch (error) {
    if (hasErrorCode(error, ...EXECUTION_GONE_CODES)) return false;
    throw error;
  }
}

/**
 * For stages that mutate the environment after Lock: throws `LockLostError` when this execution no longer
 * holds the lock (taken over after it was thought finished), so two deploys never change one environment.
 */
export async function assertLockHeld(settings: EnvironmentSettings, executionId: string): Promise<LockItem> {
  const lock = await readLock(settings.lockTableName, lockIdFor(settings));
  if (lock?.holder !== executionId) {
    throw new LockLostError(
      `the deploy lock of ${settings.app}/${settings.environment} is ${lock ? `held by ${lock.holder} (release ${lock.release})` : "free"}, not by this execution ${executionId}`,
    );
  }
  return lock;
}

/**
 * Records an operator's `action` for the execution that holds the lock (README "Cutover", "Approval and instant
 * rollback"): false when `executionArn` does not hold it (finished, or another deploy's). Repeating it changes only
 * who and when.
 */
export async function requestCutoverAction(
  settings: Pick<EnvironmentSettings, "app" | "environment" | "lockTableName">,
  executionArn: string,
  action: CutoverAction,
  by: string,
): Promise<boolean> {
  return conditionalWrite(() => dynamodb.send(new UpdateItemCommand(cutoverActionUpdate(settings, executionArn, action, by, nowSeconds()))));
}

/** The conditional UpdateItem that records an operator's cutover action (see requestCutoverAction). */
export function cutoverActionUpdate(
  settings: Pick<EnvironmentSettings, "app" | "environment" | "lockTableName">,
  executionArn: string,
  action: CutoverAction,
  by: string,
  now: number,
): UpdateItemCommandInput {
  const prefix = CUTOVER_ACTIONS[action];
  return {
    TableName: settings.lockTableName,
    Key: { lockId: { S: lockIdFor(settings) } },
    UpdateExpression: `SET ${prefix}For = :me, ${prefix}By = :by, ${prefix}At = :now`,
    ConditionExpression: "holder = :me",
    ExpressionAttributeValues: { ":me": { S: executionArn }, ":by": { S: by }, ":now": { N: String(now) } },
  };
}

// ---- Deliveries: which S3 object each execution was started for -----------------------------------------------

/**
 * How long a delivery is remembered (the item's TTL attribute `expiresAt`). EventBridge retries a delivery for up
 * to 24 hours (its default retry policy's maximum event age, EventBridge User Guide, "Event retry policy"); a week
 * covers that with room, and DynamoDB deletes expired items within days of expiry, never before it.
 */
export const DELIVERY_MEMORY_SECONDS = 7 * 24 * 3600;

/** The S3 object's identity: bucket, key and its version id (versioned buckets) or sequencer and ETag. */
export function deliveryIdentity(object: ArtifactRef): string {
  const version = object.versionId ? `version ${object.versionId}` : `sequencer ${object.sequencer ?? "-"} etag ${object.etag ?? "-"}`;
  return `s3://${object.bucket}/${object.key} (${version})`;
}

function deliveryKey(settings: Pick<EnvironmentSettings, "app" | "environment">, object: ArtifactRef): string {
  return `${lockIdFor(settings)}#delivery#${createHash("sha256").update(deliveryIdentity(object)).digest("hex")}`;
}

export interface DeliveryClaim {
  /** True when this execution is the one the object was delivered to (first delivery, or a re-run of it). */
  ours: boolean;
  /** The execution the object was first delivered to. */
  execution: string;
  claimedAt: number;
}

/**
 * Records that `object` was delivered to `execution`, unless an earlier delivery of the very same object was
 * recorded for another execution (then `ours` is false and that execution is named). Conditional, so two
 * executions started by one object at the same moment cannot both claim it.
 */
export async function claimDelivery(settings: EnvironmentSettings, object: ArtifactRef, execution: string): Promise<DeliveryClaim> {
  const key = deliveryKey(settings, object);
  const now = nowSeconds();
  const claimed = await conditionalWrite(() =>
    dynamodb.send(
      new PutItemCommand({
        TableName: settings.lockTableName,
        Item: {
          lockId: { S: key },
          deliveredTo: { S: execution },
          object: { S: deliveryIdentity(object) },
          claimedAt: { N: String(now) },
          expiresAt: { N: String(now + DELIVERY_MEMORY_SECONDS) },
        },
        ConditionExpression: "attribute_not_exists(lockId) OR deliveredTo = :me",
        ExpressionAttributeValues: { ":me": { S: execution } },
      }),
    ),
  );
  if (claimed) return { ours: true, execution, claimedAt: now };
  const item = await getItem(settings.lockTableName, key);
  return { ours: false, execution: item?.deliveredTo?.S ?? "(unknown)", claimedAt: Number(item?.claimedAt?.N ?? 0) };
}
