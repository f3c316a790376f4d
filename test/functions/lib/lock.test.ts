import "aws-sdk-client-mock-vitest/extend";
import { createHash } from "node:crypto";
import { ConditionalCheckFailedException, DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { DescribeExecutionCommand, ExecutionDoesNotExist, SFNClient } from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import {
  assertLockHeld,
  claimDelivery,
  cutoverActionUpdate,
  deliveryIdentity,
  isExecutionRunning,
  readLock,
  readLockRecord,
  releaseLockForWaiters,
  requestCutoverAction,
  takeOverLock,
} from "../../../functions/lib/lock.js";
import { controlSettings, executionArn, LOCK_TABLE } from "../controlFixtures.js";

/** functions/lib/lock.ts against mocked DynamoDB and Step Functions: the requests it sends and how it reads the answers. */
const dynamoMock = mockClient(DynamoDBClient);
const sfnMock = mockClient(SFNClient);
const ME = executionArn("exec-me");
const OLD = executionArn("exec-old");
const conditionFailed = () => new ConditionalCheckFailedException({ message: "The conditional request failed", $metadata: {} });

beforeEach(() => {
  dynamoMock.reset();
  sfnMock.reset();
});

describe("takeOverLock", () => {
  it("moves the lock from the previous holder to this one, with its release and the time, only while the previous one holds it", async () => {
    dynamoMock.on(UpdateItemCommand).resolves({});
    expect(await takeOverLock(LOCK_TABLE, "shop#dev01", OLD, ME, "v3")).toBe(true);
    const input = dynamoMock.commandCalls(UpdateItemCommand)[0].args[0].input;
    expect(input).toMatchObject({
      TableName: LOCK_TABLE,
      Key: { lockId: { S: "shop#dev01" } },
      UpdateExpression: "SET holder = :me, #release = :release, acquiredAt = :now",
      ConditionExpression: "holder = :previous",
      ExpressionAttributeNames: { "#release": "release" },
      ExpressionAttributeValues: { ":me": { S: ME }, ":release": { S: "v3" }, ":previous": { S: OLD } },
    });
    expect(Number(input.ExpressionAttributeValues?.[":now"].N)).toBeGreaterThan(1_700_000_000);
  });

  it("is false when another deploy changed the lock first", async () => {
    dynamoMock.on(UpdateItemCommand).rejects(conditionFailed());
    expect(await takeOverLock(LOCK_TABLE, "shop#dev01", OLD, ME, "v3")).toBe(false);
  });
});

describe("isExecutionRunning", () => {
  it("is true only for RUNNING; an execution that does not exist is not running", async () => {
    sfnMock.on(DescribeExecutionCommand, { executionArn: ME }).resolves({ status: "RUNNING" } as never);
    sfnMock.on(DescribeExecutionCommand, { executionArn: OLD }).resolves({ status: "ABORTED" } as never);
    expect(await isExecutionRunning(ME)).toBe(true);
    expect(await isExecutionRunning(OLD)).toBe(false);
    sfnMock.on(DescribeExecutionCommand).rejects(new ExecutionDoesNotExist({ message: "Execution Does Not Exist", $metadata: {} }));
    expect(await isExecutionRunning(ME)).toBe(false);
  });

  it("throws any other error (a throttled read must not make a live holder look dead)", async () => {
    sfnMock.on(DescribeExecutionCommand).rejects(Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" }));
    await expect(isExecutionRunning(ME)).rejects.toThrow("Rate exceeded");
  });
});

describe("reading the lock item", () => {
  it("a held lock with every field; without holder or lockId it is free; missing fields read as unknown and 0", async () => {
    dynamoMock
      .on(GetItemCommand)
      .resolvesOnce({ Item: { lockId: { S: "shop#dev01" }, holder: { S: ME }, release: { S: "v2" }, acquiredAt: { N: "1700000000" } } })
      .resolvesOnce({ Item: { lockId: { S: "shop#dev01" }, holder: { S: ME } } })
      .resolvesOnce({ Item: { lockId: { S: "shop#dev01" }, releasedBy: { S: ME } } })
      .resolvesOnce({ Item: { holder: { S: ME } } });
    expect(await readLock(LOCK_TABLE, "shop#dev01")).toEqual({ lockId: "shop#dev01", holder: ME, release: "v2", acquiredAt: 1_700_000_000 });
    expect(await readLock(LOCK_TABLE, "shop#dev01")).toMatchObject({ holder: ME, release: "(unknown)", acquiredAt: 0 });
    expect(await readLock(LOCK_TABLE, "shop#dev01")).toBeUndefined();
    expect(await readLock(LOCK_TABLE, "shop#dev01")).toBeUndefined();
    expect(dynamoMock).toHaveReceivedCommandWith(GetItemCommand, { TableName: LOCK_TABLE, Key: { lockId: { S: "shop#dev01" } }, ConsistentRead: true });
  });

  it("an operator's request with no who or when reads as unknown at 0", async () => {
    dynamoMock.on(GetItemCommand).resolves({ Item: { lockId: { S: "shop#dev01" }, holder: { S: ME }, approvedFor: { S: ME } } });
    expect((await readLock(LOCK_TABLE, "shop#dev01"))?.approval).toEqual({ by: "(unknown)", at: 0 });
  });

  it("the waiters: only `waiter:` attributes holding a string, ordered by execution", async () => {
    dynamoMock.on(GetItemCommand).resolves({
      Item: {
        lockId: { S: "shop#dev01" },
        holder: { S: ME },
        [`waiter:${executionArn("exec-b")}`]: { S: "token-b" },
        [`waiter:${executionArn("exec-a")}`]: { S: "token-a" },
        [`waiter:${executionArn("exec-n")}`]: { N: "1" },
        "other:x": { S: "not a waiter" },
      },
    });
    expect((await readLockRecord(LOCK_TABLE, "shop#dev01"))?.waiters).toEqual([
      { execution: executionArn("exec-a"), taskToken: "token-a" },
      { execution: executionArn("exec-b"), taskToken: "token-b" },
    ]);
  });
});

describe("releaseLockForWaiters", () => {
  it("released: the waiters read in the releasing write (ALL_NEW)", async () => {
    dynamoMock.on(UpdateItemCommand).resolves({ Attributes: { lockId: { S: "shop#dev01" }, [`waiter:${OLD}`]: { S: "token-old" } } });
    expect(await releaseLockForWaiters(LOCK_TABLE, "shop#dev01", ME)).toEqual({ released: true, waiters: [{ execution: OLD, taskToken: "token-old" }] });
    expect(dynamoMock).toHaveReceivedCommandWith(UpdateItemCommand, { ConditionExpression: "holder = :me", ReturnValues: "ALL_NEW" });
  });

  it("not ours to release: no waiters", async () => {
    dynamoMock.on(UpdateItemCommand).rejects(conditionFailed());
    expect(await releaseLockForWaiters(LOCK_TABLE, "shop#dev01", ME)).toEqual({ released: false, waiters: [] });
  });
});

describe("claimDelivery", () => {
  const object = { bucket: "shop-artifacts", key: "releases/v2.tgz", versionId: "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY" };

  it("keys the claim by the SHA-256 (hex) of the object's identity, under the environment's lock id", async () => {
    dynamoMock.on(PutItemCommand).resolves({});
    const claim = await claimDelivery(controlSettings(), object, ME);
    expect(claim).toMatchObject({ ours: true, execution: ME });
    const identity = "s3://shop-artifacts/releases/v2.tgz (version 3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY)";
    const key = dynamoMock.commandCalls(PutItemCommand)[0].args[0].input.Item?.lockId.S;
    expect(key).toBe(`shop#dev01#delivery#${createHash("sha256").update(identity).digest("hex")}`);
    expect(key).toMatch(/#delivery#[0-9a-f]{64}$/);
  });

  it("claimed before by another execution: names it; an item without its fields reads as unknown at 0", async () => {
    dynamoMock.on(PutItemCommand).rejects(conditionFailed());
    dynamoMock
      .on(GetItemCommand)
      .resolvesOnce({ Item: { deliveredTo: { S: OLD }, claimedAt: { N: "1700000000" } } })
      .resolvesOnce({})
      .resolvesOnce({ Item: { lockId: { S: "shop#dev01#delivery#edited-by-hand" } } });
    expect(await claimDelivery(controlSettings(), object, ME)).toEqual({ ours: false, execution: OLD, claimedAt: 1_700_000_000 });
    // Gone (expired) between the write and the read, and an item someone edited by hand.
    expect(await claimDelivery(controlSettings(), object, ME)).toEqual({ ours: false, execution: "(unknown)", claimedAt: 0 });
    expect(await claimDelivery(controlSettings(), object, ME)).toEqual({ ours: false, execution: "(unknown)", claimedAt: 0 });
  });
});

describe("assertLockHeld", () => {
  it("returns the lock while this execution holds it, and otherwise throws LockLost naming the holder, or free", async () => {
    const held = { Item: { lockId: { S: "shop#dev01" }, holder: { S: ME }, release: { S: "v2" }, acquiredAt: { N: "1" } } };
    const other = { Item: { lockId: { S: "shop#dev01" }, holder: { S: OLD }, release: { S: "v1" }, acquiredAt: { N: "1" } } };
    dynamoMock.on(GetItemCommand).resolvesOnce(held).resolvesOnce(other).resolvesOnce({});
    expect(await assertLockHeld(controlSettings(), ME)).toMatchObject({ holder: ME, release: "v2" });
    await expect(assertLockHeld(controlSettings(), ME)).rejects.toMatchObject({
      name: "LockLost",
      message: `the deploy lock of shop/dev01 is held by ${OLD} (release v1), not by this execution ${ME}`,
    });
    await expect(assertLockHeld(controlSettings(), ME)).rejects.toMatchObject({ name: "LockLost", message: `the deploy lock of shop/dev01 is free, not by this execution ${ME}` });
  });
});

describe("an operator's cutover action", () => {
  it("is recorded for the holding execution, by whom and when, only while it holds the lock", () => {
    expect(cutoverActionUpdate(controlSettings(), ME, "approve", "alice", 1_700_000_000)).toEqual({
      TableName: LOCK_TABLE,
      Key: { lockId: { S: "shop#dev01" } },
      UpdateExpression: "SET approvedFor = :me, approvedBy = :by, approvedAt = :now",
      ConditionExpression: "holder = :me",
      ExpressionAttributeValues: { ":me": { S: ME }, ":by": { S: "alice" }, ":now": { N: "1700000000" } },
    });
    expect(cutoverActionUpdate(controlSettings(), ME, "rollback", "bob", 5).UpdateExpression).toBe(
      "SET rollbackRequestedFor = :me, rollbackRequestedBy = :by, rollbackRequestedAt = :now",
    );
  });

  it("requestCutoverAction: true when written, false when the execution does not hold the lock", async () => {
    dynamoMock.on(UpdateItemCommand).resolvesOnce({}).rejectsOnce(conditionFailed());
    expect(await requestCutoverAction(controlSettings(), ME, "approve", "alice")).toBe(true);
    expect(await requestCutoverAction(controlSettings(), ME, "approve", "alice")).toBe(false);
    expect(dynamoMock).toHaveReceivedCommandWith(UpdateItemCommand, { UpdateExpression: "SET approvedFor = :me, approvedBy = :by, approvedAt = :now" });
  });
});

describe("deliveryIdentity", () => {
  it("bucket and key with the version id, or, without versioning, the sequencer and ETag (- when missing)", () => {
    expect(deliveryIdentity({ bucket: "b", key: "releases/v2.tgz", versionId: "V1" })).toBe("s3://b/releases/v2.tgz (version V1)");
    expect(deliveryIdentity({ bucket: "b", key: "releases/v2.tgz", sequencer: "0055AED6DCD90281E5", etag: "d41d8cd9" })).toBe(
      "s3://b/releases/v2.tgz (sequencer 0055AED6DCD90281E5 etag d41d8cd9)",
    );
    expect(deliveryIdentity({ bucket: "b", key: "k.tgz" })).toBe("s3://b/k.tgz (sequencer - etag -)");
  });

  it("a claim writes the identity, the time and the TTL a week later, conditional on no earlier claim by another execution", async () => {
    dynamoMock.on(PutItemCommand).resolves({});
    await claimDelivery(controlSettings(), { bucket: "b", key: "k.tgz", versionId: "V1" }, ME);
    const input = dynamoMock.commandCalls(PutItemCommand)[0].args[0].input;
    expect(input.ConditionExpression).toBe("attribute_not_exists(lockId) OR deliveredTo = :me");
    expect(input.ExpressionAttributeValues).toEqual({ ":me": { S: ME } });
    expect(input.Item?.object).toEqual({ S: "s3://b/k.tgz (version V1)" });
    expect(input.Item?.deliveredTo).toEqual({ S: ME });
    expect(Number(input.Item?.expiresAt.N) - Number(input.Item?.claimedAt.N)).toBe(7 * 24 * 3600);
  });
});
