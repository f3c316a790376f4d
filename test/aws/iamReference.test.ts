import { beforeAll, describe, expect, it } from "vitest";
import { loadStageConfig, STAGES } from "../../stacks/config.js";
import { STACK_IDS, synthesizeApp } from "../../stacks/synthesize.js";
import {
  checkCompanionPermissions,
  checkStatement,
  checkTemplatePolicies,
  collectExports,
  renderValue,
  resourceFitsFormat,
  type RenderContext,
} from "./iamReference.js";

/**
 * Defects on the code as it is, exact, as `<stack>: <policy>[<statement>] <problem>` or `<stack>: <role>:
 * <companion problem>`, each to be fixed in stacks/ and then removed here. A finding not listed fails the test,
 * and so does a listed one that is no longer found: the list only shrinks. Issue 10's five (CreateTags under
 * ec2:LaunchTemplate, image and snapshot ARNs with an account, CDK's BatchGetReports on the project, no
 * iam:CreateServiceLinkedRole for the first group) are fixed; none is left.
 */
const KNOWN_FINDINGS: string[] = [];

const context = (template: object): RenderContext => ({ partition: "aws", region: "us-east-1", account: "123456789012", template, stackName: "stack" });

describe("IAM policies of every configured stage fit the Service Authorization Reference", () => {
  const findingsByStage = new Map<string, string[]>();
  const uncheckedByStage = new Map<string, string[]>();

  beforeAll(async () => {
    for (const stage of Object.keys(STAGES)) {
      const app = await synthesizeApp(stage);
      const base = (id: (typeof STACK_IDS)[number]) => ({ partition: "aws", region: loadStageConfig(stage).region, account: "123456789012", stackName: app.stackName(id) });
      const exports = collectExports(STACK_IDS.map((id) => ({ template: app.template(id), context: base(id) })));
      const findings: string[] = [];
      const unchecked: string[] = [];
      for (const id of STACK_IDS) {
        const template = app.template(id);
        const check = await checkTemplatePolicies(template, { ...base(id), exports });
        findings.push(...check.findings.map((f) => `${id}: ${f}`), ...(await checkCompanionPermissions(template)).map((f) => `${id}: ${f}`));
        unchecked.push(...check.unchecked.map((u) => `${id}: ${u}`));
      }
      findingsByStage.set(stage, findings);
      uncheckedByStage.set(stage, unchecked);
    }
  }, 300_000);

  it.each(Object.keys(STAGES))("%s: no finding beyond the known ones", (stage) => {
    expect(findingsByStage.get(stage)!.filter((f) => !KNOWN_FINDINGS.includes(f))).toEqual([]);
  });

  it("every known finding is still found (remove the fixed ones)", () => {
    const all = new Set([...findingsByStage.values()].flat());
    expect(KNOWN_FINDINGS.filter((known) => !all.has(known))).toEqual([]);
  });

  it.each(Object.keys(STAGES))("%s: every resource and value renders; only AWS managed policies stay unchecked", (stage) => {
    // AWS managed policies (AWSLambdaBasicExecutionRole, AmazonSSMManagedInstanceCore) are AWS's to keep right.
    expect(uncheckedByStage.get(stage)!.filter((u) => !/: an AWS managed policy;/.test(u))).toEqual([]);
  });
});

describe("seeded defects fail the IAM check", () => {
  it("an unsupported condition key: ec2:LaunchTemplate on ec2:CreateTags", async () => {
    // Prepare
    const statement = { Effect: "Allow", Action: "ec2:CreateTags", Resource: "*", Condition: { StringEquals: { "ec2:LaunchTemplate": "arn:aws:ec2:us-east-1:123456789012:launch-template/lt-1" } } };
    // Act
    const { problems } = await checkStatement(statement);
    // Assess
    expect(problems).toEqual([
      "ec2:CreateTags: condition key ec2:LaunchTemplate (StringEquals) is not supported by the action or its resource types, so the request never carries it and the statement never matches",
    ]);
  });

  it("the same key where RunInstances supports it passes", async () => {
    const statement = { Effect: "Allow", Action: "ec2:RunInstances", Resource: "*", Condition: { StringEquals: { "ec2:LaunchTemplate": "arn:aws:ec2:us-east-1:123456789012:launch-template/lt-1" } } };
    expect((await checkStatement(statement)).problems).toEqual([]);
  });

  it("a wrong ARN type: an image ARN for autoscaling:UpdateAutoScalingGroup", async () => {
    const statement = { Effect: "Allow", Action: "autoscaling:UpdateAutoScalingGroup", Resource: "arn:aws:ec2:us-east-1::image/*" };
    const { problems } = await checkStatement(statement);
    expect(problems).toEqual([
      "autoscaling:UpdateAutoScalingGroup: no resource of the statement fits its resource types (arn:${Partition}:autoscaling:${Region}:${Account}:autoScalingGroup:${GroupId}:autoScalingGroupName/${GroupFriendlyName}); it is granted on nothing",
      "arn:aws:ec2:us-east-1::image/*: fits no resource type of the statement's actions (autoscaling:UpdateAutoScalingGroup)",
    ]);
  });

  it("a non-existent action, and a wildcard that matches none", async () => {
    const statement = { Effect: "Allow", Action: ["ec2:DescribeImagez", "autoscaling:Descibe*", "ec2:Describe*"], Resource: "*" };
    expect((await checkStatement(statement)).problems).toEqual(["ec2:DescribeImagez: ec2 has no action DescribeImagez", "autoscaling:Descibe*: autoscaling:Descibe* matches no autoscaling action"]);
  });

  it("an ARN on an action without resource-level permissions", async () => {
    const statement = { Effect: "Allow", Action: "autoscaling:DescribeAutoScalingGroups", Resource: "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:*:autoScalingGroupName/web-*" };
    expect((await checkStatement(statement)).problems).toEqual([
      "autoscaling:DescribeAutoScalingGroups: supports no resource-level permissions, so it needs Resource \"*\"; arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:*:autoScalingGroupName/web-* never matches",
      "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:*:autoScalingGroupName/web-*: fits no resource type of the statement's actions (autoscaling:DescribeAutoScalingGroups)",
    ]);
  });

  it("aws:RequestTag only where the action lists it; aws:ResourceTag only where its resource type does", async () => {
    const group = "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:*:autoScalingGroupName/web-*";
    const requestTag = { Effect: "Allow", Action: ["autoscaling:CreateAutoScalingGroup", "autoscaling:UpdateAutoScalingGroup"], Resource: group, Condition: { StringEquals: { "aws:RequestTag/team": "web" } } };
    const resourceTag = { Effect: "Allow", Action: "ec2:CreateLaunchTemplateVersion", Resource: "*", Condition: { StringEquals: { "aws:ResourceTag/team": "web", "aws:SecureTransport": "true" } } };
    expect((await checkStatement(requestTag)).problems).toEqual([
      "autoscaling:UpdateAutoScalingGroup: condition key aws:RequestTag/team (StringEquals) is not supported by the action or its resource types, so the request never carries it and the statement never matches",
    ]);
    expect((await checkStatement(resourceTag)).problems).toEqual([]);
  });

  it("a resource-type key on a statement whose other action's resource type lacks it", async () => {
    const statement = {
      Effect: "Allow",
      Action: ["ec2:DeregisterImage", "ec2:DeleteSnapshot"],
      Resource: ["arn:aws:ec2:us-east-1::image/*", "arn:aws:ec2:us-east-1::snapshot/*"],
      Condition: { StringEquals: { "ec2:ImageID": "ami-0123456789abcdef0" } },
    };
    expect((await checkStatement(statement)).problems).toEqual([
      "ec2:DeleteSnapshot: condition key ec2:ImageID (StringEquals) is not supported by the action or its resource types, so the request never carries it and the statement never matches",
    ]);
  });

  it("a condition key that does not exist at all", async () => {
    const statement = { Effect: "Allow", Action: "sns:Publish", Resource: "*", Condition: { StringEquals: { "sns:Topicc": "x" } } };
    expect((await checkStatement(statement)).problems).toEqual(["condition key sns:Topicc (StringEquals): no such key in the reference"]);
  });

  it("a companion permission AWS documents: iam:CreateServiceLinkedRole with CreateAutoScalingGroup", async () => {
    const policy = (actions: string[]) => ({
      Resources: {
        Role: { Type: "AWS::IAM::Role", Properties: {} },
        Policy: { Type: "AWS::IAM::Policy", Properties: { Roles: [{ Ref: "Role" }], PolicyDocument: { Statement: [{ Effect: "Allow", Action: actions, Resource: "*" }] } } },
      },
    });
    const complete = ["autoscaling:CreateAutoScalingGroup", "ec2:RunInstances", "ec2:CreateTags", "iam:PassRole", "iam:CreateServiceLinkedRole"];
    expect(await checkCompanionPermissions(policy(complete))).toEqual([]);
    expect(await checkCompanionPermissions(policy(complete.slice(0, 4)))).toEqual([
      expect.stringMatching(/^Role: allows autoscaling:CreateAutoScalingGroup but not iam:CreateServiceLinkedRole, /),
    ]);
  });
});

describe("CloudFormation values render to plausible ARNs", () => {
  const template = {
    Resources: {
      Locks: { Type: "AWS::DynamoDB::Table", Properties: { TableName: "webapp-dev01-DeployLocks" } },
      Logs: { Type: "AWS::Logs::LogGroup", Properties: {} },
      Topic: { Type: "AWS::SNS::Topic", Properties: {} },
      Param: { Type: "AWS::SSM::Parameter", Properties: {} },
    },
  };

  it("pseudo parameters, Fn::Join, Fn::Sub, Ref and GetAtt Arn of known types", () => {
    const c = context(template);
    expect(renderValue({ "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":s3:::bucket/*"]] }, c)).toEqual({ value: "arn:aws:s3:::bucket/*" });
    expect(renderValue({ "Fn::GetAtt": ["Locks", "Arn"] }, c)).toEqual({ value: "arn:aws:dynamodb:us-east-1:123456789012:table/webapp-dev01-DeployLocks" });
    expect(renderValue({ "Fn::GetAtt": ["Logs", "Arn"] }, c)).toEqual({ value: "arn:aws:logs:us-east-1:123456789012:log-group:Logs:*" });
    expect(renderValue({ Ref: "Topic" }, c)).toEqual({ value: "arn:aws:sns:us-east-1:123456789012:Topic" });
    expect(renderValue({ "Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:m:*" }, c)).toEqual({ value: "arn:aws:states:us-east-1:123456789012:execution:m:*" });
  });

  it("Fn::ImportValue through the exporting stack", () => {
    const exporter = { Resources: { Template: { Type: "AWS::EC2::LaunchTemplate", Properties: {} } }, Outputs: { Out: { Value: { Ref: "Template" }, Export: { Name: "env:TemplateId" } } } };
    const exports = collectExports([{ template: exporter, context: { partition: "aws", region: "us-east-1", account: "123456789012", stackName: "env" } }]);
    const value = { "Fn::Join": ["", ["arn:aws:ec2:us-east-1:123456789012:launch-template/", { "Fn::ImportValue": "env:TemplateId" }]] };
    expect(renderValue(value, { ...context({}), exports })).toEqual({ value: "arn:aws:ec2:us-east-1:123456789012:launch-template/lt-0123456789abcdef0" });
  });

  it("says what it cannot render", () => {
    expect(renderValue({ "Fn::GetAtt": ["Param", "Value"] }, context(template))).toEqual({ unknown: "GetAtt Param.Value (a AWS::SSM::Parameter)" });
    expect(renderValue({ Ref: "SomeParameter" }, context(template))).toEqual({ unknown: "Ref SomeParameter (a parameter or an unknown resource)" });
  });

  it("matches IAM wildcards against ARN formats by segment", () => {
    const group = "arn:${Partition}:autoscaling:${Region}:${Account}:autoScalingGroup:${GroupId}:autoScalingGroupName/${GroupFriendlyName}";
    expect(resourceFitsFormat("arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:*:autoScalingGroupName/webapp-dev01-*", group)).toBe(true);
    expect(resourceFitsFormat("arn:aws:ec2:us-east-1::image/*", "arn:${Partition}:ec2:${Region}::image/${ImageId}")).toBe(true);
    expect(resourceFitsFormat("arn:aws:ec2:us-east-1:123456789012:image/*", "arn:${Partition}:ec2:${Region}::image/${ImageId}")).toBe(false);
    expect(resourceFitsFormat("arn:aws:ec2:*:*:image/*", "arn:${Partition}:ec2:${Region}::image/${ImageId}")).toBe(true);
    expect(resourceFitsFormat("arn:aws:logs:us-east-1:1:log-group:/aws/x:*", "arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}:log-stream:${LogStreamName}")).toBe(true);
  });
});
