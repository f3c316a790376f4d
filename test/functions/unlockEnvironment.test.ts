import "aws-sdk-client-mock-vitest/extend";
import { ConditionalCheckFailedException, DynamoDBClient, GetItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { resetClock, setClock } from "../../functions/lib/clock.js";
import type { LockResult } from "../../functions/lib/contract.js";
import { ERROR } from "../../functions/lib/names.js";
import { unlockEnvironment } from "../../functions/unlockEnvironment.js";
import { controlState, executionArn, LOCK_TABLE, MY_EXECUTION } from "./controlFixtures.js";

const dynamoMock = mockClient(DynamoDBClient);

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
