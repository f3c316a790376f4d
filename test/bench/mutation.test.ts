import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, mkdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { carriedOver, collectFigures, nonEquivalentScore, score, summarySection, withBenchmarkSection } from "../../scripts/mutation/summary.js";

/** A Stryker JSON report (mutation-testing-report-schema) of one file with the given mutants. */
function report(file: string, source: string, mutants: { status: string; mutatorName: string; replacement: string; line: number; column: number; endColumn: number }[]) {
  return {
    schemaVersion: "2",
    thresholds: { high: 80, low: 60 },
    files: {
      [file]: {
        language: "typescript",
        source,
        mutants: mutants.map((m, index) => ({
          id: String(index),
          mutatorName: m.mutatorName,
          replacement: m.replacement,
          status: m.status,
          location: { start: { line: m.line, column: m.column }, end: { line: m.line, column: m.endColumn } },
        })),
      },
    },
  };
}

const SOURCE = 'const a = b ?? [];\nif (x > 1) go();\n';
let dir = "";
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("mutation summary", () => {
  it("counts each file from its newest report, marks listed equivalent survivors, and scores with and without them", async () => {
    // Prepare: an old report of readBakedImage.ts (all killed) and a newer one with an equivalent and a real survivor.
    dir = mkdtempSync(path.join(tmpdir(), "mutation-summary-"));
    mkdirSync(path.join(dir, "files"));
    const older = path.join(dir, "functions.json");
    const newer = path.join(dir, "files", "functions_readBakedImage_ts.json");
    writeFileSync(older, JSON.stringify(report("functions/readBakedImage.ts", SOURCE, [{ status: "Killed", mutatorName: "ArrayDeclaration", replacement: '["Stryker was here"]', line: 1, column: 16, endColumn: 18 }])));
    writeFileSync(
      newer,
      JSON.stringify(
        report("functions/readBakedImage.ts", SOURCE, [
          { status: "Survived", mutatorName: "ArrayDeclaration", replacement: '["Stryker was here"]', line: 1, column: 16, endColumn: 18 },
          { status: "Survived", mutatorName: "EqualityOperator", replacement: "x >= 1", line: 2, column: 5, endColumn: 10 },
          { status: "Killed", mutatorName: "ConditionalExpression", replacement: "true", line: 2, column: 5, endColumn: 10 },
          { status: "Timeout", mutatorName: "ConditionalExpression", replacement: "false", line: 2, column: 5, endColumn: 10 },
          { status: "Ignored", mutatorName: "StringLiteral", replacement: '""', line: 2, column: 1, endColumn: 3 },
        ]),
      ),
    );
    utimesSync(older, new Date(1_000_000_000_000), new Date(1_000_000_000_000));

    // Act
    const { files, survivors, reports } = await collectFigures(dir);

    // Assess
    expect(reports).toEqual([newer]);
    expect(files).toEqual([
      { file: "functions/readBakedImage.ts", report: newer, total: 5, killed: 1, timeout: 1, survived: 2, noCoverage: 0, ignored: 1, errors: 0, equivalent: 1 },
    ]);
    expect(survivors.map((s) => [s.line, s.original, s.replacement, s.equivalent !== undefined])).toEqual([
      [1, "[]", '["Stryker was here"]', true],
      [2, "x > 1", "x >= 1", false],
    ]);
    expect(score(files[0])).toBe(50);
    expect(nonEquivalentScore(files[0])).toBeCloseTo(200 / 3);
  });

  it("finds nothing in a folder without reports", async () => {
    // Prepare
    dir = mkdtempSync(path.join(tmpdir(), "mutation-summary-"));

    // Act
    const figures = await collectFigures(dir);

    // Assess
    expect(figures).toEqual({ files: [], survivors: [], reports: [] });
  });

  it("carriedOver keeps, from the page before, the rows, survivors and run lines of files no report here covers", () => {
    // Prepare: the page of an earlier run of two files; this machine has a new report of one of them only.
    const page = [
      "## Summary",
      "",
      "- `npx stryker run stryker.config.mjs --concurrency 2 --mutate functions/notify.ts`: 2026-12-02 23:40 UTC, 5 min (273 s) -> `reports/mutation/files/functions_notify_ts.json`",
      "- `npx stryker run stryker.config.mjs --concurrency 2 --mutate functions/rollback.ts`: 2026-12-02 23:04 UTC, 13 min (769 s) -> `reports/mutation/files/functions_rollback_ts.json`",
      "",
      "| file | mutants | killed | timeout | survived | no coverage | ignored | equivalent | score | non-equivalent |",
      "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
      "| functions/notify.ts | 265 | 180 | 0 | 70 | 13 | 2 | 0 | 68.4 % | 68.4 % |",
      "| functions/rollback.ts | 227 | 133 | 50 | 28 | 8 | 8 | 5 | 83.6 % | 85.5 % |",
      "| **functions/ (the files reported)** | 492 | 313 | 50 | 98 | 21 | 10 | 5 | 73.8 % | 74.6 % |",
      "",
      "## Surviving mutants",
      "",
      "- `functions/notify.ts:101:20` OptionalChaining: `result.Entries?.find` -> `result.Entries.find`",
      "- `functions/rollback.ts:12:3` StringLiteral: `\"a\"` -> `\"\"` — equivalent: why",
    ].join("\n");

    // Act
    const kept = carriedOver(page, new Set(["functions/notify.ts"]), ["reports/mutation/files/functions_notify_ts.json"]);

    // Assess
    expect(kept.files).toEqual([
      { file: "functions/rollback.ts", report: "docs/mutation.md", total: 227, killed: 133, timeout: 50, survived: 28, noCoverage: 8, ignored: 8, errors: 0, equivalent: 5 },
    ]);
    expect(kept.survivorLines).toEqual(["- `functions/rollback.ts:12:3` StringLiteral: `\"a\"` -> `\"\"` — equivalent: why"]);
    expect(kept.runLines).toEqual([page.split("\n")[3]]);
    expect(carriedOver(page, new Set(["functions/notify.ts", "functions/rollback.ts"]), [])).toEqual({ files: [], survivorLines: [], runLines: [] });
    expect(carriedOver("", new Set(), [])).toEqual({ files: [], survivorLines: [], runLines: [] });
  });

  it("summarySection takes the Summary section of docs/mutation.md, and nothing from a page without one", () => {
    // Act
    const section = summarySection("# Mutation testing\n\n## Summary\n\n| a |\n\n## Surviving mutants\n\n- x\n");

    // Assess
    expect(section).toBe("| a |");
    expect(summarySection("# Something else\n")).toBeUndefined();
  });
});

describe("BENCHMARK.md's Mutation testing section", () => {
  const page = "# Mutation testing\n\n## Summary\n\nnew figures\n\n## Surviving mutants\n";

  it("replaces the section where it is, leaving the sections around it", () => {
    // Act
    const benchmark = withBenchmarkSection("# Benchmark\n\n## Goals\n\nx\n\n## Mutation testing\n\nold figures\n\n## Bundles\n\ny\n", page);

    // Assess
    expect(benchmark).toMatch(/^# Benchmark\n\n## Goals\n\nx\n\n## Mutation testing\n[\s\S]*new figures\n\n## Bundles\n\ny\n$/);
    expect(benchmark).not.toContain("old figures");
  });

  it("adds the section at the end when there is none, and replaces a last section to the end", () => {
    // Act
    const added = withBenchmarkSection("# Benchmark\n\n## Goals\n\nx\n", page);
    const replaced = withBenchmarkSection(added.replace("new figures", "old figures"), page);

    // Assess
    expect(added).toMatch(/## Goals\n\nx\n\n## Mutation testing\n[\s\S]*new figures\n$/);
    expect(replaced).toBe(added);
  });
});

describe("npm run mutation", () => {
  it.each([
    [["--part", "x"], "mutation: --part: x; allowed: functions, definition, all"],
    [["--mutate", "functions/nope.ts"], "mutation: --mutate: functions/nope.ts; allowed: a file that exists (functions/<file>.ts)"],
    [["--mutate", "stacks/app.ts"], "mutation: --mutate: stacks/app.ts; allowed: functions/<file>.ts or stacks/pipeline/definition.ts"],
    [["--part", "definition", "--mutate", "functions/notify.ts"], "mutation: --mutate: functions/notify.ts; allowed: a file of --part definition"],
    [["--concurrency", "3"], "mutation: --concurrency: 3; allowed: an integer from 1 to 2"],
    [["--forc"], 'mutation: --forc: unknown option (did you mean "--force"?); allowed: --part, --mutate, --concurrency, --summary, --force, --help'],
  ])("answers bad input %j at once, before Stryker starts: exit 2, the option, the value, what is allowed", (args, message) => {
    // Act
    const run = spawnSync(process.execPath, ["--import", "tsx", "scripts/mutation/run.ts", ...args], { cwd: path.resolve(import.meta.dirname, "../.."), encoding: "utf8", timeout: 60_000 });

    // Assess
    expect(run.status).toBe(2);
    expect(run.stderr.split("\n")[0]).toBe(message);
  });
});

describe("Stryker with TypeScript 7", () => {
  it("points Stryker's tsconfig rewriting at no file, since the project's TypeScript has no JavaScript API for it", async () => {
    // Stryker rewrites the sandbox's tsconfig with ts.parseConfigFileTextToJson; TypeScript 7's package exports
    // only its version, so a run would fail before testing any mutant ("ts.parseConfigFileTextToJson is not a function").
    const ts = (await import("typescript")) as { default: Record<string, unknown> };
    expect(ts.default.parseConfigFileTextToJson).toBeUndefined();
    const root = path.resolve(import.meta.dirname, "../..");
    const config = (await import(pathToFileURL(path.join(root, "stryker.config.mjs")).href)).default as { tsconfigFile?: string };
    expect(config.tsconfigFile).toBeDefined();
    expect(existsSync(path.resolve(root, config.tsconfigFile!))).toBe(false);
  });
});
