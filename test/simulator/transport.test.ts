/**
 * The simulated region at the SDK's transport (simulator/region/transport.ts): requests arrive serialized and
 * signed, after the client's own retry middleware; answers leave in each service's protocol and the real SDK
 * reads them. These tests go through real clients only.
 */
import {
  AutoScalingServiceException,
  CreateAutoScalingGroupCommand,
  DeleteAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
  ResourceContentionFault,
  ScalingActivityInProgressFault,
} from "@aws-sdk/client-auto-scaling";
import { CloudWatchServiceException, DeleteAlarmsCommand, DescribeAlarmsCommand, PutMetricAlarmCommand, ResourceNotFound } from "@aws-sdk/client-cloudwatch";
import { ConditionalCheckFailedException, GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { DescribeImagesCommand, DescribeLaunchTemplateVersionsCommand, EC2ServiceException } from "@aws-sdk/client-ec2";
import { DescribeInstanceHealthCommand } from "@aws-sdk/client-elastic-load-balancing";
import { DescribeTargetHealthCommand, TargetGroupNotFoundException } from "@aws-sdk/client-elastic-load-balancing-v2";
import { DescribeExecutionCommand, ExecutionDoesNotExist } from "@aws-sdk/client-sfn";
import { NotFoundException, PublishCommand } from "@aws-sdk/client-sns";
import { afterEach, describe, expect, it } from "vitest";
import { autoScaling, CLIENT_RETRY, cloudWatch, dynamodb, ec2, elbv2, sfn, sns } from "../../functions/lib/clients.js";
import { DEFAULT_TIMING, RegionHttpHandler } from "../../simulator/region/index.js";
import { INSTANT_REGION, launchGroup, productWorld } from "../support/simulatedWorld.js";

let world: ReturnType<typeof productWorld> | undefined;
afterEach(() => {
  world?.close();
  world = undefined;
});

/** Drops `undefined` members, as a wire round trip does. */
const defined = (value: unknown) => JSON.parse(JSON.stringify(value));

describe("retries run in the client, as in Lambda", () => {
  it("a throttled answer goes through the product client's retry strategy and succeeds; back-offs and latency take virtual time; every request counts", async () => {
    // Prepare: the product's clients (functions/lib/clients.ts: standard mode, 4 attempts), 100 ms per request.
    world = productWorld({ region: { ...INSTANT_REGION, apiLatencySeconds: 0.1 } });
    world.region.faults.inject([{ operation: "AutoScaling:DescribeAutoScalingGroups", error: "Throttling", times: 3 }]);
    const start = world.region.now();
    const realStart = performance.now();
    // Act
    const answer = await autoScaling.send(new DescribeAutoScalingGroupsCommand({}));
    // Assess
    expect(answer.$metadata).toMatchObject({ httpStatusCode: 200, attempts: CLIENT_RETRY.maxAttempts });
    const backOffs = answer.$metadata.totalRetryDelay ?? 0;
    expect(backOffs).toBeGreaterThan(0);
    // Throttling back-off: full jitter under 1 s, 2 s and 4 s (the SDK's 2026 retry behaviour).
    expect(backOffs).toBeLessThan(7000);
    expect(world.region.now() - start).toBe(backOffs + 4 * 100);
    expect(world.region.apiCallCounts()).toEqual({ "AutoScaling:DescribeAutoScalingGroups": 4 });
    expect(performance.now() - realStart).toBeLessThan(backOffs);
  });

  it("past the configured attempts the throttling reaches the caller, as the SDK reports it", async () => {
    // Prepare
    world = productWorld();
    world.region.faults.inject([{ operation: "AutoScaling:DescribeAutoScalingGroups", error: "Throttling", times: 5 }]);
    // Act
    const failure = await autoScaling.send(new DescribeAutoScalingGroupsCommand({})).catch((error: unknown) => error);
    const next = await autoScaling.send(new DescribeAutoScalingGroupsCommand({}));
    // Assess
    expect(failure).toBeInstanceOf(AutoScalingServiceException);
    expect(failure).toMatchObject({ name: "Throttling", Code: "Throttling", $fault: "client", $metadata: { httpStatusCode: 400, attempts: 4 } });
    expect(next.$metadata.attempts).toBe(2);
  });

  it("back-offs are the same on every run: the SDK's jitter draws from the region's seeded random source", async () => {
    // Prepare
    const delays: number[] = [];
    for (const seed of [7, 7, 8]) {
      world = productWorld({ region: { ...INSTANT_REGION, consistency: { ...INSTANT_REGION.consistency, seed } } });
      world.region.faults.inject([{ operation: "EC2:DescribeImages", error: "RequestLimitExceeded", times: 3 }]);
      // Act
      const answer = await ec2.send(new DescribeImagesCommand({ Owners: ["self"] }));
      delays.push(answer.$metadata.totalRetryDelay ?? 0);
      world.close();
      world = undefined;
    }
    // Assess
    expect(delays[0]).toBe(delays[1]);
    expect(delays[2]).not.toBe(delays[0]);
  });
});

describe("errors as each protocol sends them", () => {
  it.each([
    {
      protocol: "query, modeled error",
      inject: { operation: "AutoScaling:DeleteAutoScalingGroup", error: "ScalingActivityInProgress" },
      send: () => autoScaling.send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: "g" })),
      type: ScalingActivityInProgressFault,
      shape: { name: "ScalingActivityInProgressFault", Code: "ScalingActivityInProgress", Type: "Sender", $fault: "client", $metadata: { httpStatusCode: 400, attempts: 1 } },
    },
    {
      protocol: "query, 5xx, retried by the SDK",
      inject: { operation: "AutoScaling:DeleteAutoScalingGroup", error: "ResourceContention", times: 4 },
      send: () => autoScaling.send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: "g" })),
      type: ResourceContentionFault,
      shape: { name: "ResourceContentionFault", Code: "ResourceContention", Type: "Receiver", $fault: "server", $metadata: { httpStatusCode: 500, attempts: 4 } },
    },
    {
      protocol: "EC2 dialect, unmodeled code",
      inject: { operation: "EC2:DescribeLaunchTemplateVersions", error: "InvalidLaunchTemplateId.NotFound" },
      send: () => ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: "lt-0" })),
      type: EC2ServiceException,
      shape: { name: "InvalidLaunchTemplateId.NotFound", Code: "InvalidLaunchTemplateId.NotFound", $fault: "client", $metadata: { httpStatusCode: 400 } },
    },
    {
      protocol: "query (ELBv2), from the service's handler",
      send: () => elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/none/0" })),
      type: TargetGroupNotFoundException,
      shape: { name: "TargetGroupNotFoundException", Code: "TargetGroupNotFound", $fault: "client" },
    },
    {
      protocol: "query (SNS), HTTP 404",
      send: () => sns.send(new PublishCommand({ TopicArn: "arn:aws:sns:us-east-1:123456789012:none", Message: "m" })),
      type: NotFoundException,
      shape: { name: "NotFoundException", Code: "NotFound", $fault: "client", $metadata: { httpStatusCode: 404 } },
    },
    {
      protocol: "JSON 1.0 (Step Functions)",
      send: () => sfn.send(new DescribeExecutionCommand({ executionArn: "arn:aws:states:us-east-1:123456789012:execution:m:none" })),
      type: ExecutionDoesNotExist,
      shape: { name: "ExecutionDoesNotExist", $fault: "client", $metadata: { httpStatusCode: 400 } },
    },
    {
      // awsQueryCompatible: the query code travels in x-amzn-query-error, and the SDK names the error by it.
      protocol: "JSON 1.0, query compatible (CloudWatch)",
      send: () => cloudWatch.send(new DeleteAlarmsCommand({ AlarmNames: ["none"] })),
      type: ResourceNotFound,
      shape: { name: "ResourceNotFound", Code: "ResourceNotFound", Type: "Sender", $fault: "client", $metadata: { httpStatusCode: 400 } },
    },
    {
      protocol: "JSON 1.0, query compatible, unmodeled code retried by the SDK (CloudWatch)",
      inject: { operation: "CloudWatch:DescribeAlarms", error: "Throttling", times: 4 },
      send: () => cloudWatch.send(new DescribeAlarmsCommand({})),
      type: CloudWatchServiceException,
      shape: { name: "Throttling", Code: "Throttling", $fault: "client", $metadata: { httpStatusCode: 400, attempts: 4 } },
    },
  ])("$protocol: the SDK builds the exception its model names", async ({ inject, send, type, shape }) => {
    // Prepare
    world = productWorld();
    if (inject) world.region.faults.inject([inject]);
    // Act
    const error = await send().catch((thrown: unknown) => thrown);
    // Assess
    expect(error).toBeInstanceOf(type);
    expect(error).toMatchObject(shape);
  });

  it("JSON errors carry their extra members: DynamoDB's ConditionalCheckFailedException returns the item that failed the condition", async () => {
    // Prepare
    world = productWorld();
    const table = world.settings.lockTableName;
    await dynamodb.send(new PutItemCommand({ TableName: table, Item: { lockId: { S: "a" }, holder: { S: "one" } } }));
    // Act
    const error = await dynamodb
      .send(
        new PutItemCommand({
          TableName: table,
          Item: { lockId: { S: "a" }, holder: { S: "two" } },
          ConditionExpression: "attribute_not_exists(lockId)",
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      )
      .catch((thrown: unknown) => thrown);
    // Assess
    expect(error).toBeInstanceOf(ConditionalCheckFailedException);
    expect(error).toMatchObject({ name: "ConditionalCheckFailedException", $fault: "client", Item: { lockId: { S: "a" }, holder: { S: "one" } } });
  });
});

describe("answers written from the service models", () => {
  it("the SDK reads back exactly what the services' handlers answered (query, EC2 dialect, JSON, query-compatible JSON)", async () => {
    // Prepare: a group with instances behind the ALB, and one behind nothing.
    world = productWorld();
    const name = await launchGroup(world, { release: "v1" });
    world.region.advance(DEFAULT_TIMING.instanceBootSeconds + 60);
    const { region, settings } = world;
    if (settings.loadBalancer.kind !== "application") throw new Error("expected an ALB environment");
    const targetGroupArn = settings.loadBalancer.targetGroupArn;
    await dynamodb.send(new PutItemCommand({ TableName: settings.lockTableName, Item: { lockId: { S: "a" }, n: { N: "3" }, tags: { SS: ["x", "y"] } } }));
    await cloudWatch.send(
      new PutMetricAlarmCommand({
        AlarmName: "shop-cpu-high",
        MetricName: "CPUUtilization",
        Namespace: "AWS/EC2",
        Statistic: "Average",
        Dimensions: [{ Name: "AutoScalingGroupName", Value: name }],
        Period: 60,
        EvaluationPeriods: 2,
        Threshold: 70.5,
        ComparisonOperator: "GreaterThanThreshold",
        AlarmActions: ["arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:p"],
      }),
    );
    const cases: Array<[string, string, object, () => Promise<object>]> = [
      ["AutoScaling", "DescribeAutoScalingGroups", { AutoScalingGroupNames: [name] }, () => autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }))],
      ["EC2", "DescribeImages", { Owners: ["self"] }, () => ec2.send(new DescribeImagesCommand({ Owners: ["self"] }))],
      ["EC2", "DescribeLaunchTemplateVersions", { LaunchTemplateId: settings.launchTemplateId }, () => ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: settings.launchTemplateId }))],
      ["ELBv2", "DescribeTargetHealth", { TargetGroupArn: targetGroupArn }, () => elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }))],
      ["DynamoDB", "GetItem", { TableName: settings.lockTableName, Key: { lockId: { S: "a" } } }, () => dynamodb.send(new GetItemCommand({ TableName: settings.lockTableName, Key: { lockId: { S: "a" } } }))],
      ["CloudWatch", "DescribeAlarms", { AlarmNamePrefix: "shop-" }, () => cloudWatch.send(new DescribeAlarmsCommand({ AlarmNamePrefix: "shop-" }))],
    ];
    for (const [service, operation, input, send] of cases) {
      // Act
      const direct = defined(region.call(service as never, operation, input));
      const { $metadata: _metadata, ...viaWire } = (await send()) as Record<string, unknown>;
      // Assess: dates come back as Date objects; compare their instants.
      expect(defined(viaWire), `${service}:${operation}`).toEqual(direct);
    }
  });

  it("records each request's input as the SDK put it on the wire", async () => {
    // Prepare
    world = productWorld();
    const seen: Array<[string, object]> = [];
    world.region.onApiCall((operation, input) => seen.push([operation, input]));
    const groupInput = {
      AutoScalingGroupName: "g",
      LaunchTemplate: { LaunchTemplateId: world.settings.launchTemplateId, Version: "1" },
      MinSize: 0,
      MaxSize: 2,
      DesiredCapacity: 0,
      VPCZoneIdentifier: world.settings.subnetIds.join(","),
      Tags: [{ Key: "k", Value: "v", PropagateAtLaunch: true }],
      TargetGroupARNs: [],
    };
    const healthInput = { TargetGroupArn: "arn:x", Targets: [{ Id: "i-1", Port: 80 }] };
    // Act
    await autoScaling.send(new CreateAutoScalingGroupCommand(structuredClone(groupInput))).catch(() => undefined);
    await elbv2.send(new DescribeTargetHealthCommand(structuredClone(healthInput))).catch(() => undefined);
    // Assess: members, types and list shapes survive the query serialization (an empty list too).
    expect(seen).toEqual([
      ["AutoScaling:CreateAutoScalingGroup", groupInput],
      ["ELBv2:DescribeTargetHealth", healthInput],
    ]);
  });

  it("classic ELB answers in the ELB model, not the ELBv2 one (both share an endpoint)", async () => {
    // Prepare
    world = productWorld({ environment: { config: { loadBalancer: "classic" } } });
    if (world.settings.loadBalancer.kind !== "classic") throw new Error("expected a classic environment");
    // Act
    const answer = await world.clients.elb.send(new DescribeInstanceHealthCommand({ LoadBalancerName: world.settings.loadBalancer.loadBalancerName }));
    // Assess
    expect(answer).toMatchObject({ InstanceStates: [], $metadata: { httpStatusCode: 200 } });
    expect(world.clients.elb.config.requestHandler).toBeInstanceOf(RegionHttpHandler);
  });
});
