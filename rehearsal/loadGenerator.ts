import { Agent, request as httpRequest } from "node:http";

export interface LoadGeneratorOptions {
  /** The load balancer's URL. */
  url: string;
  requestsPerSecond: number;
  /** Reuse connections to the load balancer (default false: a new connection per request). */
  keepAlive?: boolean;
  /** A request not answered by then counts as failed (default 5000 ms). */
  timeoutMs?: number;
  /** At most this many requests in flight; a request due beyond it counts as failed (default 200). */
  maxInFlight?: number;
  /** Width of the `servedBy` timeline buckets (default 5 s). */
  bucketSeconds?: number;
  path?: string;
}

export interface RequestFailure {
  atSeconds: number;
  reason: string;
}

export interface TrafficBucket {
  /** Seconds since the load started, start of the bucket. */
  fromSeconds: number;
  servedBy: Record<string, number>;
  failed: number;
}

export interface LoadReport {
  requests: number;
  failedRequests: number;
  servedBy: Record<string, number>;
  timeline: TrafficBucket[];
  /** The first failures (at most 20), with why. */
  failures: RequestFailure[];
  seconds: number;
}

const FAILURES_KEPT = 20;

/** What a load generator that never started reports. */
export function emptyLoadReport(): LoadReport {
  return { requests: 0, failedRequests: 0, servedBy: {}, timeline: [], failures: [], seconds: 0 };
}

/**
 * Sends steady traffic at the load balancer: one GET every 1/rate seconds on a drift-free schedule, and
 * counts each answer under the release that served it (the app's `x-release` header). A request fails
 * when it gets no answer, a non-200 status, or no release header.
 */
export class LoadGenerator {
  private readonly options: Required<LoadGeneratorOptions>;
  private readonly agent: Agent;
  private timer?: NodeJS.Timeout;
  private startedAtMs = 0;
  private stoppedAtMs?: number;
  private sent = 0;
  private inFlight = 0;
  private failed = 0;
  private readonly servedBy: Record<string, number> = {};
  private readonly buckets: TrafficBucket[] = [];
  private readonly failures: RequestFailure[] = [];
  private readonly pending = new Set<Promise<void>>();

  constructor(options: LoadGeneratorOptions) {
    if (!(options.requestsPerSecond > 0)) throw new RangeError(`requestsPerSecond must be > 0, got ${options.requestsPerSecond}`);
    this.options = { keepAlive: false, timeoutMs: 5_000, maxInFlight: 200, bucketSeconds: 5, path: "/", ...options };
    this.agent = new Agent({ keepAlive: this.options.keepAlive, maxSockets: this.options.maxInFlight });
  }

  start(): void {
    if (this.timer || this.stoppedAtMs !== undefined) return;
    this.startedAtMs = Date.now();
    this.schedule();
  }

  /** Stops sending, waits for the requests in flight, and reports. */
  async stop(): Promise<LoadReport> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.stoppedAtMs ??= Date.now();
    await Promise.all([...this.pending]);
    this.agent.destroy();
    return this.report();
  }

  report(): LoadReport {
    const end = this.stoppedAtMs ?? Date.now();
    return {
      requests: this.sent,
      failedRequests: this.failed,
      servedBy: { ...this.servedBy },
      timeline: this.buckets.filter(Boolean).map((bucket) => ({ ...bucket, servedBy: { ...bucket.servedBy } })),
      failures: [...this.failures],
      seconds: this.startedAtMs ? Math.round((end - this.startedAtMs) / 100) / 10 : 0,
    };
  }

  private schedule(): void {
    const intervalMs = 1000 / this.options.requestsPerSecond;
    const dueAt = this.startedAtMs + this.sent * intervalMs;
    this.timer = setTimeout(() => {
      // Catch up after a stalled event loop rather than drift (bounded by maxInFlight).
      while (this.stoppedAtMs === undefined && Date.now() >= this.startedAtMs + this.sent * intervalMs) this.send();
      if (this.stoppedAtMs === undefined) this.schedule();
    }, Math.max(0, dueAt - Date.now()));
  }

  private bucketAt(atMs: number): TrafficBucket {
    const index = Math.floor((atMs - this.startedAtMs) / (this.options.bucketSeconds * 1000));
    this.buckets[index] ??= { fromSeconds: index * this.options.bucketSeconds, servedBy: {}, failed: 0 };
    return this.buckets[index];
  }

  private send(): void {
    const sentAtMs = Date.now();
    this.sent += 1;
    if (this.inFlight >= this.options.maxInFlight) return this.fail(sentAtMs, `more than ${this.options.maxInFlight} requests in flight`);
    this.inFlight += 1;
    const done = new Promise<void>((resolve) => {
      let settled = false;
      const settle = (release: string | undefined, failure?: string) => {
        if (settled) return;
        settled = true;
        this.inFlight -= 1;
        if (failure !== undefined || !release) this.fail(sentAtMs, failure ?? "no x-release header");
        else {
          this.servedBy[release] = (this.servedBy[release] ?? 0) + 1;
          const bucket = this.bucketAt(sentAtMs);
          bucket.servedBy[release] = (bucket.servedBy[release] ?? 0) + 1;
        }
        resolve();
      };
      const req = httpRequest(`${this.options.url}${this.options.path}`, { agent: this.agent, timeout: this.options.timeoutMs }, (res) => {
        res.resume();
        res.on("end", () => {
          const release = res.headers["x-release"];
          if (res.statusCode !== 200) settle(undefined, `HTTP ${res.statusCode}`);
          else settle(Array.isArray(release) ? release[0] : release);
        });
        res.on("error", (error) => settle(undefined, error.message));
      });
      req.on("timeout", () => {
        req.destroy();
        settle(undefined, `no answer within ${this.options.timeoutMs} ms`);
      });
      req.on("error", (error) => settle(undefined, error.message));
      req.end();
    });
    this.pending.add(done);
    void done.then(() => this.pending.delete(done));
  }

  private fail(atMs: number, reason: string): void {
    this.failed += 1;
    this.bucketAt(atMs).failed += 1;
    if (this.failures.length < FAILURES_KEPT) this.failures.push({ atSeconds: Math.round((atMs - this.startedAtMs) / 100) / 10, reason });
  }
}
