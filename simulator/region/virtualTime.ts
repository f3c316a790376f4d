/**
 * Region time for the code the simulation runs as if in Lambda: while an SDK call to the simulated region (or a
 * simulated Lambda invocation) is in flight, `setTimeout`/`clearTimeout` (global and `node:timers`, which middy
 * imports), `Date.now` and `Math.random` are the region's: timers are scheduler wake-ups, the clock is virtual,
 * random numbers come from the region's seeded source. So the SDK's own retry strategy sleeps its real
 * back-offs (with its real jitter, seeded) on virtual time, middy's early timeout fires at the virtual
 * deadline, and nothing takes real time or varies between runs.
 *
 * Scoped by AsyncLocalStorage: code outside an SDK call or invocation (vitest, the rehearsal's processes and
 * proxies, the region's own processes) keeps the real functions. Installed by `attachRegion` for as long as a
 * client is attached, and removed with the last detach.
 *
 * Limits: only `setTimeout`/`clearTimeout` are virtual (not `setInterval`, `setImmediate`, `timers/promises`);
 * `new Date()` without arguments stays real (only `Date.now` is virtual), which the SDK does not use for time.
 */
import { AsyncLocalStorage, AsyncResource } from "node:async_hooks";
import { syncBuiltinESMExports } from "node:module";
import timers from "node:timers";
import type { ScheduledEvent, Scheduler } from "./clock.js";

/** The time a piece of simulated code runs on. */
export interface RegionTime {
  readonly scheduler: Scheduler;
  /** The region's seeded random source (the SDK's retry jitter). */
  readonly random: () => number;
  /** Inside a simulated Lambda invocation: its execution environment. */
  readonly sandbox?: Sandbox;
  /** Set while attached clients load their lazy modules: the transport answers without touching the region. */
  readonly warmUp?: boolean;
}

const store = new AsyncLocalStorage<RegionTime>();

export function currentRegionTime(): RegionTime | undefined {
  return store.getStore();
}

/** Runs `fn` (and everything it starts) on region time. */
export function onRegionTime<T>(time: RegionTime, fn: () => T): T {
  return store.run(time, fn);
}

/** Runs `fn` outside region time: the region's own work (AWS's side) uses real timers and clocks. */
export function outsideRegionTime<T>(fn: () => T): T {
  return store.exit(fn);
}

/**
 * A simulated Lambda execution environment. When the invocation ends (returned, failed, timed out) Lambda
 * freezes it: its pending timers never fire and its later requests never get an answer, so a timed-out
 * handler cannot go on acting beside the retry that replaces it. (AWS thaws a frozen environment for the next
 * invocation of the same function; the simulator never does.)
 */
export class Sandbox {
  private readonly timers = new Set<ScheduledEvent>();
  private isFrozen = false;

  get frozen(): boolean {
    return this.isFrozen;
  }

  track(timer: ScheduledEvent): void {
    this.timers.add(timer);
  }

  untrack(timer: ScheduledEvent): void {
    this.timers.delete(timer);
  }

  freeze(): void {
    this.isFrozen = true;
    for (const timer of this.timers) timer.cancel();
    this.timers.clear();
  }
}

/** What `setTimeout` returns on region time; accepted by `clearTimeout`, shaped like Node's Timeout. */
class RegionTimeout {
  constructor(private readonly event: ScheduledEvent | undefined) {}
  cancel(): void {
    this.event?.cancel();
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
  hasRef(): boolean {
    return true;
  }
  refresh(): this {
    return this;
  }
  close(): this {
    this.cancel();
    return this;
  }
  [Symbol.toPrimitive](): number {
    return 0;
  }
}

/** Schedulers with an idle advance pending (see `advanceWhenIdle`). */
const idleAdvancePending = new WeakSet<Scheduler>();
const realSetImmediate = setImmediate;

/**
 * When nobody drives the scheduler (a test calling a stage function or an SDK client directly), time jumps
 * to the next wake-up as soon as the event loop is idle, so a back-off or the transport's latency simply
 * passes. Under `drive` or a wall-clock driver, they move time instead.
 */
function advanceWhenIdle(scheduler: Scheduler): void {
  if (scheduler.isDriven || idleAdvancePending.has(scheduler)) return;
  idleAdvancePending.add(scheduler);
  outsideRegionTime(() =>
    realSetImmediate(() => {
      idleAdvancePending.delete(scheduler);
      if (scheduler.isDriven || scheduler.parkedWakeUps === 0) return;
      scheduler.advanceToNextWakeUp();
      if (scheduler.parkedWakeUps > 0) advanceWhenIdle(scheduler);
    }),
  );
}

/** A timer on region time: a scheduler wake-up owned by the sandbox it was set in, run in its creator's context. */
export function regionTimeout(time: RegionTime, callback: () => void, delayMs: number): RegionTimeout {
  const { scheduler, sandbox } = time;
  if (sandbox?.frozen) return new RegionTimeout(undefined);
  // runInAsyncScope, not AsyncResource.bind: on Node 20 bind also builds a deprecation wrapper on every call.
  const resource = new AsyncResource("RegionTimeout");
  const event: ScheduledEvent = scheduler.wakeUp(scheduler.now() + Math.max(0, Math.round(delayMs)), () => {
    sandbox?.untrack(event);
    try {
      resource.runInAsyncScope(callback);
    } catch (error) {
      // As with a real timer: an exception in the callback is uncaught, not the scheduler's.
      queueMicrotask(() => {
        throw error;
      });
    }
  }, "timer");
  sandbox?.track(event);
  advanceWhenIdle(scheduler);
  return new RegionTimeout(event);
}

/** Waits `ms` of region time (the transport's latency, a slow answer). */
export function sleepOnRegionTime(time: RegionTime, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    regionTimeout(time, resolve, ms);
  });
}

// ---- the patches ------------------------------------------------------------------------------------------

interface Originals {
  setTimeout: typeof globalThis.setTimeout;
  clearTimeout: typeof globalThis.clearTimeout;
  timersSetTimeout: typeof timers.setTimeout;
  timersClearTimeout: typeof timers.clearTimeout;
  dateNow: typeof Date.now;
  random: typeof Math.random;
}

let installations = 0;
let originals: Originals | undefined;

function install(): void {
  const saved: Originals = {
    setTimeout: globalThis.setTimeout,
    clearTimeout: globalThis.clearTimeout,
    timersSetTimeout: timers.setTimeout,
    timersClearTimeout: timers.clearTimeout,
    dateNow: Date.now,
    random: Math.random,
  };
  originals = saved;
  const setTimeoutOnRegionTime = function (this: unknown, callback: (...args: unknown[]) => void, delay?: number, ...args: unknown[]) {
    const time = store.getStore();
    if (!time || typeof callback !== "function") return (saved.setTimeout as (...all: unknown[]) => unknown).call(this, callback, delay, ...args);
    return regionTimeout(time, () => callback(...args), Number(delay) || 0);
  } as unknown as typeof globalThis.setTimeout;
  const clearTimeoutOnRegionTime = function (this: unknown, handle: unknown) {
    if (handle instanceof RegionTimeout) return handle.cancel();
    return saved.clearTimeout.call(this, handle as never);
  } as typeof globalThis.clearTimeout;
  globalThis.setTimeout = setTimeoutOnRegionTime;
  globalThis.clearTimeout = clearTimeoutOnRegionTime;
  timers.setTimeout = setTimeoutOnRegionTime as typeof timers.setTimeout;
  timers.clearTimeout = clearTimeoutOnRegionTime as typeof timers.clearTimeout;
  Date.now = () => store.getStore()?.scheduler.now() ?? saved.dateNow.call(Date);
  Math.random = () => {
    const time = store.getStore();
    return time ? time.random() : saved.random.call(Math);
  };
  // `import { setTimeout } from "node:timers"` (middy) reads the live binding: update it.
  syncBuiltinESMExports();
}

function uninstall(): void {
  if (!originals) return;
  globalThis.setTimeout = originals.setTimeout;
  globalThis.clearTimeout = originals.clearTimeout;
  timers.setTimeout = originals.timersSetTimeout;
  timers.clearTimeout = originals.timersClearTimeout;
  Date.now = originals.dateNow;
  Math.random = originals.random;
  originals = undefined;
  syncBuiltinESMExports();
}

/** Installs region time (idempotent, counted); the returned function undoes one installation. */
export function installRegionTime(): () => void {
  installations += 1;
  if (installations === 1) install();
  let undone = false;
  return () => {
    if (undone) return;
    undone = true;
    installations -= 1;
    if (installations === 0) uninstall();
  };
}

/** A deterministic random source (mulberry32) for a seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
