import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { computeBaseHash } from "../../packer/base-hash.mjs";
import { usePrivateTempFolder } from "../tempFolder.js";
import { exampleAppDir, packerDir } from "./support.js";

const temp = usePrivateTempFolder("base-hash-test");
afterAll(() => temp.remove());

/** `node packer/base-hash.mjs ...args`, as the bake runs it. */
const baseHashCommand = (...args: string[]) => spawnSync(process.execPath, [join(packerDir, "base-hash.mjs"), ...args], { encoding: "utf8" });
const exampleLockFile = join(exampleAppDir, "package-lock.json");

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
  afterEach(() => rmSync(workDir, { recursive: true, force: true }));

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

  it("rejects a Node.js version that is not x.y.z", () => {
    expect(() => hashNow("v22.12.0")).toThrow('nodeVersion "v22.12.0" is not a full Node.js version x.y.z without "v", e.g. 22.12.0');
  });

  it("prints the same hash from the command line the bake uses", () => {
    // Act
    const result = baseHashCommand("--packer-dir", packerDir, "--node-version", NODE_VERSION, "--lock-file", exampleLockFile);
    // Assess
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe(computeBaseHash({ packerDir, nodeVersion: NODE_VERSION, lockFile: exampleLockFile }));
  });
});

describe("base-hash on the command line", () => {
  const valid = ["--packer-dir", packerDir, "--node-version", NODE_VERSION, "--lock-file", exampleLockFile];
  const without = (option: string) => valid.filter((_, index) => valid[index] !== option && valid[index - 1] !== option);
  const NODE_VERSION_RULE = 'a full Node.js version x.y.z without "v", e.g. 22.12.0';

  it("--help prints the usage and exits 0", () => {
    const result = baseHashCommand("--help");
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^Usage: node packer\/base-hash.mjs --packer-dir <folder> --node-version <x.y.z> --lock-file <package-lock.json>/);
    expect(result.stderr).toBe("");
  });

  it.each([
    [[...without("--node-version"), "--node-version", "v22"], `--node-version: v22; allowed: ${NODE_VERSION_RULE}`],
    [[...without("--node-version"), "--node-version", "22"], `--node-version: 22; allowed: ${NODE_VERSION_RULE}`],
    [[...without("--node-version"), "--node-version", "v22.12.0"], `--node-version: v22.12.0; allowed: ${NODE_VERSION_RULE}`],
    [without("--node-version"), `--node-version: missing; allowed: ${NODE_VERSION_RULE}`],
    [[...without("--packer-dir"), "--packer-dir", "no-such-folder"], "--packer-dir: no-such-folder; allowed: a folder holding base/ (this repository's packer/)"],
    [[...without("--lock-file"), "--lock-file", "no-such-lock.json"], "--lock-file: no-such-lock.json; allowed: an existing package-lock.json file"],
    [[...valid, "--verbose"], "--verbose: unknown option; allowed: --packer-dir, --node-version, --lock-file, --help"],
    [[...without("--lock-file"), "--lock-file"], "--lock-file: no value; allowed: a package-lock.json file"],
  ])("%j is a usage error: one line naming the option, the value and what is allowed, exit 2", (args, message) => {
    const result = baseHashCommand(...args);
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(`base-hash: ${message}\n(node packer/base-hash.mjs --help lists every option)\n`);
    expect(result.stdout).toBe("");
  });

  it("a lock file that is not JSON is an error with the reason, exit 1, no stack trace", () => {
    const lockFile = join(temp.path, "package-lock.json");
    writeFileSync(lockFile, "{ not json");
    const result = baseHashCommand(...without("--lock-file"), "--lock-file", lockFile);
    rmSync(lockFile);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^deploy: base-hash failed: package-lock.json is not valid JSON/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});

describe("the temp folder", () => {
  // Last in this file: everything above ran with os.tmpdir() pointing at a folder of its own.
  it("holds nothing that these tests wrote", () => {
    expect(temp.leftovers()).toEqual([]);
  });
});
