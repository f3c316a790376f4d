import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { USAGE, UsageError, formatSummary, parseCli, summaryJson } from "../../rehearsal/main.js";
import type { RehearsalSummary } from "../../rehearsal/rehearsal.js";
import { usePrivateTempFolder } from "../tempFolder.js";
import { get, isAlive } from "./helpers.js";

const temp = usePrivateTempFolder("rehearsal-cli-test");
afterAll(() => temp.remove());

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const MAIN = fileURLToPath(new URL("../../rehearsal/main.ts", import.meta.url));

/** Counts the modules of the heavy packages loaded when the process exits (aws-cdk-lib, SST, the SDK, the ASL interpreter). */
const HEAVY_MODULE_PROBE = `data:text/javascript,import{createRequire}from"node:module";const r=createRequire("file:///probe.js");process.on("exit",()=>{const m=Object.keys(r.cache).filter(p=>/node_modules\\/(aws-cdk-lib|sst|@aws-sdk|aws-local-stepfunctions)\\//.test(p));process.stderr.write("heavy modules loaded: "+m.length+"\\n")})`;

interface CommandRun {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
}

/** `npm start -- ...args` without npm: node with tsx, as npm runs it, in this file's private temp folder. */
function startCommand(args: string[], execArgv: string[] = []): CommandRun {
  const startedAt = Date.now();
  const child = spawn(process.execPath, ["--import", "tsx", ...execArgv, MAIN, ...args], { cwd: repoRoot, env: process.env, stdio: ["ignore", "pipe", "pipe"] });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const lines = (into: string[]) => {
    let buffered = "";
    return (chunk: Buffer) => {
      buffered += chunk.toString("utf8");
      const parts = buffered.split("\n");
      buffered = parts.pop() ?? "";
      into.push(...parts);
    };
  };
  child.stdout!.on("data", lines(stdout));
  child.stderr!.on("data", lines(stderr));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal, ms: Date.now() - startedAt })),
  );
  return { child, stdout, stderr, exit };
}

async function waitForLine(lines: string[], pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const line of lines) {
      const match = pattern.exec(line);
      if (match) return match;
    }
    if (Date.now() > deadline) throw new Error(`no line matching ${pattern} within ${timeoutMs} ms; got:\n${lines.join("\n")}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function busyPort(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as { port: number }).port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const summary: RehearsalSummary = {
  releases: ["v1", "v2"],
  requests: 300,
  failedRequests: 0,
  servedBy: { v1: 120, v2: 180 },
  seconds: 31.4,
  url: "http://127.0.0.1:40000",
  deploys: [
    { release: "v1", outcome: "succeeded", expected: "succeeded", seconds: 9.1 },
    { release: "v2", outcome: "succeeded", expected: "succeeded", seconds: 15.2 },
  ],
  timeline: [
    { fromSeconds: 0, servedBy: { v1: 100 }, failed: 0 },
    { fromSeconds: 5, servedBy: { v1: 20, v2: 80 }, failed: 0 },
  ],
  failures: [],
  liveProcesses: [],
  startedProcesses: [],
  helperProcesses: [],
  ok: true,
};

describe("npm start command line", () => {
  it("defaults to two releases, two instances, 20 requests/s on an application load balancer", () => {
    // Prepare, Act
    const options = parseCli([]);

    // Assess
    expect(options).toMatchObject({ releases: 2, instances: 2, requestsPerSecond: 20, brokenLast: false, loadBalancer: "application", json: false, keepRunning: false });
  });

  it("reads every option", () => {
    // Prepare, Act
    const options = parseCli(["--releases", "3", "--instances", "1", "--rate", "5", "--broken-last", "--json", "--keep-running", "--load-balancer", "classic", "--port", "8080", "--keep-alive"]);

    // Assess
    expect(options).toMatchObject({ releases: 3, instances: 1, requestsPerSecond: 5, brokenLast: true, json: true, keepRunning: true, loadBalancer: "classic", port: 8080, keepAlive: true });
    expect(USAGE).toContain("--broken-last");
  });

  it.each([
    [["--port", "70000"], "--port: 70000; allowed: an integer from 1 to 65535"],
    [["--port", "0"], "--port: 0; allowed: an integer from 1 to 65535"],
    [["--port"], "--port: no value; allowed: an integer from 1 to 65535"],
    [["--port", "--json"], "--port: no value; allowed: an integer from 1 to 65535"],
    [["--releases", "1"], "--releases: 1; allowed: an integer from 2 to 20"],
    [["--releases", "2.5"], "--releases: 2.5; allowed: an integer from 2 to 20"],
    [["--instances", "0"], "--instances: 0; allowed: an integer from 1 to 10"],
    [["--rate", "fast"], "--rate: fast; allowed: a number above 0, at most 1000"],
    [["--rate", "0"], "--rate: 0; allowed: a number above 0, at most 1000"],
    [["--load-balancer", "nlb"], "--load-balancer: nlb; allowed: application, classic"],
    [["--json=yes"], "--json: yes; allowed: no value (it is a flag)"],
    [["--bogus"], "--bogus: unknown option; allowed: --releases, --instances, --rate, --broken-last, --load-balancer, --keep-alive, --port, --keep-running, --json, --help"],
    [["v3"], "v3: not an option; allowed: only options: --releases, --instances, --rate, --broken-last, --load-balancer, --keep-alive, --port, --keep-running, --json, --help"],
  ])("%j is a usage error naming the option, the value and what is allowed", (args, message) => {
    // Prepare, Act
    const error = (() => {
      try {
        parseCli(args);
      } catch (caught) {
        return caught;
      }
    })();

    // Assess
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toBe(message);
  });

  it("prints the docs/design.md summary keys first, as one JSON line", () => {
    // Prepare, Act
    const line = summaryJson(summary);

    // Assess
    expect(line).not.toContain("\n");
    expect(Object.keys(JSON.parse(line)).slice(0, 5)).toEqual(["releases", "requests", "failedRequests", "servedBy", "seconds"]);
    expect(JSON.parse(line)).toMatchObject({ releases: ["v1", "v2"], requests: 300, failedRequests: 0, servedBy: { v1: 120, v2: 180 }, seconds: 31.4 });
  });

  it("summarizes for people: outcomes, counts, traffic over time, the URL and the verdict", () => {
    // Prepare, Act
    const text = formatSummary({ ...summary, failedRequests: 2, ok: false, failures: [{ atSeconds: 7.2, reason: "HTTP 502" }] });

    // Assess
    expect(text).toContain("v1 succeeded in 9.1 s, v2 succeeded in 15.2 s");
    expect(text).toContain("300 sent, 2 failed");
    expect(text).toMatch(/5-10 s +v1 +20 +v2 +80/);
    expect(text).toContain("failed at 7.2 s: HTTP 502");
    expect(text).toContain("http://127.0.0.1:40000 (stopped)");
    expect(text).toContain("NOT OK");
  });
});

describe("npm start as a command", () => {
  it("answers --help without loading aws-cdk-lib, SST, the SDK or the state machine interpreter", async () => {
    // Act
    const run = startCommand(["--help"], ["--import", HEAVY_MODULE_PROBE]);
    const { code, ms } = await run.exit;

    // Assess
    expect(code).toBe(0);
    expect(run.stdout[0]).toBe("Usage: npm start -- [options]");
    expect(run.stdout.join("\n")).toContain("--keep-running");
    expect(run.stderr).toEqual(["heavy modules loaded: 0"]);
    // Not a benchmark: today it takes well under 1 s; loading the heavy modules would take 5 s and more.
    expect(ms).toBeLessThan(5_000);
  });

  it.each([
    [["--port", "70000"], "--port: 70000; allowed: an integer from 1 to 65535"],
    [["--releases", "1"], "--releases: 1; allowed: an integer from 2 to 20"],
    [["--bogus"], "--bogus: unknown option; allowed: --releases, --instances, --rate, --broken-last, --load-balancer, --keep-alive, --port, --keep-running, --json, --help"],
  ])("%j: one line on stderr, a pointer to --help, exit 2, nothing heavy loaded", async (args, message) => {
    // Act
    const run = startCommand(args, ["--import", HEAVY_MODULE_PROBE]);
    const { code } = await run.exit;

    // Assess
    expect(code).toBe(2);
    expect(run.stderr).toEqual([`npm start: ${message}`, "(npm start -- --help lists every option)", "heavy modules loaded: 0"]);
    expect(run.stdout).toEqual([]);
  });

  it("refuses a port in use at once, before starting anything", async () => {
    // Prepare
    const busy = await busyPort();

    // Act
    const run = startCommand(["--port", String(busy.port)], ["--import", HEAVY_MODULE_PROBE]);
    const { code } = await run.exit;
    await busy.close();

    // Assess
    expect(code).toBe(2);
    expect(run.stderr).toEqual([`npm start: --port: ${busy.port}; allowed: a free port on 127.0.0.1 (${busy.port} is in use)`, "heavy modules loaded: 0"]);
    expect(run.stdout).toEqual([]);
  });

  it("on Ctrl-C while loading: says so first, exits 130, and no process or temp file is left", async () => {
    // Act
    const run = startCommand(["--json"]);
    const balancer = await waitForLine(run.stderr, /load balancer listening on \S+ \(pid (\d+)/, 60_000);
    const load = await waitForLine(run.stderr, /load generator ready \(pid (\d+)\)/, 60_000);
    await waitForLine(run.stderr, /synthesizing the state machine/, 60_000);
    run.child.kill("SIGINT");
    const { code } = await run.exit;

    // Assess
    expect(run.stderr[0]).toMatch(/^\[ +\d+\.\ds\] +rehearsal: deploying v1..v2 \(2 instance\(s\) each/);
    expect(code).toBe(130);
    expect(run.stderr).toContain("rehearsal interrupted; everything it started is stopped");
    expect([Number(balancer[1]), Number(load[1])].filter(isAlive)).toEqual([]);
    expect(run.stdout).toEqual([]);
    expect(temp.leftovers()).toEqual([]);
  }, 120_000);

  it("when its reader goes away (npm start | head -1): stops everything like Ctrl-C and leaves no process or temp file", async () => {
    // Act
    const run = startCommand([]);
    const balancer = await waitForLine(run.stdout, /load balancer listening on \S+ \(pid (\d+)/, 60_000);
    const load = await waitForLine(run.stdout, /load generator ready \(pid (\d+)\)/, 60_000);
    run.child.stdout!.destroy();
    const { code } = await run.exit;

    // Assess
    expect(code).toBe(130);
    expect([Number(balancer[1]), Number(load[1])].filter(isAlive)).toEqual([]);
    expect(temp.leftovers()).toEqual([]);
  }, 120_000);

  it("on Ctrl-C mid-deploy: stops every instance process, the load balancer and the load generator, exits 130, leaves no temp file", async () => {
    // Act
    const run = startCommand(["--json"]);
    await waitForLine(run.stderr, /instance i-\w+: node server\.js listening on \S+ \(pid (\d+)\)/, 110_000);
    run.child.kill("SIGINT");
    const { code } = await run.exit;
    // Every process the run started says its pid in a progress line.
    const pids = run.stderr.flatMap((line) => [...line.matchAll(/\(pid (\d+)/g)].map((match) => Number(match[1])));

    // Assess
    expect(code).toBe(130);
    expect(run.stderr).toContain("received SIGINT: stopping every instance process, the load balancer and the load generator...");
    expect(pids.length).toBeGreaterThanOrEqual(3);
    expect(pids.filter(isAlive)).toEqual([]);
    expect(temp.leftovers()).toEqual([]);
  }, 180_000);

  it("keeps serving through the load balancer while the orchestrator is frozen (SIGSTOP), and the deploy still ends with no failed request", async () => {
    // Prepare: v1 is live and the load runs.
    const run = startCommand(["--json"]);
    const [, url] = await waitForLine(run.stderr, /starting load: \d+ requests\/s at (\S+)/, 120_000);

    // Act: freeze the orchestrator (the region, the state machine, the health checks' control plane) for 6 s,
    // longer than the load generator's 5 s answer bound, and ask the load balancer for pages meanwhile.
    process.kill(run.child.pid!, "SIGSTOP");
    const answersWhileFrozen: Array<{ status: number; release: unknown }> = [];
    try {
      const until = Date.now() + 6_000;
      while (Date.now() < until) {
        const answer = await get(`${url}/`, { timeoutMs: 2_000 }).catch((error: Error) => ({ status: 0, headers: { "x-release": error.message } }));
        answersWhileFrozen.push({ status: answer.status, release: answer.headers["x-release"] });
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    } finally {
      process.kill(run.child.pid!, "SIGCONT");
    }
    const { code } = await run.exit;
    const summary = JSON.parse(run.stdout.at(-1) ?? "{}");

    // Assess
    expect(answersWhileFrozen.length).toBeGreaterThan(5);
    expect(answersWhileFrozen.filter((answer) => answer.status !== 200 || answer.release !== "v1")).toEqual([]);
    expect(code).toBe(0);
    expect(summary).toMatchObject({ releases: ["v1", "v2"], failedRequests: 0, ok: true });
    expect(temp.leftovers()).toEqual([]);
  }, 240_000);
});

