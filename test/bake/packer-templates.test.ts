import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RELEASE_LABEL_PATTERN, releaseNamePart } from "../../functions/lib/contract.js";
import { IMAGE_ROLE, TAG } from "../../functions/lib/names.js";
import { packRelease } from "../../scripts/pack-release.js";
import { checkTool, exampleAppDir, packerDir } from "./support.js";

const packer = checkTool("packer", ["version"]);
const baseTemplate = readFileSync(join(packerDir, "base/base.pkr.hcl"), "utf8");
const releaseTemplate = readFileSync(join(packerDir, "release/release.pkr.hcl"), "utf8");

/** The template's code, without its explanatory comments. */
function withoutComments(template: string): string {
  return template.split("\n").filter((line) => !/^\s*#/.test(line)).join("\n");
}

/** The variables the bake passes (packer/ci/bake.sh), as a var file. */
function varFile(dir: string, name: string, values: Record<string, string | number>): string {
  const path = join(dir, name);
  writeFileSync(path, Object.entries(values).map(([key, value]) => `${key} = ${JSON.stringify(value)}`).join("\n") + "\n");
  return path;
}

/** `packer validate`, asynchronous so the cases run side by side (each takes about a second). */
function validate(template: "base" | "release", args: string[]): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    execFile("packer", ["validate", ...args, join(packerDir, template)], (error, stdout, stderr) => {
      resolve({ status: error ? (typeof error.code === "number" ? error.code : 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

/** `packer console`: evaluates one expression of a template with the given variables. */
function evaluate(template: "base" | "release", args: string[], expression: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile("packer", ["console", ...args, join(packerDir, template)], (error, stdout, stderr) => {
      if (error) reject(new Error(`packer console failed: ${stderr || error.message}`));
      else resolve(stdout.trim());
    });
    child.stdin?.end(`${expression}\n`);
  });
}

describe.concurrent(`packer validate${packer.reason}`, () => {
  let dir: string;
  let baseVars: string;
  let releaseVars: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "bake-validate-"));
    const artifact = join(dir, "v2.tgz");
    await packRelease({ appDir: exampleAppDir, release: "v2", outFile: artifact });
    const common = {
      region: "us-east-1",
      app: "shop",
      environment: "staging",
      release: "v2",
      instance_type: "t3.micro",
      subnet_id: "subnet-0123456789abcdef0",
      security_group_id: "sg-0123456789abcdef0",
      iam_instance_profile: "shop-staging-bake",
    };
    baseVars = varFile(dir, "base.pkrvars.hcl", {
      ...common,
      base_hash: "0".repeat(64),
      node_version: "22.12.0",
      package_json_file: join(exampleAppDir, "package.json"),
      lock_file: join(exampleAppDir, "package-lock.json"),
      manifest_path: join(dir, "base-manifest.json"),
    });
    releaseVars = varFile(dir, "release.pkrvars.hcl", {
      ...common,
      base_image_id: "ami-0123456789abcdef0",
      artifact_file: artifact,
      app_port: 3000,
      nginx_workers: "auto",
      server_name: "_",
      manifest_path: join(dir, "release-manifest.json"),
    });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.skipIf(!packer.available)("accepts the base template with representative variables", async () => {
    // Act
    const result = await validate("base", [`-var-file=${baseVars}`]);
    // Assess
    expect(result.output).not.toMatch(/Error/);
    expect(result.status).toBe(0);
  });

  it.skipIf(!packer.available)("accepts the release template with representative variables", async () => {
    const result = await validate("release", [`-var-file=${releaseVars}`]);
    expect(result.output).not.toMatch(/Error/);
    expect(result.status).toBe(0);
  });

  it.skipIf(!packer.available)("names the release image by the one label rule (functions/lib/contract.ts releaseNamePart)", async () => {
    // Prepare: labels kept as they are, and labels with "+" (not allowed in AMI names).
    const labels = ["v2", "web-app_1.4.2", "v2.4.2+build.188", "1.0.0-rc.1+exp.sha.5114f85"];
    // Act
    const names = await Promise.all(labels.map((label) => evaluate("release", [`-var-file=${releaseVars}`, "-var", `release=${label}`], "local.release_name")));
    // Assess
    expect(names).toEqual(labels.map(releaseNamePart));
    expect(withoutComments(releaseTemplate)).toMatch(/ami_name\s*=\s*"\$\{var\.app\}-\$\{var\.environment\}-\$\{local\.release_name\}-/);
  });

  it.skipIf(!packer.available)("accepts a release labelled with a semantic version with build metadata", async () => {
    const result = await validate("release", [`-var-file=${releaseVars}`, "-var", "release=web-app-2.4.2+build.188"]);
    expect(result.output).not.toMatch(/Error/);
    expect(result.status).toBe(0);
  });

  it.skipIf(!packer.available)("accepts the release template with explicit workers and host names", async () => {
    const result = await validate("release", [`-var-file=${releaseVars}`, "-var", "nginx_workers=4", "-var", "server_name=shop.example.com *.shop.example.com"]);
    expect(result.status).toBe(0);
  });

  it.skipIf(!packer.available)("rejects a Node.js version that is not pinned", async () => {
    const result = await validate("base", [`-var-file=${baseVars}`, "-var", "node_version=lts"]);
    expect(result.status).not.toBe(0);
    expect(result.output).toContain("node_version must be an exact version");
  });

  it.skipIf(!packer.available)("rejects a base hash that is not a sha256 digest", async () => {
    const result = await validate("base", [`-var-file=${baseVars}`, "-var", "base_hash=abc"]);
    expect(result.status).not.toBe(0);
    expect(result.output).toContain("base_hash must be a sha256 hex digest");
  });

  it.skipIf(!packer.available)("rejects a bad worker count, a privileged app port and a bad base image id", async () => {
    const workers = await validate("release", [`-var-file=${releaseVars}`, "-var", "nginx_workers=many"]);
    const port = await validate("release", [`-var-file=${releaseVars}`, "-var", "app_port=80"]);
    const image = await validate("release", [`-var-file=${releaseVars}`, "-var", "base_image_id=latest"]);
    expect(workers.status).not.toBe(0);
    expect(workers.output).toContain("nginx_workers must be auto or a positive number");
    expect(port.status).not.toBe(0);
    expect(port.output).toContain("app_port must be an unprivileged port");
    expect(image.status).not.toBe(0);
    expect(image.output).toContain("base_image_id must be an AMI id");
  });

  it.skipIf(!packer.available)("rejects a server name that could inject nginx syntax, and a missing artifact", async () => {
    const serverName = await validate("release", [`-var-file=${releaseVars}`, "-var", "server_name=x; include /etc/passwd"]);
    const artifact = await validate("release", [`-var-file=${releaseVars}`, "-var", `artifact_file=${join(dir, "missing.tgz")}`]);
    expect(serverName.status).not.toBe(0);
    expect(serverName.output).toContain("server_name must be _ or space-separated host names");
    expect(artifact.status).not.toBe(0);
    expect(artifact.output).toContain("missing.tgz");
  });
});

describe("packer templates", () => {
  it("tag the images with the project's tag keys and roles (functions/lib/names.ts)", () => {
    // Assess: one source of truth, so the keys in HCL must be exactly names.ts's.
    for (const key of [TAG.app, TAG.environment, TAG.release, TAG.role]) {
      expect(baseTemplate).toContain(`"${key}"`);
      expect(releaseTemplate).toContain(`"${key}"`);
    }
    expect(baseTemplate).toMatch(new RegExp(`"${TAG.baseHash}"\\s*=\\s*var\\.base_hash`));
    expect(baseTemplate).toMatch(new RegExp(`"${TAG.role}"\\s*=\\s*"${IMAGE_ROLE.base}"`));
    expect(releaseTemplate).toMatch(new RegExp(`"${TAG.role}"\\s*=\\s*"${IMAGE_ROLE.release}"`));
  });

  it("accept exactly the release labels the deploy accepts (functions/lib/contract.ts RELEASE_LABEL_PATTERN)", () => {
    const labels = ["v1", "V2", "2.4.2", "web-app_1.4.2", "2.4.2+build.188", "a".repeat(64), "a".repeat(65), "", "-v1", ".v1", "_v1", "+v1", "v 1", "v1!", "v1+build.7", "v/1", "v1@x", "é1"];
    for (const template of [baseTemplate, releaseTemplate]) {
      const hcl = /regex_replace\(var\.release, "([^"]+)", ""\)/.exec(template)?.[1];
      expect(hcl, "the template checks var.release with regex_replace").toBeDefined();
      const packerRule = new RegExp(hcl!);
      expect(labels.map((label) => [label, packerRule.test(label)])).toEqual(labels.map((label) => [label, RELEASE_LABEL_PATTERN.test(label)]));
    }
  });

  it("find the base OS image by filter, never by a hard-coded id", () => {
    expect(baseTemplate).toMatch(/source_ami_filter\s*\{/);
    expect(baseTemplate).toMatch(/most_recent\s*=\s*true/);
    expect(withoutComments(baseTemplate)).not.toMatch(/ami-[0-9a-f]{8,}/);
    expect(releaseTemplate).toMatch(/source_ami\s*=\s*var\.base_image_id/);
  });

  it("reach the bake instance through Session Manager with encrypted volumes and a manifest", () => {
    for (const template of [baseTemplate, releaseTemplate].map(withoutComments)) {
      expect(template).toMatch(/ssh_interface\s*=\s*"session_manager"/);
      expect(template).toMatch(/security_group_id\s*=\s*var\.security_group_id/);
      expect(template).toMatch(/encrypt_boot\s*=\s*true/);
      expect(template).toMatch(/encrypted\s*=\s*true/);
      expect(template).toMatch(/post-processor "manifest"/);
      // Debian's packer 1.6.6 (the tests' validator) does not know these; see docs/design.md, "Facts".
      expect(template).not.toMatch(/^\s*(packer|required_plugins)\s*\{/m);
      expect(template).not.toMatch(/^\s*(imds_support|metadata_options|temporary_security_group_source_public_ip)\b/m);
      expect(template).not.toContain("0.0.0.0/0");
    }
  });
});
