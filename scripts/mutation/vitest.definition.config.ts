import { defineConfig } from "vitest/config";
import base from "../../vitest.config.js";

/**
 * The tests `npm run mutation` runs against the state machine definition's mutants
 * (scripts/mutation/definition.stryker.config.mjs), in place of vitest.config.ts's: the flow tests, which run the
 * synthesized definition, and the Pipeline stack's template tests.
 */
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    // vitest.config.ts's projects would replace this include.
    projects: undefined,
    include: ["test/flow/**/*.test.ts", "test/stacks/pipeline.test.ts"],
    // Each test file synthesizes the state machine: a definition cached by its inputs' hash would be the same for
    // every mutant (Stryker puts all mutants into one instrumented file and switches them at run time).
    env: { DEFINITION_CACHE: "off" },
    // Stryker's vitest runner uses the threads pool, which vitest.config.ts shares between files: a fresh one each.
    poolOptions: { ...base.test?.poolOptions, threads: { isolate: true } },
  },
});
