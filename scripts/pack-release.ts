/**
 * Packs a Node.js app folder into the release artifact the bake expects: a `.tgz` holding, at its root,
 * `package.json`, `package-lock.json` (the base image pre-caches dependencies from it, the release image
 * runs `npm ci --omit=dev` with it), the app's built files, and `release.json` naming the release.
 * Files: package.json's "files" list when it has one (plain paths), else the whole folder without
 * node_modules and dot files (.git, .env...). Build your assets before packing: this script does not.
 *
 * CLI: npx tsx scripts/pack-release.ts --release v2 [--app example-app] [--out dist/releases/v2.tgz] (--help)
 * Then upload it under the artifact prefix, e.g. `aws s3 cp dist/releases/v2.tgz s3://<bucket>/releases/v2.tgz`.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, normalize, relative, resolve, sep } from "node:path";
import { create } from "tar";
import { RELEASE_LABEL_PATTERN, RELEASE_LABEL_RULE } from "../functions/lib/contract.js";
import { DEFAULTS } from "../functions/lib/names.js";
import { UsageError, readOptions, runCommand, shown, runsAsCommand } from "./cli.js";

export interface PackReleaseOptions {
  /** The app folder (holds package.json and package-lock.json). */
  appDir: string;
  /** Release label, recorded in release.json; the bake's RELEASE. */
  release: string;
  /** Where to write the .tgz (folders are created). */
  outFile: string;
}

export interface PackedRelease {
  outFile: string;
  release: string;
  /** Top-level entries in the archive, sorted. */
  entries: string[];
}

/** Written at the archive's root: which release this is, for people and tools that open the artifact. */
export const RELEASE_MANIFEST = "release.json";

const REQUIRED_FILES = ["package.json", "package-lock.json"] as const;

export class PackReleaseError extends Error {
  override name = "PackReleaseError";
}

function readPackageJson(appDir: string): { name?: string; version?: string; files?: unknown } {
  try {
    return JSON.parse(readFileSync(join(appDir, "package.json"), "utf8"));
  } catch (error) {
    throw new PackReleaseError(`${join(appDir, "package.json")} is not valid JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** The app's files to ship, relative to appDir, without package.json and package-lock.json. */
function selectAppFiles(appDir: string, files: unknown): string[] {
  if (files !== undefined) {
    if (!Array.isArray(files) || !files.every((entry) => typeof entry === "string")) {
      throw new PackReleaseError(`package.json "files" must be a list of paths`);
    }
    return files.map((entry) => {
      const path = normalize(entry).replace(/[\\/]+$/, "");
      if (isAbsolute(path) || path === ".." || path.startsWith(`..${sep}`) || /[*?[\]{}!]/.test(path)) {
        throw new PackReleaseError(`package.json "files" entry ${JSON.stringify(entry)}: give plain paths inside the app folder`);
      }
      if (!existsSync(join(appDir, path))) {
        throw new PackReleaseError(`package.json "files" entry ${JSON.stringify(entry)} does not exist in ${appDir}`);
      }
      return path;
    });
  }
  return readdirSync(appDir).filter(
    (name) =>
      name !== "node_modules" &&
      !name.startsWith(".") &&
      !(REQUIRED_FILES as readonly string[]).includes(name) &&
      name !== RELEASE_MANIFEST,
  );
}

export async function packRelease({ appDir, release, outFile }: PackReleaseOptions): Promise<PackedRelease> {
  const app = resolve(appDir);
  const out = resolve(outFile);
  if (!RELEASE_LABEL_PATTERN.test(release)) {
    throw new PackReleaseError(
      `release ${JSON.stringify(release)} is not a release label: ${RELEASE_LABEL_RULE}`,
    );
  }
  for (const required of REQUIRED_FILES) {
    if (!existsSync(join(app, required))) {
      throw new PackReleaseError(
        required === "package-lock.json"
          ? `${app} has no package-lock.json: the bake installs dependencies with \`npm ci\`, which needs it (run \`npm install --package-lock-only\` in the app folder and commit it)`
          : `${app} has no package.json: is it a Node.js app folder?`,
      );
    }
  }
  const packageJson = readPackageJson(app);
  const appFiles = selectAppFiles(app, packageJson.files);

  const staging = mkdtempSync(join(tmpdir(), "pack-release-"));
  try {
    for (const path of [...REQUIRED_FILES, ...appFiles]) {
      cpSync(join(app, path), join(staging, path), {
        recursive: true,
        // Never node_modules (the image installs them) nor an earlier artifact written inside the app folder.
        filter: (source) => source !== out && !relative(app, source).split(sep).includes("node_modules"),
      });
    }
    const manifest = { release, name: packageJson.name ?? null, version: packageJson.version ?? null };
    writeFileSync(join(staging, RELEASE_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);

    const entries = readdirSync(staging).sort();
    mkdirSync(dirname(out), { recursive: true });
    await create({ gzip: true, file: out, cwd: staging, portable: true }, entries);
    return { outFile: out, release, entries };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

export const PACK_RELEASE_USAGE = `Usage: npx tsx scripts/pack-release.ts --release <label> [--app <folder>] [--out <file${DEFAULTS.artifactSuffix}>]

Packs a Node.js app folder into the release artifact the bake expects: a ${DEFAULTS.artifactSuffix} holding package.json,
package-lock.json, the app's files (package.json "files", else everything but node_modules and dot files)
and release.json naming the release. Build your assets first: this script does not.

Options:
  --release <label>   the release label (the bake's RELEASE): ${RELEASE_LABEL_RULE}
  --app <folder>      the app folder, holding package.json and package-lock.json (default example-app)
  --out <file>        where to write the artifact, ending in ${DEFAULTS.artifactSuffix} (default dist/${DEFAULTS.artifactPrefix}<label>${DEFAULTS.artifactSuffix})
  -h, --help          this text

Then upload it under the artifact prefix: aws s3 cp dist/${DEFAULTS.artifactPrefix}v2${DEFAULTS.artifactSuffix} s3://<bucket>/${DEFAULTS.artifactPrefix}v2${DEFAULTS.artifactSuffix}
Exit code: 0 when packed; 1 when the app folder cannot be packed; 2 for a bad option or value.`;

/** `pack-release` on the command line: validates every option before it touches a file. */
export async function packReleaseCli(argv: string[]): Promise<number> {
  const values = readOptions(argv, {
    release: { type: "string", allowed: RELEASE_LABEL_RULE },
    app: { type: "string", allowed: "an app folder" },
    out: { type: "string", allowed: `a file path ending in ${DEFAULTS.artifactSuffix}` },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    process.stdout.write(`${PACK_RELEASE_USAGE}\n`);
    return 0;
  }
  if (values.release === undefined) throw new UsageError("--release", "missing", RELEASE_LABEL_RULE);
  if (!RELEASE_LABEL_PATTERN.test(values.release)) throw new UsageError("--release", shown(values.release), RELEASE_LABEL_RULE);
  const appDir = values.app ?? "example-app";
  if (!existsSync(appDir) || !statSync(appDir).isDirectory()) {
    throw new UsageError("--app", shown(appDir), "an existing app folder, holding package.json and package-lock.json");
  }
  if (values.out !== undefined && (!values.out.endsWith(DEFAULTS.artifactSuffix) || values.out === DEFAULTS.artifactSuffix)) {
    throw new UsageError("--out", shown(values.out), `a file path ending in ${DEFAULTS.artifactSuffix} (the pipeline only deploys ${DEFAULTS.artifactPrefix}*${DEFAULTS.artifactSuffix})`);
  }
  const outFile = values.out ?? join("dist", DEFAULTS.artifactPrefix, `${values.release}${DEFAULTS.artifactSuffix}`);
  const packed = await packRelease({ appDir, release: values.release, outFile });
  console.log(`packed release ${packed.release} into ${packed.outFile}: ${packed.entries.join(", ")}`);
  return 0;
}

if (runsAsCommand(import.meta.url)) {
  runCommand("pack-release", "npx tsx scripts/pack-release.ts --help", () => packReleaseCli(process.argv.slice(2)));
}
