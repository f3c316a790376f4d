import { RedriveExecutionCommand } from "@aws-sdk/client-sfn";
import { sfn } from "../../functions/lib/clients.js";
import { describeExecution, exitCodeOf, listExecutions, readHistory, summarize } from "../deploys.js";
import { CliError } from "../errors.js";
import { follow } from "../follow.js";
import type { CommandContext } from "../main.js";

/** `redrive [execution]`: resume a deploy that stopped with the lock held (after cutover, timed out, stopped by hand), from where it stopped. */
export async function run(context: CommandContext, stageName: string, executionRef?: string): Promise<number> {
  const { printer } = context;
  const stage = await context.stage(stageName);
  const [latest] = executionRef ? [] : await listExecutions(stage.stateMachineArn, { max: 1 });
  if (!executionRef && !latest) throw new CliError(`no deploy has run in stage ${stage.name} yet: nothing to redrive`);
  const execution = await describeExecution(stage.stateMachineArn, executionRef ?? latest.executionArn ?? "");
  const events = await readHistory(execution.executionArn ?? "");
  const deploy = summarize(execution, events);
  const name = `${deploy.execution} (${deploy.release ?? "?"})`;
  if (deploy.outcome === "running") throw new CliError(`execution ${name} is running: nothing to redrive; \`watch\` follows it`);
  if (!deploy.needsAttention) {
    const why =
      deploy.outcome === "succeeded" || deploy.outcome === "no-op"
        ? "it succeeded"
        : deploy.outcome === "aborted"
          ? "`immutable-deploy abort` stopped it before its release went live, and rolled back or unlocked"
          : `it ${deploy.outcome === "rolled-back" ? "rolled back" : "failed"} and unlocked; its final Fail state is all a redrive would run again`;
    throw new CliError(`execution ${name} needs no redrive: ${why}; deploy again instead (\`release\`, \`rollback\` or \`promote\`)`);
  }
  printer.line(`redriving ${name} from "${deploy.failedState}" (it failed with ${deploy.error ?? "?"})`);
  await sfn.send(new RedriveExecutionCommand({ executionArn: execution.executionArn }));
  const { summary, lines } = await follow(context, stage, execution.executionArn ?? "", events.at(-1)?.id ?? 0);
  printer.result({ command: "redrive", stage: stage.name, deploy: summary, progress: lines });
  return exitCodeOf(summary);
}
