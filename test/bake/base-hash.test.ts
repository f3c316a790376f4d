import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { beforeEach, describe, expect, it } from "vitest";
import { computeBaseHash } from "../../packer/base-hash.mjs";
import { exampleAppDir, packerDir } from "./support.js";

const NODE_VERSION = "22.12.0";

/** A lock file with one production dependency, as npm writes it. */
function lockFileText(version: string, dependencyVersion = "4.21.2"): string {
  return `${JSON.stringify(
    {
      name: "shop",
      version,
      lockfileVersion: 3,
      requires: true,
      packages: {
        "": { name: "shop", version, dependencies: { express: `^${dependencyVersion}` } },
        "node_modules/express": { version: dependencyVersion, resolved: `https://registry.npmjs.org/express/-/express-${dependencyVersion}.tgz` },
      },
    },
    null,
    2,
  )}\n`;
}

describe("computeBaseHash", () => {
  let workDir: string;
  let copiedPackerDir: string;
  let lockFile: string;
  let hashNow: (nodeVersion?: string) => string;

  beforeEach(() => {
    // Prepare: a private copy of packer/ so the test may change any file in it.
    workDir = mkdtempSync(join(tmpdir(), "base-hash-"));
    copiedPackerDir = join(workDir, "packer");
    cpSync(packerDir, copiedPackerDir, { recursive: true });
    lockFile = join(workDir, "package-lock.json");
    writeFileSync(lockFile, lockFileText("1.0.0"));
    hashNow = (nodeVersion = NODE_VERSION) => computeBaseHash({ packerDir: copiedPackerDir, nodeVersion, lockFile });
  });

  function append(relativePath: string, text: string): void {
    const path = join(copiedPackerDir, relativePath);
    writeFileSync(path, readFileSync(path, "utf8") + text);
  }

  it("is a stable sha256 hex digest", () => {
    expect(hashNow()).toMatch(/^[0-9a-f]{64}$/);
    expect(hashNow()).toBe(hashNow());
  });

  it.each([
    ["the base template", "base/base.pkr.hcl"],
    ["a base provisioning script", "base/scripts/install-node.sh"],
    ["a file the base image installs", "base/files/60-immutable-deploy.conf"],
  ])("changes when %s changes", (_what, path) => {
    const before = hashNow();
    append(path, "\n# changed\n");
    expect(hashNow()).not.toBe(before);
  });

  it("changes when a base script is added", () => {
    const before = hashNow();
    writeFileSync(join(copiedPackerDir, "base/scripts/extra.sh"), "#!/usr/bin/env bash\n");
    expect(hashNow()).not.toBe(before);
  });

  it("changes when the Node.js version changes", () => {
    expect(hashNow("22.12.0")).not.toBe(hashNow("22.13.0"));
  });

  it("changes when a dependency in the lock file changes", () => {
    const before = hashNow();
    writeFileSync(lockFile, lockFileText("1.0.0", "4.21.3"));
    expect(hashNow()).not.toBe(before);
  });

  it.each([
    ["the release template", "release/release.pkr.hcl"],
    ["a release script", "release/scripts/install-release.sh"],
    ["the nginx site", "release/files/webapp-site.conf.template"],
    ["the systemd unit", "release/files/webapp.service.template"],
    ["the bake script", "ci/bake.sh"],
  ])("does not change when %s changes", (_what, path) => {
    const before = hashNow();
    append(path, "\n# changed\n");
    expect(hashNow()).toBe(before);
  });

  it("does not change when only the app's own version or the lock file's formatting changes", () => {
    const before = hashNow();
    writeFileSync(lockFile, JSON.stringify(JSON.parse(lockFileText("2.0.0"))));
    expect(hashNow()).toBe(before);
  });

  it("rejects a lock file that is not JSON", () => {
    writeFileSync(lockFile, "{ not json");
    expect(() => hashNow()).toThrow(/package-lock.json is not valid JSON/);
  });

  it("prints the same hash from the command line the bake uses", () => {
    // Act
    const result = spawnSync(
      "node",
      [join(packerDir, "base-hash.mjs"), "--packer-dir", packerDir, "--node-version", NODE_VERSION, "--lock-file", join(exampleAppDir, "package-lock.json")],
      { encoding: "utf8" },
    );
    // Assess
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe(
      computeBaseHash({ packerDir, nodeVersion: NODE_VERSION, lockFile: join(exampleAppDir, "package-lock.json") }),
    );
  });
});
