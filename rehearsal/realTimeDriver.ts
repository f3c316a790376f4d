import type { Scheduler } from "../simulator/region/clock.js";

export interface RealTimeDriverOptions {
  /** How often the virtual clock catches up with the wall clock (default 25 ms). */
  tickMs?: number;
  /** The wall clock (tests replace it). */
  now?: () => number;
  /** Called once with the first error a region event throws (the driver has stopped by then). */
  onError?: (error: unknown) => void;
}

/**
 * Makes a region's virtual clock follow the wall clock: every tick it runs the scheduler up to
 * `virtual start + wall time elapsed`, so Wait-state wake-ups, retry back-offs, health checks, draining and
 * bakes happen in real time while real processes and real HTTP traffic run beside them.
 */
export class RealTimeDriver {
  private timer?: NodeJS.Timeout;
  /** Releases the scheduler: while this driver runs, nothing else moves its time. */
  private releaseDriver?: () => void;
  private wallStartMs = 0;
  private virtualStartMs = 0;
  private readonly tickMs: number;
  private readonly now: () => number;
  private readonly onError?: (error: unknown) => void;
  /** The first error an event threw; the driver stops on it (a model bug must not go unnoticed). */
  error?: unknown;

  constructor(
    private readonly scheduler: Scheduler,
    options: RealTimeDriverOptions = {},
  ) {
    this.tickMs = options.tickMs ?? 25;
    this.now = options.now ?? Date.now;
    this.onError = options.onError;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  start(): void {
    if (this.timer) return;
    this.wallStartMs = this.now();
    this.virtualStartMs = this.scheduler.now();
    this.releaseDriver = this.scheduler.claimDriver();
    this.timer = setInterval(() => this.tick(), this.tickMs);
  }

  /** Runs every event due by now (also called by each tick). */
  tick(): void {
    try {
      this.scheduler.runUntil(this.virtualStartMs + (this.now() - this.wallStartMs));
    } catch (error) {
      this.stop();
      if (this.error === undefined) {
        this.error = error;
        this.onError?.(error);
      }
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.releaseDriver?.();
    this.releaseDriver = undefined;
  }
}
