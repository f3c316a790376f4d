import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { TAG } from "../../functions/lib/names.js";
import { ProcessInstanceHost } from "../../rehearsal/processHost.js";
import { packRelease } from "../../scripts/pack-release.js";
import { SimulatedRegion } from "../../simulator/region/region.js";
import type { SimInstance } from "../../simulator/region/services/ec2.js";
import { get, isAlive, waitFor } from "./helpers.js";

/** The bundled example app (importing rehearsal.ts for its constant would load the whole stack). */
const EXAMPLE_APP_DIR = fileURLToPath(new URL("../../example-app", import.meta.url));
let workDir: string;
const artifacts = new Map<string, string>();

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), "process-host-test-"));
  for (const release of ["v1", "v2"]) {
    artifacts.set(release, (await packRelease({ appDir: EXAMPLE_APP_DIR, release, outFile: join(workDir, `${release}.tgz`) })).outFile);
  }
});
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

const hosts: ProcessInstanceHost[] = [];
afterEach(async () => {
  for (const host of hosts.splice(0)) await host.stopAll();
});

function setUp(options: { brokenRelease?: string } = {}) {
  const region = new SimulatedRegion({ startMs: Date.now() });
  const host = new ProcessInstanceHost({
    workDir: join(workDir, `instances-${hosts.length}-${Date.now()}`),
    artifactOf: (release) => artifacts.get(release),
    appHealthy: (release) => release !== options.brokenRelease,
    stopTimeoutMs: 3_000,
  });
  hosts.push(host);
  region.ec2.setInstanceHost(host);
  const launch = (release: string): SimInstance => {
    const image = region.ec2.createImage({ name: `app-${release}`, tags: [{ Key: TAG.release, Value: release }] });
    return region.ec2.launchInstance({ imageId: image.imageId, subnetId: "subnet-1", tags: [] });
  };
  return { region, host, launch };
}

describe("ProcessInstanceHost", () => {
  it("runs an instance as its release's process: running once it listens, terminated once it has exited", async () => {
    // Prepare
    const { region, host, launch } = setUp();

    // Act
    const instance = launch("v2");
    const stateRightAfterLaunch = instance.state;
    await waitFor(() => instance.state === "running", 10_000, "the instance to run");
    const address = host.addressOf(instance.instanceId)!;
    const page = await get(`http://${address.host}:${address.port}/`);
    const health = await get(`http://${address.host}:${address.port}/api/status/health`);
    const pid = host.processes.get(instance.instanceId)!.pid!;
    region.ec2.terminateInstance(instance.instanceId);
    const stateRightAfterTerminate = instance.state;
    await waitFor(() => instance.state === "terminated", 10_000, "the instance to terminate");

    // Assess
    expect(stateRightAfterLaunch).toBe("pending");
    expect(page.headers["x-release"]).toBe("v2");
    expect(page.body).toContain(instance.instanceId);
    expect(health.status).toBe(200);
    expect(stateRightAfterTerminate).toBe("shutting-down");
    expect(isAlive(pid)).toBe(false);
    expect(host.processes.get(instance.instanceId)).toMatchObject({ state: "exited", exitCode: 0 });
    expect(host.alive()).toEqual([]);
  });

  it("starts a broken release with a failing health endpoint", async () => {
    // Prepare
    const { host, launch } = setUp({ brokenRelease: "v2" });

    // Act
    const instance = launch("v2");
    await waitFor(() => instance.state === "running", 10_000, "the instance to run");
    const address = host.addressOf(instance.instanceId)!;
    const health = await get(`http://${address.host}:${address.port}/api/status/health`);

    // Assess
    expect(health.status).toBe(503);
    expect(instance.appServing).toBe(true);
  });

  it("fails the boot of an image whose release has no artifact, and stops every process on stopAll", async () => {
    // Prepare
    const { host, launch } = setUp();
    const unknown = launch("v9");
    const running = [launch("v1"), launch("v1")];
    await waitFor(() => running.every((instance) => instance.state === "running"), 10_000, "two instances to run");
    await waitFor(() => unknown.state === "terminated", 5_000, "the unbootable instance to terminate");
    const pids = running.map((instance) => host.processes.get(instance.instanceId)!.pid!);

    // Act
    await host.stopAll();

    // Assess
    expect(unknown.stateReason?.Code).toBe("Server.InternalError");
    expect(unknown.stateReason?.Message).toContain("no release artifact");
    expect(pids.map(isAlive)).toEqual([false, false]);
    expect(host.alive()).toEqual([]);
  });
});
