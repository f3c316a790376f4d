import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { App, AssetHashType, Stack } from "aws-cdk-lib";
import * as s3assets from "aws-cdk-lib/aws-s3-assets";
import { afterAll, describe, expect, it } from "vitest";
import { BAKE_SOURCE_EXCLUDE, bakeSourceFiles, bakeSourceHash } from "../../stacks/pipeline/bake.js";
import { synthesizeApp } from "../../stacks/synthesize.js";

/**
 * The bake's source (stacks/pipeline/bake.ts): the CodeBuild project gets buildspec.yml and packer/ from the
 * repository, uploaded as a CDK asset. Nothing else: not `.git` (which `*` alone let through), not the build
 * output, not what another process writes at the project root meanwhile.
 */
const ROOT = path.resolve(import.meta.dirname, "../..");
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};

/** Every file under `dir`, relative, sorted. */
function listFiles(dir: string, base = dir): string[] {
  return readdirSync(dir)
    .flatMap((name) => {
      const file = path.join(dir, name);
      return statSync(file).isDirectory() ? listFiles(file, base) : [path.relative(base, file).split(path.sep).join("/")];
    })
    .sort();
}

/** A project root with the bake's files and the things a working copy has beside them. */
function workingCopy(): string {
  const root = tempDir("bake-source-");
  const write = (file: string, text: string) => {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), text);
  };
  write("buildspec.yml", "version: 0.2\n");
  write("packer/release/release.pkr.hcl", "source {}\n");
  write("packer/ci/bake.sh", "#!/bin/sh\n");
  write(".git/HEAD", "ref: refs/heads/main\n");
  write(".git/objects/ab/cdef", "history");
  write(".sst/artifacts/fn/index.mjs", "bundle");
  write(".sst.config.1796314885623.mjs", "SST's config, while it loads");
  write(".synth/cache/definition.json", "{}");
  write("node_modules/aws-cdk-lib/index.js", "");
  write("README.md", "# app\n");
  write("functions/prepareDeploy.ts", "");
  return root;
}

describe("bake source", () => {
  it("is buildspec.yml and packer/, nothing else: no dotfile, no build output, no dependency", () => {
    expect(bakeSourceFiles(workingCopy())).toEqual(["buildspec.yml", "packer/ci/bake.sh", "packer/release/release.pkr.hcl"]);
    const files = bakeSourceFiles(ROOT);
    expect(files).toContain("buildspec.yml");
    expect(files).toContain("packer/release/release.pkr.hcl");
    expect(files.filter((file) => file !== "buildspec.yml" && !file.startsWith("packer/"))).toEqual([]);
    expect(files.filter((file) => file.split("/").some((part) => part.startsWith(".")))).toEqual([]);
  });

  /** The asset as the bake project builds it, staged by CDK into a fresh assembly: its hash and its files. */
  function staged(root: string): { assetHash: string; files: string[] } {
    const outdir = tempDir("bake-source-out-");
    const app = new App({ outdir });
    const asset = new s3assets.Asset(new Stack(app, "Bake"), "BakeSource", {
      path: root,
      exclude: BAKE_SOURCE_EXCLUDE,
      assetHashType: AssetHashType.CUSTOM,
      assetHash: bakeSourceHash(root),
    });
    app.synth();
    return { assetHash: asset.assetHash, files: listFiles(path.join(outdir, `asset.${asset.assetHash}`)) };
  }

  it("is what CDK stages for the asset, file for file", () => {
    for (const root of [workingCopy(), ROOT]) expect(staged(root).files, root).toEqual([...bakeSourceFiles(root)].sort());
  });

  it("changes its hash with a bake file's path or content, and with nothing else", () => {
    const root = workingCopy();
    const before = bakeSourceHash(root);
    writeFileSync(path.join(root, ".git/HEAD"), "ref: refs/heads/other\n");
    writeFileSync(path.join(root, "README.md"), "# changed\n");
    writeFileSync(path.join(root, ".sst.config.1796314885999.mjs"), "another load");
    expect(bakeSourceHash(root)).toBe(before);
    writeFileSync(path.join(root, "packer/ci/bake.sh"), "#!/bin/sh\nset -eu\n");
    const edited = bakeSourceHash(root);
    expect(edited).not.toBe(before);
    writeFileSync(path.join(root, "packer/ci/new.sh"), "#!/bin/sh\nset -eu\n");
    expect(bakeSourceHash(root)).not.toBe(edited);
  });

  it("is the asset the Pipeline's bake project reads", async () => {
    const template = (await synthesizeApp("dev01")).template("Pipeline");
    const bake = Object.values(template.Resources as Record<string, { Type: string; Properties: Record<string, any> }>).filter(
      (resource) => resource.Type === "AWS::CodeBuild::Project",
    );
    expect(bake).toHaveLength(1);
    const location = JSON.stringify(bake[0].Properties.Source.Location);
    expect(location).toContain(`${staged(ROOT).assetHash}.zip`);
  }, 120_000);
});
