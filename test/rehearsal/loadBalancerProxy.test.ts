import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { LoadBalancerClient, PortUnavailableError } from "../../rehearsal/loadBalancerClient.js";
import { LoadBalancerProxy } from "../../rehearsal/loadBalancerProxy.js";
import { RealTimeDriver } from "../../rehearsal/realTimeDriver.js";
import { createEnvironment } from "../../simulator/region/environment.js";
import { SimulatedRegion } from "../../simulator/region/region.js";
import type { HealthCheckedPool } from "../../simulator/region/services/health.js";
import { childPids, closeServer, get, isAlive, startFakeApp, waitFor } from "./helpers.js";

type FakeApp = Awaited<ReturnType<typeof startFakeApp>>;

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

/**
 * A target group with real HTTP health checks every 100 ms (thresholds 2), driven in real time, whose data
 * plane is the load balancer process.
 */
async function setUp(apps: Record<string, FakeApp>, drainingSeconds = 30) {
  const region = new SimulatedRegion({
    startMs: Date.now(),
    timing: { healthCheckIntervalSeconds: 0.1, healthyThreshold: 2, unhealthyThreshold: 2, drainingSeconds },
  });
  const settings = createEnvironment(region, { config: { loadBalancer: "application" } });
  if (settings.loadBalancer.kind !== "application") throw new Error("expected an ALB");
  const pool: HealthCheckedPool = region.loadBalancing.requireTargetGroup(settings.loadBalancer.targetGroupArn).pool;
  const balancer = await LoadBalancerClient.start({ healthCheckTimeoutMs: 80 });
  balancer.connect({
    loadBalancing: region.loadBalancing,
    loadBalancer: settings.loadBalancer,
    addressOf: (id) => (apps[id] ? { host: "127.0.0.1", port: apps[id].port } : undefined),
  });
  const driver = new RealTimeDriver(region.scheduler, { tickMs: 5 });
  driver.start();
  stops.push(async () => {
    driver.stop();
    await balancer.close();
    for (const app of Object.values(apps)) await closeServer(app.server);
  });
  return { region, pool, balancer, url: balancer.url };
}

describe("LoadBalancerProxy (the data plane, in this process)", () => {
  it("routes round-robin among the healthy targets, sends nothing new to a draining one, and says when it is drained", async () => {
    // Prepare
    const apps = { "i-a": await startFakeApp({ release: "v1" }), "i-b": await startFakeApp({ release: "v2" }) };
    const proxy = new LoadBalancerProxy();
    const url = await proxy.listen();
    stops.push(async () => {
      await proxy.close();
      for (const app of Object.values(apps)) await closeServer(app.server);
    });
    const drained: string[] = [];
    proxy.onDrained((instanceId) => drained.push(instanceId));
    const target = (id: keyof typeof apps, draining = false) => ({ instanceId: id, address: { host: "127.0.0.1", port: apps[id].port }, draining });

    // Act
    proxy.setTargets([target("i-a"), target("i-b")]);
    const both = [await get(`${url}/`), await get(`${url}/`)].map((answer) => answer.headers["x-instance-id"]);
    proxy.setTargets([target("i-a", true), target("i-b")]);
    const afterDrain = [await get(`${url}/`), await get(`${url}/`)].map((answer) => answer.headers["x-instance-id"]);
    proxy.setTargets([]);
    const none = await get(`${url}/`);

    // Assess
    expect(both).toEqual(["i-a", "i-b"]);
    expect(afterDrain).toEqual(["i-b", "i-b"]);
    expect(drained).toEqual(["i-a"]);
    expect(none.status).toBe(503);
    expect(proxy.stats).toMatchObject({ requests: 5, noHealthyTarget: 1, routed: { "i-a": 1, "i-b": 3 } });
  });

  it("sends requests in proportion to the targets' weights (an ALB's weighted target groups), none to a weight of 0", async () => {
    // Prepare: a canary at 10 %: i-new's target group weighs 10, i-old's 90.
    const apps = { "i-old": await startFakeApp({ release: "v1" }), "i-new": await startFakeApp({ release: "v2" }), "i-idle": await startFakeApp({ release: "v0" }) };
    const proxy = new LoadBalancerProxy();
    const url = await proxy.listen();
    stops.push(async () => {
      await proxy.close();
      for (const app of Object.values(apps)) await closeServer(app.server);
    });
    const target = (id: keyof typeof apps, weight: number) => ({ instanceId: id, address: { host: "127.0.0.1", port: apps[id].port }, draining: false, weight });

    // Act
    proxy.setTargets([target("i-old", 90), target("i-new", 10), target("i-idle", 0)]);
    for (let i = 0; i < 20; i++) await get(`${url}/`);

    // Assess
    expect(proxy.stats.routed).toEqual({ "i-old": 18, "i-new": 2 });
  });

  it("health-checks an address: 200 passes, another status fails, no answer times out", async () => {
    // Prepare
    const healthy = await startFakeApp({ release: "v1" });
    const broken = await startFakeApp({ release: "v1", healthy: false });
    const proxy = new LoadBalancerProxy({ healthCheckTimeoutMs: 100 });
    stops.push(async () => {
      await closeServer(healthy.server);
      await closeServer(broken.server);
    });

    // Act
    const results = await Promise.all([
      proxy.probe({ host: "127.0.0.1", port: healthy.port }),
      proxy.probe({ host: "127.0.0.1", port: broken.port }),
      proxy.probe({ host: "127.0.0.1", port: 1 }),
      proxy.probe(undefined),
    ]);

    // Assess
    expect(results).toEqual(["passed", "failed-checks", "timeout", "timeout"]);
  });
});

describe("LoadBalancerClient (the load balancer in its own process, driven by the simulated pool)", () => {
  it("runs in another process and routes round-robin among healthy targets, never to an unhealthy one", async () => {
    // Prepare
    const apps = {
      "i-a": await startFakeApp({ release: "v1" }),
      "i-b": await startFakeApp({ release: "v1" }),
      "i-c": await startFakeApp({ release: "v1", healthy: false }),
    };
    const { pool, url, balancer } = await setUp(apps);
    for (const id of Object.keys(apps)) pool.register(id);
    await waitFor(
      () => pool.registrations.get("i-a")?.state === "healthy" && pool.registrations.get("i-b")?.state === "healthy" && pool.registrations.get("i-c")?.state === "unhealthy",
      10_000,
      "a and b healthy, c unhealthy",
    );
    await balancer.stats(); // the process has the targets (commands are answered in order)

    // Act
    const servedBy: string[] = [];
    for (let i = 0; i < 10; i++) servedBy.push(String((await get(`${url}/page`)).headers["x-instance-id"]));

    // Assess
    expect(balancer.pid).not.toBe(process.pid);
    expect(isAlive(balancer.pid)).toBe(true);
    expect(servedBy).toEqual(["i-a", "i-b", "i-a", "i-b", "i-a", "i-b", "i-a", "i-b", "i-a", "i-b"]);
    expect(apps["i-c"].requests).toEqual([]);
    expect(pool.registrations.get("i-c")?.failureKind).toBe("failed-checks");
    expect((await balancer.stats()).routed).toEqual({ "i-a": 5, "i-b": 5 });
  });

  it("answers 503 while no target is healthy, and marks a target with no process as timing out", async () => {
    // Prepare
    const { pool, url, balancer } = await setUp({});
    pool.register("i-gone");
    await waitFor(() => pool.registrations.get("i-gone")?.state === "unhealthy", 10_000, "i-gone unhealthy");

    // Act
    const answer = await get(`${url}/`);

    // Assess
    expect(answer.status).toBe(503);
    expect(pool.registrations.get("i-gone")?.failureKind).toBe("timeout");
    expect((await balancer.stats()).noHealthyTarget).toBe(1);
  });

  it("drains a deregistered target: no new requests, the in-flight one finishes, then it leaves before the delay", async () => {
    // Prepare
    const apps = { "i-a": await startFakeApp({ release: "v1" }), "i-b": await startFakeApp({ release: "v2" }) };
    const { pool, url, balancer } = await setUp(apps, 30);
    pool.register("i-a");
    await waitFor(() => pool.registrations.get("i-a")?.state === "healthy", 10_000, "i-a healthy");
    pool.register("i-b");
    await waitFor(() => pool.registrations.get("i-b")?.state === "healthy", 10_000, "i-b healthy");
    await balancer.stats(); // the process has the targets (commands are answered in order)
    const slow = get(`${url}/api/slow?ms=600`);
    await waitFor(() => apps["i-a"].requests.length + apps["i-b"].requests.length === 1, 5_000, "the slow request to arrive");
    const slowTarget = apps["i-a"].requests.length === 1 ? "i-a" : "i-b";
    const otherTarget = slowTarget === "i-a" ? "i-b" : "i-a";

    // Act
    pool.deregister(slowTarget);
    await balancer.stats();
    const during = await Promise.all(Array.from({ length: 4 }, () => get(`${url}/during`)));
    const drainingWhileInFlight = pool.registrations.get(slowTarget)?.state;
    const slowAnswer = await slow;
    await waitFor(() => !pool.registrations.has(slowTarget), 5_000, "the drained target to leave");

    // Assess
    expect(drainingWhileInFlight).toBe("draining");
    expect(during.map((answer) => answer.headers["x-instance-id"])).toEqual([otherTarget, otherTarget, otherTarget, otherTarget]);
    expect(slowAnswer.status).toBe(200);
    expect(slowAnswer.body).toBe("slow");
    expect(slowAnswer.headers["x-instance-id"]).toBe(slowTarget);
  });

  it("refuses a port in use with PortUnavailableError, and leaves no process behind", async () => {
    // Prepare
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
    const port = (busy.address() as { port: number }).port;
    stops.push(() => new Promise((resolve) => busy.close(() => resolve())));
    const childrenBefore = childPids();

    // Act
    const error = await LoadBalancerClient.start({ port }).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(PortUnavailableError);
    expect(error).toMatchObject({ port, code: "EADDRINUSE", message: `${port} is in use` });
    expect(childPids()).toEqual(childrenBefore);
  });

  it("ends its process on close, and reports an unexpected death", async () => {
    // Prepare
    const deaths: string[] = [];
    const closed = await LoadBalancerClient.start();
    const killed = await LoadBalancerClient.start({ onUnexpectedExit: (error) => deaths.push(error.message) });

    // Act
    await closed.close();
    process.kill(killed.pid, "SIGKILL");
    await waitFor(() => deaths.length === 1, 5_000, "the death to be reported");
    await killed.close();

    // Assess
    expect(isAlive(closed.pid)).toBe(false);
    expect(deaths[0]).toMatch(/^the load balancer process \(pid \d+\) exited \(signal SIGKILL\)/);
  });
});
