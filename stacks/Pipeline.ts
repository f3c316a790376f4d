import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as events from "aws-cdk-lib/aws-events";
import * as eventTargets from "aws-cdk-lib/aws-events-targets";
import * as kms from "aws-cdk-lib/aws-kms";
import * as logs from "aws-cdk-lib/aws-logs";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { NagSuppressions } from "cdk-nag";
import { use, type StackContext } from "sst/constructs";
import { environmentSettings } from "../functions/lib/contract.js";
import { DEFAULTS } from "../functions/lib/names.js";
import { Environment } from "./Environment.js";
import { suppressBucketNotificationsHandler, suppressSstInternals } from "./nag.js";
import { bakeProject } from "./pipeline/bake.js";
import { deployDefinition } from "./pipeline/definition.js";
import { stageFunctions } from "./pipeline/stageFunctions.js";
import { executionEndedPattern, releaseUploadPattern } from "./pipeline/tables.js";

/**
 * The deploy: artifact bucket + EventBridge trigger, lock table, the CodeBuild bake, one least-privilege
 * Lambda per stage (each with its own IAM) and the state machine that runs them (stacks/pipeline/).
 */
export function Pipeline({ stack }: StackContext) {
  const env = use(Environment);
  const { config } = env;
  suppressSstInternals(stack);
  const stateMachineName = `${config.app}-${config.stage}-deploy`;

  // ---- Artifacts, the lock table, outcomes ---------------------------------------------------------------
  const accessLogs = new s3.Bucket(stack, "ArtifactAccessLogs", {
    encryption: s3.BucketEncryption.S3_MANAGED,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
    lifecycleRules: [{ expiration: Duration.days(config.artifactRetentionDays) }],
    removalPolicy: RemovalPolicy.RETAIN,
  });
  NagSuppressions.addResourceSuppressions(accessLogs, [
    { id: "AwsSolutions-S1", reason: "This bucket is itself the server-access-log destination of the artifact bucket." },
  ]);
  const artifacts = new s3.Bucket(stack, "Artifacts", {
    versioned: true,
    encryption: s3.BucketEncryption.S3_MANAGED,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    eventBridgeEnabled: true,
    serverAccessLogsBucket: accessLogs,
    serverAccessLogsPrefix: "artifacts/",
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    lifecycleRules: [
      { prefix: DEFAULTS.artifactPrefix, expiration: Duration.days(config.artifactRetentionDays) },
      { noncurrentVersionExpiration: Duration.days(30), abortIncompleteMultipartUploadAfter: Duration.days(7) },
    ],
    removalPolicy: RemovalPolicy.RETAIN,
  });

  const lockTable = new dynamodb.Table(stack, "DeployLocks", {
    partitionKey: { name: "lockId", type: dynamodb.AttributeType.STRING },
    // Delivery records (functions/lib/lock.ts, claimDelivery) expire; the lock items carry no such attribute.
    timeToLiveAttribute: "expiresAt",
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    removalPolicy: RemovalPolicy.DESTROY,
  });

  const topic = new sns.Topic(stack, "DeployOutcomes", {
    displayName: `${config.app} ${config.stage} deploys`,
    enforceSSL: true,
    masterKey: kms.Alias.fromAliasName(stack, "SnsKey", "alias/aws/sns"),
  });
  if (config.notificationEmail) topic.addSubscription(new subscriptions.EmailSubscription(config.notificationEmail));
  const eventBus = events.EventBus.fromEventBusName(stack, "DefaultBus", "default");

  const bake = bakeProject(stack, env, artifacts);
  const fn = stageFunctions(stack, { env, lockTable, topic, eventBus, stateMachineName });

  // ---- The state machine -------------------------------------------------------------------------------
  const settings = environmentSettings(config, {
    region: stack.region,
    loadBalancer: env.targetGroup
      ? {
          kind: "application",
          targetGroupArn: env.targetGroup.targetGroupArn,
          alternateTargetGroupArn: env.alternateTargetGroup!.targetGroupArn,
          listenerArn: env.listener!.listenerArn,
        }
      : { kind: "classic", loadBalancerName: env.classicLoadBalancer!.loadBalancerName },
    launchTemplateId: env.launchTemplate.launchTemplateId!,
    subnetIds: env.publicSubnets.map((s) => s.subnetId),
    lockTableName: lockTable.tableName,
    topicArn: topic.topicArn,
    eventBusName: eventBus.eventBusName,
    builtInAlarms: env.builtInAlarms,
  });
  const definition = deployDefinition(stack, { fn, bakeProject: bake, settings });
  const stateMachineLogs = new logs.LogGroup(stack, "DeployLogs", {
    logGroupName: `/aws/vendedlogs/states/${stateMachineName}`,
    retention: logs.RetentionDays.SIX_MONTHS,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const stateMachine = new sfn.StateMachine(stack, "Deploy", {
    stateMachineName,
    stateMachineType: sfn.StateMachineType.STANDARD,
    definitionBody: sfn.DefinitionBody.fromChainable(definition),
    timeout: Duration.seconds(DEFAULTS.stateMachineTimeoutSeconds),
    tracingEnabled: true,
    logs: { destination: stateMachineLogs, level: sfn.LogLevel.ALL, includeExecutionData: true },
  });
  NagSuppressions.addResourceSuppressions(
    stateMachine,
    [
      {
        id: "AwsSolutions-IAM5",
        reason:
          "Generated by CDK: invoking each stage function's versions (`<arn>:*`), X-Ray and log delivery (no resource-level " +
          "permissions), and CodeBuild's `.sync` rule for build status events.",
      },
    ],
    true,
  );

  // ---- The trigger: an upload under the release prefix starts a deploy -----------------------------------
  const pattern = releaseUploadPattern(artifacts.bucketName);
  new events.Rule(stack, "ReleaseUploaded", {
    description: `Deploy ${config.app} to ${config.stage} when a release artifact lands under ${DEFAULTS.artifactPrefix}`,
    eventPattern: { source: pattern.source, detailType: pattern["detail-type"], detail: pattern.detail },
    targets: [new eventTargets.SfnStateMachine(stateMachine)],
  });

  // ---- Outcomes: every terminal status of an execution invokes the notify function -------------------------
  const ended = executionEndedPattern(stateMachine.stateMachineArn);
  new events.Rule(stack, "DeployEnded", {
    description: `Publish the outcome of every ${config.app} ${config.stage} deploy, whatever status its execution ends in`,
    eventPattern: { source: ended.source, detailType: ended["detail-type"], detail: ended.detail },
    targets: [new eventTargets.LambdaFunction(fn.notify)],
  });

  suppressBucketNotificationsHandler(stack);
  stack.addOutputs({
    ArtifactBucket: artifacts.bucketName,
    ReleasePrefix: `s3://${artifacts.bucketName}/${DEFAULTS.artifactPrefix}`,
    StateMachineArn: stateMachine.stateMachineArn,
    LockTable: lockTable.tableName,
    OutcomeTopic: topic.topicArn,
    BakeProject: bake.projectName,
  });
  return { stateMachine, artifacts, lockTable, topic, bakeProject: bake };
}
