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
 * (--help). Bad input is answered in the project's usage-error form (scripts/cli.ts): one line naming the
 * option, the value and what is allowed, exit code 2.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

/** The folder under packerDir whose files are base inputs; release/ and ci/ files are not. */
export const BASE_TEMPLATE_DIR = "base";

/** Bumped when the way the hash is computed changes, so old and new hashes never collide. */
const HASH_FORMAT = "immutable-deploy base-hash v1";

/** A full Node.js version as the bake installs it (`node-v<version>-linux-x64.tar.xz`): x.y.z, no "v". */
export const NODE_VERSION_PATTERN = /^\d+\.\d+\.\d+$/;
const NODE_VERSION_RULE = 'a full Node.js version x.y.z without "v", e.g. 22.12.0';

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
  if (!NODE_VERSION_PATTERN.test(nodeVersion ?? "")) throw new Error(`nodeVersion ${JSON.stringify(nodeVersion)} is not ${NODE_VERSION_RULE}`);
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

export const BASE_HASH_USAGE = `Usage: node packer/base-hash.mjs --packer-dir <folder> --node-version <x.y.z> --lock-file <package-lock.json>

Prints the base image's content hash (tag immutable-deploy:base-hash): the bake reuses the newest base
image with the same hash. It covers every file under <packer-dir>/base, the Node.js version and the
release's package-lock.json (without its own version fields).

Options:
  --packer-dir <folder>      the folder holding base/ (this repository's packer/)
  --node-version <x.y.z>     ${NODE_VERSION_RULE}
  --lock-file <file>         the release's package-lock.json
  -h, --help                 this text

Exit code: 0 and the hash on stdout; 1 when an input cannot be read; 2 for a bad option or value.`;

const OPTIONS = {
  "packer-dir": { type: "string", allowed: "a folder holding base/ (this repository's packer/)" },
  "node-version": { type: "string", allowed: NODE_VERSION_RULE },
  "lock-file": { type: "string", allowed: "a package-lock.json file" },
  help: { type: "boolean", short: "h" },
};

class UsageError extends Error {
  name = "UsageError";
  constructor(option, value, allowed) {
    super(`${option}: ${value}; allowed: ${allowed}`);
  }
}

const shown = (value) => (value === "" || /\s/.test(value) ? JSON.stringify(value) : value);

/** The options, each checked; throws UsageError (same rules as scripts/cli.ts readOptions). */
export function parseBaseHashArgs(argv) {
  const names = Object.keys(OPTIONS).map((name) => `--${name}`).join(", ");
  const { tokens } = parseArgs({ args: argv, options: OPTIONS, strict: false, tokens: true, allowPositionals: true });
  const values = {};
  for (const token of tokens) {
    if (token.kind === "option-terminator") continue;
    if (token.kind === "positional") throw new UsageError(shown(token.value), "not an option", `only options: ${names}`);
    const option = OPTIONS[token.name];
    if (!option) throw new UsageError(token.rawName, "unknown option", names);
    if (option.type === "boolean") {
      if (token.value !== undefined) throw new UsageError(`--${token.name}`, shown(token.value), "no value (it is a flag)");
      values[token.name] = true;
    } else if (token.value === undefined || (!token.inlineValue && token.value.startsWith("--"))) {
      throw new UsageError(`--${token.name}`, "no value", option.allowed);
    } else values[token.name] = token.value;
  }
  if (values.help) return { help: true };
  for (const name of ["packer-dir", "node-version", "lock-file"]) {
    if (values[name] === undefined) throw new UsageError(`--${name}`, "missing", OPTIONS[name].allowed);
  }
  if (!NODE_VERSION_PATTERN.test(values["node-version"])) throw new UsageError("--node-version", shown(values["node-version"]), NODE_VERSION_RULE);
  const baseDir = join(values["packer-dir"], BASE_TEMPLATE_DIR);
  if (!existsSync(baseDir) || !statSync(baseDir).isDirectory()) {
    throw new UsageError("--packer-dir", shown(values["packer-dir"]), `a folder holding ${BASE_TEMPLATE_DIR}/ (this repository's packer/)`);
  }
  if (!existsSync(values["lock-file"]) || !statSync(values["lock-file"]).isFile()) {
    throw new UsageError("--lock-file", shown(values["lock-file"]), "an existing package-lock.json file");
  }
  return { packerDir: values["packer-dir"], nodeVersion: values["node-version"], lockFile: values["lock-file"] };
}

function main() {
  const options = parseBaseHashArgs(process.argv.slice(2));
  if (options.help) {
    process.stdout.write(`${BASE_HASH_USAGE}\n`);
    return;
  }
  process.stdout.write(`${computeBaseHash(options)}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    main();
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`base-hash: ${error.message}\n(node packer/base-hash.mjs --help lists every option)\n`);
      process.exit(2);
    }
    process.stderr.write(`deploy: base-hash failed: ${error.message}\n`);
    process.exit(1);
  }
}
