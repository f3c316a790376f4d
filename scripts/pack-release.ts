/**
 * Packs a Node.js app folder into the release artifact the bake expects: a `.tgz` holding, at its root,
 * `package.json`, `package-lock.json` (the base image pre-caches dependencies from it, the release image
 * runs `npm ci --omit=dev` with it), the app's built files, and `release.json` naming the release.
 * Files: package.json's "files" list when it has one (plain paths), else the whole folder without
 * node_modules and dot files (.git, .env...). Build your assets before packing: this script does not.
 *
 * CLI: tsx scripts/pack-release.ts --app example-app --release v2 [--out dist/releases/v2.tgz]
 * Then upload it under the artifact prefix, e.g. `aws s3 cp dist/releases/v2.tgz s3://<bucket>/releases/v2.tgz`.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, normalize, relative, resolve, sep } from "node:path";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import { create } from "tar";
import { RELEASE_LABEL_PATTERN, RELEASE_LABEL_RULE } from "../functions/lib/contract.js";
import { DEFAULTS } from "../functions/lib/names.js";

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

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      app: { type: "string", default: "example-app" },
      release: { type: "string" },
      out: { type: "string" },
    },
  });
  if (!values.release) throw new PackReleaseError("--release <label> is required");
  const outFile = values.out ?? join("dist", DEFAULTS.artifactPrefix, `${values.release}${DEFAULTS.artifactSuffix}`);
  const packed = await packRelease({ appDir: values.app!, release: values.release, outFile });
  console.log(`packed release ${packed.release} into ${packed.outFile}: ${packed.entries.join(", ")}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((error: Error) => {
    console.error(`pack-release: ${error.message}`);
    process.exit(1);
  });
}
