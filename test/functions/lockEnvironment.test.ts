import "aws-sdk-client-mock-vitest/extend";
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { DescribeExecutionCommand, ExecutionDoesNotExist, SendTaskSuccessCommand, SFNClient, TaskTimedOut } from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { resetClock, setClock } from "../../functions/lib/clock.js";
import type { DeployPlan, DeployState, HandoverRequest } from "../../functions/lib/contract.js";
import { ERROR } from "../../functions/lib/names.js";
import { assertLockHeld } from "../../functions/lib/lock.js";
import { awaitLockHandover, LOCK_HANDOVER_TIMEOUT_SECONDS, lockEnvironment, lockOrAwait } from "../../functions/lockEnvironment.js";
import { controlPlan, controlSettings, controlState, executionArn, LOCK_TABLE, MY_EXECUTION } from "./controlFixtures.js";

const dynamoMock = mockClient(DynamoDBClient);
const sfnMock = mockClient(SFNClient);
const NOW_SECONDS = 1_750_000_000;
const OTHER_EXECUTION = executionArn("exec-other");
const LOCK_KEY = { lockId: { S: "shop#dev01" } };
/** The image is known: Lock environment (after the bake). Without it the same function is Claim release. */
const IMAGE = { imageId: "ami-0123456789abcdef0", baked: true };
/** Lock environment's state, waiting since an earlier attempt when `deadline` is given. */
function locking(plan: Partial<DeployPlan> = {}, deadline?: number): DeployState {
  return controlState({
    plan: controlPlan(plan),
    image: IMAGE,
    ...(deadline !== undefined && { lock: { status: "waiting", nextPollSeconds: 30, message: "waiting", deadline } }),
  });
}

function conditionFailed() {
  return new ConditionalCheckFailedException({ message: "The conditional request failed", $metadata: {} });
}

function lockItem(holder: string, release: string) {
  return { Item: { lockId: { S: "shop#dev01" }, holder: { S: holder }, release: { S: release }, acquiredAt: { N: String(NOW_SECONDS - 600) } } };
}

beforeEach(() => {
  dynamoMock.reset();
  sfnMock.reset();
  setClock(() => NOW_SECONDS * 1000);
});

afterEach(() => resetClock());

describe("lockEnvironment", () => {
  it("takes a free lock with a conditional write", async () => {
    // Prepare
    dynamoMock.on(PutItemCommand).resolves({});

    // Act
    const result = await lockEnvironment(locking());

    // Assess
    expect(result).toEqual({ status: "ready", nextPollSeconds: 0, message: "lock acquired for release v2" });
    expect(dynamoMock).toHaveReceivedCommandWith(PutItemCommand, {
      TableName: LOCK_TABLE,
      Item: { ...LOCK_KEY, holder: { S: MY_EXECUTION }, release: { S: "v2" }, acquiredAt: { N: String(NOW_SECONDS) } },
      ConditionExpression: "attribute_not_exists(holder) OR holder = :me",
      ExpressionAttributeValues: { ":me": { S: MY_EXECUTION } },
    });
  });

  it("is a no-op duplicate, without taking the lock, when the release is already live", async () => {
    // Prepare
    const plan = controlPlan({ liveGroups: [{ name: "shop-dev01-v2-aaaaaaaa", min: 1, desired: 2, max: 4, release: "v2" }] });

    // Act
    const result = await lockEnvironment(controlState({ plan }));

    // Assess
    expect(result).toEqual({ status: "duplicate", nextPollSeconds: 0, message: "release v2 is already live in group shop-dev01-v2-aaaaaaaa; nothing to deploy" });
    expect(dynamoMock).not.toHaveReceivedAnyCommand();
  });

  it("is a duplicate for a given image of the live release too", async () => {
    // Prepare
    const plan = controlPlan({
      artifact: undefined,
      imageId: "ami-0123456789abcdef0",
      liveGroups: [{ name: "shop-dev01-v2-aaaaaaaa", min: 1, desired: 2, max: 4, release: "v2" }],
    });

    // Act
    const result = await lockEnvironment(controlState({ plan }));

    // Assess
    expect(result.status).toBe("duplicate");
    expect(dynamoMock).not.toHaveReceivedAnyCommand();
  });

  it("waits while a running execution deploys another release", async () => {
    // Prepare
    dynamoMock.on(PutItemCommand).rejects(conditionFailed());
    dynamoMock.on(GetItemCommand).resolves(lockItem(OTHER_EXECUTION, "v1"));
    sfnMock.on(DescribeExecutionCommand).resolves({ status: "RUNNING" });

    // Act
    const result = await lockEnvironment(locking({}, NOW_SECONDS + 600));

    // Assess
    expect(result).toEqual({
      status: "waiting",
      nextPollSeconds: LOCK_HANDOVER_TIMEOUT_SECONDS,
      message: "waiting for deploy of v1 (execution exec-other) to finish",
      deadline: NOW_SECONDS + 600,
      holder: OTHER_EXECUTION,
    });
    expect(sfnMock).toHaveReceivedCommandWith(DescribeExecutionCommand, { executionArn: OTHER_EXECUTION });
    expect(dynamoMock).toHaveReceivedCommandWith(GetItemCommand, { TableName: LOCK_TABLE, Key: LOCK_KEY, ConsistentRead: true });
    expect(dynamoMock).not.toHaveReceivedCommand(UpdateItemCommand);
  });

  it("counts the wait from now when an earlier attempt's state carries no deadline (a state written by hand, or before deadlines)", async () => {
    // Prepare
    dynamoMock.on(PutItemCommand).rejects(conditionFailed());
    dynamoMock.on(GetItemCommand).resolves(lockItem(OTHER_EXECUTION, "v1"));
    sfnMock.on(DescribeExecutionCommand).resolves({ status: "RUNNING" });
    const state = controlState({ plan: controlPlan(), image: IMAGE, lock: { status: "waiting", nextPollSeconds: 30, message: "waiting" } });

    // Act
    const result = await lockEnvironment(state);

    // Assess
    expect(result).toMatchObject({ status: "waiting", deadline: NOW_SECONDS + 3600, nextPollSeconds: LOCK_HANDOVER_TIMEOUT_SECONDS });
  });

  it("polls no later than the deadline", async () => {
    // Prepare
    dynamoMock.on(PutItemCommand).rejects(conditionFailed());
    dynamoMock.on(GetItemCommand).resolves(lockItem(OTHER_EXECUTION, "v1"));
    sfnMock.on(DescribeExecutionCommand).resolves({ status: "RUNNING" });

    // Act
    const result = await lockEnvironment(locking({}, NOW_SECONDS + 7));

    // Assess
    expect(result.status).toBe("waiting");
    expect(result.nextPollSeconds).toBe(7);
  });

  it("fails once the lock deadline has passed, naming the holder", async () => {
    // Prepare
    dynamoMock.on(PutItemCommand).rejects(conditionFailed());
    dynamoMock.on(GetItemCommand).resolves(lockItem(OTHER_EXECUTION, "v1"));
    sfnMock.on(DescribeExecutionCommand).resolves({ status: "RUNNING" });

    // Act
    const result = await lockEnvironment(locking({}, NOW_SECONDS - 1));

    // Assess
    expect(result.status).toBe("failed");
    expect(result.message).toContain("the deploy of v1 (execution exec-other) still holds it");
  });

  it("is a no-op duplicate when a running execution is deploying the same release", async () => {
    // Prepare
    dynamoMock.on(PutItemCommand).rejects(conditionFailed());
    dynamoMock.on(GetItemCommand).resolves(lockItem(OTHER_EXECUTION, "v2"));
    sfnMock.on(DescribeExecutionCommand).resolves({ status: "RUNNING" });

    // Act
    const result = await lockEnvironment(locking());

    // Assess
    expect(result).toEqual({ status: "duplicate", nextPollSeconds: 0, message: "release v2 is already being deployed by execution exec-other; nothing to do" });
    expect(dynamoMock).not.toHaveReceivedCommand(UpdateItemCommand);
  });

  it.each([
    { holderState: "finished (FAILED)", describe: (m: typeof sfnMock) => m.on(DescribeExecutionCommand).resolves({ status: "FAILED" }) },
    { holderState: "gone", describe: (m: typeof sfnMock) => m.on(DescribeExecutionCommand).rejects(new ExecutionDoesNotExist({ message: "gone", $metadata: {} })) },
  ])("takes over a lock whose holder is $holderState", async ({ describe: describeHolder }) => {
    // Prepare
    dynamoMock.on(PutItemCommand).rejects(conditionFailed());
    dynamoMock.on(GetItemCommand).resolves(lockItem(OTHER_EXECUTION, "v1"));
    dynamoMock.on(UpdateItemCommand).resolves({});
    describeHolder(sfnMock);

    // Act
    const result = await lockEnvironment(locking());

    // Assess
    expect(result.status).toBe("ready");
    expect(result.message).toContain("took over from execution exec-other (release v1)");
    expect(dynamoMock).toHaveReceivedCommandWith(UpdateItemCommand, {
      TableName: LOCK_TABLE,
      Key: LOCK_KEY,
      ConditionExpression: "holder = :previous",
      ExpressionAttributeValues: { ":me": { S: MY_EXECUTION }, ":release": { S: "v2" }, ":now": { N: String(NOW_SECONDS) }, ":previous": { S: OTHER_EXECUTION } },
    });
  });

  it("looks again when another execution took a stale lock over first", async () => {
    // Prepare: both race for the stale lock; the other one wins and is running
    const third = executionArn("exec-third");
    dynamoMock.on(PutItemCommand).rejects(conditionFailed());
    dynamoMock.on(GetItemCommand).resolvesOnce(lockItem(OTHER_EXECUTION, "v1")).resolves(lockItem(third, "v3"));
    dynamoMock.on(UpdateItemCommand).rejects(conditionFailed());
    sfnMock.on(DescribeExecutionCommand, { executionArn: OTHER_EXECUTION }).resolves({ status: "SUCCEEDED" });
    sfnMock.on(DescribeExecutionCommand, { executionArn: third }).resolves({ status: "RUNNING" });

    // Act
    const result = await lockEnvironment(locking());

    // Assess
    expect(result).toMatchObject({ status: "waiting", message: "waiting for deploy of v3 (execution exec-third) to finish" });
  });

  it("fails at the lock deadline itself, naming the holder and since when it holds the lock", async () => {
    // Prepare
    dynamoMock.on(PutItemCommand).rejects(conditionFailed());
    dynamoMock.on(GetItemCommand).resolves(lockItem(OTHER_EXECUTION, "v1"));
    sfnMock.on(DescribeExecutionCommand).resolves({ status: "RUNNING" });

    // Act
    const result = await lockEnvironment(locking({}, NOW_SECONDS));

    // Assess
    expect(result).toEqual({
      status: "failed",
      nextPollSeconds: 0,
      message: `gave up waiting for the lock: the deploy of v1 (execution exec-other) still holds it, since ${new Date((NOW_SECONDS - 600) * 1000).toISOString()}`,
    });
  });

  it("is ready when the lock it could not write turns out to be its own already", async () => {
    // Prepare: the conditional write fails, the read shows this execution as the holder.
    dynamoMock.on(PutItemCommand).rejects(conditionFailed());
    dynamoMock.on(GetItemCommand).resolves(lockItem(MY_EXECUTION, "v2"));

    // Act
    const result = await lockEnvironment(locking());

    // Assess
    expect(result).toEqual({ status: "ready", nextPollSeconds: 0, message: "lock acquired for release v2" });
    expect(sfnMock).not.toHaveReceivedCommand(DescribeExecutionCommand);
  });

  it("tries three times while the lock changes hands between its write and its read, then polls again in a second", async () => {
    // Prepare: every write is refused, every read finds no lock.
    dynamoMock.on(PutItemCommand).rejects(conditionFailed());
    dynamoMock.on(GetItemCommand).resolves({});

    // Act
    const result = await lockEnvironment(locking());

    // Assess
    expect(result).toEqual({ status: "waiting", nextPollSeconds: 1, message: "the lock changed hands while we tried to take it; trying again", deadline: NOW_SECONDS + 3600 });
    expect(dynamoMock).toHaveReceivedCommandTimes(PutItemCommand, 3);
  });

  it("counts the wait from its first attempt (the end of the bake), not from the execution's start, and carries it", async () => {
    // Prepare: the execution started two hours ago (a long bake); Claim release left `claimed` at $.lock.
    dynamoMock.on(PutItemCommand).rejects(conditionFailed());
    dynamoMock.on(GetItemCommand).resolves(lockItem(OTHER_EXECUTION, "v1"));
    sfnMock.on(DescribeExecutionCommand).resolves({ status: "RUNNING" });
    const state = controlState({
      plan: controlPlan(),
      image: IMAGE,
      execution: { id: MY_EXECUTION, name: "exec-mine", startTime: new Date((NOW_SECONDS - 7200) * 1000).toISOString() },
      lock: { status: "claimed", nextPollSeconds: 0, message: "release v2 is no duplicate: baking without the lock" },
    });

    // Act: the first attempt, then one 20 minutes later with the first's result at $.lock.
    const first = await lockEnvironment(state);
    setClock(() => (NOW_SECONDS + 1200) * 1000);
    const later = await lockEnvironment({ ...state, lock: first });

    // Assess
    expect(first).toMatchObject({ status: "waiting", deadline: NOW_SECONDS + 3600, nextPollSeconds: LOCK_HANDOVER_TIMEOUT_SECONDS });
    expect(later).toMatchObject({ status: "waiting", deadline: NOW_SECONDS + 3600 });
  });

  it("refuses a state without $.plan, naming Prepare", async () => {
    // Act
    const attempt = lockEnvironment(controlState());

    // Assess
    await expect(attempt).rejects.toThrow("lockEnvironment needs $.plan (the result of Prepare)");
  });

  it("propagates throttling for the handler to classify", async () => {
    // Prepare
    dynamoMock.on(PutItemCommand).rejects(Object.assign(new Error("slow down"), { name: "ProvisionedThroughputExceededException" }));

    // Act
    const error = await lockEnvironment(locking()).catch((e: unknown) => e);

    // Assess
    expect((error as Error).name).toBe("ProvisionedThroughputExceededException");
  });
});

describe("lockEnvironment as Claim release (before the bake: no image yet)", () => {
  it("claims a release nobody deploys without taking the lock: bake next", async () => {
    // Prepare
    dynamoMock.on(GetItemCommand).resolves({});

    // Act
    const result = await lockEnvironment(controlState({ plan: controlPlan() }));

    // Assess
    expect(result).toEqual({ status: "claimed", nextPollSeconds: 0, message: "release v2 is no duplicate: baking without the lock" });
    expect(dynamoMock).not.toHaveReceivedCommand(PutItemCommand);
    expect(dynamoMock).not.toHaveReceivedCommand(UpdateItemCommand);
  });

  it("claims, and does not wait, while a running execution deploys another release: it bakes meanwhile", async () => {
    // Prepare
    dynamoMock.on(GetItemCommand).resolves(lockItem(OTHER_EXECUTION, "v1"));
    sfnMock.on(DescribeExecutionCommand).resolves({ status: "RUNNING" });

    // Act
    const result = await lockEnvironment(controlState({ plan: controlPlan() }));

    // Assess
    expect(result.status).toBe("claimed");
    expect(dynamoMock).not.toHaveReceivedCommand(PutItemCommand);
  });

  it("is a no-op duplicate, before any bake, when a running execution holds the lock for the same release", async () => {
    // Prepare
    dynamoMock.on(GetItemCommand).resolves(lockItem(OTHER_EXECUTION, "v2"));
    sfnMock.on(DescribeExecutionCommand).resolves({ status: "RUNNING" });

    // Act
    const result = await lockEnvironment(controlState({ plan: controlPlan() }));

    // Assess
    expect(result).toEqual({ status: "duplicate", nextPollSeconds: 0, message: "release v2 is already being deployed by execution exec-other; nothing to do" });
  });

  it("claims, and is no duplicate of itself, when this very execution holds the lock for the release (a retried Claim)", async () => {
    // Prepare
    dynamoMock.on(GetItemCommand).resolves(lockItem(MY_EXECUTION, "v2"));
    sfnMock.on(DescribeExecutionCommand).resolves({ status: "RUNNING" });

    // Act
    const result = await lockEnvironment(controlState({ plan: controlPlan() }));

    // Assess
    expect(result.status).toBe("claimed");
  });

  it("claims a release whose earlier holder of the same release is no longer running", async () => {
    // Prepare
    dynamoMock.on(GetItemCommand).resolves(lockItem(OTHER_EXECUTION, "v2"));
    sfnMock.on(DescribeExecutionCommand).resolves({ status: "FAILED" });

    // Act
    const result = await lockEnvironment(controlState({ plan: controlPlan() }));

    // Assess
    expect(result.status).toBe("claimed");
  });

  it("is a no-op duplicate when the S3 object was delivered to another execution before, and never reads the lock", async () => {
    // Prepare
    const object = { bucket: "shop-artifacts", key: "releases/v2.tgz", versionId: "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY" };
    dynamoMock.on(PutItemCommand).rejects(conditionFailed());
    dynamoMock.on(GetItemCommand).resolves({ Item: { deliveredTo: { S: OTHER_EXECUTION }, claimedAt: { N: String(NOW_SECONDS - 60) } } });

    // Act
    const result = await lockEnvironment(controlState({ plan: controlPlan({ delivery: object }) }));

    // Assess
    expect(result.status).toBe("duplicate");
    expect(result.message).toContain("was already delivered to execution exec-other");
    expect(dynamoMock).toHaveReceivedCommandTimes(GetItemCommand, 1);
    expect(dynamoMock).not.toHaveReceivedCommandWith(GetItemCommand, { Key: LOCK_KEY });
  });
});

describe("assertLockHeld", () => {
  it("passes for the holder and throws LockLost for anyone else", async () => {
    // Prepare
    dynamoMock.on(GetItemCommand).resolves(lockItem(OTHER_EXECUTION, "v1"));

    // Act
    const mine = await assertLockHeld(controlSettings(), OTHER_EXECUTION).then(() => "held");
    const theirs = await assertLockHeld(controlSettings(), MY_EXECUTION).catch((e: unknown) => e);

    // Assess
    expect(mine).toBe("held");
    expect((theirs as Error).name).toBe(ERROR.lockLost);
    expect((theirs as Error).message).toContain(`held by ${OTHER_EXECUTION} (release v1)`);
  });
});

describe("awaitLockHandover (Wait for lock)", () => {
  const TOKEN = "AQCtoken-of-this-wait";
  const waiting = (holder?: string) => ({
    ...controlState({ plan: controlPlan(), image: IMAGE }),
    lock: { status: "waiting" as const, nextPollSeconds: 300, message: "waiting for deploy of v1", deadline: NOW_SECONDS + 3000, ...(holder && { holder }) },
    taskToken: TOKEN,
  });

  it("records its task token on the lock, only while the holder Lock saw still holds it, and leaves the task open", async () => {
    // Prepare
    dynamoMock.on(UpdateItemCommand).resolves({});

    // Act
    const result = await awaitLockHandover(waiting(OTHER_EXECUTION));

    // Assess
    expect(result).toEqual({ registered: true, message: "waiting for execution exec-other to hand the lock over at its unlock" });
    expect(dynamoMock).toHaveReceivedCommandWith(UpdateItemCommand, {
      TableName: LOCK_TABLE,
      Key: LOCK_KEY,
      UpdateExpression: "SET #waiter = :token",
      ConditionExpression: "holder = :holder",
      ExpressionAttributeNames: { "#waiter": `waiter:${MY_EXECUTION}` },
      ExpressionAttributeValues: { ":token": { S: TOKEN }, ":holder": { S: OTHER_EXECUTION } },
    });
    // The holder's unlock completes the task, not this function.
    expect(sfnMock).not.toHaveReceivedCommand(SendTaskSuccessCommand);
  });

  it("the race: the holder unlocked between Lock's look and the registration, so it completes its own task at once", async () => {
    // Prepare: the conditional write finds no holder (released) or another one.
    dynamoMock.on(UpdateItemCommand).rejects(conditionFailed());
    sfnMock.on(SendTaskSuccessCommand).resolves({});

    // Act
    const result = await awaitLockHandover(waiting(OTHER_EXECUTION));

    // Assess
    expect(result).toEqual({ registered: false, message: "execution exec-other no longer holds the lock: trying again at once" });
    expect(sfnMock).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
    expect(sfnMock).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: TOKEN, output: JSON.stringify({ unlockedBy: OTHER_EXECUTION, lockId: "shop#dev01" }) });
  });

  it("with no holder to wait for (the lock changed hands during Lock), goes on at once without writing", async () => {
    sfnMock.on(SendTaskSuccessCommand).resolves({});
    const result = await awaitLockHandover(waiting());
    expect(result.registered).toBe(false);
    expect(dynamoMock).not.toHaveReceivedCommand(UpdateItemCommand);
    expect(sfnMock).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: TOKEN });
  });

  it("with no lock in its payload at all (a definition that left $.lock out), tells its own task that nobody unlocked, and says so", async () => {
    // Prepare
    sfnMock.on(SendTaskSuccessCommand).resolves({});
    const { lock: _lock, ...withoutLock } = waiting();

    // Act
    const result = await awaitLockHandover(withoutLock as unknown as HandoverRequest);

    // Assess
    expect(result).toEqual({ registered: false, message: "no holder to wait for: trying again at once" });
    expect(sfnMock).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: TOKEN, output: JSON.stringify({ unlockedBy: "(none)", lockId: "shop#dev01" }) });
  });

  it("refuses a payload without the task token (a definition that forgot $$.Task.Token), before touching the lock", async () => {
    const { taskToken: _token, ...withoutToken } = waiting(OTHER_EXECUTION);
    await expect(awaitLockHandover({ ...withoutToken, taskToken: "" })).rejects.toThrow("Wait for lock needs taskToken ($$.Task.Token) in its payload");
    expect(dynamoMock).not.toHaveReceivedAnyCommand();
    expect(sfnMock).not.toHaveReceivedAnyCommand();
  });

  it("a task that is over already (a retried invocation after the first completed it) is no error", async () => {
    dynamoMock.on(UpdateItemCommand).rejects(conditionFailed());
    sfnMock.on(SendTaskSuccessCommand).rejects(new TaskTimedOut({ message: "Task Timed Out: 'Provided task does not exist anymore'", $metadata: {} }));
    const result = await awaitLockHandover(waiting(OTHER_EXECUTION));
    expect(result).toEqual({ registered: false, message: "execution exec-other no longer holds the lock: trying again at once (the task was over already)" });
  });

  it("the handler tells Wait for lock (a task token in the payload) from Claim and Lock", async () => {
    dynamoMock.on(UpdateItemCommand).resolves({});
    dynamoMock.on(PutItemCommand).resolves({});
    expect(await lockOrAwait(waiting(OTHER_EXECUTION))).toMatchObject({ registered: true });
    expect(await lockOrAwait(locking())).toMatchObject({ status: "ready" });
  });
});
