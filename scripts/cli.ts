/**
 * Command-line plumbing shared by the project's commands (`npm start`, `scripts/pack-release.ts`): options
 * read without loading anything heavy, and bad input answered with one line that names the option, the
 * value and what is allowed (`--port: 70000; allowed: an integer from 1 to 65535`), exit code 2; never a
 * stack trace. (`packer/base-hash.mjs` follows the same form in plain JS: CodeBuild runs it with bare node.)
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { didYouMean } from "../functions/lib/didYouMean.js";

/**
 * Whether the module at `moduleUrl` (its `import.meta.url`) is the one Node was started with: a command's main runs
 * then, and not when a test or another module imports what the command exports.
 */
export function runsAsCommand(moduleUrl: string): boolean {
  return Boolean(process.argv[1]) && moduleUrl === pathToFileURL(resolve(process.argv[1])).href;
}

/** Exit code of a usage error (bad option or value), as most Unix tools use it. */
export const USAGE_EXIT_CODE = 2;

/** Bad command-line input. The message is the whole answer: `<option>: <value>; allowed: <what>`. */
export class UsageError extends Error {
  override name = "UsageError";
  constructor(
    readonly option: string,
    readonly value: string,
    readonly allowed: string,
  ) {
    super(`${option}: ${value}; allowed: ${allowed}`);
  }
}

/** A value as the user typed it; quoted only when it would not read as itself. */
export function shown(value: string): string {
  return value === "" || /\s/.test(value) ? JSON.stringify(value) : value;
}

export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  /** What a string option accepts, for the message when its value is missing. */
  allowed?: string;
}

export type OptionValues<S extends Record<string, OptionSpec>> = {
  [K in keyof S]?: S[K]["type"] extends "boolean" ? boolean : string;
};

/**
 * Reads `argv` against `spec`: unknown options, positional arguments, a missing value and a value given to
 * a flag are UsageErrors. Values are returned as given (check them with `integerOption` and friends).
 */
export function readOptions<S extends Record<string, OptionSpec>>(argv: string[], spec: S): OptionValues<S> {
  const options = Object.fromEntries(Object.entries(spec).map(([name, option]) => [name, { type: option.type, ...(option.short ? { short: option.short } : {}) }]));
  const { tokens } = parseArgs({ args: argv, options, strict: false, tokens: true, allowPositionals: true });
  const names = Object.keys(spec).map((name) => `--${name}`).join(", ");
  const values: Record<string, string | boolean> = {};
  for (const token of tokens) {
    if (token.kind === "option-terminator") continue;
    if (token.kind === "positional") throw new UsageError(shown(token.value), "not an option", `only options: ${names}`);
    const option = spec[token.name];
    if (!option) throw new UsageError(token.rawName, `unknown option${didYouMean(`--${token.name}`, Object.keys(spec).map((name) => `--${name}`))}`, names);
    if (option.type === "boolean") {
      if (token.value !== undefined) throw new UsageError(`--${token.name}`, shown(token.value), "no value (it is a flag)");
      values[token.name] = true;
      continue;
    }
    // Without "=", a value that is itself an option means the value was left out (`--port --json`).
    if (token.value === undefined || (!token.inlineValue && token.value.startsWith("--"))) {
      throw new UsageError(`--${token.name}`, "no value", option.allowed ?? "a value");
    }
    values[token.name] = token.value;
  }
  return values as OptionValues<S>;
}

/** An integer option within [min, max], or `fallback` when absent. */
export function integerOption(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw.trim() === "" || !Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`--${name}`, shown(raw), `an integer from ${min} to ${max}`);
  }
  return value;
}

/** One of `choices`, or `fallback` when absent. */
export function choiceOption<T extends string>(name: string, raw: string | undefined, fallback: T, choices: readonly T[]): T {
  if (raw === undefined) return fallback;
  if (!(choices as readonly string[]).includes(raw)) throw new UsageError(`--${name}`, shown(raw), choices.join(", "));
  return raw as T;
}

/**
 * Runs a command's main and exits with its code: a UsageError prints its one line and a pointer to
 * `--help` (exit 2); any other error prints its message, without a stack trace (exit 1).
 */
export function runCommand(command: string, helpHint: string, main: () => Promise<number | void>): void {
  main().then(
    (code) => process.exit(code ?? 0),
    (error: Error) => {
      if (error instanceof UsageError) {
        process.stderr.write(`${command}: ${error.message}\n(${helpHint} lists every option)\n`);
        process.exit(USAGE_EXIT_CODE);
      }
      process.stderr.write(`${command}: ${error?.message ?? String(error)}\n`);
      process.exit(1);
    },
  );
}
