#!/usr/bin/env node
/**
 * Reads an AMI id from Packer's manifest post-processor output (never from log lines) and refuses anything
 * that is not an AMI id, so the bake fails instead of exporting an empty IMAGE_ID.
 *
 * CLI: node packer/ci/image-id.mjs --manifest release-manifest.json [--region us-east-1]
 *      node packer/ci/image-id.mjs --file base-image-id [--name BASE_IMAGE_ID]
 * Prints the id; exits 1 with a `deploy:` message otherwise.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

// The same rule as functions/lib/input.ts AMI_ID_PATTERN (this file must run with plain node, no TS).
const AMI_ID = /^ami-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;

export function assertImageId(name, value) {
  const id = typeof value === "string" ? value.trim() : "";
  if (!AMI_ID.test(id)) throw new Error(`${name} is not an AMI id: ${JSON.stringify(value ?? "")}`);
  return id;
}

/**
 * The AMI id of the manifest's last Packer run. `artifact_id` is "region:ami-id[,region:ami-id...]"; with a
 * region, take that region's id.
 */
export function readManifestImageId(manifestText, region) {
  const manifest = JSON.parse(manifestText);
  const builds = Array.isArray(manifest.builds) ? manifest.builds : [];
  const lastRun = builds.filter((build) => build.packer_run_uuid === manifest.last_run_uuid);
  const build = lastRun.at(-1);
  if (!build) throw new Error("the manifest has no build from its last run");
  const artifacts = String(build.artifact_id ?? "")
    .split(",")
    .filter((entry) => entry.trim() !== "")
    .map((entry) => {
      const [artifactRegion, id] = entry.split(":");
      return { region: artifactRegion.trim(), id: (id ?? "").trim() };
    });
  const artifact = region ? artifacts.find((entry) => entry.region === region) : artifacts[0];
  return assertImageId(`the artifact_id of build ${build.name ?? "?"}`, artifact?.id);
}

function main() {
  const { values } = parseArgs({
    options: {
      manifest: { type: "string" },
      region: { type: "string" },
      file: { type: "string" },
      name: { type: "string", default: "image id" },
    },
  });
  let id;
  if (values.manifest) id = readManifestImageId(readFileSync(values.manifest, "utf8"), values.region);
  else if (values.file) id = assertImageId(values.name, readFileSync(values.file, "utf8"));
  else throw new Error("give --manifest <file> or --file <file>");
  process.stdout.write(`${id}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    main();
  } catch (error) {
    process.stderr.write(`deploy: no image id: ${error.message}\n`);
    process.exit(1);
  }
}
