import "aws-sdk-client-mock-vitest/extend";
import { AutoScalingClient, DescribeAutoScalingGroupsCommand, UpdateAutoScalingGroupCommand } from "@aws-sdk/client-auto-scaling";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkRetired, handler } from "../../functions/checkRetired.js";
import type { RetirementResult } from "../../functions/lib/contract.js";
import { resetClock, setClock } from "../../functions/lib/clock.js";
import { ERROR } from "../../functions/lib/names.js";
import { awsError, deployState, group, instances, lambdaContext, NOW, OLD_GROUP } from "./fixtures.js";

const autoScalingMock = mockClient(AutoScalingClient);
const retirement: RetirementResult = { groups: [OLD_GROUP], drainedBy: NOW + 100, retiredBy: NOW + 1300 };
const retiringState = () => deployState("application", { retirement });

beforeEach(() => {
  autoScalingMock.reset();
  setClock(() => NOW * 1000);
});
afterEach(() => resetClock());

describe("checkRetired", () => {
  it("while the load balancer drains, sleeps until draining is over and does not scale in yet", async () => {
    // Prepare
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group(OLD_GROUP, { attached: false, Instances: instances(3, "InService", "Healthy", "i-old") })] });
    setClock(() => (NOW + 70) * 1000);

    // Act
    const result = await checkRetired(retiringState());

    // Assess
    expect(result).toEqual({
      status: "waiting",
      nextPollSeconds: 31,
      message: "deploy: draining old instance(s) at load balancer (3 left, 30 s to go)",
    });
    expect(autoScalingMock).not.toHaveReceivedCommand(UpdateAutoScalingGroupCommand);
  });

  it("once drained, scales the old groups to 0 and waits for termination", async () => {
    // Prepare
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group(OLD_GROUP, { attached: false, Instances: instances(3, "InService", "Healthy", "i-old") })] });
    setClock(() => (NOW + 101) * 1000);

    // Act
    const result = await checkRetired(retiringState());

    // Assess
    expect(autoScalingMock).toHaveReceivedCommandWith(UpdateAutoScalingGroupCommand, { AutoScalingGroupName: OLD_GROUP, MinSize: 0, DesiredCapacity: 0 });
    expect(result).toEqual({ status: "waiting", nextPollSeconds: 5, message: "deploy: waiting for old instance(s) to terminate (3 left)" });
  });

  it("a group busy with a scaling activity fails the check with StillInUse, which the state machine retries", async () => {
    // Prepare
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group(OLD_GROUP, { attached: false, Instances: instances(3, "InService", "Healthy", "i-old") })] });
    autoScalingMock.on(UpdateAutoScalingGroupCommand).rejects(awsError("ScalingActivityInProgressFault", "Scaling activity 1234 is in progress"));
    setClock(() => (NOW + 101) * 1000);

    // Act
    const attempt = handler(retiringState(), lambdaContext);

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: ERROR.stillInUse, message: expect.stringContaining(`group ${OLD_GROUP} cannot be resized yet`) });
  });

  it("does not scale again a group already at 0", async () => {
    // Prepare
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group(OLD_GROUP, { MinSize: 0, DesiredCapacity: 0, Instances: instances(1, "Terminating", "Healthy", "i-old") })] });
    setClock(() => (NOW + 110) * 1000);

    // Act
    const result = await checkRetired(retiringState());

    // Assess
    expect(autoScalingMock).not.toHaveReceivedCommand(UpdateAutoScalingGroupCommand);
    expect(result.message).toBe("deploy: waiting for old instance(s) to terminate (1 left)");
  });

  it("is ready when the old groups have no instance left or are gone", async () => {
    // Prepare
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group(OLD_GROUP, { MinSize: 0, DesiredCapacity: 0, Instances: [] })] });
    setClock(() => (NOW + 140) * 1000);

    // Act
    const result = await checkRetired(retiringState());

    // Assess
    expect(result.status).toBe("ready");
  });

  it("fails with RetirementOverdue after the deadline", async () => {
    // Prepare
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group(OLD_GROUP, { MinSize: 0, DesiredCapacity: 0, Instances: instances(1, "Terminating:Wait", "Healthy", "i-old") })] });
    setClock(() => (NOW + 1301) * 1000);

    // Act
    const result = await checkRetired(retiringState());

    // Assess
    expect(result.status).toBe("failed");
    expect(result.message).toContain(ERROR.retirementOverdue);
    expect(result.message).toContain("i-old0000 Terminating:Wait");
  });
});
