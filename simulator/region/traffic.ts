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
  /**
   * Of the NO_HEALTHY_TARGET requests, those that found no healthy target while every instance the load balancer
   * had taken out of service for failed health checks ran one release: by that release. That release's failure is
   * why the load balancer had nothing to route to (a classic ELB answers 503 then; it does not fail open as an ALB
   * does), e.g. while the old instances, attached again, pass their checks.
   */
  noHealthyTargetAfter: Record<string, number>;
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
  private readonly totals: TrafficCounters = { total: 0, failed: 0, beforeFirstRelease: 0, servedBy: {}, failedBy: {}, noHealthyTargetAfter: {} };
  readonly failures: TrafficFailure[] = [];
  readonly options: Required<Omit<TrafficOptions, "requestsPerInstancePerSecond">> & Pick<TrafficOptions, "requestsPerInstancePerSecond">;
  private startMs = 0;
  private emitted = 0;
  /** Per route (target group or classic load balancer): the round-robin position and the share of a request owed. */
  private readonly cursors = new Map<string, number>();
  private readonly owed = new Map<string, number>();
  private unsubscribe?: () => void;
  private cachedRevision = -1;
  private readonly cachedPools = new Map<string, string[]>();
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
      noHealthyTargetAfter: { ...this.totals.noHealthyTargetAfter },
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
      noHealthyTargetAfter: countDifference(after.noHealthyTargetAfter, before.noHealthyTargetAfter),
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

  private routable(id: string, pool: HealthCheckedPool): string[] {
    if (this.cachedRevision !== this.region.revision) {
      this.cachedPools.clear();
      this.cachedRevision = this.region.revision;
    }
    let cached = this.cachedPools.get(id);
    if (!cached) {
      cached = pool.routableInstanceIds();
      this.cachedPools.set(id, cached);
    }
    return cached;
  }

  /**
   * Splits `arrivals` over the routes by weight, exactly over time: each route keeps the fraction of a request it
   * was owed, so 10 % of 10 requests/s is one request every second, not none.
   */
  private split(arrivals: number, routes: { id: string; weight: number }[]): number[] {
    const total = routes.reduce((sum, route) => sum + route.weight, 0);
    const counts = routes.map((route) => {
      const owed = (this.owed.get(route.id) ?? 0) + (arrivals * route.weight) / total;
      const count = Math.floor(owed + 1e-9);
      this.owed.set(route.id, owed - count);
      return count;
    });
    const short = arrivals - counts.reduce((a, b) => a + b, 0);
    if (short !== 0) {
      // Rounding: the route owed the most takes the difference.
      const index = routes.reduce((best, route, i) => ((this.owed.get(route.id) ?? 0) > (this.owed.get(routes[best].id) ?? 0) ? i : best), 0);
      counts[index] += short;
      this.owed.set(routes[index].id, (this.owed.get(routes[index].id) ?? 0) - short);
    }
    return counts;
  }

  private accumulate(fromMs: number, toMs: number): void {
    this.settleInFlight(fromMs, toMs);
    this.completeIdleDeregistrations();
    const routes = this.region.loadBalancing.routedPools(this.target);
    this.recordUnhealthyHosts(fromMs, toMs);
    const due = Math.floor((this.options.requestsPerSecond * (toMs - this.startMs)) / 1000);
    const arrivals = due - this.emitted;
    this.emitted = due;
    if (arrivals <= 0) return;
    this.totals.total += arrivals;
    if (routes.length === 0) {
      this.noTarget(fromMs, toMs, arrivals, []);
      return;
    }
    const labels = new Set<string>();
    let failedAtArrival = false;
    const counts = this.split(arrivals, routes);
    for (const [index, route] of routes.entries()) {
      if (counts[index] <= 0) continue;
      const result = this.routeToPool(route.id, route.pool, counts[index], fromMs, toMs, labels);
      failedAtArrival ||= result.failedAtArrival;
    }
    this.markImpure(fromMs, toMs, labels, failedAtArrival || labels.size !== 1 ? undefined : [...labels][0]);
  }

  /** The release an instance runs (its image id when untagged), as requests are counted by. */
  private labelOf(instanceId: string): string {
    const instance = this.region.ec2.instances.get(instanceId);
    return instance ? (instance.release ?? instance.imageId) : "?";
  }

  private noTarget(fromMs: number, toMs: number, count: number, pools: HealthCheckedPool[]): void {
    if (!this.everServed) {
      this.totals.beforeFirstRelease += count;
      return;
    }
    this.fail(fromMs, toMs, count, "no healthy target");
    const failedChecks = new Set(
      pools.flatMap((pool) =>
        [...pool.registrations.values()]
          .filter((registration) => registration.state === "unhealthy")
          .map((registration) => this.labelOf(registration.instanceId)),
      ),
    );
    if (failedChecks.size !== 1) return;
    const [release] = failedChecks;
    this.totals.noHealthyTargetAfter[release] = (this.totals.noHealthyTargetAfter[release] ?? 0) + count;
  }

  /** UnHealthyHostCount of every pool (Maximum per minute), for the cutover's alarms. */
  private recordUnhealthyHosts(fromMs: number, toMs: number): void {
    const lb = this.region.loadBalancing;
    for (const pool of lb.environmentPools(this.target)) {
      const unhealthy = [...pool.registrations.values()].filter((registration) => registration.state === "unhealthy").length;
      if (unhealthy === 0 && pool.registrations.size === 0) continue;
      const metrics = lb.metricsOf(pool.id);
      this.region.cloudWatch.recordMax(metrics.namespace, metrics.unhealthy, metrics.dimensions, fromMs, toMs, unhealthy);
    }
  }

  /** Round-robin among one pool's routable instances; returns whether any request failed on arrival. */
  private routeToPool(id: string, pool: HealthCheckedPool, arrivals: number, fromMs: number, toMs: number, labels: Set<string>): { failedAtArrival: boolean } {
    let instances = this.routable(id, pool);
    // "If a target group contains only unhealthy registered targets, the load balancer routes requests to all those
    // targets, regardless of their health status" (ALB User Guide, "Health checks for your target groups").
    if (instances.length === 0 && this.region.loadBalancing.targetGroups.has(id))
      instances = [...pool.registrations.values()].filter((registration) => registration.state === "unhealthy").map((registration) => registration.instanceId);
    if (instances.length === 0) {
      this.noTarget(fromMs, toMs, arrivals, [pool]);
      return { failedAtArrival: true };
    }
    const share = Math.floor(arrivals / instances.length);
    const remainder = arrivals % instances.length;
    const cursor = this.cursors.get(id) ?? 0;
    let failedAtArrival = false;
    let targetErrors = 0;
    for (let i = 0; i < instances.length; i++) {
      // Round-robin: the `remainder` extra requests go to the next instances after the cursor.
      const position = (i - (cursor % instances.length) + instances.length) % instances.length;
      const count = share + (position < remainder ? 1 : 0);
      if (count === 0) continue;
      const instance = this.region.ec2.instances.get(instances[i]);
      const label = this.labelOf(instances[i]);
      labels.add(label);
      if (!instance || instance.state !== "running" || !instance.appServing) {
        this.fail(fromMs, toMs, count, "target not serving", label);
        // nginx on a running instance answers 502 for an app that is down: a target 5XX answer.
        if (instance?.state === "running") targetErrors += count;
        failedAtArrival = true;
        continue;
      }
      const accepted = this.takeCapacity(instances[i], count, toMs - fromMs);
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
        const batches = this.inFlight.get(instances[i]) ?? [];
        batches.push(batch);
        this.inFlight.set(instances[i], batches);
      }
    }
    this.cursors.set(id, (cursor + arrivals) % instances.length);
    if (targetErrors > 0) {
      const metrics = this.region.loadBalancing.metricsOf(id);
      this.region.cloudWatch.recordSum(metrics.namespace, metrics.errors, metrics.dimensions, fromMs, toMs, targetErrors);
    }
    return { failedAtArrival };
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
    for (const pool of this.region.loadBalancing.environmentPools(this.target)) {
      for (const [instanceId, registration] of pool.registrations) {
        if (registration.state === "draining" && !this.inFlight.has(instanceId)) pool.finishDraining(instanceId);
      }
    }
  }

  /** Requests in flight finish, or are cut off when their instance stopped serving or left the load balancer. */
  private settleInFlight(fromMs: number, toMs: number): void {
    if (this.inFlight.size === 0) return;
    const pools = this.region.loadBalancing.environmentPools(this.target);
    for (const [instanceId, batches] of this.inFlight) {
      const instance = this.region.ec2.instances.get(instanceId);
      const holds = instance?.state === "running" && instance.appServing && pools.some((pool) => pool.registrations.has(instanceId));
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
