import "aws-sdk-client-mock-vitest/extend";
import { createHash } from "node:crypto";
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
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { handler, launchReleaseGroup } from "../../functions/launchReleaseGroup.js";
import { resetClock, setClock } from "../../functions/lib/clock.js";
import { ERROR, TAG } from "../../functions/lib/names.js";
import { SETTLE_POLL } from "../../functions/lib/polling.js";
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
/** When the group the mocks describe was created (an earlier run's): a group created now is not read back. */
const CREATED = NOW - 100;
/** A group created now must be healthy by now + groupHealthySeconds + loadBalancerHealthySeconds. */
const HEALTHY_BY = NOW + 900 + 900;

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
afterEach(() => {
  resetClock();
  vi.useRealTimers();
});

/** Runs a launch on fake timers (its in-function waits for eventual consistency) until it settles. */
async function settledLaunch(launch: Promise<unknown>): Promise<{ value?: unknown; error?: unknown }> {
  const outcome = launch.then((value) => ({ value }), (error: unknown) => ({ error }));
  await vi.runAllTimersAsync();
  return outcome;
}

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
      createdAt: NOW,
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

  it("right after the version was created, 'not a fully-formed launch template' is eventual consistency: asked again each second, then NotYetVisible (retried)", async () => {
    // Prepare: the version was just created (CreateTime now); Auto Scaling does not see it yet.
    vi.useFakeTimers({ toFake: ["setTimeout"] });
    givenNoVersionYet();
    ec2Mock.on(CreateLaunchTemplateVersionCommand).resolves({ LaunchTemplateVersion: { VersionNumber: 5, CreateTime: new Date(NOW * 1000) } });
    autoScalingMock.on(CreateAutoScalingGroupCommand).rejects(awsError("ValidationError", "You must use a valid fully-formed launch template. The specified launch template version does not exist."));

    // Act
    const { error } = await settledLaunch(launchReleaseGroup(launchState()));

    // Assess
    expect(error).toMatchObject({ name: ERROR.notYetVisible, message: expect.stringContaining("launch template version 5 (created 0 s ago) is not usable by Auto Scaling yet") });
    expect(autoScalingMock).toHaveReceivedCommandTimes(CreateAutoScalingGroupCommand, SETTLE_POLL.attempts);
    expect(ec2Mock).toHaveReceivedCommandTimes(CreateLaunchTemplateVersionCommand, 1);
  });

  it("Auto Scaling accepts the new version seconds late: one invocation launches, and does not read the new group back", async () => {
    // Prepare: two refusals of the version; Auto Scaling does not list the new group yet. The clock moves with the waits.
    vi.useFakeTimers({ now: NOW * 1000, toFake: ["setTimeout", "Date"] });
    setClock(() => Date.now());
    givenNoVersionYet();
    ec2Mock.on(CreateLaunchTemplateVersionCommand).resolves({ LaunchTemplateVersion: { VersionNumber: 5, CreateTime: new Date(NOW * 1000) } });
    const notUsableYet = awsError("ValidationError", "You must use a valid fully-formed launch template. The specified launch template version 5 does not exist.");
    autoScalingMock.on(CreateAutoScalingGroupCommand).rejectsOnce(notUsableYet).rejectsOnce(notUsableYet).resolves({});

    // Act
    const { value, error } = await settledLaunch(launchReleaseGroup(launchState()));

    // Assess: the result is what this run created: its version, capacity, target and creation time (the third call's).
    expect(error).toBeUndefined();
    expect(value).toMatchObject({ groupName: NEW_GROUP, launchTemplateVersion: "5", desiredCapacity: 2, target: ALTERNATE_TARGET_GROUP_ARN, createdAt: NOW + 2, healthyBy: NOW + 2 + 900 + 900 });
    expect(autoScalingMock).toHaveReceivedCommandTimes(CreateAutoScalingGroupCommand, 3);
    expect(autoScalingMock).not.toHaveReceivedCommandWith(DescribeAutoScalingGroupsCommand, { AutoScalingGroupNames: [NEW_GROUP] });
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

  describe("the launch template version", () => {
    const givenDefault = (answer: object) => {
      ec2Mock.on(DescribeLaunchTemplateVersionsCommand, { Filters: [{ Name: "image-id", Values: [IMAGE_ID] }] }).resolves({ LaunchTemplateVersions: [] });
      ec2Mock.on(DescribeLaunchTemplateVersionsCommand, { Versions: ["$Default"] }).resolves(answer);
      ec2Mock.on(CreateLaunchTemplateVersionCommand).resolves({ LaunchTemplateVersion: { VersionNumber: 5 } });
      autoScalingMock.on(CreateAutoScalingGroupCommand).resolves({});
      autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [createdGroup()] });
    };
    const OURS = [
      { Key: TAG.app, Value: "shop" },
      { Key: TAG.environment, Value: "dev01" },
      { Key: TAG.release, Value: "v2" },
      { Key: TAG.role, Value: "release" },
    ];
    const created = () => ec2Mock.commandCalls(CreateLaunchTemplateVersionCommand)[0].args[0].input;

    it("keeps the template's other tag specifications, replaces its values of our keys, and names the request by template, group and image", async () => {
      // Prepare: $Default tags instances (one of our keys among them) and network interfaces, not volumes.
      givenDefault({
        LaunchTemplateVersions: [
          {
            VersionNumber: 1,
            LaunchTemplateData: {
              TagSpecifications: [
                { ResourceType: "instance", Tags: [{ Key: "Team", Value: "web" }, { Key: TAG.release, Value: "v0" }] },
                { ResourceType: "network-interface", Tags: [{ Key: "Team", Value: "web" }] },
              ],
            },
          },
        ],
      });

      // Act
      await launchReleaseGroup(launchState());

      // Assess
      expect(created().LaunchTemplateData?.TagSpecifications).toEqual([
        { ResourceType: "network-interface", Tags: [{ Key: "Team", Value: "web" }] },
        { ResourceType: "instance", Tags: [{ Key: "Team", Value: "web" }, ...OURS] },
        { ResourceType: "volume", Tags: OURS },
      ]);
      expect(created().ClientToken).toBe(createHash("sha256").update(`${LAUNCH_TEMPLATE_ID}|${NEW_GROUP}|${IMAGE_ID}`).digest("hex"));
    });

    it.each([
      ["no versions", {}],
      ["a version without data", { LaunchTemplateVersions: [{ VersionNumber: 1 }] }],
    ])("with $Default answering %s, tags with ours alone", async (_, answer) => {
      // Prepare
      givenDefault(answer);

      // Act
      await launchReleaseGroup(launchState());

      // Assess
      expect(created().LaunchTemplateData?.TagSpecifications).toEqual([
        { ResourceType: "instance", Tags: OURS },
        { ResourceType: "volume", Tags: OURS },
      ]);
    });

    it("reuses only a version made for this group with this image", async () => {
      // Prepare: another group's version of the image, this group's version of another image, one without data.
      ec2Mock.on(DescribeLaunchTemplateVersionsCommand, { Filters: [{ Name: "image-id", Values: [IMAGE_ID] }] }).resolves({
        LaunchTemplateVersions: [
          { VersionNumber: 7, VersionDescription: "immutable-deploy group another-group", LaunchTemplateData: { ImageId: IMAGE_ID } },
          { VersionNumber: 6, VersionDescription: DESCRIPTION, LaunchTemplateData: { ImageId: "ami-0other" } },
          { VersionNumber: 8, VersionDescription: DESCRIPTION },
        ],
      });
      ec2Mock.on(DescribeLaunchTemplateVersionsCommand, { Versions: ["$Default"] }).resolves({ LaunchTemplateVersions: [{ VersionNumber: 1 }] });
      ec2Mock.on(CreateLaunchTemplateVersionCommand).resolves({ LaunchTemplateVersion: { VersionNumber: 9 } });
      autoScalingMock.on(CreateAutoScalingGroupCommand).resolves({});
      autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [{ ...createdGroup(), LaunchTemplate: undefined }] });

      // Act
      const result = await launchReleaseGroup(launchState());

      // Assess
      expect(ec2Mock).toHaveReceivedCommandTimes(CreateLaunchTemplateVersionCommand, 1);
      expect(result.launchTemplateVersion).toBe("9");
    });

    it("a reused version is the one the result names when the group does not say which it runs", async () => {
      // Prepare
      ec2Mock.on(DescribeLaunchTemplateVersionsCommand).resolves({ LaunchTemplateVersions: [{ VersionNumber: 5, VersionDescription: DESCRIPTION, LaunchTemplateData: { ImageId: IMAGE_ID } }] });
      autoScalingMock.on(CreateAutoScalingGroupCommand).resolves({});
      autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [{ ...createdGroup(), LaunchTemplate: undefined }] });

      // Act
      const result = await launchReleaseGroup(launchState());

      // Assess
      expect(result.launchTemplateVersion).toBe("5");
    });

    it("fails plainly when EC2 answers a created version without its number", async () => {
      // Prepare
      givenDefault({ LaunchTemplateVersions: [{ VersionNumber: 1 }] });
      ec2Mock.on(CreateLaunchTemplateVersionCommand).resolves({});

      // Act
      const launch = launchReleaseGroup(launchState());

      // Assess
      await expect(launch).rejects.toThrow("CreateLaunchTemplateVersion returned no version number");
    });

    it("a launch template that cannot be read is LaunchFailed naming it, with the AWS error as cause", async () => {
      // Prepare
      const notFound = awsError("InvalidLaunchTemplateId.NotFound", "The specified launch template does not exist");
      ec2Mock.on(DescribeLaunchTemplateVersionsCommand, { Filters: [{ Name: "image-id", Values: [IMAGE_ID] }] }).resolves({ LaunchTemplateVersions: [] });
      ec2Mock.on(DescribeLaunchTemplateVersionsCommand, { Versions: ["$Default"] }).rejects(notFound);

      // Act
      const launch = launchReleaseGroup(launchState());

      // Assess
      await expect(launch).rejects.toMatchObject({ name: ERROR.launchFailed, message: `launch template ${LAUNCH_TEMPLATE_ID}: The specified launch template does not exist`, cause: notFound });
    });

    it("an invalid image is LaunchFailed saying which image, with the AWS error as cause", async () => {
      // Prepare
      const invalid = awsError("InvalidAMIID.NotFound", "The image id '[ami-0new]' does not exist");
      givenDefault({ LaunchTemplateVersions: [{ VersionNumber: 1 }] });
      ec2Mock.on(CreateLaunchTemplateVersionCommand).rejects(invalid);

      // Act
      const launch = launchReleaseGroup(launchState());

      // Assess
      await expect(launch).rejects.toMatchObject({ message: `cannot create a launch template version with image ${IMAGE_ID}: The image id '[ami-0new]' does not exist`, cause: invalid });
    });
  });

  describe("the group", () => {
    beforeEach(() => givenNoVersionYet());

    it("tags the group for the deploy: app, environment, release and Name on its instances, the execution on the group only", async () => {
      // Prepare
      autoScalingMock.on(CreateAutoScalingGroupCommand).resolves({});
      autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [createdGroup()] });

      // Act
      await launchReleaseGroup(launchState());

      // Assess
      const tag = (Key: string, Value: string, PropagateAtLaunch: boolean) => ({ ResourceId: NEW_GROUP, ResourceType: "auto-scaling-group", Key, Value, PropagateAtLaunch });
      expect(autoScalingMock.commandCalls(CreateAutoScalingGroupCommand)[0].args[0].input.Tags).toEqual(
        expect.arrayContaining([
          tag(TAG.app, "shop", true),
          tag(TAG.environment, "dev01", true),
          tag(TAG.release, "v2", true),
          tag(TAG.execution, EXECUTION_ID, false),
          tag("Name", "shop-dev01-v2", true),
        ]),
      );
    });

    it("a re-run reports the group's desired capacity as it is now (scaled out since the first run created it)", async () => {
      // Prepare
      autoScalingMock.on(CreateAutoScalingGroupCommand).rejects(awsError("AlreadyExistsFault"));
      autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [{ ...createdGroup(), DesiredCapacity: 3 }] });

      // Act
      const result = await launchReleaseGroup(launchState());

      // Assess
      expect(result.desiredCapacity).toBe(3);
    });

    it("300 s after the version was created, 'not fully-formed' is no longer eventual consistency", async () => {
      // Prepare
      ec2Mock.on(CreateLaunchTemplateVersionCommand).resolves({ LaunchTemplateVersion: { VersionNumber: 5, CreateTime: new Date((NOW - 300) * 1000) } });
      autoScalingMock.on(CreateAutoScalingGroupCommand).rejects(awsError("ValidationError", "You must use a valid fully-formed launch template."));

      // Act
      const launch = launchReleaseGroup(launchState());

      // Assess
      await expect(launch).rejects.toMatchObject({ name: ERROR.launchFailed, message: `cannot create group ${NEW_GROUP}: You must use a valid fully-formed launch template.` });
    });

    it("a service-linked role failure says how to fix it, with the AWS error as cause", async () => {
      // Prepare
      const failure = awsError("ServiceLinkedRoleFailure", "could not be created", 500);
      autoScalingMock.on(CreateAutoScalingGroupCommand).rejects(failure);

      // Act
      const launch = launchReleaseGroup(launchState());

      // Assess
      await expect(launch).rejects.toMatchObject({
        message:
          `cannot create group ${NEW_GROUP}: Auto Scaling could not create or use its service-linked role (could not be created); ` +
          "the launch function's role needs iam:CreateServiceLinkedRole on role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling " +
          "with iam:AWSServiceName=autoscaling.amazonaws.com, or create the role once: aws iam create-service-linked-role --aws-service-name autoscaling.amazonaws.com",
        cause: failure,
      });
    });

    it.each([
      ["not listed yet (an earlier run created it moments ago)", [], ERROR.notYetVisible, `group ${NEW_GROUP} exists but is not listed yet`],
      ["being deleted", [group(NEW_GROUP, { Status: "Delete in progress", Tags: [{ Key: TAG.execution, Value: EXECUTION_ID }] })], ERROR.stillInUse, `group ${NEW_GROUP} is being deleted; it is created again once it is gone`],
      ["without an execution tag", [group(NEW_GROUP, { Tags: [] })], ERROR.launchFailed, `group ${NEW_GROUP} already exists and belongs to no deploy execution`],
    ])("a group of the new group's name %s: %s", async (_, groups, name, message) => {
      // Prepare
      vi.useFakeTimers({ toFake: ["setTimeout"] });
      autoScalingMock.on(CreateAutoScalingGroupCommand).rejects(awsError("AlreadyExistsFault"));
      autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: groups });

      // Act
      const { error } = await settledLaunch(launchReleaseGroup(launchState()));

      // Assess
      expect(error).toMatchObject({ name, message });
    });
  });

  it.each([
    ["$.image", { image: undefined }],
    ["$.plan", { plan: undefined }],
  ])("refuses a state without %s, naming what it needs", async (_, parts) => {
    // Act
    const launch = launchReleaseGroup(deployState("application", { launch: undefined, ...parts }));

    // Assess
    await expect(launch).rejects.toThrow("launchReleaseGroup needs $.plan and $.image.imageId");
    expect(ec2Mock).not.toHaveReceivedAnyCommand();
  });
});
