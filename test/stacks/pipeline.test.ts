import { Match, Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { TAG } from "../../functions/lib/names.js";
import { STAGE_FUNCTIONS } from "../../stacks/pipeline/tables.js";
import { synthesizeApp } from "../../stacks/synthesize.js";

type Statement = { Action: string | string[]; Resource: unknown; Condition?: Record<string, Record<string, string>> };

/** The inline policy statements of the Lambda whose logical id starts with `prefix`. */
function statementsOf(t: Template, prefix: string): Statement[] {
  const policies = t.findResources("AWS::IAM::Policy");
  const roleId = Object.entries(t.findResources("AWS::Lambda::Function")).find(([id]) => id.startsWith(prefix))?.[1]
    .Properties.Role["Fn::GetAtt"][0];
  return Object.values(policies)
    .filter((p) => p.Properties.Roles.some((r: { Ref: string }) => r.Ref === roleId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}
const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

describe("Pipeline stack (dev01, application load balancer)", () => {
  let t: Template;
  beforeAll(async () => {
    const app = await synthesizeApp("dev01");
    t = Template.fromJSON(app.template("Pipeline"));
  });

  it("keeps artifacts in a versioned, encrypted, private, TLS-only bucket that notifies EventBridge", () => {
    t.hasResourceProperties("AWS::S3::Bucket", {
      VersioningConfiguration: { Status: "Enabled" },
      BucketEncryption: Match.objectLike({ ServerSideEncryptionConfiguration: [Match.objectLike({})] }),
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: "artifacts/" }),
      LifecycleConfiguration: Match.objectLike({ Rules: Match.arrayWith([Match.objectLike({ Prefix: "releases/" })]) }),
    });
    t.hasResourceProperties("Custom::S3BucketNotifications", {
      NotificationConfiguration: { EventBridgeConfiguration: {} },
    });
    t.hasResourceProperties("AWS::S3::BucketPolicy", {
      PolicyDocument: Match.objectLike({
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
        ]),
      }),
    });
  });

  it("starts the state machine on S3 Object Created under releases/*.tgz, with the event as input", () => {
    t.hasResourceProperties("AWS::Events::Rule", {
      EventPattern: {
        source: ["aws.s3"],
        "detail-type": ["Object Created"],
        detail: { bucket: { name: [Match.anyValue()] }, object: { key: [{ wildcard: "releases/*.tgz" }] } },
      },
      Targets: [Match.objectLike({ Arn: { Ref: Match.stringLikeRegexp("^Deploy") }, Input: Match.absent() })],
    });
  });

  it("runs a Standard state machine with a timeout, full logging and X-Ray", () => {
    t.hasResourceProperties("AWS::StepFunctions::StateMachine", {
      StateMachineName: "webapp-dev01-deploy",
      StateMachineType: "STANDARD",
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: "ALL", IncludeExecutionData: true }),
    });
  });

  it("has one Lambda per stage function, each with its own role", () => {
    const functions = t.findResources("AWS::Lambda::Function");
    const stageFunctions = Object.entries(functions).filter(([id]) => !id.startsWith("CustomResourceHandler") && !id.startsWith("BucketNotificationsHandler"));
    expect(stageFunctions).toHaveLength(Object.keys(STAGE_FUNCTIONS).length);
    const roles = new Set(stageFunctions.map(([, f]) => JSON.stringify(f.Properties.Role)));
    expect(roles.size).toBe(stageFunctions.length);
  });

  it("locks with a pay-per-request table keyed by lockId, with point-in-time recovery", () => {
    t.hasResourceProperties("AWS::DynamoDB::Table", {
      KeySchema: [{ AttributeName: "lockId", KeyType: "HASH" }],
      BillingMode: "PAY_PER_REQUEST",
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      // The delivery records expire (functions/lib/lock.ts, claimDelivery).
      TimeToLiveSpecification: { AttributeName: "expiresAt", Enabled: true },
    });
  });

  it("scopes every mutating Auto Scaling action to this app's groups by name pattern and by tags", () => {
    for (const prefix of ["RetireGroupsFunction", "CheckRetiredFunction", "DeleteOldGroupsFunction", "RollbackFunction"]) {
      const mutating = statementsOf(t, prefix).filter((s) =>
        actionsOf(s).some((a) => /^autoscaling:(Update|Delete|Detach|Attach)/.test(a)),
      );
      expect(mutating.length, prefix).toBeGreaterThan(0);
      for (const s of mutating) {
        expect(JSON.stringify(s.Resource), prefix).toContain("autoScalingGroupName/webapp-dev01-*");
        expect(s.Condition?.StringEquals, prefix).toEqual({
          [`aws:ResourceTag/${TAG.app}`]: "webapp",
          [`aws:ResourceTag/${TAG.environment}`]: "dev01",
        });
      }
    }
    const create = statementsOf(t, "LaunchReleaseGroupFunction").find((s) => actionsOf(s).includes("autoscaling:CreateAutoScalingGroup"));
    expect(create?.Condition?.StringEquals).toEqual({
      [`aws:RequestTag/${TAG.app}`]: "webapp",
      [`aws:RequestTag/${TAG.environment}`]: "dev01",
    });
  });

  it("lets the launch tag only on launch, and create only Auto Scaling's own service-linked role", () => {
    const launch = statementsOf(t, "LaunchReleaseGroupFunction");
    const tags = launch.filter((s) => actionsOf(s).includes("ec2:CreateTags"));
    expect(tags).toHaveLength(1);
    expect(tags[0].Condition).toEqual({ StringEquals: { "ec2:CreateAction": "RunInstances" } });
    expect(JSON.stringify(tags[0].Resource)).toMatch(/:instance\/\*".*:volume\/\*"/);
    const serviceLinkedRole = launch.filter((s) => actionsOf(s).includes("iam:CreateServiceLinkedRole"));
    expect(serviceLinkedRole).toHaveLength(1);
    expect(serviceLinkedRole[0].Condition).toEqual({ StringEquals: { "iam:AWSServiceName": "autoscaling.amazonaws.com" } });
    expect(JSON.stringify(serviceLinkedRole[0].Resource)).toContain(":role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling");
  });

  it("lets only the retention function deregister images, only images tagged with this app", () => {
    const all = ["PrepareDeployFunction", "LaunchReleaseGroupFunction", "RollbackFunction", "ApplyImageRetentionFunction", "NotifyFunction"];
    for (const prefix of all) {
      const deregister = statementsOf(t, prefix).filter((s) => actionsOf(s).includes("ec2:DeregisterImage"));
      if (prefix === "ApplyImageRetentionFunction") {
        expect(deregister).toHaveLength(1);
        expect(deregister[0].Condition?.StringEquals).toEqual({ [`aws:ResourceTag/${TAG.app}`]: "webapp" });
      } else {
        expect(deregister, prefix).toHaveLength(0);
      }
    }
  });

  it("never grants a wildcard action", () => {
    const policies = Object.values(t.findResources("AWS::IAM::Policy"));
    for (const p of policies)
      for (const s of p.Properties.PolicyDocument.Statement as Statement[])
        for (const a of actionsOf(s)) expect(a, JSON.stringify(s)).not.toMatch(/^(\*|[a-z0-9-]+:\*)$/);
  });

  it("bakes in CodeBuild with the stage's variables and an encryption key", () => {
    t.hasResourceProperties("AWS::CodeBuild::Project", {
      Source: Match.objectLike({ Type: "S3", BuildSpec: "buildspec.yml" }),
      EncryptionKey: Match.anyValue(),
      Environment: Match.objectLike({
        EnvironmentVariables: Match.arrayWith([
          Match.objectLike({ Name: "APP", Value: "webapp" }),
          Match.objectLike({ Name: "ENVIRONMENT", Value: "dev01" }),
          Match.objectLike({ Name: "BAKE_SECURITY_GROUP_ID" }),
          Match.objectLike({ Name: "BAKE_INSTANCE_PROFILE" }),
        ]),
      }),
    });
    // The bake instance's security group has no ingress at all.
    const bakeGroup = Object.entries(t.findResources("AWS::EC2::SecurityGroup")).find(([id]) => id.startsWith("BakeSecurityGroup"))!;
    expect(bakeGroup[1].Properties.SecurityGroupIngress).toBeUndefined();
  });

  it("lets the state machine run the bake with exactly the actions Step Functions documents for CodeBuild's .sync", () => {
    // "IAM policies for AWS CodeBuild", Run a Job: StartBuild, StopBuild, BatchGetBuilds on the project, plus the
    // managed EventBridge rule. aws-cdk-lib also adds codebuild:BatchGetReports, whose only resource type is a
    // report group (Service Authorization Reference), so definition.ts removes it.
    const machineRole = Object.values(t.findResources("AWS::StepFunctions::StateMachine"))[0]!.Properties.RoleArn["Fn::GetAtt"][0];
    const statements = Object.values(t.findResources("AWS::IAM::Policy"))
      .filter((p) => p.Properties.Roles.some((r: { Ref: string }) => r.Ref === machineRole))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
    const codeBuildActions = statements.flatMap(actionsOf).filter((action) => action.startsWith("codebuild:"));
    expect(codeBuildActions.sort()).toEqual(["codebuild:BatchGetBuilds", "codebuild:StartBuild", "codebuild:StopBuild"]);
    const projectStatement = statements.find((s) => actionsOf(s).includes("codebuild:StartBuild"))!;
    const [project] = Object.keys(t.findResources("AWS::CodeBuild::Project"));
    expect(projectStatement.Resource).toEqual({ "Fn::GetAtt": [project, "Arn"] });
  });

  it("publishes every end of a deploy: Step Functions' status changes to a terminal status invoke the notify function", () => {
    // Prepare: the rule on aws.states events of this state machine, and the notify function's logical id.
    const notifyId = Object.keys(t.findResources("AWS::Lambda::Function")).find((id) => id.startsWith("NotifyFunction"));
    const rules = Object.values(t.findResources("AWS::Events::Rule")).filter((rule) => rule.Properties.EventPattern.source?.[0] === "aws.states");
    // Assess
    expect(rules).toHaveLength(1);
    expect(rules[0].Properties.EventPattern).toEqual({
      source: ["aws.states"],
      "detail-type": ["Step Functions Execution Status Change"],
      detail: { stateMachineArn: [{ Ref: expect.stringMatching(/^Deploy/) }], status: ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"] },
    });
    expect(rules[0].Properties.Targets).toEqual([expect.objectContaining({ Arn: { "Fn::GetAtt": [notifyId, "Arn"] } })]);
    t.hasResourceProperties("AWS::Lambda::Permission", { Action: "lambda:InvokeFunction", Principal: "events.amazonaws.com", FunctionName: { "Fn::GetAtt": [notifyId, "Arn"] } });
    // It reads the outcome from Step Functions, and no state of the definition invokes it.
    const notifyActions = statementsOf(t, "NotifyFunction").flatMap(actionsOf);
    expect(notifyActions).toEqual(expect.arrayContaining(["states:DescribeExecution", "states:GetExecutionHistory", "sns:Publish", "events:PutEvents"]));
    const definition = JSON.stringify(Object.values(t.findResources("AWS::StepFunctions::StateMachine"))[0].Properties.DefinitionString);
    expect(definition).not.toContain(notifyId);
  });

  it("publishes outcomes to an encrypted SNS topic and outputs what users need to start a deploy", () => {
    t.hasResourceProperties("AWS::SNS::Topic", { KmsMasterKeyId: Match.anyValue() });
    expect(Object.keys(t.toJSON().Outputs)).toEqual(
      expect.arrayContaining(["ArtifactBucket", "ReleasePrefix", "StateMachineArn", "LockTable", "OutcomeTopic", "BakeProject"]),
    );
  });
});

describe("Pipeline stack (classic01)", () => {
  it("attaches groups to the classic ELB and reads instance health from it", async () => {
    const app = await synthesizeApp("classic01");
    const t = Template.fromJSON(app.template("Pipeline"));
    const rollback = statementsOf(t, "RollbackFunction").flatMap(actionsOf);
    expect(rollback).toContain("autoscaling:AttachLoadBalancers");
    expect(rollback).not.toContain("autoscaling:AttachLoadBalancerTargetGroups");
    expect(statementsOf(t, "CheckLoadBalancerHealthFunction").flatMap(actionsOf)).toContain(
      "elasticloadbalancing:DescribeInstanceHealth",
    );
  });
});
