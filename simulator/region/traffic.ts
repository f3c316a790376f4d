import type { EnvironmentSettings } from "../../functions/lib/contract.js";
import type { SimulatedRegion } from "./region.js";
import type { HealthCheckedPool } from "./services/health.js";

export interface TrafficOptions {
  requestsPerSecond: number;
  /** Each request takes this long (an app's own answer time, `appSlowSeconds`, wins). Default 0: instantaneous. */
  requestSeconds?: number;
  /** Requests one instance can take per second; beyond that they fail. Default: no limit. */
  requestsPerInstancePerSecond?: number;
}

export interface TrafficCounters {
  /** Every request that arrived. */
  total: number;
  /** Requests that failed (the environment had served before). */
  failed: number;
  /** Requests that arrived before any release had ever served one: no site yet, not failures. */
  beforeFirstRelease: number;
  /** Successful requests by the release label of the serving instance's image (its image id when untagged). */
  servedBy: Record<string, number>;
  /** Failed requests by the release of the instance they went to, or NO_HEALTHY_TARGET. */
  failedBy: Record<string, number>;
}

export type TrafficFailureReason = "no healthy target" | "target not serving" | "over capacity" | "cut off";

export interface TrafficFailure {
  fromMs: number;
  toMs: number;
  count: number;
  reason: TrafficFailureReason;
  /** The release of the instance the requests went to (none for "no healthy target"). */
  release?: string;
}

/** The `failedBy` key of requests that found no healthy target. */
export const NO_HEALTHY_TARGET = "(no healthy target)";

/** Keeps the failure log small; counters stay exact. */
const MAX_FAILURE_RECORDS = 200;

/** Requests routed to one instance during one interval, evenly spread over their arrival window, still running. */
interface InFlight {
  label: string;
  count: number;
  arrivedFromMs: number;
  arrivedToMs: number;
  durationMs: number;
  /** Requests of the batch already finished (served). */
  settled: number;
}

/**
 * Steady request load on the environment's load balancer, `requestsPerSecond` arriving evenly. The load
 * balancer routes round-robin among the instances it considers healthy (ALB target `healthy`; classic ELB
 * `InService` and not draining): a draining instance gets no new requests. A request arriving at an instance
 * that does not serve (stopped, app down) fails at once; beyond `requestsPerInstancePerSecond` it fails for
 * capacity. With a request duration (`requestSeconds`, or the release's `appSlowSeconds`), each instance keeps
 * its requests in flight: they finish while the instance keeps serving and stays registered (draining included),
 * and fail ("cut off") when it stops or leaves the load balancer first, as an ALB answers 502 when a target
 * closes a connection mid-request. Requests count as served when they finish.
 *
 * Until a first request has been served, nothing counts as failed: there was no site yet
 * (`beforeFirstRelease`). State only changes at scheduler events, so the model counts whole intervals between
 * clock moves (O(healthy instances + requests in flight batches) per move) instead of simulating each request.
 */
export class TrafficModel {
  private readonly totals: TrafficCounters = { total: 0, failed: 0, beforeFirstRelease: 0, servedBy: {}, failedBy: {} };
  readonly failures: TrafficFailure[] = [];
  readonly options: Required<Omit<TrafficOptions, "requestsPerInstancePerSecond">> & Pick<TrafficOptions, "requestsPerInstancePerSecond">;
  private startMs = 0;
  private emitted = 0;
  private cursor = 0;
  private unsubscribe?: () => void;
  private cachedRevision = -1;
  private cachedPool: string[] = [];
  private everServed = false;
  private readonly inFlight = new Map<string, InFlight[]>();
  /** Per instance: capacity it did not use, carried to the next interval (at most one second's worth). */
  private readonly credit = new Map<string, number>();
  /** Per release label: its runs of failed requests (from the first interval with failures to the last). */
  private readonly failureRuns = new Map<string, { startMs: number; endMs: number }[]>();
  /** Per release label: when it last finished a request. */
  private readonly lastServed = new Map<string, number>();
  /** Per release label: the end of the last interval in which not all traffic was served by it alone. */
  private readonly impureUntil = new Map<string, number>();

  constructor(
    private readonly region: SimulatedRegion,
    private readonly target: EnvironmentSettings["loadBalancer"],
    options: TrafficOptions | number,
  ) {
    const given = typeof options === "number" ? { requestsPerSecond: options } : options;
    this.options = { requestSeconds: 0, ...given };
    for (const [name, value] of Object.entries(this.options))
      if (value !== undefined && !(value >= 0)) throw new RangeError(`traffic.${name} must be >= 0, got ${value}`);
  }

  get requestsPerSecond(): number {
    return this.options.requestsPerSecond;
  }

  /** How long each request takes (`traffic.requestSeconds`). */
  get requestDurationSeconds(): number {
    return this.options.requestSeconds;
  }

  start(): void {
    if (this.unsubscribe) return;
    this.startMs = this.region.now();
    this.emitted = 0;
    this.unsubscribe = this.region.scheduler.onAdvance((fromMs, toMs) => this.accumulate(fromMs, toMs));
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** A copy of the counters so far. */
  counters(): TrafficCounters {
    return {
      ...this.totals,
      servedBy: { ...this.totals.servedBy },
      failedBy: { ...this.totals.failedBy },
    };
  }

  /** `after - before`: the traffic of one scenario step. */
  static difference(after: TrafficCounters, before: TrafficCounters): TrafficCounters {
    return {
      total: after.total - before.total,
      failed: after.failed - before.failed,
      beforeFirstRelease: after.beforeFirstRelease - before.beforeFirstRelease,
      servedBy: countDifference(after.servedBy, before.servedBy),
      failedBy: countDifference(after.failedBy, before.failedBy),
    };
  }

  /** When the first request routed to `release` (or NO_HEALTHY_TARGET) failed at or after `sinceMs`. */
  firstFailureSince(release: string, sinceMs: number): number | undefined {
    const run = this.failureRuns.get(release)?.find((r) => r.endMs > sinceMs);
    return run && Math.max(run.startMs, sinceMs);
  }

  /**
   * From when on every request went to `release` and none failed (undefined: not so now). Time is the end
   * of the last interval that was not served by it alone.
   */
  servedOnlyBySince(release: string): number | undefined {
    const impure = this.impureUntil.get(release);
    return impure === undefined || impure >= this.region.now() ? undefined : impure;
  }

  /** When `release` last finished a request (undefined: never). */
  lastServedAtMs(release: string): number | undefined {
    return this.lastServed.get(release);
  }

  private pool(): HealthCheckedPool | undefined {
    return this.target.kind === "application"
      ? this.region.loadBalancing.targetGroups.get(this.target.targetGroupArn)?.pool
      : this.region.loadBalancing.classicLoadBalancers.get(this.target.loadBalancerName)?.pool;
  }

  private routable(): string[] {
    if (this.cachedRevision !== this.region.revision) {
      this.cachedPool = this.pool()?.routableInstanceIds() ?? [];
      this.cachedRevision = this.region.revision;
    }
    return this.cachedPool;
  }

  private accumulate(fromMs: number, toMs: number): void {
    this.settleInFlight(fromMs, toMs);
    this.completeIdleDeregistrations();
    const due = Math.floor((this.options.requestsPerSecond * (toMs - this.startMs)) / 1000);
    const arrivals = due - this.emitted;
    this.emitted = due;
    if (arrivals <= 0) return;
    this.totals.total += arrivals;
    const pool = this.routable();
    if (pool.length === 0) {
      if (this.everServed) this.fail(fromMs, toMs, arrivals, "no healthy target");
      else this.totals.beforeFirstRelease += arrivals;
      this.markImpure(fromMs, toMs, new Set());
      return;
    }
    const share = Math.floor(arrivals / pool.length);
    const remainder = arrivals % pool.length;
    const labels = new Set<string>();
    let failedAtArrival = false;
    for (let i = 0; i < pool.length; i++) {
      // Round-robin: the `remainder` extra requests go to the next instances after the cursor.
      const position = (i - (this.cursor % pool.length) + pool.length) % pool.length;
      const count = share + (position < remainder ? 1 : 0);
      if (count === 0) continue;
      const instance = this.region.ec2.instances.get(pool[i]);
      const label = instance ? (instance.release ?? instance.imageId) : "?";
      labels.add(label);
      if (!instance || instance.state !== "running" || !instance.appServing) {
        this.fail(fromMs, toMs, count, "target not serving", label);
        failedAtArrival = true;
        continue;
      }
      const accepted = this.takeCapacity(pool[i], count, toMs - fromMs);
      if (accepted < count) {
        this.fail(fromMs, toMs, count - accepted, "over capacity", label);
        failedAtArrival = true;
      }
      if (accepted === 0) continue;
      this.everServed = true;
      const durationMs = Math.round(Math.max(this.options.requestSeconds, instance.answerSeconds) * 1000);
      if (durationMs === 0) {
        this.serve(label, accepted, toMs);
        continue;
      }
      const batch: InFlight = { label, count: accepted, arrivedFromMs: fromMs, arrivedToMs: toMs, durationMs, settled: 0 };
      this.settle(batch, toMs);
      if (batch.settled < batch.count) {
        const batches = this.inFlight.get(pool[i]) ?? [];
        batches.push(batch);
        this.inFlight.set(pool[i], batches);
      }
    }
    this.cursor = (this.cursor + arrivals) % pool.length;
    this.markImpure(fromMs, toMs, labels, failedAtArrival || labels.size !== 1 ? undefined : [...labels][0]);
  }

  /** Every release but `pureLabel` did not serve all of this interval's traffic alone (a new one counts from here). */
  private markImpure(fromMs: number, toMs: number, labels: Set<string>, pureLabel?: string): void {
    for (const label of labels) if (!this.impureUntil.has(label)) this.impureUntil.set(label, fromMs);
    for (const label of this.impureUntil.keys()) if (label !== pureLabel) this.impureUntil.set(label, toMs);
  }

  /**
   * A deregistering target with no request in flight leaves the load balancer at once, ALB and classic ELB alike
   * ("If a deregistering target has no in-flight requests and no active connections, Elastic Load Balancing
   * immediately completes the deregistration process"; ELB User Guide, "Deregistration delay" and "Configure
   * connection draining for your Classic Load Balancer"). Only this model sees the requests, so it tells the pool.
   */
  private completeIdleDeregistrations(): void {
    const pool = this.pool();
    if (!pool) return;
    for (const [instanceId, registration] of pool.registrations) {
      if (registration.state === "draining" && !this.inFlight.has(instanceId)) pool.finishDraining(instanceId);
    }
  }

  /** Requests in flight finish, or are cut off when their instance stopped serving or left the load balancer. */
  private settleInFlight(fromMs: number, toMs: number): void {
    if (this.inFlight.size === 0) return;
    const pool = this.pool();
    for (const [instanceId, batches] of this.inFlight) {
      const instance = this.region.ec2.instances.get(instanceId);
      const holds = instance?.state === "running" && instance.appServing && pool?.registrations.has(instanceId) === true;
      const remaining: InFlight[] = [];
      for (const batch of batches) {
        if (!holds) {
          this.fail(fromMs, toMs, batch.count - batch.settled, "cut off", batch.label);
          continue;
        }
        this.settle(batch, toMs);
        if (batch.settled < batch.count) remaining.push(batch);
      }
      if (remaining.length) this.inFlight.set(instanceId, remaining);
      else this.inFlight.delete(instanceId);
    }
  }

  /** Serves the batch's requests that finish by `atMs` (arrivals spread evenly over the batch's window). */
  private settle(batch: InFlight, atMs: number): void {
    const window = batch.arrivedToMs - batch.arrivedFromMs;
    const latestArrival = atMs - batch.durationMs;
    const fraction = window <= 0 ? (latestArrival >= batch.arrivedFromMs ? 1 : 0) : Math.min(1, Math.max(0, (latestArrival - batch.arrivedFromMs) / window));
    const done = Math.floor(batch.count * fraction);
    if (done > batch.settled) {
      this.serve(batch.label, done - batch.settled, atMs);
      batch.settled = done;
    }
  }

  /**
   * How many of `count` requests (arriving evenly over `intervalMs`) the instance takes: its rate times the
   * interval, plus up to one second of unused capacity carried over.
   */
  private takeCapacity(instanceId: string, count: number, intervalMs: number): number {
    const perSecond = this.options.requestsPerInstancePerSecond;
    if (perSecond === undefined) return count;
    const allowance = (this.credit.get(instanceId) ?? 0) + (perSecond * intervalMs) / 1000;
    const accepted = Math.min(count, Math.floor(allowance + 1e-9));
    this.credit.set(instanceId, Math.min(perSecond, allowance - accepted));
    return accepted;
  }

  private serve(label: string, count: number, atMs: number): void {
    this.totals.servedBy[label] = (this.totals.servedBy[label] ?? 0) + count;
    this.lastServed.set(label, atMs);
  }

  private fail(fromMs: number, toMs: number, count: number, reason: TrafficFailureReason, release?: string): void {
    if (count <= 0) return;
    this.totals.failed += count;
    const key = release ?? NO_HEALTHY_TARGET;
    this.totals.failedBy[key] = (this.totals.failedBy[key] ?? 0) + count;
    const runs = this.failureRuns.get(key) ?? [];
    const run = runs.at(-1);
    if (run && run.endMs >= fromMs) run.endMs = Math.max(run.endMs, toMs);
    else runs.push({ startMs: fromMs, endMs: toMs });
    this.failureRuns.set(key, runs);
    const last = this.failures[this.failures.length - 1];
    if (last && last.toMs === fromMs && last.reason === reason && last.release === release) {
      last.toMs = toMs;
      last.count += count;
    } else if (this.failures.length < MAX_FAILURE_RECORDS) {
      this.failures.push({ fromMs, toMs, count, reason, ...(release ? { release } : {}) });
    }
  }
}

/** `after - before` per key, keeping the keys that grew (per-step counts out of running totals). */
/** Counts added up by key. */
export function sumCounts(counts: Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const count of counts) for (const [key, n] of Object.entries(count)) out[key] = (out[key] ?? 0) + n;
  return out;
}

export function countDifference(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, count] of Object.entries(after)) {
    const delta = count - (before[key] ?? 0);
    if (delta > 0) out[key] = delta;
  }
  return out;
}
