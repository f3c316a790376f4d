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
    ["inverted consistency range", { consistency: { groupVisibleSeconds: [5, 1] }, steps: [{ redrive: true }] }, /consistency\.groupVisibleSeconds: \[5,1\]; allowed: \[min, max\] seconds with 0 <= min <= max/],
    ["consistency delay not a range", { consistency: { imageVisibleSeconds: 3 }, steps: [{ redrive: true }] }, /consistency\.imageVisibleSeconds: 3; allowed: \[min, max\] seconds/],
    ["unknown consistency field", { consistency: { groupSeconds: [1, 2] }, steps: [{ redrive: true }] }, /consistency: unknown field\(s\) groupSeconds/],
    ["consistency neither an object nor immediate", { consistency: "later", steps: [{ redrive: true }] }, /consistency: "later"; allowed: "immediate", or an object of seed, groupVisibleSeconds/],
  ])("%s: names the field, the value and what is allowed", (_, input, message) => {
    expect(() => parseScenario(input)).toThrowError(message);
  });

  it("consistency: the region's defaults unless overridden, field by field; \"immediate\" turns every delay off", () => {
    const overridden = parseScenario({ consistency: { seed: 7, groupVisibleSeconds: [0, 2] }, steps: [{ redrive: true }] });
    const immediate = parseScenario({ consistency: "immediate", steps: [{ redrive: true }] });
    expect(parseScenario({ steps: [{ redrive: true }] }).consistency).toEqual({});
    expect(overridden.consistency).toEqual({ seed: 7, groupVisibleSeconds: [0, 2] });
    expect(Object.entries(immediate.consistency).filter(([key]) => key !== "seed").every(([, range]) => (range as number[])[1] === 0)).toBe(true);
  });
});
