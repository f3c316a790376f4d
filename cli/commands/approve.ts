import { readHistory, summarize } from "../deploys.js";
import { CliError } from "../errors.js";
import type { CommandContext } from "../main.js";
import { runningExecution } from "../running.js";

/** A Task that waits for a task token (`arn:aws:states:::<service>:<action>.waitForTaskToken`): where an approval waits. */
const WAITS_FOR_TOKEN = /\.waitForTaskToken$/;

/**
 * `approve [execution]`: approves the cutover a deploy waits for. This version's state machine has no approval
 * step (the cutover issue adds one), so the command reads the execution history and says what is (not)
 * pending; it never sends anything. It exits 2 either way: nothing was approved.
 */
export async function run(context: CommandContext, stageName: string, executionRef?: string): Promise<number> {
  const stage = await context.stage(stageName);
  const execution = await runningExecution(stage, executionRef, "no approval is pending");
  const events = await readHistory(execution.executionArn ?? "");
  const deploy = summarize(execution, events);
  if (deploy.outcome !== "running") throw new CliError(`execution ${deploy.execution} is ${deploy.status}, not running: no approval is pending`);
  const scheduled = [...events].reverse().find((e) => e.type === "TaskScheduled" || e.type === "TaskStateEntered");
  const waiting = scheduled?.type === "TaskScheduled" && WAITS_FOR_TOKEN.test(scheduled.taskScheduledEventDetails?.resource ?? "");
  if (!waiting)
    throw new CliError(
      `no approval is pending: the deploy of ${deploy.release ?? "?"} (${deploy.execution}) is in "${deploy.currentState}"; ` +
        "this version's state machine has no approval step (it cuts over all at once)",
    );
  throw new CliError(
    `the deploy of ${deploy.release ?? "?"} (${deploy.execution}) waits for a task token in "${deploy.currentState}", ` +
      "but this version of the CLI does not know where that token is kept; approve it where the cutover step documents",
  );
}
