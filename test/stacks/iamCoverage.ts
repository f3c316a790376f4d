import { beforeAll, describe, expect, it } from "vitest";
import { STAGE_FUNCTION_IDS } from "../../stacks/pipeline/tables.js";
import { synthesizeApp } from "../../stacks/synthesize.js";
import { allowedActions, iamActionOf, permits } from "../support/roleActions.js";
import { readScenario, type ScenarioRuns } from "../support/scenarioRuns.js";

/**
 * IAM proven by behaviour: the scenarios run the real stage functions on the simulated region, which records
 * every AWS operation each function calls; each of those must be an action its own role's policy allows.
 * (Resource scoping and tag conditions are asserted in pipeline.test.ts.) Registered by
 * test/simulator/scenarios.test.ts on its shared runs (test/support/scenarioRuns.ts): every scenario, each run
 * once for the whole suite (before, eleven of them ran a second time here).
 */
export function describeIamCoverage(runs: ScenarioRuns): void {
  describe("stage function roles allow every call the functions make", () => {
    const calls = { application: new Map<string, Set<string>>(), classic: new Map<string, Set<string>>() };
    beforeAll(async () => {
      for (const [name, result] of await runs.all()) {
        const kind: "application" | "classic" = readScenario(name).environment?.loadBalancer ?? "application";
        for (const [fn, operations] of Object.entries(result.callsByStageFunction ?? {})) {
          const set = calls[kind].get(fn) ?? new Set<string>();
          for (const op of operations) set.add(op);
          calls[kind].set(fn, set);
        }
      }
    }, 600_000);

    it.each([
      ["dev01", "application"],
      ["classic01", "classic"],
    ] as const)("%s (%s load balancer)", async (stage, kind) => {
      // Prepare
      const allowed = allowedActions((await synthesizeApp(stage)).template("Pipeline"));
      const missing: string[] = [];
      // Act
      for (const [fn, operations] of calls[kind]) {
        for (const operation of operations) {
          const action = iamActionOf(operation);
          if (!permits(allowed.get(fn) ?? new Set(), action)) missing.push(`${fn} calls ${action}`);
        }
      }
      // Assess: every function granted an AWS action (X-Ray aside) was exercised, and nothing it called is denied.
      const grantedAws = STAGE_FUNCTION_IDS.filter((id) => [...(allowed.get(id) ?? [])].some((action) => !action.startsWith("xray:")));
      expect([...calls[kind].keys()].sort()).toEqual(grantedAws.sort());
      expect(missing).toEqual([]);
    }, 120_000);
  });
}
