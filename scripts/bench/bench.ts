/**
 * `npm run bench`: measures the deploy on the simulated timeline and prints figures (never asserts):
 * simulated seconds against the physical minimum, API calls by operation, state transitions and Lambda
 * invocations, for the state machine as built (adaptive polling), the same state machine polling every 5 s,
 * and a replay of the seeds' Bash script (fixed 4 s naps, sequential waits). Also the stage functions'
 * bundle sizes. Writes the same tables to BENCHMARK.md.
 */
import "../../simulator/offlineEnvironment.js";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { BASH_REFERENCE_CLIENTS, runBashReferenceDeploy } from "./bashReference.js";
import { IMMEDIATE_CONSISTENCY, SimulatedRegion, attachRegion, bindFunctionClock, createEnvironment, physicalMinimum } from "../../simulator/region/index.js";
import { SCENARIO_STAGE, parseScenario, runScenario, type ScenarioResult, type StepResult } from "../../simulator/scenarios/scenario.js";
import { STAGE_FUNCTION_IDS } from "../../stacks/pipeline/tables.js";
import { summarySection } from "../mutation/summary.js";
import { loadDeployDefinition } from "../../stacks/stateMachineDefinition.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BENCH_SCENARIOS = ["normal-deploy", "normal-deploy-classic", "large-group", "lifecycle-hook", "throttling-storm", "unhealthy-release"];
const FIXED_POLL_SECONDS = 5;

type Row = Record<string, string | number>;
const sum = (calls: Record<string, number>) => Object.values(calls).reduce((a, b) => a + b, 0);
const ratio = (a: number, b: number) => (b > 0 ? (a / b).toFixed(3) : "-");

function table(rows: Row[]): string {
  if (!rows.length) return "";
  const headers = Object.keys(rows[0]);
  const line = (cells: (string | number)[]) => `| ${cells.map(String).join(" | ")} |`;
  return [line(headers), line(headers.map(() => "---")), ...rows.map((r) => line(headers.map((h) => r[h] ?? "")))].join("\n");
}

function stepRow(engine: string, step: StepResult): Row {
  return {
    step: step.step,
    release: step.release,
    engine,
    outcome: step.outcome,
    "sim s": step.simSeconds,
    "min s": step.physicalMinimumSeconds,
    ratio: ratio(step.simSeconds, step.physicalMinimumSeconds),
    "API calls": sum(step.apiCalls),
    transitions: step.stateTransitions,
    lambdas: step.lambdaInvocations,
    "failed req": step.failedRequests,
    defects: "-",
  };
}

/**
 * The seeds' Bash algorithm on a fresh region with the scenario's environment, timing and consistency, deploy
 * after deploy: its rows, and why each run that did not finish ended.
 */
async function bashReference(scenarioInput: unknown, variant: { engine: string; consistency?: "immediate" }): Promise<{ rows: Row[]; endings: string[] }> {
  const scenario = parseScenario(scenarioInput);
  const consistency = variant.consistency === "immediate" ? IMMEDIATE_CONSISTENCY : scenario.consistency;
  const region = new SimulatedRegion({ timing: scenario.timing, consistency });
  const settings = createEnvironment(region, { environment: SCENARIO_STAGE, config: scenario.environment });
  const attachment = attachRegion(region, BASH_REFERENCE_CLIENTS);
  const restore = bindFunctionClock(region);
  const rows: Row[] = [];
  const endings: string[] = [];
  try {
    let live = false;
    for (const [index, step] of scenario.steps.entries()) {
      if (!("deploy" in step)) continue;
      region.faults.clear();
      region.faults.inject(step.faults as never);
      region.setReleaseBehavior(step.deploy.release, { appHealthy: step.deploy.appHealthy, bootFails: step.deploy.bootFails });
      const run = runBashReferenceDeploy(region, settings, { release: step.deploy.release, safetyCapSeconds: 3600 });
      await region.scheduler.drive([run]);
      const result = await run;
      const minimum = physicalMinimum(region.timing, {
        bake: index === 0 ? "base-and-release" : "release",
        launch: result.outcome === "succeeded",
        retire: live && result.outcome === "succeeded",
        lifecycleHookSeconds: region.faults.lifecycleHookSeconds,
        loadBalancer: settings.loadBalancer.kind,
      }).totalSeconds;
      rows.push({
        step: index + 1,
        release: step.deploy.release,
        engine: variant.engine,
        outcome: result.outcome,
        "sim s": result.simSeconds,
        "min s": minimum,
        ratio: ratio(result.simSeconds, minimum),
        "API calls": sum(result.apiCalls),
        transitions: "-",
        lambdas: "-",
        "failed req": "-",
        defects: result.defects.length,
      });
      if (result.outcome === "succeeded") live = true;
      else endings.push(`${variant.engine}, step ${index + 1} (${step.deploy.release}) ${result.outcome}: ${result.error ?? "?"}`);
      region.advance(60); // the seed's runs are minutes apart, not back to back
    }
  } finally {
    attachment.detach();
    restore();
  }
  return { rows, endings };
}

async function bundleSizes(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const id of STAGE_FUNCTION_IDS) {
    const result = await build({
      entryPoints: [path.join(ROOT, "functions", `${id}.ts`)],
      bundle: true,
      minify: true,
      platform: "node",
      target: "node22",
      format: "esm",
      write: false,
      logLevel: "silent",
      external: ["@aws-sdk/*", "@smithy/*"],
    });
    const bytes = result.outputFiles.reduce((n, f) => n + f.contents.byteLength, 0);
    rows.push({ function: id, "bundle KiB (SDK from the runtime)": (bytes / 1024).toFixed(1) });
  }
  return rows;
}

/** Progress on stderr (the report goes to stdout and BENCHMARK.md): what runs now, and how long the run has taken. */
const started = Date.now();
const progress = (line: string) => console.error(`bench: [${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${line}`);

async function main() {
  const definition = await loadDeployDefinition("dev01", {
    onLoad: ({ cached, hash }) => progress(`state machine ${cached ? `reused from .synth/cache (${hash})` : `synthesized and cached (${hash})`}`),
  });
  const sections: string[] = [
    "# Benchmark",
    "",
    "Generated by `npm run bench` on the simulated region (virtual time, default timing unless the scenario",
    "sets one; AWS's API latency and eventual consistency as the region models them by default, see",
    "docs/simulator-region.md). *sim s*: simulated seconds of the step; *min s*: the physical minimum (bake, boot,",
    "health checks, draining, termination with zero orchestration delay); a rolled-back step's minimum is its bake",
    "alone.",
    "",
  ];
  const results = new Map<string, { adaptive: ScenarioResult; fixed: ScenarioResult }>();
  for (const [index, name] of BENCH_SCENARIOS.entries()) {
    const scenario = JSON.parse(await readFile(path.join(ROOT, "scenarios", `${name}.json`), "utf8"));
    progress(`${index + 1}/${BENCH_SCENARIOS.length} ${name}: state machine, fixed ${FIXED_POLL_SECONDS} s polling, the seeds' Bash`);
    const adaptive = await runScenario(scenario, definition);
    const fixed = await runScenario(scenario, definition, { fixedPollSeconds: FIXED_POLL_SECONDS });
    results.set(name, { adaptive, fixed });
    // The seeds' script on the same region, and on one where every change shows at once (it has no retry for
    // AWS's eventual consistency, so on the first it stops at its first create-auto-scaling-group).
    const bash = await bashReference(scenario, { engine: "seeds' Bash (4 s)" });
    const bashConsistent = await bashReference(scenario, { engine: "seeds' Bash, no consistency delays", consistency: "immediate" });
    const rows = [
      ...adaptive.steps.map((s) => stepRow("state machine", s)),
      ...fixed.steps.map((s) => stepRow(`same, fixed ${FIXED_POLL_SECONDS} s polls`, s)),
      ...bash.rows,
      ...bashConsistent.rows,
    ].sort((a, b) => Number(a.step) - Number(b.step));
    const last = adaptive.steps.at(-1)!;
    sections.push(
      `## ${name}`,
      "",
      table(rows),
      "",
      ...(bash.endings.length + bashConsistent.endings.length > 0
        ? ["Runs of the seeds' Bash that ended early:", "", ...[...bash.endings, ...bashConsistent.endings].map((ending) => `- ${ending}`), ""]
        : []),
      `API calls of the state machine's last step (${last.release}), by operation:`,
      "",
      table(Object.entries(last.apiCalls).sort().map(([operation, calls]) => ({ operation, calls }))),
      "",
    );
  }

  const normal = results.get("normal-deploy")!;
  const large = results.get("large-group")!;
  const normalStep = normal.adaptive.steps[1];
  const largeStep = large.adaptive.steps[1];
  const fixedStep = normal.fixed.steps[1];
  const goal = (ok: boolean) => (ok ? "met" : "NOT met");
  const perOperationEqual = JSON.stringify(normalStep.apiCalls) === JSON.stringify(largeStep.apiCalls);
  sections.push(
    "## Goals",
    "",
    table([
      {
        goal: "sim / physical minimum <= 1.05 on the normal deploy",
        figure: ratio(normalStep.simSeconds, normalStep.physicalMinimumSeconds),
        result: goal(normalStep.simSeconds / normalStep.physicalMinimumSeconds <= 1.05),
      },
      {
        goal: "API calls independent of instance count (2 vs 200 instances)",
        figure: `${sum(normalStep.apiCalls)} vs ${sum(largeStep.apiCalls)}`,
        result: goal(perOperationEqual),
      },
      {
        goal: `fewer state transitions than fixed ${FIXED_POLL_SECONDS} s polling`,
        figure: `${normalStep.stateTransitions} vs ${fixedStep.stateTransitions}`,
        result: goal(normalStep.stateTransitions < fixedStep.stateTransitions),
      },
    ]),
    "",
    "## Stage function bundles",
    "",
    "esbuild, minified ESM for Node 22+, AWS SDK v3 left to the Lambda runtime:",
    "",
    table(await (progress("bundling the stage functions"), bundleSizes())),
    "",
  );
  // The mutation figures come from the last `npm run mutation` (docs/mutation.md, committed); the bench never
  // runs Stryker (hours on 2 cores), it carries the last run's summary so BENCHMARK.md keeps the section.
  const mutationPage = await readFile(path.join(ROOT, "docs", "mutation.md"), "utf8").catch(() => "");
  sections.push(
    "## Mutation testing",
    "",
    "From the last `npm run mutation` (README \"Mutation testing\"); every surviving mutant, and why the equivalent ones",
    "are, in [docs/mutation.md](docs/mutation.md).",
    "",
    summarySection(mutationPage) ?? "Not run yet: `npm run mutation` writes docs/mutation.md.",
    "",
  );
  const markdown = sections.join("\n");
  console.log(markdown);
  await writeFile(path.join(ROOT, "BENCHMARK.md"), markdown);
  progress("wrote BENCHMARK.md");
}

main().catch((error: unknown) => {
  console.error(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
});
