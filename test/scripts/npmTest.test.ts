import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import config from "../../vitest.config.js";

/**
 * `npm test` (scripts/test.mjs) with a stand-in `tsc` and `vitest` first on PATH, where npm puts node_modules/.bin:
 * each records the command it is given and exits with the code the test sets for that command, printing a line
 * that names it.
 */
const ROOT = resolve(import.meta.dirname, "../..");
let bin: string;

function fakeTools(exitCodes: Record<string, number>): void {
  for (const tool of ["tsc", "vitest"]) {
    const script = [
      "#!/bin/sh",
      `set -- ${tool} "$@"`,
      `echo "$*" >> "${bin}/calls"`,
      `echo "$* REHEARSAL_BESIDE_SUITE=\${REHEARSAL_BESIDE_SUITE:-unset}" >> "${bin}/environments"`,
      `echo "output of $*"`,
      ...Object.entries(exitCodes).map(([command, code]) => `[ "$*" = "${command}" ] && exit ${code}`),
      "exit 0",
    ].join("\n");
    writeFileSync(join(bin, tool), `${script}\n`);
    chmodSync(join(bin, tool), 0o755);
  }
}

function npmTest(args: string[] = []) {
  const result = spawnSync(process.execPath, ["scripts/test.mjs", ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
  const calls = readFileSync(join(bin, "calls"), "utf8").trim().split("\n").sort();
  const environments = readFileSync(join(bin, "environments"), "utf8").trim().split("\n").sort();
  return { ...result, calls, environments };
}

const SUITE = "vitest run --project !rehearsal";
const REHEARSAL = "vitest run --project rehearsal";

describe("npm test (scripts/test.mjs)", () => {
  it("the suite runs every vitest project but the rehearsal, so a project added to vitest.config.ts is never left out", () => {
    const names = (config.test?.projects as { test: { name: string } }[]).map((project) => project.test.name);
    // The suite selects by excluding the rehearsal project, which must exist by that name (or it would run too).
    expect(names).toContain("rehearsal");
    expect(SUITE.split(" --project ").slice(1)).toEqual(["!rehearsal"]);
  });

  beforeEach(() => {
    bin = mkdtempSync(join(tmpdir(), "npm-test-"));
  });
  afterEach(() => rmSync(bin, { recursive: true, force: true }));

  it("runs the type check, the suite and the rehearsal tests, and exits 0 when all pass", () => {
    fakeTools({});
    const run = npmTest();
    expect(run.status).toBe(0);
    expect(run.calls).toEqual(["tsc --noEmit --singleThreaded", SUITE, REHEARSAL].sort());
    // Only the rehearsal is told that the suite runs beside it (its end-to-end test then starts no CPU hog).
    expect(run.environments).toEqual([`tsc --noEmit --singleThreaded REHEARSAL_BESIDE_SUITE=unset`, `${SUITE} REHEARSAL_BESIDE_SUITE=unset`, `${REHEARSAL} REHEARSAL_BESIDE_SUITE=1`].sort());
    // The type check's and the rehearsal's output come after the suite's, whole, under a header each.
    expect(run.stdout.indexOf(`output of ${SUITE}`)).toBeLessThan(run.stdout.indexOf("=== tsc --noEmit: passed"));
    expect(run.stdout).toContain(`=== rehearsal tests (vitest --project rehearsal): passed in 0 s\noutput of ${REHEARSAL}`);
  });

  it.each([
    ["the type check", "tsc --noEmit --singleThreaded", 2],
    ["the suite", SUITE, 1],
    ["the rehearsal tests", REHEARSAL, 3],
  ])("fails when %s fails, with its exit code, after running the others to their end", (_, command, code) => {
    fakeTools({ [command]: code });
    const run = npmTest();
    expect(run.status).toBe(code);
    expect(run.calls).toHaveLength(3);
    expect(run.stdout).toMatch(/FAILED/);
  });

  it("with arguments runs only vitest with them", () => {
    fakeTools({});
    const run = npmTest(["test/functions/polling.test.ts", "-t", "cadence"]);
    expect(run.status).toBe(0);
    expect(run.calls).toEqual(["vitest run test/functions/polling.test.ts -t cadence"]);
  });
});
