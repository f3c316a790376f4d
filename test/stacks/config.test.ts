import { describe, expect, it } from "vitest";
import { environmentSettings } from "../../functions/lib/contract.js";
import { DEFAULTS } from "../../functions/lib/names.js";
import { StageConfigError, loadStageConfig, parseStageConfig, siteDomain } from "../../stacks/config.js";

const base = { domain: "example.com", hostedZoneId: "Z0123456789EXAMPLE01" };

describe("stage configuration", () => {
  it("fills every default from the one defaults module", () => {
    const config = parseStageConfig("dev01", base);
    expect(config).toMatchObject({
      stage: "dev01",
      loadBalancer: "application",
      instanceType: DEFAULTS.instanceType,
      minCapacity: 1,
      desiredCapacity: 2,
      maxCapacity: 4,
      drainingSeconds: 300,
      healthCheck: { path: "/api/status/health", intervalSeconds: 30, timeoutSeconds: 4, healthyThreshold: 2, unhealthyThreshold: 2 },
      retainReleaseImages: 3,
    });
    expect(config.sshPublicKey).toBeUndefined();
    expect(config.certificateArn).toBeUndefined();
  });

  it("scaling and mixed instances: none by default; given, defaults filled and carried into the deploy's settings", () => {
    expect(parseStageConfig("dev01", base)).toMatchObject({ scaling: { scheduledActions: [] } });
    expect(parseStageConfig("dev01", base).mixedInstances).toBeUndefined();
    const config = parseStageConfig("dev01", {
      ...base,
      scaling: { targetTracking: { metric: "requestCountPerTarget", targetValue: 600 }, scheduledActions: [{ name: "morning", recurrence: "0 8 * * 1-5", desiredCapacity: 3, timeZone: "Europe/Berlin" }] },
      mixedInstances: { instanceTypes: ["t3.small", "t3a.small"] },
    });
    expect(config.mixedInstances).toEqual({ instanceTypes: ["t3.small", "t3a.small"], onDemandBaseCapacity: 0, onDemandPercentageAboveBaseCapacity: 100, spotAllocationStrategy: "price-capacity-optimized" });
    expect(config.scaling.scheduledActions[0]).toEqual({ name: "morning", recurrence: "0 8 * * 1-5", desiredCapacity: 3, timeZone: "Europe/Berlin" });
    const settings = environmentSettings(config, { region: "us-east-1", loadBalancer: { kind: "application", targetGroupArn: "arn:tg" }, launchTemplateId: "lt-1", subnetIds: ["subnet-1"], lockTableName: "locks", topicArn: "arn:topic" });
    expect(settings).toMatchObject({ scaling: config.scaling, mixedInstances: config.mixedInstances });
  });

  it("names the production site by the apex domain and other stages by a sub-domain", () => {
    expect(siteDomain(parseStageConfig("production", base))).toBe("example.com");
    expect(siteDomain(parseStageConfig("dev01", base))).toBe("dev01.example.com");
  });

  it("rejects an unknown stage, listing the configured ones", () => {
    expect(() => loadStageConfig("nope")).toThrowError(/Unknown stage "nope"; configured stages: dev01, classic01, production/);
  });

  const badFields: [string, Record<string, unknown>, RegExp][] = [
    ["missing domain", { hostedZoneId: base.hostedZoneId }, /domain: missing; allowed: a lower-case DNS name/],
    ["bad hosted zone", { ...base, hostedZoneId: "zone-1" }, /hostedZoneId: "zone-1"; allowed: a Route 53 hosted zone id/],
    ["unknown load balancer", { ...base, loadBalancer: "network" }, /loadBalancer: "network"; allowed: "application" or "classic"/],
    ["zero max", { ...base, maxCapacity: 0 }, /maxCapacity: 0; allowed: an integer from 1 to 500/],
    ["fractional desired", { ...base, desiredCapacity: 1.5 }, /desiredCapacity: 1.5; allowed: an integer from 1 to 500/],
    ["desired above max", { ...base, desiredCapacity: 9, maxCapacity: 4 }, /desiredCapacity: 9; allowed: at most maxCapacity \(4\)/],
    ["min above desired", { ...base, minCapacity: 3, desiredCapacity: 2 }, /minCapacity: 3; allowed: at most desiredCapacity \(2\)/],
    ["interval too short", { ...base, healthCheck: { intervalSeconds: 1 } }, /healthCheck.intervalSeconds: 1; allowed: an integer from 5 to 300/],
    ["timeout not below interval", { ...base, healthCheck: { intervalSeconds: 10, timeoutSeconds: 10 } }, /healthCheck.timeoutSeconds: 10; allowed: less than healthCheck.intervalSeconds \(10\)/],
    ["relative health path", { ...base, healthCheck: { path: "health" } }, /healthCheck.path: "health"; allowed: an absolute URL path/],
    ["draining too long", { ...base, drainingSeconds: 4000 }, /drainingSeconds: 4000; allowed: an integer from 0 to 3600/],
    ["bad certificate", { ...base, certificateArn: "arn:aws:iam::1:cert" }, /certificateArn: "arn:aws:iam::1:cert"; allowed: an ACM certificate ARN/],
    ["bad ssh key", { ...base, sshPublicKey: "hello" }, /sshPublicKey: "hello"; allowed: an OpenSSH public key line/],
    ["one subnet", { ...base, vpc: { vpcId: "vpc-0abc12345", publicSubnetIds: ["subnet-0abc1234"], availabilityZones: ["us-east-1a"] } }, /vpc.publicSubnetIds: \["subnet-0abc1234"\]; allowed: at least two subnets/],
    ["ipv6 on classic", { ...base, loadBalancer: "classic", ipv6: true }, /ipv6: true; allowed: false unless loadBalancer is "application"/],
    ["typo", { ...base, desiredCapacty: 2 }, /desiredCapacty: unknown field; allowed: domain, hostedZoneId/],
    ["nested typo", { ...base, healthCheck: { intervall: 5 } }, /healthCheck.intervall: unknown field; allowed: path, intervalSeconds/],
    ["bad region", { ...base, region: "mars-1" }, /region: "mars-1"; allowed: an AWS region/],
    ["unknown tracking metric", { ...base, scaling: { targetTracking: { metric: "memory", targetValue: 50 } } }, /scaling.targetTracking.metric: "memory"; allowed: "cpu" \(average CPU %\) or "requestCountPerTarget"/],
    ["CPU target above 100", { ...base, scaling: { targetTracking: { metric: "cpu", targetValue: 150 } } }, /scaling.targetTracking.targetValue: 150; allowed: a CPU percentage: more than 0, at most 100/],
    ["request count on classic", { ...base, loadBalancer: "classic", scaling: { targetTracking: { metric: "requestCountPerTarget", targetValue: 600 } } }, /scaling.targetTracking.metric: "requestCountPerTarget"; allowed: "cpu" unless loadBalancer is "application"/],
    ["bad recurrence", { ...base, scaling: { scheduledActions: [{ name: "a", recurrence: "0 25 * * *", desiredCapacity: 2 }] } }, /scaling.scheduledActions.0.recurrence: "0 25 \* \* \*"; allowed: a cron recurrence .*hour "25" is outside 0-23/],
    ["bad time zone", { ...base, scaling: { scheduledActions: [{ name: "a", recurrence: "0 8 * * *", desiredCapacity: 2, timeZone: "Mars/Olympus" }] } }, /scaling.scheduledActions.0.timeZone: "Mars\/Olympus"; allowed: an IANA time zone/],
    ["schedule without capacity", { ...base, scaling: { scheduledActions: [{ name: "a", recurrence: "0 8 * * *" }] } }, /scaling.scheduledActions.0.desiredCapacity: missing; allowed: at least one of minCapacity, desiredCapacity, maxCapacity/],
    ["schedule desired above its max", { ...base, scaling: { scheduledActions: [{ name: "a", recurrence: "0 8 * * *", desiredCapacity: 5, maxCapacity: 3 }] } }, /scaling.scheduledActions.0.desiredCapacity: 5; allowed: at most maxCapacity \(3\)/],
    ["two schedules of one name", { ...base, scaling: { scheduledActions: [{ name: "a", recurrence: "0 8 * * *", desiredCapacity: 2 }, { name: "a", recurrence: "0 9 * * *", desiredCapacity: 3 }] } }, /scaling.scheduledActions.1.name: "a"; allowed: a name no other scheduled action of this stage has/],
    ["schedule typo", { ...base, scaling: { scheduledActions: [{ name: "a", recurrence: "0 8 * * *", desired: 2 }] } }, /scaling.scheduledActions.0.desired: unknown field; allowed: name, recurrence, minCapacity, desiredCapacity, maxCapacity, timeZone/],
    ["no instance types", { ...base, mixedInstances: { instanceTypes: [] } }, /mixedInstances.instanceTypes: \[\]; allowed: 1-40 EC2 instance types/],
    ["instance type twice", { ...base, mixedInstances: { instanceTypes: ["t3.small", "t3.small"] } }, /mixedInstances.instanceTypes: \["t3.small","t3.small"\]; allowed: each instance type once/],
    ["On-Demand above 100 %", { ...base, mixedInstances: { instanceTypes: ["t3.small"], onDemandPercentageAboveBaseCapacity: 120 } }, /mixedInstances.onDemandPercentageAboveBaseCapacity: 120; allowed: an integer from 0 to 100/],
    ["unknown Spot strategy", { ...base, mixedInstances: { instanceTypes: ["t3.small"], spotAllocationStrategy: "cheapest" } }, /mixedInstances.spotAllocationStrategy: "cheapest"; allowed: "price-capacity-optimized", "capacity-optimized"/],
  ];
  it.each(badFields)("%s: names the stage, the field, the value and what is allowed", (_, input, message) => {
    const attempt = () => parseStageConfig("dev01", input);
    expect(attempt).toThrowError(StageConfigError);
    expect(attempt).toThrowError(/^Invalid configuration for stage "dev01":/);
    expect(attempt).toThrowError(message);
  });
});
