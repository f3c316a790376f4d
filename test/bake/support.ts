import { spawnSync } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const packerDir = join(repoRoot, "packer");
export const exampleAppDir = join(repoRoot, "example-app");

export interface ToolCheck {
  available: boolean;
  /** Why the tests that need the tool are skipped (only outside CI). */
  reason: string;
}

/**
 * Whether an external tool (packer, shellcheck) is on PATH. In CI (`CI=true`) a missing tool is an error,
 * so the run fails instead of quietly skipping; on a laptop the tests that need it are skipped, with the
 * reason in their name.
 */
export function checkTool(name: string, versionArgs: string[] = ["--version"]): ToolCheck {
  const result = spawnSync(name, versionArgs, { encoding: "utf8" });
  const available = !result.error && result.status === 0;
  if (!available && process.env.CI === "true") {
    throw new Error(`${name} is not installed, and CI=true requires it (apt-get install -y ${name})`);
  }
  return { available, reason: available ? "" : ` (skipped: ${name} is not installed; apt-get install -y ${name})` };
}
