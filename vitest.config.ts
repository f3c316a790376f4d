import { defineConfig } from "vitest/config";
import { availableParallelism } from "node:os";

/**
 * Unit tests of the stage functions and of the state machine's flows share their test processes (no per-file
 * isolation): they import the SDK clients and middy once per process instead of once per file (collecting them
 * took 31 s of CPU isolated, 6 s shared), and each of their files resets the mocked clients before every test.
 * So do the other files that leave the process as they found it (project `shared`: scenario runs attach the
 * simulated region and detach it when they end). The rest (ISOLATED_TESTS) get a process of their own per file,
 * because they change what the process shares.
 */
const UNIT_TESTS = ["test/functions/**/*.test.ts", "test/flow/**/*.test.ts"];
/**
 * The real-time rehearsal (real processes, real sockets, wall-clock deadlines): a vitest run of its own, which
 * `npm test` (scripts/test.mjs) starts beside the suite's.
 */
const REHEARSAL_TESTS = ["test/rehearsal/**/*.test.ts"];
/**
 * Files that change what a process shares, each in a process of its own: the stacks' tests (the configured stages,
 * STAGES, and SST's project state), and the files that attach the simulated region to the SDK clients for the
 * whole file, bind the functions' clock, set environment variables or change the working directory.
 */
const ISOLATED_TESTS = [
  "test/stacks/**/*.test.ts",
  "test/bench/bashReference.test.ts",
  "test/simulator/lockHandover.test.ts",
  "test/simulator/region-services.test.ts",
  "test/simulator/region.test.ts",
  "test/simulator/stepFunctionsApi.test.ts",
  "test/simulator/taskTokens.test.ts",
];

export default defineConfig({
  test: {
    setupFiles: ["test/setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    // One test process per core: vitest's default leaves one core to its main process (cores - 1, so a single
    // worker on CI's 2 cores), which only collects results while the files run.
    maxWorkers: Math.max(2, availableParallelism()),
    reporters: ["default"],
    projects: [
      { extends: true, test: { name: "unit", include: UNIT_TESTS, isolate: false } },
      { extends: true, test: { name: "shared", include: ["test/**/*.test.ts"], exclude: [...UNIT_TESTS, ...REHEARSAL_TESTS, ...ISOLATED_TESTS], isolate: false } },
      { extends: true, test: { name: "isolated", include: ISOLATED_TESTS, isolate: true } },
      { extends: true, test: { name: "rehearsal", include: REHEARSAL_TESTS, isolate: true } },
    ],
  },
});
