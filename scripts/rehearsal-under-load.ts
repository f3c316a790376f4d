/**
 * Measures `npm start` on a busy machine: runs `npm start -- --json` several times (per configuration)
 * while CPU-bound processes (`node -e "for(;;){}"`) keep every core busy, and writes what each run
 * reported (requests, failed requests, duration, time to the first progress line) with the machine's
 * details to a Markdown file. Also times `npm start -- --help` under the same load.
 *
 *   npx tsx scripts/rehearsal-under-load.ts [--runs 5] [--hogs 6] [--out docs/rehearsal-under-load.md]
 *                                           [--with "<npm start options>"]...
 *
 * Without --with: the defaults, and `--load-balancer classic --releases 3 --instances 3 --keep-alive`.
 * Exit code 0 when every run ended OK with no failed request, 1 otherwise, 2 for a bad option.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { cpus, loadavg, release as osRelease, totalmem, type as osType } from "node:os";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { integerOption, readOptions, runCommand, runsAsCommand } from "./cli.js";

const REPO_ROOT = fileURLToPath(new URL("../", import.meta.url));
const DEFAULT_CONFIGURATIONS = ["", "--load-balancer classic --releases 3 --instances 3 --keep-alive"];

export interface UnderLoadRun {
  configuration: string;
  run: number;
  exitCode: number | null;
  ok: boolean;
  requests?: number;
  failedRequests?: number;
  servedBy?: Record<string, number>;
  /** The rehearsal's own `seconds`. */
  seconds?: number;
  deploys?: Array<{ release: string; outcome: string; seconds: number }>;
  failures?: Array<{ atSeconds: number; reason: string }>;
  /** From spawning `npm start` to its first progress line. */
  firstLineSeconds?: number;
  /** From spawning `npm start` to its exit. */
  wallSeconds: number;
  /** One-minute load average when the run ended. */
  loadAverage: number;
  error?: string;
}

interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
  firstStderrLineMs?: number;
  ms: number;
}

/** Runs `npm <args>` in the repository and collects its output. */
function runNpm(args: string[]): Promise<CommandResult> {
  const startedAt = performance.now();
  const child = spawn("npm", args, { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  let firstStderrLineMs: number | undefined;
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
    // The rehearsal's progress lines start with a "[  0.0s]" stamp (npm's own banner goes to stdout).
    if (firstStderrLineMs === undefined && /^\[ *\d+\.\ds\]/m.test(stderr)) firstStderrLineMs = performance.now() - startedAt;
  });
  return new Promise((done) => child.on("close", (code) => done({ code, stdout, stderr, firstStderrLineMs, ms: performance.now() - startedAt })));
}

function startHogs(count: number): ChildProcess[] {
  return Array.from({ length: count }, () => spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" }));
}

/** The project's test suite (all but the rehearsal tests), run again and again for the whole measurement. */
const BESIDE_TESTS = "while :; do npx vitest run --project '!rehearsal' >/dev/null 2>&1; done";

function startTests(): ChildProcess {
  // Its own process group, so the loop and every vitest worker go together.
  return spawn("bash", ["-c", BESIDE_TESTS], { cwd: REPO_ROOT, stdio: "ignore", detached: true });
}

function stopTests(tests: ChildProcess | undefined): void {
  if (tests?.pid === undefined) return;
  try {
    process.kill(-tests.pid, "SIGKILL");
  } catch {
    // already gone
  }
}

const round1 = (ms: number) => Math.round(ms / 100) / 10;

async function rehearse(configuration: string, run: number): Promise<UnderLoadRun> {
  const options = configuration.split(/\s+/).filter(Boolean);
  const result = await runNpm(["start", "--silent", "--", "--json", ...options]);
  const base = {
    configuration,
    run,
    exitCode: result.code,
    wallSeconds: round1(result.ms),
    firstLineSeconds: result.firstStderrLineMs === undefined ? undefined : round1(result.firstStderrLineMs),
    loadAverage: Math.round(loadavg()[0] * 10) / 10,
  };
  const last = result.stdout.trim().split("\n").at(-1) ?? "";
  try {
    const summary = JSON.parse(last);
    return {
      ...base,
      ok: summary.ok === true && result.code === 0,
      requests: summary.requests,
      failedRequests: summary.failedRequests,
      servedBy: summary.servedBy,
      seconds: summary.seconds,
      deploys: summary.deploys?.map((deploy: { release: string; outcome: string; seconds: number }) => ({ release: deploy.release, outcome: deploy.outcome, seconds: deploy.seconds })),
      failures: summary.failures?.slice(0, 3),
    };
  } catch {
    return { ...base, ok: false, error: result.stderr.trim().split("\n").slice(-3).join(" | ") || `exit code ${result.code}, no summary` };
  }
}

function markdown(runs: UnderLoadRun[], context: { hogs: number; besideTests: boolean; helpMs: number[]; startedAt: Date; command: string }): string {
  const cpuList = cpus();
  const lines = [
    "# `npm start` under CPU load",
    "",
    `Written by \`${context.command}\` on ${context.startedAt.toISOString().slice(0, 16).replace("T", " ")} UTC. Every run is`,
    "`npm start -- --json` (through npm, as a newcomer runs it) while " +
      `${context.hogs} CPU-bound processes (\`node -e "for (;;) {}"\`)${context.besideTests ? " and the project's test suite (`" + BESIDE_TESTS + "`)" : ""} run beside it for the whole measurement.`,
    "Nothing here is a timed test; these are the numbers one machine produced.",
    "",
    "## Machine",
    "",
    `- CPU: ${cpuList.length} x ${cpuList[0]?.model ?? "unknown"}`,
    `- memory: ${Math.round(totalmem() / 2 ** 30)} GiB`,
    `- OS: ${osType()} ${osRelease()}`,
    `- Node.js: ${process.version}`,
    `- load: ${context.hogs} busy-loop processes on ${cpuList.length} core(s), plus whatever else the machine was running (other developers' tests); the one-minute load average at the end of each run is in the tables`,
    "",
    "## `npm start -- --help` under the same load",
    "",
    `${context.helpMs.length} runs: ${context.helpMs.map((ms) => `${round1(ms)} s`).join(", ")} (from spawning npm to its exit).`,
    "",
  ];
  for (const configuration of [...new Set(runs.map((run) => run.configuration))]) {
    const these = runs.filter((run) => run.configuration === configuration);
    const clean = these.filter((run) => run.ok && run.failedRequests === 0).length;
    lines.push(
      `## \`npm start -- --json${configuration ? ` ${configuration}` : ""}\``,
      "",
      `**0 failed requests in ${clean} of ${these.length} runs.**`,
      "",
      "| run | result | requests | failed | served by | deploys | seconds (summary) | first line after | wall | load avg |",
      "| --- | --- | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: |",
      ...these.map((run) =>
        [
          run.run,
          run.ok ? "OK" : `NOT OK${run.error ? `: ${run.error.replaceAll("|", "/")}` : ""}`,
          run.requests ?? "",
          run.failedRequests ?? "",
          Object.entries(run.servedBy ?? {})
            .map(([release, count]) => `${release}: ${count}`)
            .join(", "),
          (run.deploys ?? []).map((deploy) => `${deploy.release} ${deploy.outcome} ${deploy.seconds} s`).join(", "),
          run.seconds === undefined ? "" : `${run.seconds} s`,
          run.firstLineSeconds === undefined ? "" : `${run.firstLineSeconds} s`,
          `${run.wallSeconds} s`,
          run.loadAverage,
        ].join(" | ").replace(/^/, "| ").replace(/$/, " |"),
      ),
      "",
    );
    const failures = these.flatMap((run) => (run.failures ?? []).map((failure) => `- run ${run.run}: at ${failure.atSeconds} s: ${failure.reason}`));
    if (failures.length > 0) lines.push("First failures:", "", ...failures, "");
  }
  lines.push(
    "Columns: *seconds (summary)* is the rehearsal's own `seconds` (from its start to the summary); *first line",
    "after* is the time from spawning `npm start` to its first progress line (npm and tsx start-up included);",
    "*wall* is from spawning `npm start` to its exit.",
    "",
  );
  return lines.join("\n");
}

export async function rehearsalUnderLoad(argv: string[]): Promise<number> {
  // --with takes npm start's options, which begin with "--": taken out before the other options are read.
  const configurations: string[] = [];
  const rest: string[] = [];
  for (let index = 0; index < argv.length; index++) {
    if (argv[index] === "--with" && index + 1 < argv.length) configurations.push(argv[++index]);
    else if (argv[index].startsWith("--with=")) configurations.push(argv[index].slice("--with=".length));
    else rest.push(argv[index]);
  }
  const values = readOptions(rest, {
    runs: { type: "string", allowed: "an integer from 1 to 50" },
    hogs: { type: "string", allowed: "an integer from 0 to 64" },
    out: { type: "string", allowed: "a Markdown file path" },
    with: { type: "string", allowed: 'npm start options in one argument, e.g. "--load-balancer classic"' },
    "beside-tests": { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    process.stdout.write(
      `Usage: npx tsx scripts/rehearsal-under-load.ts [--runs 5] [--hogs 6] [--out docs/rehearsal-under-load.md] [--with "<npm start options>"] [--beside-tests]\n`,
    );
    return 0;
  }
  const runs = integerOption("runs", values.runs, 5, 1, 50);
  const hogCount = integerOption("hogs", values.hogs, 6, 0, 64);
  const out = resolve(REPO_ROOT, values.out ?? "docs/rehearsal-under-load.md");
  const startedAt = new Date();
  const hogs = startHogs(hogCount);
  const tests = values["beside-tests"] ? startTests() : undefined;
  const killHogs = () => {
    hogs.forEach((hog) => hog.kill("SIGKILL"));
    stopTests(tests);
  };
  process.once("exit", killHogs);
  const stopOnSignal = () => process.exit(130);
  process.once("SIGINT", stopOnSignal);
  const results: UnderLoadRun[] = [];
  const helpMs: number[] = [];
  try {
    // Let the hogs get going before measuring.
    await new Promise((done) => setTimeout(done, 2_000));
    for (let i = 0; i < 3; i++) helpMs.push((await runNpm(["start", "--silent", "--", "--help"])).ms);
    process.stderr.write(`npm start -- --help: ${helpMs.map((ms) => `${round1(ms)} s`).join(", ")}\n`);
    for (const configuration of configurations.length > 0 ? configurations : DEFAULT_CONFIGURATIONS) {
      for (let run = 1; run <= runs; run++) {
        const result = await rehearse(configuration, run);
        results.push(result);
        process.stderr.write(
          `npm start -- --json ${configuration} (run ${run}/${runs}): ${result.ok ? "OK" : "NOT OK"}, ${result.requests ?? "?"} requests, ${result.failedRequests ?? "?"} failed, ${result.seconds ?? "?"} s${result.error ? `: ${result.error}` : ""}\n`,
        );
      }
    }
  } finally {
    killHogs();
    process.off("exit", killHogs);
    process.off("SIGINT", stopOnSignal);
  }
  writeFileSync(out, markdown(results, { hogs: hogCount, besideTests: Boolean(tests), helpMs, startedAt, command: `npx tsx scripts/rehearsal-under-load.ts ${argv.join(" ")}`.trim() }));
  process.stderr.write(`wrote ${out}\n`);
  return results.every((result) => result.ok && result.failedRequests === 0) ? 0 : 1;
}

if (runsAsCommand(import.meta.url)) {
  runCommand("rehearsal-under-load", "npx tsx scripts/rehearsal-under-load.ts --help", () => rehearsalUnderLoad(process.argv.slice(2)));
}
