import { type DeploySummary, listExecutions, summarizeExecution } from "../deploys.js";
import { EXIT } from "../errors.js";
import type { CommandContext } from "../main.js";
import { duration, table, timestamp } from "../output.js";

/** Causes are long (a Lambda's JSON error, a check's whole message): the table shows their start. */
const CAUSE_WIDTH = 100;

/** `history [--limit n]`: deploys with release, outcome, duration, how started, failed state and cause. */
export async function run(context: CommandContext, stageName: string, limit: number): Promise<number> {
  const { printer } = context;
  const stage = await context.stage(stageName);
  const deploys = await Promise.all((await listExecutions(stage.stateMachineArn, { max: limit })).map(summarizeExecution));
  printer.result({ command: "history", stage: stage.name, deploys });
  if (deploys.length === 0) {
    printer.line(`no deploy has run in stage ${stage.name} yet`);
    return EXIT.ok;
  }
  const paint = ({ outcome, needsAttention }: DeploySummary) =>
    outcome === "succeeded" || outcome === "no-op" ? printer.colors.green : outcome === "running" ? (s: string) => s : needsAttention ? printer.colors.yellow : printer.colors.red;
  const rows = deploys.map((d) => {
    const failure = d.failedState ? `${d.failedState}: ${d.error ?? ""}${d.cause ? `: ${d.cause}` : ""}` : "";
    return [
      d.execution,
      d.release ?? "-",
      d.outcome + (d.redriveCount > 0 ? ` (redriven ${d.redriveCount}x)` : ""),
      timestamp(new Date(d.startedAt)),
      d.seconds === null ? `${d.currentState ? `in "${d.currentState}"` : "-"}` : duration(d.seconds),
      d.startedBy,
      failure.length > CAUSE_WIDTH ? `${failure.slice(0, CAUSE_WIDTH - 3)}...` : failure,
    ];
  });
  const [header, ...lines] = table(["execution", "release", "outcome", "started", "took", "started by", "failed in: error: cause"], rows);
  printer.line(printer.colors.bold(header));
  lines.forEach((line, i) => printer.line(paint(deploys[i])(line)));
  return EXIT.ok;
}
