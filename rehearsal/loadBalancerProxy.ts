import { type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse, createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { DEFAULTS } from "../functions/lib/names.js";
import type { HealthCheckedPool, HealthProbe, HealthProbeResult, Registration } from "../simulator/region/services/health.js";
import type { LoadBalancingService } from "../simulator/region/services/loadbalancing.js";

export type InstanceAddress = { host: string; port: number };

export interface LoadBalancerProxyOptions {
  /** The simulated target group's (or classic ELB's) registrations: who is registered, healthy, draining. */
  pool: HealthCheckedPool;
  /** Where an instance's app listens (undefined: not up, a check times out). */
  addressOf: (instanceId: string) => InstanceAddress | undefined;
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
  routed: Map<string, number>;
}

/** Hop-by-hop headers (RFC 9110 7.6.1) are for one connection only: never forwarded. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"]);

function endToEndHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name.toLowerCase())));
}

/**
 * The load balancer's data plane on loopback: a plain node:http reverse proxy in front of the instances'
 * processes. The control plane stays the simulated region's pool (registrations, thresholds, draining
 * delay), so the stage functions see exactly what the proxy does:
 * - health checks are real HTTP GETs of the health path (`probe`, given to `setHealthProbe`);
 * - requests go round-robin to the pool's healthy registered targets; none healthy: 503, as ALB answers;
 * - a deregistered (draining) target gets no new requests; once its in-flight ones have finished, the proxy
 *   ends the deregistration early, as ALB does, else the pool's delay ends it.
 */
export class LoadBalancerProxy {
  readonly stats: ProxyStats = { requests: 0, noHealthyTarget: 0, upstreamErrors: 0, routed: new Map() };
  private readonly server: Server;
  private readonly inFlightByInstance = new Map<string, number>();
  private nextTarget = 0;
  private closed = false;
  private readonly options: Required<LoadBalancerProxyOptions>;

  constructor(options: LoadBalancerProxyOptions) {
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

  /** Follows deregistrations of its pool, to end draining as soon as in-flight requests are done. */
  watch(loadBalancing: LoadBalancingService): void {
    loadBalancing.onRegistrationChange((pool, instanceId, registration) => this.registrationChanged(pool, instanceId, registration));
  }

  /** Requests being forwarded to the instance now. */
  inFlight(instanceId: string): number {
    return this.inFlightByInstance.get(instanceId) ?? 0;
  }

  /** One real health check (the region's pools call it at their interval; see `setHealthProbe`). */
  readonly probe: HealthProbe = (_pool, instanceId, report) => {
    const address = this.options.addressOf(instanceId);
    if (!address || this.closed) return report("timeout");
    let reported = false;
    const once = (result: HealthProbeResult) => {
      if (reported) return;
      reported = true;
      report(result);
    };
    const check = httpRequest(
      { host: address.host, port: address.port, path: this.options.healthCheckPath, method: "GET", agent: false, timeout: this.options.healthCheckTimeoutMs },
      (res) => {
        res.resume();
        // ALB's default matcher: 200 only.
        once(res.statusCode === 200 ? "passed" : "failed-checks");
      },
    );
    check.on("timeout", () => {
      check.destroy();
      once("timeout");
    });
    check.on("error", () => once("timeout"));
    check.end();
  };

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.server.listening) return;
    const closing = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closing;
  }

  private registrationChanged(pool: HealthCheckedPool, instanceId: string, registration: Registration | undefined): void {
    if (pool !== this.options.pool || this.closed) return;
    if (registration?.state === "draining" && this.inFlight(instanceId) === 0) {
      // Deferred: the pool is still inside its deregister call.
      setImmediate(() => this.finishDrainingIfIdle(instanceId));
    }
  }

  private finishDrainingIfIdle(instanceId: string): void {
    const registration = this.options.pool.registrations.get(instanceId);
    if (registration?.state === "draining" && this.inFlight(instanceId) === 0) this.options.pool.finishDraining(instanceId);
  }

  private pickTarget(): { instanceId: string; address: InstanceAddress } | undefined {
    const targets = this.options.pool
      .routableInstanceIds()
      .flatMap((instanceId) => {
        const address = this.options.addressOf(instanceId);
        return address ? [{ instanceId, address }] : [];
      });
    if (targets.length === 0) return undefined;
    const target = targets[this.nextTarget % targets.length];
    this.nextTarget = (this.nextTarget + 1) % Number.MAX_SAFE_INTEGER;
    return target;
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
    this.stats.routed.set(instanceId, (this.stats.routed.get(instanceId) ?? 0) + 1);
    this.inFlightByInstance.set(instanceId, this.inFlight(instanceId) + 1);
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      this.inFlightByInstance.set(instanceId, this.inFlight(instanceId) - 1);
      if (this.inFlight(instanceId) === 0) this.finishDrainingIfIdle(instanceId);
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
