/**
 * What the CLI writes: lines for people (colour and a live status line only on a terminal), or one JSON
 * object with `--json`. No SDK imports.
 */

export interface CliIo {
  /** Writes to standard output as is (callers add newlines). */
  stdout(text: string): void;
  stderr(text: string): void;
  /** Standard output is a terminal: colour (unless NO_COLOR) and a live status line. */
  isTTY: boolean;
  env: Record<string, string | undefined>;
}

type Paint = (text: string) => string;
const ansi = (open: number, close: number): Paint => (text) => `\x1b[${open}m${text}\x1b[${close}m`;
const plain: Paint = (text) => text;

export interface Colors {
  green: Paint;
  red: Paint;
  yellow: Paint;
  dim: Paint;
  bold: Paint;
}

export class Printer {
  readonly colors: Colors;
  private statusShown = false;

  constructor(
    private readonly io: CliIo,
    readonly json: boolean,
    color: boolean,
  ) {
    const on = color && io.isTTY && !json && io.env.NO_COLOR === undefined;
    this.colors = on
      ? { green: ansi(32, 39), red: ansi(31, 39), yellow: ansi(33, 39), dim: ansi(2, 22), bold: ansi(1, 22) }
      : { green: plain, red: plain, yellow: plain, dim: plain, bold: plain };
  }

  /** A line for people (nothing with --json). */
  line(text = ""): void {
    if (this.json) return;
    this.clearStatus();
    this.io.stdout(`${text}\n`);
  }

  /** A note for people on standard error (progress while --json keeps standard output for the object). */
  note(text: string): void {
    this.clearStatus();
    this.io.stderr(`${text}\n`);
  }

  /** The live status line, rewritten in place: only on a terminal, never with --json. */
  status(text: string): void {
    if (this.json || !this.io.isTTY) return;
    this.io.stdout(`\r\x1b[2K${this.colors.dim(text)}`);
    this.statusShown = true;
  }

  clearStatus(): void {
    if (!this.statusShown) return;
    this.io.stdout("\r\x1b[2K");
    this.statusShown = false;
  }

  /** The command's one JSON object (only with --json). */
  result(value: object): void {
    if (!this.json) return;
    this.io.stdout(`${JSON.stringify(value, null, 2)}\n`);
  }
}

/** `95` -> `1m 35s`, `4000` -> `1h 06m`. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** An age in the largest whole unit: `45s`, `12m`, `3h`, `5d`. */
export function age(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** `2026-01-01T00:05:00.000Z` -> `2026-01-01 00:05:00Z`. */
export function timestamp(date: Date | undefined): string {
  return date ? `${date.toISOString().slice(0, 19).replace("T", " ")}Z` : "-";
}

/** Rows as aligned columns (the last column is not padded). */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? "").length)));
  const render = (row: string[]) => row.map((cell, i) => (i === row.length - 1 ? cell : (cell ?? "").padEnd(widths[i]))).join("  ").trimEnd();
  return [render(header), ...rows.map(render)];
}
