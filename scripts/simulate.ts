/**
 * `npm run simulate -- --scenario <file.json> [--json]`: runs a scenario (docs/design.md "Simulation") with the
 * real synthesized state machine and the real stage functions against the in-process simulated region.
 * Exits non-zero when an expectation or an invariant fails.
 */
import "../simulator/offlineEnvironment.js";
import { readFile } from "node:fs/promises";
import { UsageError, readOptions, runsAsCommand } from "./cli.js";
import { loadDeployDefinition } from "../stacks/stateMachineDefinition.js";
import { parseScenario, runScenario, type ScenarioResult } from "../simulator/scenarios/scenario.js";

const USAGE = "usage: npm run simulate -- --scenario <file.json> [--json]";

export function formatScenarioResult(result: ScenarioResult): string {
  const lines = [`scenario ${result.scenario}`];
  const header = ["#", "release", "outcome", "expected", "sim s", "min s", "ratio", "failed req", "before 1st", "recovery s", "served by", "API calls", "transitions", "lambdas (cold)", "bakes b/r"];
  const rows = result.steps.map((step) => [
    String(step.step),
    step.release,
    step.outcome,
    step.expected ?? "-",
    String(step.simSeconds),
    String(step.physicalMinimumSeconds),
    step.physicalMinimumSeconds ? (step.simSeconds / step.physicalMinimumSeconds).toFixed(3) : "-",
    String(step.failedRequests),
    String(step.requestsBeforeFirstRelease),
    step.recoverySeconds === undefined ? "-" : String(step.recoverySeconds),
    Object.entries(step.servedBy).map(([r, n]) => `${r}:${n}`).join(" ") || "-",
    String(Object.values(step.apiCalls).reduce((a, b) => a + b, 0)),
    String(step.stateTransitions),
    `${step.lambdaInvocations} (${step.lambdaColdStarts})`,
    `${step.bakes.base}/${step.bakes.release}`,
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const format = (row: string[]) => row.map((cell, c) => cell.padEnd(widths[c])).join("  ");
  lines.push(format(header), format(widths.map((w) => "-".repeat(w))), ...rows.map(format));
  for (const step of result.steps) {
    if (Object.keys(step.failedBy).length) lines.push(`step ${step.step}: failed requests by release: ${Object.entries(step.failedBy).map(([r, n]) => `${r} ${n}`).join(", ")}`);
    if (step.noHealthyTargetAfter)
      lines.push(`step ${step.step}: of those with no healthy target, after a release's instances failed their checks: ${Object.entries(step.noHealthyTargetAfter).map(([r, n]) => `${r} ${n}`).join(", ")}`);
    if (step.error) lines.push(`step ${step.step}: ${step.error}: ${step.cause}`);
  }
  const live = result.liveGroup;
  lines.push(
    live
      ? `live group: ${live.name} (${live.release ?? "?"}) desired ${live.desired}, min ${live.min}, max ${live.max}; ` +
          `scaling policies [${live.scalingPolicies.join(", ")}]; lifecycle hooks [${live.lifecycleHooks.join(", ")}]; scheduled actions [${live.scheduledActions.join(", ")}]; suspended processes [${live.suspendedProcesses.join(", ")}]`
      : "live group: none",
  );
  const left = result.leftovers;
  lines.push(
    `leftovers: ${left.groups.length} group(s) ${left.groups.join(" ")}; launch template versions [${left.launchTemplateVersions.join(", ")}]; ` +
      `${left.images.length} image(s); ${left.snapshots.length} snapshot(s); ${left.locks.length} lock(s)`,
  );
  lines.push(
    result.invariantViolations.length
      ? `invariant violations:\n  ${result.invariantViolations.join("\n  ")}`
      : "invariants: all held",
  );
  return lines.join("\n");
}

const SCENARIO_ALLOWED = "a scenario file (JSON), e.g. scenarios/normal-deploy.json";

/** The command line read, before anything is loaded: a UsageError names the option and what is allowed. */
export function readSimulateOptions(argv: string[]): { help: true } | { help: false; scenario: string; json: boolean } {
  const values = readOptions(argv, {
    scenario: { type: "string", allowed: SCENARIO_ALLOWED },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) return { help: true };
  if (!values.scenario) throw new UsageError("--scenario", "missing", SCENARIO_ALLOWED);
  return { help: false, scenario: values.scenario, json: values.json ?? false };
}

async function main() {
  const values = readSimulateOptions(process.argv.slice(2));
  if (values.help) return console.log(USAGE);
  let scenario: unknown;
  try {
    scenario = JSON.parse(await readFile(values.scenario, "utf8"));
  } catch (error) {
    throw new Error(`cannot read scenario ${values.scenario}: ${(error as Error).message}`);
  }
  // A bad scenario is refused before the (slow) synthesis.
  parseScenario(scenario);
  const definition = await loadDeployDefinition("dev01", {
    onLoad: ({ cached, hash }) =>
      console.error(`simulate: state machine ${cached ? `reused from .synth/cache (inputs unchanged, ${hash})` : `synthesized and cached (${hash})`}`),
  });
  const runStartedAt = performance.now();
  const result = await runScenario(scenario, definition);
  const runSeconds = (performance.now() - runStartedAt) / 1000;
  console.log(values.json ? JSON.stringify(result) : formatScenarioResult(result));
  // On stderr, so that --json's standard output stays one JSON object.
  console.error(wallTimeLine(result, process.uptime(), runSeconds));
  if (result.invariantViolations.length) process.exitCode = 1;
}

/**
 * What the run cost in real time: the whole command (Node, tsx, the SDK and the definition loaded) and the scenario
 * itself, beside the simulated time its steps covered.
 */
function wallTimeLine(result: ScenarioResult, wallSeconds: number, runSeconds: number): string {
  // A concurrent step has a row per deploy, each with the whole step's simSeconds: count each step once.
  const stepSeconds = new Map<number, number>();
  for (const row of result.steps) stepSeconds.set(row.step, Math.max(stepSeconds.get(row.step) ?? 0, row.simSeconds));
  const simulated = [...stepSeconds.values()].reduce((sum, seconds) => sum + seconds, 0);
  return (
    `simulate: ${result.scenario}: ${stepSeconds.size} step(s), ${simulated} simulated s in ${wallSeconds.toFixed(1)} s of wall time ` +
    `(${runSeconds.toFixed(1)} s running the scenario, ${(wallSeconds - runSeconds).toFixed(1)} s loading)`
  );
}

// Run as the command (`npm run simulate`), not when a test imports readSimulateOptions.
if (runsAsCommand(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(`simulate: ${error instanceof Error ? error.message : String(error)}`);
    if (error instanceof UsageError) console.error(`(npm run simulate -- --help lists every option)`);
    process.exit(2);
  });
}
