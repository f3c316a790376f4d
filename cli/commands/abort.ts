import { type HistoryEvent, StopExecutionCommand } from "@aws-sdk/client-sfn";
import { sfn } from "../../functions/lib/clients.js";
import type { DeployState, Outcome } from "../../functions/lib/contract.js";
import { classifyError } from "../../functions/lib/errors.js";
import { ERROR, RETRY_BUDGET, STATE, TRANSIENT_ERRORS } from "../../functions/lib/names.js";
import { publishOutcome } from "../../functions/notify.js";
import { rollback } from "../../functions/rollback.js";
import { unlockEnvironment } from "../../functions/unlockEnvironment.js";
import { STAGE_FUNCTIONS, TASK_STATES, type TaskStateName } from "../../stacks/pipeline/tables.js";
import { latestDocument, readHistory, summarize } from "../deploys.js";
import { CliError, EXIT } from "../errors.js";
import type { CommandContext } from "../main.js";
import { runningExecution } from "../running.js";

/** Where a deploy is, for what a failure there does (docs/design.md "Failure semantics"). */
type Phase = "before-launch" | "launched" | "live";
const PHASE_TEXT: Record<Phase, string> = {
  "before-launch": "before Launch: unlock and fail",
  launched: "after Launch, before the new release serves: roll back, unlock and fail",
  live: "after the new release went live: keep the lock and stop, for a redrive",
};

/**
 * Transient errors (throttling, eventual consistency, busy resources) are tried again with the state machine's
 * own budget for them (RETRY_BUDGET.transient: minutes), as the deployed failure path would be.
 */
async function retrying<T>(context: CommandContext, work: () => Promise<T>): Promise<T> {
  const { intervalSeconds, backoffRate, maxDelaySeconds, maxAttempts } = RETRY_BUDGET.transient;
  for (let retry = 0; ; retry += 1) {
    try {
      return await work();
    } catch (error) {
      const classified = classifyError(error) as Error;
      if (retry >= maxAttempts || !(TRANSIENT_ERRORS as readonly string[]).includes(classified?.name)) throw classified;
      await context.sleep(1000 * Math.min(maxDelaySeconds, intervalSeconds * backoffRate ** retry));
    }
  }
}

/**
 * A Lambda invocation still running when the execution stopped: it finishes anyway (Step Functions only stops
 * waiting for it), so the failure path waits for its timeout before acting beside it.
 */
function invocationInFlight(events: HistoryEvent[], state: string | null): { state: string; untilMs: number } | undefined {
  if (!state || !Object.hasOwn(TASK_STATES, state)) return undefined;
  let startedMs: number | undefined;
  for (const event of events) {
    if (event.type === "TaskStateEntered" && event.stateEnteredEventDetails?.name === state) startedMs = undefined;
    if (event.type === "LambdaFunctionStarted") startedMs = event.timestamp?.getTime();
    if (event.type === "LambdaFunctionSucceeded" || event.type === "LambdaFunctionFailed" || event.type === "LambdaFunctionTimedOut") startedMs = undefined;
  }
  if (startedMs === undefined) return undefined;
  return { state, untilMs: startedMs + STAGE_FUNCTIONS[TASK_STATES[state as TaskStateName].fn].timeoutSeconds * 1000 };
}

/**
 * `abort [execution]`: stops a running deploy, then does what a failure at that point does: before Launch,
 * unlock; from Launch until the new release serves, roll back (the deployed rollback's own code) and unlock;
 * after that, keep the lock for a redrive.
 *
 * Step Functions has no way to send a running execution down its failure path, so the CLI stops it and runs that
 * path itself. The ABORTED status is notified like every end (the Pipeline's outcome rule); stopped with
 * `ERROR.aborted`, that notification says the failure path follows, and the CLI publishes its outcome (rolled back,
 * failed) once done. After the release went live, the stop carries no such error: the lock stays, as after a
 * stop by hand, and the notification names the redrive.
 */
export async function run(context: CommandContext, stageName: string, executionRef?: string): Promise<number> {
  const { printer } = context;
  const stage = await context.stage(stageName);
  const execution = await runningExecution(stage, executionRef, "nothing to abort");
  if (execution.status !== "RUNNING") throw new CliError(`execution ${execution.name} is ${execution.status}, not running: nothing to abort`);
  const executionArn = execution.executionArn ?? "";
  const events = await readHistory(executionArn);
  const deploy = summarize(execution, events);
  const entered = new Set(events.map((e) => e.stateEnteredEventDetails?.name));
  const phase: Phase = deploy.pastPointOfNoReturn ? "live" : entered.has(STATE.launch) ? "launched" : "before-launch";
  const cause = `aborted with immutable-deploy abort in "${deploy.currentState}" (${PHASE_TEXT[phase]})`;

  await sfn.send(new StopExecutionCommand({ executionArn, ...(phase === "live" ? {} : { error: ERROR.aborted }), cause }));
  printer.line(`stopped ${deploy.execution} (${deploy.release ?? "?"}) in "${deploy.currentState}": ${PHASE_TEXT[phase]}`);
  const inFlight = invocationInFlight(events, deploy.currentState);
  if (inFlight && inFlight.untilMs > context.now()) {
    printer.line(`waiting up to ${Math.ceil((inFlight.untilMs - context.now()) / 1000)} s for the "${inFlight.state}" invocation in flight to end, so nothing acts after the rollback`);
    await context.sleep(inFlight.untilMs - context.now());
  }

  const actions: string[] = [];
  const doc = latestDocument(events);
  if (doc && phase !== "live") {
    const state: DeployState = { ...doc, error: { Error: ERROR.aborted, Cause: cause } };
    if (phase === "launched") {
      state.rollback = await retrying(context, () => rollback(state));
      actions.push(state.rollback.message);
    }
    state.unlock = await retrying(context, () => unlockEnvironment(state));
    actions.push(state.unlock.message);
    const outcome: Outcome = phase === "launched" ? "rolled-back" : "failed";
    const end = { outcome, state, error: { error: ERROR.aborted, cause } };
    // As with the outcome rule, a lost notification does not turn the outcome around.
    const notified = await retrying(context, () => publishOutcome(end, { executionArn, name: deploy.execution, status: "ABORTED" })).catch(
      (error: Error) => ({ message: `notification failed: ${error.message}` }),
    );
    actions.push(notified.message);
  }
  for (const action of actions) printer.line(`  ${action}`);
  if (phase === "live")
    printer.line(printer.colors.yellow(`the release already serves: the deploy lock stays with ${deploy.execution}; finish it with \`npx immutable-deploy redrive --stage ${stage.name}\``));
  printer.result({ command: "abort", stage: stage.name, execution: deploy.execution, release: deploy.release, phase, stoppedIn: deploy.currentState, actions, deploy: summarize({ ...execution, status: "ABORTED" }, await readHistory(executionArn)) });
  return phase === "live" ? EXIT.attention : EXIT.ok;
}
