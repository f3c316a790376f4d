import {
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
} from "@aws-sdk/client-dynamodb";
import { DescribeExecutionCommand } from "@aws-sdk/client-sfn";
import { dynamodb, sfn } from "./clients.js";
import { nowSeconds } from "./clock.js";
import type { EnvironmentSettings } from "./contract.js";
import { CONDITION_FAILED_CODES, EXECUTION_GONE_CODES, hasErrorCode, LockLostError } from "./errors.js";

/**
 * The per-environment deploy lock: one item per `${app}#${environment}` in the lock table (partition key
 * `lockId`), held by an execution ARN. Every write is conditional, so two executions can never both hold it.
 * Plain DynamoDB client with hand-marshalled strings: the items are four attributes, and the simulator
 * answers the plain client's commands.
 */

export interface LockItem {
  lockId: string;
  /** The holding execution's ARN. */
  holder: string;
  release: string;
  /** Epoch seconds. */
  acquiredAt: number;
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

function fromItem(item: Record<string, AttributeValue> | undefined): LockItem | undefined {
  if (!item?.lockId?.S || !item.holder?.S) return undefined;
  return {
    lockId: item.lockId.S,
    holder: item.holder.S,
    release: item.release?.S ?? "(unknown)",
    acquiredAt: Number(item.acquiredAt?.N ?? 0),
  };
}

/** Takes the lock if it is free or already ours. Returns false when another execution holds it. */
export async function tryAcquireLock(tableName: string, lockId: string, holder: string, release: string): Promise<boolean> {
  return conditionalWrite(() =>
    dynamodb.send(
      new PutItemCommand({
        TableName: tableName,
        Item: toItem({ lockId, holder, release, acquiredAt: nowSeconds() }),
        ConditionExpression: "attribute_not_exists(lockId) OR holder = :me",
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

export async function readLock(tableName: string, lockId: string): Promise<LockItem | undefined> {
  const result = await dynamodb.send(
    new GetItemCommand({ TableName: tableName, Key: { lockId: { S: lockId } }, ConsistentRead: true }),
  );
  return fromItem(result.Item);
}

/** Deletes the lock only if `holder` holds it: false when it is already gone or someone else's. */
export async function releaseLock(tableName: string, lockId: string, holder: string): Promise<boolean> {
  return conditionalWrite(() =>
    dynamodb.send(
      new DeleteItemCommand({
        TableName: tableName,
        Key: { lockId: { S: lockId } },
        ConditionExpression: "holder = :me",
        ExpressionAttributeValues: { ":me": { S: holder } },
      }),
    ),
  );
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
export async function assertLockHeld(settings: EnvironmentSettings, executionId: string): Promise<void> {
  const lock = await readLock(settings.lockTableName, lockIdFor(settings));
  if (lock?.holder !== executionId) {
    throw new LockLostError(
      `the deploy lock of ${settings.app}/${settings.environment} is ${lock ? `held by ${lock.holder} (release ${lock.release})` : "free"}, not by this execution ${executionId}`,
    );
  }
}
