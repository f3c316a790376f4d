import { BAKE_VARIABLES, type BakeVariable } from "../../functions/lib/contract.js";
import { AutoScalingServiceException, DescribeAutoScalingGroupsCommand } from "@aws-sdk/client-auto-scaling";
import { ConditionalCheckFailedException, DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import {
  CreateLaunchTemplateVersionCommand,
  DeleteLaunchTemplateVersionsCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeLaunchTemplateVersionsCommand,
  EC2ServiceException,
  RunInstancesCommand,
} from "@aws-sdk/client-ec2";
import { DescribeExecutionCommand, SFNClient } from "@aws-sdk/client-sfn";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { afterEach, describe, expect, it } from "vitest";
import { allClients } from "../../functions/lib/clients.js";
import { nowSeconds } from "../../functions/lib/clock.js";
import { isExecutionRunning, readLock, releaseLockForWaiters, takeOverLock, tryAcquireLock } from "../../functions/lib/lock.js";
import { IMAGE_ROLE, TAG } from "../../functions/lib/names.js";
import { launchGroup, releaseImage, simulatedWorld, detachAll, attachForTest } from "../support/simulatedWorld.js";
import {
  DEFAULT_TIMING,
  REGION_MIDDLEWARE_NAME,
  RegionHttpHandler,
  SIMULATION_EPOCH_MS,
  UnmodelledOperationError,
  artifactBucketName,
  attachRegion,
  type SimBakeRequest,
  bindFunctionClock,
  leftovers,
} from "../../simulator/region/index.js";

// Test files share worker threads (vitest.config.ts): leave no region attached for the next file.
afterEach(detachAll);

describe("fault injection", () => {
  it("fails exactly the next n requests of the operation with the injected code; the SDK's own retries spend them, and every request counts", async () => {
    // Prepare: SDK default clients (standard retry mode, 3 attempts).
    const world = simulatedWorld();
    world.region.faults.inject([{ operation: "AutoScaling:DescribeAutoScalingGroups", error: "Throttling", times: 4 }]);
    const describe = () => world.clients.autoScaling.send(new DescribeAutoScalingGroupsCommand({})).catch((error: unknown) => error);
    // Act
    const first = await describe();
    const second = await describe();
    // Assess: three throttled attempts, then one more and a success.
    expect(first).toBeInstanceOf(AutoScalingServiceException);
    expect(first).toMatchObject({ name: "Throttling", Code: "Throttling", $fault: "client", $metadata: { httpStatusCode: 400, attempts: 3 } });
    expect(second).toMatchObject({ AutoScalingGroups: [], $metadata: { httpStatusCode: 200, attempts: 2 } });
    expect(world.region.apiCallCounts()).toEqual({ "AutoScaling:DescribeAutoScalingGroups": 5 });
    expect(world.region.faults.pendingApiErrors()).toEqual([]);
  });

  it("NotFound right after create hides the new group from the next describe, and is a NotFound error elsewhere", async () => {
    // Prepare
    const world = simulatedWorld();
    world.region.faults.inject([
      { operation: "AutoScaling:DescribeAutoScalingGroups", error: "NotFound", times: 1 },
      { operation: "EC2:DeregisterImage", error: "NotFound", times: 1 },
    ]);
    const name = await launchGroup(world, { release: "v1" });
    // Act
    const hidden = await world.clients.autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }));
    const visible = await world.clients.autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }));
    const deregister = await world.clients.ec2.send(new DeregisterImageCommand({ ImageId: "ami-00000000000000001" })).catch((error: unknown) => error);
    // Assess
    expect(hidden.AutoScalingGroups).toEqual([]);
    expect(visible.AutoScalingGroups?.map((g) => g.AutoScalingGroupName)).toEqual([name]);
    expect(deregister).toBeInstanceOf(EC2ServiceException);
    expect(deregister).toMatchObject({ name: "InvalidAMIID.NotFound" });
  });

  it("runs a crashAfter hook once, after the operation succeeded, and its error reaches the caller", async () => {
    // Prepare
    const world = simulatedWorld();
    const seen: string[] = [];
    world.region.faults.crashAfter("AutoScaling:CreateAutoScalingGroup", (event) => {
      seen.push(event.operation);
      throw Object.assign(new Error("crash"), { name: "Runtime.ExitError" });
    });
    // Act
    const crash = await launchGroup(world, { release: "v1" }).catch((error: unknown) => error);
    const groups = await world.clients.autoScaling.send(new DescribeAutoScalingGroupsCommand({}));
    // Assess
    expect(crash).toMatchObject({ name: "Runtime.ExitError" });
    expect(seen).toEqual(["AutoScaling:CreateAutoScalingGroup"]);
    expect(groups.AutoScalingGroups?.length).toBe(1);
  });

  it("fails loudly on a command the region does not model, and detach gives the client its own transport back", async () => {
    // Prepare
    const world = simulatedWorld();
    const attached = world.clients.ec2.config.requestHandler;
    // Act
    const unmodelled = await world.clients.ec2.send(new RunInstancesCommand({ MinCount: 1, MaxCount: 1 })).catch((error: unknown) => error);
    world.attachment.detach();
    // Assess
    expect(unmodelled).toBeInstanceOf(UnmodelledOperationError);
    expect(world.region.unmodelledCalls).toEqual(["EC2:RunInstances"]);
    expect(attached).toBeInstanceOf(RegionHttpHandler);
    expect(world.clients.ec2.config.requestHandler).not.toBeInstanceOf(RegionHttpHandler);
    expect(world.clients.ec2.middlewareStack.identify().some((entry) => entry.startsWith(REGION_MIDDLEWARE_NAME))).toBe(false);
  });
});

describe("DynamoDB conditional writes", () => {
  it("applies attribute_not_exists(x) OR x = :v and rejects other writers with ConditionalCheckFailedException", async () => {
    // Prepare
    const world = simulatedWorld();
    const client = new DynamoDBClient({ region: "us-east-1" });
    attachForTest(world.region, [client]);
    const put = (holder: string) =>
      client.send(
        new PutItemCommand({
          TableName: world.settings.lockTableName,
          Item: { lockId: { S: "app#env" }, holder: { S: holder } },
          ConditionExpression: "attribute_not_exists(lockId) OR holder = :me",
          ExpressionAttributeValues: { ":me": { S: holder } },
        }),
      );
    // Act
    await put("a");
    await put("a");
    const rival = await put("b").catch((error: unknown) => error);
    const update = await client.send(
      new UpdateItemCommand({
        TableName: world.settings.lockTableName,
        Key: { lockId: { S: "app#env" } },
        UpdateExpression: "SET holder = :b, #n = if_not_exists(#n, :zero) + :one",
        ConditionExpression: "holder = :a AND attribute_exists(lockId)",
        ExpressionAttributeNames: { "#n": "takeovers" },
        ExpressionAttributeValues: { ":a": { S: "a" }, ":b": { S: "b" }, ":zero": { N: "0" }, ":one": { N: "1" } },
        ReturnValues: "ALL_NEW",
      }),
    );
    const read = await client.send(new GetItemCommand({ TableName: world.settings.lockTableName, Key: { lockId: { S: "app#env" } } }));
    // Assess
    expect(rival).toBeInstanceOf(ConditionalCheckFailedException);
    expect(rival).toMatchObject({ name: "ConditionalCheckFailedException", $metadata: { httpStatusCode: 400 } });
    expect(update.Attributes).toEqual({ lockId: { S: "app#env" }, holder: { S: "b" }, takeovers: { N: "1" } });
    expect(read.Item).toEqual(update.Attributes);
  });

  it("serves the stage functions' lock (functions/lib/lock.ts) through allClients on the virtual clock", async () => {
    // Prepare
    const world = simulatedWorld();
    const attachment = attachRegion(world.region, allClients);
    const restoreClock = bindFunctionClock(world.region);
    const table = world.settings.lockTableName;
    try {
      // Act
      const first = await tryAcquireLock(table, "webapp#staging", "exec-1", "v1");
      const second = await tryAcquireLock(table, "webapp#staging", "exec-2", "v2");
      const takenOver = await takeOverLock(table, "webapp#staging", "exec-1", "exec-2", "v2");
      const lock = await readLock(table, "webapp#staging");
      const wrongRelease = (await releaseLockForWaiters(table, "webapp#staging", "exec-1")).released;
      const released = (await releaseLockForWaiters(table, "webapp#staging", "exec-2")).released;
      const running = await isExecutionRunning("arn:aws:states:us-east-1:123456789012:execution:deploy:missing");
      // Assess
      expect([first, second, takenOver, wrongRelease, released]).toEqual([true, false, true, false, true]);
      expect(lock).toEqual({ lockId: "webapp#staging", holder: "exec-2", release: "v2", acquiredAt: SIMULATION_EPOCH_MS / 1000 });
      expect(nowSeconds()).toBe(SIMULATION_EPOCH_MS / 1000);
      expect(running).toBe(false);
      expect(leftovers(world.region, world.settings).locks).toEqual([]);
    } finally {
      restoreClock();
      attachment.detach();
    }
  });

});

describe("S3, EventBridge, SNS and Step Functions", () => {
  it("emits the Object Created event exactly as EventBridge delivers it", () => {
    // Prepare
    const world = simulatedWorld();
    const delivered: unknown[] = [];
    world.region.eventBridge.onEvent((delivery) => delivered.push(delivery.event));
    const bucket = artifactBucketName("webapp", "staging");
    // Act
    const { event } = world.region.s3.putObject(bucket, "releases/v1.tgz", "artifact");
    // Assess
    expect(event).toEqual({
      version: "0",
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      "detail-type": "Object Created",
      source: "aws.s3",
      account: "123456789012",
      time: "2026-01-01T00:00:00Z",
      region: "us-east-1",
      resources: [`arn:aws:s3:::${bucket}`],
      detail: {
        version: "0",
        bucket: { name: bucket },
        object: {
          key: "releases/v1.tgz",
          size: 8,
          etag: "8e5b948a454515dbabfc7eb718daa52f",
          "version-id": expect.any(String),
          sequencer: expect.stringMatching(/^[0-9A-F]{18}$/),
        },
        "request-id": expect.any(String),
        requester: "123456789012",
        "source-ip-address": expect.any(String),
        reason: "PutObject",
      },
    });
    expect(delivered).toEqual([event]);
  });

  it("records SNS messages and EventBridge events, and answers DescribeExecution from the execution table", async () => {
    // Prepare
    const world = simulatedWorld();
    const sns = new SNSClient({ region: "us-east-1" });
    const events = new EventBridgeClient({ region: "us-east-1" });
    const sfn = new SFNClient({ region: "us-east-1" });
    attachForTest(world.region, [sns, events, sfn]);
    const executionArn = "arn:aws:states:us-east-1:123456789012:execution:deploy:one";
    world.region.stepFunctions.recordExecution({
      executionArn,
      stateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:deploy",
      name: "one",
      status: "RUNNING",
      startMs: world.region.now(),
      input: "{}",
    });
    // Act
    await sns.send(new PublishCommand({ TopicArn: world.settings.topicArn, Subject: "deployed", Message: "v1 live" }));
    const missingTopic = await sns.send(new PublishCommand({ TopicArn: "arn:aws:sns:us-east-1:123456789012:nope", Message: "x" })).catch((e: unknown) => e);
    const put = await events.send(new PutEventsCommand({ Entries: [{ Source: "immutable-deploy", DetailType: "Deploy succeeded", Detail: '{"release":"v1"}' }] }));
    const running = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    world.region.advance(10);
    world.region.stepFunctions.updateExecution(executionArn, { status: "FAILED", error: "ReleaseUnhealthy" });
    const failed = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    // Assess
    expect(world.region.sns.published).toMatchObject([{ topicArn: world.settings.topicArn, subject: "deployed", message: "v1 live" }]);
    expect(missingTopic).toMatchObject({ name: "NotFoundException", Code: "NotFound" });
    expect(put).toMatchObject({ FailedEntryCount: 0, Entries: [{ EventId: expect.any(String) }] });
    expect(world.region.eventBridge.delivered.at(-1)?.event).toMatchObject({ source: "immutable-deploy", "detail-type": "Deploy succeeded", detail: { release: "v1" } });
    expect(running.status).toBe("RUNNING");
    expect(failed).toMatchObject({ status: "FAILED", error: "ReleaseUnhealthy", stopDate: new Date(SIMULATION_EPOCH_MS + 10_000) });
  });
});

/** What the Bake state and the CodeBuild project's own environment hand a build. */
function bakeRequest(overrides: Partial<SimBakeRequest>): SimBakeRequest {
  const none = Object.fromEntries(BAKE_VARIABLES.map((name) => [name, ""])) as Record<BakeVariable, string>;
  return { ...none, REBUILD_BASE: "false", APP: "webapp", ENVIRONMENT: "staging", ...overrides };
}

describe("CodeBuild bakes", () => {
  it("bakes base + release on the first build and reuses the base image by hash afterwards", async () => {
    // Prepare
    const world = simulatedWorld();
    const { region } = world;
    const request = bakeRequest({ RELEASE: "v1", ARTIFACT_BUCKET: "bucket", ARTIFACT_KEY: "releases/v1.tgz" });
    // Act
    const first = region.codeBuild.startBuild(request);
    const firstDone = region.codeBuild.waitForBuild(first.id);
    await region.scheduler.drive([firstDone]);
    const firstOutput = region.codeBuild.syncOutput(first);
    const second = region.codeBuild.startBuild({ ...request, RELEASE: "v2" });
    region.advance(DEFAULT_TIMING.bakeSeconds - 1);
    const secondRunning = second.buildStatus;
    region.advance(1);
    const images = await world.clients.ec2.send(new DescribeImagesCommand({ Owners: ["self"], Filters: [{ Name: `tag:${TAG.app}`, Values: ["webapp"] }] }));
    // Assess
    expect(first.endMs - first.startMs).toBe((DEFAULT_TIMING.baseBakeSeconds + DEFAULT_TIMING.bakeSeconds) * 1000);
    expect(firstOutput.Build.BuildStatus).toBe("SUCCEEDED");
    expect(firstOutput.Build.ExportedEnvironmentVariables.map((v) => v.Name)).toEqual(["IMAGE_ID", "BASE_IMAGE_ID"]);
    expect(secondRunning).toBe("IN_PROGRESS");
    expect(second.buildStatus).toBe("SUCCEEDED");
    expect(second.exported.BASE_IMAGE_ID).toBe(first.exported.BASE_IMAGE_ID);
    expect(region.codeBuild.bakes).toEqual({ base: 1, release: 2 });
    const byRelease = Object.fromEntries(
      (images.Images ?? []).map((image) => [image.Tags?.find((t) => t.Key === TAG.release)?.Value ?? "base", image]),
    );
    expect(byRelease.v2?.ImageId).toBe(second.exported.IMAGE_ID);
    expect(byRelease.v2?.State).toBe("available");
    expect(byRelease.v2?.Tags).toEqual(
      expect.arrayContaining([
        { Key: TAG.environment, Value: "staging" },
        { Key: TAG.role, Value: IMAGE_ROLE.release },
      ]),
    );
    expect(byRelease.base?.Tags).toEqual(expect.arrayContaining([{ Key: TAG.baseHash, Value: region.codeBuild.baseHash }]));
    expect(byRelease.base?.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId).toMatch(/^snap-/);
  });

  it("fails a build when the scenario injects a bake failure", async () => {
    // Prepare
    const world = simulatedWorld();
    world.region.faults.inject([{ bakeFailsTimes: 1 }]);
    // Act
    const build = world.region.codeBuild.startBuild(bakeRequest({ RELEASE: "v1" }));
    await world.region.scheduler.drive([world.region.codeBuild.waitForBuild(build.id)]);
    // Assess
    expect(build.buildStatus).toBe("FAILED");
    expect(build.exported).toEqual({});
    expect(world.region.codeBuild.bakes.release).toBe(0);
  });
});

describe("EC2 images, snapshots and launch templates", () => {
  it("refuses to delete the default launch template version, per version, as EC2 does", async () => {
    // Prepare
    const world = simulatedWorld();
    const imageId = releaseImage(world.region, world.settings, "v1");
    await world.clients.ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: world.settings.launchTemplateId, SourceVersion: "1", LaunchTemplateData: { ImageId: imageId } }));
    // Act
    const result = await world.clients.ec2.send(new DeleteLaunchTemplateVersionsCommand({ LaunchTemplateId: world.settings.launchTemplateId, Versions: ["1", "2", "9"] }));
    // Assess
    expect(result.SuccessfullyDeletedLaunchTemplateVersions?.map((v) => v.VersionNumber)).toEqual([2]);
    expect(result.UnsuccessfullyDeletedLaunchTemplateVersions?.map((v) => [v.VersionNumber, v.ResponseError?.Code])).toEqual([
      [1, "unexpectedError"],
      [9, "launchTemplateVersionDoesNotExist"],
    ]);
    expect(leftovers(world.region, world.settings).launchTemplateVersions).toEqual([]);
  });

  it("filters launch template versions by image id and resolves $Latest / $Default", async () => {
    // Prepare
    const world = simulatedWorld();
    const imageId = releaseImage(world.region, world.settings, "v1");
    await world.clients.ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: world.settings.launchTemplateId, SourceVersion: "$Default", LaunchTemplateData: { ImageId: imageId } }));
    // Act
    const byImage = await world.clients.ec2.send(
      new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: world.settings.launchTemplateId, Filters: [{ Name: "image-id", Values: [imageId] }] }),
    );
    const aliases = await world.clients.ec2.send(
      new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: world.settings.launchTemplateId, Versions: ["$Latest", "$Default"] }),
    );
    // Assess
    expect(byImage.LaunchTemplateVersions?.map((v) => v.VersionNumber)).toEqual([2]);
    expect(byImage.LaunchTemplateVersions?.[0]?.LaunchTemplateData?.InstanceType).toBe("t3.micro");
    expect(aliases.LaunchTemplateVersions?.map((v) => [v.VersionNumber, v.DefaultVersion])).toEqual([
      [2, false],
      [1, true],
    ]);
  });

  it("keeps a snapshot in use until its image is deregistered, and honours snapshotInUseTimes", async () => {
    // Prepare
    const world = simulatedWorld();
    const imageId = releaseImage(world.region, world.settings, "v1");
    const snapshotId = world.region.ec2.images.get(imageId)!.snapshotIds[0];
    world.region.faults.inject([{ snapshotInUseTimes: 1 }]);
    const deleteSnapshot = () => world.clients.ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId })).catch((error: unknown) => error);
    // Act
    const whileImageExists = await deleteSnapshot();
    await world.clients.ec2.send(new DeregisterImageCommand({ ImageId: imageId }));
    const settling = await deleteSnapshot();
    const deleted = await deleteSnapshot();
    // Assess
    expect(whileImageExists).toMatchObject({ name: "InvalidSnapshot.InUse", message: expect.stringContaining(imageId) });
    expect(settling).toMatchObject({ name: "InvalidSnapshot.InUse" });
    expect(deleted).toMatchObject({ $metadata: { httpStatusCode: 200 } });
    expect(leftovers(world.region, world.settings)).toMatchObject({ images: [], snapshots: [] });
  });

  it("reports the environment's leftovers", async () => {
    // Prepare
    const world = simulatedWorld();
    const name = await launchGroup(world, { release: "v1" });
    // Act
    world.region.advance(200);
    const found = leftovers(world.region, world.settings);
    // Assess
    expect(found.groups).toEqual([name]);
    expect(found.launchTemplateVersions).toEqual([2]);
    expect(found.images.length).toBe(1);
    expect(found.snapshots.length).toBe(1);
    expect(found.liveInstances.length).toBe(2);
  });
});
