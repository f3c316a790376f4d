import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STAGE_FUNCTION_IDS, stageFunctionOfResource } from "../../stacks/pipeline/tables.js";
import { useProject } from "sst/project.js";
import { removeDirectoriesOfEndedProcesses, STACK_IDS, synthesizeApp } from "../../stacks/synthesize.js";

/**
 * The README's offline command, run as a fresh clone would run it: `npm run synth -- --stage dev01 --nag` as a
 * child process with dummy credentials, no metadata service, and every endpoint and proxy pointed at a local
 * listener that counts connections (so any network attempt fails fast and is seen). It gets an empty TMPDIR, which
 * must be empty again afterwards. Its templates are compared with this process's own synthesis. `--bundle` builds
 * the code as a deploy does (SST's esbuild build and an `npm install` per function: 10 s of CPU for 14 functions);
 * that build is checked once, for one function, byte for byte against the benchmark's (test/stacks/bundles.test.ts),
 * and the placeholder templates against a synthesis with that function bundled (issue 17 item 8).
 */
const ROOT = resolve(import.meta.dirname, "../..");
type Template = { Resources: Record<string, { Type: string; Properties?: Record<string, any> }> };

interface SynthRun {
  status: number | null;
  output: string;
  templates: Record<string, Template>;
  leftInTmp: string[];
}

let listener: Server;
let connections = 0;
let work: string;
let command: SynthRun;
let inProcess: Record<string, Template>;

function synth(name: string, extra: string[], port: number): Promise<SynthRun> {
  const out = join(work, `${name}-out`);
  const tmp = mkdtempSync(join(work, `${name}-tmp-`));
  const trap = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: join(work, "home"),
    TMPDIR: tmp,
    CI: process.env.CI,
    AWS_ACCESS_KEY_ID: "AKIAOFFLINEDUMMY0000",
    AWS_SECRET_ACCESS_KEY: "offline-dummy-secret",
    AWS_REGION: "us-east-1",
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_CONFIG_FILE: join(work, "no-aws-config"),
    AWS_SHARED_CREDENTIALS_FILE: join(work, "no-aws-credentials"),
    AWS_ENDPOINT_URL: trap,
    HTTP_PROXY: trap,
    HTTPS_PROXY: trap,
    http_proxy: trap,
    https_proxy: trap,
    npm_config_proxy: trap,
    npm_config_https_proxy: trap,
    npm_config_registry: trap,
    npm_config_update_notifier: "false",
  };
  return new Promise((done) => {
    const child = spawn("npm", ["run", "synth", "--", "--stage", "dev01", "--nag", "--out", out, ...extra], { cwd: ROOT, env });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.on("close", (status) => {
      const dir = join(out, "dev01");
      const templates = Object.fromEntries(
        STACK_IDS.map((id) => [id, JSON.parse(readFileSync(join(dir, `dev01-immutable-deploy-${id}.template.json`), "utf8")) as Template]),
      );
      // tsx (which npm run synth uses) keeps its own directory there, tsx-<uid> (its IPC pipe and cache).
      done({ status, output, templates, leftInTmp: readdirSync(tmp).filter((entry) => !/^tsx-\d+$/.test(entry)) });
    });
  });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "synth-commands-"));
  listener = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((ready) => listener.listen(0, "127.0.0.1", ready));
  const port = (listener.address() as { port: number }).port;
  command = await synth("command", [], port);
  const app = await synthesizeApp("dev01");
  inProcess = Object.fromEntries(STACK_IDS.map((id) => [id, app.template(id) as Template]));
}, 300_000);

afterAll(() => {
  listener?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("npm run synth -- --stage dev01 --nag, offline", () => {
  it("exits 0 with no cdk-nag error and writes both templates", () => {
    expect(command.output).not.toMatch(/cdk-nag AwsSolutions|unsuppressed/);
    expect(command.status, command.output).toBe(0);
    expect(command.output).toMatch(/synth: wrote .*dev01-immutable-deploy-Pipeline\.template\.json \(\d+ resources\)/);
  });

  it("makes no network connection at all (AWS endpoints, proxies, the npm registry)", () => {
    expect(connections).toBe(0);
  });

  it("leaves nothing in its temporary directory", () => {
    expect(command.leftInTmp).toEqual([]);
  });

  it("writes the templates a synthesis in this process makes (cdk-nag adds no resource), the stage functions on nodejs24.x", () => {
    for (const id of STACK_IDS) expect(command.templates[id], id).toEqual(inProcess[id]);
    const stageFunctions = Object.entries(command.templates.Pipeline.Resources).filter(([id, r]) => r.Type === "AWS::Lambda::Function" && stageFunctionOfResource(id));
    expect(stageFunctions).toHaveLength(STAGE_FUNCTION_IDS.length);
    expect(new Set(stageFunctions.map(([, r]) => r.Properties?.Runtime))).toEqual(new Set(["nodejs24.x"]));
  });

  it("says what only sst deploy decides: the zone lookup and the refused placeholders", () => {
    expect(command.output).toContain("synth: note: availability-zones lookup");
    expect(command.output).toContain('synth: note: sst deploy refuses domain: "example.com"');
  });
});

describe("npm run synth: usage", () => {
  it("a bad option is one line naming it and what is allowed, exit 2, before anything heavy loads", () => {
    const result = spawnSync(process.execPath, ["--import", "tsx", "scripts/synth.ts", "--stagee", "dev01"], { cwd: ROOT, encoding: "utf8" });
    expect(result.status).toBe(2);
    expect(result.stderr).toBe("synth: --stagee: unknown option (did you mean \"--stage\"?); allowed: --stage, --nag, --bundle, --out, --help\n(npm run synth -- --help lists every option)\n");
  });
});

describe("synthesizeApp (in process, as the tests use it)", () => {
  it("removes its cloud assembly directory", async () => {
    // Prepare: an empty temporary directory of its own.
    const tmp = mkdtempSync(join(tmpdir(), "synth-in-process-"));
    const previous = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    try {
      // Act
      const app = await synthesizeApp("classic01");
      // Assess: the templates were read before the directory went.
      expect(Object.keys(app.template("Pipeline").Resources).length).toBeGreaterThan(0);
      expect(readdirSync(tmp)).toEqual([]);
    } finally {
      if (previous === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = previous;
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe("offline syntheses in parallel processes", () => {
  it("leave the shared .sst alone: each process writes SST's typings and build output in its own directory", async () => {
    // Prepare: a file in the shared typings directory, which every App SST constructs used to empty (CI failed
    // with ENOENT on .sst/types/index.ts when two vitest workers synthesized at once).
    const shared = join(ROOT, ".sst", "types");
    const sentinel = join(shared, "sentinel-of-another-process.ts");
    mkdirSync(shared, { recursive: true });
    writeFileSync(sentinel, "// written by another process\n");
    try {
      // Act
      await synthesizeApp("production");
      // Assess
      expect(readFileSync(sentinel, "utf8")).toBe("// written by another process\n");
      const own = useProject().paths.out;
      expect(own.startsWith(join(ROOT, ".sst", "offline-"))).toBe(true);
      expect(readFileSync(join(own, "types", "index.ts"), "utf8")).toContain('declare module "sst/node/config"');
    } finally {
      rmSync(sentinel, { force: true });
    }
  });

  it("removes the directories of processes that ended without their exit handlers (terminated test workers)", () => {
    // Prepare: a process that has ended, this one, and a directory that is not a process's.
    const ended = spawnSync(process.execPath, ["-e", ""]).pid;
    const shared = mkdtempSync(join(tmpdir(), "sst-out-"));
    for (const name of [`offline-${ended}-a`, `offline-${process.pid}-b`, "types"]) mkdirSync(join(shared, name));
    try {
      // Act
      removeDirectoriesOfEndedProcesses(shared);
      // Assess
      expect(readdirSync(shared).sort()).toEqual([`offline-${process.pid}-b`, "types"]);
    } finally {
      rmSync(shared, { recursive: true, force: true });
    }
  });
});
