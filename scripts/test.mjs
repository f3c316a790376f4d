#!/usr/bin/env node
/**
 * `npm test`: the type check, the test suite (every vitest project but `rehearsal`) and the real-time rehearsal
 * tests (project `rehearsal`), started together. The suite's output streams as it runs; the type check's and the
 * rehearsal's are printed whole when each has ended, after the suite's, so nothing interleaves. Exits with the
 * first non-zero exit code of the three (0 when all passed).
 *
 * Together, because the three mostly wait on different things: the suite keeps both cores busy, the rehearsal
 * waits on real time (its deploys, health checks and traffic run at wall-clock speed, about 100 s) and uses a
 * fraction of a core. The rehearsal holds at far higher load than this (docs/rehearsal-under-load.md: 0 failed
 * requests in 10 of 10 runs beside the suite and six busy loops).
 *
 * `npm test -- <vitest arguments>` (e.g. a file or `-t <name>`) runs only `vitest run <arguments>`.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);

/** Runs a command; with `buffer`, its output is kept and returned instead of streamed. */
function run(name, command, commandArgs, { buffer, env = {} }) {
  const startedAt = Date.now();
  const child = spawn(command, commandArgs, { stdio: buffer ? ["ignore", "pipe", "pipe"] : "inherit", env: { ...process.env, PATH, ...env } });
  let output = "";
  if (buffer) {
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
  }
  return new Promise((resolve) => {
    child.on("error", (error) => resolve({ name, code: 1, output: `${output}${name}: ${error.message}\n`, seconds: 0 }));
    child.on("close", (code, signal) => resolve({ name, code: code ?? (signal ? 1 : 0), output, seconds: (Date.now() - startedAt) / 1000, signal }));
  });
}

// The project's own binaries, run directly: npx cost 0.7 s of CPU per command before the command started. npm puts
// node_modules/.bin first on PATH for `npm test`; appended here for `node scripts/test.mjs` run by hand.
const PATH = [process.env.PATH, path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "node_modules", ".bin")].filter(Boolean).join(path.delimiter);
const bin = (name) => (process.platform === "win32" ? `${name}.cmd` : name);
let results;
if (args.length > 0) {
  results = [await run("vitest", bin("vitest"), ["run", ...args], { buffer: false })];
} else {
  process.stdout.write("npm test: type check, suite and rehearsal tests started together; the type check's and the rehearsal's output follow the suite's\n");
  // Single-threaded: tsc 7's parallel checkers spend a third more CPU (11.4 s against 8.4 s here) for a type check
  // that ends long before the suite; the CPU goes to the suite instead.
  const typeCheck = run("tsc --noEmit", bin("tsc"), ["--noEmit", "--singleThreaded"], { buffer: true });
  // The rehearsal's zero-failure claim must hold on a busy machine: here the suite keeps both cores busy for longer
  // than the rehearsal lasts, so its end-to-end test needs no CPU-bound process of its own beside it.
  const rehearsal = run("rehearsal tests (vitest --project rehearsal)", bin("vitest"), ["run", "--project", "rehearsal"], { buffer: true, env: { REHEARSAL_BESIDE_SUITE: "1" } });
  // Every project but the rehearsal (vitest's `!` excludes one), so a project added to vitest.config.ts runs here too.
  const suite = run("suite (vitest --project !rehearsal)", bin("vitest"), ["run", "--project", "!rehearsal"], { buffer: false });
  results = [await suite];
  for (const pending of [typeCheck, rehearsal]) {
    const result = await pending;
    process.stdout.write(`\n=== ${result.name}: ${result.code === 0 ? "passed" : `FAILED (exit ${result.code}${result.signal ? `, ${result.signal}` : ""})`} in ${result.seconds.toFixed(0)} s\n${result.output}`);
    results.push(result);
  }
  process.stdout.write(`\nnpm test: ${results.map((r) => `${r.name} ${r.code === 0 ? "passed" : "FAILED"} (${r.seconds.toFixed(0)} s)`).join("; ")}\n`);
}
process.exitCode = results.find((r) => r.code !== 0)?.code ?? 0;
