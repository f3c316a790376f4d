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

/**
 * SDK clients, created once per Lambda container (module scope). Region and credentials come from the
 * Lambda environment. Tests replace them with aws-sdk-client-mock; the simulator adds a middleware that
 * answers every command from its simulated region.
 */
export const autoScaling = new AutoScalingClient({ ...CLIENT_RETRY });
export const ec2 = new EC2Client({ ...CLIENT_RETRY });
export const elbv2 = new ElasticLoadBalancingV2Client({ ...CLIENT_RETRY });
export const elb = new ElasticLoadBalancingClient({ ...CLIENT_RETRY });
export const dynamodb = new DynamoDBClient({ ...CLIENT_RETRY });
export const sfn = new SFNClient({ ...CLIENT_RETRY });
export const sns = new SNSClient({ ...CLIENT_RETRY });
export const eventBridge = new EventBridgeClient({ ...CLIENT_RETRY });
export const cloudWatch = new CloudWatchClient({ ...CLIENT_RETRY });

export const allClients = [autoScaling, ec2, elbv2, elb, dynamodb, sfn, sns, eventBridge, cloudWatch] as const;
