/**
 * Following a deploy: its history, read again every few seconds, printed as the progress lines the rehearsal
 * prints (cli/progress.ts), with a live status line on a terminal, until the execution ends.
 */
import { DescribeExecutionCommand, type HistoryEvent } from "@aws-sdk/client-sfn";
import { sfn } from "../functions/lib/clients.js";
import { type DeploySummary, HistoryProgress, isTerminal, readNewEvents, summarize } from "./deploys.js";
import type { CommandContext } from "./main.js";
import { duration } from "./output.js";
import { ProgressLines, progressLine } from "./progress.js";
import type { Stage } from "./stage.js";

export interface Followed {
  summary: DeploySummary;
  /** The progress lines as printed (without colour). */
  lines: string[];
}

/**
 * Follows the execution until it ends; prints its lines, then one line saying how it ended. Lines of events up
 * to `quietUntilEventId` (a redrive's earlier attempts) are not printed.
 */
export async function follow(context: CommandContext, stage: Stage, executionArn: string, quietUntilEventId = 0): Promise<Followed> {
  const { printer } = context;
  const events: HistoryEvent[] = [];
  const progress = new HistoryProgress();
  const dedupe = new ProgressLines();
  const lines: string[] = [];
  let lastId = 0;
  for (;;) {
    const fresh = await readNewEvents(executionArn, lastId);
    for (const event of fresh) {
      events.push(event);
      lastId = event.id ?? lastId;
      const startMs = events[0].timestamp?.getTime() ?? 0;
      for (const step of progress.push(event)) {
        const text = dedupe.next(executionArn, step);
        if (text === undefined || (event.id ?? 0) <= quietUntilEventId) continue;
        const subject = summarize({}, events).release ?? "";
        const line = progressLine(((event.timestamp?.getTime() ?? startMs) - startMs) / 1000, subject, text);
        lines.push(line);
        const paint = step.type === "failed" || step.type === "aborted" ? printer.colors.red : step.type === "succeeded" ? printer.colors.green : (s: string) => s;
        printer.line(paint(line));
      }
    }
    if (events.length > 0 && isTerminal(events[events.length - 1])) break;
    const state = summarize({}, events).currentState;
    const since = events.length > 0 ? (context.now() - (events[0].timestamp?.getTime() ?? context.now())) / 1000 : 0;
    printer.status(`  ... ${state ? `in "${state}"` : "starting"}, ${duration(since)} since the start (Ctrl-C stops watching, not the deploy)`);
    await context.sleep(context.pollMs);
  }
  printer.clearStatus();
  const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  const summary = summarize(execution, events);
  printer.line(outcomeLine(context, stage, summary));
  return { summary, lines };
}

/** One line saying how a deploy ended and what to do about it. */
export function outcomeLine(context: CommandContext, stage: Stage, summary: DeploySummary): string {
  const { colors } = context.printer;
  const what = `deploy ${summary.release ?? summary.execution}`;
  const took = summary.seconds !== null ? ` in ${duration(summary.seconds)}` : "";
  const why = summary.error ? `: ${summary.error}: ${summary.cause ?? ""}` : "";
  if (summary.needsAttention) {
    const how =
      summary.outcome === "timed-out" ? "timed out" : summary.outcome === "aborted" ? "was stopped" : "needs attention: it stopped";
    return colors.yellow(
      `${what} ${how} in "${summary.failedState}"${summary.pastPointOfNoReturn ? " after the release went live" : ""} and holds the deploy lock${why}; ` +
        `fix the cause, then \`npx immutable-deploy redrive --stage ${stage.name}\``,
    );
  }
  switch (summary.outcome) {
    case "succeeded":
      return colors.green(`${what} succeeded${took}`);
    case "no-op":
      return colors.green(`${what}: nothing to deploy (that release is already live, or being deployed by another execution)`);
    case "rolled-back":
      return colors.red(`${what} rolled back${took}, failed in "${summary.failedState}"${why}`);
    case "failed":
    case "needs-attention":
    case "timed-out":
      return colors.red(`${what} failed${took} in "${summary.failedState}"${why}`);
    case "aborted":
      return colors.red(`${what} aborted${took} in "${summary.failedState}"${why}`);
    case "running":
      return `${what} is running (in "${summary.currentState}")`;
  }
}
