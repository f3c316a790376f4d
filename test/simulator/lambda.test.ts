/**
 * Simulated Lambda invocations (simulator/execution/runner.ts): each runs in its own sandbox on region time,
 * bounded by the function's configured timeout, and is frozen when it ends.
 */
import { DescribeAutoScalingGroupsCommand, UpdateAutoScalingGroupCommand } from "@aws-sdk/client-auto-scaling";
import { afterEach, describe, expect, it } from "vitest";
import { GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { autoScaling, dynamodb } from "../../functions/lib/clients.js";
import { LAMBDA_ERROR } from "../../functions/lib/names.js";
import { handler as unlockHandler } from "../../functions/unlockEnvironment.js";
import { DeployRunner, invokeWithTimeout } from "../../simulator/execution/runner.js";
import { LostResponse } from "../../simulator/region/index.js";
import { STAGE_FUNCTIONS } from "../../stacks/pipeline/tables.js";
import { loadDeployDefinition } from "../../stacks/stateMachineDefinition.js";
import { INSTANT_REGION, productWorld } from "../support/simulatedWorld.js";

let world: ReturnType<typeof productWorld> | undefined;
afterEach(() => {
  world?.close();
  world = undefined;
});

/** The parts of Lambda's context a middy handler reads besides the deadline. */
const context = { functionName: "f", functionVersion: "$LATEST", invokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:f", memoryLimitInMB: "256", awsRequestId: "r", logGroupName: "g", logStreamName: "s", callbackWaitsForEmptyEventLoop: true };

describe("Lambda timeouts", () => {
  it("an invocation still running at its timeout fails with Sandbox.Timedout at the deadline, as Lambda reports it, and its sandbox never acts again", async () => {
    // Prepare: the first call takes 100 s (a slow answer), far beyond a 5 s timeout.
    world = productWorld({ region: { ...INSTANT_REGION, apiLatencySeconds: 0.1 } });
    const { region } = world;
    region.faults.inject([{ operation: "AutoScaling:DescribeAutoScalingGroups", slowSeconds: 100 }]);
    const remaining: number[] = [];
    let continued = false;
    const start = region.now();
    // Act
    const invocation = invokeWithTimeout(region, {
      timeoutSeconds: 5,
      requestId: "req-1",
      run: async (lambda) => {
        remaining.push(lambda.getRemainingTimeInMillis());
        await autoScaling.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: "none" })).catch(() => undefined);
        remaining.push(lambda.getRemainingTimeInMillis());
        await autoScaling.send(new DescribeAutoScalingGroupsCommand({}));
        continued = true;
        await autoScaling.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: "none" })).catch(() => undefined);
      },
    });
    const [settled] = await region.scheduler.drive([invocation]);
    const endedAt = region.now();
    region.advance(300);
    // Assess
    expect(settled.status).toBe("rejected");
    const error = (settled as PromiseRejectedResult).reason as Error;
    expect(error.name).toBe(LAMBDA_ERROR.timedOut);
    expect(JSON.parse(error.message)).toEqual({ errorType: "Sandbox.Timedout", errorMessage: "RequestId: req-1 Error: Task timed out after 5.00 seconds" });
    expect(endedAt - start).toBe(5000);
    expect(remaining).toEqual([5000, 4900]);
    // Frozen: the slow answer arrives into nothing, and the code after it never runs.
    expect(continued).toBe(false);
    expect(region.apiCallCounts()).toEqual({ "AutoScaling:UpdateAutoScalingGroup": 1, "AutoScaling:DescribeAutoScalingGroups": 1 });
    expect(region.scheduler.parkedWakeUps).toBe(0);
  });

  it("the product's middy handler gives up 5 ms before the deadline with middy's TimeoutError, which is what Step Functions sees", async () => {
    // Prepare: unlockEnvironment (30 s) meets a DynamoDB answer that takes 100 s.
    world = productWorld();
    const { region } = world;
    region.faults.inject([{ operation: "DynamoDB:UpdateItem", slowSeconds: 100 }]);
    const start = region.now();
    // Act
    const invocation = invokeWithTimeout(region, {
      timeoutSeconds: STAGE_FUNCTIONS.unlockEnvironment.timeoutSeconds,
      requestId: "req-2",
      run: (lambda) => unlockHandler(world!.state(), { ...context, ...lambda } as never),
    });
    const [settled] = await region.scheduler.drive([invocation]);
    // Assess: @middy/core's timeoutEarlyInMillis (5 ms) beats Lambda's own timeout.
    expect(settled.status).toBe("rejected");
    expect((settled as PromiseRejectedResult).reason).toMatchObject({ name: "TimeoutError" });
    expect(region.now() - start).toBe(30_000 - 5);
  });

  it("the runner bounds each Task by its function's configured timeout (STAGE_FUNCTIONS), whatever the Task's own TimeoutSeconds; the timeout is retried", async () => {
    // Prepare: the lock function (30 s) meets a PutItem answer (taking the lock) that takes 100 s.
    world = productWorld({ region: {} });
    const { region, settings } = world;
    const runner = new DeployRunner({ region, settings, definition: await loadDeployDefinition("dev01") });
    await runner.preload();
    region.faults.inject([{ operation: "DynamoDB:PutItem", slowSeconds: 100 }]);
    const bucket = `${settings.app}-${settings.environment}-artifacts`;
    const { object } = region.s3.putObject(bucket, "releases/v1.tgz", "v1");
    // Act
    const execution = runner.start({ artifact: { bucket, key: "releases/v1.tgz", versionId: object.versionId } });
    await region.scheduler.drive([execution.done]);
    // Assess: the first Lock ends at 30 s (middy's early timeout); a timed-out invocation is retried like a crash
    // (the lock write it made is its own, so the retry finds it), and the deploy goes on.
    expect(execution.result).toMatchObject({ status: "SUCCEEDED", outcome: "succeeded" });
    expect(region.apiCallCounts()["DynamoDB:PutItem"]).toBeGreaterThanOrEqual(2);
    expect(execution.result!.endedAtMs - execution.result!.startedAtMs).toBeGreaterThanOrEqual(STAGE_FUNCTIONS.lockEnvironment.timeoutSeconds * 1000 - 5);
  });

  it("a lost answer never arrives: the region's change stands, the invocation waits until its timeout", async () => {
    // Prepare: the answer to the first PutItem is lost after DynamoDB wrote the item (loseResponseAfter).
    world = productWorld();
    const { region, settings } = world;
    region.faults.crashAfter("DynamoDB:PutItem", ({ operation }) => {
      throw new LostResponse(operation);
    });
    const item = { lockId: { S: "lost" }, holder: { S: "one" } };
    let answered = false;
    const start = region.now();
    // Act
    const invocation = invokeWithTimeout(region, {
      timeoutSeconds: 5,
      requestId: "req-3",
      run: async () => {
        await dynamodb.send(new PutItemCommand({ TableName: settings.lockTableName, Item: item }));
        answered = true;
      },
    });
    const [settled] = await region.scheduler.drive([invocation]);
    // Assess
    expect(settled.status).toBe("rejected");
    expect((settled as PromiseRejectedResult).reason).toMatchObject({ name: LAMBDA_ERROR.timedOut });
    expect(region.now() - start).toBe(5000);
    expect(answered).toBe(false);
    expect(region.apiCallCounts()).toEqual({ "DynamoDB:PutItem": 1 });
    const stored = await dynamodb.send(new GetItemCommand({ TableName: settings.lockTableName, Key: { lockId: item.lockId } }));
    expect(stored.Item).toEqual(item);
  });
});
