import { defineConfig } from "vitest/config";
import { availableParallelism } from "node:os";

/**
 * Test files share worker threads (no per-file isolation) unless they change what a process shares: they import
 * the SDK, aws-cdk-lib, SST and the simulator once per worker instead of once per file, and what a module caches
 * (a stage's synthesis, the state machine definition) serves every file. vitest 3 isolates per pool, not per
 * project (its forks pool reads `isolate` from the root config only: a project's `isolate: false` changed nothing,
 * each file still got a fresh process), so the shared files run in the `threads` pool with isolation off, and the
 * others in the `forks` pool, a fresh process per file. Collecting the stage functions' unit tests took 38 s of a
 * 31 s run in fresh processes, 6 s of a 7 s run shared.
 *
 * Shared: the stage functions' and the state machine's unit tests (each of their files resets the mocked clients
 * before every test), and every file that leaves the process as it found it.
 */
export const UNIT_TESTS = ["test/functions/**/*.test.ts", "test/flow/**/*.test.ts"];
/**
 * A process of their own: files that change what the process shares and cannot put it back: a mocked EC2 client
 * class (app: aws-sdk-client-mock stubs the class, so every client of the process). Files that change it and put it
 * back in an `afterAll`/`afterEach`/`finally` share (environment: the stages it adds; bundles: the credential and
 * npm variables; synth: TMPDIR, which a worker thread has a copy of; region, region-services: the regions they
 * attach). synth.test.ts shares since its child process no longer bundles: its syntheses reuse the worker's
 * aws-cdk-lib and SST instead of loading them in a process of their own (issue 17 item 8).
 */
export const ISOLATED_TESTS = ["test/stacks/app.test.ts"];
/** Before each file of a shared worker: the SDK client classes without the mocks an earlier file left on them. */
export const SHARED_WORKER_SETUP = "test/setupSharedWorker.ts";
/**
 * The real-time rehearsal (real processes, real sockets, wall-clock deadlines): a vitest run of its own, which
 * `npm test` (scripts/test.mjs) starts beside the suite's.
 */
export const REHEARSAL_TESTS = ["test/rehearsal/**/*.test.ts"];
export default defineConfig({
  test: {
    setupFiles: ["test/setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // The forks pool gives each file a fresh process (isolate: vitest's default); the threads pool runs the shared
    // projects with isolation off. Both are sized per core: vitest's default leaves one core to its main process
    // (cores - 1, a single worker on CI's 2 cores), which only collects results while the files run.
    pool: "forks",
    poolOptions: { threads: { isolate: false } },
    maxWorkers: Math.max(2, availableParallelism()),
    reporters: ["default"],
    projects: [
      { extends: true, test: { name: "unit", include: UNIT_TESTS, pool: "threads", setupFiles: [SHARED_WORKER_SETUP] } },
      {
        extends: true,
        test: { name: "shared", include: ["test/**/*.test.ts"], exclude: [...UNIT_TESTS, ...ISOLATED_TESTS, ...REHEARSAL_TESTS], pool: "threads", setupFiles: [SHARED_WORKER_SETUP] },
      },
      { extends: true, test: { name: "isolated", include: ISOLATED_TESTS } },
      { extends: true, test: { name: "rehearsal", include: REHEARSAL_TESTS } },
    ],
  },
});
