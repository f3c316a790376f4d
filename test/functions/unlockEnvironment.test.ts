import "aws-sdk-client-mock-vitest/extend";
import { ConditionalCheckFailedException, DynamoDBClient, GetItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { SendTaskSuccessCommand, SFNClient, TaskDoesNotExist, TaskTimedOut } from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { resetClock, setClock } from "../../functions/lib/clock.js";
import type { LockResult } from "../../functions/lib/contract.js";
import { ERROR } from "../../functions/lib/names.js";
import { unlockEnvironment } from "../../functions/unlockEnvironment.js";
import { controlState, executionArn, LOCK_TABLE, MY_EXECUTION } from "./controlFixtures.js";

const dynamoMock = mockClient(DynamoDBClient);
const sfnMock = mockClient(SFNClient);

function conditionFailed() {
  return new ConditionalCheckFailedException({ message: "The conditional request failed", $metadata: {} });
}

/** This execution took the lock in Lock. */
const acquired: LockResult = { status: "ready", nextPollSeconds: 0, message: "lock acquired for release v2" };
const holding = () => controlState({ lock: acquired });

function givenLockItem(item: Record<string, { S: string } | { N: string }> | undefined) {
  dynamoMock.on(UpdateItemCommand).rejects(conditionFailed());
  dynamoMock.on(GetItemCommand).resolves({ Item: item && { lockId: { S: "shop#dev01" }, ...item } });
}

beforeEach(() => {
  dynamoMock.reset();
  sfnMock.reset();
  setClock(() => 1_750_000_000_000);
  return () => resetClock();
});

describe("unlockEnvironment", () => {
  it("releases the lock only where this execution holds it, and records that it did", async () => {
    // Prepare
    dynamoMock.on(UpdateItemCommand).resolves({});

    // Act
    const result = await unlockEnvironment(holding());

    // Assess
    expect(result).toEqual({ released: true, message: "released the deploy lock of shop/dev01" });
    expect(dynamoMock).toHaveReceivedCommandWith(UpdateItemCommand, {
      TableName: LOCK_TABLE,
      Key: { lockId: { S: "shop#dev01" } },
      UpdateExpression: "REMOVE holder, #release, acquiredAt SET releasedBy = :me, releasedAt = :now",
      ConditionExpression: "holder = :me",
      ExpressionAttributeValues: { ":me": { S: MY_EXECUTION }, ":now": { N: "1750000000" } },
    });
  });

  it("a retry after its own release went through (a crash, a lost answer) finds the lock released by itself: done, no error", async () => {
    givenLockItem({ releasedBy: { S: MY_EXECUTION }, releasedAt: { N: "1" } });
    const result = await unlockEnvironment(holding());
    expect(result).toEqual({ released: false, message: "the deploy lock of shop/dev01 is already released (by this execution, or by hand)" });
  });

  it.each([
    ["held by another execution", { holder: { S: executionArn("exec-other") }, release: { S: "v3" }, acquiredAt: { N: "1" } }, "is held by execution exec-other (release v3)"],
    ["released by another execution", { releasedBy: { S: executionArn("exec-other") }, releasedAt: { N: "1" } }, "is released by execution exec-other"],
  ])("a superseded execution (the lock %s) fails with LockLost instead of claiming success", async (_, item, words) => {
    givenLockItem(item);
    await expect(unlockEnvironment(holding())).rejects.toMatchObject({ name: ERROR.lockLost, message: expect.stringContaining(words) });
  });

  it("an execution that never got the lock (a failure before or while waiting for it) has nothing to release", async () => {
    givenLockItem({ holder: { S: executionArn("exec-other") }, release: { S: "v3" }, acquiredAt: { N: "1" } });
    const result = await unlockEnvironment(controlState({ lock: { status: "waiting", nextPollSeconds: 30, message: "waiting" } }));
    expect(result).toEqual({
      released: false,
      message: "this execution never held the deploy lock of shop/dev01 (it is held by execution exec-other (release v3)): nothing to release",
    });
  });

  it("an execution that never reached Lock, with no lock record at all, has nothing to release and says the lock is free", async () => {
    // Prepare: no $.lock in the state, no item in the table.
    givenLockItem(undefined);
    const state = controlState();

    // Act
    const result = await unlockEnvironment(state);

    // Assess
    expect(result).toEqual({ released: false, message: "this execution never held the deploy lock of shop/dev01 (it is free): nothing to release" });
  });

  it("a lock record deleted by hand while this execution held the lock counts as released", async () => {
    // Prepare
    givenLockItem(undefined);

    // Act
    const result = await unlockEnvironment(holding());

    // Assess
    expect(result).toEqual({ released: false, message: "the deploy lock of shop/dev01 is already released (by this execution, or by hand)" });
  });

  it("LockLost names the other holder's release as ? when its record has none", async () => {
    // Prepare
    givenLockItem({ holder: { S: executionArn("exec-other") }, acquiredAt: { N: "1" } });

    // Act
    const attempt = unlockEnvironment(holding());

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: ERROR.lockLost, message: expect.stringContaining("is held by execution exec-other (release ?), not by this execution") });
  });
});

describe("unlockEnvironment hands the lock over", () => {
  const W1 = executionArn("exec-waiter-1");
  const W2 = executionArn("exec-waiter-2");
  /** The released item as UpdateItem's ALL_NEW returns it: two waiters registered while this execution held it. */
  const releasedWithWaiters = {
    Attributes: {
      lockId: { S: "shop#dev01" },
      releasedBy: { S: MY_EXECUTION },
      releasedAt: { N: "1750000000" },
      [`waiter:${W1}`]: { S: "token-1" },
      [`waiter:${W2}`]: { S: "token-2" },
      // Its own token from an earlier wait of its own: long over, never sent.
      [`waiter:${MY_EXECUTION}`]: { S: "token-mine" },
    },
  };

  it("completes every waiter's Wait for lock task, after the release, read in the same write", async () => {
    // Prepare
    dynamoMock.on(UpdateItemCommand).resolves(releasedWithWaiters);
    sfnMock.on(SendTaskSuccessCommand).resolves({});

    // Act
    const result = await unlockEnvironment(holding());

    // Assess
    expect(result).toEqual({ released: true, message: "released the deploy lock of shop/dev01", handedOverTo: [W1, W2] });
    expect(dynamoMock).toHaveReceivedCommandWith(UpdateItemCommand, { ReturnValues: "ALL_NEW", ConditionExpression: "holder = :me" });
    expect(sfnMock).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 2);
    const output = JSON.stringify({ unlockedBy: MY_EXECUTION, lockId: "shop#dev01" });
    expect(sfnMock).toHaveReceivedNthCommandWith(SendTaskSuccessCommand, 1, { taskToken: "token-1", output });
    expect(sfnMock).toHaveReceivedNthCommandWith(SendTaskSuccessCommand, 2, { taskToken: "token-2", output });
  });

  it("a waiter whose task is over (timed out, told before, execution gone) is skipped, not an error", async () => {
    dynamoMock.on(UpdateItemCommand).resolves(releasedWithWaiters);
    sfnMock
      .on(SendTaskSuccessCommand, { taskToken: "token-1" })
      .rejects(new TaskTimedOut({ message: "Task Timed Out: 'Provided task does not exist anymore'", $metadata: {} }))
      .on(SendTaskSuccessCommand, { taskToken: "token-2" })
      .rejects(new TaskDoesNotExist({ message: "Task Does Not Exist", $metadata: {} }));
    const result = await unlockEnvironment(holding());
    expect(result).toEqual({ released: true, message: "released the deploy lock of shop/dev01" });
  });

  it("throttling is not swallowed: the task fails, Step Functions retries the unlock, and the retry tells the waiters again", async () => {
    // First try: released, then SendTaskSuccess throttled.
    dynamoMock.on(UpdateItemCommand).resolves(releasedWithWaiters);
    sfnMock.on(SendTaskSuccessCommand).rejects(Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException", $metadata: { httpStatusCode: 400 } }));
    await expect(unlockEnvironment(holding())).rejects.toMatchObject({ name: "ThrottlingException" });

    // The retry: the release no longer applies (released by this execution), the waiters are still on the item.
    dynamoMock.reset();
    sfnMock.reset();
    dynamoMock.on(UpdateItemCommand).rejects(conditionFailed());
    dynamoMock.on(GetItemCommand).resolves({ Item: releasedWithWaiters.Attributes });
    sfnMock.on(SendTaskSuccessCommand).resolves({});
    const retried = await unlockEnvironment(holding());
    expect(retried).toEqual({
      released: false,
      message: "the deploy lock of shop/dev01 is already released (by this execution, or by hand)",
      handedOverTo: [W1, W2],
    });
  });

  it("an execution that never held the lock tells nobody", async () => {
    givenLockItem({ holder: { S: W1 }, release: { S: "v3" }, acquiredAt: { N: "1" }, [`waiter:${MY_EXECUTION}`]: { S: "token-mine" } });
    const result = await unlockEnvironment(controlState({ lock: { status: "waiting", nextPollSeconds: 300, message: "waiting" } }));
    expect(result.released).toBe(false);
    expect(sfnMock).not.toHaveReceivedCommand(SendTaskSuccessCommand);
  });
});
