import "aws-sdk-client-mock-vitest/extend";
import {
  type AutoScalingGroup,
  AttachLoadBalancersCommand,
  AttachLoadBalancerTargetGroupsCommand,
  AutoScalingClient,
  DetachLoadBalancersCommand,
  DetachLoadBalancerTargetGroupsCommand,
} from "@aws-sdk/client-auto-scaling";
import { DescribeInstanceHealthCommand, ElasticLoadBalancingClient } from "@aws-sdk/client-elastic-load-balancing";
import { DescribeTargetHealthCommand, ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import {
  attachedTargets,
  attachGroup,
  describeInstanceHealth,
  describeInstanceState,
  describeLoadBalancer,
  detachGroup,
  groupAttachmentParameters,
  hasInServiceInstances,
  isAttached,
  isServing,
  type LoadBalancerSettings,
  newGroupTarget,
  targetById,
  targetId,
  trafficTargets,
} from "../../../functions/lib/loadBalancer.js";
import { ALTERNATE_TARGET_GROUP_ARN, awsError, CLASSIC_LB_NAME, LISTENER_ARN, TARGET_GROUP_ARN } from "../fixtures.js";

const autoScalingMock = mockClient(AutoScalingClient);
const elbMock = mockClient(ElasticLoadBalancingClient);
const elbv2Mock = mockClient(ElasticLoadBalancingV2Client);

const ALB: LoadBalancerSettings = { kind: "application", targetGroupArn: TARGET_GROUP_ARN, alternateTargetGroupArn: ALTERNATE_TARGET_GROUP_ARN, listenerArn: LISTENER_ARN };
const CLASSIC: LoadBalancerSettings = { kind: "classic", loadBalancerName: CLASSIC_LB_NAME };
const FIRST = { kind: "application", targetGroupArn: TARGET_GROUP_ARN } as const;
const SECOND = { kind: "application", targetGroupArn: ALTERNATE_TARGET_GROUP_ARN } as const;
const ELB = { kind: "classic", loadBalancerName: CLASSIC_LB_NAME } as const;

beforeEach(() => {
  autoScalingMock.reset();
  elbMock.reset();
  elbv2Mock.reset();
});

describe("targets", () => {
  it("an ALB has its two target groups, the default action's first; a classic ELB itself", () => {
    expect(trafficTargets(ALB)).toEqual([FIRST, SECOND]);
    expect(trafficTargets(CLASSIC)).toEqual([ELB]);
    expect(targetId(SECOND)).toBe(ALTERNATE_TARGET_GROUP_ARN);
    expect(targetId(ELB)).toBe(CLASSIC_LB_NAME);
  });

  it("finds a target by its id and refuses an id of another environment", () => {
    expect(targetById(ALB, ALTERNATE_TARGET_GROUP_ARN)).toEqual(SECOND);
    expect(targetById(CLASSIC, CLASSIC_LB_NAME)).toEqual(ELB);
    expect(() => targetById(ALB, "arn:other")).toThrow(
      new Error(`arn:other is not a target group or load balancer of this environment (${TARGET_GROUP_ARN}, ${ALTERNATE_TARGET_GROUP_ARN})`),
    );
  });

  it("the new group's target is Launch's, else the first", () => {
    expect(newGroupTarget(ALB, { target: ALTERNATE_TARGET_GROUP_ARN })).toEqual(SECOND);
    expect(newGroupTarget(ALB, {})).toEqual(FIRST);
    expect(newGroupTarget(CLASSIC, {})).toEqual(ELB);
  });

  it("names targets and attachment parameters by kind", () => {
    expect(describeLoadBalancer(FIRST)).toBe(`target group ${TARGET_GROUP_ARN}`);
    expect(describeLoadBalancer(ELB)).toBe(`classic load balancer ${CLASSIC_LB_NAME}`);
    expect(groupAttachmentParameters(FIRST)).toEqual({ TargetGroupARNs: [TARGET_GROUP_ARN] });
    expect(groupAttachmentParameters(ELB)).toEqual({ LoadBalancerNames: [CLASSIC_LB_NAME] });
  });
});

describe("attachment and service", () => {
  const inService = [{ InstanceId: "i-1", LifecycleState: "InService" }];
  const pending = [{ InstanceId: "i-1", LifecycleState: "Pending" }];

  it("a group is attached to the targets it lists, of this environment only", () => {
    const both = { TargetGroupARNs: [ALTERNATE_TARGET_GROUP_ARN, "arn:other", TARGET_GROUP_ARN], LoadBalancerNames: [CLASSIC_LB_NAME] } as AutoScalingGroup;
    expect(attachedTargets(both, ALB)).toEqual([FIRST, SECOND]);
    expect(attachedTargets(both, CLASSIC)).toEqual([ELB]);
    expect(attachedTargets({ TargetGroupARNs: ["arn:other"] } as AutoScalingGroup, ALB)).toEqual([]);
    expect(attachedTargets({} as AutoScalingGroup, ALB)).toEqual([]);
    expect(attachedTargets({} as AutoScalingGroup, CLASSIC)).toEqual([]);
    expect(isAttached({ TargetGroupARNs: [ALTERNATE_TARGET_GROUP_ARN] } as AutoScalingGroup, ALB)).toBe(true);
    expect(isAttached({ LoadBalancerNames: ["elb-other"] } as AutoScalingGroup, CLASSIC)).toBe(false);
  });

  it("a group serves when attached with an instance in service", () => {
    expect(hasInServiceInstances({ Instances: inService } as AutoScalingGroup)).toBe(true);
    expect(hasInServiceInstances({ Instances: pending } as AutoScalingGroup)).toBe(false);
    expect(hasInServiceInstances({} as AutoScalingGroup)).toBe(false);
    expect(isServing({ TargetGroupARNs: [TARGET_GROUP_ARN], Instances: inService } as AutoScalingGroup, ALB)).toBe(true);
    expect(isServing({ TargetGroupARNs: [TARGET_GROUP_ARN], Instances: pending } as AutoScalingGroup, ALB)).toBe(false);
    expect(isServing({ Instances: inService } as AutoScalingGroup, ALB)).toBe(false);
  });

  it("attaches a group to a target group or a classic load balancer", async () => {
    await attachGroup("g", SECOND);
    await attachGroup("g", ELB);

    expect(autoScalingMock).toHaveReceivedCommandWith(AttachLoadBalancerTargetGroupsCommand, { AutoScalingGroupName: "g", TargetGroupARNs: [ALTERNATE_TARGET_GROUP_ARN] });
    expect(autoScalingMock).toHaveReceivedCommandTimes(AttachLoadBalancerTargetGroupsCommand, 1);
    expect(autoScalingMock).toHaveReceivedCommandWith(AttachLoadBalancersCommand, { AutoScalingGroupName: "g", LoadBalancerNames: [CLASSIC_LB_NAME] });
    expect(autoScalingMock).toHaveReceivedCommandTimes(AttachLoadBalancersCommand, 1);
  });

  it("detaches a group from every target of the environment it is attached to; a group gone is detached", async () => {
    autoScalingMock
      .on(DetachLoadBalancerTargetGroupsCommand, { TargetGroupARNs: [TARGET_GROUP_ARN] })
      .rejects(awsError("ValidationError", "AutoScalingGroup name not found - g"))
      .on(DetachLoadBalancerTargetGroupsCommand, { TargetGroupARNs: [ALTERNATE_TARGET_GROUP_ARN] })
      .resolves({});

    await detachGroup({ AutoScalingGroupName: "g", TargetGroupARNs: [TARGET_GROUP_ARN, ALTERNATE_TARGET_GROUP_ARN, "arn:other"] } as AutoScalingGroup, ALB);
    await detachGroup({ AutoScalingGroupName: "c", LoadBalancerNames: [CLASSIC_LB_NAME] } as AutoScalingGroup, CLASSIC);
    await detachGroup({ AutoScalingGroupName: "none" } as AutoScalingGroup, CLASSIC);

    expect(autoScalingMock.commandCalls(DetachLoadBalancerTargetGroupsCommand).map((call) => call.args[0].input)).toEqual([
      { AutoScalingGroupName: "g", TargetGroupARNs: [TARGET_GROUP_ARN] },
      { AutoScalingGroupName: "g", TargetGroupARNs: [ALTERNATE_TARGET_GROUP_ARN] },
    ]);
    expect(autoScalingMock.commandCalls(DetachLoadBalancersCommand).map((call) => call.args[0].input)).toEqual([{ AutoScalingGroupName: "c", LoadBalancerNames: [CLASSIC_LB_NAME] }]);
  });

  it("passes on another detach error", async () => {
    autoScalingMock.on(DetachLoadBalancersCommand).rejects(awsError("AccessDenied", "not allowed"));

    await expect(detachGroup({ AutoScalingGroupName: "c", LoadBalancerNames: [CLASSIC_LB_NAME] } as AutoScalingGroup, CLASSIC)).rejects.toThrow("not allowed");
  });
});

describe("describeInstanceHealth", () => {
  it("asks nothing for no instances", async () => {
    expect(await describeInstanceHealth(FIRST, [])).toEqual([]);
    expect(elbv2Mock).toHaveReceivedCommandTimes(DescribeTargetHealthCommand, 0);
  });

  it("reads a target group's health in one call, in the instances' order; only healthy is healthy", async () => {
    elbv2Mock.on(DescribeTargetHealthCommand).resolves({
      TargetHealthDescriptions: [
        { Target: { Id: "i-2" }, TargetHealth: { State: "unhealthy", Reason: "Target.FailedHealthChecks", Description: "Health checks failed with these codes: [503]" } },
        { Target: { Id: "i-1" }, TargetHealth: { State: "healthy" } },
        { Target: { Id: "i-3" }, TargetHealth: { State: "initial", Reason: "Elb.RegistrationInProgress", Description: "N/A" } },
        { Target: { Id: "i-4" } },
        { Target: {} as { Id: string }, TargetHealth: { State: "healthy" } },
        { TargetHealth: { State: "healthy" } } as never,
        // One instance on two ports: healthy only if both are, whichever comes first.
        { Target: { Id: "i-5", Port: 80 }, TargetHealth: { State: "healthy" } },
        { Target: { Id: "i-5", Port: 81 }, TargetHealth: { State: "draining", Reason: "N/A" as never, Description: "Target deregistration is in progress" } },
        { Target: { Id: "i-6", Port: 81 }, TargetHealth: { State: "draining", Reason: "Target.DeregistrationInProgress" } },
        { Target: { Id: "i-6", Port: 80 }, TargetHealth: { State: "healthy" } },
        { Target: { Id: "i-7", Port: 80 }, TargetHealth: { State: "unhealthy" } },
        { Target: { Id: "i-7", Port: 81 }, TargetHealth: { State: "initial" } },
      ],
    });

    const health = await describeInstanceHealth(SECOND, ["i-1", "i-2", "i-3", "i-4", "i-5", "i-6", "i-7", "i-9"]);

    expect(elbv2Mock).toHaveReceivedCommandWith(DescribeTargetHealthCommand, { TargetGroupArn: ALTERNATE_TARGET_GROUP_ARN });
    expect(health).toStrictEqual([
      { instanceId: "i-1", healthy: true, state: "healthy", reason: undefined, failedChecks: false },
      { instanceId: "i-2", healthy: false, state: "unhealthy", reason: "Target.FailedHealthChecks: Health checks failed with these codes: [503]", failedChecks: true },
      { instanceId: "i-3", healthy: false, state: "initial", reason: "Elb.RegistrationInProgress", failedChecks: false },
      { instanceId: "i-4", healthy: false, state: "unknown", reason: undefined, failedChecks: false },
      { instanceId: "i-5", healthy: false, state: "draining", reason: "Target deregistration is in progress", failedChecks: false },
      { instanceId: "i-6", healthy: false, state: "draining", reason: "Target.DeregistrationInProgress", failedChecks: false },
      { instanceId: "i-7", healthy: false, state: "unhealthy", reason: undefined, failedChecks: true },
      { instanceId: "i-9", healthy: false, state: "not registered", failedChecks: false },
    ]);
  });

  it("reads a classic load balancer's health; a draining InService instance is not healthy", async () => {
    elbMock.on(DescribeInstanceHealthCommand).resolves({
      InstanceStates: [
        { InstanceId: "i-1", State: "InService", ReasonCode: "N/A", Description: "N/A" },
        { InstanceId: "i-2", State: "InService", Description: "Instance deregistration currently in progress." },
        { InstanceId: "i-3", State: "OutOfService", ReasonCode: "Instance", Description: "Instance has failed at least the UnhealthyThreshold number of health checks consecutively." },
        { InstanceId: "i-4", State: "OutOfService", ReasonCode: "ELB", Description: "Instance registration is still in progress." },
        { InstanceId: "i-5" },
        { State: "InService" },
        // The failed-checks description counts only for an instance out of service.
        { InstanceId: "i-6", State: "InService", Description: "Instance has failed at least the UnhealthyThreshold number of health checks consecutively." },
      ],
    });

    const health = await describeInstanceHealth(ELB, ["i-5", "i-4", "i-3", "i-2", "i-1", "i-6"]);

    expect(elbMock).toHaveReceivedCommandWith(DescribeInstanceHealthCommand, { LoadBalancerName: CLASSIC_LB_NAME });
    expect(health).toStrictEqual([
      { instanceId: "i-5", healthy: false, state: "unknown", reason: undefined, failedChecks: false },
      { instanceId: "i-4", healthy: false, state: "OutOfService", reason: "ELB: Instance registration is still in progress.", failedChecks: false },
      {
        instanceId: "i-3",
        healthy: false,
        state: "OutOfService",
        reason: "Instance: Instance has failed at least the UnhealthyThreshold number of health checks consecutively.",
        failedChecks: true,
      },
      { instanceId: "i-2", healthy: false, state: "draining", reason: "Instance deregistration currently in progress.", failedChecks: false },
      { instanceId: "i-1", healthy: true, state: "InService", reason: undefined, failedChecks: false },
      {
        instanceId: "i-6",
        healthy: true,
        state: "InService",
        reason: "Instance has failed at least the UnhealthyThreshold number of health checks consecutively.",
        failedChecks: false,
      },
    ]);
  });

  it("an answer without entries registers nobody", async () => {
    elbMock.on(DescribeInstanceHealthCommand).resolves({});
    elbv2Mock.on(DescribeTargetHealthCommand).resolves({});

    const notRegistered = { instanceId: "i-1", healthy: false, state: "not registered", failedChecks: false };
    expect(await describeInstanceHealth(ELB, ["i-1"])).toEqual([notRegistered]);
    expect(await describeInstanceHealth(FIRST, ["i-1"])).toEqual([notRegistered]);
  });

  it("describes an instance's state with its reason", () => {
    expect(describeInstanceState({ instanceId: "i-1", healthy: false, state: "unhealthy", reason: "Target.Timeout", failedChecks: true })).toBe("i-1 unhealthy (Target.Timeout)");
    expect(describeInstanceState({ instanceId: "i-1", healthy: true, state: "healthy", failedChecks: false })).toBe("i-1 healthy");
  });
});
