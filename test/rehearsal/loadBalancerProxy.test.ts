import { afterEach, describe, expect, it } from "vitest";
import { LoadBalancerProxy } from "../../rehearsal/loadBalancerProxy.js";
import { RealTimeDriver } from "../../rehearsal/realTimeDriver.js";
import { SimulatedRegion } from "../../simulator/region/region.js";
import { createEnvironment } from "../../simulator/region/environment.js";
import type { HealthCheckedPool } from "../../simulator/region/services/health.js";
import { closeServer, get, startFakeApp, waitFor } from "./helpers.js";

type FakeApp = Awaited<ReturnType<typeof startFakeApp>>;

/** A target group with real HTTP health checks every 100 ms (thresholds 2), driven in real time. */
async function setUp(apps: Record<string, FakeApp>, drainingSeconds = 30) {
  const region = new SimulatedRegion({
    startMs: Date.now(),
    timing: { healthCheckIntervalSeconds: 0.1, healthyThreshold: 2, unhealthyThreshold: 2, drainingSeconds },
  });
  const settings = createEnvironment(region, { config: { loadBalancer: "application" } });
  if (settings.loadBalancer.kind !== "application") throw new Error("expected an ALB");
  const pool: HealthCheckedPool = region.loadBalancing.requireTargetGroup(settings.loadBalancer.targetGroupArn).pool;
  const proxy = new LoadBalancerProxy({
    pool,
    addressOf: (id) => (apps[id] ? { host: "127.0.0.1", port: apps[id].port } : undefined),
    healthCheckTimeoutMs: 80,
  });
  region.loadBalancing.setHealthProbe(proxy.probe);
  proxy.watch(region.loadBalancing);
  const url = await proxy.listen();
  const driver = new RealTimeDriver(region.scheduler, { tickMs: 5 });
  driver.start();
  stops.push(async () => {
    driver.stop();
    await proxy.close();
    for (const app of Object.values(apps)) await closeServer(app.server);
  });
  return { region, pool, proxy, url };
}

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

describe("LoadBalancerProxy", () => {
  it("routes round-robin among healthy targets and never to an unhealthy one", async () => {
    // Prepare
    const apps = {
      "i-a": await startFakeApp({ release: "v1" }),
      "i-b": await startFakeApp({ release: "v1" }),
      "i-c": await startFakeApp({ release: "v1", healthy: false }),
    };
    const { pool, url } = await setUp(apps);
    for (const id of Object.keys(apps)) pool.register(id);
    await waitFor(
      () => pool.registrations.get("i-a")?.state === "healthy" && pool.registrations.get("i-b")?.state === "healthy" && pool.registrations.get("i-c")?.state === "unhealthy",
      5_000,
      "a and b healthy, c unhealthy",
    );

    // Act
    const servedBy: string[] = [];
    for (let i = 0; i < 10; i++) servedBy.push(String((await get(`${url}/page`)).headers["x-instance-id"]));

    // Assess
    expect(servedBy).toEqual(["i-a", "i-b", "i-a", "i-b", "i-a", "i-b", "i-a", "i-b", "i-a", "i-b"]);
    expect(apps["i-c"].requests).toEqual([]);
    expect(pool.registrations.get("i-c")?.failureKind).toBe("failed-checks");
  });

  it("answers 503 while no target is healthy, and marks a target with no process as timing out", async () => {
    // Prepare
    const { pool, url, proxy } = await setUp({});
    pool.register("i-gone");
    await waitFor(() => pool.registrations.get("i-gone")?.state === "unhealthy", 5_000, "i-gone unhealthy");

    // Act
    const answer = await get(`${url}/`);

    // Assess
    expect(answer.status).toBe(503);
    expect(pool.registrations.get("i-gone")?.failureKind).toBe("timeout");
    expect(proxy.stats.noHealthyTarget).toBe(1);
  });

  it("drains a deregistered target: no new requests, the in-flight one finishes, then it leaves before the delay", async () => {
    // Prepare
    const apps = { "i-a": await startFakeApp({ release: "v1" }), "i-b": await startFakeApp({ release: "v2" }) };
    const { pool, url } = await setUp(apps, 30);
    pool.register("i-a");
    await waitFor(() => pool.registrations.get("i-a")?.state === "healthy", 5_000, "i-a healthy");
    pool.register("i-b");
    await waitFor(() => pool.registrations.get("i-b")?.state === "healthy", 5_000, "i-b healthy");
    const slow = get(`${url}/api/slow?ms=400`);
    await waitFor(() => apps["i-a"].requests.length + apps["i-b"].requests.length === 1, 2_000, "the slow request to arrive");
    const slowTarget = apps["i-a"].requests.length === 1 ? "i-a" : "i-b";
    const otherTarget = slowTarget === "i-a" ? "i-b" : "i-a";

    // Act
    pool.deregister(slowTarget);
    const during = await Promise.all(Array.from({ length: 4 }, () => get(`${url}/during`)));
    const drainingWhileInFlight = pool.registrations.get(slowTarget)?.state;
    const slowAnswer = await slow;
    await waitFor(() => !pool.registrations.has(slowTarget), 2_000, "the drained target to leave");

    // Assess
    expect(drainingWhileInFlight).toBe("draining");
    expect(during.map((answer) => answer.headers["x-instance-id"])).toEqual([otherTarget, otherTarget, otherTarget, otherTarget]);
    expect(slowAnswer.status).toBe(200);
    expect(slowAnswer.body).toBe("slow");
    expect(slowAnswer.headers["x-instance-id"]).toBe(slowTarget);
  });
});
