/**
 * Before each file of a shared worker (vitest.config.ts: projects `unit` and `shared`, worker threads without
 * per-file isolation): the SDK's client classes as the SDK ships them. aws-sdk-client-mock's `mockClient(Class)`
 * stubs the class's `send` (its prototype: every client of that class in the worker), and a unit test file leaves
 * its stub in place when it ends. The next file in the same worker may route those clients to the simulated region
 * (productWorld, simulatedWorld) and must not be answered by a mock it never set: a CI run failed that way, with
 * the SDK's warm-up call answered `undefined` by the previous file's stub.
 */
import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EC2Client } from "@aws-sdk/client-ec2";
import { ElasticLoadBalancingClient } from "@aws-sdk/client-elastic-load-balancing";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { S3Client } from "@aws-sdk/client-s3";
import { SFNClient } from "@aws-sdk/client-sfn";
import { SNSClient } from "@aws-sdk/client-sns";

/** Every SDK client class the project uses (package.json's `@aws-sdk/client-*`). */
export const CLIENT_CLASSES = [
  AutoScalingClient,
  CloudFormationClient,
  CloudWatchClient,
  DynamoDBClient,
  EC2Client,
  ElasticLoadBalancingClient,
  ElasticLoadBalancingV2Client,
  EventBridgeClient,
  S3Client,
  SFNClient,
  SNSClient,
];

/** Removes a sinon stub (aws-sdk-client-mock's) from each client class's `send`; returns the classes it restored. */
export function restoreClientClasses(): string[] {
  const restored: string[] = [];
  for (const Client of CLIENT_CLASSES) {
    const send = Client.prototype.send as { isSinonProxy?: boolean; restore?: () => void };
    if (send.isSinonProxy && typeof send.restore === "function") {
      send.restore();
      restored.push(Client.name);
    }
  }
  return restored;
}

restoreClientClasses();
