import { spawnSync } from "node:child_process";
import { appendFileSync, chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkTool, codeBuildPhaseScript, packerDir, parseToolPins, repoRoot, toolPinValues, toolPinsFile } from "./support.js";

// The signatures are real: gpg signs the stand-in releases with throwaway keys and install-tools.sh checks
// them with the real gpg. The network tools (curl, unzip, dnf, uname) and Packer itself are stand-ins.
const gpg = checkTool("gpg");
const tar = checkTool("tar");

/** The real pinned versions: the stand-in releases are published under them. */
const VERSIONS = toolPinValues(parseToolPins(readFileSync(toolPinsFile, "utf8")));
const PACKER = VERSIONS.PACKER_VERSION;
const PLUGIN = VERSIONS.AMAZON_PLUGIN_VERSION;
const SSM = VERSIONS.SESSION_MANAGER_PLUGIN_VERSION;
const PLUGIN_API = "x5.0";

type Arch = "amd64" | "arm64";
const MACHINE: Record<Arch, string> = { amd64: "x86_64", arm64: "aarch64" };
const SSM_DIR: Record<Arch, string> = { amd64: "linux_64bit", arm64: "linux_arm64" };

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

function writeScript(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  chmodSync(path, 0o755);
}

// ---- Stand-ins on PATH -------------------------------------------------------------------------------
// curl serves files from $FAKE_SITE/<host>/<path> and fails like `curl -f` on anything else.
const FAKE_CURL = `#!/usr/bin/env bash
echo "curl $*" >> "$FAKE_CALLS"
out=""; url=""
while (($#)); do
  case "$1" in
    -o) out="$2"; shift 2 ;;
    --proto|--retry) shift 2 ;;
    -*) shift ;;
    *) url="$1"; shift ;;
  esac
done
file="$FAKE_SITE/\${url#https://}"
[[ "$url" == https://* && -f "$file" ]] || { echo "curl: (22) The requested URL returned error: 404" >&2; exit 22; }
cp "$file" "$out"
`;
// The stand-in "zips" are tar archives.
const FAKE_UNZIP = `#!/usr/bin/env bash
echo "unzip $*" >> "$FAKE_CALLS"
dest="."; zip=""
while (($#)); do
  case "$1" in
    -d) dest="$2"; shift 2 ;;
    -*) shift ;;
    *) zip="$1"; shift ;;
  esac
done
tar -xf "$zip" -C "$dest"
`;
const FAKE_UNAME = `#!/usr/bin/env bash
[[ "$*" == "-m" ]] || { echo "fake uname: unexpected $*" >&2; exit 2; }
echo "$FAKE_MACHINE"
`;
// dnf "installs" the RPM by putting it on PATH as session-manager-plugin (the stand-in RPM is that program).
const FAKE_DNF = `#!/usr/bin/env bash
echo "dnf $*" >> "$FAKE_CALLS"
[[ "$1 $2" == "install -y" && $# -eq 3 ]] || { echo "fake dnf: unexpected $*" >&2; exit 1; }
install -m 0755 "$3" "$FAKE_SYSTEM_BIN/session-manager-plugin"
`;

// ---- Stand-in release contents -----------------------------------------------------------------------
/** Packer as it would answer the install script: version, plugins install --path, plugins installed. */
const fakePacker = (version: string) => `#!/usr/bin/env bash
echo "packer $*" >> "$FAKE_CALLS"
plugins="$HOME/.config/packer/plugins"
case "$*" in
  version) echo "Packer v${version}"; echo "Your version of Packer is up to date!" ;;
  "plugins install --path "*" github.com/hashicorp/amazon")
    [[ $# -eq 5 && -x "$4" ]] || { echo "fake packer: bad plugin path $4" >&2; exit 1; }
    describe="$("$4" describe)"
    plugin_version="$(sed -E 's/.*"version":"([^"]+)".*/\\1/' <<<"$describe")"
    api_version="$(sed -E 's/.*"api_version":"([^"]+)".*/\\1/' <<<"$describe")"
    mkdir -p "$plugins/github.com/hashicorp/amazon"
    cp "$4" "$plugins/github.com/hashicorp/amazon/packer-plugin-amazon_v\${plugin_version}_\${api_version}_linux_\${FAKE_ARCH}"
    echo "Successfully installed plugin github.com/hashicorp/amazon from $4" ;;
  "plugins installed") [[ -d "$plugins" ]] && find "$plugins" -type f -name 'packer-plugin-*' ;;
  *) echo "fake packer: unexpected $*" >&2; exit 1 ;;
esac
`;
const fakePlugin = (version: string) => `#!/usr/bin/env bash
[[ "$1" == describe ]] && echo '{"version":"${version}","sdk_version":"0.6.10","api_version":"${PLUGIN_API}","builders":["ebs","chroot"]}'
`;
const fakeSessionManagerPlugin = (version: string) => `#!/usr/bin/env bash
[[ "$1" == --version ]] && echo "${version}"
`;

/** A throwaway OpenPGP key in its own gpg home; `expired` makes one that lived a year from 2020 on. */
class SigningKey {
  readonly home = mkdtempSync(join(tmpdir(), "gpgkey-"));
  readonly fingerprint: string;
  readonly armored: string;
  private readonly clock: string[];

  constructor(uid: string, options: { expired?: boolean } = {}) {
    this.clock = options.expired ? ["--faked-system-time", "20200601T000000"] : [];
    this.gpg([...this.clock, "--passphrase", "", "--pinentry-mode", "loopback", "--quick-generate-key", uid, "ed25519", "sign", options.expired ? "1y" : "never"]);
    this.fingerprint = this.gpg(["--with-colons", "--list-keys"]).split("\n").find((line) => line.startsWith("fpr:"))!.split(":")[9];
    this.armored = this.gpg(["--armor", "--export", this.fingerprint]);
  }

  private gpg(args: string[]): string {
    const result = spawnSync("gpg", ["--homedir", this.home, "--batch", ...args], { encoding: "utf8" });
    if (result.status !== 0) throw new Error(`gpg ${args.join(" ")}: ${result.stderr}`);
    return result.stdout;
  }

  sign(file: string, signature: string): void {
    this.gpg([...this.clock, "--yes", "--pinentry-mode", "loopback", "--passphrase", "", "--detach-sign", "-o", signature, file]);
  }

  dispose(): void {
    spawnSync("gpgconf", ["--homedir", this.home, "--kill", "all"]);
    rmSync(this.home, { recursive: true, force: true });
  }
}

interface Keys {
  hashicorp: SigningKey;
  aws: SigningKey;
  stranger: SigningKey;
  expiredAws: SigningKey;
}

/** releases.hashicorp.com and AWS's download bucket as the install script sees them, for both CPUs. */
class FakeReleases {
  readonly root = mkdtempSync(join(tmpdir(), "fake-site-"));
  readonly sha256: Record<string, string> = {};

  constructor(private readonly keys: Keys) {
    this.publishHashiCorp("packer", PACKER, () => ({ packer: fakePacker(PACKER), "LICENSE.txt": "MPL\n" }));
    this.publishHashiCorp("packer-plugin-amazon", PLUGIN, (arch) => ({
      [`packer-plugin-amazon_v${PLUGIN}_${PLUGIN_API}_linux_${arch}`]: fakePlugin(PLUGIN),
      "LICENSE.txt": "MPL\n",
    }));
    for (const arch of ["amd64", "arm64"] as Arch[]) {
      const rpm = this.path(this.ssmUrl(arch));
      writeScript(rpm, fakeSessionManagerPlugin(SSM));
      keys.aws.sign(rpm, `${rpm}.sig`);
    }
  }

  path(url: string): string {
    return join(this.root, url.replace(/^https:\/\//, ""));
  }

  hashicorpUrl(product: string, version: string, file: string): string {
    return `https://releases.hashicorp.com/${product}/${version}/${file}`;
  }

  ssmUrl(arch: Arch): string {
    return `https://s3.amazonaws.com/session-manager-downloads/plugin/${SSM}/${SSM_DIR[arch]}/session-manager-plugin.rpm`;
  }

  /** Zips (tar archives here) for linux amd64 and arm64, their SHA256SUMS and its .72D7468F.sig. */
  private publishHashiCorp(product: string, version: string, members: (arch: Arch) => Record<string, string>): void {
    const sumsLines: string[] = [];
    for (const arch of ["amd64", "arm64"] as Arch[]) {
      const zipName = `${product}_${version}_linux_${arch}.zip`;
      const staging = mkdtempSync(join(tmpdir(), "zip-"));
      for (const [name, text] of Object.entries(members(arch))) writeScript(join(staging, name), text);
      const zip = this.path(this.hashicorpUrl(product, version, zipName));
      mkdirSync(dirname(zip), { recursive: true });
      const packed = spawnSync("tar", ["-cf", zip, "-C", staging, "."], { encoding: "utf8" });
      if (packed.status !== 0) throw new Error(packed.stderr);
      rmSync(staging, { recursive: true });
      this.sha256[zipName] = sha256(zip);
      sumsLines.push(`${this.sha256[zipName]}  ${zipName}`);
    }
    sumsLines.push(`${"0".repeat(64)}  ${product}_${version}_windows_amd64.zip`);
    const sums = this.path(this.hashicorpUrl(product, version, `${product}_${version}_SHA256SUMS`));
    writeFileSync(sums, `${sumsLines.join("\n")}\n`);
    this.keys.hashicorp.sign(sums, `${sums}.72D7468F.sig`);
  }

  /** versions.env for these releases: the real versions, the stand-ins' sums, the throwaway keys. */
  pinsFile(overrides: Record<string, string> = {}): string {
    const pins: Record<string, string> = {
      PACKER_VERSION: PACKER,
      PACKER_SHA256_LINUX_AMD64: this.sha256[`packer_${PACKER}_linux_amd64.zip`],
      PACKER_SHA256_LINUX_ARM64: this.sha256[`packer_${PACKER}_linux_arm64.zip`],
      AMAZON_PLUGIN_VERSION: PLUGIN,
      AMAZON_PLUGIN_SHA256_LINUX_AMD64: this.sha256[`packer-plugin-amazon_${PLUGIN}_linux_amd64.zip`],
      AMAZON_PLUGIN_SHA256_LINUX_ARM64: this.sha256[`packer-plugin-amazon_${PLUGIN}_linux_arm64.zip`],
      HASHICORP_PGP_FINGERPRINT: this.keys.hashicorp.fingerprint,
      SESSION_MANAGER_PLUGIN_VERSION: SSM,
      SESSION_MANAGER_PLUGIN_PGP_FINGERPRINT: this.keys.aws.fingerprint,
      ...overrides,
    };
    return `# Test pins\n${Object.entries(pins).map(([name, value]) => `${name}=${value}`).join("\n")}\n`;
  }

  dispose(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

interface InstallResult {
  status: number | null;
  stdout: string;
  stderr: string;
  calls: string[];
  binDir: string;
  home: string;
}

describe.skipIf(!gpg.available || !tar.available)(`install-tools.sh, run as CodeBuild's install phase runs it${gpg.reason}${tar.reason}`, () => {
  let keys: Keys;
  const sites: FakeReleases[] = [];
  const sources: string[] = [];

  beforeAll(() => {
    keys = {
      hashicorp: new SigningKey("Test HashiCorp <hc@example.com>"),
      aws: new SigningKey("Test AWS <aws@example.com>"),
      stranger: new SigningKey("Stranger <x@example.com>"),
      expiredAws: new SigningKey("Expired AWS <old@example.com>", { expired: true }),
    };
  });
  afterAll(() => {
    for (const key of Object.values(keys ?? {})) key.dispose();
    for (const site of sites) site.dispose();
    for (const source of sources) rmSync(source, { recursive: true, force: true });
  });

  function freshReleases(): FakeReleases {
    const releases = new FakeReleases(keys);
    sites.push(releases);
    return releases;
  }

  /** The install phase, on CodeBuild's source (buildspec.yml and packer/, with these releases' pins and keys). */
  function runInstallPhase(releases: FakeReleases, options: { arch?: Arch; pins?: string; env?: Record<string, string>; awsKey?: SigningKey } = {}): InstallResult {
    const arch = options.arch ?? "amd64";
    const source = mkdtempSync(join(tmpdir(), "codebuild-src-"));
    sources.push(source);
    cpSync(join(repoRoot, "buildspec.yml"), join(source, "buildspec.yml"));
    cpSync(packerDir, join(source, "packer"), { recursive: true });
    writeFileSync(join(source, "packer/ci/versions.env"), options.pins ?? releases.pinsFile());
    writeFileSync(join(source, "packer/ci/keys/hashicorp.asc"), keys.hashicorp.armored);
    writeFileSync(join(source, "packer/ci/keys/session-manager-plugin.asc"), (options.awsKey ?? keys.aws).armored);
    const fakeBin = join(source, ".fake-bin");
    for (const [name, text] of Object.entries({ curl: FAKE_CURL, unzip: FAKE_UNZIP, uname: FAKE_UNAME, dnf: FAKE_DNF })) writeScript(join(fakeBin, name), text);
    const binDir = join(source, ".tools-bin");
    mkdirSync(binDir);
    const calls = join(source, ".calls");
    writeFileSync(calls, "");

    const script = codeBuildPhaseScript("install", options.env ?? {}).join("\n");
    const result = spawnSync("bash", ["-c", script], {
      cwd: source,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"], // a socket on stdin makes bash read ~/.bashrc
      env: {
        // The stand-ins first, then where packer is installed; /usr/bin's own packer (if any) comes after.
        PATH: `${fakeBin}:${binDir}:/usr/local/bin:/usr/bin:/bin`,
        HOME: source,
        TOOLS_BIN_DIR: binDir,
        FAKE_SYSTEM_BIN: binDir,
        FAKE_SITE: releases.root,
        FAKE_CALLS: calls,
        FAKE_MACHINE: MACHINE[arch],
        FAKE_ARCH: arch,
      },
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr, calls: readFileSync(calls, "utf8").split("\n").filter(Boolean), binDir, home: source };
  }

  const downloads = (result: InstallResult) => result.calls.filter((call) => call.startsWith("curl ")).map((call) => call.split(" ").at(-1));
  const pluginInstalls = (result: InstallResult) => result.calls.filter((call) => call.startsWith("packer plugins install "));

  it.each(["amd64", "arm64"] as Arch[])("installs the pinned Packer, amazon plugin and Session Manager plugin on linux %s when everything matches", (arch) => {
    // Prepare
    const releases = freshReleases();
    // Act
    const result = runInstallPhase(releases, { arch });
    // Assess
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(downloads(result)).toEqual([
      releases.hashicorpUrl("packer", PACKER, `packer_${PACKER}_SHA256SUMS`),
      releases.hashicorpUrl("packer", PACKER, `packer_${PACKER}_SHA256SUMS.72D7468F.sig`),
      releases.hashicorpUrl("packer", PACKER, `packer_${PACKER}_linux_${arch}.zip`),
      releases.hashicorpUrl("packer-plugin-amazon", PLUGIN, `packer-plugin-amazon_${PLUGIN}_SHA256SUMS`),
      releases.hashicorpUrl("packer-plugin-amazon", PLUGIN, `packer-plugin-amazon_${PLUGIN}_SHA256SUMS.72D7468F.sig`),
      releases.hashicorpUrl("packer-plugin-amazon", PLUGIN, `packer-plugin-amazon_${PLUGIN}_linux_${arch}.zip`),
      releases.ssmUrl(arch),
      `${releases.ssmUrl(arch)}.sig`,
    ]);
    expect(readFileSync(join(result.binDir, "packer"), "utf8")).toBe(fakePacker(PACKER));
    const installs = pluginInstalls(result);
    expect(installs).toHaveLength(1);
    expect(installs[0]).toMatch(new RegExp(`^packer plugins install --path /\\S+/plugin/packer-plugin-amazon_v${PLUGIN}_${PLUGIN_API}_linux_${arch} github\\.com/hashicorp/amazon$`));
    expect(existsSync(join(result.home, `.config/packer/plugins/github.com/hashicorp/amazon/packer-plugin-amazon_v${PLUGIN}_${PLUGIN_API}_linux_${arch}`))).toBe(true);
    expect(result.calls).toContainEqual(expect.stringMatching(/^dnf install -y \/\S+\/session-manager-plugin\.rpm$/));
    expect(result.stdout).toContain(`deploy: tools ready: Packer ${PACKER}, amazon plugin ${PLUGIN}, Session Manager plugin ${SSM}`);
  });

  it("refuses a Packer zip whose SHA256 does not match the pin, and installs nothing", () => {
    // Prepare
    const releases = freshReleases();
    appendFileSync(releases.path(releases.hashicorpUrl("packer", PACKER, `packer_${PACKER}_linux_amd64.zip`)), "tampered");
    // Act
    const result = runInstallPhase(releases);
    // Assess
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(`deploy: checksum mismatch for packer_${PACKER}_linux_amd64.zip: expected ${releases.sha256[`packer_${PACKER}_linux_amd64.zip`]}`);
    expect(existsSync(join(result.binDir, "packer"))).toBe(false);
    expect(result.calls.some((call) => call.startsWith("unzip") || call.startsWith("packer") || call.startsWith("dnf"))).toBe(false);
  });

  it("refuses an amazon plugin zip whose SHA256 does not match the pin, and never calls packer plugins install", () => {
    const releases = freshReleases();
    appendFileSync(releases.path(releases.hashicorpUrl("packer-plugin-amazon", PLUGIN, `packer-plugin-amazon_${PLUGIN}_linux_arm64.zip`)), "tampered");
    const result = runInstallPhase(releases, { arch: "arm64" });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(`deploy: checksum mismatch for packer-plugin-amazon_${PLUGIN}_linux_arm64.zip`);
    expect(pluginInstalls(result)).toEqual([]);
  });

  it("refuses a pin that HashiCorp's signed SHA256SUMS contradicts, even when the download matches the signed list", () => {
    const releases = freshReleases();
    const wrongPin = "f".repeat(64);
    const result = runInstallPhase(releases, { pins: releases.pinsFile({ AMAZON_PLUGIN_SHA256_LINUX_AMD64: wrongPin }) });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(`lists '${releases.sha256[`packer-plugin-amazon_${PLUGIN}_linux_amd64.zip`]}' for packer-plugin-amazon_${PLUGIN}_linux_amd64.zip, but packer/ci/versions.env pins ${wrongPin}`);
    expect(pluginInstalls(result)).toEqual([]);
  });

  it("refuses a SHA256SUMS whose signature does not match it (a changed line)", () => {
    // Prepare: the zip and its line in SHA256SUMS both changed, the signature kept.
    const releases = freshReleases();
    const zip = releases.path(releases.hashicorpUrl("packer", PACKER, `packer_${PACKER}_linux_amd64.zip`));
    const sums = releases.path(releases.hashicorpUrl("packer", PACKER, `packer_${PACKER}_SHA256SUMS`));
    const original = releases.sha256[`packer_${PACKER}_linux_amd64.zip`];
    appendFileSync(zip, "tampered");
    writeFileSync(sums, readFileSync(sums, "utf8").replace(original, sha256(zip)));
    // Act: pinned to the changed zip, so only the signature can catch it.
    const result = runInstallPhase(releases, { pins: releases.pinsFile({ PACKER_SHA256_LINUX_AMD64: sha256(zip) }) });
    // Assess
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(`deploy: bad signature: packer_${PACKER}_SHA256SUMS is not signed by hashicorp.asc`);
    expect(existsSync(join(result.binDir, "packer"))).toBe(false);
  });

  it("refuses a SHA256SUMS signed with a key other than HashiCorp's", () => {
    const releases = freshReleases();
    const sums = releases.path(releases.hashicorpUrl("packer-plugin-amazon", PLUGIN, `packer-plugin-amazon_${PLUGIN}_SHA256SUMS`));
    keys.stranger.sign(sums, `${sums}.72D7468F.sig`);
    const result = runInstallPhase(releases);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(`deploy: bad signature: packer-plugin-amazon_${PLUGIN}_SHA256SUMS is not signed by hashicorp.asc`);
    expect(pluginInstalls(result)).toEqual([]);
  });

  it("refuses a good signature by a key whose fingerprint is not the pinned one (a swapped key file)", () => {
    const releases = freshReleases();
    const result = runInstallPhase(releases, { pins: releases.pinsFile({ HASHICORP_PGP_FINGERPRINT: keys.stranger.fingerprint }) });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(`is not signed by the key with fingerprint ${keys.stranger.fingerprint}`);
  });

  it("refuses a Session Manager plugin RPM that AWS's signature does not cover, and never runs dnf", () => {
    const releases = freshReleases();
    appendFileSync(releases.path(releases.ssmUrl("amd64")), "# tampered\n");
    const result = runInstallPhase(releases);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain("deploy: bad signature: session-manager-plugin.rpm is not signed by session-manager-plugin.asc");
    expect(result.calls.some((call) => call.startsWith("dnf"))).toBe(false);
  });

  it("refuses a signature by a key that has since expired, and says the key file needs a fresh copy", () => {
    // Prepare: the RPM signed in 2020 by a key that expired in 2021.
    const releases = freshReleases();
    const rpm = releases.path(releases.ssmUrl("amd64"));
    keys.expiredAws.sign(rpm, `${rpm}.sig`);
    // Act
    const result = runInstallPhase(releases, { awsKey: keys.expiredAws, pins: releases.pinsFile({ SESSION_MANAGER_PLUGIN_PGP_FINGERPRINT: keys.expiredAws.fingerprint }) });
    // Assess
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain("deploy: session-manager-plugin.asc has expired or been revoked: take a fresh copy from the vendor");
    expect(result.calls.some((call) => call.startsWith("dnf"))).toBe(false);
  });

  it("fails loudly, before any download, on a CPU whose SHA256 is not pinned", () => {
    const releases = freshReleases();
    const result = runInstallPhase(releases, { arch: "arm64", pins: releases.pinsFile({ PACKER_SHA256_LINUX_ARM64: "" }) });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain("deploy: no SHA256 is pinned for PACKER on linux_arm64 (PACKER_SHA256_LINUX_ARM64 in packer/ci/versions.env)");
    expect(downloads(result)).toEqual([]);
  });

  it("refuses a tool version set in the CodeBuild project's environment (it would have no pinned sums)", () => {
    const releases = freshReleases();
    const result = runInstallPhase(releases, { env: { PACKER_VERSION: "1.11.2" } });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(`deploy: PACKER_VERSION=1.11.2 is set in the environment, but packer/ci/versions.env pins ${PACKER}`);
    expect(downloads(result)).toEqual([]);
  });

  it("refuses an architecture the pins do not cover", () => {
    const releases = freshReleases();
    const result = runInstallPhase(releases, { env: { FAKE_MACHINE: "ppc64le" } });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain("deploy: unsupported architecture ppc64le");
  });
});
