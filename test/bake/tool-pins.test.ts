import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildspec, checkTool, packerDir, parseToolPins, repoRoot, toolPinValues, toolPinsFile } from "./support.js";

const gpg = checkTool("gpg");

/** Packer's `plugins install` reaches releases.hashicorp.com (where the amazon plugin lives) from 1.14.0 on. */
const MINIMUM_PACKER = [1, 14, 0];
/** The CPUs of CodeBuild's Amazon Linux 2023 images. */
const PLATFORMS = ["LINUX_AMD64", "LINUX_ARM64"];
/** Tools fetched as zips from releases.hashicorp.com, each pinned by version and per-platform SHA256. */
const HASHICORP_TOOLS = ["PACKER", "AMAZON_PLUGIN"];
/** The fingerprints HashiCorp and AWS publish for their signing keys. */
const HASHICORP_FINGERPRINT = "C874011F0AB405110D02105534365D9472D7468F";
const SESSION_MANAGER_FINGERPRINT = "7959637124CE093AD501D47A2C4D4AFF6F6757EE";
const VERSION_NAMES = ["PACKER_VERSION", "AMAZON_PLUGIN_VERSION", "SESSION_MANAGER_PLUGIN_VERSION"];

function isAtLeast(version: string, minimum: number[]): boolean {
  const parts = version.split(".").map(Number);
  for (let i = 0; i < minimum.length; i++) {
    if ((parts[i] ?? 0) !== minimum[i]) return (parts[i] ?? 0) > minimum[i];
  }
  return true;
}

/** What is wrong with a set of pins, in words; empty when the bake can install and check every tool. */
function pinProblems(pins: Record<string, string>): string[] {
  const problems: string[] = [];
  const packer = pins.PACKER_VERSION ?? "";
  if (!/^\d+\.\d+\.\d+$/.test(packer)) problems.push(`PACKER_VERSION '${packer}' is not an exact version`);
  else if (!isAtLeast(packer, MINIMUM_PACKER)) problems.push(`Packer ${packer} cannot install plugins from releases.hashicorp.com (needs >= ${MINIMUM_PACKER.join(".")})`);
  if (!/^\d+\.\d+\.\d+$/.test(pins.AMAZON_PLUGIN_VERSION ?? "")) problems.push("AMAZON_PLUGIN_VERSION is not an exact version");
  for (const tool of HASHICORP_TOOLS) {
    for (const platform of PLATFORMS) {
      const name = `${tool}_SHA256_${platform}`;
      if (!/^[0-9a-f]{64}$/.test(pins[name] ?? "")) problems.push(`no SHA256 pinned: ${name}`);
    }
  }
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(pins.SESSION_MANAGER_PLUGIN_VERSION ?? "")) problems.push("SESSION_MANAGER_PLUGIN_VERSION is not an exact version");
  for (const name of ["HASHICORP_PGP_FINGERPRINT", "SESSION_MANAGER_PLUGIN_PGP_FINGERPRINT"]) {
    if (!/^[0-9A-F]{40}$/.test(pins[name] ?? "")) problems.push(`no key fingerprint pinned: ${name}`);
  }
  return problems;
}

const pins = parseToolPins(readFileSync(toolPinsFile, "utf8"));
const values = toolPinValues(pins);

describe("the tool pins (packer/ci/versions.env)", () => {
  it("refuses the pins main had: Packer 1.11.2 (stacks/Pipeline.ts) and amazon plugin 1.8.0 without a sum (buildspec.yml)", () => {
    // Prepare
    const mainPins = { PACKER_VERSION: "1.11.2", AMAZON_PLUGIN_VERSION: "1.8.0" };
    // Act
    const problems = pinProblems(mainPins);
    // Assess
    expect(problems).toContain("Packer 1.11.2 cannot install plugins from releases.hashicorp.com (needs >= 1.14.0)");
    expect(problems).toEqual(expect.arrayContaining(["no SHA256 pinned: AMAZON_PLUGIN_SHA256_LINUX_AMD64", "no SHA256 pinned: AMAZON_PLUGIN_SHA256_LINUX_ARM64"]));
  });

  it("pin Packer >= 1.14 and every tool with a SHA256 for linux amd64 and arm64, or a signing key", () => {
    expect(pinProblems(values)).toEqual([]);
  });

  it("read the same when bash sources them, as install-tools.sh does", () => {
    // Act
    const result = spawnSync("bash", ["-c", `set -eu; source "$1"; for name in "\${@:2}"; do echo "$name=\${!name}"; done`, "bash", toolPinsFile, ...pins.map((pin) => pin.name)], {
      encoding: "utf8",
      env: { PATH: process.env.PATH },
      stdio: ["ignore", "pipe", "pipe"], // a socket on stdin makes bash read ~/.bashrc
    });
    // Assess
    expect(result.stderr).toBe("");
    expect(result.stdout.trim().split("\n")).toEqual(pins.map((pin) => `${pin.name}=${pin.value}`));
  });

  it("say where each value comes from", () => {
    for (const pin of pins) expect(pin.comment, `${pin.name} has no 'Source:' comment`).toMatch(/Source:/);
  });

  it("are the only place that sets a tool version: not buildspec.yml, not the CodeBuild project (install-tools.sh refuses an override)", () => {
    // The Pipeline stack set PACKER_VERSION "1.11.2" in the CodeBuild project's environment; no stack file may.
    const stackFiles = readdirSync(join(repoRoot, "stacks"), { recursive: true, encoding: "utf8" }).filter((file) => file.endsWith(".ts"));
    for (const name of VERSION_NAMES) {
      expect(Object.keys(buildspec.env.variables), `buildspec.yml sets ${name}`).not.toContain(name);
      for (const file of stackFiles) {
        const source = readFileSync(join(repoRoot, "stacks", file), "utf8");
        const settingLines = source.split("\n").filter((line) => new RegExp(`\\b${name}\\b`).test(line)).map((line) => line.trim());
        expect(settingLines, `stacks/${file} sets ${name}: delete it, packer/ci/versions.env pins it`).toEqual([]);
      }
    }
  });
});

describe.skipIf(!gpg.available)(`the committed signing keys${gpg.reason}`, () => {
  let home: string;
  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), "gnupg-keys-"));
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  /** `gpg --show-keys` (offline, nothing imported): the primary fingerprint and the usable signing keys. */
  function showKey(file: string): { fingerprint: string; keys: number; signingKeysValidNow: number } {
    const result = spawnSync("gpg", ["--homedir", home, "--batch", "--with-colons", "--show-keys", file], { encoding: "utf8" });
    expect(result.status, result.stderr).toBe(0);
    const records = result.stdout.split("\n").map((line) => line.split(":"));
    const now = Date.now() / 1000;
    const signingKeysValidNow = records.filter(
      (fields) => (fields[0] === "pub" || fields[0] === "sub") && fields[11].includes("s") && !["e", "r"].includes(fields[1]) && (fields[6] === "" || Number(fields[6]) > now),
    ).length;
    return { fingerprint: records.find((fields) => fields[0] === "fpr")?.[9] ?? "", keys: records.filter((fields) => fields[0] === "pub").length, signingKeysValidNow };
  }

  it.each([
    ["hashicorp.asc", HASHICORP_FINGERPRINT, "HASHICORP_PGP_FINGERPRINT"],
    ["session-manager-plugin.asc", SESSION_MANAGER_FINGERPRINT, "SESSION_MANAGER_PLUGIN_PGP_FINGERPRINT"],
  ])("%s is one key, with the vendor's published fingerprint, able to sign today", (file, published, pinName) => {
    // Act
    const key = showKey(join(packerDir, "ci/keys", file));
    // Assess
    expect(key.keys).toBe(1);
    expect(key.fingerprint).toBe(published);
    expect(values[pinName]).toBe(published);
    expect(key.signingKeysValidNow, `${file} has expired: take a fresh copy from the vendor`).toBeGreaterThan(0);
  });
});
