/**
 * Deploys as Step Functions records them: listing executions, reading their histories, and what the CLI says
 * of each: release, outcome, how it was started, where and why it failed, its progress lines. Everything is
 * read from the execution history (GetExecutionHistory): each state's input and output is the deploy's state
 * document (functions/lib/contract.ts), each check's message sits at the state's ResultPath.
 */
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  type ExecutionListItem,
  type ExecutionStatus,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  StartExecutionCommand,
} from "@aws-sdk/client-sfn";
import { sfn } from "../functions/lib/clients.js";
import { type DeployOutcome as EndedOutcome, type DeployState, releaseFromArtifactKey } from "../functions/lib/contract.js";
import { STATE } from "../functions/lib/names.js";
import { outcomeOfExecution, resumesByRedrive } from "../functions/lib/outcome.js";
import { readableCause } from "../functions/notify.js";
import { resultPathOf, TASK_STATES, type TaskStateName } from "../stacks/pipeline/tables.js";
import { CliError, EXIT, type ExitCode } from "./errors.js";
import type { DeployProgress } from "./progress.js";

/** Names the CLI gives the executions it starts, so `history` can say how a deploy was started. */
export const EXECUTION_PREFIX = { rollback: "rollback-", promote: "promote-" } as const;

/** A deploy's outcome as the notify function publishes it (functions/lib/outcome.ts), or `running`. */
export type DeployOutcome = EndedOutcome | "running";

/** One deploy as `history`, `status` and `watch --json` report it. */
export interface DeploySummary {
  execution: string;
  executionArn: string;
  status: ExecutionStatus;
  outcome: DeployOutcome;
  release: string | null;
  imageId: string | null;
  groupName: string | null;
  startedAt: string;
  stoppedAt: string | null;
  seconds: number | null;
  /** `upload s3://...`, `start-execution s3://...`, `rollback ami-...`, `promote ami-...` or `image ami-...`. */
  startedBy: string;
  redriveCount: number;
  /** While it runs: the state it is in. */
  currentState: string | null;
  /** Where it failed (the state whose error ended it or sent it down a failure path). */
  failedState: string | null;
  error: string | null;
  /** As people read it: a Lambda's JSON error is its `errorMessage`. */
  cause: string | null;
  /** It got past "Retire old groups": the new release serves, and a failure from there keeps the lock. */
  pastPointOfNoReturn: boolean;
  /** It stopped where a redrive resumes it (after cutover, timed out, or stopped by hand), the lock its own. */
  needsAttention: boolean;
}

/** Exit code of a deploy the CLI followed: 0 succeeded, 1 failed, rolled back or aborted, 3 needs attention (redrive it). */
export function exitCodeOf(deploy: Pick<DeploySummary, "outcome" | "needsAttention">): ExitCode {
  if (deploy.outcome === "succeeded" || deploy.outcome === "no-op") return EXIT.ok;
  if (deploy.needsAttention) return EXIT.attention;
  return EXIT.failed;
}

/** The executions of the state machine, newest first (optionally only one status), at most `max`. */
export async function listExecutions(stateMachineArn: string, options: { status?: ExecutionStatus; max: number }): Promise<ExecutionListItem[]> {
  const found: ExecutionListItem[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn, statusFilter: options.status, maxResults: Math.min(100, options.max - found.length), nextToken }),
    );
    found.push(...(page.executions ?? []));
    nextToken = page.nextToken;
  } while (nextToken && found.length < options.max);
  return found.slice(0, options.max);
}

/** The whole history of an execution, oldest first. */
export async function readHistory(executionArn: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000, nextToken }));
    events.push(...(page.events ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return events;
}

/** The events after `afterId`, oldest first: read newest first and only as far back as needed. */
export async function readNewEvents(executionArn: string, afterId: number): Promise<HistoryEvent[]> {
  const fresh: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    // Newest first, a small page: a poll usually finds a few new events.
    const page = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 25, reverseOrder: true, nextToken }));
    const events = page.events ?? [];
    for (const event of events) {
      if ((event.id ?? 0) <= afterId) return fresh.reverse();
      fresh.push(event);
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return fresh.reverse();
}

/** The execution an argument names: an ARN, or an execution name of this state machine. */
export async function describeExecution(stateMachineArn: string, ref: string): Promise<DescribeExecutionCommandOutput> {
  const executionArn = ref.startsWith("arn:") ? ref : `${stateMachineArn.replace(":stateMachine:", ":execution:")}:${ref}`;
  const machineOf = (arn: string) => arn.replace(":execution:", ":stateMachine:").replace(/:[^:]+$/, "");
  if (ref.startsWith("arn:") && machineOf(ref) !== stateMachineArn)
    throw new CliError(`execution: ${JSON.stringify(ref)} is not an execution of this stage's state machine ${stateMachineArn}`);
  try {
    return await sfn.send(new DescribeExecutionCommand({ executionArn }));
  } catch (error) {
    if ((error as Error).name === "ExecutionDoesNotExist" || (error as Error).name === "InvalidArn")
      throw new CliError(`execution: no execution ${JSON.stringify(ref)} of ${stateMachineArn}; allowed: a name or ARN from \`immutable-deploy history\``);
    throw error;
  }
}

const TERMINAL_EVENTS: ReadonlySet<string> = new Set(["ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut"]);
/** States a failure leads to: the state before the first of them is where the deploy failed. */
const FAILURE_PATHS: ReadonlySet<string> = new Set([STATE.rollback, STATE.unlockAfterFailure, STATE.superseded]);

export function isTerminal(event: HistoryEvent): boolean {
  return TERMINAL_EVENTS.has(event.type ?? "");
}

const enteredName = (event: HistoryEvent) => (event.type?.endsWith("StateEntered") ? event.stateEnteredEventDetails?.name : undefined);
const exitedName = (event: HistoryEvent) => (event.type?.endsWith("StateExited") ? event.stateExitedEventDetails?.name : undefined);

function parse(text: string | undefined): any {
  try {
    return text === undefined ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The latest state document the history holds (the input or output of the last state that has one). */
export function latestDocument(events: HistoryEvent[]): DeployState | undefined {
  for (let i = events.length - 1; i >= 0; i -= 1) {
    const doc = parse(events[i].stateExitedEventDetails?.output ?? events[i].stateEnteredEventDetails?.input);
    if (doc && typeof doc === "object" && "settings" in doc && "execution" in doc) return doc as DeployState;
  }
  return undefined;
}

function startedBy(name: string, input: any): string {
  if (input?.source === "aws.s3") return `upload s3://${input.detail?.bucket?.name}/${input.detail?.object?.key}`;
  if (input?.artifact) return `start-execution s3://${input.artifact.bucket}/${input.artifact.key}`;
  if (input?.imageId) {
    const kind = name.startsWith(EXECUTION_PREFIX.rollback) ? "rollback" : name.startsWith(EXECUTION_PREFIX.promote) ? "promote" : "image";
    return `${kind} ${input.imageId}`;
  }
  return "start-execution";
}

/** The release an input names before Prepare has run (a bad input fails there). */
function releaseOfInput(input: any): string | null {
  if (typeof input?.release === "string") return input.release;
  const key = input?.source === "aws.s3" ? input.detail?.object?.key : input?.artifact?.key;
  return typeof key === "string" ? releaseFromArtifactKey(key) : null;
}

export interface ExecutionRef {
  executionArn?: string;
  name?: string;
  status?: ExecutionStatus;
  startDate?: Date;
  stopDate?: Date;
  redriveCount?: number;
}

/** What the CLI says of a deploy, from its listing entry and its history. */
export function summarize(execution: ExecutionRef, events: HistoryEvent[]): DeploySummary {
  const status = (execution.status ?? "RUNNING") as ExecutionStatus;
  const lastRedrive = events.map((e) => e.type).lastIndexOf("ExecutionRedriven");
  const attempt = lastRedrive >= 0 ? events.slice(lastRedrive) : events;
  const entered = events.map(enteredName).filter((name): name is string => Boolean(name));
  const open = openState(events);
  const doc = latestDocument(events);
  const input = parse(events.find((e) => e.type === "ExecutionStarted")?.executionStartedEventDetails?.input);
  const end = [...events].reverse().find(isTerminal);
  const endDetails = end?.executionFailedEventDetails ?? end?.executionAbortedEventDetails ?? end?.executionTimedOutEventDetails;
  const pastPointOfNoReturn = entered.includes(STATE.retire);
  const lastEntered = [...events].reverse().find((e) => enteredName(e) !== undefined);
  // As the outcome notification says it (functions/notify.ts reads the same history).
  const outcome: DeployOutcome =
    status === "RUNNING" || status === "PENDING_REDRIVE"
      ? "running"
      : outcomeOfExecution(status, { type: lastEntered?.type, name: lastEntered && enteredName(lastEntered) }, doc);

  const startMs = execution.startDate?.getTime() ?? events[0]?.timestamp?.getTime() ?? 0;
  const stopMs = status === "RUNNING" ? undefined : (execution.stopDate?.getTime() ?? end?.timestamp?.getTime());
  return {
    execution: execution.name ?? "",
    executionArn: execution.executionArn ?? "",
    status,
    outcome,
    release: doc?.plan?.release ?? releaseOfInput(input),
    imageId: doc?.image?.imageId ?? doc?.plan?.imageId ?? null,
    groupName: doc?.launch?.groupName ?? null,
    startedAt: new Date(startMs).toISOString(),
    stoppedAt: stopMs === undefined ? null : new Date(stopMs).toISOString(),
    seconds: stopMs === undefined ? null : Math.round((stopMs - startMs) / 100) / 10,
    startedBy: startedBy(execution.name ?? "", input),
    redriveCount: execution.redriveCount ?? 0,
    currentState: outcome === "running" ? (open ?? null) : null,
    failedState: status === "SUCCEEDED" || outcome === "running" ? null : failedStateOf(attempt, open),
    error: endDetails?.error ?? null,
    cause: endDetails?.cause === undefined ? null : readableCause(endDetails.cause),
    pastPointOfNoReturn,
    needsAttention: outcome !== "running" && resumesByRedrive(outcome, endDetails?.error),
  };
}

/** The state entered and not exited last (where a running, stopped or crashed execution is). */
function openState(events: HistoryEvent[]): string | undefined {
  let open: string | undefined;
  for (const event of events) {
    const name = enteredName(event);
    if (name) open = name;
    else if (exitedName(event) === open) open = undefined;
  }
  return open;
}

/**
 * Where a deploy failed: the Task whose error sent it down a failure path (the check before a Pass state that
 * raised the error, e.g. "Check load balancer health" before "Release unhealthy"), or the state it stopped in.
 */
function failedStateOf(attempt: HistoryEvent[], open: string | undefined): string | null {
  const failurePath = attempt.findIndex((e) => FAILURE_PATHS.has(enteredName(e) ?? ""));
  const before = failurePath >= 0 ? attempt.slice(0, failurePath) : attempt;
  const lastTask = [...before].reverse().find((e) => e.type === "TaskStateEntered");
  if (failurePath >= 0) return lastTask?.stateEnteredEventDetails?.name ?? null;
  return open ?? lastTask?.stateEnteredEventDetails?.name ?? null;
}

/** A summary from the listing entry and a fresh read of its history. */
export async function summarizeExecution(execution: ExecutionRef): Promise<DeploySummary> {
  return summarize(execution, await readHistory(execution.executionArn ?? ""));
}

/**
 * Turns history events into progress events, the way the rehearsal's runner reports them: each state entered,
 * each Task state's result message on exit, a retry when a failed Lambda or task is scheduled again, a catch
 * when a Task exits after failing, and the end. Feed it events in order; it keeps what it needs between calls.
 */
export class HistoryProgress {
  private readonly failedAttempt = new Set<string>();
  private current?: string;
  private readonly entered = new Set<string>();

  push(event: HistoryEvent): DeployProgress[] {
    const type = event.type ?? "";
    const name = enteredName(event);
    if (name) {
      this.current = name;
      this.entered.add(name);
      this.failedAttempt.delete(name);
      return [{ state: name, type: "entered" }];
    }
    const exited = exitedName(event);
    if (exited) {
      if (this.failedAttempt.delete(exited)) return [{ state: exited, type: "caught" }];
      return [{ state: exited, type: "exited", ...messageOf(exited, event.stateExitedEventDetails?.output) }];
    }
    if ((type === "LambdaFunctionFailed" || type === "TaskFailed") && this.current) this.failedAttempt.add(this.current);
    if ((type === "LambdaFunctionScheduled" || type === "TaskScheduled") && this.current && this.failedAttempt.has(this.current)) {
      this.failedAttempt.delete(this.current);
      return [{ state: this.current, type: "retried" }];
    }
    if (type === "LambdaFunctionSucceeded" || type === "TaskSucceeded") if (this.current) this.failedAttempt.delete(this.current);
    if (type === "ExecutionSucceeded") return [{ state: STATE.succeeded, type: "succeeded", message: this.entered.has(STATE.noOp) ? "no-op" : "succeeded" }];
    if (type === "ExecutionFailed") {
      const { error, cause } = event.executionFailedEventDetails ?? {};
      return [{ state: this.current ?? "?", type: "failed", message: `${error}: ${cause}` }];
    }
    if (type === "ExecutionAborted" || type === "ExecutionTimedOut") {
      const details = event.executionAbortedEventDetails ?? event.executionTimedOutEventDetails;
      return [{ state: this.current ?? "?", type: "aborted", message: type === "ExecutionTimedOut" ? "timed out" : (details?.cause ?? details?.error) }];
    }
    return [];
  }
}

/** A Task state's `message` at its ResultPath (the checks have one), from the state's output. */
function messageOf(state: string, output: string | undefined): { message?: string } {
  if (!Object.hasOwn(TASK_STATES, state)) return {};
  const path = resultPathOf(state as TaskStateName).slice(2).split(".");
  let value: any = parse(output);
  for (const key of path) value = value?.[key];
  return typeof value?.message === "string" ? { message: value.message } : {};
}

/** A name for an execution the CLI starts: `<prefix><release>[-<detail>]-<UTC time>`, within Step Functions' 80 characters. */
export function executionNameFor(prefix: string, release: string, nowMs: number, detail = ""): string {
  const stamp = new Date(nowMs).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}Z$/, "Z");
  const tail = `${detail ? `-${detail}` : ""}-${stamp}`;
  return `${prefix}${release.slice(0, 80 - prefix.length - tail.length)}${tail}`;
}

/** Starts a deploy of an image (no bake), as `{"imageId": ..., "release": ...}` (docs/design.md "Execution input"). */
export async function startImageDeploy(stateMachineArn: string, input: { imageId: string; release: string }, name: string): Promise<string> {
  const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
  return executionArn ?? "";
}
