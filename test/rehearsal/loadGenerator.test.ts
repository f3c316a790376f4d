import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { HELPER_DIR, helperModule } from "../../rehearsal/ipc.js";
import { LoadGenerator } from "../../rehearsal/loadGenerator.js";
import { LoadGeneratorClient } from "../../rehearsal/loadGeneratorClient.js";
import { closeServer, isAlive } from "./helpers.js";

describe("LoadGenerator", () => {
  it("sends steady traffic and counts answers by release, failing non-200 answers and refused connections", async () => {
    // Prepare: every third request answers 500; releases alternate.
    let seen = 0;
    const server = createServer((_req, res) => {
      seen += 1;
      res.setHeader("x-release", seen % 2 === 0 ? "v2" : "v1");
      res.statusCode = seen % 3 === 0 ? 500 : 200;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const load = new LoadGenerator({ url, requestsPerSecond: 50, bucketSeconds: 1 });

    // Act
    load.start();
    await new Promise((resolve) => setTimeout(resolve, 600));
    const report = await load.stop();
    await closeServer(server);
    const refused = new LoadGenerator({ url, requestsPerSecond: 50 });
    refused.start();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const refusedReport = await refused.stop();

    // Assess
    expect(report.requests).toBeGreaterThanOrEqual(25);
    expect(report.requests).toBeLessThanOrEqual(35);
    expect(report.failedRequests).toBe(Math.floor(report.requests / 3));
    expect((report.servedBy.v1 ?? 0) + (report.servedBy.v2 ?? 0) + report.failedRequests).toBe(report.requests);
    expect(report.failures[0].reason).toBe("HTTP 500");
    expect(report.timeline[0].fromSeconds).toBe(0);
    expect(refusedReport.failedRequests).toBe(refusedReport.requests);
    expect(refusedReport.failures[0].reason).toMatch(/ECONNREFUSED/);
  });

  it("rejects a rate that is not positive", () => {
    // Prepare, Act, Assess
    expect(() => new LoadGenerator({ url: "http://127.0.0.1:1", requestsPerSecond: 0 })).toThrow(RangeError);
  });

  it("runs in its own process: counts by release, reports on stop, and the process ends on close", async () => {
    // Prepare
    const server = createServer((_req, res) => {
      res.setHeader("x-release", "v1");
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const load = await LoadGeneratorClient.start();

    // Act
    const beforeBegin = await load.stop();
    await load.begin({ url, requestsPerSecond: 40 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const report = await load.stop();
    const again = await load.stop();
    await load.close();
    await closeServer(server);

    // Assess
    expect(load.pid).not.toBe(process.pid);
    expect(beforeBegin.requests).toBe(0);
    expect(report.requests).toBeGreaterThanOrEqual(10);
    expect(report.failedRequests).toBe(0);
    expect(report.servedBy).toEqual({ v1: report.requests });
    expect(again).toEqual(report);
    expect(isAlive(load.pid)).toBe(false);
  });
});

describe("helper modules (rehearsal/ipc.ts)", () => {
  it("are bundled once into JavaScript named by their content, and run from their source with tsx where that cannot be written", async () => {
    // Prepare: a file where the fallback's folder would be, so that folder cannot be made.
    const entry = new URL("../../rehearsal/loadGeneratorProcess.ts", import.meta.url);
    const scratch = mkdtempSync(join(tmpdir(), "helper-modules-"));
    const blocked = join(scratch, "not-a-folder");
    writeFileSync(blocked, "");
    try {
      // Act
      const bundled = await helperModule(entry);
      const again = await helperModule(entry);
      const fallback = await helperModule(entry, join(blocked, "helpers"));

      // Assess: self-contained JavaScript (the local modules inlined), forked without a loader.
      expect(bundled.execArgv).toEqual([]);
      expect(bundled.file.startsWith(HELPER_DIR)).toBe(true);
      expect(bundled.file).toMatch(/loadGeneratorProcess-[0-9a-f]{16}\.mjs$/);
      expect(readFileSync(bundled.file, "utf8")).not.toMatch(/from "\.\.?\//);
      expect(again).toBe(bundled);
      expect(fallback.file).toBe(fileURLToPath(entry));
      expect(fallback.execArgv).toEqual(["--import", expect.stringMatching(/\/tsx\/.*\.mjs$/)]);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
