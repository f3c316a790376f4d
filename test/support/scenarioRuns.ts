import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { runScenario, type ScenarioResult } from "../../simulator/scenarios/scenario.js";
import type { AslDefinition } from "../../stacks/stateMachineDefinition.js";

/**
 * Each file of scenarios/ run once per test process, with the real state machine, and shared by every suite that
 * reads the runs (test/simulator/scenarios.test.ts registers them all): the scenario suite's invariants and
 * specifics, the API-call checks against the service models (test/aws/apiCallChecks.ts) and the IAM coverage
 * (test/stacks/iamCoverage.ts). Before, each of the three ran the scenarios itself: the suite twice over.
 */
export const SCENARIO_DIR = path.resolve(import.meta.dirname, "../../scenarios");
export const SCENARIO_NAMES = readdirSync(SCENARIO_DIR)
  .filter((file) => file.endsWith(".json"))
  .sort()
  .map((file) => file.replace(/\.json$/, ""));

export const readScenario = (name: string) => JSON.parse(readFileSync(path.join(SCENARIO_DIR, `${name}.json`), "utf8"));

/** Hears every API call the stage functions make in a shared run, with the scenario's name. */
export type ScenarioCallListener = (scenario: string, operation: string, input: object) => void;

export interface ScenarioRuns {
  /** The run of one scenario (run on first use). */
  result(name: string): Promise<ScenarioResult>;
  /** Every scenario's run, in file order. */
  all(): Promise<Map<string, ScenarioResult>>;
  /** Registers a listener for the calls of runs not yet started: register before the first run. */
  onApiCall(listener: ScenarioCallListener): void;
}

export function scenarioRuns(definition: () => AslDefinition): ScenarioRuns {
  const runs = new Map<string, Promise<ScenarioResult>>();
  const listeners: ScenarioCallListener[] = [];
  const result = (name: string) => {
    let run = runs.get(name);
    if (!run) {
      if (!SCENARIO_NAMES.includes(name)) throw new Error(`no scenario ${name} in scenarios/`);
      run = runScenario(readScenario(name), definition(), {
        onApiCall: (operation, input) => listeners.forEach((listener) => listener(name, operation, input)),
      });
      runs.set(name, run);
    }
    return run;
  };
  return {
    result,
    async all() {
      const all = new Map<string, ScenarioResult>();
      // One after the other: they share the process's SDK clients and the region's function clock.
      for (const name of SCENARIO_NAMES) all.set(name, await result(name));
      return all;
    },
    onApiCall(listener) {
      if (runs.size > 0) throw new Error("register API-call listeners before the first scenario runs");
      listeners.push(listener);
    },
  };
}
