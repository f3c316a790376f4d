import "aws-sdk-client-mock-vitest/extend";
import {
  AutoScalingClient,
  CreateAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeLifecycleHooksCommand,
  DescribePoliciesCommand,
  DescribeScheduledActionsCommand,
  DescribeWarmPoolCommand,
  SuspendProcessesCommand,
} from "@aws-sdk/client-auto-scaling";
import {
  CreateLaunchTemplateVersionCommand,
  DescribeLaunchTemplateVersionsCommand,
  EC2Client,
} from "@aws-sdk/client-ec2";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { handler, launchReleaseGroup } from "../../functions/launchReleaseGroup.js";
import { resetClock, setClock } from "../../functions/lib/clock.js";
import { ERROR, TAG } from "../../functions/lib/names.js";
import {
  awsError,
  CLASSIC_LB_NAME,
  deployState,
  EXECUTION_ID,
  givenLockHeldBy,
  group,
  IMAGE_ID,
  instances,
  LAUNCH_TEMPLATE_ID,
  lambdaContext,
  NEW_GROUP,
  NOW,
  OLD_GROUP,
  ALTERNATE_TARGET_GROUP_ARN,
  givenRouting,
  TARGET_GROUP_ARN,
} from "./fixtures.js";

const autoScalingMock = mockClient(AutoScalingClient);
const dynamoMock = mockClient(DynamoDBClient);
const lockHeldBy = (holder: string) => givenLockHeldBy(dynamoMock, holder);
const ec2Mock = mockClient(EC2Client);
// The live group's configuration is read and carried over (functions/lib/groupConfiguration.ts, tested on the
// simulated region in groupConfiguration.test.ts); here no live group is visible unless a test says so.
const cloudWatchMock = mockClient(CloudWatchClient);
// Where traffic goes now: the new group is attached to the target group that gets none.
const elbv2Mock = mockClient(ElasticLoadBalancingV2Client);
const DESCRIPTION = `immutable-deploy group ${NEW_GROUP}`;
const CREATED = NOW - 100;
const HEALTHY_BY = CREATED + 900 + 900;

/** A state as Launch receives it: no $.launch yet. */
const launchState = (kind: "application" | "classic" = "application") => deployState(kind, { launch: undefined });

function givenNoVersionYet() {
  ec2Mock.on(DescribeLaunchTemplateVersionsCommand, { Filters: [{ Name: "image-id", Values: [IMAGE_ID] }] }).resolves({ LaunchTemplateVersions: [] });
  ec2Mock.on(DescribeLaunchTemplateVersionsCommand, { Versions: ["$Default"] }).resolves({
    LaunchTemplateVersions: [
      {
        VersionNumber: 1,
        DefaultVersion: true,
        LaunchTemplateData: { TagSpecifications: [{ ResourceType: "instance", Tags: [{ Key: "Team", Value: "web" }] }] },
      },
    ],
  });
  ec2Mock.on(CreateLaunchTemplateVersionCommand).resolves({ LaunchTemplateVersion: { VersionNumber: 5 } });
}

const createdGroup = (kind: "application" | "classic" = "application", targetGroupArn = ALTERNATE_TARGET_GROUP_ARN) =>
  group(NEW_GROUP, {
    kind,
    CreatedTime: new Date(CREATED * 1000),
    LaunchTemplate: { LaunchTemplateId: LAUNCH_TEMPLATE_ID, Version: "5" },
    ...(kind === "application" && { TargetGroupARNs: [targetGroupArn] }),
  });

beforeEach(() => {
  autoScalingMock.reset();
  autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [] });
  cloudWatchMock.reset();
  elbv2Mock.reset();
  givenRouting(elbv2Mock);
  dynamoMock.reset();
  lockHeldBy(EXECUTION_ID);
  ec2Mock.reset();
  setClock(() => NOW * 1000);
});
afterEach(() => resetClock());

describe("launchReleaseGroup", () => {
  it("launches nothing when another deploy has taken the lock over (a late redrive)", async () => {
    // Prepare
    lockHeldBy("arn:aws:states:us-east-1:123456789012:execution:deploy:run-2");

    // Act
    const attempt = launchReleaseGroup(deployState());

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: ERROR.lockLost });
    expect(ec2Mock).not.toHaveReceivedCommand(CreateLaunchTemplateVersionCommand);
    expect(autoScalingMock).not.toHaveReceivedCommand(CreateAutoScalingGroupCommand);
  });

  it("creates a launch template version from $Default with the image and release tags, keeping the template's tags", async () => {
    // Prepare
    givenNoVersionYet();
    autoScalingMock.on(CreateAutoScalingGroupCommand).resolves({});
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [createdGroup()] });

    // Act
    await launchReleaseGroup(launchState());

    // Assess
    const create = ec2Mock.commandCalls(CreateLaunchTemplateVersionCommand)[0].args[0].input;
    expect(create).toMatchObject({ LaunchTemplateId: LAUNCH_TEMPLATE_ID, SourceVersion: "$Default", VersionDescription: DESCRIPTION });
    expect(create.ClientToken?.length).toBeLessThanOrEqual(64);
    expect(create.LaunchTemplateData?.ImageId).toBe(IMAGE_ID);
    const instanceTags = create.LaunchTemplateData?.TagSpecifications?.find((spec) => spec.ResourceType === "instance")?.Tags;
    expect(instanceTags).toEqual(
      expect.arrayContaining([
        { Key: "Team", Value: "web" },
        { Key: TAG.app, Value: "shop" },
        { Key: TAG.environment, Value: "dev01" },
        { Key: TAG.release, Value: "v2" },
        { Key: TAG.role, Value: "release" },
      ]),
    );
    const volumeTags = create.LaunchTemplateData?.TagSpecifications?.find((spec) => spec.ResourceType === "volume")?.Tags;
    expect(volumeTags).toContainEqual({ Key: TAG.release, Value: "v2" });
  });

  it.each([
    ["application" as const, { TargetGroupARNs: [ALTERNATE_TARGET_GROUP_ARN] }, ALTERNATE_TARGET_GROUP_ARN],
    ["classic" as const, { LoadBalancerNames: [CLASSIC_LB_NAME] }, CLASSIC_LB_NAME],
  ])("creates the group pinned to the new version and attached to the %s load balancer (ALB: the target group without traffic)", async (kind, attachment, target) => {
    // Prepare
    givenNoVersionYet();
    autoScalingMock.on(CreateAutoScalingGroupCommand).resolves({});
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [createdGroup(kind)] });

    // Act
    const result = await launchReleaseGroup(launchState(kind));

    // Assess
    expect(autoScalingMock).toHaveReceivedCommandWith(CreateAutoScalingGroupCommand, {
      AutoScalingGroupName: NEW_GROUP,
      LaunchTemplate: { LaunchTemplateId: LAUNCH_TEMPLATE_ID, Version: "5" },
      VPCZoneIdentifier: "subnet-a,subnet-b",
      MinSize: 1,
      DesiredCapacity: 2,
      MaxSize: 4,
      HealthCheckType: "ELB",
      HealthCheckGracePeriod: 300,
      ...attachment,
    });
    const input = autoScalingMock.commandCalls(CreateAutoScalingGroupCommand)[0].args[0].input;
    expect(input.Tags).toContainEqual(expect.objectContaining({ Key: TAG.release, Value: "v2", PropagateAtLaunch: true }));
    expect(input.Tags).toContainEqual(expect.objectContaining({ Key: TAG.execution, Value: EXECUTION_ID }));
    expect(result).toEqual({
      groupName: NEW_GROUP,
      target,
      launchTemplateVersion: "5",
      desiredCapacity: 2,
      healthyBy: HEALTHY_BY,
      message: `launch: ${NEW_GROUP} with 2 instance(s) (configured 2)`,
    });
  });

  it("attaches the new group to the first target group when the pipeline's rule sends all traffic to the second", async () => {
    // Prepare: the last deploy's group serves from the alternate target group (the rule at 100 % there).
    givenRouting(elbv2Mock, 100);
    givenNoVersionYet();
    autoScalingMock.on(CreateAutoScalingGroupCommand).resolves({});
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [createdGroup("application", TARGET_GROUP_ARN)] });

    // Act
    const result = await launchReleaseGroup(launchState());

    // Assess
    expect(autoScalingMock).toHaveReceivedCommandWith(CreateAutoScalingGroupCommand, { TargetGroupARNs: [TARGET_GROUP_ARN] });
    expect(result.target).toBe(TARGET_GROUP_ARN);
  });

  it("takes min, desired and max each from the larger of the configuration and the live group as it is now", async () => {
    // Prepare: Prepare saw 2; since then an operator raised the live group's max to 6 and scaled it to 5.
    givenNoVersionYet();
    autoScalingMock.on(CreateAutoScalingGroupCommand).resolves({});
    autoScalingMock.on(DescribeAutoScalingGroupsCommand, { AutoScalingGroupNames: [NEW_GROUP] }).resolves({ AutoScalingGroups: [createdGroup()] });
    autoScalingMock
      .on(DescribeAutoScalingGroupsCommand, { AutoScalingGroupNames: [OLD_GROUP] })
      .resolves({ AutoScalingGroups: [group(OLD_GROUP, { MinSize: 1, DesiredCapacity: 5, MaxSize: 6, Instances: instances(5, "InService", "Healthy", "i-old") })] });
    autoScalingMock.on(DescribePoliciesCommand).resolves({ ScalingPolicies: [] });
    autoScalingMock.on(DescribeScheduledActionsCommand).resolves({ ScheduledUpdateGroupActions: [] });
    autoScalingMock.on(DescribeLifecycleHooksCommand).resolves({ LifecycleHooks: [] });
    autoScalingMock.on(DescribeWarmPoolCommand).resolves({});
    const state = launchState();
    state.settings.capacity = { min: 3, desired: 3, max: 4 };

    // Act
    const result = await launchReleaseGroup(state);

    // Assess
    expect(autoScalingMock).toHaveReceivedCommandWith(CreateAutoScalingGroupCommand, { MinSize: 3, DesiredCapacity: 5, MaxSize: 6 });
    expect(result.message).toContain("(configured 3, live 5)");
    // Nothing on the live group can scale it: nothing to hold.
    expect(autoScalingMock).not.toHaveReceivedCommand(SuspendProcessesCommand);
  });

  it("after a crash between the version and the group, re-run creates only the group", async () => {
    // Prepare: version exists, group does not.
    ec2Mock.on(DescribeLaunchTemplateVersionsCommand).resolves({
      LaunchTemplateVersions: [
        { VersionNumber: 7, VersionDescription: "immutable-deploy group another-group", LaunchTemplateData: { ImageId: IMAGE_ID } },
        { VersionNumber: 5, VersionDescription: DESCRIPTION, LaunchTemplateData: { ImageId: IMAGE_ID } },
      ],
    });
    autoScalingMock.on(CreateAutoScalingGroupCommand).resolves({});
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [createdGroup()] });

    // Act
    const result = await launchReleaseGroup(launchState());

    // Assess
    expect(ec2Mock).not.toHaveReceivedCommand(CreateLaunchTemplateVersionCommand);
    expect(autoScalingMock).toHaveReceivedCommandTimes(CreateAutoScalingGroupCommand, 1);
    expect(result.launchTemplateVersion).toBe("5");
  });

  it("pages through launch template versions", async () => {
    // Prepare
    ec2Mock
      .on(DescribeLaunchTemplateVersionsCommand)
      .resolvesOnce({ LaunchTemplateVersions: [{ VersionNumber: 2, VersionDescription: "manual" }], NextToken: "page-2" })
      .resolvesOnce({ LaunchTemplateVersions: [{ VersionNumber: 5, VersionDescription: DESCRIPTION, LaunchTemplateData: { ImageId: IMAGE_ID } }] });
    autoScalingMock.on(CreateAutoScalingGroupCommand).resolves({});
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [createdGroup()] });

    // Act
    const result = await launchReleaseGroup(launchState());

    // Assess
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeLaunchTemplateVersionsCommand, { NextToken: "page-2" });
    expect(result.launchTemplateVersion).toBe("5");
  });

  it("refuses to adopt a group of the same name that another execution created", async () => {
    // Prepare
    givenNoVersionYet();
    autoScalingMock.on(CreateAutoScalingGroupCommand).rejects(awsError("AlreadyExistsFault"));
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [group(NEW_GROUP, { Tags: [{ Key: TAG.execution, Value: "arn:other-execution" }] })],
    });

    // Act
    const launch = launchReleaseGroup(launchState());

    // Assess
    await expect(launch).rejects.toMatchObject({ name: ERROR.launchFailed, message: expect.stringContaining("arn:other-execution") });
  });

  it("reports an invalid image as LaunchFailed with the AWS message", async () => {
    // Prepare
    ec2Mock.on(DescribeLaunchTemplateVersionsCommand).resolves({ LaunchTemplateVersions: [] });
    ec2Mock.on(CreateLaunchTemplateVersionCommand).rejects(awsError("InvalidAMIID.NotFound", "The image id '[ami-0new]' does not exist"));

    // Act
    const launch = launchReleaseGroup(launchState());

    // Assess
    await expect(launch).rejects.toMatchObject({ name: ERROR.launchFailed, message: expect.stringContaining("does not exist") });
    expect(autoScalingMock).not.toHaveReceivedCommand(CreateAutoScalingGroupCommand);
  });

  it("right after the version was created, 'not a fully-formed launch template' is eventual consistency: NotYetVisible (retried)", async () => {
    // Prepare: the version was just created (CreateTime now); Auto Scaling does not see it yet.
    givenNoVersionYet();
    ec2Mock.on(CreateLaunchTemplateVersionCommand).resolves({ LaunchTemplateVersion: { VersionNumber: 5, CreateTime: new Date(NOW * 1000) } });
    autoScalingMock.on(CreateAutoScalingGroupCommand).rejects(awsError("ValidationError", "You must use a valid fully-formed launch template. The specified launch template version does not exist."));

    // Act
    const launch = launchReleaseGroup(launchState());

    // Assess
    await expect(launch).rejects.toMatchObject({ name: ERROR.notYetVisible, message: expect.stringContaining("launch template version 5 (created 0 s ago) is not usable by Auto Scaling yet") });
  });

  it("minutes after the version was created, the same answer is a real rejection: LaunchFailed", async () => {
    // Prepare: an earlier run created the version 301 s ago (LAUNCH_TEMPLATE_SETTLE_SECONDS is 300).
    ec2Mock.on(DescribeLaunchTemplateVersionsCommand).resolves({
      LaunchTemplateVersions: [{ VersionNumber: 5, VersionDescription: DESCRIPTION, CreateTime: new Date((NOW - 301) * 1000), LaunchTemplateData: { ImageId: IMAGE_ID } }],
    });
    autoScalingMock.on(CreateAutoScalingGroupCommand).rejects(awsError("ValidationError", "You must use a valid fully-formed launch template. The image id '[ami-0new]' does not exist"));

    // Act
    const launch = launchReleaseGroup(launchState());

    // Assess
    await expect(launch).rejects.toMatchObject({ name: ERROR.launchFailed, message: expect.stringContaining("fully-formed") });
  });

  it("reports a service-linked role failure (HTTP 500) as LaunchFailed naming the missing permission, not as transient", async () => {
    // Prepare: the account's first group, and a role without iam:CreateServiceLinkedRole.
    givenNoVersionYet();
    autoScalingMock
      .on(CreateAutoScalingGroupCommand)
      .rejects(awsError("ServiceLinkedRoleFailure", "Service-linked role AWSServiceRoleForAutoScaling could not be created", 500));

    // Act
    const viaHandler = handler(launchState(), lambdaContext);

    // Assess
    await expect(viaHandler).rejects.toMatchObject({
      name: ERROR.launchFailed,
      message: expect.stringContaining("needs iam:CreateServiceLinkedRole on role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling with iam:AWSServiceName=autoscaling.amazonaws.com"),
    });
  });

  it("lets throttling propagate, and the handler re-throws it as TransientAwsError", async () => {
    // Prepare
    givenNoVersionYet();
    autoScalingMock.on(CreateAutoScalingGroupCommand).rejects(awsError("Throttling", "Rate exceeded"));

    // Act
    const plain = launchReleaseGroup(launchState());
    const viaHandler = handler(launchState(), lambdaContext);

    // Assess
    await expect(plain).rejects.toMatchObject({ name: "Throttling" });
    await expect(viaHandler).rejects.toMatchObject({ name: ERROR.transientAws });
  });
});
