import { describe, expect, it } from "vitest";
import { checkCall, checkModelSources, modeledErrors } from "./serviceModels.js";

const models = checkModelSources();

/** A CreateAutoScalingGroup input as launchReleaseGroup sends it (recorded in the simulator). */
const createGroup = () => ({
  AutoScalingGroupName: "webapp-dev01-v1-6584094c",
  LaunchTemplate: { LaunchTemplateId: "lt-00000000000000001", Version: "2" },
  VPCZoneIdentifier: "subnet-00000000000000001,subnet-00000000000000002",
  MinSize: 1,
  DesiredCapacity: 2,
  MaxSize: 4,
  HealthCheckType: "ELB",
  HealthCheckGracePeriod: 300,
  TargetGroupARNs: ["arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/webapp-dev01/0000000000000001"],
  Tags: [{ ResourceId: "webapp-dev01-v1-6584094c", ResourceType: "auto-scaling-group", Key: "immutable-deploy:app", Value: "webapp", PropagateAtLaunch: true }],
});

describe.skipIf(!models.available)(`checkCall against the published service models${models.reason}`, () => {
  it("accepts a well-formed input", () => {
    // Prepare / Act
    const check = checkCall("AutoScaling", "CreateAutoScalingGroup", createGroup());
    // Assess
    expect(check.problems).toEqual([]);
  });

  it("rejects an unknown service and an unknown operation", () => {
    expect(checkCall("Lambda" as never, "Invoke", {}).problems[0]).toMatch(/unknown service "Lambda"/);
    expect(checkCall("AutoScaling", "CreateAutoScalingGroups", {}).problems).toEqual(["AutoScaling has no operation CreateAutoScalingGroups"]);
  });

  it("reports missing required members and unknown member names, with what is allowed", () => {
    // Prepare
    const { MaxSize: _dropped, ...input } = { ...createGroup(), LaunchTemplateName: "web" };
    // Act
    const { problems } = checkCall("AutoScaling", "CreateAutoScalingGroup", input);
    // Assess
    expect(problems).toContain("input: required member MaxSize is missing");
    expect(problems.find((p) => p.startsWith("input: unknown member LaunchTemplateName"))).toMatch(/allowed: AutoScalingGroupName, .*LaunchTemplate,/);
  });

  it("checks types: structure, list, map, string, integer, boolean, timestamp, blob", () => {
    // Prepare
    const badTypes = { ...createGroup(), MinSize: "1", TargetGroupARNs: "arn:aws:...", NewInstancesProtectedFromScaleIn: "yes", LaunchTemplate: ["lt-1"] };
    // Act
    const group = checkCall("AutoScaling", "CreateAutoScalingGroup", badTypes).problems;
    const scheduled = checkCall("AutoScaling", "PutScheduledUpdateGroupAction", { AutoScalingGroupName: "g", ScheduledActionName: "s", StartTime: "2026-01-01T00:00:00Z" }).problems;
    const item = checkCall("DynamoDB", "PutItem", { TableName: "locks", Item: [{ S: "x" }] }).problems;
    const blob = checkCall("DynamoDB", "PutItem", { TableName: "locks", Item: { data: { B: "text" }, ok: { B: new Uint8Array([1]) }, n: { N: 5 } } }).problems;
    // Assess
    expect(group).toEqual(
      expect.arrayContaining([
        'input.MinSize: expected an integer, got the string "1"',
        'input.TargetGroupARNs: expected a list, got the string "arn:aws:..."',
        'input.NewInstancesProtectedFromScaleIn: expected a boolean, got the string "yes"',
        "input.LaunchTemplate: expected a structure, got an array",
      ]),
    );
    expect(scheduled).toEqual(['input.StartTime: expected a timestamp (a valid Date in SDK v3), got the string "2026-01-01T00:00:00Z"']);
    expect(item).toEqual(["input.Item: expected a map, got an array"]);
    expect(blob).toEqual(['input.Item["data"].B: expected a blob (a Uint8Array in SDK v3), got the string "text"', 'input.Item["n"].N: expected a string, got number 5']);
  });

  it("checks botocore's min/max, pattern and enum constraints", () => {
    // Prepare
    const input = { ...createGroup(), HealthCheckType: "E".repeat(33), AutoScalingGroupName: "bad\u0001name" };
    const template = {
      LaunchTemplateId: "lt-00000000000000001",
      LaunchTemplateData: { TagSpecifications: [{ ResourceType: "instancee", Tags: [{ Key: "a", Value: "b" }] }] },
    };
    // Act
    const group = checkCall("AutoScaling", "CreateAutoScalingGroup", input).problems;
    const table = checkCall("DynamoDB", "GetItem", { TableName: "ab", Key: { id: { S: "x" } } }).problems;
    const version = checkCall("EC2", "CreateLaunchTemplateVersion", template).problems;
    // Assess
    expect(group).toContain("input.HealthCheckType: 33 characters, at most 32 allowed");
    expect(group.find((p) => p.startsWith("input.AutoScalingGroupName:"))).toMatch(/does not match the pattern/);
    expect(table).toEqual(["input.TableName: 2 characters, at least 3 allowed"]);
    expect(version).toHaveLength(1);
    expect(version[0]).toMatch(/^input\.LaunchTemplateData\.TagSpecifications\[0\]\.ResourceType: "instancee" is not one of ResourceType: .*\binstance\b/);
  });

  it("prefers the newer aws-sdk v2 model for existence and notes where botocore (2022) disagrees", () => {
    // DescribeImages' MaxResults came after December 2022.
    const check = checkCall("EC2", "DescribeImages", { Owners: ["self"], MaxResults: 100 });
    expect(check.problems).toEqual([]);
    expect(check.notes).toEqual(["input.MaxResults: only in aws-sdk v2, not in botocore 2022; constraints unchecked"]);
  });

  it("takes a member only the SDK v3 client declares (newer than both models), type-checked, and noted", () => {
    // DeregisterImage's DeleteAssociatedSnapshots: in @aws-sdk/client-ec2, not in aws-sdk 2.1693 nor botocore 1.29.
    const accepted = checkCall("EC2", "DeregisterImage", { ImageId: "ami-0123456789abcdef0", DeleteAssociatedSnapshots: true });
    expect(accepted.problems).toEqual([]);
    expect(accepted.notes).toEqual([
      "input.DeleteAssociatedSnapshots: only in the SDK v3 client (@aws-sdk/client-ec2), not in aws-sdk v2 or botocore 2022; type checked, constraints unchecked",
    ]);
    expect(checkCall("EC2", "DeregisterImage", { ImageId: "ami-0123456789abcdef0", DeleteAssociatedSnapshots: "yes" }).problems).toEqual([
      'input.DeleteAssociatedSnapshots: the string "yes", the SDK v3 client declares boolean',
    ]);
    expect(checkCall("EC2", "DeregisterImage", { ImageId: "ami-0123456789abcdef0", DeleteAllSnapshots: true }).problems).toEqual([
      "input: unknown member DeleteAllSnapshots; allowed: ImageId, DryRun",
    ]);
  });

  it("lists modeled errors with shape name and wire code", () => {
    expect(modeledErrors("AutoScaling")).toContainEqual({ shape: "ScalingActivityInProgressFault", code: "ScalingActivityInProgress", source: "botocore 1.29" });
    expect(modeledErrors("ELB")).toContainEqual({ shape: "AccessPointNotFoundException", code: "LoadBalancerNotFound", source: "botocore 1.29" });
    // Newer than botocore 1.29: only the installed SDK v3 client knows it (JSON protocol: the wire code is the shape name).
    expect(modeledErrors("DynamoDB")).toContainEqual({ shape: "ThrottlingException", code: "ThrottlingException", source: "SDK v3 client" });
  });
});
