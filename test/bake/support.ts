import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const packerDir = join(repoRoot, "packer");
export const exampleAppDir = join(repoRoot, "example-app");

export interface Buildspec {
  version: number;
  env: { shell: string; variables: Record<string, string>; "exported-variables": string[] };
  phases: Record<string, { commands: string[]; "on-failure"?: string }>;
}

export const buildspec = parse(readFileSync(join(repoRoot, "buildspec.yml"), "utf8")) as Buildspec;

/**
 * One phase of buildspec.yml as CodeBuild (version 0.2, bash) runs it: the buildspec's variables, then the
 * project's and the execution's (they take precedence), then the phase's commands one by one in the same
 * shell, stopping at the first that fails.
 */
export function codeBuildPhaseScript(phase: string, env: Record<string, string>): string[] {
  return [
    ...Object.entries(buildspec.env.variables).map(([name, value]) => `export ${name}=${JSON.stringify(value)}`),
    ...Object.entries(env).map(([name, value]) => `export ${name}=${JSON.stringify(value)}`),
    ...buildspec.phases[phase].commands.flatMap((command) => [command, "__status=$?; if [ $__status -ne 0 ]; then exit $__status; fi"]),
  ];
}

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

export const toolPinsFile = join(packerDir, "ci/versions.env");

/** One `NAME=value` line of packer/ci/versions.env, with the comment block it sits under. */
export interface ToolPin {
  name: string;
  value: string;
  comment: string;
}

/**
 * packer/ci/versions.env as install-tools.sh reads it (bash `source`): plain `NAME=value` assignments; a
 * pin's comment is the run of `#` lines above its group of assignments (a blank line ends a group).
 */
export function parseToolPins(text: string): ToolPin[] {
  const pins: ToolPin[] = [];
  let comment: string[] = [];
  let inAssignments = false;
  for (const line of text.split("\n")) {
    if (line.trim() === "") {
      comment = [];
      inAssignments = false;
    } else if (line.startsWith("#")) {
      if (inAssignments) comment = [];
      inAssignments = false;
      comment.push(line.replace(/^#\s?/, ""));
    } else {
      const match = /^([A-Z][A-Z0-9_]*)=(\S*)$/.exec(line);
      if (!match) throw new Error(`versions.env: not a plain NAME=value assignment: ${line}`);
      inAssignments = true;
      pins.push({ name: match[1], value: match[2], comment: comment.join("\n") });
    }
  }
  return pins;
}

/** The pins as a name -> value record. */
export function toolPinValues(pins: ToolPin[]): Record<string, string> {
  return Object.fromEntries(pins.map((pin) => [pin.name, pin.value]));
}
