import { describe, expect, it } from "vitest";
import { resolveTiming } from "../../simulator/region/index.js";
import { parseScenario, scenarioStageConfig } from "../../simulator/scenarios/scenario.js";

describe("scenario validation", () => {
  it("fills every default but steps", () => {
    const scenario = parseScenario({ steps: [{ deploy: { release: "v1" } }] });
    expect(scenarioStageConfig(scenario.environment)).toMatchObject({ loadBalancer: "application", minCapacity: 1, desiredCapacity: 2, maxCapacity: 4 });
    expect(scenario.traffic).toEqual({ requestsPerSecond: 10, requestSeconds: 0 });
    expect(scenario.steps[0]).toMatchObject({ deploy: { release: "v1", appHealthy: true, trigger: "s3", duplicateEvent: false }, faults: [], during: [] });
  });

  it.each([
    ["no steps", {}, /steps: \(missing\); allowed: a list/],
    ["unknown timing field", { timing: { bootSeconds: 3 }, steps: [{ redrive: true }] }, /timing: unknown field\(s\) bootSeconds/],
    ["unknown health-check phase", { timing: { healthCheckPhase: "random" }, steps: [{ redrive: true }] }, /timing\.healthCheckPhase: "random"; allowed: "aligned" or "seeded"/],
    ["timing seconds given as a phase", { timing: { instanceBootSeconds: "seeded" }, steps: [{ redrive: true }] }, /timing\.instanceBootSeconds: "seeded"; allowed: a number/],
    ["bad release label", { steps: [{ deploy: { release: "v 1" } }] }, /steps\.0\.deploy\.release: "v 1"; allowed: a release label such as v2/],
    ["unknown step kind", { steps: [{ deplyo: {} }] }, /steps\.0: \{"deplyo":\{\}\} is not a step; allowed: \{"deploy"/],
    ["bad fault inside a deploy step", { steps: [{ deploy: { release: "v2" }, faults: [{ x: 1 }] }] }, /steps\.0\.faults\.0: \{"x":1\}; allowed: \{"operation": "Service:Operation"/],
    ["bad fault operation", { steps: [{ deploy: { release: "v2" }, faults: [{ operation: "Describe", error: "Throttling" }] }] }, /steps\.0\.faults\.0/],
    ["bad environment field", { environment: { maxCapacity: 0 }, steps: [{ redrive: true }] }, /environment\.maxCapacity: 0; allowed: an integer from 1 to 500/],
    ["unknown environment field", { environment: { desiredCapacty: 3 }, steps: [{ redrive: true }] }, /environment\.desiredCapacty: unknown field \(did you mean "desiredCapacity"\?\); allowed: domain, hostedZoneId/],
    ["empty steps", { steps: [] }, /steps: \[\]; allowed: at least 1 item\(s\)/],
    ["unknown expectation", { steps: [{ deploy: { release: "v2" }, expect: "ok" }] }, /steps\.0\.expect: "ok"; allowed: .*succeeded/],
    [
      "misspelled fault operation",
      { steps: [{ deploy: { release: "v2" }, faults: [{ operation: "AutoScaling:DescribeAutoScalingGroup", error: "Throttling" }] }] },
      /steps\.0\.faults\.0\.operation: "AutoScaling:DescribeAutoScalingGroup"; allowed: an operation the simulated region models: .*AutoScaling:DescribeAutoScalingGroups,/,
    ],
    ["fault on a service outside the contract", { steps: [{ deploy: { release: "v2" }, faults: [{ operation: "Lambda:Invoke", error: "Throttling" }] }] }, /operation: "Lambda:Invoke"; allowed: a "Service:Operation" with a service of AutoScaling, EC2, ELB, ELBv2, DynamoDB, S3, SNS, EventBridge, CodeBuild, SFN/],
    ["operation of a service the region answers no command of", { steps: [{ deploy: { release: "v2", crashAfter: "CodeBuild:StartBuild" } }] }, /steps\.0\.deploy\.crashAfter: "CodeBuild:StartBuild"; allowed: .*models none of CodeBuild/],
    ["misspelled loseResponseAfter operation", { steps: [{ deploy: { release: "v2", loseResponseAfter: "EC2:RunInstance" } }] }, /deploy\.loseResponseAfter: "EC2:RunInstance"; allowed: .*EC2:DescribeInstances/],
    ["unknown field in crashAfter", { steps: [{ deploy: { release: "v2", crashAfter: { operation: "AutoScaling:CreateAutoScalingGroup", nht: 2 } } }] }, /deploy\.crashAfter: unknown field\(s\) nht \(did you mean "nth"\?\); allowed: operation, nth/],
    ["misspelled deploy field", { steps: [{ deploy: { release: "v2", apHealthy: false } }] }, /steps\.0\.deploy: unknown field\(s\) apHealthy \(did you mean "appHealthy"\?\); allowed: release, appHealthy,/],
    ["two actions in one during entry", { steps: [{ deploy: { release: "v2" }, during: [{ atSeconds: 30, scaleLiveGroup: { desired: 3 }, configureLiveGroup: {} }] }] }, /steps\.0\.during\.0: unknown field\(s\) configureLiveGroup; allowed: atSeconds, scaleLiveGroup/],
    ["empty configureLiveGroup", { steps: [{ configureLiveGroup: {} }] }, /steps\.0\.configureLiveGroup: \{\}; allowed: at least one of targetTrackingCpuPercent/],
    ["hook timeout outside AWS's range", { steps: [{ configureLiveGroup: { lifecycleHookSeconds: 10 } }] }, /configureLiveGroup\.lifecycleHookSeconds: 10; allowed: at least 30/],
    ["bad recurrence", { steps: [{ configureLiveGroup: { scheduledAction: { desired: 2, recurrence: "0 25 * * *" } } }] }, /scheduledAction\.recurrence: "0 25 \* \* \*"; allowed: a cron recurrence .*hour "25" is outside 0-23/],
    ["scaleLiveGroup field misspelled", { steps: [{ scaleLiveGroup: { desired: 3, maximum: 5 } }] }, /steps\.0\.scaleLiveGroup: unknown field\(s\) maximum; allowed: desired, min, max/],
    ["launch capacity below 0", { steps: [{ deploy: { release: "v2" }, faults: [{ launchCapacity: { available: -1 } }] }] }, /faults\.0\.launchCapacity\.available: -1; allowed: at least 0/],
    ["redeliver of something that is no release label", { steps: [{ redeliver: "v 2" }] }, /steps\.0\.redeliver: "v 2"; allowed: the release label of an earlier upload/],
    ["unknown field of an API fault", { steps: [{ deploy: { release: "v2" }, faults: [{ operation: "AutoScaling:CreateAutoScalingGroup", error: "ValidationError", mesage: "x" }] }] }, /faults\.0: unknown field\(s\) mesage \(did you mean "message"\?\); allowed: operation, error, times, message/],
    ["unknown traffic field", { traffic: { requestTime: 2 }, steps: [{ redrive: true }] }, /traffic: unknown field\(s\) requestTime; allowed: requestsPerSecond, requestSeconds, requestsPerInstancePerSecond/],
    ["unknown expectLiveGroup field", { steps: [{ deploy: { release: "v2" }, expectLiveGroup: { policies: [] } }] }, /expectLiveGroup: unknown field\(s\) policies; allowed: release, desired, min, max, scalingPolicies/],
    ["inverted consistency range", { consistency: { groupVisibleSeconds: [5, 1] }, steps: [{ redrive: true }] }, /consistency\.groupVisibleSeconds: \[5,1\]; allowed: \[min, max\] seconds with 0 <= min <= max/],
    ["consistency delay not a range", { consistency: { imageVisibleSeconds: 3 }, steps: [{ redrive: true }] }, /consistency\.imageVisibleSeconds: 3; allowed: \[min, max\] seconds/],
    ["unknown consistency field", { consistency: { groupSeconds: [1, 2] }, steps: [{ redrive: true }] }, /consistency: unknown field\(s\) groupSeconds; allowed: seed, groupVisibleSeconds/],
    ["consistency neither an object nor immediate", { consistency: "later", steps: [{ redrive: true }] }, /consistency: "later"; allowed: "immediate", or an object of seed, groupVisibleSeconds/],
  ])("%s: names the field, the value and what is allowed", (_, input, message) => {
    expect(() => parseScenario(input)).toThrowError(message);
  });

  it("timing.healthCheckPhase: aligned unless set; the region refuses any other value too", () => {
    expect(parseScenario({ steps: [{ redrive: true }] }).timing).toEqual({});
    expect(parseScenario({ timing: { healthCheckPhase: "seeded", instanceBootSeconds: 43 }, steps: [{ redrive: true }] }).timing).toEqual({ healthCheckPhase: "seeded", instanceBootSeconds: 43 });
    expect(resolveTiming().healthCheckPhase).toBe("aligned");
    expect(() => resolveTiming({ healthCheckPhase: "random" as never })).toThrowError('timing.healthCheckPhase must be "aligned" or "seeded", got "random"');
  });

  it("consistency: the region's defaults unless overridden, field by field; \"immediate\" turns every delay off", () => {
    const overridden = parseScenario({ consistency: { seed: 7, groupVisibleSeconds: [0, 2] }, steps: [{ redrive: true }] });
    const immediate = parseScenario({ consistency: "immediate", steps: [{ redrive: true }] });
    expect(parseScenario({ steps: [{ redrive: true }] }).consistency).toEqual({});
    expect(overridden.consistency).toEqual({ seed: 7, groupVisibleSeconds: [0, 2] });
    expect(Object.entries(immediate.consistency).filter(([key]) => key !== "seed").every(([, range]) => (range as number[])[1] === 0)).toBe(true);
  });
});
