/**
 * Shared builders for the group-stage tests: a DeployState as the state machine passes it, Auto Scaling
 * groups as DescribeAutoScalingGroups returns them, and AWS errors as the SDK throws them.
 */
import type { AutoScalingGroup, Instance } from "@aws-sdk/client-auto-scaling";
import { GetItemCommand, type GetItemCommandOutput } from "@aws-sdk/client-dynamodb";
import { DescribeRulesCommand, type DescribeRulesCommandOutput } from "@aws-sdk/client-elastic-load-balancing-v2";
import { type DeployState, environmentSettings, type EnvironmentSettings, type GroupSnapshot } from "../../functions/lib/contract.js";
import { parseStageConfig } from "../../stacks/config.js";
import { TAG } from "../../functions/lib/names.js";

/** The tests' "now" (epoch seconds), installed with setClock. */
export const NOW = 1_750_000_000;
export const EXECUTION_ID = "arn:aws:states:us-east-1:123456789012:execution:deploy:run-1";
export const TARGET_GROUP_ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/abc";
export const ALTERNATE_TARGET_GROUP_ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-alt/def";
export const LISTENER_ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/0123/4567";
export const CLASSIC_LB_NAME = "elb-shop-dev01";
export const LAUNCH_TEMPLATE_ID = "lt-0123456789abcdef0";
export const NEW_GROUP = "shop-dev01-v2-run-1";
export const OLD_GROUP = "shop-dev01-v1-run-0";
export const IMAGE_ID = "ami-0new";

export type LoadBalancerKind = EnvironmentSettings["loadBalancer"]["kind"];
export const LOAD_BALANCER_KINDS: LoadBalancerKind[] = ["application", "classic"];

/** The settings the Pipeline stack builds for stage dev01 of app "shop" (the shared builder, defaults included). */
export function settings(kind: LoadBalancerKind = "application"): EnvironmentSettings {
  const config = parseStageConfig("dev01", { domain: "shop.example.test", hostedZoneId: "Z0123456789SHOPTEST01", app: "shop", loadBalancer: kind });
  return environmentSettings(config, {
    region: "us-east-1",
    loadBalancer:
      kind === "application"
        ? { kind: "application", targetGroupArn: TARGET_GROUP_ARN, alternateTargetGroupArn: ALTERNATE_TARGET_GROUP_ARN, listenerArn: LISTENER_ARN }
        : { kind: "classic", loadBalancerName: CLASSIC_LB_NAME },
    launchTemplateId: LAUNCH_TEMPLATE_ID,
    subnetIds: ["subnet-a", "subnet-b"],
    lockTableName: "locks",
    topicArn: "arn:aws:sns:us-east-1:123456789012:deploys",
    builtInAlarms: (kind === "application" ? [TARGET_GROUP_ARN, ALTERNATE_TARGET_GROUP_ARN] : [CLASSIC_LB_NAME]).map((target, i) => ({
      target,
      alarms: [`shop-dev01-${i}-target5xx`, `shop-dev01-${i}-unhealthyhosts`],
    })),
  });
}

export const CUTOVER_RULE_ARN = LISTENER_ARN.replace(":listener/", ":listener-rule/") + "/89ab";

/**
 * The listener as DescribeRules lists it: the stack's default action (all to the first target group, the second at
 * 0), and, when `alternatePercent` is given, the pipeline's rule sending that share to the alternate target group.
 */
export function givenRouting(
  elbv2Mock: { on: (command: typeof DescribeRulesCommand) => { resolves: (output: DescribeRulesCommandOutput) => unknown } },
  alternatePercent?: number,
): void {
  const forward = (first: number, second: number) => [
    { Type: "forward" as const, ForwardConfig: { TargetGroups: [{ TargetGroupArn: TARGET_GROUP_ARN, Weight: first }, { TargetGroupArn: ALTERNATE_TARGET_GROUP_ARN, Weight: second }] } },
  ];
  const rules = [
    ...(alternatePercent === undefined ? [] : [{ RuleArn: CUTOVER_RULE_ARN, Priority: "50000", IsDefault: false, Actions: forward(100 - alternatePercent, alternatePercent) }]),
    { RuleArn: `${CUTOVER_RULE_ARN}-default`, Priority: "default", IsDefault: true, Actions: forward(1, 0) },
  ];
  elbv2Mock.on(DescribeRulesCommand).resolves({ Rules: rules, $metadata: {} });
}

export const oldSnapshot: GroupSnapshot = { name: OLD_GROUP, min: 1, desired: 2, max: 4, release: "v1", launchTemplateVersion: "3" };

/** A state as it stands after Launch (override any part). */
export function deployState(kind: LoadBalancerKind = "application", overrides: Partial<DeployState> = {}): DeployState {
  return {
    settings: settings(kind),
    input: { imageId: IMAGE_ID },
    execution: { id: EXECUTION_ID, name: "run-1", startTime: "2025-06-15T12:00:00.000Z" },
    plan: {
      release: "v2",
      imageId: IMAGE_ID,
      rebuildBase: false,
      keepImages: true,
      groupName: NEW_GROUP,
      liveGroups: [oldSnapshot],
      desiredCapacity: 2,
    },
    image: { imageId: IMAGE_ID, baked: false },
    launch: { groupName: NEW_GROUP, launchTemplateVersion: "4", desiredCapacity: 2, healthyBy: NOW + 600, target: kind === "application" ? ALTERNATE_TARGET_GROUP_ARN : CLASSIC_LB_NAME },
    ...overrides,
  };
}

export function instances(count: number, lifecycleState = "InService", healthStatus = "Healthy", prefix = "i-new"): Instance[] {
  return Array.from({ length: count }, (_, index) => ({
    InstanceId: `${prefix}${String(index).padStart(4, "0")}`,
    LifecycleState: lifecycleState as Instance["LifecycleState"],
    HealthStatus: healthStatus,
    AvailabilityZone: "us-east-1a",
    ProtectedFromScaleIn: false,
  }));
}

/** A group as DescribeAutoScalingGroups returns it. */
export function group(name: string, options: Partial<AutoScalingGroup> & { kind?: LoadBalancerKind; attached?: boolean } = {}): AutoScalingGroup {
  const { kind = "application", attached = true, ...fields } = options;
  return {
    AutoScalingGroupName: name,
    MinSize: 1,
    DesiredCapacity: 2,
    MaxSize: 4,
    DefaultCooldown: 300,
    AvailabilityZones: ["us-east-1a"],
    HealthCheckType: "ELB",
    CreatedTime: new Date(NOW * 1000),
    Instances: [],
    TargetGroupARNs: attached && kind === "application" ? [TARGET_GROUP_ARN] : [],
    LoadBalancerNames: attached && kind === "classic" ? [CLASSIC_LB_NAME] : [],
    LaunchTemplate: { LaunchTemplateId: LAUNCH_TEMPLATE_ID, Version: "4" },
    Tags: [
      { Key: TAG.app, Value: "shop" },
      { Key: TAG.environment, Value: "dev01" },
      { Key: TAG.execution, Value: EXECUTION_ID },
    ],
    ...fields,
  };
}

/** An error shaped like the SDK's service exceptions (name = AWS error code). */
export function awsError(name: string, message = name, httpStatusCode = 400): Error {
  return Object.assign(new Error(message), { name, $fault: httpStatusCode >= 500 ? "server" : "client", $metadata: { httpStatusCode } });
}

/** A Lambda context for calling the middy handlers. */
export const lambdaContext = {
  callbackWaitsForEmptyEventLoop: false,
  functionName: "test-function",
  functionVersion: "$LATEST",
  invokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:test-function",
  memoryLimitInMB: "256",
  awsRequestId: "request-1",
  logGroupName: "/aws/lambda/test-function",
  logStreamName: "stream",
  getRemainingTimeInMillis: () => 30_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
};

/**
 * Makes a mocked DynamoDB client answer that `holder` holds this environment's deploy lock, with the task tokens of
 * `waiters` (execution ARNs) registered on it (functions/lib/lock.ts, `registerWaiter`).
 */
export function givenLockHeldBy(
  dynamoMock: { on: (command: typeof GetItemCommand) => { resolves: (output: GetItemCommandOutput) => unknown } },
  holder: string,
  waiters: string[] = [],
) {
  const waiterAttributes = Object.fromEntries(waiters.map((waiter) => [`waiter:${waiter}`, { S: `token-of-${waiter}` }]));
  dynamoMock.on(GetItemCommand).resolves({
    Item: { lockId: { S: "shop#dev01" }, holder: { S: holder }, release: { S: "v2" }, acquiredAt: { N: "1" }, ...waiterAttributes },
    $metadata: {},
  });
}
