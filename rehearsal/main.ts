/**
 * `npm start`: the local rehearsal. Packs the example app as v1 and v2, deploys them one after the other
 * through the real state machine and stage functions, each instance a real local process behind a real
 * HTTP load balancer on loopback, under steady traffic; then says whether any request failed.
 *
 * Arguments are read before anything heavy loads (aws-cdk-lib, SST, the SDK clients take seconds), so
 * `--help` and every usage error answer at once; the rehearsal itself is imported once a first progress
 * line is out.
 */
import "../simulator/offlineEnvironment.js";
import { createServer } from "node:net";
import { USAGE_EXIT_CODE, UsageError, choiceOption, integerOption, readOptions, shown, runsAsCommand } from "../scripts/cli.js";
import type { LoadBalancerKind } from "../simulator/region/timing.js";
import { ProgressPrinter } from "./progress.js";
import type { LiveRehearsal, RehearsalOptions, RehearsalSummary } from "./rehearsal.js";

export { UsageError };

export const USAGE = `Usage: npm start -- [options]

Rehearses two zero-downtime deploys on this machine, with no AWS account: packs the bundled example app
as releases v1 and v2, runs each instance as a real local process behind a real HTTP load balancer on
127.0.0.1 (its own process, as is the load generator), deploys v1, then deploys v2 through the real state
machine while steady traffic flows, and reports which release served each request and whether any failed.

Options:
  --releases <n>        releases to deploy one after the other, v1..vn: 2 to 20 (default 2)
  --instances <n>       instances per release group: 1 to 10 (default 2)
  --rate <n>            requests per second sent to the load balancer after v1 is live: above 0, at
                        most 1000 (default 20)
  --broken-last         the last release's health check fails: its deploy must roll back while the
                        previous release keeps serving
  --load-balancer <k>   application (default) or classic
  --keep-alive          the load generator reuses connections (default: one connection per request)
  --port <n>            the load balancer's port on 127.0.0.1: 1 to 65535 (default: a free port)
  --keep-running        after the summary, keep the release and the load balancer up until Ctrl-C
  --json                progress on stderr; the last line of stdout is the summary as one JSON object:
                        { "releases", "requests", "failedRequests", "servedBy", "seconds", ... }
  -h, --help            this text

Exit code: 0 when every deploy ended as expected and no request failed; 1 otherwise; 2 for a bad option
or value (or a port that is taken); 130 on Ctrl-C.`;

const HELP_HINT = "npm start -- --help";

export interface CliOptions extends RehearsalOptions {
  json: boolean;
  keepRunning: boolean;
  help: boolean;
}

const RATE_ALLOWED = "a number above 0, at most 1000";
const LOAD_BALANCERS: readonly LoadBalancerKind[] = ["application", "classic"];

/** Reads `npm start`'s arguments; throws a UsageError naming the option, the value and what is allowed. */
export function parseCli(argv: string[]): CliOptions {
  const values = readOptions(argv, {
    releases: { type: "string", allowed: "an integer from 2 to 20" },
    instances: { type: "string", allowed: "an integer from 1 to 10" },
    rate: { type: "string", allowed: RATE_ALLOWED },
    "broken-last": { type: "boolean" },
    "load-balancer": { type: "string", allowed: LOAD_BALANCERS.join(", ") },
    "keep-alive": { type: "boolean" },
    port: { type: "string", allowed: "an integer from 1 to 65535" },
    "keep-running": { type: "boolean" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  const rate = values.rate === undefined ? 20 : Number(values.rate);
  if (values.rate !== undefined && (values.rate.trim() === "" || !(rate > 0 && rate <= 1000))) throw new UsageError("--rate", shown(values.rate), RATE_ALLOWED);
  return {
    releases: integerOption("releases", values.releases, 2, 2, 20),
    instances: integerOption("instances", values.instances, 2, 1, 10),
    requestsPerSecond: rate,
    brokenLast: values["broken-last"] ?? false,
    loadBalancer: choiceOption("load-balancer", values["load-balancer"], "application", LOAD_BALANCERS),
    keepAlive: values["keep-alive"] ?? false,
    port: integerOption("port", values.port, 0, 1, 65535),
    keepRunning: values["keep-running"] ?? false,
    json: values.json ?? false,
    help: values.help ?? false,
  };
}

/** The usage error for a load balancer port that cannot be had (in use, or not allowed to this user). */
export function portUnavailable(port: number, reason: string): UsageError {
  return new UsageError("--port", String(port), `a free port on 127.0.0.1 (${reason})`);
}

/** Checks at once that the port can be listened on (the load balancer binds it moments later). */
export async function checkPortFree(port: number): Promise<UsageError | undefined> {
  return new Promise((done) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) =>
      done(portUnavailable(port, error.code === "EADDRINUSE" ? `${port} is in use` : `${error.code ?? error.message}: this user may not listen on ${port}`)),
    );
    server.listen(port, "127.0.0.1", () => server.close(() => done(undefined)));
  });
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

export async function main(argv: string[], startedAtMs = Date.now()): Promise<number> {
  let cli: CliOptions;
  try {
    cli = parseCli(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`npm start: ${error.message}\n(${HELP_HINT} lists every option)\n`);
    return USAGE_EXIT_CODE;
  }
  if (cli.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (cli.port) {
    const taken = await checkPortFree(cli.port);
    if (taken) {
      process.stderr.write(`npm start: ${taken.message}\n`);
      return USAGE_EXIT_CODE;
    }
  }
  const controller = new AbortController();
  // A reader that goes away (`npm start | head`) ends the rehearsal like Ctrl-C, with everything stopped.
  let outputClosed = false;
  const onOutputError = (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    outputClosed = true;
    controller.abort();
  };
  process.stdout.on("error", onOutputError);
  process.stderr.on("error", onOutputError);
  const write = (stream: NodeJS.WriteStream, text: string) => {
    if (!outputClosed) stream.write(text);
  };
  const progress = (line: string) => write(cli.json ? process.stderr : process.stdout, `${line}\n`);
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      // A second Ctrl-C: stop waiting for graceful shutdown (exit handlers SIGKILL every process started).
      process.exit(130);
    }
    progress(`received ${signal}: stopping every instance process, the load balancer and the load generator...`);
    controller.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const releases = cli.releases ?? 2;
  new ProgressPrinter(progress, startedAtMs).note(
    "",
    `rehearsal: deploying v1..v${releases} (${cli.instances} instance(s) each, ${cli.loadBalancer} load balancer, ${cli.requestsPerSecond} requests/s once v1 is live)`,
  );
  let printed = false;
  let cliView = "";
  const print = (summary: RehearsalSummary, stillRunning: boolean) => {
    printed = true;
    write(process.stdout, cli.json ? `${summaryJson(summary)}\n` : `${formatSummary(summary, { stillRunning })}\n${cliView}`);
  };
  // Loaded only now: the rehearsal's modules take a moment, and the line above is already out.
  const { runRehearsal, RehearsalAbortedError } = await import("./rehearsal.js");
  const { PortUnavailableError } = await import("./loadBalancerClient.js");
  try {
    const summary = await runRehearsal({
      ...cli,
      log: progress,
      startedAtMs,
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
    if (error instanceof PortUnavailableError) {
      write(process.stderr, `npm start: ${portUnavailable(error.port, error.message).message}\n`);
      return USAGE_EXIT_CODE;
    }
    progress(`rehearsal failed: ${(error as Error).stack ?? error}`);
    return 1;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.stdout.off("error", onOutputError);
    process.stderr.off("error", onOutputError);
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

if (runsAsCommand(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error) => {
      process.stderr.write(`npm start: ${(error as Error).stack ?? error}\n`);
      process.exit(1);
    },
  );
}
