/**
 * The stage functions' bundles as `sst deploy` builds them: the esbuild options of SST v2's Node runtime handler
 * (node_modules/sst/runtime/handlers/node.js, `build`, ESM branch: bundle, platform node, format esm, target esnext,
 * mainFields module/main, keepNames, SST's createRequire banner, `sharp` and `pg-native` external, the SDK bundled
 * (nothing is left to the runtime for ESM), and the app's `nodejs` props: sourcemap off, `minify` as
 * FUNCTION_DEFAULTS sets it). For each: size raw and zipped (deflate, as in the deployment package), the SDK
 * client packages inside, and an import-time proxy: a fresh `node` importing the bundle (module scope only, no
 * invocation) against a bare `node`, median of several runs on this machine.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { deflateRawSync } from "node:zlib";
import { build, type Plugin } from "esbuild";
import { FUNCTION_DEFAULTS } from "../../stacks/app.js";
import { STAGE_FUNCTION_IDS, type StageFunctionId } from "../../stacks/pipeline/tables.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** SST's banner for ESM bundles (node.js, `banner.js`), so the bundle runs as SST ships it. */
const SST_ESM_BANNER = [
  `import { createRequire as topLevelCreateRequire } from 'module';`,
  `const require = topLevelCreateRequire(import.meta.url);`,
  `import { fileURLToPath as topLevelFileUrlToPath, URL as topLevelURL } from "url"`,
  `const __dirname = topLevelFileUrlToPath(new topLevelURL(".", import.meta.url))`,
  "",
].join("\n");

export interface BundleVariant {
  name: string;
  minify: boolean;
  /** Today's build on main: every SDK client created at module load, whether the function uses it or not. */
  allClients: boolean;
}

export const DEPLOYED: BundleVariant = { name: "as deployed", minify: Boolean((FUNCTION_DEFAULTS.nodejs as { minify?: boolean }).minify), allClients: false };
export const BEFORE_ISSUE_17: BundleVariant = { name: "main before issue 17", minify: false, allClients: true };

/** The commit the benchmark compares with (main before issue 17). */
export const BASELINE_COMMIT = "a2c7260";

/**
 * Today's functions with main's clients.ts (git show BASELINE_COMMIT): each client constructed at load, so
 * esbuild keeps all nine (and their packages) in every bundle.
 */
const everyClientAtLoad: Plugin = {
  name: "every-client-at-load",
  setup(build) {
    build.onLoad({ filter: /functions\/lib\/clients\.ts$/ }, () => ({
      contents: execFileSync("git", ["show", `${BASELINE_COMMIT}:functions/lib/clients.ts`], { cwd: ROOT, encoding: "utf8" }),
      loader: "ts",
    }));
  },
};

export interface BundleFigures {
  bytes: number;
  zippedBytes: number;
  /** `@aws-sdk/client-*` packages in the bundle. */
  clients: string[];
  code: string;
}

/** Every stage function's bundle: one esbuild build with an entry point per function (the SDK is parsed once). */
export async function bundleStageFunctions(variant: BundleVariant): Promise<Map<StageFunctionId, BundleFigures>> {
  const outdir = path.join(ROOT, ".build", "bundles");
  const result = await build({
    entryPoints: Object.fromEntries(STAGE_FUNCTION_IDS.map((id) => [id, path.join(ROOT, "functions", `${id}.ts`)])),
    platform: "node",
    external: ["sharp", "pg-native"],
    keepNames: true,
    bundle: true,
    logLevel: "silent",
    metafile: true,
    format: "esm",
    target: "esnext",
    mainFields: ["module", "main"],
    banner: { js: SST_ESM_BANNER },
    sourcemap: false,
    minify: variant.minify,
    write: false,
    outdir,
    outExtension: { ".js": ".mjs" },
    plugins: variant.allClients ? [everyClientAtLoad] : [],
  });
  const bundles = new Map<StageFunctionId, BundleFigures>();
  for (const id of STAGE_FUNCTION_IDS) {
    const file = path.join(outdir, `${id}.mjs`);
    const code = result.outputFiles.find((output) => output.path === file)!.text;
    // What the output holds: the inputs of the output file that left bytes in it (metafile.inputs lists every
    // file esbuild parsed, tree-shaken or not).
    const inputs = Object.entries(result.metafile.outputs[path.relative(process.cwd(), file)].inputs);
    const clients = [
      ...new Set(
        inputs
          .filter(([, input]) => input.bytesInOutput > 0)
          .map(([input]) => /node_modules\/@aws-sdk\/(client-[a-z0-9-]+)\//.exec(input)?.[1])
          .filter((name): name is string => Boolean(name)),
      ),
    ].sort();
    const bytes = Buffer.byteLength(code);
    bundles.set(id, { bytes, zippedBytes: deflateRawSync(code, { level: 9 }).byteLength, clients, code });
  }
  return bundles;
}

function medianSeconds(run: () => void, times: number): number {
  const samples: number[] = [];
  for (let i = 0; i < times; i++) {
    const started = process.hrtime.bigint();
    run();
    samples.push(Number(process.hrtime.bigint() - started) / 1e9);
  }
  return samples.sort((a, b) => a - b)[Math.floor(samples.length / 2)];
}

export interface ImportTimes {
  bareNodeSeconds: number;
  /** By function: median seconds for `node bundle.mjs` (module scope only). */
  seconds: Record<string, number>;
}

/** Imports each bundle in a fresh node, `times` times each, beside a bare node; medians. */
export function importTimes(bundles: Record<string, string>, times = 7): ImportTimes {
  const dir = mkdtempSync(path.join(tmpdir(), "bundle-import-"));
  try {
    const bareNodeSeconds = medianSeconds(() => spawnSync(process.execPath, ["-e", ""]), times);
    const seconds: Record<string, number> = {};
    for (const [name, code] of Object.entries(bundles)) {
      const file = path.join(dir, `${name}.mjs`);
      writeFileSync(file, code);
      seconds[name] = medianSeconds(() => {
        const run = spawnSync(process.execPath, [file], { env: { ...process.env, AWS_REGION: "us-east-1" }, encoding: "utf8" });
        if (run.status !== 0) throw new Error(`importing ${name} failed: ${run.stderr}`);
      }, times);
    }
    return { bareNodeSeconds, seconds };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

