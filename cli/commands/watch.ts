import { describeExecution, exitCodeOf, listExecutions } from "../deploys.js";
import { CliError } from "../errors.js";
import { follow } from "../follow.js";
import type { CommandContext } from "../main.js";
import type { Stage } from "../stage.js";

/** `watch [execution]`: the progress lines until the deploy ends; exit 0 succeeded, 1 failed or rolled back, 3 needs attention. */
export async function run(context: CommandContext, stageName: string, executionRef?: string): Promise<number> {
  const stage = await context.stage(stageName);
  const executionArn = await executionToWatch(context, stage, executionRef);
  context.printer.line(context.printer.colors.dim(`watching ${executionArn.slice(executionArn.lastIndexOf(":") + 1)} in ${stage.name}`));
  const { summary, lines } = await follow(context, stage, executionArn);
  context.printer.result({ command: "watch", stage: stage.name, deploy: summary, progress: lines });
  return exitCodeOf(summary);
}

/** The named execution, else the running deploy (the newest, if several), else the latest one. */
export async function executionToWatch(context: CommandContext, stage: Stage, executionRef?: string): Promise<string> {
  if (executionRef) return (await describeExecution(stage.stateMachineArn, executionRef)).executionArn ?? "";
  const running = await listExecutions(stage.stateMachineArn, { status: "RUNNING", max: 10 });
  if (running.length > 1)
    context.printer.note(`several deploys are running in ${stage.name} (${running.map((e) => e.name).join(", ")}): watching the newest, ${running[0].name}`);
  const [latest] = running.length > 0 ? running : await listExecutions(stage.stateMachineArn, { max: 1 });
  if (!latest?.executionArn) throw new CliError(`no deploy has run in stage ${stage.name} yet; start one with \`npx immutable-deploy release <app-dir|file.tgz> --stage ${stage.name}\``);
  return latest.executionArn;
}
