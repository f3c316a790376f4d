import { PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { DescribeExecutionCommand, GetExecutionHistoryCommand, type HistoryEvent } from "@aws-sdk/client-sfn";
import { PublishCommand } from "@aws-sdk/client-sns";
import { eventBridge, sfn, sns } from "./lib/clients.js";
import type { DeployOutcome, DeployState, ExecutionStatusChange, NotifyResult } from "./lib/contract.js";
import { DeployError, isTransientAwsError, TransientAwsError } from "./lib/errors.js";
import { stageHandler } from "./lib/handler.js";
import { executionName, handOverToWaiters, lockIdFor, readLockRecord } from "./lib/lock.js";
import { logger } from "./lib/logger.js";
import { ERROR, PROJECT } from "./lib/names.js";
import { outcomeOfExecution, resumesByRedrive } from "./lib/outcome.js";

/** EventBridge `detail-type` per outcome: what subscribers' rules match on. */
export const DETAIL_TYPE: Record<DeployOutcome, string> = {
  succeeded: "Deploy Succeeded",
  "rolled-back": "Deploy Rolled Back",
  failed: "Deploy Failed",
  "no-op": "Deploy No-op",
  "needs-attention": "Deploy Needs Attention",
  "timed-out": "Deploy Timed Out",
  aborted: "Deploy Aborted",
};

/** The event source of every outcome event. */
export const EVENT_SOURCE = PROJECT;

const SUBJECT_MAX = 100;
/** Keeps the event well under EventBridge's 256 KB entry limit even with a long stack trace as cause. */
const CAUSE_MAX = 4000;
/** History pages read (newest first) looking for the state the execution ended in; each page up to 100 events. */
const HISTORY_PAGES = 5;

export interface DeployOutcomeDetail {
  app: string;
  environment: string;
  release: string | null;
  outcome: DeployOutcome;
  /** The execution's status: SUCCEEDED, FAILED, TIMED_OUT or ABORTED. */
  status: string;
  executionId: string;
  executionName: string;
  groupName: string | null;
  imageId: string | null;
  /** The state the execution stopped in when it did not end in one of its own end states (a redrive resumes there). */
  stoppedAt: string | null;
  /** The command that resumes the execution where it stopped, when a redrive can do that. */
  redriveCommand: string | null;
  message: string;
  error: { error: string; cause: string } | null;
}

/** How the execution ended, read from Step Functions (not from anything the execution wrote about itself). */
export interface EndOfExecution {
  outcome: DeployOutcome;
  /** The state document where it ended (the output, or the input of the last state entered). */
  state: DeployState;
  stoppedAt?: string;
  error?: { error: string; cause: string };
}

/**
 * Publishes a deploy's outcome when its execution reaches a terminal status: the Pipeline's EventBridge rule on
 * Step Functions' "Step Functions Execution Status Change" events invokes this function, so every end is told,
 * failures, time-outs and aborts included, and nothing the notification does can change the execution's
 * status. The outcome comes from Step Functions: the output of a succeeded execution; otherwise the execution
 * history (GetExecutionHistory, newest first): the state it ended in and the error. Published to the SNS topic
 * (people) and the event bus (automation). A redelivered event publishes again: notifications are at least once.
 */
export async function notify(event: ExecutionStatusChange): Promise<NotifyResult> {
  const end = await readEndOfExecution(event.detail);
  const woken = event.detail.status === "SUCCEEDED" ? [] : await wakeWaiters(end.state, event.detail.executionArn);
  const result = await publishOutcome(end, event.detail);
  return woken.length > 0 ? { ...result, wokeWaiters: woken } : result;
}

/**
 * An execution that ended still holding the deploy lock (stopped from the console or with stop-execution, timed
 * out, or failed after its point of no return, where the lock stays for a redrive) ran no unlock, so nobody hands
 * the lock over: its waiters would wait out their `Wait for lock` time-out (300 s) before taking it over. Its end is
 * told here, so the waiters' tasks are completed here (the unlock's hand-over, functions/unlockEnvironment.ts), and
 * they plan again and take over at once (Lock takes over from a holder that is no longer running). Only while the
 * lock is still this execution's: once another deploy took it, its own unlock hands over. A waiter whose task is
 * over already is skipped (a redelivered event tells nobody twice). Best effort: a failure is logged, not
 * thrown (the waiters' time-out remains, and the outcome must still be published).
 */
export async function wakeWaiters(state: DeployState, executionArn: string): Promise<string[]> {
  const lockId = lockIdFor(state.settings);
  try {
    const record = await readLockRecord(state.settings.lockTableName, lockId);
    if (record?.holder !== executionArn) return [];
    const woken = await handOverToWaiters(record.waiters, executionArn, lockId);
    if (woken.length > 0) logger.info("lock holder ended without unlocking: waiters told", { lockId, waiters: woken });
    return woken;
  } catch (error) {
    logger.warn("could not tell the lock's waiters that its holder ended; they take over at their wait's time-out", { lockId, error });
    return [];
  }
}

/**
 * Publishes one outcome of an execution to the SNS topic and the event bus. Besides notify, `immutable-deploy
 * abort` publishes the outcome of the failure path it runs after stopping an execution (rolled back, failed).
 */
export async function publishOutcome(
  end: EndOfExecution,
  execution: Pick<ExecutionStatusChange["detail"], "executionArn" | "name" | "status">,
): Promise<NotifyResult> {
  const detail = outcomeDetail(end, execution);
  const { state } = end;
  const subject = subjectLine(end.outcome, state);

  await sns.send(new PublishCommand({ TopicArn: state.settings.topicArn, Subject: subject, Message: messageText(detail) }));

  const result = await eventBridge.send(
    new PutEventsCommand({
      Entries: [
        {
          EventBusName: state.settings.eventBusName,
          Source: EVENT_SOURCE,
          DetailType: DETAIL_TYPE[end.outcome],
          Detail: JSON.stringify(detail),
          Resources: [detail.executionId],
        },
      ],
    }),
  );
  if ((result.FailedEntryCount ?? 0) > 0) {
    const failed = result.Entries?.find((entry) => entry.ErrorCode);
    const reason = `${failed?.ErrorCode ?? "unknown"}: ${failed?.ErrorMessage ?? "no message"}`;
    const entryError = { name: failed?.ErrorCode ?? "", message: reason };
    // PutEvents reports throttling per entry, not as a thrown error: surface it under the retried name.
    if (isTransientAwsError(entryError)) throw new TransientAwsError(`PutEvents rejected the outcome event: ${reason}`);
    throw new DeployError(ERROR.eventPublishFailed, `PutEvents rejected the outcome event: ${reason}`);
  }

  logger.info("outcome published", { outcome: end.outcome, subject });
  return { outcome: end.outcome, message: detail.message };
}

function parseState(json: string | null | undefined): DeployState | undefined {
  if (!json) return undefined;
  try {
    const value = JSON.parse(json) as Partial<DeployState> | null;
    return value && typeof value === "object" && value.settings ? (value as DeployState) : undefined;
  } catch {
    return undefined;
  }
}

/** The newest history events, newest first, until `enough` says what was read suffices (a few pages at most). */
async function newestHistory(executionArn: string, enough: (events: HistoryEvent[]) => boolean): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  for (let page = 0; page < HISTORY_PAGES; page++) {
    const answer = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 100, includeExecutionData: true, nextToken }),
    );
    events.push(...(answer.events ?? []));
    nextToken = answer.nextToken;
    if (!nextToken || enough(events)) break;
  }
  return events;
}

const isStateEntered = (event: HistoryEvent) => Boolean(event.type?.endsWith("StateEntered") && event.stateEnteredEventDetails);

/** The error of the execution's terminal event (ExecutionFailed, ExecutionTimedOut, ExecutionAborted). */
function terminalError(events: HistoryEvent[]): { error: string; cause: string } | undefined {
  for (const event of events) {
    const details = event.executionFailedEventDetails ?? event.executionTimedOutEventDetails ?? event.executionAbortedEventDetails;
    if (details) return { error: details.error ?? "", cause: details.cause ?? "" };
  }
  return undefined;
}

async function readEndOfExecution(detail: ExecutionStatusChange["detail"]): Promise<EndOfExecution> {
  const arn = detail.executionArn;
  if (detail.status === "SUCCEEDED") {
    const output = detail.output ?? (await sfn.send(new DescribeExecutionCommand({ executionArn: arn }))).output;
    const state = parseState(output);
    if (!state) throw new Error(`execution ${arn} succeeded without a deploy state document as its output`);
    return { outcome: outcomeOfExecution(detail.status, undefined, state), state };
  }
  const events = await newestHistory(arn, (read) => read.some(isStateEntered));
  const entered = events.find(isStateEntered);
  const state = parseState(entered?.stateEnteredEventDetails?.input);
  if (!entered || !state) throw new Error(`execution ${arn} (${detail.status}): no state with the deploy state document in its history`);
  const name = entered.stateEnteredEventDetails?.name ?? "";
  const error = terminalError(events) ?? (detail.error ? { error: detail.error, cause: detail.cause ?? "" } : undefined);
  const outcome = outcomeOfExecution(detail.status, { type: entered.type, name }, state);
  // A Fail state is an end of the definition's own; anywhere else it stopped (after cutover, the lock held, or
  // timed out or aborted), a redrive resumes there.
  return entered.type === "FailStateEntered" ? { outcome, state, error } : { outcome, state, stoppedAt: name, error };
}

export function outcomeDetail(end: EndOfExecution, execution: Pick<ExecutionStatusChange["detail"], "executionArn" | "name" | "status">): DeployOutcomeDetail {
  const { state } = end;
  const error = end.error ? { error: end.error.error, cause: truncate(readableCause(end.error.cause), CAUSE_MAX) } : null;
  const redrivable = resumesByRedrive(end.outcome, end.error?.error);
  const redriveCommand = redrivable ? `aws stepfunctions redrive-execution --execution-arn ${execution.executionArn}` : null;
  return {
    app: state.settings.app,
    environment: state.settings.environment,
    release: state.plan?.release ?? null,
    outcome: end.outcome,
    status: execution.status,
    executionId: execution.executionArn,
    executionName: execution.name ?? executionName(execution.executionArn),
    groupName: state.launch?.groupName ?? state.plan?.groupName ?? null,
    imageId: state.image?.imageId ?? state.plan?.imageId ?? null,
    stoppedAt: end.stoppedAt ?? null,
    redriveCommand,
    message: outcomeMessage(end, error, redriveCommand),
    error,
  };
}

function outcomeMessage(end: EndOfExecution, error: DeployOutcomeDetail["error"], redriveCommand: string | null): string {
  const { state } = end;
  const release = state.plan?.release ? `release ${state.plan.release}` : "the deploy";
  const reason = error ? `${error.error}: ${error.cause}` : "no error recorded";
  const lock = `The deploy lock of ${state.settings.app}/${state.settings.environment}`;
  switch (end.outcome) {
    case "succeeded": {
      const group = state.launch?.groupName ?? state.plan?.groupName ?? "(unknown group)";
      const image = state.image?.imageId ? ` from image ${state.image.imageId}` : "";
      const capacity = state.launch ? `, ${state.launch.desiredCapacity} instance(s)` : "";
      const retired = state.retirement?.groups.length ? `; retired ${state.retirement.groups.join(", ")}` : "";
      return `${release} is live in group ${group}${image}${capacity}${retired}`;
    }
    case "rolled-back": {
      const restored = state.rollback?.restoredGroups.length ? state.rollback.restoredGroups.join(", ") : "no group (none served when the deploy started)";
      return `${release} was rolled back; serving as before the deploy: ${restored}. Reason: ${reason}`;
    }
    case "failed": {
      if (error?.error === ERROR.lockLost) return `${release}: this run was superseded by another deploy and changed nothing. ${reason}`;
      const rollbackFailed = state.rollbackError
        ? ` The rollback did not finish either (${state.rollbackError.Error}: ${readableCause(state.rollbackError.Cause)}); the lock is released, check the environment's groups.`
        : "";
      return `${release} failed. Reason: ${reason}.${rollbackFailed}`;
    }
    case "no-op":
      return state.lock?.message ?? `${release}: nothing to deploy`;
    case "needs-attention":
      return (
        `${release} needs attention: "${end.stoppedAt}" failed (${reason}). ${lock} stays with this execution; ` +
        `fix the cause, then resume at that state: ${redriveCommand}`
      );
    case "aborted":
    case "timed-out":
      // Stopped by `immutable-deploy abort` to run the failure path itself (roll back, unlock): it publishes that outcome too.
      if (!redriveCommand) return `${release} was aborted in "${end.stoppedAt}": ${error?.cause ?? reason}; its outcome follows`;
      // Stopped by hand (console, stop-execution), after cutover, or timed out: the lock stays.
      return (
        `${release} ${end.outcome === "timed-out" ? "timed out" : "was aborted"} in "${end.stoppedAt}". ${lock} stays with this ` +
        `execution until it is resumed or a new deploy takes it over; resume at that state: ${redriveCommand}`
      );
  }
}

/** SNS subjects: at most 100 printable ASCII characters, no line breaks. */
export function subjectLine(outcome: DeployOutcome, state: DeployState): string {
  const release = state.plan?.release ? `: ${state.plan.release}` : "";
  const text = `[${state.settings.app} ${state.settings.environment}] ${DETAIL_TYPE[outcome]}${release}`;
  return truncate(text.replace(/[^\x20-\x7E]/g, "?"), SUBJECT_MAX);
}

/**
 * A Lambda error's Cause is a JSON document (`errorMessage`, `trace`...): keep just the message. The operator CLI
 * shows causes this way too.
 */
export function readableCause(cause: string | undefined): string {
  if (!cause) return "";
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed?.errorMessage === "string") return parsed.errorMessage;
  } catch {
    // not JSON: a Fail state's or a service's plain-text cause
  }
  return cause;
}

function messageText(detail: DeployOutcomeDetail): string {
  return [
    detail.message,
    "",
    `App:         ${detail.app}`,
    `Environment: ${detail.environment}`,
    `Release:     ${detail.release ?? "(unknown)"}`,
    `Outcome:     ${detail.outcome} (execution ${detail.status})`,
    `Group:       ${detail.groupName ?? "(none)"}`,
    `Image:       ${detail.imageId ?? "(none)"}`,
    `Execution:   ${detail.executionId}`,
    ...(detail.stoppedAt ? [`Stopped at:  ${detail.stoppedAt}`] : []),
    ...(detail.error ? [`Error:       ${detail.error.error}`, `Cause:       ${detail.error.cause}`] : []),
    ...(detail.redriveCommand ? [`Resume:      ${detail.redriveCommand}`] : []),
  ].join("\n");
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

export const handler = stageHandler(notify);
