// @ts-check
import base from "../../stryker.config.mjs";

const REPORT_NAME = process.env.MUTATION_REPORT_NAME ?? "definition";

/**
 * Mutation testing of the state machine definition (stacks/pipeline/definition.ts), the second half of
 * `npm run mutation`. Every test synthesizes the definition in its file's beforeAll, so each mutant runs at load
 * ("static") and is tested by every test of scripts/mutation/vitest.definition.config.ts, one synthesis per run.
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  ...base,
  vitest: { configFile: "scripts/mutation/vitest.definition.config.ts", related: false },
  mutate: ["stacks/pipeline/definition.ts"],
  // A fresh test process synthesizes with the CDK and SST loaded anew: 10-15 s before the first test.
  timeoutMS: 60_000,
  jsonReporter: { fileName: `reports/mutation/${REPORT_NAME}.json` },
  incrementalFile: `reports/mutation/${REPORT_NAME}-incremental.json`,
};
