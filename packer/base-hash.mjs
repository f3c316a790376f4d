#!/usr/bin/env node
/**
 * The base image's content hash (tag immutable-deploy:base-hash): the bake reuses the newest base image with
 * the same hash instead of baking again. It covers everything that shapes the base image, and nothing else:
 * - every file under <packerDir>/base (template, provisioning scripts, files it installs),
 * - the Node.js version,
 * - the release's package-lock.json, without its own version fields (a version bump alone changes no
 *   dependency, so it must not force a new base image).
 * Plain Node ESM with no dependencies: CodeBuild runs it with `node`, the tests import it.
 *
 * CLI: node packer/base-hash.mjs --packer-dir packer --node-version 22.12.0 --lock-file app/package-lock.json
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

/** The folder under packerDir whose files are base inputs; release/ and ci/ files are not. */
export const BASE_TEMPLATE_DIR = "base";

/** Bumped when the way the hash is computed changes, so old and new hashes never collide. */
const HASH_FORMAT = "immutable-deploy base-hash v1";

const sha256 = (data) => createHash("sha256").update(data).digest("hex");

function listFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return listFiles(path);
    return entry.isFile() ? [path] : [];
  });
}

/**
 * The lock file's dependency content: parsed (formatting does not matter) and without the root package's
 * version, which changes with every release.
 */
export function normalizeLockFile(lockText) {
  let lock;
  try {
    lock = JSON.parse(lockText);
  } catch (error) {
    throw new Error(`package-lock.json is not valid JSON: ${error.message}`);
  }
  if (lock === null || typeof lock !== "object" || Array.isArray(lock)) {
    throw new Error("package-lock.json must hold a JSON object");
  }
  const { version: _rootVersion, ...rest } = lock;
  if (rest.packages && typeof rest.packages === "object" && rest.packages[""]) {
    const { version: _packageVersion, ...rootPackage } = rest.packages[""];
    rest.packages = { ...rest.packages, "": rootPackage };
  }
  return JSON.stringify(rest);
}

/** @returns {string} the sha256 hex digest of the base inputs */
export function computeBaseHash({ packerDir, nodeVersion, lockFile }) {
  if (!nodeVersion) throw new Error("nodeVersion is required");
  const baseDir = join(packerDir, BASE_TEMPLATE_DIR);
  const files = listFiles(baseDir)
    .map((path) => ({ path, name: relative(baseDir, path).split(sep).join("/") }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (files.length === 0) throw new Error(`no base template files under ${baseDir}`);

  const lines = [HASH_FORMAT, `node ${nodeVersion}`];
  for (const file of files) lines.push(`file ${file.name} ${sha256(readFileSync(file.path))}`);
  lines.push(`lock ${sha256(normalizeLockFile(readFileSync(lockFile, "utf8")))}`);
  return sha256(lines.join("\n"));
}

function main() {
  const { values } = parseArgs({
    options: {
      "packer-dir": { type: "string" },
      "node-version": { type: "string" },
      "lock-file": { type: "string" },
    },
  });
  for (const name of ["packer-dir", "node-version", "lock-file"]) {
    if (!values[name]) throw new Error(`--${name} is required`);
  }
  const hash = computeBaseHash({
    packerDir: values["packer-dir"],
    nodeVersion: values["node-version"],
    lockFile: values["lock-file"],
  });
  process.stdout.write(`${hash}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    main();
  } catch (error) {
    process.stderr.write(`deploy: base-hash failed: ${error.message}\n`);
    process.exit(1);
  }
}
