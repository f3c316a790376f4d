/**
 * `npm run bench`: measures the deploy on the simulated timeline and prints figures (never asserts):
 * simulated seconds against the physical minimum, API calls by operation, state transitions and Lambda
 * invocations, for the state machine as built (adaptive polling), the same state machine polling every 5 s,
 * and a replay of the seeds' Bash script (fixed 4 s naps, sequential waits). Also the stage functions'
 * bundle sizes. Writes the same tables to BENCHMARK.md.
 */
import "../../simulator/offlineEnvironment.js";
import { readFile, writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execFileSync, spawnSync } from "node:child_process";
import { BASELINE_COMMIT, BEFORE_ISSUE_17, bundleStageFunctions, DEPLOYED, importTimes } from "./bundles.js";
import { BASH_REFERENCE_CLIENTS, runBashReferenceDeploy } from "./bashReference.js";
import { DEFAULT_TIMING, IMMEDIATE_CONSISTENCY, NO_ORCHESTRATION_LATENCY, SimulatedRegion, attachRegion, bindFunctionClock, createEnvironment, physicalMinimum, resolveTiming } from "../../simulator/region/index.js";
import { SCENARIO_STAGE, parseScenario, runScenario, type ScenarioResult, type StepResult } from "../../simulator/scenarios/scenario.js";
import { STAGE_FUNCTION_IDS } from "../../stacks/pipeline/tables.js";
import { benchmarkSection } from "../mutation/summary.js";
import { loadDeployDefinition } from "../../stacks/stateMachineDefinition.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BENCH_SCENARIOS = ["normal-deploy", "normal-deploy-classic", "large-group", "lifecycle-hook", "throttling-storm", "unhealthy-release"];
const FIXED_POLL_SECONDS = 5;
/**
 * The normal deploy again, with AWS's unaligned first health check (timing `healthCheckPhase` "seeded": each new
 * target's first check a seeded draw in (0, interval] after registration) and with timings that are no multiple of
 * the poll cadences (issue 17 item 1). The aligned run at the odd timings is the reference.
 */
const PHASE_VARIANTS: { engine: string; timing: Record<string, unknown> }[] = [
  { engine: "state machine, seeded phase", timing: { healthCheckPhase: "seeded" } },
  { engine: "state machine, aligned, boot 43 s, termination 37 s", timing: { instanceBootSeconds: 43, terminationSeconds: 37 } },
  { engine: "state machine, seeded phase, boot 43 s, termination 37 s", timing: { healthCheckPhase: "seeded", instanceBootSeconds: 43, terminationSeconds: 37 } },
];

type Row = Record<string, string | number>;
const sum = (calls: Record<string, number>) => Object.values(calls).reduce((a, b) => a + b, 0);
const ratio = (a: number, b: number) => (b > 0 ? (a / b).toFixed(3) : "-");
/** A bound as printed: down to a tenth of a second (a seeded health-check phase is drawn to the ms), never above it. */
const bound = (seconds: number) => Math.floor(seconds * 10) / 10;

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
    "serve s": step.serveSeconds ?? "-",
    "serve bound": step.physicalServeSeconds === undefined ? "-" : bound(step.physicalServeSeconds),
    "finish s": step.simSeconds,
    "finish bound": bound(step.physicalMinimumSeconds),
    ratio: ratio(step.simSeconds, step.physicalMinimumSeconds),
    "model min": step.modelMinimumSeconds,
    "API calls": sum(step.apiCalls),
    transitions: step.stateTransitions,
    lambdas: step.lambdaInvocations,
    "cold starts": step.lambdaColdStarts,
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
        "serve s": "-",
        "serve bound": "-",
        "finish s": result.simSeconds,
        "finish bound": minimum,
        ratio: ratio(result.simSeconds, minimum),
        "model min": minimum,
        "API calls": sum(result.apiCalls),
        transitions: "-",
        lambdas: "-",
        "cold starts": "-",
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

/**
 * The stage functions as `sst deploy` bundles them (scripts/bench/bundles.ts: SST's esbuild options), today's
 * build beside main's before issue 17 (every client created at load, not minified), in one run: sizes, the SDK
 * clients inside, and the import-time proxy above a bare node on this machine.
 */
async function bundleRows(): Promise<{
  rows: Row[];
  worstAboveNode: number;
  worstImportCpu: number;
  worstBefore: number;
  bareNodeSeconds: number;
  emptyModuleAboveNode: number;
  loadAverage: number;
}> {
  const before = await bundleStageFunctions(BEFORE_ISSUE_17);
  const after = await bundleStageFunctions(DEPLOYED);
  const code: Record<string, string> = {};
  for (const id of STAGE_FUNCTION_IDS) {
    code[`before-${id}`] = before.get(id)!.code;
    code[`after-${id}`] = after.get(id)!.code;
  }
  const times = importTimes(code);
  const loadAverage = loadavg()[0];
  const above = (name: string) => times.seconds[name] - times.bareNodeSeconds;
  const kib = (bytes: number) => (bytes / 1024).toFixed(0);
  const rows = STAGE_FUNCTION_IDS.map((id) => ({
    function: id,
    "KiB before (zipped)": `${kib(before.get(id)!.bytes)} (${kib(before.get(id)!.zippedBytes)})`,
    "KiB now (zipped)": `${kib(after.get(id)!.bytes)} (${kib(after.get(id)!.zippedBytes)})`,
    "SDK clients before / now": `${before.get(id)!.clients.length} / ${after.get(id)!.clients.map((c) => c.replace("client-", "")).join(", ")}`,
    "import s above node, before": above(`before-${id}`).toFixed(2),
    "import s above node, now": above(`after-${id}`).toFixed(2),
    "import CPU s, before / now": `${times.cpuSeconds[`before-${id}`].toFixed(3)} / ${times.cpuSeconds[`after-${id}`].toFixed(3)}`,
  }));
  return {
    rows,
    worstAboveNode: Math.max(...STAGE_FUNCTION_IDS.map((id) => above(`after-${id}`))),
    worstImportCpu: Math.max(...STAGE_FUNCTION_IDS.map((id) => times.cpuSeconds[`after-${id}`])),
    // The same run's build of main before issue 17: how fast this machine is today (the figures are its seconds).
    worstBefore: Math.max(...STAGE_FUNCTION_IDS.map((id) => above(`before-${id}`))),
    bareNodeSeconds: times.bareNodeSeconds,
    emptyModuleAboveNode: times.emptyModuleSeconds - times.bareNodeSeconds,
    loadAverage,
  };
}

/** Main's normal deploy before issue 17, from its BENCHMARK.md: time-to-finish and the model minimum it reported. */
function normalDeployBefore(): { finish: number; minimum: number } | undefined {
  const markdown = execFileSync("git", ["show", `${BASELINE_COMMIT}:BENCHMARK.md`], { cwd: ROOT, encoding: "utf8" });
  const section = markdown.split("## normal-deploy\n")[1] ?? "";
  const row = /\| 2 \| v2 \| state machine \| succeeded \| (\d+) \| (\d+) \|/.exec(section);
  return row ? { finish: Number(row[1]), minimum: Number(row[2]) } : undefined;
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
    "sets one; AWS's API latency, Lambda's cold and warm invocation latency, Step Functions' transition latency and",
    "eventual consistency as the region models them by default, see docs/simulator-region.md). Per step: *serve s* (time-to-serve): from the step's start until the new release",
    "serves every request; *serve bound*: what physics needs for that (bake, boot, app start and the checks up to",
    "healthy); *finish s* (time-to-finish): until the execution ends; *finish bound*: physics for the whole step",
    "(serve bound, then draining as long as a request is in flight, lifecycle hooks, termination; a rolled-back",
    "step's is its bake); *ratio*: finish s / finish bound; *model min*: the minimum of the design's own model",
    "before issue 17 (the whole deregistration delay counted as physics); no bound counts Lambda or Step Functions",
    "latency (our implementation's cost, not physics); *cold starts*: the invocations that found no warm execution",
    "environment of their function. The seeds' Bash model sends no traffic, so its load balancer drains for the whole",
    "delay: its bound is the model minimum.",
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

  const normalScenario = JSON.parse(await readFile(path.join(ROOT, "scenarios", "normal-deploy.json"), "utf8"));
  const phaseRuns: { engine: string; result: ScenarioResult }[] = [];
  for (const variant of PHASE_VARIANTS) {
    progress(`normal-deploy: ${variant.engine}`);
    phaseRuns.push({ engine: variant.engine, result: await runScenario({ ...normalScenario, timing: { ...normalScenario.timing, ...variant.timing } }, definition) });
  }
  sections.push(
    "## normal-deploy, unaligned health checks and timings",
    "",
    "The normal deploy with each new target's first health check a seeded draw in (0, interval] after its",
    "registration (timing `healthCheckPhase: \"seeded\"`; the default, aligned, puts it exactly one interval after,",
    "the latest it can come and the one the poller predicts exactly), and with a boot and a termination no poll",
    "cadence divides. The bounds use the first checks the region actually scheduled: the release serves every",
    "request once its slowest target passed.",
    "",
    table(phaseRuns.flatMap(({ engine, result }) => result.steps.map((s) => stepRow(engine, s)))),
    "",
  );

  // Issue 17 item 1: what Lambda's and Step Functions' latency cost the normal deploy (the bounds never count it).
  progress("normal-deploy: without Lambda and Step Functions latency");
  const noLatency = await runScenario({ ...normalScenario, timing: { ...normalScenario.timing, ...NO_ORCHESTRATION_LATENCY } }, definition);
  const latencyRows = [
    ...results.get("normal-deploy")!.adaptive.steps.map((s) => stepRow("state machine (default latency)", s)),
    ...noLatency.steps.map((s) => stepRow("state machine, no Lambda or transition latency", s)),
  ].sort((a, b) => Number(a.step) - Number(b.step));
  sections.push(
    "## normal-deploy, Lambda and Step Functions latency",
    "",
    `The normal deploy with the default latency (each state entered ${DEFAULT_TIMING.stateTransitionSeconds} s, each Lambda invocation`,
    `${DEFAULT_TIMING.lambdaInvokeSeconds} s, plus ${DEFAULT_TIMING.lambdaColdStartSeconds} s of Init when the function has no execution environment idle less than`,
    `${DEFAULT_TIMING.lambdaIdleSeconds} s; figures and sources in docs/simulator-region.md, "Lambda and Step Functions latency") and without it (API latency`,
    "stays). The bounds are the same: the latency is the implementation's cost.",
    "",
    table(latencyRows),
    "",
  );

  // Issue 17 item 3: two releases uploaded together; the second queues behind the first and bakes while it waits.
  progress("concurrent-releases: a deploy queued behind another");
  const queuedScenario = JSON.parse(await readFile(path.join(ROOT, "scenarios", "concurrent-releases.json"), "utf8"));
  const queuedBakeSeconds = resolveTiming(parseScenario(queuedScenario).timing).bakeSeconds;
  const queued = queuedDeployFigures(await runScenario(queuedScenario, definition), queuedBakeSeconds);
  const queuedNoLatency = queuedDeployFigures(
    await runScenario({ ...queuedScenario, timing: { ...queuedScenario.timing, ...NO_ORCHESTRATION_LATENCY } }, definition),
    queuedBakeSeconds,
  );

  progress("bundling the stage functions as sst deploy does, before and now, and importing each");
  const bundles = await bundleRows();
  const normal = results.get("normal-deploy")!;
  // The step a dead release is rolled back in, and when its targets failed their last check: registration at bake
  // + boot, then one check every interval (the simulated checks start one interval after registration).
  const unhealthyScenario = parseScenario(JSON.parse(await readFile(path.join(ROOT, "scenarios", "unhealthy-release.json"), "utf8")));
  const unhealthyTiming = resolveTiming(unhealthyScenario.timing);
  const deadRelease = results.get("unhealthy-release")!.adaptive.steps[1];
  const lastFailedCheck = unhealthyTiming.bakeSeconds + unhealthyTiming.instanceBootSeconds + unhealthyTiming.unhealthyThreshold * unhealthyTiming.healthCheckIntervalSeconds;
  const before = normalDeployBefore();
  const large = results.get("large-group")!;
  const normalStep = normal.adaptive.steps[1];
  const largeStep = large.adaptive.steps[1];
  const fixedStep = normal.fixed.steps[1];
  const noLatencyStep = noLatency.steps[1];
  const retirementPhysics = normalStep.physicalMinimumSeconds - (normalStep.physicalServeSeconds ?? 0);
  const goal = (ok: boolean) => (ok ? "met" : "NOT met");
  const perOperationEqual = JSON.stringify(normalStep.apiCalls) === JSON.stringify(largeStep.apiCalls);
  sections.push(
    "## Goals",
    "",
    table([
      {
        goal: "normal deploy: time-to-serve within 5 % of its physics bound",
        figure: `${normalStep.serveSeconds ?? "-"} s vs ${normalStep.physicalServeSeconds ?? "-"} s (${ratio(normalStep.serveSeconds ?? 0, normalStep.physicalServeSeconds ?? 0)})`,
        result: goal((normalStep.serveSeconds ?? Infinity) <= 1.05 * (normalStep.physicalServeSeconds ?? 0)),
      },
      ...phaseRuns
        .filter(({ engine }) => engine.includes("seeded"))
        .map(({ engine, result }) => {
          const step = result.steps[1];
          return {
            goal: `normal deploy, ${engine.replace("state machine, ", "")}: time-to-serve within 5 % of its physics bound`,
            figure: `${step.serveSeconds ?? "-"} s vs ${step.physicalServeSeconds === undefined ? "-" : bound(step.physicalServeSeconds)} s (${ratio(step.serveSeconds ?? 0, step.physicalServeSeconds ?? 0)})`,
            result: goal((step.serveSeconds ?? Infinity) <= 1.05 * (step.physicalServeSeconds ?? 0)),
          };
        }),
      {
        goal: "normal deploy: time-to-finish <= time-to-serve + the retirement's physics (draining while requests are in flight, hooks, termination) + 10 s",
        figure: `${normalStep.simSeconds} s vs ${normalStep.serveSeconds ?? "-"} + ${retirementPhysics} + 10 s`,
        result: goal(normalStep.simSeconds <= (normalStep.serveSeconds ?? Infinity) + retirementPhysics + 10),
      },
      {
        goal: "the same, without Lambda and Step Functions latency (what the region modelled before)",
        figure: `${noLatencyStep.simSeconds} s vs ${noLatencyStep.serveSeconds ?? "-"} + ${retirementPhysics} + 10 s`,
        result: goal(noLatencyStep.simSeconds <= (noLatencyStep.serveSeconds ?? Infinity) + retirementPhysics + 10),
      },
      {
        goal: "normal deploy before issue 17 (main a2c7260's BENCHMARK.md): time-to-finish against the model minimum",
        figure: before ? `${before.finish} s vs ${before.minimum} s (model); now ${normalStep.simSeconds} s` : "not found",
        result: "reference",
      },
      {
        goal: "a release whose targets all fail their checks is rolled back <= 60 s after the last failed check",
        figure: `${deadRelease.simSeconds - lastFailedCheck} s after it (at ${lastFailedCheck} s: bake + boot + ${unhealthyTiming.unhealthyThreshold} checks ${unhealthyTiming.healthCheckIntervalSeconds} s apart)`,
        result: goal(deadRelease.outcome === "rolled-back" && deadRelease.simSeconds - lastFailedCheck <= 60),
      },
      {
        goal: "a deploy queued behind another finishes <= its own bake + swap + 10 s after the first unlocks",
        figure: queued.figure,
        result: goal(queued.met),
      },
      {
        goal: "the same, without Lambda and Step Functions latency (the swap bound leaves that latency out)",
        figure: queuedNoLatency.figure,
        result: goal(queuedNoLatency.met),
      },
      {
        goal: "API calls independent of instance count (2 vs 200 instances)",
        figure: `${sum(normalStep.apiCalls)} vs ${sum(largeStep.apiCalls)}`,
        result: goal(perOperationEqual),
      },
      {
        goal: "bundle import proxy <= 0.1 s above bare node, every stage function",
        figure:
          `${bundles.worstAboveNode.toFixed(3)} s (worst) at load average ${bundles.loadAverage.toFixed(1)}; import CPU ${bundles.worstImportCpu.toFixed(3)} s (worst); ` +
          `on the same run, bare node ${bundles.bareNodeSeconds.toFixed(2)} s, an empty module ${bundles.emptyModuleAboveNode.toFixed(3)} s above it, ` +
          `and main before issue 17 ${bundles.worstBefore.toFixed(2)} s above it (worst): the machine's speed`,
        // Wall time on this shared machine moves with its load; the import's CPU time much less (Stage function bundles).
        result:
          bundles.worstAboveNode <= 0.1
            ? goal(true)
            : bundles.worstImportCpu <= 0.1
              ? "met by CPU time; wall time NOT met at this load"
              : goal(false),
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
    "As `sst deploy` builds them (SST v2's own esbuild, 0.18.13, with its options for ESM: the SDK bundled,",
    "SST's banner; the app's `minify`, `keepNames` off, no source maps and its three plugins: the one that lets",
    "esbuild drop the SDK schemas no command uses, stacks/sdkSchemaKeys.ts; the SDK's credential chain reduced to",
    "Lambda's environment variables, stacks/lambdaCredentials.ts; the SDK's event-stream support left out,",
    "stacks/sdkEventStreams.ts; scripts/bench/bundles.ts), beside main before issue 17 (every SDK client created at",
    "module load, not minified). Zipped: deflate, as in the deployment package.",
    "Import proxy: `node <bundle>.mjs`, a fresh `node` importing the bundle (module scope, no invocation), from",
    "start to exit, minus a bare `node -e ''` (an empty module's figure is in the goals above); *import CPU s*: the",
    "CPU time (user and system, all threads) of the import itself, measured around it in a second process, which a",
    "loaded machine inflates far less than wall time. Medians of 7 rounds, each round running the bare `node`, the",
    "empty module and every bundle in turn, on this machine (shared, so seconds are indicative; the comparison is",
    "within one run).",
    "",
    table(bundles.rows),
    "",
  );
  sections.push(...(await cutoverFigures(definition)));
  sections.push(...simulateWallTime());
  sections.push("## `npm start` on a loaded machine", "", ...(await underLoadSummary()), "");
  // The test suite's timings are measured by running it, not here: scripts/bench/developer-loop.md records them.
  sections.push(await readFile(path.join(ROOT, "scripts", "bench", "developer-loop.md"), "utf8"));
  // The mutation figures come from the last `npm run mutation` (docs/mutation.md, committed); the bench never
  // runs Stryker (hours on 2 cores), it carries the last run's summary so BENCHMARK.md keeps the section.
  sections.push(benchmarkSection(await readFile(path.join(ROOT, "docs", "mutation.md"), "utf8").catch(() => "")));
  const markdown = sections.join("\n");
  console.log(markdown);
  await writeFile(path.join(ROOT, "BENCHMARK.md"), markdown);
  progress("wrote BENCHMARK.md");
}

/** The shipped 3-step scenario `npm run simulate` is timed on (issue 11's figure): three deploys in a row. */
const SIMULATE_SCENARIO = "scenarios/build-metadata-labels.json";

/**
 * `npm run simulate` as a user runs it, on a shipped 3-step scenario: its wall time, as the command prints it on
 * stderr (loading Node, tsx, the SDK and the cached state machine, then running the scenario). Wall time on a
 * shared machine: the load average is given beside it.
 */
function simulateWallTime(): string[] {
  progress(`npm run simulate -- --scenario ${SIMULATE_SCENARIO}`);
  const load = loadavg()[0]!.toFixed(1);
  const run = spawnSync("npm", ["run", "--silent", "simulate", "--", "--scenario", SIMULATE_SCENARIO, "--json"], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "ignore", "pipe"] });
  const stderr = run.stderr ?? String(run.error);
  const line = stderr.split("\n").find((text) => /simulated s in .* s of wall time/.test(text)) ?? `no wall-time line; stderr: ${stderr.trim()}`;
  return [
    "## `npm run simulate`: wall time",
    "",
    `\`npm run simulate -- --scenario ${SIMULATE_SCENARIO} --json\` (three deploys in a row, the state machine read from`,
    `.synth/cache), at load average ${load}, as the command prints it:`,
    "",
    `    ${line}`,
    "",
  ];
}

/**
 * The queued deploy of concurrent-releases (issue 17 item 3): both start at 0 and bake at once, outside the lock;
 * the first unlocks as its execution ends (Unlock is its last task). The bound after that unlock: what is left of
 * the queued deploy's own bake (0 when it ended before the unlock) + its swap (its physics bound without the bake:
 * boot, checks, cutover, retirement) + 10 s. The first's unlock hands the lock over at once (a task token: README
 * "The deploy lock"), so what is left after it is the queued deploy's Refresh plan, Lock and swap.
 */
function queuedDeployFigures(run: ScenarioResult, bakeSeconds: number): { figure: string; met: boolean } {
  const rows = run.steps.filter((step) => step.finishSeconds !== undefined);
  if (rows.length !== 2 || rows.some((row) => row.outcome !== "succeeded")) return { figure: `concurrent-releases did not succeed: ${rows.map((r) => `${r.release} ${r.outcome}`).join(", ")}`, met: false };
  const [first, queued] = [...rows].sort((a, b) => a.finishSeconds! - b.finishSeconds!);
  const afterUnlock = queued.finishSeconds! - first.finishSeconds!;
  const bakeLeft = Math.max(0, bakeSeconds - first.finishSeconds!);
  const swap = queued.physicalMinimumSeconds - bakeSeconds;
  const met = afterUnlock <= bakeLeft + swap + 10;
  return {
    figure:
      `${queued.release} finished ${afterUnlock} s after ${first.release} unlocked (at ${first.finishSeconds} s; ${queued.release} at ${queued.finishSeconds} s, both baked from 0 s) vs ` +
      `${bakeLeft} (bake left) + ${swap} (swap) + 10 s` +
      (met ? "" : `: ${afterUnlock - bakeLeft - swap} s over the swap`) +
      `; counting its whole bake (${bakeSeconds} s) as the goal's words do: ${afterUnlock} s vs ${bakeSeconds + swap + 10} s`,
    met,
  };
}

/**
 * Issue 14's figures: per cutover strategy, at 10 requests/s, a good release and one that dies 120 s after passing
 * its checks (appDiesAfterSeconds counts from the first healthy check), with the time to recover.
 */
async function cutoverFigures(definition: Awaited<ReturnType<typeof loadDeployDefinition>>): Promise<string[]> {
  const variants = [
    { name: "all-at-once (ALB)", environment: { cutover: { strategy: "all-at-once" } } },
    { name: "canary 10 % (ALB, default)", environment: {} },
    { name: "linear 25 % / 120 s (ALB)", environment: { cutover: { strategy: "linear", stepPercent: 25, stepSeconds: 120 } } },
    { name: "all-at-once (classic ELB)", environment: { loadBalancer: "classic" } },
  ];
  const rows: Row[] = [];
  for (const variant of variants) {
    progress(`cutover figures: ${variant.name}`);
    const run = await runScenario(
      {
        name: `cutover ${variant.name}`,
        environment: variant.environment,
        traffic: { requestsPerSecond: 10 },
        steps: [{ deploy: { release: "v1" } }, { deploy: { release: "v2" } }, { deploy: { release: "v3", appDiesAfterSeconds: 120 } }],
      },
      definition,
    );
    const [, good, dying] = run.steps;
    rows.push({
      strategy: variant.name,
      "good: outcome": good.outcome,
      "good: failed": good.failedRequests,
      "good: sim / min": ratio(good.simSeconds, good.physicalMinimumSeconds),
      "dies at 120 s: outcome": dying.outcome,
      "dies: failed": dying.failedRequests,
      "recoverySeconds": dying.recoverySeconds ?? "-",
    });
  }
  return [
    "## Cutover: a release that dies 120 s after passing its checks (issue 14)",
    "",
    "At 10 requests/s, default timing; before the cutover existed the same release went live, the old group was",
    "deleted and the deploy \"succeeded\" with 8110 of 16310 requests failed (issue 14). *min* now includes the",
    "configured step and bake times. A classic ELB cannot switch back in seconds: the old instances need",
    "`healthyThreshold` passing checks after they are attached again.",
    "",
    table(rows),
    "",
  ];
}

/**
 * The loaded-machine rehearsal runs are measured by `scripts/rehearsal-under-load.ts` (minutes of real
 * processes, not simulated time), not by the bench: quote that report's headline figures and link it.
 */
async function underLoadSummary(): Promise<string[]> {
  const report = "docs/rehearsal-under-load.md";
  const text = await readFile(path.join(ROOT, report), "utf8").catch(() => undefined);
  if (text === undefined) return [`No measurement yet: run \`npx tsx scripts/rehearsal-under-load.ts\` (writes ${report}).`];
  const written = /^Written by (.+?) on (\S+ \S+ UTC)/m.exec(text);
  const headlines = text
    .split(/^## /m)
    .slice(1)
    .flatMap((section) => {
      const figure = /^\*\*(.+)\*\*$/m.exec(section);
      return figure ? [`- ${section.split("\n")[0]}: **${figure[1]}**`] : [];
    });
  return [
    `From [${report}](${report})${written ? `, written by ${written[1]} on ${written[2]}` : ""}:`,
    "",
    ...headlines,
  ];
}

main().catch((error: unknown) => {
  console.error(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
});
