import { defineConfig } from "vitest/config";
import { availableParallelism } from "node:os";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["test/setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    // One test process per core: vitest's default leaves one core to its main process (cores - 1, so a single
    // worker on CI's 2 cores), which only collects results while the files run.
    maxWorkers: Math.max(2, availableParallelism()),
    reporters: ["default"],
  },
});
