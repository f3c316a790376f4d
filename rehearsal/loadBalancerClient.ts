import type { EnvironmentSettings } from "../functions/lib/contract.js";
import type { HealthProbe, Registration } from "../simulator/region/services/health.js";
import type { LoadBalancingService } from "../simulator/region/services/loadbalancing.js";
import { HelperCommandError, HelperProcess, type HelperProcessError } from "./ipc.js";
import type { LoadBalancerCommands, LoadBalancerEvents } from "./loadBalancerProcess.js";
import type { InstanceAddress, ProxyStats, ProxyTarget } from "./loadBalancerProxy.js";

/** The load balancer could not listen on the port asked for (in use, or not allowed). */
export class PortUnavailableError extends Error {
  override name = "PortUnavailableError";
  constructor(
    readonly port: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface LoadBalancerClientOptions {
  /** Port on 127.0.0.1 (default 0: a free one). */
  port?: number;
  healthCheckPath?: string;
  healthCheckTimeoutMs?: number;
  /** The process died during the run (the rehearsal fails with this error). */
  onUnexpectedExit?: (error: HelperProcessError) => void;
}

/** What the client follows to keep the proxy's targets right. */
export interface PoolConnection {
  loadBalancing: LoadBalancingService;
  /** The environment's load balancer: an ALB's two target groups behind its listener's weights, or a classic ELB. */
  loadBalancer: EnvironmentSettings["loadBalancer"];
  /** Where an instance's app listens (undefined: not up). */
  addressOf: (instanceId: string) => InstanceAddress | undefined;
}

const routedOrDraining = (registration: Registration) => registration.state === "healthy" || registration.state === "draining";

/**
 * The orchestrator's side of the load balancer process (`loadBalancerProcess.ts`), and the glue to the
 * simulated region's control plane: the pool's health checks are performed by the process (`probe`, given
 * to `setHealthProbe`), every change of the pool's registrations or of an instance's address sends the
 * process its new targets, and a target the process reports drained ends its deregistration early
 * (`HealthCheckedPool.finishDraining`), as ALB does once nothing is in flight.
 */
export class LoadBalancerClient {
  private connection?: PoolConnection;
  private lastTargets = "";

  private constructor(
    private readonly helper: HelperProcess<LoadBalancerCommands, LoadBalancerEvents>,
    readonly url: string,
  ) {}

  /** Starts the process and its listener; rejects with `PortUnavailableError` when the port cannot be had. */
  static async start(options: LoadBalancerClientOptions = {}): Promise<LoadBalancerClient> {
    const helper = await HelperProcess.start<LoadBalancerCommands, LoadBalancerEvents>(new URL("./loadBalancerProcess.ts", import.meta.url), {
      name: "load balancer",
      onUnexpectedExit: options.onUnexpectedExit,
    });
    const port = options.port ?? 0;
    try {
      const { url } = await helper.request("listen", {
        port,
        ...(options.healthCheckPath ? { healthCheckPath: options.healthCheckPath } : {}),
        ...(options.healthCheckTimeoutMs ? { healthCheckTimeoutMs: options.healthCheckTimeoutMs } : {}),
      });
      return new LoadBalancerClient(helper, url);
    } catch (error) {
      await helper.stop();
      if (error instanceof HelperCommandError && (error.code === "EADDRINUSE" || error.code === "EACCES")) {
        throw new PortUnavailableError(port, error.code, error.code === "EADDRINUSE" ? `${port} is in use` : `${error.code}: this user may not listen on ${port}`);
      }
      throw error;
    }
  }

  get pid(): number {
    return this.helper.pid;
  }

  /** True until the process has exited. */
  get alive(): boolean {
    return this.helper.alive;
  }

  /** Makes this process the data plane of the environment's pools (and the health checker of every pool). */
  connect(connection: PoolConnection): void {
    this.connection = connection;
    const pools = () => connection.loadBalancing.environmentPools(connection.loadBalancer);
    connection.loadBalancing.setHealthProbe(this.probe);
    connection.loadBalancing.onRegistrationChange((pool) => {
      if (pools().includes(pool)) this.syncTargets();
    });
    // A listener rule's new weights (the cutover's steps) change where requests go.
    connection.loadBalancing.onRoutingChange(() => this.syncTargets());
    this.helper.on("drained", (instanceId) => {
      // The process may report a target that has since been registered again: only a draining one ends.
      for (const pool of pools()) if (pool.registrations.get(instanceId)?.state === "draining") pool.finishDraining(instanceId);
    });
    this.syncTargets();
  }

  /** One health check, performed by the process; an unreachable process counts as a timeout. */
  readonly probe: HealthProbe = (_pool, instanceId, report) => {
    const address = this.connection?.addressOf(instanceId);
    if (!address) return report("timeout");
    this.helper.request("probe", address).then(report, () => report("timeout"));
  };

  /** Sends the process the pool's routable and draining targets, when they changed (call on address changes too). */
  syncTargets(): void {
    const connection = this.connection;
    if (!connection || !this.helper.alive) return;
    const { loadBalancing, loadBalancer } = connection;
    // Each routed pool's weight split over its healthy targets (ALB weighted forwarding); draining ones from every pool.
    const weights = new Map<string, number>();
    for (const { pool, weight } of loadBalancing.routedPools(loadBalancer)) {
      const healthy = [...pool.registrations.values()].filter((registration) => registration.state === "healthy");
      for (const registration of healthy) weights.set(registration.instanceId, weight / healthy.length);
    }
    const registrations = loadBalancing.environmentPools(loadBalancer).flatMap((pool) => [...pool.registrations.values()].filter(routedOrDraining));
    const targets: ProxyTarget[] = registrations.flatMap((registration) => {
      const address = connection.addressOf(registration.instanceId);
      const draining = registration.state === "draining";
      if (!address || (!draining && !weights.has(registration.instanceId))) return [];
      return [{ instanceId: registration.instanceId, address, draining, ...(!draining && { weight: weights.get(registration.instanceId) }) }];
    });
    const key = JSON.stringify(targets);
    if (key === this.lastTargets) return;
    this.lastTargets = key;
    this.helper.request("setTargets", targets).catch(() => undefined);
  }

  stats(): Promise<ProxyStats> {
    return this.helper.request("stats", undefined);
  }

  /** Stops listening, then ends the process; resolves once it has exited. */
  async close(): Promise<void> {
    if (this.helper.alive) await this.helper.request("close", undefined).catch(() => undefined);
    await this.helper.stop();
  }
}
