import { type ChildProcess, spawn } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { extract } from "tar";
import type { InstanceHost, SimInstance } from "../simulator/region/services/ec2.js";

/** The example app's start-up line: `listening on <port> release <label>`. */
const LISTENING_LINE = /^listening on (\d+) release /;
/** Output lines kept per process, for failure messages. */
const OUTPUT_LINES_KEPT = 40;

export type InstanceProcessState = "unpacking" | "starting" | "listening" | "stopping" | "exited";

/** One instance's process: the release unpacked into its own directory, `node server.js` on its own port. */
export interface InstanceProcess {
  instanceId: string;
  release: string;
  dir: string;
  state: InstanceProcessState;
  pid?: number;
  port?: number;
  exitCode?: number | null;
  exitSignal?: NodeJS.Signals | null;
  /** Last lines of stdout and stderr. */
  output: string[];
  startedAtMs: number;
  exitedAtMs?: number;
}

export type ProcessEvent =
  | { type: "listening"; process: InstanceProcess }
  | { type: "stopping"; process: InstanceProcess }
  | { type: "exited"; process: InstanceProcess; expected: boolean }
  | { type: "boot-failed"; process: InstanceProcess; message: string };

export interface ProcessHostOptions {
  /** Each instance is unpacked into `<workDir>/<instance id>`. */
  workDir: string;
  /** The packed `.tgz` of a release (the artifact the bake would have put on the image), or undefined. */
  artifactOf: (release: string) => string | undefined;
  /** False: the release is broken (its health endpoint answers 503: the app's HEALTHY=false). Default: healthy. */
  appHealthy?: (release: string) => boolean;
  /** A process that does not listen within this bound failed to boot (default 15000 ms). */
  bootTimeoutMs?: number;
  /** SIGKILL a process this long after SIGTERM if it has not exited (default 5000 ms). */
  stopTimeoutMs?: number;
  /** The app's own graceful shutdown bound (SHUTDOWN_TIMEOUT_MS; default 3000 ms, below stopTimeoutMs). */
  appShutdownTimeoutMs?: number;
  /** The app's STARTUP_DELAY_MS: its health endpoint says "starting" this long after listening (default 0). */
  appStartupDelayMs?: number;
}

/**
 * Runs each simulated EC2 instance as a real local process (`Ec2Service.setInstanceHost`): on boot it
 * unpacks the instance's release artifact (found by the image's release tag) into the instance's own
 * directory and starts `node server.js` on a free loopback port; the instance is `running` once the app
 * prints its `listening on` line. On termination it sends SIGTERM (the app finishes in-flight requests),
 * then SIGKILL after a bound; the instance is `terminated` once the process has exited.
 */
export class ProcessInstanceHost implements InstanceHost {
  /** Every process ever started, by instance id. */
  readonly processes = new Map<string, InstanceProcess>();
  private readonly children = new Map<string, ChildProcess>();
  private readonly stopRequests = new Map<string, Array<() => void>>();
  private readonly listeners = new Set<(event: ProcessEvent) => void>();
  private readonly options: Required<ProcessHostOptions>;

  constructor(options: ProcessHostOptions) {
    this.options = {
      appHealthy: () => true,
      bootTimeoutMs: 15_000,
      stopTimeoutMs: 5_000,
      appShutdownTimeoutMs: 3_000,
      appStartupDelayMs: 0,
      ...options,
    };
  }

  onEvent(listener: (event: ProcessEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Where the instance's app listens, once it does (and until its process exits). */
  addressOf(instanceId: string): { host: string; port: number } | undefined {
    const record = this.processes.get(instanceId);
    return record?.state === "listening" || record?.state === "stopping" ? { host: "127.0.0.1", port: record.port! } : undefined;
  }

  /** Processes not yet exited. */
  alive(): InstanceProcess[] {
    return [...this.processes.values()].filter((record) => record.state !== "exited");
  }

  boot(instance: SimInstance, outcome: { running(): void; failed(message: string): void }): void {
    const release = instance.release ?? "";
    const record: InstanceProcess = {
      instanceId: instance.instanceId,
      release,
      dir: join(this.options.workDir, instance.instanceId),
      state: "unpacking",
      output: [],
      startedAtMs: Date.now(),
    };
    this.processes.set(instance.instanceId, record);
    const artifact = release ? this.options.artifactOf(release) : undefined;
    const fail = (message: string) => {
      this.emit({ type: "boot-failed", process: record, message });
      outcome.failed(message);
    };
    if (!artifact) {
      this.markExited(record, null, null);
      // Deferred: the region is still inside RunInstances.
      setImmediate(() => fail(`no release artifact for image ${instance.imageId} (release tag ${JSON.stringify(release)})`));
      return;
    }
    this.unpackAndStart(record, artifact, outcome.running, fail).catch((error: Error) => {
      this.markExited(record, null, null);
      fail(`could not unpack ${artifact}: ${error.message}`);
    });
  }

  terminate(instance: SimInstance, terminated: () => void): void {
    const record = this.processes.get(instance.instanceId);
    if (!record || record.state === "exited") {
      setImmediate(terminated);
      return;
    }
    const waiting = this.stopRequests.get(record.instanceId) ?? [];
    waiting.push(terminated);
    this.stopRequests.set(record.instanceId, waiting);
    const child = this.children.get(record.instanceId);
    // Still unpacking: unpackAndStart sees the request and never starts the process.
    if (child) this.signalStop(record, child);
  }

  /** Resolves once no process is stopping any more (or after `timeoutMs`); true when none is. */
  async settled(timeoutMs = this.options.stopTimeoutMs + 1_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    const stopping = () => [...this.processes.values()].some((record) => record.state === "stopping");
    while (stopping() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    return !stopping();
  }

  /** Stops every process (SIGTERM, then SIGKILL after the bound) and resolves once all have exited. */
  async stopAll(): Promise<void> {
    const exits = [...this.processes.values()]
      .filter((record) => record.state !== "exited")
      .map(
        (record) =>
          new Promise<void>((resolve) => {
            const waiting = this.stopRequests.get(record.instanceId) ?? [];
            waiting.push(resolve);
            this.stopRequests.set(record.instanceId, waiting);
            const child = this.children.get(record.instanceId);
            if (child) this.signalStop(record, child);
          }),
      );
    await Promise.all(exits);
  }

  /** Last resort (process exit handler): SIGKILL whatever still runs, synchronously. */
  killAllNow(): void {
    for (const child of this.children.values()) {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  }

  private async unpackAndStart(record: InstanceProcess, artifact: string, running: () => void, fail: (message: string) => void): Promise<void> {
    await mkdir(record.dir, { recursive: true });
    await extract({ file: artifact, cwd: record.dir });
    if (this.stopRequests.has(record.instanceId)) {
      this.markExited(record, null, null);
      return;
    }
    record.state = "starting";
    const child = spawn(process.execPath, ["server.js"], {
      cwd: record.dir,
      // A clean environment: nothing of this tool's (NODE_OPTIONS loaders, credentials) leaks into the app.
      env: {
        PATH: process.env.PATH ?? "",
        PORT: "0",
        LISTEN_ADDRESS: "127.0.0.1",
        RELEASE: record.release,
        HOSTNAME: record.instanceId,
        HEALTHY: this.options.appHealthy(record.release) ? "true" : "false",
        STARTUP_DELAY_MS: String(this.options.appStartupDelayMs),
        SHUTDOWN_TIMEOUT_MS: String(this.options.appShutdownTimeoutMs),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    record.pid = child.pid;
    this.children.set(record.instanceId, child);
    const bootTimer = setTimeout(() => {
      if (record.state !== "starting") return;
      child.kill("SIGKILL");
      fail(`the app did not listen within ${this.options.bootTimeoutMs} ms: ${lastLine(record)}`);
    }, this.options.bootTimeoutMs);
    const onLine = (line: string) => {
      keepLine(record, line);
      const match = LISTENING_LINE.exec(line);
      if (match && record.state === "starting") {
        clearTimeout(bootTimer);
        record.port = Number(match[1]);
        record.state = "listening";
        this.emit({ type: "listening", process: record });
        running();
      }
    };
    readLines(child.stdout!, onLine);
    readLines(child.stderr!, (line) => keepLine(record, line));
    child.on("error", (error) => keepLine(record, `spawn error: ${error.message}`));
    child.on("exit", (code, signal) => {
      clearTimeout(bootTimer);
      const wasStarting = record.state === "starting";
      const expected = this.stopRequests.has(record.instanceId);
      this.markExited(record, code, signal);
      this.emit({ type: "exited", process: record, expected });
      if (wasStarting && !expected) fail(`the app exited (code ${code}, signal ${signal}) before listening: ${lastLine(record)}`);
    });
    // A stop asked for while spawning.
    if (this.stopRequests.has(record.instanceId)) this.signalStop(record, child);
  }

  private signalStop(record: InstanceProcess, child: ChildProcess): void {
    if (record.state === "stopping" || record.state === "exited") return;
    record.state = "stopping";
    this.emit({ type: "stopping", process: record });
    child.kill("SIGTERM");
    const killTimer = setTimeout(() => child.kill("SIGKILL"), this.options.stopTimeoutMs);
    child.once("exit", () => clearTimeout(killTimer));
  }

  private markExited(record: InstanceProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (record.state === "exited") return;
    record.state = "exited";
    record.exitCode = code;
    record.exitSignal = signal;
    record.exitedAtMs = Date.now();
    this.children.delete(record.instanceId);
    const waiting = this.stopRequests.get(record.instanceId) ?? [];
    for (const done of waiting) done();
    if (waiting.length > 0) this.stopRequests.set(record.instanceId, []);
  }

  private emit(event: ProcessEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

function readLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buffered = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      onLine(buffered.slice(0, newline).replace(/\r$/, ""));
      buffered = buffered.slice(newline + 1);
    }
  });
}

function keepLine(record: InstanceProcess, line: string): void {
  record.output.push(line);
  if (record.output.length > OUTPUT_LINES_KEPT) record.output.shift();
}

function lastLine(record: InstanceProcess): string {
  return record.output.at(-1) ?? "(no output)";
}
