import { defineConfig } from "vitest/config";
import { availableParallelism } from "node:os";

/**
 * Unit tests of the stage functions and of the state machine's flows share their test processes (no per-file
 * isolation): they import the SDK clients and middy once per process instead of once per file (collecting them
 * took 31 s of CPU isolated, 6 s shared), and each of their files resets the mocked clients before every test.
 * Every other file gets a process of its own, because it changes what the process shares: the configured stages
 * (STAGES), the simulated region attached to the SDK clients, environment variables, the working directory. (Sharing
 * processes among the 27 of them that leave the process as they found it was measured: 402 s of CPU for the suite
 * instead of 413, and no gain under `npm test`; not worth a file that one day leaks into another.)
 */
const UNIT_TESTS = ["test/functions/**/*.test.ts", "test/flow/**/*.test.ts"];
/**
 * The real-time rehearsal (real processes, real sockets, wall-clock deadlines): a vitest run of its own, which
 * `npm test` (scripts/test.mjs) starts beside the suite's.
 */
const REHEARSAL_TESTS = ["test/rehearsal/**/*.test.ts"];
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
      { extends: true, test: { name: "isolated", include: ["test/**/*.test.ts"], exclude: [...UNIT_TESTS, ...REHEARSAL_TESTS], isolate: true } },
      { extends: true, test: { name: "rehearsal", include: REHEARSAL_TESTS, isolate: true } },
    ],
  },
});
