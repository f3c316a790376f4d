import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EC2Client } from "@aws-sdk/client-ec2";
import { ElasticLoadBalancingClient } from "@aws-sdk/client-elastic-load-balancing";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { SFNClient } from "@aws-sdk/client-sfn";
import { SNSClient } from "@aws-sdk/client-sns";

/**
 * How every client retries, set here instead of left to the environment (AWS_MAX_ATTEMPTS, AWS_RETRY_MODE).
 *
 * "standard" mode (AWS SDKs and Tools Reference Guide, "Retry behavior": the recommended mode; "adaptive" is
 * for single-resource, latency-tolerant clients and can delay first attempts) retries throttling and transient
 * errors with exponential back-off and full jitter, capped at 20 s per wait; throttling errors back off from
 * 1 s (1, 2, 4 s...), other transient errors from 50 ms, behind a retry quota (the SDK for JavaScript v3 as
 * installed, @smithy/core retry: `Retry.throttlingDelay()` 1000 ms, `Retry.delay()` 50 ms, MAXIMUM_RETRY_DELAY
 * 20 s, INITIAL_RETRY_TOKENS 500, a throttling retry costs 5).
 *
 * 4 attempts (the SDK's default is 3; DynamoDB's is 4): one call rides out about 3.5 s of throttling on
 * average (1+2+4 s of full-jitter waits, 7 s at worst) without failing the function, and a function making a
 * few calls in a storm still ends well inside the shortest stage timeout (30 s). Storms that last minutes are
 * the state machine's: every task retries `TransientAwsError` 10 times, 2 s doubling to 60 s with full jitter
 * (stacks/pipeline/definition.ts), so a read fails a task only after 4 x 11 = 44 throttled requests in a row
 * over several minutes.
 */
export const CLIENT_RETRY = { maxAttempts: 4, retryMode: "standard" } as const;

/**
 * SDK clients, created once per Lambda container (module scope). Region and credentials come from the
 * Lambda environment. Tests replace them with aws-sdk-client-mock; the simulator replaces their transport
 * (`requestHandler`) with its simulated region, so everything above it runs as in Lambda.
 */
export const autoScaling = new AutoScalingClient({ ...CLIENT_RETRY });
export const ec2 = new EC2Client({ ...CLIENT_RETRY });
export const elbv2 = new ElasticLoadBalancingV2Client({ ...CLIENT_RETRY });
export const elb = new ElasticLoadBalancingClient({ ...CLIENT_RETRY });
export const dynamodb = new DynamoDBClient({ ...CLIENT_RETRY });
export const sfn = new SFNClient({ ...CLIENT_RETRY });
export const sns = new SNSClient({ ...CLIENT_RETRY });
export const eventBridge = new EventBridgeClient({ ...CLIENT_RETRY });

export const allClients = [autoScaling, ec2, elbv2, elb, dynamodb, sfn, sns, eventBridge] as const;
