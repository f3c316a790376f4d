import { type ChildProcess, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERROR } from "../../functions/lib/names.js";
import { type RehearsalOptions, type RehearsalSummary, runRehearsal } from "../../rehearsal/rehearsal.js";
import { type AslDefinition, loadDeployDefinition } from "../../stacks/stateMachineDefinition.js";
import { usePrivateTempFolder } from "../tempFolder.js";
import { childProcesses, get, isAlive } from "./helpers.js";

const temp = usePrivateTempFolder("rehearsal-e2e-test");

/**
 * The zero-failure claim must hold on a busy machine. `npm test` runs this file beside the suite, whose two test
 * processes keep both cores busy for longer than the rehearsal lasts (scripts/test.mjs sets REHEARSAL_BESIDE_SUITE);
 * run any other way, a CPU-bound process beside the rehearsal the whole time makes the machine busy. (The hog
 * beside the suite cost a core for the rehearsal's 100 s, taken from the suite, and added no load that was not there.)
 */
const besideSuite = process.env.REHEARSAL_BESIDE_SUITE === "1";
let cpuHog: ChildProcess | undefined;
let definition: AslDefinition;
beforeAll(async () => {
  if (!besideSuite) cpuHog = spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" });
  // Synthesis writes a cdk.out folder: into a folder this file removes, not the system temp folder.
  const cdkOut = join(temp.path, "cdk.out");
  process.env.CDK_OUTDIR = cdkOut;
  try {
    definition = await loadDeployDefinition("dev01");
  } finally {
    delete process.env.CDK_OUTDIR;
    rmSync(cdkOut, { recursive: true, force: true });
  }
}, 120_000);
afterAll(() => {
  cpuHog?.kill("SIGKILL");
  temp.remove();
});

/**
 * The children of this test process once a rehearsal has returned, beside the CPU hog (if any) and the esbuild service
 * SST starts while synthesizing (it ends with its parent): none.
 */
const childrenBesideTheHog = () => childProcesses().filter((child) => !(cpuHog && child.startsWith(`${cpuHog.pid} `)) && !/\/esbuild --service=/.test(child));

/** Real processes and real HTTP on loopback; only the bake is shortened further than `npm start` does. */
const shortRehearsal = (): RehearsalOptions => ({
  definition,
  releases: 2,
  instances: 2,
  requestsPerSecond: 15,
  timing: { bakeSeconds: 0.5, baseBakeSeconds: 0.5, drainingSeconds: 2 },
});

describe("runRehearsal (end to end)", () => {
  it("swaps v1 for v2 under live traffic with zero failed requests, leaving only v2's processes, then nothing", async () => {
    // Prepare
    const lines: string[] = [];
    let pageThroughLoadBalancer: { status: number; release: unknown } | undefined;
    let aliveBeforeShutdown: number[] = [];

    // Act
    const summary: RehearsalSummary = await runRehearsal({
      ...shortRehearsal(),
      log: (line) => lines.push(line),
      beforeShutdown: async (result, live) => {
        const answer = await get(`${result.url}/`);
        pageThroughLoadBalancer = { status: answer.status, release: answer.headers["x-release"] };
        aliveBeforeShutdown = live.host.alive().flatMap((record) => (record.pid ? [record.pid] : []));
      },
    });

    // Assess
    expect(summary.deploys.map((deploy) => [deploy.release, deploy.outcome])).toEqual([
      ["v1", "succeeded"],
      ["v2", "succeeded"],
    ]);
    expect(summary.releases).toEqual(["v1", "v2"]);
    expect(summary.requests).toBeGreaterThan(50);
    expect(summary.failedRequests).toBe(0);
    expect(summary.servedBy.v1).toBeGreaterThan(0);
    expect(summary.servedBy.v2).toBeGreaterThan(0);
    expect(summary.servedBy.v1 + summary.servedBy.v2).toBe(summary.requests);
    expect(summary.ok).toBe(true);
    expect(summary.liveProcesses.map((process) => process.release)).toEqual(["v2", "v2"]);
    expect(pageThroughLoadBalancer).toEqual({ status: 200, release: "v2" });
    expect(aliveBeforeShutdown).toHaveLength(2);
    const pids = summary.startedProcesses.map((process) => process.pid!);
    expect(pids).toHaveLength(4);
    expect(pids.filter(isAlive)).toEqual([]);
    expect(summary.helperProcesses.map((helper) => helper.role)).toEqual(["load balancer", "load generator"]);
    expect(summary.helperProcesses.map((helper) => helper.pid).filter((pid) => pid === process.pid || isAlive(pid))).toEqual([]);
    expect(childrenBesideTheHog()).toEqual([]);
    expect(lines.some((line) => /v2 +deploy: new instance\(s\) are healthy at load balancer \(2\/2\)/.test(line))).toBe(true);
    expect(lines.some((line) => /v1 +load balancer: i-\w+ draining/.test(line))).toBe(true);
  }, 120_000);

  it("rolls a broken v2 back while v1 keeps serving every request, and no v2 process remains", async () => {
    // Prepare
    const options: RehearsalOptions = { ...shortRehearsal(), brokenLast: true, healthDeadlineSeconds: 6 };

    // Act
    const summary = await runRehearsal(options);

    // Assess
    expect(summary.deploys.map((deploy) => [deploy.release, deploy.outcome])).toEqual([
      ["v1", "succeeded"],
      ["v2", "rolled-back"],
    ]);
    expect(summary.deploys[1].error).toBe(ERROR.releaseUnhealthy);
    expect(summary.failedRequests).toBe(0);
    expect(summary.requests).toBeGreaterThan(50);
    expect(summary.servedBy).toEqual({ v1: summary.requests });
    expect(summary.ok).toBe(true);
    expect(summary.liveProcesses.map((process) => process.release)).toEqual(["v1", "v1"]);
    const v2Pids = summary.startedProcesses.filter((process) => process.release === "v2").map((process) => process.pid!);
    expect(v2Pids.length).toBeGreaterThanOrEqual(2);
    expect(summary.startedProcesses.map((process) => process.pid!).filter(isAlive)).toEqual([]);
    expect(summary.helperProcesses.map((helper) => helper.pid).filter(isAlive)).toEqual([]);
    expect(childrenBesideTheHog()).toEqual([]);
  }, 120_000);
});

describe("the temp folder", () => {
  // Last in this file: both rehearsals ran with os.tmpdir() pointing at a folder of its own.
  it("holds nothing the rehearsals wrote (packed releases, unpacked instances, synthesis output)", () => {
    expect(temp.leftovers()).toEqual([]);
  });
});
