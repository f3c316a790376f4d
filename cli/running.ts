import type { DescribeExecutionCommandOutput } from "@aws-sdk/client-sfn";
import { describeExecution, listExecutions } from "./deploys.js";
import { CliError } from "./errors.js";
import type { Stage } from "./stage.js";

/** The named execution, else the one running deploy (`what` says what for, in the message when there is none). */
export async function runningExecution(stage: Stage, executionRef: string | undefined, what: string): Promise<DescribeExecutionCommandOutput> {
  if (executionRef) return describeExecution(stage.stateMachineArn, executionRef);
  const running = await listExecutions(stage.stateMachineArn, { status: "RUNNING", max: 10 });
  if (running.length === 0) throw new CliError(`no deploy is running in stage ${stage.name}: ${what}`);
  if (running.length > 1)
    throw new CliError(`several deploys are running in stage ${stage.name}: ${running.map((e) => e.name).join(", ")}; allowed: name one of them`);
  return describeExecution(stage.stateMachineArn, running[0].executionArn ?? "");
}
