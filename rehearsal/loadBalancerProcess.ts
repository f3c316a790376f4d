/**
 * The load balancer's process: the HTTP proxy on 127.0.0.1 (`LoadBalancerProxy`) with its own event loop,
 * driven by the orchestrator over IPC (`LoadBalancerClient`), as a real load balancer is driven by its
 * control plane: the orchestrator sets the targets and asks for health checks; this process proxies,
 * checks and reports when a draining target has finished its requests.
 */
import type { HealthProbeResult } from "../simulator/region/services/health.js";
import { serveOrchestrator } from "./ipc.js";
import { type InstanceAddress, LoadBalancerProxy, type LoadBalancerProxyOptions, type ProxyStats, type ProxyTarget } from "./loadBalancerProxy.js";

export type LoadBalancerCommands = {
  /** Starts listening; the reply is the URL. Fails with the Node error code (EADDRINUSE, EACCES...). */
  listen: { input: LoadBalancerProxyOptions; output: { url: string } };
  setTargets: { input: ProxyTarget[]; output: void };
  probe: { input: InstanceAddress | undefined; output: HealthProbeResult };
  stats: { input: undefined; output: ProxyStats };
  /** Stops accepting requests and drops open connections; the reply is the final stats. */
  close: { input: undefined; output: ProxyStats };
};

export type LoadBalancerEvents = {
  /** A draining target has no request in flight any more. */
  drained: string;
};

let proxy: LoadBalancerProxy | undefined;
const requireProxy = () => {
  if (!proxy) throw new Error("the load balancer is not listening yet");
  return proxy;
};

const orchestrator = serveOrchestrator<LoadBalancerCommands, LoadBalancerEvents>({
  async listen(options) {
    if (proxy) return { url: proxy.url };
    const candidate = new LoadBalancerProxy(options);
    const url = await candidate.listen();
    proxy = candidate;
    proxy.onDrained((instanceId) => orchestrator.emit("drained", instanceId));
    return { url };
  },
  setTargets: (targets) => requireProxy().setTargets(targets),
  probe: (address) => requireProxy().probe(address),
  stats: () => requireProxy().stats,
  async close() {
    if (!proxy) return { requests: 0, noHealthyTarget: 0, upstreamErrors: 0, routed: {} };
    await proxy.close();
    return proxy.stats;
  },
});
