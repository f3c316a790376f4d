import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../cli/main.js";

/**
 * The `bin` as people run it: `--help`, answered without loading the AWS SDK, and the one error that needs a real
 * process: no credentials anywhere in the SDK's chain. Each command's `--help` and the usage errors are the same
 * commander program run in this process (`runCli`, what the bin calls): a process per command cost a Node start
 * and tsx's load each, 10 s of CPU a test run (issue 17 item 8).
 */
const ROOT = resolve(import.meta.dirname, "../..");
const BIN = join(ROOT, "bin/immutable-deploy.mjs");
const COMMANDS = ["release", "watch", "status", "history", "images", "rollback", "promote", "redrive", "abort", "approve"];

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function runBin(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Ran> {
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env, timeout: 60_000 }, (error, stdout, stderr) => {
      done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** `runCli` as the bin runs it, its output captured. */
async function runInProcess(args: string[]): Promise<Ran> {
  let stdout = "";
  let stderr = "";
  const code = await runCli(args, { io: { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text), isTTY: false, env: {} } });
  return { code, stdout, stderr };
}

describe("immutable-deploy --help", () => {
  it("lists every command, the global options and the exit codes", async () => {
    // Act
    const run = await runBin(["--help"]);

    // Assess
    expect(run.code).toBe(0);
    for (const command of COMMANDS) expect(run.stdout).toMatch(new RegExp(`^  ${command} `, "m"));
    for (const option of ["--json", "--region <region>", "--profile <profile>", "--no-color"]) expect(run.stdout).toContain(option);
    expect(run.stdout).toContain("3 the deploy needs attention");
  });

  it.each(COMMANDS)("%s --help: usage, --stage, an example, the exit codes", async (command) => {
    // Act
    const run = await runInProcess([command, "--help"]);

    // Assess
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^Usage: immutable-deploy ${command} `));
    expect(run.stdout).toContain("--stage <stage>");
    expect(run.stdout).toContain(`Example:\n  npx immutable-deploy ${command} `);
    expect(run.stdout).toContain("Exit codes: 0 done");
  });

  it("parses arguments without loading the SDK, the stage functions or the simulator: commands are imported after parsing", () => {
    // Prepare: cli/main.ts and what it imports statically (dynamic import() is where commands load)
    const seen = new Set<string>();
    const pending = [join(ROOT, "cli/main.ts")];
    const external: string[] = [];
    while (pending.length > 0) {
      const file = pending.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      const source = readFileSync(file, "utf8");
      // Type-only imports are erased: they load nothing.
      for (const match of source.matchAll(/^(?:import|export)\s+(?!type\s)[^;]*?\sfrom\s+"([^"]+)"/gms)) {
        const specifier = match[1];
        if (specifier.startsWith(".")) pending.push(resolve(dirname(file), specifier.replace(/\.js$/, ".ts")));
        else external.push(specifier);
      }
    }

    // Assess
    expect([...seen].map((file) => file.slice(ROOT.length + 1)).sort()).toEqual(["cli/errors.ts", "cli/main.ts", "cli/output.ts"]);
    expect(external.filter((specifier) => !specifier.startsWith("node:")).sort()).toEqual(["commander"]);
  });

  it("usage errors exit 2", async () => {
    // Act
    const missing = await runInProcess(["status"]);
    const unknown = await runInProcess(["deploy", "--stage", "dev01"]);

    // Assess
    expect(missing).toMatchObject({ code: 2 });
    expect(missing.stderr).toContain("required option '--stage <stage>' not specified");
    expect(unknown).toMatchObject({ code: 2 });
    expect(unknown.stderr).toContain("unknown command 'deploy'");
  });
});

describe("no credentials", () => {
  it("exits 2 with what to do, before any AWS call (nothing in the chain: no keys, no profile, no metadata service)", async () => {
    // Prepare: an empty home, no AWS variables but the region, IMDS off so nothing probes the network
    const home = mkdtempSync(join(tmpdir(), "cli-nocreds-"));
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: home,
      AWS_REGION: "us-east-1",
      AWS_EC2_METADATA_DISABLED: "true",
      AWS_CONFIG_FILE: join(home, "config"),
      AWS_SHARED_CREDENTIALS_FILE: join(home, "credentials"),
    };

    // Act
    const plain = await runBin(["status", "--stage", "dev01"], env);
    const profile = await runBin(["status", "--stage", "dev01", "--profile", "nope", "--json"], env);

    // Assess
    expect(plain.code).toBe(2);
    expect(plain.stderr).toContain("immutable-deploy status: no AWS credentials found for the default credentials:");
    expect(plain.stderr).toContain("allowed: --profile <name> (or AWS_PROFILE)");
    expect(profile.code).toBe(2);
    expect(JSON.parse(profile.stdout)).toEqual({ command: "status", error: expect.stringContaining('no AWS credentials found for profile "nope"'), exitCode: 2 });
  });
});
