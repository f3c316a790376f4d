import path from "node:path";
import { fileURLToPath } from "node:url";
import { ArnFormat, Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import * as codebuild from "aws-cdk-lib/aws-codebuild";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as events from "aws-cdk-lib/aws-events";
import * as eventTargets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import * as logs from "aws-cdk-lib/aws-logs";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as s3assets from "aws-cdk-lib/aws-s3-assets";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import * as tasks from "aws-cdk-lib/aws-stepfunctions-tasks";
import { NagSuppressions } from "cdk-nag";
import { Function, use, type StackContext } from "sst/constructs";
import type { EnvironmentSettings, Outcome } from "../functions/lib/contract.js";
import { DEFAULTS, ERROR, PROJECT, RETRYABLE_ERRORS, STATE, TAG } from "../functions/lib/names.js";
import { Environment } from "./Environment.js";
import { sessionManagerRole, suppressBucketNotificationsHandler, suppressSstInternals } from "./nag.js";
import { STAGE_FUNCTIONS, type StageFunctionId } from "./stageFunctions.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/**
 * The deploy: artifact bucket + EventBridge trigger, lock table, the CodeBuild bake, one least-privilege
 * Lambda per stage and the state machine that runs them in DESIGN.md's order.
 */
export function Pipeline({ stack }: StackContext) {
  const env = use(Environment);
  const { config } = env;
  suppressSstInternals(stack);
  const stateMachineName = `${config.app}-${config.stage}-deploy`;
  const tagConditions = {
    [`aws:ResourceTag/${TAG.app}`]: config.app,
    [`aws:ResourceTag/${TAG.environment}`]: config.stage,
  };

  // ---- Artifacts and trigger -------------------------------------------------------------------------
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

  // ---- Bake: CodeBuild runs Packer -------------------------------------------------------------------
  const bakeRole = sessionManagerRole(stack, "BakeInstanceRole", "Packer's temporary bake instance: Session Manager only");
  const bakeProfile = new iam.InstanceProfile(stack, "BakeInstanceProfile", { role: bakeRole });
  const bakeSecurityGroup = new ec2.SecurityGroup(stack, "BakeSecurityGroup", {
    vpc: env.vpc,
    description: "Packer bake instance: no ingress (Session Manager), outbound for packages",
    allowAllOutbound: true,
  });
  const bakeSource = new s3assets.Asset(stack, "BakeSource", {
    path: ROOT,
    exclude: ["*", "!buildspec.yml", "!packer", "!packer/**"],
  });
  const bakeKey = new kms.Key(stack, "BakeKey", { enableKeyRotation: true, description: "CodeBuild bake artifacts and logs" });
  const bakeLogs = new logs.LogGroup(stack, "BakeLogs", {
    retention: logs.RetentionDays.THREE_MONTHS,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const bakeProject = new codebuild.Project(stack, "Bake", {
    description: `Bakes ${config.app} release images with Packer (${config.stage})`,
    source: codebuild.Source.s3({ bucket: bakeSource.bucket, path: bakeSource.s3ObjectKey }),
    buildSpec: codebuild.BuildSpec.fromSourceFilename("buildspec.yml"),
    environment: {
      buildImage: codebuild.LinuxBuildImage.AMAZON_LINUX_2023_5,
      computeType: codebuild.ComputeType.SMALL,
    },
    encryptionKey: bakeKey,
    timeout: Duration.minutes(90),
    logging: { cloudWatch: { logGroup: bakeLogs } },
    environmentVariables: plainVariables({
      APP: config.app,
      ENVIRONMENT: config.stage,
      BAKE_SUBNET_ID: env.publicSubnets[0].subnetId,
      BAKE_SECURITY_GROUP_ID: bakeSecurityGroup.securityGroupId,
      BAKE_INSTANCE_PROFILE: bakeProfile.instanceProfileName,
      BAKE_INSTANCE_TYPE: config.instanceType,
      NODE_VERSION: config.nodeVersion,
      APP_PORT: String(config.appPort),
      PACKER_VERSION: "1.11.2",
      NGINX_WORKERS: "auto",
      SERVER_NAME: "_",
    }),
  });
  artifacts.grantRead(bakeProject);
  grantPackerBake(bakeProject, { config, bakeRole, stack });

  // ---- Stage functions: one Lambda and one role each ---------------------------------------------------
  const fn = {} as Record<StageFunctionId, Function>;
  for (const [id, spec] of Object.entries(STAGE_FUNCTIONS) as [StageFunctionId, (typeof STAGE_FUNCTIONS)[StageFunctionId]][]) {
    fn[id] = new Function(stack, `${spec.name[0].toUpperCase()}${spec.name.slice(1)}Function`, {
      handler: `functions/${spec.name}.handler`,
      timeout: spec.timeoutSeconds,
      memorySize: 256,
      environment: { POWERTOOLS_SERVICE_NAME: PROJECT, POWERTOOLS_LOG_LEVEL: "INFO" },
    });
  }
  const allow = (id: StageFunctionId, actions: string[], resources: string[], conditions?: Record<string, unknown>) =>
    fn[id].addToRolePolicy(
      new iam.PolicyStatement({ actions, resources, ...(conditions ? { conditions: { StringEquals: conditions } } : {}) }),
    );
  const launchTemplateArn = stack.formatArn({
    service: "ec2",
    resource: "launch-template",
    resourceName: env.launchTemplate.launchTemplateId,
  });
  const groupArns = stack.formatArn({
    service: "autoscaling",
    resource: "autoScalingGroup",
    resourceName: `*:autoScalingGroupName/${config.app}-${config.stage}-*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  const executionArns = stack.formatArn({
    service: "states",
    resource: "execution",
    resourceName: `${stateMachineName}:*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  const describeGroups = ["autoscaling:DescribeAutoScalingGroups"];
  const lbAttach = env.targetGroup
    ? ["autoscaling:AttachLoadBalancerTargetGroups", "autoscaling:DetachLoadBalancerTargetGroups"]
    : ["autoscaling:AttachLoadBalancers", "autoscaling:DetachLoadBalancers"];

  allow("prepareDeploy", [...describeGroups, "ec2:DescribeImages"], ["*"]);
  allow("lockEnvironment", ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem"], [lockTable.tableArn]);
  allow("lockEnvironment", ["states:DescribeExecution"], [executionArns]);
  allow("unlockEnvironment", ["dynamodb:DeleteItem", "dynamodb:GetItem"], [lockTable.tableArn]);
  // Launch and retire check they still hold the lock (a late redrive must not act beside a newer deploy).
  allow("launchReleaseGroup", ["dynamodb:GetItem"], [lockTable.tableArn]);
  allow("retireGroups", ["dynamodb:GetItem"], [lockTable.tableArn]);

  allow("launchReleaseGroup", [...describeGroups, "ec2:DescribeLaunchTemplateVersions", "ec2:DescribeImages"], ["*"]);
  allow("launchReleaseGroup", ["ec2:CreateLaunchTemplateVersion"], [launchTemplateArn]);
  // Creating a group from a launch template needs RunInstances on what the template uses.
  allow("launchReleaseGroup", ["ec2:RunInstances", "ec2:CreateTags"], ["*"], { "ec2:LaunchTemplate": launchTemplateArn });
  allow("launchReleaseGroup", ["iam:PassRole"], [env.instanceRole.roleArn]);
  allow("launchReleaseGroup", ["autoscaling:CreateAutoScalingGroup", "autoscaling:CreateOrUpdateTags"], [groupArns], {
    [`aws:RequestTag/${TAG.app}`]: config.app,
    [`aws:RequestTag/${TAG.environment}`]: config.stage,
  });

  allow("checkGroupHealth", [...describeGroups, "autoscaling:DescribeScalingActivities"], ["*"]);
  allow(
    "checkLoadBalancerHealth",
    [...describeGroups, env.targetGroup ? "elasticloadbalancing:DescribeTargetHealth" : "elasticloadbalancing:DescribeInstanceHealth"],
    ["*"],
  );
  allow("retireGroups", describeGroups, ["*"]);
  allow("retireGroups", ["autoscaling:UpdateAutoScalingGroup", ...lbAttach], [groupArns], tagConditions);
  allow("checkRetired", describeGroups, ["*"]);
  // The scale-in to 0 happens here, once the detached groups have drained.
  allow("checkRetired", ["autoscaling:UpdateAutoScalingGroup"], [groupArns], tagConditions);
  allow("deleteOldGroups", [...describeGroups, "ec2:DescribeLaunchTemplateVersions"], ["*"]);
  allow("deleteOldGroups", ["autoscaling:DeleteAutoScalingGroup"], [groupArns], tagConditions);
  allow("deleteOldGroups", ["ec2:DeleteLaunchTemplateVersions"], [launchTemplateArn]);
  allow("rollback", [...describeGroups, "ec2:DescribeLaunchTemplateVersions"], ["*"]);
  allow(
    "rollback",
    ["autoscaling:DeleteAutoScalingGroup", "autoscaling:UpdateAutoScalingGroup", ...lbAttach],
    [groupArns],
    tagConditions,
  );
  allow("rollback", ["ec2:DeleteLaunchTemplateVersions"], [launchTemplateArn]);
  allow(
    "applyImageRetention",
    [...describeGroups, "ec2:DescribeImages", "ec2:DescribeSnapshots", "ec2:DescribeLaunchTemplateVersions"],
    ["*"],
  );
  allow(
    "applyImageRetention",
    ["ec2:DeregisterImage", "ec2:DeleteSnapshot", "ec2:CreateTags", "ec2:DeleteTags"],
    [
      stack.formatArn({ service: "ec2", account: "", resource: "image", resourceName: "*" }),
      stack.formatArn({ service: "ec2", account: "", resource: "snapshot", resourceName: "*" }),
      stack.formatArn({ service: "ec2", resource: "image", resourceName: "*" }),
      stack.formatArn({ service: "ec2", resource: "snapshot", resourceName: "*" }),
    ],
    { [`aws:ResourceTag/${TAG.app}`]: config.app },
  );
  topic.grantPublish(fn.notify);
  allow("notify", ["events:PutEvents"], [eventBus.eventBusArn]);

  for (const id of Object.keys(fn) as StageFunctionId[]) {
    NagSuppressions.addResourceSuppressions(
      fn[id],
      [
        {
          id: "AwsSolutions-IAM4",
          reason: "AWSLambdaBasicExecutionRole only lets the function write its own CloudWatch logs.",
          appliesTo: ["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
        },
        {
          id: "AwsSolutions-IAM5",
          reason:
            "Describe* calls (Auto Scaling, EC2, ELB) and X-Ray writes do not support resource-level permissions; every " +
            "mutating action is scoped to this app's resources by ARN pattern and by the immutable-deploy tags.",
        },
      ],
      true,
    );
  }

  // ---- The state machine -------------------------------------------------------------------------------
  const settings: EnvironmentSettings = {
    app: config.app,
    environment: config.stage,
    region: stack.region,
    loadBalancer: env.targetGroup
      ? { kind: "application", targetGroupArn: env.targetGroup.targetGroupArn }
      : { kind: "classic", loadBalancerName: env.classicLoadBalancer!.loadBalancerName },
    launchTemplateId: env.launchTemplate.launchTemplateId!,
    subnetIds: env.publicSubnets.map((s) => s.subnetId),
    capacity: { min: config.minCapacity, desired: config.desiredCapacity, max: config.maxCapacity },
    healthCheck: {
      intervalSeconds: config.healthCheck.intervalSeconds,
      healthyThreshold: config.healthCheck.healthyThreshold,
      unhealthyThreshold: config.healthCheck.unhealthyThreshold,
    },
    healthCheckGracePeriodSeconds: config.healthCheckGracePeriodSeconds,
    drainingSeconds: config.drainingSeconds,
    timeouts: config.timeouts,
    retainReleaseImages: config.retainReleaseImages,
    lockTableName: lockTable.tableName,
    topicArn: topic.topicArn,
    eventBusName: eventBus.eventBusName,
  };

  const definition = deployDefinition(stack, { fn, bakeProject, settings });
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
  NagSuppressions.addResourceSuppressions(
    bakeProject,
    [
      {
        id: "AwsSolutions-IAM5",
        reason:
          "Packer's documented minimal EC2 policy: the EC2 actions it needs do not support resource-level permissions " +
          "(Describe*, RunInstances on AMIs/subnets it discovers), plus CodeBuild's own report/log group grants.",
      },
    ],
    true,
  );

  new events.Rule(stack, "ReleaseUploaded", {
    description: `Deploy ${config.app} to ${config.stage} when a release artifact lands under ${DEFAULTS.artifactPrefix}`,
    eventPattern: {
      source: ["aws.s3"],
      detailType: ["Object Created"],
      detail: {
        bucket: { name: [artifacts.bucketName] },
        object: { key: events.Match.wildcard(`${DEFAULTS.artifactPrefix}*${DEFAULTS.artifactSuffix}`) },
      },
    },
    targets: [new eventTargets.SfnStateMachine(stateMachine)],
  });

  suppressBucketNotificationsHandler(stack);
  stack.addOutputs({
    ArtifactBucket: artifacts.bucketName,
    ReleasePrefix: `s3://${artifacts.bucketName}/${DEFAULTS.artifactPrefix}`,
    StateMachineArn: stateMachine.stateMachineArn,
    LockTable: lockTable.tableName,
    OutcomeTopic: topic.topicArn,
    BakeProject: bakeProject.projectName,
  });
  return { stateMachine, artifacts, lockTable, topic, bakeProject };
}

function plainVariables(values: Record<string, string>): Record<string, codebuild.BuildEnvironmentVariable> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { value: v }]));
}

/**
 * Packer's amazon-ebs builder: its documented minimal policy, with the mutating actions scoped to the
 * resources it tags (our tags on images, snapshots, instances) where EC2 supports conditions.
 */
function grantPackerBake(
  project: codebuild.Project,
  { config, bakeRole, stack }: { config: { app: string; stage: string }; bakeRole: iam.Role; stack: Stack },
) {
  project.addToRolePolicy(
    new iam.PolicyStatement({
      actions: [
        "ec2:DescribeImages",
        "ec2:DescribeImageAttribute",
        "ec2:DescribeInstances",
        "ec2:DescribeInstanceStatus",
        "ec2:DescribeRegions",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSnapshots",
        "ec2:DescribeSubnets",
        "ec2:DescribeTags",
        "ec2:DescribeVolumes",
        "ec2:DescribeVpcs",
        "ec2:CreateImage",
        "ec2:RegisterImage",
        "ec2:CreateSnapshot",
        "ec2:CreateVolume",
        "ec2:AttachVolume",
        "ec2:DetachVolume",
        "ec2:CopyImage",
        "ec2:ModifyImageAttribute",
        "ec2:ModifyInstanceAttribute",
        "ec2:CreateTags",
        "ec2:RunInstances",
        "ec2:StopInstances",
        "ec2:GetPasswordData",
        "ec2:CreateKeyPair",
        "ec2:DeleteKeyPair",
      ],
      resources: ["*"],
    }),
  );
  project.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ["ec2:TerminateInstances", "ec2:DeleteVolume", "ec2:DeleteSnapshot", "ec2:DeregisterImage"],
      resources: ["*"],
      conditions: { StringEquals: { [`aws:ResourceTag/${TAG.app}`]: config.app } },
    }),
  );
  project.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ["ssm:StartSession", "ssm:TerminateSession", "ssm:ResumeSession", "ssm:DescribeInstanceInformation"],
      resources: ["*"],
    }),
  );
  project.addToRolePolicy(new iam.PolicyStatement({ actions: ["iam:PassRole"], resources: [bakeRole.roleArn] }));
  project.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ["iam:GetInstanceProfile"],
      resources: [stack.formatArn({ service: "iam", region: "", resource: "instance-profile", resourceName: "*" })],
    }),
  );
}

interface DefinitionParts {
  fn: Record<StageFunctionId, Function>;
  bakeProject: codebuild.Project;
  settings: EnvironmentSettings;
}

/** The deploy, top to bottom in DESIGN.md's order. */
function deployDefinition(stack: Stack, { fn, bakeProject, settings }: DefinitionParts): sfn.IChainable {
  const invoke = (id: StageFunctionId, state: string, resultPath: string, payload?: Record<string, unknown>) => {
    const task = new tasks.LambdaInvoke(stack, state, {
      lambdaFunction: fn[id],
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      // Without a payload the function receives the whole state document.
      ...(payload ? { payload: sfn.TaskInput.fromObject(payload) } : {}),
      resultPath,
    });
    // Throttling storms and eventual consistency: up to ~6 minutes of capped, jittered back-off.
    task.addRetry({
      errors: [...RETRYABLE_ERRORS],
      interval: Duration.seconds(2),
      backoffRate: 2,
      maxAttempts: 10,
      maxDelay: Duration.seconds(60),
      jitterStrategy: sfn.JitterType.FULL,
    });
    return task;
  };
  const notify = (outcome: Outcome, state: string) => {
    const task = invoke("notify", state, "$.notification", { outcome, "state.$": "$" });
    // A lost notification must not turn the deploy's outcome around.
    task.addCatch(new sfn.Pass(stack, `${state} skipped`), { resultPath: "$.notificationError" });
    return task;
  };
  /** submit -> check -> Choice(ready / failed / otherwise Wait -> check). */
  const waitLoop = (check: sfn.TaskStateBase, choiceName: string, waitName: string, resultPath: string, recheck: sfn.IChainable = check) => {
    const choice = new sfn.Choice(stack, choiceName);
    const wait = new sfn.Wait(stack, waitName, { time: sfn.WaitTime.secondsPath(`${resultPath}.nextPollSeconds`) });
    wait.next(recheck);
    return { choice, wait, ready: sfn.Condition.stringEquals(`${resultPath}.status`, "ready"), failed: sfn.Condition.stringEquals(`${resultPath}.status`, "failed") };
  };
  const failWith = (state: string, errorName: string, causePath: string) =>
    new sfn.Pass(stack, state, {
      parameters: { Error: errorName, "Cause.$": causePath },
      resultPath: "$.error",
    });

  // Failure before Launch: unlock, tell, fail with the original error.
  const failed = new sfn.Fail(stack, STATE.failed, { errorPath: "$.error.Error", causePath: "$.error.Cause" });
  const unlockAfterFailure = invoke("unlockEnvironment", STATE.unlockAfterFailure, "$.unlock");
  unlockAfterFailure.next(notify("failed", STATE.notifyFailed)).next(failed);

  // Failure after Launch: roll back, unlock, tell, fail with the original error.
  const rollback = invoke("rollback", STATE.rollback, "$.rollback");
  rollback
    .next(invoke("unlockEnvironment", STATE.unlockAfterRollback, "$.unlock"))
    .next(notify("rolled-back", STATE.notifyRolledBack))
    .next(new sfn.Fail(stack, STATE.rolledBack, { errorPath: "$.error.Error", causePath: "$.error.Cause" }));
  const beforeLaunch = <T extends sfn.TaskStateBase>(task: T) => task.addCatch(unlockAfterFailure, { resultPath: "$.error" });
  const afterLaunch = <T extends sfn.TaskStateBase>(task: T) => task.addCatch(rollback, { resultPath: "$.error" });

  // 1. Prepare
  const start = new sfn.Pass(stack, STATE.start, {
    comment: "Wraps the execution input with this environment's settings and the execution's identity.",
    parameters: {
      settings,
      "input.$": "$",
      execution: { "id.$": "$$.Execution.Id", "name.$": "$$.Execution.Name", "startTime.$": "$$.Execution.StartTime" },
    },
  });
  const prepare = beforeLaunch(invoke("prepareDeploy", STATE.prepare, "$.plan"));
  // After waiting for another deploy, the environment has changed: plan again before the next attempt.
  const refreshPlan = beforeLaunch(invoke("prepareDeploy", STATE.refreshPlan, "$.plan"));

  // 2. Lock (waits for another deploy of this environment; a duplicate is a no-op)
  const lock = beforeLaunch(invoke("lockEnvironment", STATE.lock, "$.lock"));
  const lockLoop = waitLoop(lock, STATE.lockAcquired, STATE.waitForLock, "$.lock", refreshPlan);
  refreshPlan.next(lock);
  const noOp = notify("no-op", STATE.notifyNoOp).next(new sfn.Succeed(stack, STATE.noOp));
  const lockTimedOut = failWith("Lock timed out", ERROR.lockTimeout, "$.lock.message").next(unlockAfterFailure);

  // 3. Bake, unless the input names an image
  const useGivenImage = new sfn.Pass(stack, STATE.useGivenImage, {
    parameters: { "imageId.$": "$.plan.imageId", baked: false },
    resultPath: "$.image",
  });
  const bake = beforeLaunch(
    new tasks.CodeBuildStartBuild(stack, STATE.bake, {
      project: bakeProject,
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      environmentVariablesOverride: Object.fromEntries(
        ["ARTIFACT_BUCKET", "ARTIFACT_KEY", "ARTIFACT_VERSION_ID", "RELEASE", "BASE_IMAGE_ID", "REBUILD_BASE"].map((name) => [
          name,
          { type: codebuild.BuildEnvironmentVariableType.PLAINTEXT, value: sfn.JsonPath.stringAt(`$.plan.bakeRequest.${name}`) },
        ]),
      ),
      resultSelector: {
        "imageIds.$": "$.Build.ExportedEnvironmentVariables[?(@.Name=='IMAGE_ID')].Value",
        "baseImageIds.$": "$.Build.ExportedEnvironmentVariables[?(@.Name=='BASE_IMAGE_ID')].Value",
      },
      resultPath: "$.image",
    }),
  );
  const useBakedImage = new sfn.Pass(stack, "Use baked image", {
    comment: "A JSONPath filter yields an array: take item 0.",
    parameters: {
      "imageId.$": "States.ArrayGetItem($.image.imageIds, 0)",
      "baseImageId.$": "States.ArrayGetItem($.image.baseImageIds, 0)",
      baked: true,
    },
    resultPath: "$.image",
  });

  // 4-6. Launch and wait until healthy in the group and at the load balancer
  const launch = afterLaunch(invoke("launchReleaseGroup", STATE.launch, "$.launch"));
  const checkGroup = afterLaunch(invoke("checkGroupHealth", STATE.checkGroupHealth, "$.groupHealth"));
  const groupLoop = waitLoop(checkGroup, STATE.groupHealthy, STATE.waitForGroup, "$.groupHealth");
  const checkLb = afterLaunch(invoke("checkLoadBalancerHealth", STATE.checkLoadBalancerHealth, "$.loadBalancerHealth"));
  const lbLoop = waitLoop(checkLb, STATE.loadBalancerHealthy, STATE.waitForLoadBalancer, "$.loadBalancerHealth");
  const groupUnhealthy = failWith(`${STATE.healthDeadlinePassed} in group`, ERROR.releaseUnhealthy, "$.groupHealth.message").next(rollback);
  const lbUnhealthy = failWith(STATE.healthDeadlinePassed, ERROR.releaseUnhealthy, "$.loadBalancerHealth.message").next(rollback);

  // 7-11. Point of no return: the new release serves. No rollback from here on; a failure stops the
  // execution at the failing state, and a redrive resumes there (every task is idempotent).
  const retire = invoke("retireGroups", STATE.retire, "$.retirement");
  const checkRetired = invoke("checkRetired", STATE.checkRetired, "$.retired");
  const retiredLoop = waitLoop(checkRetired, STATE.retired, STATE.waitForRetirement, "$.retired");
  const retirementOverdue = failWith(STATE.retirementDeadlinePassed, ERROR.retirementOverdue, "$.retired.message").next(
    unlockAfterFailure,
  );
  const deleteOld = invoke("deleteOldGroups", STATE.deleteOldGroups, "$.cleanup");
  const retention = invoke("applyImageRetention", STATE.imageRetention, "$.retention");
  const finish = invoke("unlockEnvironment", STATE.unlock, "$.unlock")
    .next(notify("succeeded", STATE.notifySucceeded))
    .next(new sfn.Succeed(stack, STATE.succeeded));

  start.next(prepare).next(lock);
  lock.next(
    lockLoop.choice
      .when(sfn.Condition.stringEquals("$.lock.status", "duplicate"), noOp)
      .when(lockLoop.failed, lockTimedOut)
      .when(
        lockLoop.ready,
        new sfn.Choice(stack, STATE.imageGiven)
          .when(sfn.Condition.isPresent("$.plan.imageId"), useGivenImage.next(launch))
          .otherwise(bake.next(useBakedImage).next(launch)),
      )
      .otherwise(lockLoop.wait),
  );
  launch.next(checkGroup);
  checkGroup.next(
    groupLoop.choice.when(groupLoop.ready, checkLb).when(groupLoop.failed, groupUnhealthy).otherwise(groupLoop.wait),
  );
  checkLb.next(lbLoop.choice.when(lbLoop.ready, retire).when(lbLoop.failed, lbUnhealthy).otherwise(lbLoop.wait));
  retire.next(checkRetired);
  checkRetired.next(
    retiredLoop.choice
      .when(retiredLoop.ready, deleteOld)
      .when(retiredLoop.failed, retirementOverdue)
      .otherwise(retiredLoop.wait),
  );
  deleteOld.next(retention).next(finish);
  return start;
}
