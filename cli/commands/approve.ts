import { requestCutoverAction } from "../../functions/lib/lock.js";
import { STATE } from "../../functions/lib/names.js";
import { readHistory, summarize } from "../deploys.js";
import { CliError } from "../errors.js";
import type { CommandContext } from "../main.js";
import { runningExecution } from "../running.js";

/** The states of the cutover: where a deploy can be approved or switched back (stacks/pipeline/definition.ts). */
export const CUTOVER_STATES: readonly string[] = [STATE.shiftTraffic, STATE.cutoverDone, STATE.waitForCutover];

/** Who asks: recorded on the lock item beside the request (the OS user, as an operator would sign it). */
export function operatorName(): string {
  return process.env.USER ?? process.env.USERNAME ?? "operator";
}

/**
 * `approve [execution]`: approves the move to 100 % that a deploy waits for when its stage has `cutover.approval`
 * (README "Cutover"). The approval is recorded on the deploy lock's item for that execution
 * (functions/lib/lock.ts `requestCutoverAction`); the cutover's watch reads it at its next poll, at most 15 s later,
 * and goes on watching meanwhile. Given before the deploy reaches the question, it counts when it gets there.
 */
export async function run(context: CommandContext, stageName: string, executionRef?: string): Promise<number> {
  const stage = await context.stage(stageName);
  const execution = await runningExecution(stage, executionRef, "no approval is pending");
  const events = await readHistory(execution.executionArn ?? "");
  const deploy = summarize(execution, events);
  if (deploy.outcome !== "running") throw new CliError(`execution ${deploy.execution} is ${deploy.status}, not running: no approval is pending`);
  if (!stage.settings.cutover?.approval)
    throw new CliError(`no approval is pending: stage ${stage.name} has no cutover.approval (its deploys move to 100 % by themselves; see README "Cutover")`);
  const recorded = await requestCutoverAction(stage.settings, execution.executionArn ?? "", "approve", operatorName());
  if (!recorded) throw new CliError(`the deploy of ${deploy.release ?? "?"} (${deploy.execution}) no longer holds the deploy lock of ${stage.name}: nothing to approve`);
  const where = CUTOVER_STATES.includes(deploy.currentState ?? "") ? "it moves to 100 % at its next poll" : `it is in "${deploy.currentState}" and moves to 100 % once its cutover asks`;
  context.printer.line(`approved the deploy of ${deploy.release ?? "?"} (${deploy.execution}) in ${stage.name}: ${where}`);
  context.printer.result({ command: "approve", stage: stage.name, execution: deploy.execution, release: deploy.release, state: deploy.currentState, approved: true });
  return 0;
}
