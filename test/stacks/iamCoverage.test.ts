import { readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runScenario } from "../../simulator/scenarios/scenario.js";
import { STAGE_FUNCTION_IDS } from "../../stacks/pipeline/tables.js";
import { loadDeployDefinition, type AslDefinition } from "../../stacks/stateMachineDefinition.js";
import { synthesizeApp } from "../../stacks/synthesize.js";
import { allowedActions, iamActionOf, permits } from "../support/roleActions.js";

/**
 * IAM proven by behaviour: the scenarios run the real stage functions on the simulated region, which records
 * every AWS operation each function calls; each of those must be an action its own role's policy allows.
 * (Resource scoping and tag conditions are asserted in pipeline.test.ts.)
 */
const SCENARIOS = [
  "normal-deploy",
  "normal-deploy-classic",
  "snapshot-in-use",
  "crash-and-redrive",
  "concurrent-releases",
  "existing-image",
  // A rollback (and a stop for a redrive), protected and Standby instances released on retirement.
  "rollback-keeps-retired-release-retired",
  "protected-and-standby-instances",
  // The carry-over (issue 13): configured scaling, a rollback that releases the hold, the capacity raised before cutover.
  "configured-scaling",
  "rollback-keeps-live-group-configuration",
  "scale-out-during-health-wait",
];

describe("stage function roles allow every call the functions make", () => {
  let definition: AslDefinition;
  const calls = { application: new Map<string, Set<string>>(), classic: new Map<string, Set<string>>() };
  beforeAll(async () => {
    definition = await loadDeployDefinition("dev01");
    for (const name of SCENARIOS) {
      const scenario = JSON.parse(readFileSync(path.resolve(import.meta.dirname, "../../scenarios", `${name}.json`), "utf8"));
      const kind: "application" | "classic" = scenario.environment?.loadBalancer ?? "application";
      const result = await runScenario(scenario, definition);
      for (const [fn, operations] of Object.entries(result.callsByStageFunction ?? {})) {
        const set = calls[kind].get(fn) ?? new Set<string>();
        for (const op of operations) set.add(op);
        calls[kind].set(fn, set);
      }
    }
  }, 300_000);

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
