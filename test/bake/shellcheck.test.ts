import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { checkTool, packerDir, repoRoot } from "./support.js";

const shellcheck = checkTool("shellcheck");

function shellScripts(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return shellScripts(path);
    return entry.name.endsWith(".sh") ? [path] : [];
  });
}

const scripts = shellScripts(packerDir);

describe("provisioning and CI scripts", () => {
  it("exist for both images and the bake", () => {
    const names = scripts.map((path) => relative(packerDir, path));
    expect(names).toEqual(
      expect.arrayContaining(["base/scripts/install-node.sh", "release/scripts/install-service.sh", "ci/bake.sh", "ci/install-tools.sh"]),
    );
  });

  it.each(scripts.map((path) => [relative(repoRoot, path), path]))("%s fails on the first error", (_name, path) => {
    const lines = readFileSync(path, "utf8").split("\n");
    expect(lines[0]).toBe("#!/usr/bin/env bash");
    expect(lines).toContain("set -euo pipefail");
  });

  it.skipIf(!shellcheck.available)(`pass shellcheck${shellcheck.reason}`, () => {
    // Act
    // --external-sources: install-tools.sh sources ci/versions.env, which is checked with it.
    const result = spawnSync("shellcheck", ["--shell=bash", "--severity=style", "--external-sources", ...scripts], { encoding: "utf8" });
    // Assess
    expect(result.stdout + result.stderr).toBe("");
    expect(result.status).toBe(0);
  });
});
