import { describe, expect, it } from "vitest";
import { type EnvironmentRefs, environmentSettings, isArtifactKey, releaseFromArtifactKey, trafficLevels } from "../../../functions/lib/contract.js";
import { parseStageConfig } from "../../../stacks/config.js";

describe("trafficLevels", () => {
  it.each<[Parameters<typeof trafficLevels>[0], number, number[]]>([
    ["all-at-once", 10, [100]],
    ["canary", 5, [5, 100]],
    ["linear", 10, [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]],
    ["linear", 30, [30, 60, 90, 100]],
    ["linear", 50, [50, 100]],
    ["linear", 100, [100]],
  ])("%s by %i %%: %j", (strategy, step, levels) => {
    expect(trafficLevels(strategy, step)).toEqual(levels);
  });
});

describe("environmentSettings", () => {
  const refs: EnvironmentRefs = {
    region: "eu-west-1",
    loadBalancer: { kind: "classic", loadBalancerName: "elb-shop" },
    launchTemplateId: "lt-1",
    subnetIds: ["subnet-a"],
    lockTableName: "locks",
    topicArn: "arn:aws:sns:eu-west-1:123456789012:deploys",
    builtInAlarms: [{ target: "elb-shop", alarms: ["a5xx"] }],
  };

  it("takes the configuration's fields and the stack's resources", () => {
    const config = parseStageConfig("dev01", {
      domain: "shop.example.test",
      hostedZoneId: "Z0123456789SHOPTEST01",
      app: "shop",
      loadBalancer: "classic",
      minCapacity: 2,
      desiredCapacity: 3,
      maxCapacity: 6,
      scaling: { scheduledActions: [{ name: "night", recurrence: "0 22 * * *", desiredCapacity: 2 }] },
    });

    const settings = environmentSettings(config, refs);

    expect(settings).toStrictEqual({
      app: "shop",
      environment: "dev01",
      region: "eu-west-1",
      loadBalancer: refs.loadBalancer,
      launchTemplateId: "lt-1",
      subnetIds: ["subnet-a"],
      capacity: { min: 2, desired: 3, max: 6 },
      scaling: config.scaling,
      healthCheck: { intervalSeconds: config.healthCheck.intervalSeconds, healthyThreshold: config.healthCheck.healthyThreshold, unhealthyThreshold: config.healthCheck.unhealthyThreshold },
      healthCheckGracePeriodSeconds: config.healthCheckGracePeriodSeconds,
      slowStartAllowanceSeconds: config.slowStartAllowanceSeconds,
      drainingSeconds: config.drainingSeconds,
      timeouts: config.timeouts,
      retainReleaseImages: config.retainReleaseImages,
      cutover: { ...config.cutover, builtInAlarms: refs.builtInAlarms },
      lockTableName: "locks",
      topicArn: refs.topicArn,
      eventBusName: "default",
    });
    // Copies: changing the configuration afterwards changes nothing.
    config.scaling.scheduledActions[0].desiredCapacity = 9;
    refs.builtInAlarms[0].alarms.push("late");
    expect(settings.scaling.scheduledActions[0].desiredCapacity).toBe(2);
    expect(settings.cutover.builtInAlarms[0].alarms).toEqual(["a5xx"]);
    refs.builtInAlarms[0].alarms.pop();
  });

  it("takes mixed instances and an event bus when there are", () => {
    const config = parseStageConfig("dev01", {
      domain: "shop.example.test",
      hostedZoneId: "Z0123456789SHOPTEST01",
      app: "shop",
      loadBalancer: "classic",
      mixedInstances: { instanceTypes: ["t3.micro", "t3a.micro"] },
    });

    const settings = environmentSettings(config, { ...refs, eventBusName: "deploys" });

    expect(settings.mixedInstances).toEqual(config.mixedInstances);
    expect(settings.mixedInstances).not.toBe(config.mixedInstances);
    expect(settings.eventBusName).toBe("deploys");
  });
});

describe("artifact keys", () => {
  it("the release is the file name without .tgz", () => {
    expect(releaseFromArtifactKey("releases/v2.tgz")).toBe("v2");
    expect(releaseFromArtifactKey("releases/team/myapp-1.4.2.tgz")).toBe("myapp-1.4.2");
    expect(releaseFromArtifactKey("v3.tgz")).toBe("v3");
    expect(releaseFromArtifactKey("releases/v2.zip")).toBe("v2.zip");
  });

  it("an artifact key is under releases/, ends in .tgz, has a file name between and at most 1024 characters", () => {
    expect(isArtifactKey("releases/a.tgz")).toBe(true);
    expect(isArtifactKey(`releases/${"a".repeat(1024 - 13)}.tgz`)).toBe(true);
    expect(isArtifactKey(`releases/${"a".repeat(1024 - 12)}.tgz`)).toBe(false);
    expect(isArtifactKey("releases/.tgz")).toBe(false);
    expect(isArtifactKey("Releases/a.tgz")).toBe(false);
    expect(isArtifactKey("uploads/releases/a.tgz")).toBe(false);
    expect(isArtifactKey("releases/a.tgz.bak")).toBe(false);
  });
});
