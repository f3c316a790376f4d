import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { globSync } from "tinyglobby";
import { describe, expect, it } from "vitest";
import config, { ISOLATED_TESTS, REHEARSAL_TESTS, SHARED_WORKER_SETUP, UNIT_TESTS } from "../../vitest.config.js";
import { clientClasses } from "../setupSharedWorker.js";

/**
 * vitest.config.ts: which test files share a worker and which get a process of their own. vitest 3 reads
 * `isolate` per pool from the root config (a project's own `isolate: false` leaves every file in a fresh process),
 * so sharing is the `threads` pool with isolation off, and a process per file is the `forks` pool.
 */
const ROOT = resolve(import.meta.dirname, "../..");
type Project = { test: { name: string; pool?: string; include: string[]; exclude?: string[]; setupFiles?: string[] } };
const projects = config.test?.projects as Project[];
const project = (name: string) => projects.find((candidate) => candidate.test.name === name)!;
const files = (patterns: string[], ignore: string[] = []) => globSync(patterns, { cwd: ROOT, ignore }).sort();

describe("vitest projects", () => {
  it("share worker threads without isolation (unit, shared); a fresh process per file otherwise (isolated, rehearsal)", () => {
    expect(config.test?.pool).toBe("forks");
    expect(config.test?.poolOptions?.threads?.isolate).toBe(false);
    expect(config.test?.poolOptions?.forks?.isolate ?? true).toBe(true);
    expect(projects.map((p) => [p.test.name, p.test.pool ?? config.test?.pool])).toEqual([
      ["unit", "threads"],
      ["shared", "threads"],
      ["isolated", "forks"],
      ["rehearsal", "forks"],
    ]);
  });

  it("give each file of a shared worker the SDK client classes unmocked, every one the project depends on", async () => {
    expect(project("unit").test.setupFiles).toEqual([SHARED_WORKER_SETUP]);
    expect(project("shared").test.setupFiles).toEqual([SHARED_WORKER_SETUP]);
    const packageJson = JSON.parse(readFileSync(resolve(ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string> };
    const sdkClients = Object.keys(packageJson.dependencies).filter((name) => name.startsWith("@aws-sdk/client-"));
    const names = (await clientClasses()).map((Client) => Client.name);
    expect(new Set(names).size).toBe(sdkClients.length);
    expect(names.every((name) => name.endsWith("Client"))).toBe(true);
  });

  it("take every test file exactly once", () => {
    const all = files(["test/**/*.test.ts"]);
    const byProject = projects.map((p) => files(p.test.include, p.test.exclude ?? []));
    expect(byProject.flat().sort()).toEqual(all);
    expect(files(ISOLATED_TESTS)).toHaveLength(ISOLATED_TESTS.length);
    for (const file of ISOLATED_TESTS) expect(existsSync(resolve(ROOT, file)), file).toBe(true);
    expect(files(project("unit").test.include)).toEqual(files(UNIT_TESTS));
    expect(files(project("rehearsal").test.include)).toEqual(files(REHEARSAL_TESTS));
  });

  /** The shared project's test files with their source. */
  const sharedSources = () =>
    files(project("shared").test.include, project("shared").test.exclude).map((file) => ({ file, source: readFileSync(resolve(ROOT, file), "utf8") }));

  it("detach, in every shared file that routes clients to a simulated region, what it attached", () => {
    const attaching = sharedSources().filter(({ source }) => /\b(simulatedWorld|attachForTest)\(/.test(source));
    expect(attaching.length).toBeGreaterThan(0);
    expect(attaching.filter(({ source }) => !source.includes("afterEach(detachAll)")).map(({ file }) => file)).toEqual([]);
  });

  it("leave aws-sdk-client-mock to the unit tests and app.test.ts: it stubs a client class, so every client of a shared worker", () => {
    const importsTheMock = new RegExp(`from "${["aws-sdk-client", "mock"].join("-")}"`);
    expect(sharedSources().filter(({ source }) => importsTheMock.test(source)).map(({ file }) => file)).toEqual([]);
    expect(importsTheMock.test(readFileSync(resolve(ROOT, "test/stacks/app.test.ts"), "utf8"))).toBe(true);
  });
});
