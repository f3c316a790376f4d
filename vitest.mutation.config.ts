import { defineConfig } from "vitest/config";
import base from "./vitest.config.js";

/**
 * The tests `npm run mutation` runs against the stage functions' mutants (stryker.config.mjs), in place of
 * vitest.config.ts's: the unit tests of functions/ and the error-code sets' check against AWS's published data,
 * seconds each. Left out for time (a mutant is tested by every test that runs its code, and these take minutes):
 * the scenario suite (test/simulator/scenarios.test.ts, minutes, with the API-call and IAM checks that share its
 * runs), and the tests that synthesize the app first (lambda, carryOverCalls: 10-15 s per run). The state machine definition has
 * its own: scripts/mutation/vitest.definition.config.ts.
 */
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    projects: undefined,
    include: ["test/functions/**/*.test.ts", "test/aws/errorCodes.test.ts"],
    // Stryker's vitest runner runs the tests in the threads pool, which vitest.config.ts shares between files (for its
    // own projects, with a setup file that takes aws-sdk-client-mock's stubs off): here each file gets a fresh one.
    poolOptions: { ...base.test?.poolOptions, threads: { isolate: true } },
  },
});
