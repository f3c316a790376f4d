import { describe, expect, it } from "vitest";
import { environmentSettings } from "../../functions/lib/contract.js";
import { DEFAULTS } from "../../functions/lib/names.js";
import { deployOnlyProblems, loadStageConfig, parseStageConfig, PLACEHOLDERS, siteDomain, StageConfigError } from "../../stacks/config.js";

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
    ["missing domain", { hostedZoneId: base.hostedZoneId }, /domain: \(missing\); allowed: a lower-case DNS name/],
    ["bad hosted zone", { ...base, hostedZoneId: "zone-1" }, /hostedZoneId: "zone-1"; allowed: a Route 53 hosted zone id/],
    ["unknown load balancer", { ...base, loadBalancer: "network" }, /loadBalancer: "network"; allowed: "application" or "classic"/],
    ["zero max", { ...base, maxCapacity: 0 }, /maxCapacity: 0; allowed: an integer from 1 to 500/],
    ["max beyond half the targets quota", { ...base, maxCapacity: 501 }, /maxCapacity: 501; allowed: an integer from 1 to 500 \(twice that, the old and the new group during a swap, must fit the load balancer's default quota of 1,000 targets\)/],
    ["slow-start allowance beyond the grace period", { ...base, slowStartAllowanceSeconds: 400 }, /slowStartAllowanceSeconds: 400; allowed: at most healthCheckGracePeriodSeconds \(300\)/],
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
    ["typo", { ...base, desiredCapacty: 2 }, /desiredCapacty: unknown field \(did you mean "desiredCapacity"\?\); allowed: domain, hostedZoneId/],
    ["nested typo", { ...base, healthCheck: { intervall: 5 } }, /healthCheck.intervall: unknown field; allowed: path, intervalSeconds/],
    ["a far-off field name gets no guess", { ...base, colour: "blue" }, /colour: unknown field; allowed: domain,/],
    ["a wrong type says what is allowed, not what zod expected", { ...base, ipv6: "yes" }, /ipv6: "yes"; allowed: true or false/],
    ["bad region", { ...base, region: "mars-1" }, /region: "mars-1"; allowed: an AWS region/],
    ["unknown tracking metric", { ...base, scaling: { targetTracking: { metric: "memory", targetValue: 50 } } }, /scaling.targetTracking.metric: "memory"; allowed: "cpu" \(average CPU %\) or "requestCountPerTarget"/],
    ["CPU target above 100", { ...base, scaling: { targetTracking: { metric: "cpu", targetValue: 150 } } }, /scaling.targetTracking.targetValue: 150; allowed: a CPU percentage: more than 0, at most 100/],
    ["request count on classic", { ...base, loadBalancer: "classic", scaling: { targetTracking: { metric: "requestCountPerTarget", targetValue: 600 } } }, /scaling.targetTracking.metric: "requestCountPerTarget"; allowed: "cpu" unless loadBalancer is "application"/],
    ["bad recurrence", { ...base, scaling: { scheduledActions: [{ name: "a", recurrence: "0 25 * * *", desiredCapacity: 2 }] } }, /scaling.scheduledActions.0.recurrence: "0 25 \* \* \*"; allowed: a cron recurrence .*hour "25" is outside 0-23/],
    ["bad time zone", { ...base, scaling: { scheduledActions: [{ name: "a", recurrence: "0 8 * * *", desiredCapacity: 2, timeZone: "Mars/Olympus" }] } }, /scaling.scheduledActions.0.timeZone: "Mars\/Olympus"; allowed: an IANA time zone/],
    ["schedule without capacity", { ...base, scaling: { scheduledActions: [{ name: "a", recurrence: "0 8 * * *" }] } }, /scaling.scheduledActions.0.desiredCapacity: \(missing\); allowed: at least one of minCapacity, desiredCapacity, maxCapacity/],
    ["schedule desired above its max", { ...base, scaling: { scheduledActions: [{ name: "a", recurrence: "0 8 * * *", desiredCapacity: 5, maxCapacity: 3 }] } }, /scaling.scheduledActions.0.desiredCapacity: 5; allowed: at most maxCapacity \(3\)/],
    ["two schedules of one name", { ...base, scaling: { scheduledActions: [{ name: "a", recurrence: "0 8 * * *", desiredCapacity: 2 }, { name: "a", recurrence: "0 9 * * *", desiredCapacity: 3 }] } }, /scaling.scheduledActions.1.name: "a"; allowed: a name no other scheduled action of this stage has/],
    ["schedule typo", { ...base, scaling: { scheduledActions: [{ name: "a", recurrence: "0 8 * * *", desired: 2 }] } }, /scaling.scheduledActions.0.desired: unknown field; allowed: name, recurrence, minCapacity, desiredCapacity, maxCapacity, timeZone/],
    ["no instance types", { ...base, mixedInstances: { instanceTypes: [] } }, /mixedInstances.instanceTypes: \[\]; allowed: 1-40 EC2 instance types/],
    ["mixed instance type that does not exist", { ...base, mixedInstances: { instanceTypes: ["t3.small", "t3.mega"] } }, /mixedInstances.instanceTypes.1: "t3.mega"; allowed: an EC2 instance type the SDK knows/],
    ["instance type twice", { ...base, mixedInstances: { instanceTypes: ["t3.small", "t3.small"] } }, /mixedInstances.instanceTypes: \["t3.small","t3.small"\]; allowed: each instance type once/],
    ["On-Demand above 100 %", { ...base, mixedInstances: { instanceTypes: ["t3.small"], onDemandPercentageAboveBaseCapacity: 120 } }, /mixedInstances.onDemandPercentageAboveBaseCapacity: 120; allowed: an integer from 0 to 100/],
    ["unknown Spot strategy", { ...base, mixedInstances: { instanceTypes: ["t3.small"], spotAllocationStrategy: "cheapest" } }, /mixedInstances.spotAllocationStrategy: "cheapest"; allowed: "price-capacity-optimized", "capacity-optimized"/],
    ["instance type that does not exist", { ...base, instanceType: "t3.mega" }, /instanceType: "t3.mega"; allowed: an EC2 instance type the SDK knows \(@aws-sdk\/client-ec2 _InstanceType, \d+ types\)/],
    ["Node.js version never released", { ...base, nodeVersion: "22.99.0" }, /nodeVersion: "22.99.0"; allowed: a released Node.js version, 18.0.0 or later, such as "22.11.0" \(stacks\/data\/nodeVersions.ts, known through \d+\.\d+\.\d+ as of \d{4}-\d\d-\d\d; refresh it with npx tsx scripts\/node-versions.ts\)/],
    ["Node.js version that is a line, not a release", { ...base, nodeVersion: "22" }, /nodeVersion: "22"; allowed: a released Node.js version/],
    ["Node.js version too old for the base image", { ...base, nodeVersion: "16.20.2" }, /nodeVersion: "16.20.2"; allowed: a released Node.js version, 18.0.0 or later/],
    [
      "health deadline shorter than the grace period plus a boot",
      { ...base, healthCheckGracePeriodSeconds: 900, timeouts: { groupHealthySeconds: 300, loadBalancerHealthySeconds: 300 } },
      /timeouts\.loadBalancerHealthySeconds: 300; allowed: timeouts\.groupHealthySeconds \+ timeouts\.loadBalancerHealthySeconds \(300 \+ 300 = 600\) of at least healthCheckGracePeriodSeconds plus a boot \(900 \+ 120 = 1020\)/,
    ],
    ["one availability zone", { ...base, availabilityZones: ["us-east-1a"] }, /availabilityZones: \["us-east-1a"\]; allowed: at least two availability zones of the stage's region/],
    ["a zone of another region", { ...base, availabilityZones: ["us-east-1a", "us-west-2b"] }, /availabilityZones: \["us-east-1a","us-west-2b"\]; allowed: distinct zones of the stage's region us-east-1/],
    ["the same zone twice", { ...base, availabilityZones: ["us-east-1a", "us-east-1a"] }, /availabilityZones: .*; allowed: distinct zones of the stage's region us-east-1/],
    ["zones beside an existing VPC", { ...base, availabilityZones: ["us-east-1a", "us-east-1b"], vpc: { vpcId: "vpc-0abc12345", publicSubnetIds: ["subnet-0abc1234", "subnet-0abc1235"], availabilityZones: ["us-east-1a", "us-east-1b"] } }, /availabilityZones: .*; allowed: none with vpc/],
  ];
  it("accepts what a deploy can use: a known instance type, a released Node.js version, enough time to get healthy", () => {
    const config = parseStageConfig("dev01", {
      ...base,
      instanceType: "t4g.small",
      nodeVersion: "24.11.1",
      healthCheckGracePeriodSeconds: 600,
      timeouts: { groupHealthySeconds: 360, loadBalancerHealthySeconds: 360 },
      availabilityZones: ["us-east-1b", "us-east-1d"],
    });
    expect(config).toMatchObject({ instanceType: "t4g.small", nodeVersion: "24.11.1", availabilityZones: ["us-east-1b", "us-east-1d"] });
  });

  it.each(badFields)("%s: names the stage, the field, the value and what is allowed", (_, input, message) => {
    const attempt = () => parseStageConfig("dev01", input);
    expect(attempt).toThrowError(StageConfigError);
    expect(attempt).toThrowError(/^Invalid configuration for stage "dev01":/);
    expect(attempt).toThrowError(message);
  });
});

describe("what only a deploy refuses", () => {
  it("the shipped placeholder domain and hosted zone, in the usual form", () => {
    expect(deployOnlyProblems(loadStageConfig("dev01"))).toEqual([
      `domain: "${PLACEHOLDERS.domain}"; allowed: a domain whose hosted zone you own (example.com is the shipped placeholder: set yours in stacks/config.ts)`,
      expect.stringMatching(/^hostedZoneId: "Z0123456789EXAMPLE01"; allowed: the Route 53 hosted zone id of your domain/),
    ]);
  });

  it("nothing for a stage with its own domain and zone", () => {
    expect(deployOnlyProblems(parseStageConfig("dev01", { domain: "shop.example.net", hostedZoneId: "Z08152342SHOPZONE001" }))).toEqual([]);
  });
});
