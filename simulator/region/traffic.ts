import type { EnvironmentSettings } from "../../functions/lib/contract.js";
import type { SimulatedRegion } from "./region.js";
import type { HealthCheckedPool } from "./services/health.js";

export interface TrafficCounters {
  total: number;
  failed: number;
  /** Successful requests by the release label of the serving instance's image (its image id when untagged). */
  servedBy: Record<string, number>;
}

export interface TrafficFailure {
  fromMs: number;
  toMs: number;
  count: number;
  reason: "no healthy target" | "target not serving";
}

/** Keeps the failure log small; counters stay exact. */
const MAX_FAILURE_RECORDS = 200;

/**
 * Steady request load on the environment's load balancer, `requestsPerSecond` arriving evenly. The load
 * balancer routes round-robin among the instances it considers healthy (ALB target `healthy`; classic ELB
 * `InService` and not draining): a draining instance gets no new requests. A request succeeds only when its
 * instance is running and its app serves, so an instance that died while still marked healthy fails
 * requests until the health checks notice. Requests are instantaneous (in-flight work on a draining
 * instance always finishes within the draining time); when no instance is healthy every request fails.
 *
 * State only changes at scheduler events, so the model counts whole intervals between clock moves
 * (O(healthy instances) per move) instead of simulating each request or each second.
 */
export class TrafficModel {
  private readonly totals: TrafficCounters = { total: 0, failed: 0, servedBy: {} };
  readonly failures: TrafficFailure[] = [];
  private startMs = 0;
  private emitted = 0;
  private cursor = 0;
  private unsubscribe?: () => void;
  private cachedRevision = -1;
  private cachedPool: string[] = [];

  constructor(
    private readonly region: SimulatedRegion,
    private readonly target: EnvironmentSettings["loadBalancer"],
    readonly requestsPerSecond: number,
  ) {
    if (!(requestsPerSecond >= 0)) throw new RangeError(`requestsPerSecond must be >= 0, got ${requestsPerSecond}`);
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
    return { total: this.totals.total, failed: this.totals.failed, servedBy: { ...this.totals.servedBy } };
  }

  /** `after - before`: the traffic of one scenario step. */
  static difference(after: TrafficCounters, before: TrafficCounters): TrafficCounters {
    const servedBy: Record<string, number> = {};
    for (const [release, count] of Object.entries(after.servedBy)) {
      const delta = count - (before.servedBy[release] ?? 0);
      if (delta > 0) servedBy[release] = delta;
    }
    return { total: after.total - before.total, failed: after.failed - before.failed, servedBy };
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
    const due = Math.floor((this.requestsPerSecond * (toMs - this.startMs)) / 1000);
    const arrivals = due - this.emitted;
    this.emitted = due;
    if (arrivals <= 0) return;
    this.totals.total += arrivals;
    const pool = this.routable();
    if (pool.length === 0) {
      this.fail(fromMs, toMs, arrivals, "no healthy target");
      return;
    }
    const share = Math.floor(arrivals / pool.length);
    const remainder = arrivals % pool.length;
    let failed = 0;
    for (let i = 0; i < pool.length; i++) {
      // Round-robin: the `remainder` extra requests go to the next instances after the cursor.
      const position = (i - (this.cursor % pool.length) + pool.length) % pool.length;
      const count = share + (position < remainder ? 1 : 0);
      if (count === 0) continue;
      const instance = this.region.ec2.instances.get(pool[i]);
      if (instance && instance.state === "running" && instance.appServing) {
        const label = instance.release ?? instance.imageId;
        this.totals.servedBy[label] = (this.totals.servedBy[label] ?? 0) + count;
      } else {
        failed += count;
      }
    }
    this.cursor = (this.cursor + arrivals) % pool.length;
    if (failed > 0) this.fail(fromMs, toMs, failed, "target not serving");
  }

  private fail(fromMs: number, toMs: number, count: number, reason: TrafficFailure["reason"]): void {
    this.totals.failed += count;
    const last = this.failures[this.failures.length - 1];
    if (last && last.toMs === fromMs && last.reason === reason) {
      last.toMs = toMs;
      last.count += count;
    } else if (this.failures.length < MAX_FAILURE_RECORDS) {
      this.failures.push({ fromMs, toMs, count, reason });
    }
  }
}
