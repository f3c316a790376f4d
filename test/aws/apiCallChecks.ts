import { beforeAll, describe, expect, it } from "vitest";
import type { ScenarioRuns } from "../support/scenarioRuns.js";
import { checkCall, checkModelSources, SERVICE_NAMES, type ServiceName } from "./serviceModels.js";

/**
 * Every AWS call the stage functions make in every scenario, checked against the services' published models
 * (checkCall). The simulator answers whatever it is given; this is what a real region would reject. Registered
 * by test/simulator/scenarios.test.ts on its shared runs (test/support/scenarioRuns.ts), so each scenario runs
 * once for both.
 */

/**
 * Problems found on the code as it is, exact (`<Service:Operation> <problem>`), each to be fixed in the
 * product code and then removed here. A problem not listed fails the test; a listed one no longer found fails
 * it too, so this list only shrinks. Empty: no call of today's code breaks the models.
 */
const KNOWN_FINDINGS: string[] = [];

export function describeApiCallChecks(runs: ScenarioRuns): void {
  const models = checkModelSources();
  /** Problem -> scenarios where it occurred. */
  const problems = new Map<string, Set<string>>();
  /** Disagreements between the model sources, and what could not be checked. */
  const notes = new Set<string>();
  const operations = new Map<string, number>();
  // Checked as each call is made (its input as the function sent it), in whichever test first runs the scenario.
  if (models.available) {
    runs.onApiCall((scenario, operation, input) => {
      operations.set(operation, (operations.get(operation) ?? 0) + 1);
      const [service, name] = operation.split(":");
      const check = checkCall(service as ServiceName, name, input);
      for (const problem of check.problems) problems.set(`${operation} ${problem}`, (problems.get(`${operation} ${problem}`) ?? new Set()).add(`${scenario}.json`));
      for (const note of check.notes) notes.add(`${operation} ${note}`);
    });
  }

  describe.skipIf(!models.available)(`the scenario suite's AWS calls fit the published service models${models.reason}`, () => {
    beforeAll(() => runs.all(), 600_000);

    it("records calls of every service the stage functions use", () => {
      const services = new Set([...operations.keys()].map((op) => op.split(":")[0]));
      expect([...services].filter((s) => !SERVICE_NAMES.includes(s as ServiceName))).toEqual([]);
      expect(operations.size).toBeGreaterThan(15);
    });

    it("no call has a problem beyond the known findings", () => {
      const found = [...problems.keys()].sort();
      const report = found.map((p) => `${p}  [${[...problems.get(p)!].join(", ")}]`);
      expect(report.filter((line) => !KNOWN_FINDINGS.some((known) => line.startsWith(`${known}  [`)))).toEqual([]);
      expect(KNOWN_FINDINGS.filter((known) => !found.includes(known)), "known findings no longer found: remove them").toEqual([]);
    });

    it("source disagreements met on the way are the expected ones", () => {
      // Members newer than botocore 1.29 are checked for existence and type (aws-sdk v2, or the SDK v3 client's
      // declarations when newer than both), not for constraints.
      expect([...notes].sort()).toEqual([
        "EC2:DeregisterImage input.DeleteAssociatedSnapshots: only in the SDK v3 client (@aws-sdk/client-ec2), not in aws-sdk v2 or botocore 2022; type checked, constraints unchecked",
        "EC2:DescribeImages input.MaxResults: only in aws-sdk v2, not in botocore 2022; constraints unchecked",
      ]);
    });
  });
}
