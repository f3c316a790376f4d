import { type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse, createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { DEFAULTS } from "../functions/lib/names.js";
import type { HealthProbeResult } from "../simulator/region/services/health.js";

export type InstanceAddress = { host: string; port: number };

/** One registered target as the control plane sees it: healthy ones get requests, draining ones finish theirs. */
export interface ProxyTarget {
  instanceId: string;
  address: InstanceAddress;
  draining: boolean;
  /**
   * Its share of new requests (an ALB's target-group weight split over the group's routable targets); default 1.
   * Requests go to targets in proportion, smoothly (the target owed the most goes next).
   */
  weight?: number;
}

export interface LoadBalancerProxyOptions {
  /** Default 0: a free port. */
  port?: number;
  healthCheckPath?: string;
  /** One health check's bound (default 2000 ms; keep it below the interval). */
  healthCheckTimeoutMs?: number;
  /** A proxied request's bound before the proxy answers 504 (default 30000 ms). */
  upstreamTimeoutMs?: number;
}

export interface ProxyStats {
  requests: number;
  /** Answered 503: no healthy target. */
  noHealthyTarget: number;
  /** Answered 502/504: the target failed or did not answer. */
  upstreamErrors: number;
  /** Requests forwarded, by instance id. */
  routed: Record<string, number>;
}

/** Hop-by-hop headers (RFC 9110 7.6.1) are for one connection only: never forwarded. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"]);

function endToEndHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name.toLowerCase())));
}

/**
 * The load balancer's data plane on loopback: a plain node:http reverse proxy in front of the instances'
 * processes. It runs in its own process (`loadBalancerProcess.ts`); the control plane (registrations,
 * thresholds, draining delay) stays the simulated region's pool, which tells it the targets (`setTargets`)
 * and asks it for health checks (`probe`):
 * - a health check is a real HTTP GET of the health path; 200 passes;
 * - requests go round-robin to the healthy targets; none healthy: 503, as ALB answers;
 * - a draining target gets no new requests; once its in-flight ones have finished the proxy says so
 *   (`onDrained`), so the control plane can end the deregistration early, as ALB does.
 */
export class LoadBalancerProxy {
  readonly stats: ProxyStats = { requests: 0, noHealthyTarget: 0, upstreamErrors: 0, routed: {} };
  private readonly server: Server;
  private readonly inFlightByInstance = new Map<string, number>();
  private routable: ProxyTarget[] = [];
  private readonly draining = new Set<string>();
  private readonly drainedListeners = new Set<(instanceId: string) => void>();
  private readonly owed = new Map<string, number>();
  private closed = false;
  private readonly options: Required<LoadBalancerProxyOptions>;

  constructor(options: LoadBalancerProxyOptions = {}) {
    this.options = {
      port: 0,
      healthCheckPath: DEFAULTS.healthCheckPath,
      healthCheckTimeoutMs: 2_000,
      upstreamTimeoutMs: 30_000,
      ...options,
    };
    this.server = createServer((req, res) => this.route(req, res));
  }

  /** Listens on 127.0.0.1 and returns the load balancer's URL. */
  async listen(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.options.port, "127.0.0.1", () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    return this.url;
  }

  get url(): string {
    const address = this.server.address() as AddressInfo | null;
    if (!address) throw new Error("LoadBalancerProxy is not listening");
    return `http://127.0.0.1:${address.port}`;
  }

  /**
   * The registered targets now: the healthy ones get new requests, the draining ones only finish theirs;
   * anything not listed gets nothing new. A draining target with nothing in flight is reported drained.
   */
  setTargets(targets: ProxyTarget[]): void {
    this.routable = targets.filter((target) => !target.draining);
    for (const instanceId of this.owed.keys()) if (!this.routable.some((target) => target.instanceId === instanceId)) this.owed.delete(instanceId);
    const drainingNow = new Set(targets.filter((target) => target.draining).map((target) => target.instanceId));
    for (const instanceId of this.draining) if (!drainingNow.has(instanceId)) this.draining.delete(instanceId);
    for (const instanceId of drainingNow) {
      if (this.draining.has(instanceId)) continue;
      this.draining.add(instanceId);
      if (this.inFlight(instanceId) === 0) this.drained(instanceId);
    }
  }

  /** Called once per deregistration, when a draining target has no request in flight any more. */
  onDrained(listener: (instanceId: string) => void): void {
    this.drainedListeners.add(listener);
  }

  /** Requests being forwarded to the instance now. */
  inFlight(instanceId: string): number {
    return this.inFlightByInstance.get(instanceId) ?? 0;
  }

  /** One real health check: GET the health path; 200 passes (ALB's default matcher), no answer times out. */
  probe(address: InstanceAddress | undefined): Promise<HealthProbeResult> {
    if (!address || this.closed) return Promise.resolve("timeout");
    return new Promise((resolve) => {
      let reported = false;
      const once = (result: HealthProbeResult) => {
        if (reported) return;
        reported = true;
        resolve(result);
      };
      const check = httpRequest(
        { host: address.host, port: address.port, path: this.options.healthCheckPath, method: "GET", agent: false, timeout: this.options.healthCheckTimeoutMs },
        (res) => {
          res.resume();
          once(res.statusCode === 200 ? "passed" : "failed-checks");
        },
      );
      check.on("timeout", () => {
        check.destroy();
        once("timeout");
      });
      check.on("error", () => once("timeout"));
      check.end();
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.server.listening) return;
    const closing = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closing;
  }

  private drained(instanceId: string): void {
    for (const listener of this.drainedListeners) listener(instanceId);
  }

  /** Smooth weighted round-robin: each pick credits every target its weight and takes the one owed the most. */
  private pickTarget(): ProxyTarget | undefined {
    const weighted = this.routable.filter((target) => (target.weight ?? 1) > 0);
    if (weighted.length === 0) return undefined;
    const total = weighted.reduce((sum, target) => sum + (target.weight ?? 1), 0);
    let best = weighted[0];
    for (const target of weighted) {
      const owed = (this.owed.get(target.instanceId) ?? 0) + (target.weight ?? 1);
      this.owed.set(target.instanceId, owed);
      if (owed > (this.owed.get(best.instanceId) ?? 0)) best = target;
    }
    this.owed.set(best.instanceId, (this.owed.get(best.instanceId) ?? 0) - total);
    return best;
  }

  private answer(res: ServerResponse, status: number, error: string): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
    res.end(`${JSON.stringify({ error })}\n`);
  }

  private route(req: IncomingMessage, res: ServerResponse): void {
    this.stats.requests += 1;
    const target = this.pickTarget();
    if (!target) {
      this.stats.noHealthyTarget += 1;
      return this.answer(res, 503, "no healthy target");
    }
    const { instanceId, address } = target;
    this.stats.routed[instanceId] = (this.stats.routed[instanceId] ?? 0) + 1;
    this.inFlightByInstance.set(instanceId, this.inFlight(instanceId) + 1);
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      this.inFlightByInstance.set(instanceId, this.inFlight(instanceId) - 1);
      if (this.inFlight(instanceId) === 0 && this.draining.has(instanceId)) this.drained(instanceId);
    };
    const upstream = httpRequest(
      {
        host: address.host,
        port: address.port,
        method: req.method,
        path: req.url,
        // One connection per request: a kept-alive upstream connection could be closed by a stopping app
        // just as it is reused.
        agent: false,
        timeout: this.options.upstreamTimeoutMs,
        headers: {
          ...endToEndHeaders(req.headers),
          "x-forwarded-for": req.socket.remoteAddress ?? "127.0.0.1",
          "x-forwarded-proto": "http",
        },
      },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, { ...endToEndHeaders(upstreamRes.headers), "x-instance-id": instanceId });
        upstreamRes.pipe(res);
        upstreamRes.on("end", finish);
        upstreamRes.on("error", () => {
          finish();
          res.destroy();
        });
      },
    );
    upstream.on("timeout", () => {
      this.stats.upstreamErrors += 1;
      upstream.destroy();
      finish();
      this.answer(res, 504, "target did not answer in time");
    });
    upstream.on("error", (error) => {
      if (finished) return;
      this.stats.upstreamErrors += 1;
      finish();
      this.answer(res, 502, `target ${instanceId} failed: ${error.message}`);
    });
    upstream.on("close", finish);
    // The client went away: stop the upstream exchange too.
    res.on("close", () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  }
}
