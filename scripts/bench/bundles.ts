/**
 * The stage functions' bundles as `sst deploy` builds them: the esbuild options of SST v2's Node runtime handler
 * (node_modules/sst/runtime/handlers/node.js, `build`, ESM branch: bundle, platform node, format esm, target esnext,
 * mainFields module/main, keepNames, SST's createRequire banner, `sharp` and `pg-native` external, the SDK bundled
 * (nothing is left to the runtime for ESM), and the app's `nodejs` props: sourcemap off, `minify` and the esbuild
 * options as FUNCTION_DEFAULTS sets them: `keepNames` off, its plugins). For each: size raw and zipped (deflate, as in the deployment package), the SDK
 * client packages inside, and an import-time proxy: a fresh `node` importing the bundle (module scope only, no
 * invocation) against a bare `node`, median of several runs on this machine.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { deflateRawSync } from "node:zlib";
import { createRequire } from "node:module";
import type { SstEsbuildPlugin as Plugin } from "../../stacks/sdkSchemaKeys.js";
import { FUNCTION_DEFAULTS } from "../../stacks/app.js";
import { STAGE_FUNCTION_IDS, type StageFunctionId } from "../../stacks/pipeline/tables.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * The esbuild SST's Node handler imports (node_modules/sst/runtime/handlers/node.js resolves `esbuild` from
 * there: SST pins its own, 0.18.13, not the project's), so the figures are those of the build `sst deploy` makes.
 */
export const sstEsbuild = createRequire(path.join(ROOT, "node_modules/sst/runtime/handlers/node.js"))("esbuild") as typeof import("../../node_modules/sst/node_modules/esbuild/lib/main.js");

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
  /** esbuild's keepNames: SST sets it, the app may override it (FUNCTION_DEFAULTS.nodejs.esbuild). */
  keepNames: boolean;
  /** Today's build on main: every SDK client created at module load, whether the function uses it or not. */
  allClients: boolean;
  /** esbuild plugins of the build. */
  plugins: Plugin[];
}

/** The app's esbuild plugins (FUNCTION_DEFAULTS.nodejs.esbuild): SST passes them to its build. */
const APP_PLUGINS: Plugin[] = [...FUNCTION_DEFAULTS.nodejs.esbuild.plugins];

export const DEPLOYED: BundleVariant = {
  name: "as deployed",
  minify: FUNCTION_DEFAULTS.nodejs.minify,
  keepNames: FUNCTION_DEFAULTS.nodejs.esbuild.keepNames,
  allClients: false,
  plugins: APP_PLUGINS,
};
export const BEFORE_ISSUE_17: BundleVariant = { name: "main before issue 17", minify: false, keepNames: true, allClients: true, plugins: [] };

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
  /** Every package (`node_modules/<name>`) that left bytes in the bundle, sorted. */
  packages: string[];
  code: string;
}

/** SST's esbuild options for an ES module function (node.js, `build`), with the variant's own; nothing is written. */
function sstBuildOptions(variant: BundleVariant) {
  return {
    platform: "node" as const,
    external: ["sharp", "pg-native"],
    keepNames: variant.keepNames,
    bundle: true,
    logLevel: "silent" as const,
    metafile: true as const,
    format: "esm" as const,
    target: "esnext",
    mainFields: ["module", "main"],
    banner: { js: SST_ESM_BANNER },
    sourcemap: false,
    minify: variant.minify,
    write: false as const,
    plugins: [...variant.plugins, ...(variant.allClients ? [everyClientAtLoad] : [])],
  };
}

/**
 * One module (`entry`, a file anywhere) bundled as SST bundles a stage function, its packages found in the
 * project's node_modules: for tests of what the plugins do to code.
 */
export function bundleModule(entry: string, variant: BundleVariant = DEPLOYED) {
  return sstEsbuild.build({ ...sstBuildOptions(variant), entryPoints: [entry], nodePaths: [path.join(ROOT, "node_modules")] });
}

/** Every stage function's bundle: one esbuild build with an entry point per function (the SDK is parsed once). */
export async function bundleStageFunctions(variant: BundleVariant): Promise<Map<StageFunctionId, BundleFigures>> {
  const outdir = path.join(ROOT, ".build", "bundles");
  const result = await sstEsbuild.build({
    ...sstBuildOptions(variant),
    entryPoints: Object.fromEntries(STAGE_FUNCTION_IDS.map((id) => [id, path.join(ROOT, "functions", `${id}.ts`)])),
    outdir,
    outExtension: { ".js": ".mjs" },
  });
  const bundles = new Map<StageFunctionId, BundleFigures>();
  for (const id of STAGE_FUNCTION_IDS) {
    const file = path.join(outdir, `${id}.mjs`);
    const code = result.outputFiles.find((output) => output.path === file)!.text;
    // What the output holds: the inputs of the output file that left bytes in it (metafile.inputs lists every
    // file esbuild parsed, tree-shaken or not).
    const inputs = Object.entries(result.metafile.outputs[path.relative(process.cwd(), file)].inputs);
    const packages = [
      ...new Set(
        inputs
          .filter(([, input]) => input.bytesInOutput > 0)
          // The innermost node_modules: a package nested in another's is its own.
          .map(([input]) => /.*node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input)?.[1])
          .filter((name): name is string => Boolean(name)),
      ),
    ].sort();
    const clients = packages.filter((name) => name.startsWith("@aws-sdk/client-")).map((name) => name.slice("@aws-sdk/".length));
    const bytes = Buffer.byteLength(code);
    bundles.set(id, { bytes, zippedBytes: deflateRawSync(code, { level: 9 }).byteLength, clients, packages, code });
  }
  return bundles;
}

const median = (samples: number[]) => [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)];

export interface ImportTimes {
  bareNodeSeconds: number;
  /** Median seconds for `node` running an empty ES module: what loading any module adds to a bare node. */
  emptyModuleSeconds: number;
  /** By function: median seconds for `node bundle.mjs` (module scope only), process start to exit. */
  seconds: Record<string, number>;
  /** By function: median CPU seconds (user + system, all threads) of the import itself, measured in the process. */
  cpuSeconds: Record<string, number>;
}

/** Imports the bundle in this fresh process and prints its CPU seconds (process.cpuUsage around the import). */
const IMPORT_AND_MEASURE =
  "const before = process.cpuUsage(); await import(process.argv[1]); const used = process.cpuUsage(before); " +
  "console.log((used.user + used.system) / 1e6);";

/** The module each round also imports: the wall time of an ES module that does nothing. */
const EMPTY_MODULE = "(an empty module)";

/**
 * Each bundle imported by a fresh node, `times` rounds, beside a bare node; medians. Each round runs the bare
 * node and every module once, in turn, so a change in the machine's load during the run touches them alike.
 *
 * Two processes per module: the wall time is `node <bundle>.mjs`, nothing else in the process; the CPU time is
 * measured around the import in a second one, which must then print it (setting up `console` and a piped
 * `process.stdout` and linking a module around the import took 6-10 ms of wall time per process, which the
 * wall figure used to count as the bundle's).
 */
export function importTimes(bundles: Record<string, string>, times = 7): ImportTimes {
  const dir = mkdtempSync(path.join(tmpdir(), "bundle-import-"));
  try {
    const wall: Record<string, number[]> = {};
    const cpu: Record<string, number[]> = {};
    const bare: number[] = [];
    const modules = { [EMPTY_MODULE]: "", ...bundles };
    for (const [name, code] of Object.entries(modules)) writeFileSync(path.join(dir, `${name}.mjs`), code);
    const options = { env: { ...process.env, AWS_REGION: "us-east-1" }, encoding: "utf8" } as const;
    for (let round = 0; round < times; round++) {
      let started = process.hrtime.bigint();
      spawnSync(process.execPath, ["-e", ""]);
      bare.push(Number(process.hrtime.bigint() - started) / 1e9);
      for (const name of Object.keys(modules)) {
        const file = path.join(dir, `${name}.mjs`);
        started = process.hrtime.bigint();
        const imported = spawnSync(process.execPath, ["--no-warnings", file], options);
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const measured = spawnSync(process.execPath, ["--no-warnings", "--input-type=module", "-e", IMPORT_AND_MEASURE, file], options);
        for (const run of [imported, measured]) if (run.status !== 0) throw new Error(`importing ${name} failed: ${run.stderr}`);
        (wall[name] ??= []).push(seconds);
        (cpu[name] ??= []).push(Number(measured.stdout.trim()));
      }
    }
    const medians = (samples: Record<string, number[]>) => Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, median(values)]));
    const { [EMPTY_MODULE]: emptyModuleSeconds, ...seconds } = medians(wall);
    const cpuSeconds = medians(cpu);
    delete cpuSeconds[EMPTY_MODULE];
    return { bareNodeSeconds: median(bare), emptyModuleSeconds, seconds, cpuSeconds };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
