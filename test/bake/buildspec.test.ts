import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TAG } from "../../functions/lib/names.js";
import { computeBaseHash } from "../../packer/base-hash.mjs";
import { assertImageId, readManifestImageId } from "../../packer/ci/image-id.mjs";
import { packRelease } from "../../scripts/pack-release.js";
import { buildspec, checkTool, codeBuildPhaseScript, exampleAppDir, packerDir, repoRoot } from "./support.js";

const packer = checkTool("packer", ["version"]);

const REGION = "us-east-1";
const BASE_AMI = "ami-0aaaaaaaaaaaaaaa1";
const RELEASE_AMI = "ami-0bbbbbbbbbbbbbbb2";
const NODE_VERSION = "22.12.0";

/** A manifest as Packer's manifest post-processor writes it. */
function manifest(artifactId: string | undefined): string {
  return JSON.stringify({
    builds: [
      { name: "release", builder_type: "amazon-ebs", artifact_id: "us-east-1:ami-0ccccccccccccccc3", packer_run_uuid: "old-run" },
      { name: "release", builder_type: "amazon-ebs", ...(artifactId === undefined ? {} : { artifact_id: artifactId }), packer_run_uuid: "run-2" },
    ],
    last_run_uuid: "run-2",
  });
}

// Stand-ins for the AWS CLI and Packer: they log their calls and answer like the real tools would.
const FAKE_AWS = `#!/usr/bin/env bash
echo "aws $*" >> "$FAKE_CALLS"
case "$1 $2" in
  "s3api get-object") cp "$FAKE_ARTIFACT" "\${!#}"; echo '{"ETag": "\\"etag\\""}' ;;
  "ec2 describe-images")
    if [[ " $* " == *" --image-ids "* ]]; then echo "\${FAKE_PINNED_STATE:-available}"; else echo "\${FAKE_FOUND_BASE:-None}"; fi ;;
  "ec2 modify-image-attribute") ;;
  *) echo "unexpected aws call: $*" >&2; exit 2 ;;
esac
`;

const FAKE_PACKER = `#!/usr/bin/env bash
echo "packer $*" >> "$FAKE_CALLS"
template="\${!#}"
manifest_path=""
validate_args=()
for arg in "$@"; do
  case "$arg" in manifest_path=*) manifest_path="\${arg#manifest_path=}" ;; esac
  case "$arg" in build|-color=false) ;; *) validate_args+=("$arg") ;; esac
done
# When the real packer is there, check that the bake's variables suit the template.
if [[ -n "\${REAL_PACKER:-}" ]]; then "$REAL_PACKER" validate "\${validate_args[@]}" >&2 || exit 1; fi
case "$template" in
  */base) id="$FAKE_BASE_AMI" ;;
  *) id="$FAKE_RELEASE_AMI" ;;
esac
printf '{"builds":[{"name":"x","builder_type":"amazon-ebs","artifact_id":"%s:%s","packer_run_uuid":"r1"}],"last_run_uuid":"r1"}\\n' "$AWS_REGION" "$id" > "$manifest_path"
`;

interface BuildResult {
  status: number | null;
  stdout: string;
  stderr: string;
  calls: string[];
  exported: Record<string, string>;
}

describe("buildspec.yml", () => {
  it("is a version 0.2 buildspec in bash with install and build phases that abort on failure", () => {
    expect(buildspec.version).toBe(0.2);
    expect(buildspec.env.shell).toBe("bash");
    expect(Object.keys(buildspec.phases)).toEqual(["install", "build"]);
    expect(buildspec.phases.install.commands.join("\n")).toContain("packer/ci/install-tools.sh");
    expect(buildspec.phases.build.commands[0]).toBe("bash packer/ci/bake.sh");
    expect(buildspec.phases.install["on-failure"]).toBe("ABORT");
    expect(buildspec.phases.build["on-failure"]).toBe("ABORT");
  });

  it("has only plain shell commands (a ': ' in an unquoted command would turn it into a YAML map)", () => {
    for (const phase of Object.values(buildspec.phases)) {
      for (const command of phase.commands) expect(typeof command).toBe("string");
    }
  });

  it("exports IMAGE_ID and BASE_IMAGE_ID", () => {
    expect(buildspec.env["exported-variables"]).toEqual(["IMAGE_ID", "BASE_IMAGE_ID"]);
  });

  it("defaults only optional settings (tool versions live in packer/ci/versions.env)", () => {
    expect(buildspec.env.variables).toMatchObject({ NGINX_WORKERS: "auto", SERVER_NAME: "_", REBUILD_BASE: "false" });
    expect(Object.keys(buildspec.env.variables)).not.toContain("APP");
    expect(Object.keys(buildspec.env.variables).filter((name) => name.endsWith("_VERSION"))).toEqual([]);
  });
});

describe("image-id.mjs", () => {
  it("reads the AMI id of the manifest's last run in the region", () => {
    expect(readManifestImageId(manifest(`us-west-2:ami-0ddddddddddddddd4,${REGION}:${RELEASE_AMI}`), REGION)).toBe(RELEASE_AMI);
  });

  it.each([
    ["a missing artifact id", undefined],
    ["an empty artifact id", ""],
    ["an empty AMI id", `${REGION}:`],
    ["something that is not an AMI id", `${REGION}:snap-0123456789abcdef0`],
  ])("refuses %s", (_what, artifactId) => {
    expect(() => readManifestImageId(manifest(artifactId), REGION)).toThrow(/not an AMI id/);
  });

  it("refuses a manifest without a build from its last run", () => {
    expect(() => readManifestImageId(JSON.stringify({ builds: [], last_run_uuid: "x" }))).toThrow(/no build from its last run/);
  });

  it("refuses an empty value", () => {
    expect(() => assertImageId("BASE_IMAGE_ID", "")).toThrow('BASE_IMAGE_ID is not an AMI id: ""');
  });
});

describe("the build phase, run as CodeBuild runs it, with stand-ins for aws and packer", () => {
  let artifact: string;
  let baseHash: string;

  let artifactDir: string;
  beforeAll(async () => {
    const dir = (artifactDir = mkdtempSync(join(tmpdir(), "bake-artifact-")));
    artifact = join(dir, "v2.tgz");
    await packRelease({ appDir: exampleAppDir, release: "v2", outFile: artifact });
    baseHash = computeBaseHash({ packerDir, nodeVersion: NODE_VERSION, lockFile: join(exampleAppDir, "package-lock.json") });
  });
  afterAll(() => rmSync(artifactDir, { recursive: true, force: true }));

  /**
   * CodeBuild's source is a zip with buildspec.yml and packer/; version 0.2 runs a phase's commands one by
   * one in the same shell and stops at the first that fails. Exported variables are read at the end.
   */
  function runBuildPhase(env: Record<string, string>, options: { validateWithPacker?: boolean } = {}): BuildResult {
    const source = mkdtempSync(join(tmpdir(), "codebuild-src-"));
    cpSync(join(repoRoot, "buildspec.yml"), join(source, "buildspec.yml"));
    cpSync(packerDir, join(source, "packer"), { recursive: true });
    const bin = join(source, ".fake-bin");
    mkdirSync(bin);
    writeFileSync(join(bin, "aws"), FAKE_AWS);
    writeFileSync(join(bin, "packer"), FAKE_PACKER);
    chmodSync(join(bin, "aws"), 0o755);
    chmodSync(join(bin, "packer"), 0o755);
    const calls = join(source, ".calls");
    writeFileSync(calls, "");

    const script = [
      ...codeBuildPhaseScript("build", env),
      ...buildspec.env["exported-variables"].map((name) => `echo "__exported ${name}=\${${name}:-}"`),
    ].join("\n");
    const result = spawnSync("bash", ["-c", script], {
      cwd: source,
      encoding: "utf8",
      env: {
        PATH: `${bin}:${process.env.PATH}`,
        HOME: source,
        FAKE_CALLS: calls,
        FAKE_ARTIFACT: artifact,
        FAKE_BASE_AMI: BASE_AMI,
        FAKE_RELEASE_AMI: RELEASE_AMI,
        // The real packer validates the stand-in's arguments where a test asks for it (it takes a second).
        REAL_PACKER: options.validateWithPacker && packer.available ? "/usr/bin/packer" : "",
      },
    });
    const exported = Object.fromEntries(
      result.stdout
        .split("\n")
        .filter((line) => line.startsWith("__exported "))
        .map((line) => line.slice("__exported ".length).split("=") as [string, string]),
    );
    const recordedCalls = readFileSync(calls, "utf8").split("\n").filter(Boolean);
    rmSync(source, { recursive: true, force: true });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr, calls: recordedCalls, exported };
  }

  const projectEnv = {
    APP: "shop",
    ENVIRONMENT: "staging",
    AWS_REGION: REGION,
    BAKE_SUBNET_ID: "subnet-0123456789abcdef0",
    BAKE_SECURITY_GROUP_ID: "sg-0123456789abcdef0",
    BAKE_INSTANCE_PROFILE: "shop-staging-bake",
    BAKE_INSTANCE_TYPE: "t3.micro",
    NODE_VERSION,
    APP_PORT: "3000",
  };
  const executionEnv = {
    ARTIFACT_BUCKET: "shop-artifacts",
    ARTIFACT_KEY: "releases/v2.tgz",
    ARTIFACT_VERSION_ID: "3HL4kqtJlcpXroDTDmJ",
    RELEASE: "v2",
    BASE_IMAGE_ID: "",
    REBUILD_BASE: "false",
  };

  it("bakes the base image when none has the hash, then the release image, and exports both ids", () => {
    // Act
    const result = runBuildPhase({ ...projectEnv, ...executionEnv }, { validateWithPacker: true });
    // Assess
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(result.exported).toEqual({ IMAGE_ID: RELEASE_AMI, BASE_IMAGE_ID: BASE_AMI });
    const short = baseHash.slice(0, 12);
    expect(result.stdout).toContain("deploy: fetching release artifact s3://shop-artifacts/releases/v2.tgz (version 3HL4kqtJlcpXroDTDmJ)");
    expect(result.stdout).toContain(`deploy: resolving base image (hash ${short})`);
    expect(result.stdout).toContain(`deploy: baking base image (hash ${short}, Node.js ${NODE_VERSION}, x86_64)`);
    expect(result.stdout).toContain(`deploy: baking release image v2 on base image ${BASE_AMI}`);
    const lookup = result.calls.find((call) => call.startsWith("aws ec2 describe-images"));
    expect(lookup).toContain("--owners self");
    expect(lookup).toContain(`Name=tag:${TAG.app},Values=shop`);
    expect(lookup).toContain(`Name=tag:${TAG.role},Values=base`);
    expect(lookup).toContain(`Name=tag:${TAG.baseHash},Values=${baseHash}`);
    expect(lookup).toContain("Name=state,Values=available");
    const packerCalls = result.calls.filter((call) => call.startsWith("packer build"));
    expect(packerCalls).toHaveLength(2);
    expect(packerCalls[0]).toMatch(/packer\/base$/);
    expect(packerCalls[0]).toContain(`-var base_hash=${baseHash}`);
    expect(packerCalls[1]).toMatch(/packer\/release$/);
    expect(packerCalls[1]).toContain(`-var base_image_id=${BASE_AMI}`);
    expect(result.calls).toContain(`aws ec2 modify-image-attribute --region ${REGION} --image-id ${BASE_AMI} --imds-support v2.0`);
    expect(result.calls).toContain(`aws ec2 modify-image-attribute --region ${REGION} --image-id ${RELEASE_AMI} --imds-support v2.0`);
  });

  it("reuses the newest base image with the same hash and architecture instead of baking it again", () => {
    const reused = "ami-0eeeeeeeeeeeeeee5";
    const result = runBuildPhase({ ...projectEnv, ...executionEnv, ARTIFACT_VERSION_ID: "", FAKE_FOUND_BASE: reused, BAKE_INSTANCE_TYPE: "t4g.small" });
    expect(result.status).toBe(0);
    expect(result.calls.find((call) => call.includes("--owners self"))).toContain("Name=architecture,Values=arm64");
    expect(result.exported).toEqual({ IMAGE_ID: RELEASE_AMI, BASE_IMAGE_ID: reused });
    expect(result.stdout).toContain(`deploy: reusing base image ${reused}`);
    expect(result.calls.filter((call) => call.startsWith("packer build"))).toEqual([expect.stringMatching(/packer\/release$/)]);
    expect(result.calls.find((call) => call.startsWith("aws s3api get-object"))).not.toContain("--version-id");
  });

  it("bakes a new base image when asked to, even if one has the hash", () => {
    const result = runBuildPhase({ ...projectEnv, ...executionEnv, REBUILD_BASE: "true", FAKE_FOUND_BASE: "ami-0eeeeeeeeeeeeeee5" });
    expect(result.status).toBe(0);
    expect(result.exported.BASE_IMAGE_ID).toBe(BASE_AMI);
    expect(result.calls.some((call) => call.includes("--owners self"))).toBe(false);
  });

  it("builds on a pinned base image without looking for one", () => {
    const pinned = "ami-0fffffffffffffff6";
    const result = runBuildPhase({ ...projectEnv, ...executionEnv, BASE_IMAGE_ID: pinned });
    expect(result.status).toBe(0);
    expect(result.exported).toEqual({ IMAGE_ID: RELEASE_AMI, BASE_IMAGE_ID: pinned });
    expect(result.stdout).toContain(`deploy: using pinned base image ${pinned}`);
    expect(result.calls.filter((call) => call.startsWith("packer build"))).toHaveLength(1);
    expect(result.calls.some((call) => call.includes("--owners self"))).toBe(false);
  });

  it("fails when the release image's manifest has an empty AMI id", () => {
    const result = runBuildPhase({ ...projectEnv, ...executionEnv, FAKE_RELEASE_AMI: "" });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain("deploy: no image id");
    expect(result.exported).toEqual({});
  });

  it.skipIf(!packer.available)(`fails when the bake passes a value the template refuses${packer.reason}`, () => {
    const result = runBuildPhase({ ...projectEnv, ...executionEnv, APP: "shop!" }, { validateWithPacker: true });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain("The app must be 1-63 letters");
    expect(result.exported).toEqual({});
  });

  it("fails before any image is looked up or baked when NODE_VERSION is not an exact version (base-hash refuses it)", () => {
    const result = runBuildPhase({ ...projectEnv, ...executionEnv, NODE_VERSION: "lts" });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('base-hash: --node-version: lts; allowed: a full Node.js version x.y.z without "v", e.g. 22.12.0');
    // Only the artifact was fetched (base-hash reads its package-lock.json).
    expect(result.calls).toHaveLength(1);
    expect(result.calls[0]).toContain("get-object");
  });

  it("fails before any AWS call when a project variable is missing", () => {
    const { BAKE_SUBNET_ID: _missing, ...withoutSubnet } = projectEnv;
    const result = runBuildPhase({ ...withoutSubnet, ...executionEnv });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain("deploy: BAKE_SUBNET_ID is required");
    expect(result.calls).toEqual([]);
  });

  it("fails when the pinned base image is not available", () => {
    const result = runBuildPhase({ ...projectEnv, ...executionEnv, BASE_IMAGE_ID: "ami-0fffffffffffffff6", FAKE_PINNED_STATE: "None" });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain("is not available");
  });
});
