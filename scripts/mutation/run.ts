/**
 * `npm run mutation [-- --part functions|definition] [--mutate <file>,...] [--concurrency <1-2>] [--force]`: Stryker over
 * the stage functions (stryker.config.mjs) and the state machine definition
 * (scripts/mutation/definition.stryker.config.mjs), each printing its score and surviving mutants; then
 * docs/mutation.md from the reports, and its summary into BENCHMARK.md's "Mutation testing" section. `--mutate` runs Stryker once per file, each with a report and an incremental
 * file of its own, so the other files' results stay; files without a report here (reports/ is not in git) keep what
 * docs/mutation.md said of them.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { choiceOption, integerOption, readOptions, runCommand, UsageError } from "../cli.js";
import { readRuns, renderMutationPage, REPORT_DIR, RUNS_FILE, withBenchmarkSection } from "./summary.js";

const USAGE = `Usage: npm run mutation -- [--part functions|definition|all] [--mutate <file>,...] [--concurrency <1-2>] [--force]
Mutation testing with Stryker: prints each run's score and surviving mutants, writes the JSON reports to
reports/mutation/, the figures to docs/mutation.md and their summary to BENCHMARK.md. Reruns test only mutants
whose code or tests changed.

  --part <part>          functions (functions/**), definition (stacks/pipeline/definition.ts) or all (default)
  --mutate <files>       only these files, comma-separated: functions/<file>.ts or stacks/pipeline/definition.ts
  --concurrency <n>      test processes at once (default 2, the machine's cores)
  --force                test every mutant again, not only those whose code or tests changed (a static mutant,
                         of a module-level value, keeps an earlier result until then: a test added since is not seen)
  --summary              only write docs/mutation.md (and BENCHMARK.md's section) from the reports there are
  -h, --help             this text`;

const PARTS = { functions: "stryker.config.mjs", definition: "scripts/mutation/definition.stryker.config.mjs" } as const;
type Part = keyof typeof PARTS;
const DEFINITION_FILE = "stacks/pipeline/definition.ts";

/** The part a file to mutate belongs to. */
function partOf(file: string): Part {
  if (file === DEFINITION_FILE) return "definition";
  if (file.startsWith("functions/") && file.endsWith(".ts")) {
    if (!existsSync(file)) throw new UsageError("--mutate", file, "a file that exists (functions/<file>.ts)");
    return "functions";
  }
  throw new UsageError("--mutate", file, `functions/<file>.ts or ${DEFINITION_FILE}`);
}

interface StrykerRun {
  part: Part;
  /** The report's name under reports/mutation/ (also of its incremental file). */
  name: string;
  mutate?: string;
}

async function stryker(run: StrykerRun, concurrency: number, force: boolean): Promise<number> {
  const args = ["stryker", "run", PARTS[run.part], "--concurrency", String(concurrency)];
  if (run.mutate) args.push("--mutate", run.mutate);
  if (force) args.push("--force");
  const command = `npx ${args.join(" ")}`;
  process.stderr.write(`mutation: ${command}\n`);
  const startedAt = new Date();
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn("npx", args, { stdio: "inherit", env: { ...process.env, MUTATION_REPORT_NAME: run.name } });
    child.on("error", reject);
    child.on("exit", (exitCode) => resolve(exitCode ?? 1));
  });
  const runs = await readRuns();
  runs[path.join(REPORT_DIR, `${run.name}.json`)] = { command, startedAt: startedAt.toISOString(), seconds: Math.round((Date.now() - startedAt.getTime()) / 1000) };
  await mkdir(REPORT_DIR, { recursive: true });
  await writeFile(RUNS_FILE, JSON.stringify(runs, null, 2));
  return code;
}

async function main(argv: string[]): Promise<number> {
  const values = readOptions(argv, {
    part: { type: "string", allowed: "functions, definition, all" },
    mutate: { type: "string", allowed: "a comma-separated list of files" },
    concurrency: { type: "string", allowed: "an integer from 1 to 2" },
    summary: { type: "boolean" },
    force: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const part = choiceOption("part", values.part, "all", ["functions", "definition", "all"] as const);
  const concurrency = integerOption("concurrency", values.concurrency, 2, 1, 2);
  const files = values.mutate?.split(",").map((file) => file.trim()) ?? [];
  for (const file of files) {
    if (part !== "all" && partOf(file) !== part) throw new UsageError("--mutate", file, `a file of --part ${part}`);
  }
  const runs: StrykerRun[] = values.summary
    ? []
    : files.length > 0
      ? files.map((file) => ({ part: partOf(file), name: `files/${file.replace(/[/.]/g, "_")}`, mutate: file }))
      : (part === "all" ? (["functions", "definition"] as const) : [part]).map((p) => ({ part: p, name: p }));
  let failed = 0;
  for (const run of runs) if ((await stryker(run, concurrency, values.force === true)) !== 0) failed += 1;
  // The page before: files whose reports are not on this machine keep its figures (summary.ts, carriedOver).
  const page = await renderMutationPage(await readFile("docs/mutation.md", "utf8").catch(() => ""));
  await writeFile("docs/mutation.md", page);
  await writeFile("BENCHMARK.md", withBenchmarkSection(await readFile("BENCHMARK.md", "utf8"), page));
  process.stderr.write(`mutation: wrote docs/mutation.md and BENCHMARK.md's "Mutation testing"${failed > 0 ? `; ${failed} Stryker run(s) failed` : ""}\n`);
  return failed > 0 ? 1 : 0;
}

runCommand("mutation", "npm run mutation -- --help", () => main(process.argv.slice(2)));
