import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EC2Client } from "@aws-sdk/client-ec2";
import { ElasticLoadBalancingClient } from "@aws-sdk/client-elastic-load-balancing";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { SFNClient } from "@aws-sdk/client-sfn";
import { SNSClient } from "@aws-sdk/client-sns";

/**
 * How every client retries, fixed here rather than left to the environment (AWS_MAX_ATTEMPTS, AWS_RETRY_MODE):
 * "standard" mode (AWS SDKs and Tools Reference Guide, "Retry behavior") retries throttling and transient errors
 * (incl. socket timeouts) with capped exponential back-off and full jitter, within a retry quota; 4 attempts
 * instead of the default 3 ride out a few seconds of throttling inside one call, well within the shortest stage
 * timeout (30 s). Longer storms are the state machine's: each task retries `TransientAwsError` for minutes
 * (names.ts, RETRY_BUDGET), so one throttled read never fails a deploy.
 */
export const CLIENT_RETRY = { maxAttempts: 4, retryMode: "standard" } as const;

/** A fresh copy of CLIENT_RETRY per client; a plain spread in the argument would keep every client in every bundle. */
const clientConfig = () => ({ ...CLIENT_RETRY });

/**
 * SDK clients, created once per Lambda container (module scope). Region and credentials come from the
 * Lambda environment. Tests replace them with aws-sdk-client-mock; the simulator adds a middleware that
 * answers every command from its simulated region.
 *
 * Each construction is marked pure, so a stage function's bundle keeps only the clients its code uses: esbuild
 * drops an unused pure `new` and then the client's package (the SDK packages declare `"sideEffects": false`).
 * Without the marks every bundle carried all nine clients, loaded at every cold start (issue 17;
 * test/stacks/bundles.test.ts checks each bundle against its function's role).
 */
export const autoScaling = /* @__PURE__ */ new AutoScalingClient(/* @__PURE__ */ clientConfig());
export const ec2 = /* @__PURE__ */ new EC2Client(/* @__PURE__ */ clientConfig());
export const elbv2 = /* @__PURE__ */ new ElasticLoadBalancingV2Client(/* @__PURE__ */ clientConfig());
export const elb = /* @__PURE__ */ new ElasticLoadBalancingClient(/* @__PURE__ */ clientConfig());
export const dynamodb = /* @__PURE__ */ new DynamoDBClient(/* @__PURE__ */ clientConfig());
export const sfn = /* @__PURE__ */ new SFNClient(/* @__PURE__ */ clientConfig());
export const sns = /* @__PURE__ */ new SNSClient(/* @__PURE__ */ clientConfig());
export const eventBridge = /* @__PURE__ */ new EventBridgeClient(/* @__PURE__ */ clientConfig());
export const cloudWatch = /* @__PURE__ */ new CloudWatchClient(/* @__PURE__ */ clientConfig());

export const allClients = [autoScaling, ec2, elbv2, elb, dynamodb, sfn, sns, eventBridge, cloudWatch] as const;
