import { describe, expect, it } from "vitest";
import { USAGE, UsageError, formatSummary, parseCli, summaryJson } from "../../rehearsal/main.js";
import type { RehearsalSummary } from "../../rehearsal/rehearsal.js";

const summary: RehearsalSummary = {
  releases: ["v1", "v2"],
  requests: 300,
  failedRequests: 0,
  servedBy: { v1: 120, v2: 180 },
  seconds: 31.4,
  url: "http://127.0.0.1:40000",
  deploys: [
    { release: "v1", outcome: "succeeded", expected: "succeeded", seconds: 9.1 },
    { release: "v2", outcome: "succeeded", expected: "succeeded", seconds: 15.2 },
  ],
  timeline: [
    { fromSeconds: 0, servedBy: { v1: 100 }, failed: 0 },
    { fromSeconds: 5, servedBy: { v1: 20, v2: 80 }, failed: 0 },
  ],
  failures: [],
  liveProcesses: [],
  startedProcesses: [],
  helperProcesses: [],
  ok: true,
};

describe("npm start command line", () => {
  it("defaults to two releases, two instances, 20 requests/s on an application load balancer", () => {
    // Prepare, Act
    const options = parseCli([]);

    // Assess
    expect(options).toMatchObject({ releases: 2, instances: 2, requestsPerSecond: 20, brokenLast: false, loadBalancer: "application", json: false, keepRunning: false });
  });

  it("reads every option and rejects bad values and unknown flags", () => {
    // Prepare, Act
    const options = parseCli(["--releases", "3", "--instances", "1", "--rate", "5", "--broken-last", "--json", "--keep-running", "--load-balancer", "classic"]);

    // Assess
    expect(options).toMatchObject({ releases: 3, instances: 1, requestsPerSecond: 5, brokenLast: true, json: true, keepRunning: true, loadBalancer: "classic" });
    expect(() => parseCli(["--releases", "1"])).toThrow(UsageError);
    expect(() => parseCli(["--rate", "fast"])).toThrow(/--rate/);
    expect(() => parseCli(["--load-balancer", "nlb"])).toThrow(/--load-balancer/);
    expect(() => parseCli(["--bogus"])).toThrow(UsageError);
    expect(USAGE).toContain("--broken-last");
  });

  it("prints the DESIGN.md summary keys first, as one JSON line", () => {
    // Prepare, Act
    const line = summaryJson(summary);

    // Assess
    expect(line).not.toContain("\n");
    expect(Object.keys(JSON.parse(line)).slice(0, 5)).toEqual(["releases", "requests", "failedRequests", "servedBy", "seconds"]);
    expect(JSON.parse(line)).toMatchObject({ releases: ["v1", "v2"], requests: 300, failedRequests: 0, servedBy: { v1: 120, v2: 180 }, seconds: 31.4 });
  });

  it("summarizes for people: outcomes, counts, traffic over time, the URL and the verdict", () => {
    // Prepare, Act
    const text = formatSummary({ ...summary, failedRequests: 2, ok: false, failures: [{ atSeconds: 7.2, reason: "HTTP 502" }] });

    // Assess
    expect(text).toContain("v1 succeeded in 9.1 s, v2 succeeded in 15.2 s");
    expect(text).toContain("300 sent, 2 failed");
    expect(text).toMatch(/5-10 s +v1 +20 +v2 +80/);
    expect(text).toContain("failed at 7.2 s: HTTP 502");
    expect(text).toContain("http://127.0.0.1:40000 (stopped)");
    expect(text).toContain("NOT OK");
  });
});
