// @ts-check
/** The report's name (scripts/mutation/run.ts sets one per part, or per file with --mutate). */
const REPORT_NAME = process.env.MUTATION_REPORT_NAME ?? "functions";

/**
 * Mutation testing of the stage functions: `npm run mutation` (README.md, "Mutation testing"). Mutates
 * functions/**, runs the tests of vitest.mutation.config.ts that cover each mutant (perTest), prints the score and
 * every surviving mutant, and writes the JSON report and the incremental file to reports/mutation/ (ignored by
 * git): a rerun tests only the mutants whose code or tests changed. The state machine definition has a config of
 * its own, scripts/mutation/definition.stryker.config.mjs, which builds on this one.
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  testRunner: "vitest",
  // related: only the test files that import the mutated file run (the dry run, and a mutant that runs at load).
  vitest: { configFile: "vitest.mutation.config.ts", related: true },
  mutate: ["functions/**/*.ts"],
  coverageAnalysis: "perTest",
  plugins: ["@stryker-mutator/vitest-runner", "./scripts/mutation/ignoreLogging.mjs"],
  ignorers: ["logging"],
  // The machine's 2 cores are shared: one test process per core at most.
  concurrency: 2,
  dryRunTimeoutMinutes: 15,
  // A test file loads in 1-5 s on a loaded machine: a tight timeout would count slow runs as killed (Timeout).
  timeoutMS: 30_000,
  reporters: ["clear-text", "progress", "json"],
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true, reportMutants: true },
  jsonReporter: { fileName: `reports/mutation/${REPORT_NAME}.json` },
  incremental: true,
  incrementalFile: `reports/mutation/${REPORT_NAME}-incremental.json`,
  tempDirName: ".stryker-tmp",
  // Stryker rewrites the sandbox's tsconfig (its paths to files outside the sandbox) with TypeScript's JavaScript
  // API, which TypeScript 7, the project's compiler, does not have. tsconfig.json names no file outside the
  // project (no extends, no references), so there is nothing to rewrite: point the preprocessor at no file.
  tsconfigFile: "tsconfig.stryker-none.json",
  cleanTempDir: "always",
  ignorePatterns: [".synth", "cdk.out", "reports", ".sst", "dist", ".build", "/tmp"],
};
