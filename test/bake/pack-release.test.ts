import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { list } from "tar";
import { UsageError } from "../../scripts/cli.js";
import { packRelease, packReleaseCli, RELEASE_MANIFEST } from "../../scripts/pack-release.js";
import { usePrivateTempFolder } from "../tempFolder.js";
import { exampleAppDir, repoRoot } from "./support.js";

const temp = usePrivateTempFolder("pack-release-test");
afterAll(() => temp.remove());

/** `npx tsx scripts/pack-release.ts ...args`, as a user runs it. */
function packReleaseCommand(...args: string[]) {
  return spawnSync(process.execPath, ["--import", "tsx", join(repoRoot, "scripts/pack-release.ts"), ...args], { cwd: repoRoot, encoding: "utf8" });
}

async function archiveEntries(file: string): Promise<string[]> {
  const entries: string[] = [];
  await list({ file, onReadEntry: (entry) => entries.push(entry.path) });
  return entries.sort();
}

describe("packRelease", () => {
  let workDir: string;

  beforeEach(() => {
    workDir = mkdtempSync(join(tmpdir(), "pack-release-test-"));
  });
  afterEach(() => rmSync(workDir, { recursive: true, force: true }));

  function unpack(file: string): string {
    const dir = mkdtempSync(join(workDir, "unpacked-"));
    const result = spawnSync("tar", ["-xzf", file, "-C", dir]);
    expect(result.status).toBe(0);
    return dir;
  }

  it("packs the example app with package.json, package-lock.json, its files and the release label", async () => {
    // Prepare
    const outFile = join(workDir, "dist/releases/v2.tgz");
    // Act
    const packed = await packRelease({ appDir: exampleAppDir, release: "v2", outFile });
    // Assess
    expect(packed.outFile).toBe(outFile);
    expect(await archiveEntries(outFile)).toEqual(
      expect.arrayContaining(["package.json", "package-lock.json", "server.js", "public/styles.css", RELEASE_MANIFEST]),
    );
    const unpacked = unpack(outFile);
    expect(JSON.parse(readFileSync(join(unpacked, RELEASE_MANIFEST), "utf8"))).toEqual({
      release: "v2",
      name: "immutable-deploy-example-app",
      version: "1.0.0",
    });
    expect(readFileSync(join(unpacked, "package-lock.json"), "utf8")).toBe(readFileSync(join(exampleAppDir, "package-lock.json"), "utf8"));
  });

  it("without a files list, ships everything but node_modules and dot files", async () => {
    // Prepare
    const appDir = join(workDir, "app");
    cpSync(exampleAppDir, appDir, { recursive: true });
    const packageJson = JSON.parse(readFileSync(join(appDir, "package.json"), "utf8"));
    delete packageJson.files;
    writeFileSync(join(appDir, "package.json"), JSON.stringify(packageJson));
    mkdirSync(join(appDir, "node_modules/left-pad"), { recursive: true });
    writeFileSync(join(appDir, "node_modules/left-pad/index.js"), "");
    writeFileSync(join(appDir, ".env"), "SECRET=1");
    mkdirSync(join(appDir, "dist"));
    writeFileSync(join(appDir, "dist/bundle.js"), "");
    // Act
    const outFile = join(appDir, "dist/v3.tgz");
    await packRelease({ appDir, release: "v3", outFile });
    // Assess
    const entries = await archiveEntries(outFile);
    expect(entries).toEqual(expect.arrayContaining(["dist/bundle.js", "server.js", "package-lock.json"]));
    expect(entries.filter((entry) => entry.includes("node_modules") || entry.includes(".env") || entry.endsWith("v3.tgz"))).toEqual([]);
  });

  it("rejects an app folder without package-lock.json, saying why", async () => {
    const appDir = join(workDir, "app");
    cpSync(exampleAppDir, appDir, { recursive: true });
    rmSync(join(appDir, "package-lock.json"));
    await expect(packRelease({ appDir, release: "v2", outFile: join(workDir, "v2.tgz") })).rejects.toThrow(
      /has no package-lock.json: the bake installs dependencies with `npm ci`/,
    );
  });

  it("packs a release labelled with a semantic version with build metadata, label verbatim", async () => {
    const outFile = join(workDir, "dist/releases/web-app-2.4.2+build.188.tgz");
    await packRelease({ appDir: exampleAppDir, release: "web-app-2.4.2+build.188", outFile });
    expect(JSON.parse(readFileSync(join(unpack(outFile), RELEASE_MANIFEST), "utf8")).release).toBe("web-app-2.4.2+build.188");
  });

  it("rejects a release label the pipeline would not accept", async () => {
    await expect(packRelease({ appDir: exampleAppDir, release: "v2/../x", outFile: join(workDir, "x.tgz") })).rejects.toThrow(
      /is not a release label/,
    );
  });

  it("runs from the command line", () => {
    const outFile = join(workDir, "cli.tgz");
    const result = packReleaseCommand("--app", exampleAppDir, "--release", "v7", "--out", outFile);
    expect(result.stderr).not.toMatch(/pack-release:/);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`packed release v7 into ${outFile}`);
  });
});

describe("pack-release on the command line", () => {
  // Three cases as a user runs them (the command above, one usage error, one failure); the rest read the command
  // line in this process (packReleaseCli, what the command runs): a process each cost a Node start and tsx's load.
  it("--help prints the usage and exits 0", async () => {
    let stdout = "";
    const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => ((stdout += String(chunk)), true));
    try {
      expect(await packReleaseCli(["--help"])).toBe(0);
    } finally {
      write.mockRestore();
    }
    expect(stdout).toMatch(/^Usage: npx tsx scripts\/pack-release.ts --release <label>/);
    expect(stdout).toContain("--out <file>");
  });

  it("a usage error is one line naming the option, the value and what is allowed, and a pointer to --help; exit 2", () => {
    const result = packReleaseCommand("--release", "v2", "--out", "x.zip");
    expect(result.status).toBe(2);
    expect(result.stderr).toBe("pack-release: --out: x.zip; allowed: a file path ending in .tgz (the pipeline only deploys releases/*.tgz)\n(npx tsx scripts/pack-release.ts --help lists every option)\n");
    expect(result.stdout).toBe("");
  });

  it.each([
    [[], '--release: missing; allowed: 1-64 letters, digits, ".", "_", "-", "+", starting with a letter or digit'],
    [["--release", "v2/../x"], '--release: v2/../x; allowed: 1-64 letters, digits, ".", "_", "-", "+", starting with a letter or digit'],
    [["--release", "v2", "--app", "no-such-folder"], "--app: no-such-folder; allowed: an existing app folder, holding package.json and package-lock.json"],
    [["--release"], '--release: no value; allowed: 1-64 letters, digits, ".", "_", "-", "+", starting with a letter or digit'],
    [["--release", "v2", "--zip"], "--zip: unknown option; allowed: --release, --app, --out, --help"],
    [["v2"], "v2: not an option; allowed: only options: --release, --app, --out, --help"],
  ])("%j is a usage error naming the option, the value and what is allowed", async (args, message) => {
    const refused = packReleaseCli(args);
    await expect(refused).rejects.toThrow(UsageError);
    await expect(refused).rejects.toThrow(message);
  });

  it("writes nothing when an option is wrong", async () => {
    await expect(packReleaseCli(["--release", "v2", "--out", join(temp.path, "v2.zip")])).rejects.toThrow(UsageError);
    expect(existsSync(join(temp.path, "v2.zip"))).toBe(false);
  });

  it("an app folder that cannot be packed is an error with the reason, exit 1, no stack trace", () => {
    const appDir = mkdtempSync(join(tmpdir(), "pack-release-app-"));
    writeFileSync(join(appDir, "package.json"), "{}");
    const result = packReleaseCommand("--release", "v2", "--app", appDir, "--out", join(appDir, "v2.tgz"));
    rmSync(appDir, { recursive: true, force: true });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^pack-release: .* has no package-lock.json: the bake installs dependencies with `npm ci`/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});

describe("the temp folder", () => {
  // Last in this file: everything above ran with os.tmpdir() pointing at a folder of its own.
  it("holds nothing that these tests or pack-release wrote", () => {
    expect(temp.leftovers()).toEqual([]);
  });
});
