import { describe, expect, it } from "vitest";
import { parseScenario, scenarioStageConfig } from "../../simulator/scenarios/scenario.js";

describe("scenario validation", () => {
  it("fills every default but steps", () => {
    const scenario = parseScenario({ steps: [{ deploy: { release: "v1" } }] });
    expect(scenarioStageConfig(scenario.environment)).toMatchObject({ loadBalancer: "application", minCapacity: 1, desiredCapacity: 2, maxCapacity: 4 });
    expect(scenario.traffic.requestsPerSecond).toBe(10);
    expect(scenario.steps[0]).toMatchObject({ deploy: { release: "v1", appHealthy: true, trigger: "s3", duplicateEvent: false }, faults: [] });
  });

  it.each([
    ["no steps", {}, /steps: missing; allowed: Required/],
    ["unknown timing field", { timing: { bootSeconds: 3 }, steps: [{ redrive: true }] }, /timing: unknown field\(s\) bootSeconds/],
    ["bad release label", { steps: [{ deploy: { release: "v 1" } }] }, /steps\.0\.deploy\.release: "v 1"; allowed: a release label such as v2/],
    ["unknown step kind", { steps: [{ deplyo: {} }] }, /steps\.0: \{"deplyo":\{\}\} is not a step; allowed: \{"deploy"/],
    ["bad fault inside a deploy step", { steps: [{ deploy: { release: "v2" }, faults: [{ x: 1 }] }] }, /steps\.0\.faults\.0: \{"x":1\}; allowed: \{"operation": "Service:Operation"/],
    ["bad fault operation", { steps: [{ deploy: { release: "v2" }, faults: [{ operation: "Describe", error: "Throttling" }] }] }, /steps\.0\.faults\.0/],
    ["bad environment field", { environment: { maxCapacity: 0 }, steps: [{ redrive: true }] }, /environment\.maxCapacity: 0; allowed: an integer from 1 to 500/],
    ["unknown environment field", { environment: { desiredCapacty: 3 }, steps: [{ redrive: true }] }, /environment\.desiredCapacty: unknown field; allowed: domain, hostedZoneId/],
    ["unknown expectation", { steps: [{ deploy: { release: "v2" }, expect: "ok" }] }, /steps\.0\.expect: "ok"; allowed: .*succeeded/],
  ])("%s: names the field, the value and what is allowed", (_, input, message) => {
    expect(() => parseScenario(input)).toThrowError(message);
  });
});
