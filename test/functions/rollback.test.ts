import "aws-sdk-client-mock-vitest/extend";
import {
  AttachLoadBalancersCommand,
  AttachLoadBalancerTargetGroupsCommand,
  AutoScalingClient,
  DeleteAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
  DetachLoadBalancersCommand,
  DetachLoadBalancerTargetGroupsCommand,
  UpdateAutoScalingGroupCommand,
} from "@aws-sdk/client-auto-scaling";
import { DeleteLaunchTemplateVersionsCommand, DescribeLaunchTemplateVersionsCommand, EC2Client } from "@aws-sdk/client-ec2";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateRuleCommand, ElasticLoadBalancingV2Client, ModifyRuleCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { handler, rollback } from "../../functions/rollback.js";
import { resetClock, setClock } from "../../functions/lib/clock.js";
import { ERROR, TAG } from "../../functions/lib/names.js";
import {
  awsError,
  CLASSIC_LB_NAME,
  deployState,
  EXECUTION_ID,
  givenLockHeldBy,
  group,
  instances,
  lambdaContext,
  LAUNCH_TEMPLATE_ID,
  NEW_GROUP,
  NOW,
  OLD_GROUP,
  oldSnapshot,
  ALTERNATE_TARGET_GROUP_ARN,
  CUTOVER_RULE_ARN,
  givenRouting,
  IMAGE_ID,
  TARGET_GROUP_ARN,
} from "./fixtures.js";

const autoScalingMock = mockClient(AutoScalingClient);
/** Every stage after Lock checks that this execution still holds the lock. */
const dynamoMock = mockClient(DynamoDBClient);
const ec2Mock = mockClient(EC2Client);
const elbv2Mock = mockClient(ElasticLoadBalancingV2Client);

const groupNotFound = (name: string) => awsError("ValidationError", `AutoScalingGroup name not found - AutoScalingGroup '${name}' not found`);
const serving = (kind: "application" | "classic" = "application") =>
  group(OLD_GROUP, { kind, Instances: instances(2, "InService", "Healthy", "i-old") });

function givenGroups(...groups: ReturnType<typeof group>[]) {
  autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: groups });
}

beforeEach(() => {
  dynamoMock.reset();
  givenLockHeldBy(dynamoMock, EXECUTION_ID);
  autoScalingMock.reset();
  ec2Mock.reset();
  elbv2Mock.reset();
  givenRouting(elbv2Mock);
  setClock(() => NOW * 1000);
  ec2Mock.on(DescribeLaunchTemplateVersionsCommand).resolves({
    LaunchTemplateVersions: [
      { VersionNumber: 3, VersionDescription: `immutable-deploy group ${OLD_GROUP}` },
      { VersionNumber: 4, VersionDescription: `immutable-deploy group ${NEW_GROUP}` },
    ],
  });
  ec2Mock.on(DeleteLaunchTemplateVersionsCommand).callsFake((input: { Versions: string[] }) => ({
    SuccessfullyDeletedLaunchTemplateVersions: input.Versions.map((v) => ({ VersionNumber: Number(v) })),
  }));
});
afterEach(() => resetClock());

describe("rollback", () => {
  it.each([
    ["application" as const, DetachLoadBalancerTargetGroupsCommand, { TargetGroupARNs: [TARGET_GROUP_ARN] }],
    ["classic" as const, DetachLoadBalancersCommand, { LoadBalancerNames: [CLASSIC_LB_NAME] }],
  ])("detaches and force-deletes the new group and its version, leaving the serving %s group alone", async (kind, detach, names) => {
    // Prepare
    givenGroups(serving(kind), group(NEW_GROUP, { kind, Instances: instances(2, "InService", "Unhealthy") }));

    // Act
    const result = await rollback(deployState(kind));

    // Assess
    expect(autoScalingMock).toHaveReceivedCommandWith(detach as never, { AutoScalingGroupName: NEW_GROUP, ...names } as never);
    expect(autoScalingMock).toHaveReceivedCommandWith(DeleteAutoScalingGroupCommand, { AutoScalingGroupName: NEW_GROUP, ForceDelete: true });
    expect(autoScalingMock).not.toHaveReceivedCommand(UpdateAutoScalingGroupCommand);
    expect(ec2Mock).toHaveReceivedCommandWith(DeleteLaunchTemplateVersionsCommand, { LaunchTemplateId: LAUNCH_TEMPLATE_ID, Versions: ["4"] });
    expect(result).toEqual({
      restoredGroups: [OLD_GROUP],
      deletedGroup: NEW_GROUP,
      message: `rollback: deleted ${NEW_GROUP}; deleted launch template version(s) 4; restored ${OLD_GROUP}`,
    });
  });

  it.each([
    ["lists only the versions of the release's image", { image: { imageId: IMAGE_ID, baked: false } }, [{ Name: "image-id", Values: [IMAGE_ID] }]],
    ["lists every version when the deploy never got an image", { image: undefined }, undefined],
  ])("%s to find the new group's launch-template version", async (_, overrides, filters) => {
    // Prepare
    givenGroups(serving(), group(NEW_GROUP, { Instances: instances(2, "InService", "Unhealthy") }));

    // Act
    await rollback(deployState("application", overrides));

    // Assess
    const listings = ec2Mock.commandCalls(DescribeLaunchTemplateVersionsCommand);
    expect(listings.map((call) => call.args[0].input)).toEqual([{ LaunchTemplateId: LAUNCH_TEMPLATE_ID, Filters: filters, MaxResults: 200, NextToken: undefined }]);
    expect(ec2Mock).toHaveReceivedCommandWith(DeleteLaunchTemplateVersionsCommand, { LaunchTemplateId: LAUNCH_TEMPLATE_ID, Versions: ["4"] });
  });

  it.each([
    ["application" as const, AttachLoadBalancerTargetGroupsCommand, { TargetGroupARNs: [TARGET_GROUP_ARN] }],
    ["classic" as const, AttachLoadBalancersCommand, { LoadBalancerNames: [CLASSIC_LB_NAME] }],
  ])("re-attaches a detached old group to the %s load balancer and restores its capacity", async (kind, attach, names) => {
    // Prepare: the old group was half retired (detached, scaled to 0), the new group never got healthy.
    givenGroups(group(OLD_GROUP, { kind, attached: false, MinSize: 0, DesiredCapacity: 0, MaxSize: 4 }), group(NEW_GROUP, { kind }));

    // Act
    const result = await rollback(deployState(kind));

    // Assess
    expect(autoScalingMock).toHaveReceivedCommandWith(UpdateAutoScalingGroupCommand, { AutoScalingGroupName: OLD_GROUP, MinSize: 1, DesiredCapacity: 2, MaxSize: 4 });
    expect(autoScalingMock).toHaveReceivedCommandWith(attach as never, { AutoScalingGroupName: OLD_GROUP, ...names } as never);
    expect(result.deletedGroup).toBe(NEW_GROUP);
  });

  it("sends every request back to the old groups' target group when the cutover had moved some (ALB), then deletes the new group", async () => {
    // Prepare: the cutover was at 10 % on the alternate target group when something failed.
    givenRouting(elbv2Mock, 10);
    givenGroups(serving(), group(NEW_GROUP, { TargetGroupARNs: [ALTERNATE_TARGET_GROUP_ARN], Instances: instances(2, "InService", "Healthy") }));

    // Act
    await rollback(deployState());

    // Assess
    expect(elbv2Mock).toHaveReceivedCommandWith(ModifyRuleCommand, {
      RuleArn: CUTOVER_RULE_ARN,
      Actions: [
        {
          Type: "forward",
          ForwardConfig: { TargetGroups: [{ TargetGroupArn: TARGET_GROUP_ARN, Weight: 100 }, { TargetGroupArn: ALTERNATE_TARGET_GROUP_ARN, Weight: 0 }] },
        },
      ],
    });
    expect(autoScalingMock).toHaveReceivedCommandWith(DeleteAutoScalingGroupCommand, { AutoScalingGroupName: NEW_GROUP, ForceDelete: true });
  });

  it("changes no weights when the old groups' target group already has all traffic", async () => {
    // Prepare: a release that never got healthy: the cutover never began.
    givenGroups(serving(), group(NEW_GROUP, { TargetGroupARNs: [ALTERNATE_TARGET_GROUP_ARN], Instances: instances(2, "InService", "Unhealthy") }));

    // Act
    await rollback(deployState());

    // Assess
    expect(elbv2Mock).not.toHaveReceivedCommand(ModifyRuleCommand);
  });

  it("keeps the new group when it is the only one serving (old groups already retired)", async () => {
    // Prepare
    givenGroups(group(OLD_GROUP, { attached: false, MinSize: 0, DesiredCapacity: 0 }), group(NEW_GROUP, { Instances: instances(2) }));

    // Act
    const result = await rollback(deployState());

    // Assess
    expect(autoScalingMock).not.toHaveReceivedCommand(DeleteAutoScalingGroupCommand);
    expect(ec2Mock).not.toHaveReceivedCommand(DeleteLaunchTemplateVersionsCommand);
    expect(autoScalingMock).toHaveReceivedCommandWith(AttachLoadBalancerTargetGroupsCommand, { AutoScalingGroupName: OLD_GROUP });
    expect(result).toMatchObject({ keptGroup: NEW_GROUP, restoredGroups: [OLD_GROUP] });
  });

  it("keeping the new group (ALB), sends every request to the new group's target group", async () => {
    // Prepare: the cutover was at 10 % on the alternate target group; the old group has been emptied by hand.
    givenRouting(elbv2Mock, 10);
    givenGroups(
      group(OLD_GROUP, { attached: false, MinSize: 0, DesiredCapacity: 0 }),
      group(NEW_GROUP, { TargetGroupARNs: [ALTERNATE_TARGET_GROUP_ARN], Instances: instances(2) }),
    );

    // Act
    const result = await rollback(deployState());

    // Assess
    expect(result.keptGroup).toBe(NEW_GROUP);
    expect(elbv2Mock).toHaveReceivedCommandTimes(ModifyRuleCommand, 1);
    expect(elbv2Mock).toHaveReceivedCommandWith(ModifyRuleCommand, {
      RuleArn: CUTOVER_RULE_ARN,
      Actions: [
        {
          Type: "forward",
          ForwardConfig: { TargetGroups: [{ TargetGroupArn: ALTERNATE_TARGET_GROUP_ARN, Weight: 100 }, { TargetGroupArn: TARGET_GROUP_ARN, Weight: 0 }] },
        },
      ],
    });
  });

  it("keeping a new group launched before the cutover existed (no target recorded), changes no listener rule", async () => {
    // Prepare: the new group shares the first target group with the old ones; no pipeline rule exists.
    givenGroups(group(OLD_GROUP, { attached: false, MinSize: 0, DesiredCapacity: 0 }), group(NEW_GROUP, { Instances: instances(2) }));
    const state = deployState();
    delete state.launch!.target;

    // Act
    const result = await rollback(state);

    // Assess
    expect(result.keptGroup).toBe(NEW_GROUP);
    expect(elbv2Mock).not.toHaveReceivedCommand(ModifyRuleCommand);
    expect(elbv2Mock).not.toHaveReceivedCommand(CreateRuleCommand);
  });

  it("with a classic ELB asks nothing of Elastic Load Balancing v2 (no listener rules)", async () => {
    // Prepare
    givenGroups(serving("classic"), group(NEW_GROUP, { kind: "classic", Instances: instances(2, "InService", "Unhealthy") }));

    // Act
    await rollback(deployState("classic"));

    // Assess
    expect(elbv2Mock).not.toHaveReceivedAnyCommand();
  });

  it("does not restore an old group that is being deleted (by hand, say)", async () => {
    // Prepare: the group that served is in Delete in progress; the new group has no instance in service.
    givenGroups(group(OLD_GROUP, { Status: "Delete in progress", MinSize: 0, DesiredCapacity: 0, attached: false }), group(NEW_GROUP, { Instances: instances(2, "Pending") }));

    // Act
    const result = await rollback(deployState());

    // Assess
    expect(autoScalingMock).not.toHaveReceivedCommand(UpdateAutoScalingGroupCommand);
    expect(autoScalingMock).not.toHaveReceivedCommand(AttachLoadBalancerTargetGroupsCommand);
    expect(result).toEqual({
      restoredGroups: [],
      deletedGroup: NEW_GROUP,
      message: `rollback: deleted ${NEW_GROUP}; deleted launch template version(s) 4; no serving group to restore`,
    });
  });

  it("names every group it left alone, comma-separated", async () => {
    // Prepare: two groups earlier deploys left detached, beside the serving one.
    const state = deployState();
    state.plan!.liveGroups = [
      { ...oldSnapshot, attached: true, serving: true },
      { ...oldSnapshot, name: "shop-dev01-v1-retired", attached: false, serving: false },
      { ...oldSnapshot, name: "shop-dev01-v0-retired", attached: false, serving: false },
    ];
    givenGroups(serving(), group(NEW_GROUP, { Instances: instances(2, "InService", "Unhealthy") }));

    // Act
    const result = await rollback(state);

    // Assess
    expect(result.message).toBe(
      `rollback: deleted ${NEW_GROUP}; deleted launch template version(s) 4; restored ${OLD_GROUP}; left shop-dev01-v1-retired, shop-dev01-v0-retired as it was (not serving when the deploy started)`,
    );
  });

  it("re-attaches a detached old group to the target group it served from when the deploy started, the alternate one too", async () => {
    // Prepare: the previous deploy's cutover left the live group on the alternate target group; it has been detached since.
    const state = deployState();
    state.plan!.liveGroups = [{ ...oldSnapshot, attached: true, serving: true, target: ALTERNATE_TARGET_GROUP_ARN }];
    givenGroups(group(OLD_GROUP, { attached: false, Instances: instances(2, "InService", "Healthy", "i-old") }), group(NEW_GROUP, { Instances: instances(2, "Pending") }));

    // Act
    await rollback(state);

    // Assess
    expect(autoScalingMock).toHaveReceivedCommandTimes(AttachLoadBalancerTargetGroupsCommand, 1);
    expect(autoScalingMock).toHaveReceivedCommandWith(AttachLoadBalancerTargetGroupsCommand, { AutoScalingGroupName: OLD_GROUP, TargetGroupARNs: [ALTERNATE_TARGET_GROUP_ARN] });
  });

  it("after a failure in Launch itself (no $.launch, ALB) deletes what there is and changes no listener rule", async () => {
    // Prepare: Launch failed after creating the group, before its result was written.
    givenGroups(serving(), group(NEW_GROUP, { Instances: instances(2, "Pending") }));
    const state = deployState("application", { launch: undefined });

    // Act
    const result = await rollback(state);

    // Assess
    expect(elbv2Mock).not.toHaveReceivedCommand(ModifyRuleCommand);
    expect(result).toEqual({
      restoredGroups: [OLD_GROUP],
      deletedGroup: NEW_GROUP,
      message: `rollback: deleted ${NEW_GROUP}; deleted launch template version(s) 4; restored ${OLD_GROUP}`,
    });
  });

  it("lists several restored groups and deleted versions comma-separated", async () => {
    // Prepare: two serving groups; the new group's version 4, and a version 5 of a retry.
    const state = deployState();
    state.plan!.liveGroups = [
      { ...oldSnapshot, attached: true, serving: true },
      { ...oldSnapshot, name: "shop-dev01-v1-second", attached: true, serving: true },
    ];
    givenGroups(serving(), group("shop-dev01-v1-second", { Instances: instances(2, "InService", "Healthy", "i-second") }), group(NEW_GROUP, { Instances: instances(2, "Pending") }));
    ec2Mock.on(DescribeLaunchTemplateVersionsCommand).resolves({
      LaunchTemplateVersions: [
        { VersionNumber: 4, VersionDescription: `immutable-deploy group ${NEW_GROUP}` },
        { VersionNumber: 5, VersionDescription: `immutable-deploy group ${NEW_GROUP}` },
      ],
    });

    // Act
    const result = await rollback(state);

    // Assess
    expect(result.message).toBe(`rollback: deleted ${NEW_GROUP}; deleted launch template version(s) 4, 5; restored ${OLD_GROUP}, shop-dev01-v1-second`);
  });

  it("on a first deploy (no old group) deletes the new group", async () => {
    // Prepare
    givenGroups(group(NEW_GROUP, { Instances: instances(1) }));
    const state = deployState();
    state.plan!.liveGroups = [];

    // Act
    const result = await rollback(state);

    // Assess
    expect(autoScalingMock).toHaveReceivedCommandWith(DeleteAutoScalingGroupCommand, { AutoScalingGroupName: NEW_GROUP, ForceDelete: true });
    expect(result.restoredGroups).toEqual([]);
  });

  it("after a crash half-way (group being deleted, version left) finishes the job without errors", async () => {
    // Prepare
    givenGroups(serving(), group(NEW_GROUP, { Status: "Delete in progress", attached: false }));

    // Act
    const result = await rollback(deployState());

    // Assess
    expect(autoScalingMock).not.toHaveReceivedCommand(DeleteAutoScalingGroupCommand);
    expect(ec2Mock).toHaveReceivedCommandWith(DeleteLaunchTemplateVersionsCommand, { Versions: ["4"] });
    expect(result.deletedGroup).toBe(NEW_GROUP);
  });

  it("a second run after success changes nothing and does not fail", async () => {
    // Prepare: the new group is gone (a delete by its name says so) and so is its version.
    givenGroups(serving());
    autoScalingMock.on(DeleteAutoScalingGroupCommand).rejects(groupNotFound(NEW_GROUP));
    ec2Mock.on(DescribeLaunchTemplateVersionsCommand).resolves({ LaunchTemplateVersions: [{ VersionNumber: 3, VersionDescription: `immutable-deploy group ${OLD_GROUP}` }] });

    // Act
    const result = await rollback(deployState());

    // Assess
    expect(autoScalingMock).toHaveReceivedCommandWith(DeleteAutoScalingGroupCommand, { AutoScalingGroupName: NEW_GROUP, ForceDelete: true });
    expect(autoScalingMock).not.toHaveReceivedCommand(UpdateAutoScalingGroupCommand);
    expect(ec2Mock).not.toHaveReceivedCommand(DeleteLaunchTemplateVersionsCommand);
    expect(result).toEqual({ restoredGroups: [OLD_GROUP], message: `rollback: ${NEW_GROUP} was never created; restored ${OLD_GROUP}` });
  });

  it.each(["application" as const, "classic" as const])(
    "restores exactly the groups that served when the deploy started (%s): a group an earlier deploy retired stays detached",
    async (kind) => {
      // Prepare: v1 was detached by an earlier deploy that failed after cutover (still running); v0 serves.
      const state = deployState(kind);
      state.plan!.liveGroups = [
        { ...oldSnapshot, name: "shop-dev01-v1-retired", attached: false, serving: false },
        { ...oldSnapshot, attached: true, serving: true },
      ];
      givenGroups(
        group("shop-dev01-v1-retired", { kind, attached: false, Instances: instances(2, "InService", "Healthy", "i-v1") }),
        group(OLD_GROUP, { kind, attached: false, MinSize: 0, DesiredCapacity: 0, MaxSize: 4 }),
        group(NEW_GROUP, { kind, Instances: instances(2, "Pending", "Healthy") }),
      );

      // Act
      const result = await rollback(state);

      // Assess: the serving one back (attached, capacity), the retired one untouched, the new one gone.
      const attached = [...autoScalingMock.commandCalls(AttachLoadBalancerTargetGroupsCommand), ...autoScalingMock.commandCalls(AttachLoadBalancersCommand)].map(
        (call) => call.args[0].input.AutoScalingGroupName,
      );
      expect(attached).toEqual([OLD_GROUP]);
      expect(autoScalingMock).toHaveReceivedCommandTimes(UpdateAutoScalingGroupCommand, 1);
      expect(autoScalingMock).toHaveReceivedCommandWith(UpdateAutoScalingGroupCommand, { AutoScalingGroupName: OLD_GROUP, MinSize: 1, DesiredCapacity: 2, MaxSize: 4 });
      expect(result).toEqual({
        restoredGroups: [OLD_GROUP],
        deletedGroup: NEW_GROUP,
        message: `rollback: deleted ${NEW_GROUP}; deleted launch template version(s) 4; restored ${OLD_GROUP}; left shop-dev01-v1-retired as it was (not serving when the deploy started)`,
      });
    },
  );

  it("finds a new group Auto Scaling does not list yet by its name, and deletes it", async () => {
    // Prepare: Describe does not list the new group (eventual consistency), but it exists.
    givenGroups(serving());
    autoScalingMock.on(DeleteAutoScalingGroupCommand, { AutoScalingGroupName: NEW_GROUP, ForceDelete: true }).resolves({});

    // Act
    const result = await rollback(deployState());

    // Assess
    expect(result.deletedGroup).toBe(NEW_GROUP);
    expect(ec2Mock).toHaveReceivedCommandWith(DeleteLaunchTemplateVersionsCommand, { Versions: ["4"] });
  });

  it.each([
    [10, "asks again (NotYetVisible) instead of concluding it was never created", true],
    [400, "concludes it was never created and deletes the version", false],
  ])("when nothing by that name exists, and its version was created %i s ago, %s", async (age, _, retried) => {
    // Prepare
    givenGroups(serving());
    autoScalingMock.on(DeleteAutoScalingGroupCommand).rejects(groupNotFound(NEW_GROUP));
    ec2Mock.on(DescribeLaunchTemplateVersionsCommand).resolves({
      LaunchTemplateVersions: [{ VersionNumber: 4, VersionDescription: `immutable-deploy group ${NEW_GROUP}`, CreateTime: new Date((NOW - age) * 1000) }],
    });

    // Act
    const attempt = rollback(deployState()).catch((error: unknown) => error);

    // Assess
    if (retried) {
      expect(await attempt).toMatchObject({ name: ERROR.notYetVisible, message: expect.stringContaining(`created ${age} s ago`) });
      expect(ec2Mock).not.toHaveReceivedCommand(DeleteLaunchTemplateVersionsCommand);
    } else {
      expect(await attempt).toMatchObject({ message: `rollback: ${NEW_GROUP} was never created; deleted launch template version(s) 4; restored ${OLD_GROUP}` });
    }
  });

  it("acts on nothing when another deploy has taken the lock over (a late redrive)", async () => {
    givenLockHeldBy(dynamoMock, "arn:aws:states:us-east-1:123456789012:execution:deploy:run-2");
    givenGroups(serving(), group(NEW_GROUP));
    await expect(rollback(deployState())).rejects.toMatchObject({ name: ERROR.lockLost });
    expect(autoScalingMock).not.toHaveReceivedAnyCommand();
    expect(ec2Mock).not.toHaveReceivedAnyCommand();
  });

  it("an old group busy with a scaling activity is restored on a retry: StillInUse, which the state machine retries", async () => {
    // Prepare: the half-retired old group is still scaling in when the rollback restores it.
    givenGroups(group(OLD_GROUP, { attached: false, MinSize: 0, DesiredCapacity: 0, MaxSize: 4 }), group(NEW_GROUP));
    autoScalingMock
      .on(UpdateAutoScalingGroupCommand)
      .rejects(awsError("ScalingActivityInProgressFault", "Scaling activity 1234 is in progress and blocks this action"));

    // Act
    const attempt = handler(deployState(), lambdaContext);

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: ERROR.stillInUse, message: expect.stringContaining(`group ${OLD_GROUP} cannot be resized yet`) });
    expect(autoScalingMock).not.toHaveReceivedCommand(DeleteAutoScalingGroupCommand);
  });

  it("a throttled delete reaches the state machine as TransientAwsError", async () => {
    // Prepare
    givenGroups(serving(), group(NEW_GROUP));
    autoScalingMock.on(DeleteAutoScalingGroupCommand).rejects(awsError("Throttling", "Rate exceeded"));

    // Act
    const attempt = handler(deployState(), lambdaContext);

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: ERROR.transientAws });
  });

  it("without a plan (a failure in Prepare) launched nothing and touches nothing", async () => {
    // Act
    const result = await rollback(deployState("application", { plan: undefined }));

    // Assess
    expect(result).toEqual({ restoredGroups: [], message: "rollback: nothing launched, nothing to roll back" });
    expect(autoScalingMock).not.toHaveReceivedAnyCommand();
  });

  it("keeping the new group, says why and what it restored, and ends the deploy's hold on the kept group too", async () => {
    // Prepare: both old groups were emptied by hand; the new group serves.
    const state = deployState();
    state.plan!.liveGroups = [oldSnapshot, { ...oldSnapshot, name: "shop-dev01-v0-run-9" }];
    givenGroups(
      group(OLD_GROUP, { MinSize: 0, DesiredCapacity: 0 }),
      group("shop-dev01-v0-run-9", { MinSize: 0, DesiredCapacity: 0 }),
      group(NEW_GROUP, { Instances: instances(2) }),
    );

    // Act
    const result = await rollback(state);

    // Assess
    expect(result).toEqual({
      restoredGroups: [OLD_GROUP, "shop-dev01-v0-run-9"],
      keptGroup: NEW_GROUP,
      message: `rollback: kept ${NEW_GROUP} (the groups that served before the deploy no longer served traffic); restored ${OLD_GROUP}, shop-dev01-v0-run-9; the next deploy retires the extra group`,
    });
    expect(autoScalingMock).toHaveReceivedNthCommandWith(DescribeAutoScalingGroupsCommand, 2, { AutoScalingGroupNames: [OLD_GROUP, "shop-dev01-v0-run-9", NEW_GROUP] });
  });

  it("keeping the new group when every group to restore is gone, says it restored no group", async () => {
    // Prepare: the old group is not listed any more.
    givenGroups(group(NEW_GROUP, { Instances: instances(2) }));

    // Act
    const result = await rollback(deployState());

    // Assess
    expect(result).toEqual({
      restoredGroups: [],
      keptGroup: NEW_GROUP,
      message: `rollback: kept ${NEW_GROUP} (the groups that served before the deploy no longer served traffic); restored no group; the next deploy retires the extra group`,
    });
  });

  it("never keeps a new group that is being deleted, even when nothing else serves", async () => {
    // Prepare
    givenGroups(group(OLD_GROUP, { attached: false, MinSize: 0, DesiredCapacity: 0 }), group(NEW_GROUP, { Status: "Delete in progress", Instances: instances(2) }));

    // Act
    const result = await rollback(deployState());

    // Assess
    expect(result).toMatchObject({ deletedGroup: NEW_GROUP, restoredGroups: [OLD_GROUP] });
    expect(result.keptGroup).toBeUndefined();
  });

  it("ends the deploy's hold only on the groups Prepare found when the new group is not listed", async () => {
    // Prepare
    givenGroups(serving());
    autoScalingMock.on(DeleteAutoScalingGroupCommand).rejects(groupNotFound(NEW_GROUP));

    // Act
    await rollback(deployState());

    // Assess
    expect(autoScalingMock).toHaveReceivedNthCommandWith(DescribeAutoScalingGroupsCommand, 2, { AutoScalingGroupNames: [OLD_GROUP] });
  });

  it("never lowers an old group that grew since Prepare, and leaves an attached one attached", async () => {
    // Prepare: scaled out since the snapshot (1/2/4), still attached.
    givenGroups(group(OLD_GROUP, { MinSize: 3, DesiredCapacity: 5, MaxSize: 8, Instances: instances(5, "InService", "Healthy", "i-old") }), group(NEW_GROUP));

    // Act
    await rollback(deployState());

    // Assess
    expect(autoScalingMock).not.toHaveReceivedCommand(UpdateAutoScalingGroupCommand);
    expect(autoScalingMock).not.toHaveReceivedCommand(AttachLoadBalancerTargetGroupsCommand);
  });

  it.each([
    ["its minimum", { MinSize: 0 }, { MinSize: 1, DesiredCapacity: 2, MaxSize: 4 }],
    ["its desired capacity", { DesiredCapacity: 1 }, { MinSize: 1, DesiredCapacity: 2, MaxSize: 4 }],
    ["its maximum", { MaxSize: 3 }, { MinSize: 1, DesiredCapacity: 2, MaxSize: 4 }],
  ])("restores an old group below the snapshot in %s alone", async (_, below, restored) => {
    // Prepare
    givenGroups(group(OLD_GROUP, { ...below, Instances: instances(2, "InService", "Healthy", "i-old") }), group(NEW_GROUP));

    // Act
    await rollback(deployState());

    // Assess
    expect(autoScalingMock).toHaveReceivedCommandWith(UpdateAutoScalingGroupCommand, { AutoScalingGroupName: OLD_GROUP, ...restored });
  });

  it("deletes a new group that is no longer attached without detaching it again", async () => {
    // Prepare
    givenGroups(serving(), group(NEW_GROUP, { attached: false }));

    // Act
    const result = await rollback(deployState());

    // Assess
    expect(autoScalingMock).not.toHaveReceivedCommand(DetachLoadBalancerTargetGroupsCommand);
    expect(autoScalingMock).toHaveReceivedCommandWith(DeleteAutoScalingGroupCommand, { AutoScalingGroupName: NEW_GROUP, ForceDelete: true });
    expect(result.deletedGroup).toBe(NEW_GROUP);
  });

  it.each([
    ["created 300 s ago (the visibility bound itself)", new Date((NOW - 300) * 1000)],
    ["without a creation time", undefined],
  ])("when nothing by that name exists and its version was %s, concludes it was never created", async (_, CreateTime) => {
    // Prepare
    givenGroups(serving());
    autoScalingMock.on(DeleteAutoScalingGroupCommand).rejects(groupNotFound(NEW_GROUP));
    ec2Mock.on(DescribeLaunchTemplateVersionsCommand).resolves({ LaunchTemplateVersions: [{ VersionNumber: 4, VersionDescription: `immutable-deploy group ${NEW_GROUP}`, CreateTime }] });

    // Act
    const result = await rollback(deployState());

    // Assess
    expect(result.message).toBe(`rollback: ${NEW_GROUP} was never created; deleted launch template version(s) 4; restored ${OLD_GROUP}`);
  });

  it("asks again with a message that says until when", async () => {
    // Prepare
    givenGroups(serving());
    autoScalingMock.on(DeleteAutoScalingGroupCommand).rejects(groupNotFound(NEW_GROUP));
    ec2Mock.on(DescribeLaunchTemplateVersionsCommand).resolves({
      LaunchTemplateVersions: [{ VersionNumber: 4, VersionDescription: `immutable-deploy group ${NEW_GROUP}`, CreateTime: new Date((NOW - 10) * 1000) }],
    });

    // Act
    const attempt = rollback(deployState());

    // Assess
    await expect(attempt).rejects.toThrow(
      `rollback: ${NEW_GROUP} is not visible to Auto Scaling, but its launch template version was created 10 s ago; asking again until 300 s after that before concluding it was never created`,
    );
  });

  it("leaves a group with the new group's name that another execution launched alone: no detach, no delete", async () => {
    // Prepare: the group by that name carries another execution's tag (a hand-made group, or a hash collision).
    const foreign = group(NEW_GROUP, { Tags: [{ Key: TAG.execution, Value: "arn:aws:states:us-east-1:123456789012:execution:deploy:other" }] });
    givenGroups(serving(), foreign);

    // Act
    const result = await rollback(deployState());

    // Assess
    expect(autoScalingMock).not.toHaveReceivedCommand(DetachLoadBalancerTargetGroupsCommand);
    expect(autoScalingMock).not.toHaveReceivedCommand(DeleteAutoScalingGroupCommand);
    expect(result.deletedGroup).toBeUndefined();
    expect(result.restoredGroups).toEqual([OLD_GROUP]);
  });

  it("deletes the version the new group is pinned to although DescribeLaunchTemplateVersions does not list it yet", async () => {
    // Prepare: the new group uses version 12, which the listing (eventually consistent) does not show yet.
    givenGroups(serving(), group(NEW_GROUP, { LaunchTemplate: { LaunchTemplateId: LAUNCH_TEMPLATE_ID, Version: "12" } }));
    ec2Mock.on(DescribeLaunchTemplateVersionsCommand).resolves({ LaunchTemplateVersions: [] });

    // Act
    const result = await rollback(deployState());

    // Assess
    expect(ec2Mock).toHaveReceivedCommandWith(DeleteLaunchTemplateVersionsCommand, { LaunchTemplateId: LAUNCH_TEMPLATE_ID, Versions: ["12"] });
    expect(result.message).toBe(`rollback: deleted ${NEW_GROUP}; deleted launch template version(s) 12; restored ${OLD_GROUP}`);
  });

  it("never asks to delete the launch template's default version, even one described as the new group's", async () => {
    // Prepare: version 4, made for the new group, was made the default by hand; the group uses version 5.
    givenGroups(serving(), group(NEW_GROUP, { LaunchTemplate: { LaunchTemplateId: LAUNCH_TEMPLATE_ID, Version: "5" } }));
    ec2Mock.on(DescribeLaunchTemplateVersionsCommand).resolves({
      LaunchTemplateVersions: [
        { VersionNumber: 4, VersionDescription: `immutable-deploy group ${NEW_GROUP}`, DefaultVersion: true },
        { VersionNumber: 5, VersionDescription: `immutable-deploy group ${NEW_GROUP}`, DefaultVersion: false },
      ],
    });

    // Act
    await rollback(deployState());

    // Assess
    expect(ec2Mock).toHaveReceivedCommandTimes(DeleteLaunchTemplateVersionsCommand, 1);
    expect(ec2Mock).toHaveReceivedCommandWith(DeleteLaunchTemplateVersionsCommand, { LaunchTemplateId: LAUNCH_TEMPLATE_ID, Versions: ["5"] });
  });

  it("on a first deploy says there was no serving group to restore", async () => {
    // Prepare
    givenGroups(group(NEW_GROUP, { Instances: instances(1) }));
    const state = deployState();
    state.plan!.liveGroups = [];

    // Act
    const result = await rollback(state);

    // Assess
    expect(result.message).toBe(`rollback: deleted ${NEW_GROUP}; deleted launch template version(s) 4; no serving group to restore`);
  });
});
