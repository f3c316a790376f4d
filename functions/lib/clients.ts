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
 * SDK clients, created once per Lambda container (module scope). Region and credentials come from the
 * Lambda environment. Tests replace them with aws-sdk-client-mock; the simulator adds a middleware that
 * answers every command from its simulated region.
 */
export const autoScaling = new AutoScalingClient({});
export const ec2 = new EC2Client({});
export const elbv2 = new ElasticLoadBalancingV2Client({});
export const elb = new ElasticLoadBalancingClient({});
export const dynamodb = new DynamoDBClient({});
export const sfn = new SFNClient({});
export const sns = new SNSClient({});
export const eventBridge = new EventBridgeClient({});
export const cloudWatch = new CloudWatchClient({});

export const allClients = [autoScaling, ec2, elbv2, elb, dynamodb, sfn, sns, eventBridge, cloudWatch] as const;
