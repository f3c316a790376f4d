import { beforeAll, describe, expect, it } from "vitest";
import { checkGroupHealth } from "../../functions/checkGroupHealth.js";
import { launchReleaseGroup } from "../../functions/launchReleaseGroup.js";
import type { DeployState } from "../../functions/lib/contract.js";
import { deleteOrphanedAlarmCopies } from "../../functions/lib/groupConfiguration.js";
import { snapshotGroup } from "../../functions/lib/groups.js";
import { lockEnvironment } from "../../functions/lockEnvironment.js";
import { releaseGroupName } from "../../functions/prepareDeploy.js";
import { retireGroups } from "../../functions/retireGroups.js";
import { rollback } from "../../functions/rollback.js";
import { synthesizeApp } from "../../stacks/synthesize.js";
import { allowedActions, iamActionOf, permits } from "../support/roleActions.js";
import { configureByHand, describeGroup, EXECUTION_ARN, launchGroup, productWorld, releaseImage } from "../support/simulatedWorld.js";
import { checkCall, checkModelSources, type ServiceName } from "./serviceModels.js";

/**
 * The carry-over's calls, which the scenarios make only in part (no scenario's live group has step policies with
 * alarms, a warm pool, hooks with roles, every attribute; none tracks ALB requests or mixes instance types): a
 * live group configured by hand with one of each, then Launch (with configured request-count tracking and mixed
 * instances), a scale-out matched by the group check, retirement, a rollback, the alarm clean-up. Every call must
 * fit the service's published model (checkCall) and be allowed by the role of the function that makes it.
 */
const models = checkModelSources();

/** Calls of each stage function, by the function that made them, with their inputs. */
async function carryOverCalls(): Promise<{ fn: string; operation: string; input: object }[]> {
  const calls: { fn: string; operation: string; input: object }[] = [];
  let fn = "";
  const world = productWorld({
    environment: {
      config: {
        scaling: { targetTracking: { metric: "requestCountPerTarget", targetValue: 600, warmupSeconds: 60 }, scheduledActions: [{ name: "morning", recurrence: "0 8 * * 1-5", desiredCapacity: 3, timeZone: "Europe/Berlin" }] },
        mixedInstances: { instanceTypes: ["t3.small", "t3a.small"], onDemandBaseCapacity: 1, onDemandPercentageAboveBaseCapacity: 50 },
      },
    },
  });
  world.region.onApiCall((operation, input) => calls.push({ fn, operation, input }));
  try {
    const stateFor = async (release: string, live: string): Promise<DeployState> => {
      const imageId = releaseImage(world.region, world.settings, release);
      const plan = {
        release,
        rebuildBase: false,
        keepImages: false,
        groupName: releaseGroupName(world.settings, release, `${EXECUTION_ARN}-${release}`),
        liveGroups: [snapshotGroup((await describeGroup(world, live))!)],
        desiredCapacity: 2,
      };
      const state = world.state({ plan, image: { imageId, baked: true }, execution: { id: `${EXECUTION_ARN}-${release}`, name: release, startTime: new Date(world.region.now()).toISOString() } });
      await lockEnvironment(state);
      return state;
    };
    const as = async <T>(name: string, act: () => Promise<T>): Promise<T> => {
      fn = name;
      try {
        return await act();
      } finally {
        fn = "";
      }
    };
    const live = await launchGroup(world, { release: "v1" });
    world.region.advance(120);
    configureByHand(world, live);

    // A rolled-back deploy of v2.
    const v2 = await stateFor("v2", live);
    const launchV2 = await as("launchReleaseGroup", () => launchReleaseGroup(v2));
    await as("rollback", () => rollback({ ...v2, launch: launchV2 }));
    world.region.advance(60);
    world.region.dynamodb.tables.get(world.settings.lockTableName)!.items.clear();

    // A deploy of v3 that goes through: a scale-out matched, the old group retired, alarm copies cleaned up.
    const v3 = await stateFor("v3", live);
    const launchV3 = await as("launchReleaseGroup", () => launchReleaseGroup(v3));
    world.region.advance(120);
    world.region.call("AutoScaling", "SetDesiredCapacity", { AutoScalingGroupName: live, DesiredCapacity: 3 });
    await as("checkGroupHealth", () => checkGroupHealth({ ...v3, launch: launchV3 }));
    await as("retireGroups", () => retireGroups({ ...v3, launch: launchV3 }));
    await as("deleteOldGroups", () => deleteOrphanedAlarmCopies(world.settings));
    return calls;
  } finally {
    world.close();
  }
}

describe.skipIf(!models.available)(`the carry-over's AWS calls fit the published service models and the functions' roles${models.reason}`, () => {
  let calls: Awaited<ReturnType<typeof carryOverCalls>>;
  beforeAll(async () => {
    calls = await carryOverCalls();
  }, 120_000);

  it("makes the calls it is meant to make", () => {
    const operations = new Set(calls.filter((call) => call.fn).map((call) => call.operation));
    for (const operation of [
      "AutoScaling:PutScalingPolicy",
      "AutoScaling:PutScheduledUpdateGroupAction",
      "AutoScaling:PutWarmPool",
      "AutoScaling:SuspendProcesses",
      "AutoScaling:ResumeProcesses",
      "AutoScaling:CreateOrUpdateTags",
      "AutoScaling:DeleteTags",
      "AutoScaling:UpdateAutoScalingGroup",
      "CloudWatch:DescribeAlarms",
      "CloudWatch:PutMetricAlarm",
      "CloudWatch:DeleteAlarms",
      "ELBv2:DescribeTargetGroups",
    ])
      expect(operations).toContain(operation);
    // The new group took the hooks (with the role to pass) and the mixed-instances policy at creation.
    const create = calls.find((call) => call.fn === "launchReleaseGroup" && call.operation === "AutoScaling:CreateAutoScalingGroup")!.input as Record<string, unknown>;
    expect(create).toHaveProperty("LifecycleHookSpecificationList");
    expect(create).toHaveProperty("MixedInstancesPolicy");
  });

  it("every call fits the service's model", () => {
    const problems = calls.flatMap(({ operation, input }) => {
      const [service, name] = operation.split(":");
      return checkCall(service as ServiceName, name, input).problems.map((problem) => `${operation} ${problem}`);
    });
    expect(problems).toEqual([]);
  });

  it.each(["dev01"])("every call is allowed by the role of the function that makes it (%s)", async (stage) => {
    const allowed = allowedActions((await synthesizeApp(stage)).template("Pipeline"));
    const denied = [...new Set(calls.filter((call) => call.fn && !permits(allowed.get(call.fn)!, iamActionOf(call.operation))).map((call) => `${call.fn} calls ${iamActionOf(call.operation)}`))];
    expect(denied).toEqual([]);
    // Launch passes the hook's role to Auto Scaling.
    expect(permits(allowed.get("launchReleaseGroup")!, "iam:PassRole")).toBe(true);
  }, 120_000);
});
