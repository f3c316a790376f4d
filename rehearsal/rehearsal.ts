import { rmSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { EnvironmentSettings, Outcome } from "../functions/lib/contract.js";
import { DEFAULTS } from "../functions/lib/names.js";
import { packRelease } from "../scripts/pack-release.js";
import type { SimulatedRegion } from "../simulator/region/region.js";
import type { DeployRunner, ExecutionResult } from "../simulator/execution/runner.js";
import { type LoadBalancerKind, NO_ORCHESTRATION_LATENCY, type Timing } from "../simulator/region/timing.js";
import type { AslDefinition } from "../stacks/stateMachineDefinition.js";
import { LoadBalancerClient } from "./loadBalancerClient.js";
import type { RequestFailure, TrafficBucket } from "./loadGenerator.js";
import { LoadGeneratorClient } from "./loadGeneratorClient.js";
import { ProcessInstanceHost } from "./processHost.js";
import { ProgressPrinter } from "./progress.js";
import { RealTimeDriver } from "./realTimeDriver.js";

/** The bundled example app: what `npm start` packs and deploys. */
export const EXAMPLE_APP_DIR = fileURLToPath(new URL("../example-app", import.meta.url));

/**
 * AWS's timings scaled down so a rehearsal takes well under two minutes: health checks every second,
 * 3 s of draining, a 2 s bake. Real processes boot as fast as they boot (no modelled boot time), and the stage
 * functions and the interpreter take the time they really take on the wall clock (no modelled Lambda or Step
 * Functions latency).
 */
export const REHEARSAL_TIMING: Readonly<Partial<Timing>> = Object.freeze({
  ...NO_ORCHESTRATION_LATENCY,
  healthCheckIntervalSeconds: 1,
  healthyThreshold: 2,
  unhealthyThreshold: 2,
  drainingSeconds: 3,
  bakeSeconds: 2,
  baseBakeSeconds: 1,
});

export interface RehearsalOptions {
  /** How many releases to deploy one after the other (v1, v2, ...); default 2, at least 2. */
  releases?: number;
  /** Desired instances per group; default 2. */
  instances?: number;
  /** Load balancer requests per second while the releases after v1 deploy; default 20. */
  requestsPerSecond?: number;
  /** The last release's health endpoint fails: its deploy must roll back while the previous keeps serving. */
  brokenLast?: boolean;
  /** Load generator reuses connections; default false. */
  keepAlive?: boolean;
  loadBalancer?: LoadBalancerKind;
  /** Override the scaled-down timings. */
  timing?: Partial<Timing>;
  /**
   * New instances must be healthy in the group and at the load balancer this long after launch; default 20 s
   * (a process boots in under a second and passes 2 checks 1 s apart).
   */
  healthDeadlineSeconds?: number;
  /** Auto Scaling's health-check grace period; default 30 s (beyond the deadline: no replacement churn). */
  gracePeriodSeconds?: number;
  /** Port of the load balancer on 127.0.0.1; default 0 (a free one). A port that cannot be had: `PortUnavailableError`. */
  port?: number;
  appDir?: string;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /** When the run began, for the progress stamps and `seconds` (default: now; `npm start` passes its own start). */
  startedAtMs?: number;
  /** Aborts the rehearsal (Ctrl-C): everything is stopped and `runRehearsal` rejects. */
  signal?: AbortSignal;
  /** The synthesized definition, when the caller has it already (tests); default: synthesized now. */
  definition?: AslDefinition;
  /** Called with the summary while every process and the load balancer still run (`--keep-running`, tests). */
  beforeShutdown?: (summary: RehearsalSummary, live: LiveRehearsal) => Promise<void> | void;
}

/** What is still up when `beforeShutdown` runs. */
export interface LiveRehearsal {
  region: SimulatedRegion;
  settings: EnvironmentSettings;
  host: ProcessInstanceHost;
  balancer: LoadBalancerClient;
  runner: DeployRunner;
}

export interface DeployReport {
  release: string;
  outcome: Outcome;
  /** What this release's deploy should end with (the broken last release: rolled-back). */
  expected: Outcome;
  seconds: number;
  error?: string;
  cause?: string;
}

export interface RehearsalProcess {
  instanceId: string;
  release: string;
  pid?: number;
  port?: number;
}

/** The load balancer's and the load generator's processes. */
export interface HelperProcessInfo {
  role: "load balancer" | "load generator";
  pid: number;
}

/** docs/design.md "Local rehearsal": `releases`, `requests`, `failedRequests`, `servedBy`, `seconds`; then details. */
export interface RehearsalSummary {
  releases: string[];
  requests: number;
  failedRequests: number;
  servedBy: Record<string, number>;
  seconds: number;
  url: string;
  deploys: DeployReport[];
  /** Requests by 5 s bucket since the load started. */
  timeline: TrafficBucket[];
  failures: RequestFailure[];
  /** Instance processes alive when the last deploy ended. */
  liveProcesses: RehearsalProcess[];
  /** Every instance process started. */
  startedProcesses: RehearsalProcess[];
  /** The load balancer's and the load generator's processes. */
  helperProcesses: HelperProcessInfo[];
  /** True when every deploy ended as expected and no request failed. */
  ok: boolean;
}

export class RehearsalAbortedError extends Error {
  override name = "RehearsalAbortedError";
}

export function releaseLabels(count: number): string[] {
  return Array.from({ length: count }, (_, index) => `v${index + 1}`);
}


function processInfo(record: { instanceId: string; release: string; pid?: number; port?: number }): RehearsalProcess {
  return { instanceId: record.instanceId, release: record.release, pid: record.pid, port: record.port };
}

const roundSeconds = (ms: number) => Math.round(ms / 100) / 10;

/** Resolves with `promise`, or rejects when the signal aborts or the driver fails first. */
function untilDone<T>(promise: Promise<T>, stop: Promise<never>): Promise<T> {
  return Promise.race([promise, stop]);
}

/**
 * The simulated region, the state machine runner and the SDK clients: seconds of module loading (the runner
 * brings aws-cdk-lib and SST), so loaded only once the helpers run and a progress line is out.
 */
async function loadDeployMachinery() {
  const [clients, environment, middleware, region, runner, definition] = await Promise.all([
    import("../functions/lib/clients.js"),
    import("../simulator/region/environment.js"),
    import("../simulator/region/middleware.js"),
    import("../simulator/region/region.js"),
    import("../simulator/execution/runner.js"),
    import("../stacks/stateMachineDefinition.js"),
  ]);
  await import("../simulator/execution/polyfills.js");
  return {
    allClients: clients.allClients,
    artifactBucketName: environment.artifactBucketName,
    createEnvironment: environment.createEnvironment,
    attachRegion: middleware.attachRegion,
    bindFunctionClock: middleware.bindFunctionClock,
    SimulatedRegion: region.SimulatedRegion,
    DeployRunner: runner.DeployRunner,
    loadDeployDefinition: definition.loadDeployDefinition,
  };
}

/**
 * Runs `load` with CDK's output directory inside `dir` (which the rehearsal removes), so a synthesis leaves
 * no `cdk.out*` folder in the system temp folder. CDK reads CDK_OUTDIR when the App is created.
 */
async function withCdkOutdir<T>(dir: string, load: () => Promise<T>): Promise<T> {
  const before = process.env.CDK_OUTDIR;
  process.env.CDK_OUTDIR = dir;
  try {
    return await load();
  } finally {
    if (before === undefined) delete process.env.CDK_OUTDIR;
    else process.env.CDK_OUTDIR = before;
  }
}

/**
 * The local rehearsal (docs/design.md "Local rehearsal", `npm start`): starts the load balancer and the load
 * generator, each in its own process; packs the example app as v1..vN; brings up a simulated region whose
 * instances are real processes and whose target group's data plane is that load balancer; deploys v1
 * through the real state machine and stage functions (uploading the artifact starts the execution, as the
 * EventBridge rule does), then deploys the next releases under steady load, and reports what the load saw.
 * Every process it started is stopped, and its temp folder removed, before it returns or throws.
 */
export async function runRehearsal(options: RehearsalOptions = {}): Promise<RehearsalSummary> {
  const startedAtMs = options.startedAtMs ?? Date.now();
  const releaseCount = options.releases ?? 2;
  const instances = options.instances ?? 2;
  const requestsPerSecond = options.requestsPerSecond ?? 20;
  if (!Number.isInteger(releaseCount) || releaseCount < 2) throw new RangeError(`releases must be an integer >= 2, got ${releaseCount}`);
  if (!Number.isInteger(instances) || instances < 1) throw new RangeError(`instances must be an integer >= 1, got ${instances}`);
  if (!(requestsPerSecond > 0)) throw new RangeError(`requestsPerSecond must be > 0, got ${requestsPerSecond}`);
  const healthDeadlineSeconds = options.healthDeadlineSeconds ?? 20;
  const timing = { ...REHEARSAL_TIMING, ...options.timing };
  const log = options.log ?? (() => undefined);
  const printer = new ProgressPrinter(log, startedAtMs);
  const labels = releaseLabels(releaseCount);
  const brokenRelease = options.brokenLast ? labels.at(-1) : undefined;

  const cleanups: Array<() => Promise<void> | void> = [];
  let failStop: (error: Error) => void = () => undefined;
  const stop = new Promise<never>((_, reject) => (failStop = reject));
  stop.catch(() => undefined);
  const onAbort = () => failStop(new RehearsalAbortedError("rehearsal interrupted"));
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener("abort", onAbort, { once: true });

  try {
    const workDir = await mkdtemp(join(tmpdir(), "immutable-deploy-rehearsal-"));
    cleanups.push(() => rm(workDir, { recursive: true, force: true }));
    // Last resort if this process exits before the cleanups run (an uncaught error, process.exit).
    const removeOnExit = () => rmSync(workDir, { recursive: true, force: true });
    process.once("exit", removeOnExit);
    cleanups.push(() => void process.off("exit", removeOnExit));

    // The helpers first: they are small, and a port in use is known at once.
    printer.note("", "starting the load balancer and the load generator, each in its own process...");
    const interval = timing.healthCheckIntervalSeconds!;
    const [balancerStart, loadStart] = await Promise.allSettled([
      LoadBalancerClient.start({
        port: options.port ?? 0,
        healthCheckTimeoutMs: Math.min(DEFAULTS.healthCheckTimeoutSeconds * 1000, Math.max(200, interval * 800)),
        onUnexpectedExit: (error) => failStop(error),
      }),
      LoadGeneratorClient.start({ onUnexpectedExit: (error) => failStop(error) }),
    ]);
    if (balancerStart.status === "fulfilled") cleanups.push(() => balancerStart.value.close());
    if (loadStart.status === "fulfilled") cleanups.push(() => loadStart.value.close());
    if (balancerStart.status === "rejected") throw balancerStart.reason;
    if (loadStart.status === "rejected") throw loadStart.reason;
    const balancer = balancerStart.value;
    const load = loadStart.value;
    const url = balancer.url;
    printer.note("", `load balancer listening on ${url} (pid ${balancer.pid}; health checks: GET ${DEFAULTS.healthCheckPath} every ${interval} s)`);
    printer.note("", `load generator ready (pid ${load.pid})`);

    const appDir = resolve(options.appDir ?? EXAMPLE_APP_DIR);
    const artifacts = new Map<string, string>();
    for (const release of labels) {
      const packed = await packRelease({ appDir, release, outFile: join(workDir, "artifacts", `${release}${DEFAULTS.artifactSuffix}`) });
      artifacts.set(release, packed.outFile);
    }
    printer.note("", `packed ${appDir} as ${labels.join(", ")} in ${join(workDir, "artifacts")}`);

    printer.note("", "synthesizing the state machine (stacks/Pipeline.ts, offline) and loading the simulated region...");
    const loadingSince = Date.now();
    const machinery = await untilDone(loadDeployMachinery(), stop);
    const definition =
      options.definition ??
      (await untilDone(
        withCdkOutdir(join(workDir, "cdk.out"), () =>
          machinery.loadDeployDefinition("dev01", {
            onLoad: ({ cached }) => printer.note("", cached ? "state machine reused from .synth/cache (its inputs are unchanged)" : "state machine synthesized and cached in .synth/cache"),
          }),
        ),
        stop,
      ));
    printer.note("", `state machine ready: ${Object.keys(definition.States).length} states (${roundSeconds(Date.now() - loadingSince)} s)`);

    const region = new machinery.SimulatedRegion({ startMs: Date.now(), timing });
    const half = Math.ceil(healthDeadlineSeconds / 2);
    const settings: EnvironmentSettings = machinery.createEnvironment(region, {
      environment: "rehearsal",
      config: {
        loadBalancer: options.loadBalancer ?? "application",
        minCapacity: 1,
        desiredCapacity: instances,
        maxCapacity: Math.max(DEFAULTS.maxCapacity, instances * 2),
      },
      scaledDown: {
        healthCheckGracePeriodSeconds: options.gracePeriodSeconds ?? 30,
        timeouts: { lockWaitSeconds: 60, groupHealthySeconds: half, loadBalancerHealthySeconds: half, retireSeconds: 60 },
        // The default strategy (a canary on an ALB), in seconds instead of minutes: the weights move under live load.
        cutover: { stepSeconds: 10, bakeTimeSeconds: 15 },
      },
    });
    if (brokenRelease) region.setReleaseBehavior(brokenRelease, { appHealthy: false });

    const host = new ProcessInstanceHost({
      workDir: join(workDir, "instances"),
      artifactOf: (release) => artifacts.get(release),
      appHealthy: (release) => region.ec2.releaseBehavior(release).appHealthy,
    });
    region.ec2.setInstanceHost(host);
    // Last resort if this process exits without cleaning up (cleanups run last-in first-out).
    const killOnExit = () => host.killAllNow();
    process.once("exit", killOnExit);
    cleanups.push(() => void process.off("exit", killOnExit));
    cleanups.push(() => host.stopAll());
    host.onEvent((event) => {
      const { instanceId, release, pid, port } = event.process;
      if (event.type === "listening") printer.note(release, `instance ${instanceId}: node server.js listening on 127.0.0.1:${port} (pid ${pid})`);
      if (event.type === "stopping") printer.note(release, `instance ${instanceId}: SIGTERM (pid ${pid}), finishing in-flight requests`);
      if (event.type === "exited" && pid !== undefined) {
        const how = event.process.exitSignal ? `signal ${event.process.exitSignal}` : `code ${event.process.exitCode}`;
        printer.note(release, `instance ${instanceId}: process exited (${how})${event.expected ? "" : " unexpectedly"}`);
      }
      if (event.type === "boot-failed") printer.note(release, `instance ${instanceId}: failed to boot: ${event.message}`);
      // An address appeared or went away: the load balancer's targets follow.
      balancer.syncTargets();
    });

    const pools = region.loadBalancing.environmentPools(settings.loadBalancer);
    balancer.connect({ loadBalancing: region.loadBalancing, loadBalancer: settings.loadBalancer, addressOf: (instanceId) => host.addressOf(instanceId) });
    region.loadBalancing.onRoutingChange(() => {
      const shares = region.loadBalancing.routedPools(settings.loadBalancer).map(({ id, weight }) => `${id.slice(id.lastIndexOf("/", id.lastIndexOf("/") - 1) + 1)}: ${weight}`);
      printer.note("", `load balancer: listener rule weights now ${shares.join(", ")}`);
    });
    region.loadBalancing.onRegistrationChange((changedPool, instanceId, registration) => {
      if (!pools.includes(changedPool)) return;
      const release = region.ec2.instances.get(instanceId)?.release ?? "";
      printer.note(release, `load balancer: ${instanceId} ${registration ? registration.state : "deregistered"}`);
    });

    const attachment = machinery.attachRegion(region, machinery.allClients);
    cleanups.push(() => attachment.detach());
    const restoreClock = machinery.bindFunctionClock(region);
    cleanups.push(restoreClock);

    const driver = new RealTimeDriver(region.scheduler, { onError: (error) => failStop(error as Error) });
    driver.start();
    cleanups.push(() => driver.stop());

    const runner = new machinery.DeployRunner({ region, settings, definition });
    runner.onProgress((event) => printer.handle(event));
    const bucket = machinery.artifactBucketName(settings.app, settings.environment);
    runner.connectTrigger(bucket);
    // Step Functions' API for the operator CLI (`npm start` ends with its `status` and `history`).
    runner.connectApi();

    const deploys: DeployReport[] = [];
    for (const [index, release] of labels.entries()) {
      const key = `${DEFAULTS.artifactPrefix}${release}${DEFAULTS.artifactSuffix}`;
      const before = runner.executions.length;
      printer.note(release, `uploading ${key} to s3://${bucket} (the upload starts the deploy)`);
      region.s3.putObject(bucket, key, await readFile(artifacts.get(release)!));
      const execution = runner.executions[before];
      if (!execution) throw new Error(`uploading ${key} started no execution: the trigger did not match`);
      printer.labelExecution(execution.name, release);
      const result: ExecutionResult = await untilDone(execution.done, stop);
      const expected: Outcome = release === brokenRelease ? "rolled-back" : "succeeded";
      deploys.push({
        release,
        outcome: result.outcome,
        expected,
        seconds: roundSeconds(result.endedAtMs - result.startedAtMs),
        ...(result.error ? { error: result.error, cause: result.cause } : {}),
      });
      // Without a live first release there is nothing to rehearse a swap against.
      if (index === 0 && result.outcome !== "succeeded") break;
      if (index === 0) {
        printer.note("", `starting load: ${requestsPerSecond} requests/s at ${url} (load generator pid ${load.pid})`);
        await untilDone(load.begin({ url, requestsPerSecond, keepAlive: options.keepAlive }), stop);
      }
    }
    // A rollback force-deletes the new group without waiting for its instances: let their processes exit.
    await host.settled();
    const liveProcesses = host.alive().map(processInfo);
    const report = await untilDone(load.stop(), stop);
    const summary: RehearsalSummary = {
      releases: deploys.map((deploy) => deploy.release),
      requests: report.requests,
      failedRequests: report.failedRequests,
      servedBy: report.servedBy,
      seconds: roundSeconds(Date.now() - startedAtMs),
      url,
      deploys,
      timeline: report.timeline,
      failures: report.failures,
      liveProcesses,
      startedProcesses: [...host.processes.values()].map(processInfo),
      helperProcesses: [
        { role: "load balancer", pid: balancer.pid },
        { role: "load generator", pid: load.pid },
      ],
      ok: deploys.length === labels.length && deploys.every((deploy) => deploy.outcome === deploy.expected) && report.failedRequests === 0,
    };
    await options.beforeShutdown?.(summary, { region, settings, host, balancer, runner });
    return summary;
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    // Reverse order: driver, region hooks, instance processes, helper processes, files.
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch {
        // Best effort: the next cleanups must still run.
      }
    }
  }
}
