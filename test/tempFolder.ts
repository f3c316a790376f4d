import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Caches other tools keep in the temp folder on purpose, across runs (not leftovers of ours). */
const TOOL_CACHES = [/^tsx-\d+$/];

export interface PrivateTempFolder {
  /** The folder `os.tmpdir()` now answers, in this process and in every process it starts. */
  path: string;
  /** The system temp folder it replaces. */
  systemPath: string;
  /** What is in it now (tool caches aside): after a test cleaned up, nothing. */
  leftovers(): string[];
  /** Points TMPDIR back at the system temp folder and removes the private one. */
  remove(): void;
}

/**
 * Gives this test file a temp folder of its own (TMPDIR, which `os.tmpdir()` reads on every call), so a test
 * can assert that the code under test removed everything it wrote there. A private folder, rather than a
 * before/after listing of the shared one, is not fooled by other runs on the same machine. Call it at the
 * top of the file, before anything has used the temp folder.
 */
export function usePrivateTempFolder(name: string): PrivateTempFolder {
  const systemPath = tmpdir();
  const path = mkdtempSync(join(systemPath, `immutable-deploy-${name}-tmp-`));
  process.env.TMPDIR = path;
  return {
    path,
    systemPath,
    leftovers: () => readdirSync(path).filter((entry) => !TOOL_CACHES.some((cache) => cache.test(entry))),
    remove() {
      process.env.TMPDIR = systemPath;
      rmSync(path, { recursive: true, force: true });
    },
  };
}
