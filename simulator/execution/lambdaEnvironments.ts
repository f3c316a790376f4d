import type { StageFunctionId } from "../../stacks/pipeline/tables.js";

/**
 * Lambda's execution environments, per function, as far as latency goes (docs/simulator-region.md, "Lambda and Step
 * Functions latency"): an invocation takes a free environment of its function, the most recently used; with none free
 * (none yet, all idle past `idleSeconds`, or all busy with other invocations) Lambda creates one, and that invocation
 * is a cold start. An invocation that crashed or timed out leaves no environment behind (Lambda resets it). The
 * simulator still runs each invocation in a fresh sandbox: only the time an environment costs is modelled, not
 * module state carried between invocations.
 */
export class LambdaEnvironments {
  private readonly pools = new Map<StageFunctionId, Environment[]>();
  private created = 0;

  /** `idleSeconds`: read at every acquire, so a timing change applies at once. */
  constructor(private readonly idleSeconds: () => number) {}

  /** An environment for one invocation at `nowMs`: a warm one if the function has one free, else a new one (cold). */
  acquire(fn: StageFunctionId, nowMs: number): { environment: Environment; cold: boolean } {
    const idleMs = this.idleSeconds() * 1000;
    const pool = (this.pools.get(fn) ?? []).filter((environment) => environment.busy || nowMs - environment.lastUsedMs < idleMs);
    this.pools.set(fn, pool);
    const warm = pool.filter((environment) => !environment.busy).sort((a, b) => b.lastUsedMs - a.lastUsedMs)[0];
    if (warm) {
      warm.busy = true;
      return { environment: warm, cold: false };
    }
    this.created += 1;
    const environment: Environment = { id: this.created, busy: true, lastUsedMs: nowMs };
    pool.push(environment);
    return { environment, cold: true };
  }

  /** The invocation ended at `nowMs`: its environment is frozen for the next one, or gone when `reset` (a crash or a timeout). */
  release(fn: StageFunctionId, environment: Environment, nowMs: number, reset = false): void {
    environment.busy = false;
    environment.lastUsedMs = nowMs;
    if (reset) this.pools.set(fn, (this.pools.get(fn) ?? []).filter((other) => other !== environment));
  }

  /** Environments created so far (every one was a cold start). */
  get coldStarts(): number {
    return this.created;
  }
}

export interface Environment {
  readonly id: number;
  busy: boolean;
  lastUsedMs: number;
}
