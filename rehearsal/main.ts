/**
 * `npm start`: the local rehearsal. Packs the example app as v1 and v2, deploys them one after the other
 * through the real state machine and stage functions, each instance a real local process behind a real
 * HTTP load balancer on loopback, under steady traffic; then says whether any request failed.
 */
import "../simulator/offlineEnvironment.js";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { type LiveRehearsal, RehearsalAbortedError, type RehearsalOptions, type RehearsalSummary, runRehearsal } from "./rehearsal.js";

export const USAGE = `Usage: npm start -- [options]

Rehearses two zero-downtime deploys on this machine, with no AWS account: packs the bundled example app
as releases v1 and v2, runs each instance as a real local process behind a real HTTP load balancer on
127.0.0.1, deploys v1, then deploys v2 through the real state machine while steady traffic flows, and
reports which release served each request and whether any failed.

Options:
  --releases <n>        releases to deploy one after the other, v1..vn (default 2, at least 2)
  --instances <n>       instances per release group (default 2)
  --rate <n>            requests per second sent to the load balancer after v1 is live (default 20)
  --broken-last         the last release's health check fails: its deploy must roll back while the
                        previous release keeps serving
  --load-balancer <k>   application (default) or classic
  --keep-alive          the load generator reuses connections (default: one connection per request)
  --port <n>            the load balancer's port on 127.0.0.1 (default: a free port)
  --keep-running        after the summary, keep the release and the load balancer up until Ctrl-C
  --json                progress on stderr; the last line of stdout is the summary as one JSON object:
                        { "releases", "requests", "failedRequests", "servedBy", "seconds", ... }
  -h, --help            this text

Exit code: 0 when every deploy ended as expected and no request failed; 1 otherwise; 130 on Ctrl-C.`;

export class UsageError extends Error {
  override name = "UsageError";
}

export interface CliOptions extends RehearsalOptions {
  json: boolean;
  keepRunning: boolean;
  help: boolean;
}

function positiveInteger(name: string, raw: string | undefined, fallback: number, min = 1): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new UsageError(`--${name} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
  return value;
}

export function parseCli(argv: string[]): CliOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        releases: { type: "string" },
        instances: { type: "string" },
        rate: { type: "string" },
        "broken-last": { type: "boolean", default: false },
        "load-balancer": { type: "string" },
        "keep-alive": { type: "boolean", default: false },
        port: { type: "string" },
        "keep-running": { type: "boolean", default: false },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const loadBalancer = values["load-balancer"] ?? "application";
  if (loadBalancer !== "application" && loadBalancer !== "classic") {
    throw new UsageError(`--load-balancer must be application or classic, got ${JSON.stringify(loadBalancer)}`);
  }
  const rate = values.rate === undefined ? 20 : Number(values.rate);
  if (!(rate > 0 && rate <= 1000)) throw new UsageError(`--rate must be a number in (0, 1000], got ${JSON.stringify(values.rate)}`);
  return {
    releases: positiveInteger("releases", values.releases, 2, 2),
    instances: positiveInteger("instances", values.instances, 2),
    requestsPerSecond: rate,
    brokenLast: values["broken-last"] ?? false,
    loadBalancer,
    keepAlive: values["keep-alive"] ?? false,
    port: positiveInteger("port", values.port, 0, 0),
    keepRunning: values["keep-running"] ?? false,
    json: values.json ?? false,
    help: values.help ?? false,
  };
}

/** The human summary printed after the run. */
export function formatSummary(summary: RehearsalSummary, options: { stillRunning?: boolean } = {}): string {
  const releaseWidth = Math.max(2, ...Object.keys(summary.servedBy).map((release) => release.length));
  const lines = [
    "",
    "rehearsal summary",
    `  releases       ${summary.deploys
      .map((deploy) => `${deploy.release} ${deploy.outcome}${deploy.outcome === deploy.expected ? "" : ` (expected ${deploy.expected})`} in ${deploy.seconds} s`)
      .join(", ")}`,
    `  requests       ${summary.requests} sent, ${summary.failedRequests} failed`,
    `  served by      ${Object.entries(summary.servedBy).map(([release, count]) => `${release}: ${count}`).join(", ") || "nobody"}`,
    `  over time      requests by release, per 5 s since the load started (x = failed)`,
    ...summary.timeline.map((bucket) => {
      const range = `${bucket.fromSeconds}-${bucket.fromSeconds + 5} s`.padStart(10);
      const served = Object.entries(bucket.servedBy).map(([release, count]) => `${release.padEnd(releaseWidth)} ${String(count).padStart(4)}`);
      if (bucket.failed > 0) served.push(`x ${bucket.failed}`);
      return `    ${range}   ${served.join("   ")}`;
    }),
    ...summary.failures.slice(0, 5).map((failure) => `  failed at ${failure.atSeconds} s: ${failure.reason}`),
    `  duration       ${summary.seconds} s`,
    `  load balancer  ${summary.url}${options.stillRunning ? " (still running: Ctrl-C to stop)" : " (stopped)"}`,
    summary.ok
      ? "  result         OK: every deploy ended as expected and no request failed"
      : "  result         NOT OK: a deploy did not end as expected or a request failed",
  ];
  for (const deploy of summary.deploys.filter((d) => d.error)) {
    lines.splice(3, 0, `    ${deploy.release}: ${deploy.error}: ${(deploy.cause ?? "").slice(0, 300)}`);
  }
  return lines.join("\n");
}

/** The docs/design.md summary object (plus details) on one line. */
export function summaryJson(summary: RehearsalSummary): string {
  const { releases, requests, failedRequests, servedBy, seconds, ...details } = summary;
  return JSON.stringify({ releases, requests, failedRequests, servedBy, seconds, ...details });
}

export async function main(argv: string[]): Promise<number> {
  let cli: CliOptions;
  try {
    cli = parseCli(argv);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (cli.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const progress = (line: string) => (cli.json ? process.stderr : process.stdout).write(`${line}\n`);
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      // A second Ctrl-C: stop waiting for graceful shutdown (the exit handler SIGKILLs the instances).
      process.exit(130);
    }
    progress(`received ${signal}: stopping every instance process and the load balancer...`);
    controller.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  let printed = false;
  let cliView = "";
  const print = (summary: RehearsalSummary, stillRunning: boolean) => {
    printed = true;
    if (cli.json) process.stdout.write(`${summaryJson(summary)}\n`);
    else process.stdout.write(`${formatSummary(summary, { stillRunning })}\n${cliView}`);
  };
  try {
    const summary = await runRehearsal({
      ...cli,
      log: progress,
      signal: controller.signal,
      beforeShutdown: async (running, live) => {
        // Read while everything still runs; printed last, after the summary.
        if (!cli.json) cliView = await asTheCliShowsIt(live, running.url);
        if (!cli.keepRunning) return;
        print(running, true);
        if (!controller.signal.aborted) await new Promise((done) => controller.signal.addEventListener("abort", done, { once: true }));
      },
    });
    if (!printed) print(summary, false);
    return summary.ok ? 0 : 1;
  } catch (error) {
    if (error instanceof RehearsalAbortedError) {
      progress("rehearsal interrupted; everything it started is stopped");
      return 130;
    }
    progress(`rehearsal failed: ${(error as Error).stack ?? error}`);
    return 1;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/** The end of `npm start`: the rehearsal's stage as the operator CLI shows it (`status`, `history`; README "Day two"). */
async function asTheCliShowsIt(live: LiveRehearsal, url: string): Promise<string> {
  const { cliClients } = await import("../cli/aws.js");
  const { runCli } = await import("../cli/main.js");
  const { publishStacks, stageTemplates } = await import("../simulator/execution/deployedStage.js");
  const { attachRegion } = await import("../simulator/region/middleware.js");
  const templates = await stageTemplates(live.settings.loadBalancer.kind === "application" ? "dev01" : "classic01");
  publishStacks(live.region, live.runner, templates, { SiteUrl: url });
  const attachment = attachRegion(live.region, cliClients);
  let text = "";
  const io = { stdout: (t: string) => void (text += t), stderr: (t: string) => void (text += t), isTTY: Boolean(process.stdout.isTTY), env: process.env };
  try {
    for (const command of ["status", "history"]) {
      const argv = [command, "--stage", live.settings.environment];
      text += `\n$ npx immutable-deploy ${argv.join(" ")}\n`;
      await runCli(argv, { io, now: () => live.region.now() });
    }
  } finally {
    attachment.detach();
  }
  return text;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error) => {
      process.stderr.write(`${(error as Error).stack ?? error}\n`);
      process.exit(1);
    },
  );
}
