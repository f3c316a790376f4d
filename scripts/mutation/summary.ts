/**
 * The figures of `npm run mutation`, from the Stryker JSON reports in reports/mutation/ (ignored by git): per
 * mutated file the newest report that covers it, the mutants by status, the score, and every surviving mutant,
 * marked equivalent when scripts/mutation/equivalent.ts explains why no test can kill it. Written to
 * docs/mutation.md, whose "Summary" section `npm run bench` copies into BENCHMARK.md.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { EQUIVALENT_MUTANTS, type EquivalentMutant } from "./equivalent.js";

export const REPORT_DIR = "reports/mutation";
/** Wall time and command of each Stryker run, by report file (run.ts appends; the JSON report has no timing). */
export const RUNS_FILE = path.join(REPORT_DIR, "runs.json");

export interface RunRecord {
  command: string;
  startedAt: string;
  seconds: number;
}

interface ReportMutant {
  mutatorName: string;
  replacement?: string;
  status: string;
  static?: boolean;
  location: { start: { line: number; column: number }; end: { line: number; column: number } };
}
interface Report {
  files: Record<string, { source: string; mutants: ReportMutant[] }>;
}

export interface Survivor {
  file: string;
  line: number;
  column: number;
  status: "Survived" | "NoCoverage";
  /** Runs when its module loads (a module-level constant): Stryker must reload the module to test it. */
  static: boolean;
  mutator: string;
  original: string;
  replacement: string;
  equivalent?: string;
}

export interface FileFigures {
  file: string;
  report: string;
  total: number;
  killed: number;
  timeout: number;
  survived: number;
  noCoverage: number;
  ignored: number;
  errors: number;
  equivalent: number;
}

/** Stryker's score: detected / valid mutants (killed and timed out, over those plus survived and uncovered). */
export function score(f: Pick<FileFigures, "killed" | "timeout" | "survived" | "noCoverage">): number {
  const valid = f.killed + f.timeout + f.survived + f.noCoverage;
  return valid === 0 ? Number.NaN : (100 * (f.killed + f.timeout)) / valid;
}

/** The score over the mutants that can be killed at all: equivalent survivors left out. */
export function nonEquivalentScore(f: FileFigures): number {
  const valid = f.killed + f.timeout + f.survived + f.noCoverage - f.equivalent;
  return valid === 0 ? Number.NaN : (100 * (f.killed + f.timeout)) / valid;
}

/** The code a mutant replaces, on one line. */
function originalOf(source: string, mutant: ReportMutant): string {
  const lines = source.split("\n");
  const { start, end } = mutant.location;
  const first = lines[start.line - 1] ?? "";
  // A mutant over several lines (a block): its first two lines, enough to tell one block from another.
  const text = start.line === end.line ? first.slice(start.column - 1, end.column - 1) : `${first.slice(start.column - 1)} ${(lines[start.line] ?? "").trim()} …`;
  return text.replace(/\s+/g, " ").trim();
}

const matches = (entry: EquivalentMutant, survivor: Survivor) =>
  entry.file === survivor.file &&
  entry.mutator === survivor.mutator &&
  survivor.original === entry.original &&
  survivor.replacement.replace(/\s+/g, " ").includes(entry.replacement);

/** The TypeScript files under a folder, as paths relative to the working directory. */
async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => entry.isFile() && entry.name.endsWith(".ts")).map((entry) => path.join(entry.parentPath, entry.name));
}

/** Every report (not the incremental files), newest first. */
async function reportFiles(dir: string): Promise<{ file: string; mtime: number }[]> {
  const found: { file: string; mtime: number }[] = [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (!entry.isFile() || !entry.name.endsWith(".json") || entry.name.endsWith("-incremental.json") || entry.name === "runs.json") continue;
    const file = path.join(entry.parentPath, entry.name);
    found.push({ file, mtime: (await stat(file)).mtimeMs });
  }
  return found.sort((a, b) => b.mtime - a.mtime);
}

/** Figures per mutated file and the surviving mutants, each file from the newest report that has it. */
export async function collectFigures(dir = REPORT_DIR): Promise<{ files: FileFigures[]; survivors: Survivor[]; reports: string[] }> {
  const files: FileFigures[] = [];
  const survivors: Survivor[] = [];
  const used = new Set<string>();
  const seen = new Set<string>();
  for (const { file: reportFile } of await reportFiles(dir)) {
    const report = JSON.parse(await readFile(reportFile, "utf8")) as Report;
    for (const [file, { source, mutants }] of Object.entries(report.files)) {
      if (seen.has(file)) continue;
      seen.add(file);
      used.add(reportFile);
      const count = (...statuses: string[]) => mutants.filter((m) => statuses.includes(m.status)).length;
      const fileSurvivors = mutants
        .filter((m) => m.status === "Survived" || m.status === "NoCoverage")
        .map((m): Survivor => {
          const survivor: Survivor = {
            file,
            line: m.location.start.line,
            column: m.location.start.column,
            status: m.status as Survivor["status"],
            static: m.static === true,
            mutator: m.mutatorName,
            original: originalOf(source, m),
            replacement: (m.replacement ?? "").replace(/\s+/g, " "),
          };
          const entry = EQUIVALENT_MUTANTS.find((e) => matches(e, survivor));
          return entry ? { ...survivor, equivalent: entry.reason } : survivor;
        })
        .sort((a, b) => a.line - b.line || a.column - b.column);
      survivors.push(...fileSurvivors);
      files.push({
        file,
        report: reportFile,
        total: mutants.length,
        killed: count("Killed"),
        timeout: count("Timeout"),
        survived: count("Survived"),
        noCoverage: count("NoCoverage"),
        ignored: count("Ignored"),
        errors: count("RuntimeError", "CompileError"),
        equivalent: fileSurvivors.filter((s) => s.equivalent).length,
      });
    }
  }
  files.sort((a, b) => a.file.localeCompare(b.file));
  return { files, survivors, reports: [...used] };
}

/** The sum of some files' figures. */
export function totalOf(file: string, files: FileFigures[]): FileFigures {
  const sum = (key: keyof FileFigures) => files.reduce((n, f) => n + (f[key] as number), 0);
  return {
    file,
    report: "",
    total: sum("total"),
    killed: sum("killed"),
    timeout: sum("timeout"),
    survived: sum("survived"),
    noCoverage: sum("noCoverage"),
    ignored: sum("ignored"),
    errors: sum("errors"),
    equivalent: sum("equivalent"),
  };
}

export async function readRuns(): Promise<Record<string, RunRecord>> {
  return readFile(RUNS_FILE, "utf8").then(
    (text) => JSON.parse(text) as Record<string, RunRecord>,
    () => ({}),
  );
}

const percent = (n: number) => (Number.isNaN(n) ? "-" : `${n.toFixed(1)} %`);

/** A row of docs/mutation.md's table: file, mutants, killed, timeout, survived, no coverage, ignored, equivalent, scores. */
const TABLE_ROW = /^\| ([^ |*][^ |]*) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \| [^|]+ \| [^|]+ \|$/;
const SURVIVOR_LINE = /^- `([^`:]+):\d+:\d+` /;
const RUN_LINE = /^- `npx [^`]+`: .* -> `([^`]+)`$|^- `([^`]+\.json)` \(no timing recorded\)$/;

/**
 * What an earlier docs/mutation.md (`page`) says of the files no report here covers: their table rows, surviving
 * mutants and the run lines of reports not here. reports/ is not in git, so the reports of runs made elsewhere are
 * missing; without this, `--mutate <file>` would drop every other file's figures from the page.
 */
export function carriedOver(page: string, reported: ReadonlySet<string>, reports: readonly string[]): { files: FileFigures[]; survivorLines: string[]; runLines: string[] } {
  const lines = page.split("\n");
  const files: FileFigures[] = [];
  for (const line of lines) {
    const m = TABLE_ROW.exec(line);
    if (!m || reported.has(m[1])) continue;
    const [total, killed, timeout, survived, noCoverage, ignored, equivalent] = m.slice(2).map(Number);
    files.push({ file: m[1], report: "docs/mutation.md", total, killed, timeout, survived, noCoverage, ignored, errors: 0, equivalent });
  }
  if (files.length === 0) return { files, survivorLines: [], runLines: [] };
  const carried = new Set(files.map((f) => f.file));
  const survivorLines = lines.filter((line) => carried.has(SURVIVOR_LINE.exec(line)?.[1] ?? ""));
  const runLines = lines.filter((line) => {
    const m = RUN_LINE.exec(line);
    return m !== null && !reports.includes(m[1] ?? m[2]);
  });
  return { files, survivorLines, runLines };
}

/**
 * docs/mutation.md: the summary (copied into BENCHMARK.md by the bench) and every surviving mutant. Files no report
 * here covers keep what `previous` (the page before) said of them (see carriedOver).
 */
export async function renderMutationPage(previous = ""): Promise<string> {
  const figures = await collectFigures();
  const { reports } = figures;
  const kept = carriedOver(previous, new Set(figures.files.map((f) => f.file)), reports);
  const files = [...figures.files, ...kept.files].sort((a, b) => a.file.localeCompare(b.file));
  const survivors = figures.survivors;
  const runs = await readRuns();
  const functions = totalOf("functions/ (the files reported)", files.filter((f) => f.file.startsWith("functions/")));
  // What the configurations mutate but no report covers yet: said, not silently left out of the figures.
  const reported = new Set(files.map((f) => f.file));
  const unreported = [...(await sourceFiles("functions")), "stacks/pipeline/definition.ts"].filter((file) => !reported.has(file)).sort();
  const row = (f: FileFigures) =>
    `| ${f.file} | ${f.total} | ${f.killed} | ${f.timeout} | ${f.survived} | ${f.noCoverage} | ${f.ignored} | ${f.equivalent} | ${percent(score(f))} | ${percent(nonEquivalentScore(f))} |`;
  const runLines = reports.map((report) => {
    const run = runs[report];
    return run
      ? `- \`${run.command}\`: ${run.startedAt.slice(0, 16).replace("T", " ")} UTC, ${Math.round(run.seconds / 60)} min (${run.seconds} s) -> \`${report}\``
      : `- \`${report}\` (no timing recorded)`;
  });
  runLines.push(...kept.runLines);
  if (files.length === 0) return ["# Mutation testing", "", "## Summary", "", "No Stryker report in reports/mutation/ yet: run `npm run mutation`.", "", "## Surviving mutants", "", "-", ""].join("\n");
  return [
    "# Mutation testing",
    "",
    "Generated by `npm run mutation` (scripts/mutation/run.ts, README \"Mutation testing\") from the newest Stryker",
    "report of each mutated file in reports/mutation/. Equivalent mutants, and why, are listed in",
    "[scripts/mutation/equivalent.ts](../scripts/mutation/equivalent.ts).",
    "",
    "## Summary",
    "",
    ...runLines,
    "",
    "*score*: killed and timed out over killed, timed out, survived and not covered (Stryker's); *non-equivalent*:",
    "the same without the equivalent survivors. *ignored*: mutants in log statements (scripts/mutation/ignoreLogging.mjs).",
    "*(static)*: a mutant of a module-level value. No test covers it per test, so Stryker's incremental run reuses its",
    "earlier result while its code is unchanged, even when a test added since kills it (validation.ts's TYPE_WORDS:",
    "survived on a rerun, killed by the same tests run afresh): a static survivor of a rerun may be stale until",
    "`npm run mutation -- --mutate <file> --force` tests every mutant again.",
    ...(kept.files.length > 0
      ? ["Files without a report in reports/mutation/ (not in git) keep their row, run line and survivors from the page", "before: their figures are from the run the line names."]
      : []),
    "",
    "| file | mutants | killed | timeout | survived | no coverage | ignored | equivalent | score | non-equivalent |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ...files.map(row),
    row(functions).replace(/^\| ([^|]+) \|/, "| **$1** |"),
    "",
    ...(unreported.length > 0 ? [`Not in these figures (no report yet): ${unreported.map((file) => `\`${file}\``).join(", ")}.`, ""] : []),
    "## Surviving mutants",
    "",
    ...(survivors.length === 0 && kept.survivorLines.length === 0
      ? ["None."]
      : survivors.map(
          (s) =>
            `- \`${s.file}:${s.line}:${s.column}\` ${s.mutator}${s.status === "NoCoverage" ? " (no test runs it)" : ""}${s.static ? " (static)" : ""}: \`${s.original.slice(0, 100)}\` -> \`${s.replacement.slice(0, 80)}\`` +
            (s.equivalent ? ` — equivalent: ${s.equivalent}` : ""),
        ).concat(kept.survivorLines)),
    "",
  ].join("\n");
}

/** The "Summary" section of docs/mutation.md (for BENCHMARK.md), or undefined when there is none. */
export function summarySection(page: string): string | undefined {
  const match = /^## Summary\n([\s\S]*?)(?=^## )/m.exec(page);
  return match?.[1].trim();
}

/** BENCHMARK.md's "Mutation testing" section, from docs/mutation.md (the bench and `npm run mutation` both write it). */
export function benchmarkSection(page: string): string {
  return [
    "## Mutation testing",
    "",
    "From the last `npm run mutation` (README \"Mutation testing\"); every surviving mutant, and why the equivalent ones",
    "are, in [docs/mutation.md](docs/mutation.md).",
    "",
    summarySection(page) ?? "Not run yet: `npm run mutation` writes docs/mutation.md.",
    "",
  ].join("\n");
}

/** BENCHMARK.md with its "Mutation testing" section replaced (or added at the end). */
export function withBenchmarkSection(benchmark: string, page: string): string {
  const section = benchmarkSection(page);
  const match = /^## Mutation testing\n[\s\S]*?(?=^## |(?![\s\S]))/m.exec(benchmark);
  if (!match) return `${benchmark.replace(/\n*$/, "\n\n")}${section}`;
  return benchmark.slice(0, match.index) + section + (match.index + match[0].length < benchmark.length ? "\n" : "") + benchmark.slice(match.index + match[0].length);
}
