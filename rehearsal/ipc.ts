/**
 * The rehearsal's helper processes (the load balancer, the load generator) and how the orchestrator talks
 * to them: each runs in its own Node.js process with its own event loop, so a long synchronous stretch in
 * the orchestrator (module loading, synthesis, the state machine, GC) never stalls the traffic path. The
 * orchestrator sends commands and gets one reply per command; a helper may also send events on its own.
 *
 * A helper never outlives the orchestrator: it exits when its IPC channel closes (the orchestrator ended,
 * however it ended), the orchestrator kills what is left when it exits, and Ctrl-C is the orchestrator's to
 * handle (helpers ignore SIGINT and are stopped in order).
 */
import { type ChildProcess, fork } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { basename, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** Command name -> what it takes and what its reply carries. */
export type CommandMap = Record<string, { input: unknown; output: unknown }>;
/** Event name -> what it carries. */
export type EventMap = Record<string, unknown>;

type CommandMessage = { id: number; command: string; input: unknown };
type ReplyMessage = { id: number; ok: true; output: unknown } | { id: number; ok: false; error: { name: string; message: string; code?: string } };
type EventMessage = { event: string; payload: unknown };
type ChildMessage = ReplyMessage | EventMessage | { ready: true };

/** A command the helper answered with an error (its name, message and Node error code are kept). */
export class HelperCommandError extends Error {
  override name = "HelperCommandError";
  constructor(
    message: string,
    readonly remoteName: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** The helper process ended before it was asked to, or did not start. */
export class HelperProcessError extends Error {
  override name = "HelperProcessError";
}

/** stderr lines kept per helper, for the message when it dies. */
const STDERR_LINES_KEPT = 20;

/**
 * Each helper's TypeScript source bundled into one JavaScript file, once per orchestrator process, with esbuild (as
 * tsx compiles it, without tsx's loader in every helper: 0.35 s of CPU at each start, 19 helpers per `npm test`).
 * The file goes to node_modules/.cache/immutable-deploy/helpers/, named by its content, so it is written once per
 * change of the sources and nothing is left in the temp folder. Packages stay imports, resolved from there. Where
 * it cannot be written (a read-only checkout), the helper runs from its source with tsx's loader, as before.
 */
export const HELPER_DIR = fileURLToPath(new URL("../node_modules/.cache/immutable-deploy/helpers/", import.meta.url));
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
/** What a helper is forked from: its bundle, or (when that could not be written) its source with tsx's loader. */
export interface HelperModule {
  file: string;
  execArgv: string[];
}
const helperModules = new Map<string, Promise<HelperModule>>();

export function helperModule(entry: URL, dir = HELPER_DIR): Promise<HelperModule> {
  const source = fileURLToPath(entry);
  const key = `${dir}\0${source}`;
  let module = helperModules.get(key);
  if (!module) {
    module = bundleHelper(source, dir).then(
      (file) => ({ file, execArgv: [] }),
      () => ({ file: source, execArgv: ["--import", TSX_LOADER] }),
    );
    helperModules.set(key, module);
  }
  return module;
}

async function bundleHelper(source: string, dir: string): Promise<string> {
  const { build } = await import("esbuild");
  const result = await build({ entryPoints: [source], bundle: true, platform: "node", format: "esm", target: "node20", packages: "external", write: false, logLevel: "silent" });
  const code = result.outputFiles[0].text;
  const file = join(dir, `${basename(source, ".ts")}-${createHash("sha256").update(code).digest("hex").slice(0, 16)}.mjs`);
  if (!existsSync(file)) {
    await mkdir(dir, { recursive: true });
    // Another orchestrator may write the same file at once: write aside, then rename (atomic).
    const partial = `${file}.${process.pid}.partial`;
    await writeFile(partial, code);
    await rename(partial, file);
  }
  return file;
}

/** Every helper still running, killed (SIGKILL) if the orchestrator exits without stopping them. */
const running = new Set<ChildProcess>();
let exitHandlerInstalled = false;
function killRunningHelpers(): void {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
}

export interface HelperProcessOptions {
  /** What it is, for messages: "load balancer". */
  name: string;
  /** Called once if the helper ends before `stop()` (crash, killed from outside). */
  onUnexpectedExit?: (error: HelperProcessError) => void;
  /** Bound on start-up (default 60 s: under heavy CPU load a Node start alone can take seconds). */
  startTimeoutMs?: number;
}

/** The orchestrator's side of one helper process. */
export class HelperProcess<C extends CommandMap, E extends EventMap = EventMap> {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (output: any) => void; reject: (error: Error) => void }>();
  private readonly listeners = new Map<keyof E, Set<(payload: any) => void>>();
  private readonly stderr: string[] = [];
  private readyListener?: () => void;
  private stopping = false;
  private exitError?: HelperProcessError;
  /** Resolves once the process has exited. */
  readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    private readonly options: HelperProcessOptions,
  ) {
    let stderrBuffer = "";
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (chunk: string) => {
      stderrBuffer += chunk;
      const lines = stderrBuffer.split("\n");
      stderrBuffer = lines.pop() ?? "";
      this.stderr.push(...lines.filter((line) => line.trim() !== ""));
      this.stderr.splice(0, Math.max(0, this.stderr.length - STDERR_LINES_KEPT));
    });
    child.on("message", (message: ChildMessage) => this.received(message));
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        running.delete(child);
        const how = signal ? `signal ${signal}` : `code ${code}`;
        this.exitError = new HelperProcessError(`the ${options.name} process (pid ${child.pid}) exited (${how})${this.stderrTail()}`);
        for (const { reject } of this.pending.values()) reject(this.exitError);
        this.pending.clear();
        if (!this.stopping) options.onUnexpectedExit?.(this.exitError);
        resolve();
      });
    });
  }

  /**
   * Forks `entry` (a module that calls `serveOrchestrator`) and resolves once it is ready for commands.
   * Rejects, with the helper's stderr, when it exits or does not get ready in time.
   */
  static async start<C extends CommandMap, E extends EventMap = EventMap>(entry: URL, options: HelperProcessOptions): Promise<HelperProcess<C, E>> {
    const { file, execArgv } = await helperModule(entry);
    const child = fork(file, [], {
      execArgv,
      // Helpers print nothing on stdout (it may carry the --json summary); stderr is kept for errors.
      stdio: ["ignore", "ignore", "pipe", "ipc"],
      serialization: "advanced",
    });
    running.add(child);
    if (!exitHandlerInstalled) {
      exitHandlerInstalled = true;
      process.on("exit", killRunningHelpers);
    }
    const helper = new HelperProcess<C, E>(child, options);
    const timeoutMs = options.startTimeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        helper.readyListener = resolve;
        child.once("error", reject);
        void helper.exited.then(() => reject(helper.exitError));
        timer = setTimeout(() => reject(new HelperProcessError(`the ${options.name} process did not start within ${timeoutMs} ms${helper.stderrTail()}`)), timeoutMs);
      });
    } catch (error) {
      await helper.stop();
      throw error;
    } finally {
      clearTimeout(timer);
    }
    return helper;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** True until the process has exited. */
  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends a command and resolves with the helper's reply. */
  request<K extends keyof C & string>(command: K, input: C[K]["input"]): Promise<C[K]["output"]> {
    if (this.exitError) return Promise.reject(this.exitError);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const message: CommandMessage = { id, command, input };
      this.child.send(message, (error) => {
        if (!error) return;
        this.pending.delete(id);
        reject(this.exitError ?? new HelperProcessError(`could not reach the ${this.options.name} process: ${error.message}`));
      });
    });
  }

  on<K extends keyof E>(event: K, listener: (payload: E[K]) => void): void {
    const set = this.listeners.get(event) ?? new Set();
    set.add(listener);
    this.listeners.set(event, set);
  }

  /**
   * Ends the helper: closes its IPC channel (it exits on that), then SIGKILL after `timeoutMs`; resolves
   * once it has exited. Safe to call more than once, and after it died.
   */
  async stop(timeoutMs = 3_000): Promise<void> {
    this.stopping = true;
    if (!this.alive) return this.exited;
    if (this.child.connected) this.child.disconnect();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** Last resort, synchronous: SIGKILL. */
  killNow(): void {
    this.stopping = true;
    if (this.alive) this.child.kill("SIGKILL");
  }

  private received(message: ChildMessage): void {
    if ("ready" in message) {
      this.readyListener?.();
      return;
    }
    if ("event" in message) {
      for (const listener of this.listeners.get(message.event) ?? []) listener(message.payload);
      return;
    }
    const waiting = this.pending.get(message.id);
    if (!waiting) return;
    this.pending.delete(message.id);
    if (message.ok) waiting.resolve(message.output);
    else waiting.reject(new HelperCommandError(message.error.message, message.error.name, message.error.code));
  }

  private stderrTail(): string {
    return this.stderr.length > 0 ? `: ${this.stderr.slice(-5).join(" | ")}` : "";
  }
}

export type CommandHandlers<C extends CommandMap> = { [K in keyof C]: (input: C[K]["input"]) => Promise<C[K]["output"]> | C[K]["output"] };

/**
 * The helper's side, called once by its entry module: answers the orchestrator's commands with `handlers`,
 * returns `emit` for events. The process exits when the orchestrator goes away (after `onDisconnect`, if
 * given), and ignores Ctrl-C's SIGINT, which the orchestrator handles for the whole rehearsal.
 */
export function serveOrchestrator<C extends CommandMap, E extends EventMap = EventMap>(
  handlers: CommandHandlers<C>,
  options: { onDisconnect?: () => void } = {},
): { emit<K extends keyof E & string>(event: K, payload: E[K]): void } {
  if (!process.send) throw new Error("serveOrchestrator: this process was not started by the rehearsal (no IPC channel)");
  const send = (message: ChildMessage) => {
    if (process.connected) process.send!(message);
  };
  process.on("SIGINT", () => undefined);
  process.on("disconnect", () => {
    try {
      options.onDisconnect?.();
    } finally {
      process.exit(0);
    }
  });
  process.on("message", (message: CommandMessage) => {
    const handler = handlers[message.command as keyof C];
    if (!handler) {
      send({ id: message.id, ok: false, error: { name: "UnknownCommand", message: `unknown command ${JSON.stringify(message.command)}` } });
      return;
    }
    Promise.resolve()
      .then(() => handler(message.input as never))
      .then(
        (output) => send({ id: message.id, ok: true, output }),
        (error: NodeJS.ErrnoException) =>
          send({ id: message.id, ok: false, error: { name: error?.name ?? "Error", message: error?.message ?? String(error), code: error?.code } }),
      );
  });
  send({ ready: true });
  return { emit: (event, payload) => send({ event, payload }) };
}
