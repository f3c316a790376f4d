import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");

describe("npm run simulate", () => {
  it("refuses a scenario with a misspelled operation or an unknown field: exit 2, each problem with what is allowed", () => {
    // Prepare
    const dir = mkdtempSync(path.join(tmpdir(), "simulate-cli-"));
    const file = path.join(dir, "bad.json");
    writeFileSync(file, JSON.stringify({ steps: [{ deploy: { release: "v2" }, faults: [{ operation: "AutoScaling:DescribeAutoScalingGroup", error: "Throttling" }] }], extra: 1 }));
    try {
      // Act
      const run = spawnSync(process.execPath, ["--import", "tsx", "scripts/simulate.ts", "--scenario", file], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
      // Assess
      expect(run.status).toBe(2);
      expect(run.stderr).toContain('steps.0.faults.0.operation: "AutoScaling:DescribeAutoScalingGroup"; allowed: an operation the simulated region models:');
      expect(run.stderr).toContain("AutoScaling:DescribeAutoScalingGroups");
      expect(run.stderr).toContain("(scenario): unknown field(s) extra; allowed: name, environment, timing, traffic, consistency, steps");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
