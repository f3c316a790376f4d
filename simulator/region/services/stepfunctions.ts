import type {
  DescribeExecutionCommandInput,
  DescribeExecutionCommandOutput,
  DescribeStateMachineCommandInput,
  DescribeStateMachineCommandOutput,
  ExecutionStatus,
  GetExecutionHistoryCommandInput,
  GetExecutionHistoryCommandOutput,
  HistoryEvent,
  ListExecutionsCommandInput,
  ListExecutionsCommandOutput,
  RedriveExecutionCommandInput,
  RedriveExecutionCommandOutput,
  SendTaskFailureCommandInput,
  SendTaskFailureCommandOutput,
  SendTaskHeartbeatCommandInput,
  SendTaskHeartbeatCommandOutput,
  SendTaskSuccessCommandInput,
  SendTaskSuccessCommandOutput,
  StartExecutionCommandInput,
  StartExecutionCommandOutput,
  StopExecutionCommandInput,
  StopExecutionCommandOutput,
} from "@aws-sdk/client-sfn";
import { type OperationHandlers, type Output, type RegionContext, decodeToken, encodeToken } from "../context.js";
import { awsError } from "../errors.js";

/** An execution as Step Functions keeps it: the runner writes it, the API reads it. */
export interface SimExecution {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: ExecutionStatus;
  startMs: number;
  stopMs?: number;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  redriveCount: number;
  redriveMs?: number;
  /** Its execution history, in order (ids from 1). */
  history: HistoryEvent[];
}

/** What runs a state machine's executions (the simulator's DeployRunner): the API's StartExecution, RedriveExecution and StopExecution call it. */
export interface StateMachineControl {
  /** Starts an execution named `name` with `input` (already parsed); returns its ARN. */
  start(input: unknown, name: string): string;
  redrive(executionArn: string): void;
  stop(executionArn: string, error?: string, cause?: string): void;
}

export interface SimStateMachine {
  arn: string;
  name: string;
  /** The ASL definition as DescribeStateMachine returns it (a JSON string, tokens resolved). */
  definition: string;
  roleArn: string;
  createdMs: number;
  control: StateMachineControl;
}

/** A history event as the recorder gives it; the service numbers and stamps it. */
export type NewHistoryEvent = Omit<HistoryEvent, "id" | "timestamp" | "previousEventId"> & { previousEventId?: number; timestampMs?: number };

/** How a callback task ended: the output of SendTaskSuccess, or an error (SendTaskFailure, a timeout, the invocation's). */
export type TaskOutcome = { output: unknown } | { error: string; cause: string };

/** A `.waitForTaskToken` task waiting for its token's answer (`openCallbackTask`). */
export interface CallbackTask {
  token: string;
  /** Settles when SendTaskSuccess or SendTaskFailure answers, or TimeoutSeconds / HeartbeatSeconds pass. */
  outcome: Promise<TaskOutcome>;
  /** Ends the task from outside (the invocation failed, the execution stopped); the token is over from then on. */
  close(outcome?: TaskOutcome): void;
}

interface OpenTask {
  executionArn: string;
  state: string;
  open: boolean;
  settle(outcome: TaskOutcome): void;
  heartbeat(): void;
}

/** Task tokens are opaque; these are this prefix and a base64url id (AWS's are longer; the API allows 1-1024 characters in botocore's 2016-11-23 model, 1-2048 in today's API reference). */
const TOKEN_PREFIX = "AQCsim";
const TOKEN_FORMAT = /^AQCsim[A-Za-z0-9_-]+$/;
const MAX_TOKEN_LENGTH = 1024;

/** What StartExecution accepts as a name (Step Functions API reference, StartExecution `name`). */
const EXECUTION_NAME = /^[^\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]{1,80}$/;
/** StartExecution's input limit: 256 KiB of UTF-8 (Step Functions quotas, "Maximum input or output size"). */
const MAX_INPUT_BYTES = 262_144;
/** GetExecutionHistory: maxResults 1-1000, 100 when not given (API reference). */
const DEFAULT_HISTORY_PAGE = 100;
const MAX_HISTORY_PAGE = 1000;
/** Execution statuses a redrive accepts (API reference, RedriveExecution). */
const REDRIVABLE: ReadonlySet<ExecutionStatus> = new Set(["FAILED", "ABORTED", "TIMED_OUT"]);

/**
 * Step Functions' control plane: the state machines the runners registered (`registerStateMachine`) and their
 * executions, with their histories. StartExecution, RedriveExecution and StopExecution hand the work to the
 * state machine's `control`; the reads answer from the table.
 */
export class StepFunctionsService {
  readonly executions = new Map<string, SimExecution>();
  readonly stateMachines = new Map<string, SimStateMachine>();
  /** Callback tasks by token, open or over (an over one answers TaskTimedOut). */
  private readonly tasks = new Map<string, OpenTask>();

  constructor(private readonly ctx: RegionContext) {}

  /**
   * A `.waitForTaskToken` task starts: mints its token (valid until the task ends), and times it on the region's
   * clock: past `timeoutSeconds` from now it fails with States.Timeout, past `heartbeatSeconds` without a
   * SendTaskHeartbeat (or since it started) with States.HeartbeatTimeout (Amazon States Language, "Task state";
   * Step Functions error names). Without either it waits for its answer, however long.
   */
  openCallbackTask(executionArn: string, state: string, timing: { timeoutSeconds?: number; heartbeatSeconds?: number } = {}): CallbackTask {
    const id = Buffer.from(JSON.stringify({ e: executionArn, s: state, n: this.ctx.ids.count("task-token") })).toString("base64url");
    const token = `${TOKEN_PREFIX}${id}`;
    let settle!: (outcome: TaskOutcome) => void;
    const outcome = new Promise<TaskOutcome>((resolve) => (settle = resolve));
    const { scheduler } = this.ctx;
    let timeout: { cancel(): void } | undefined;
    let heartbeat: { cancel(): void } | undefined;
    const task: OpenTask = {
      executionArn,
      state,
      open: true,
      settle: (result) => {
        if (!task.open) return;
        task.open = false;
        timeout?.cancel();
        heartbeat?.cancel();
        settle(result);
      },
      heartbeat: () => {
        if (timing.heartbeatSeconds === undefined) return;
        heartbeat?.cancel();
        heartbeat = scheduler.wakeUp(
          this.ctx.clock.now() + timing.heartbeatSeconds * 1000,
          () => task.settle({ error: "States.HeartbeatTimeout", cause: `no heartbeat for ${timing.heartbeatSeconds} s (HeartbeatSeconds)` }),
          "task heartbeat timeout",
        );
      },
    };
    if (timing.timeoutSeconds !== undefined)
      timeout = scheduler.wakeUp(
        this.ctx.clock.now() + timing.timeoutSeconds * 1000,
        () => task.settle({ error: "States.Timeout", cause: `the task ran past its ${timing.timeoutSeconds} s (TimeoutSeconds)` }),
        "task timeout",
      );
    task.heartbeat();
    this.tasks.set(token, task);
    return { token, outcome, close: (result) => task.settle(result ?? { error: "States.Runtime", cause: "the task ended" }) };
  }

  /** The execution stopped (StopExecution): its open tasks are over, and their tokens with them. */
  closeTasksOf(executionArn: string): void {
    for (const task of this.tasks.values()) if (task.executionArn === executionArn && task.open) task.settle({ error: "States.Runtime", cause: "the execution stopped" });
  }

  /** The open task a token stands for, with Step Functions' errors for a malformed, unknown or finished one. */
  private openTask(token: string | undefined): OpenTask {
    if (!token || token.length > MAX_TOKEN_LENGTH || !TOKEN_FORMAT.test(token)) throw awsError("SFN", "InvalidToken", `Invalid Token: '${token}'`);
    const task = this.tasks.get(token);
    if (!task) throw awsError("SFN", "TaskDoesNotExist", "Task Does Not Exist: 'Provided task does not exist'");
    if (!task.open) throw awsError("SFN", "TaskTimedOut", "Task Timed Out: 'Provided task does not exist anymore'");
    return task;
  }

  private sendTaskSuccess(input: SendTaskSuccessCommandInput): Output<SendTaskSuccessCommandOutput> {
    const task = this.openTask(input.taskToken);
    let output: unknown;
    try {
      output = JSON.parse(input.output ?? "");
    } catch {
      throw awsError("SFN", "InvalidOutput", `Invalid Output: '${String(input.output).slice(0, 40)}'`);
    }
    if (Buffer.byteLength(input.output ?? "", "utf8") > MAX_INPUT_BYTES) throw awsError("SFN", "InvalidOutput", "Output exceeds the maximum size of 262144 bytes");
    task.settle({ output });
    return {};
  }

  private sendTaskFailure(input: SendTaskFailureCommandInput): Output<SendTaskFailureCommandOutput> {
    this.openTask(input.taskToken).settle({ error: input.error ?? "", cause: input.cause ?? "" });
    return {};
  }

  private sendTaskHeartbeat(input: SendTaskHeartbeatCommandInput): Output<SendTaskHeartbeatCommandOutput> {
    this.openTask(input.taskToken).heartbeat();
    return {};
  }

  registerStateMachine(machine: Omit<SimStateMachine, "createdMs" | "roleArn"> & { roleArn?: string }): SimStateMachine {
    const record: SimStateMachine = {
      roleArn: `arn:aws:iam::${this.ctx.account}:role/${machine.name}-role`,
      createdMs: this.ctx.clock.now(),
      ...machine,
    };
    this.stateMachines.set(record.arn, record);
    return record;
  }

  /** Adds or replaces an execution (the runner calls this when it starts one). */
  recordExecution(execution: Omit<SimExecution, "redriveCount" | "history"> & { redriveCount?: number }): SimExecution {
    const record: SimExecution = { redriveCount: 0, history: [], ...execution };
    this.executions.set(record.executionArn, record);
    return record;
  }

  updateExecution(executionArn: string, patch: Partial<Omit<SimExecution, "executionArn" | "history">>): SimExecution {
    const execution = this.executions.get(executionArn);
    if (!execution) throw new Error(`No execution ${executionArn} recorded in the simulated region`);
    Object.assign(execution, patch);
    if (patch.status && patch.status !== "RUNNING" && patch.stopMs === undefined) execution.stopMs = this.ctx.clock.now();
    if (patch.status === "RUNNING") execution.stopMs = undefined;
    return execution;
  }

  /** Appends an event to an execution's history: the next id, the previous event's id, the region's time. */
  appendHistory(executionArn: string, event: NewHistoryEvent): HistoryEvent {
    const execution = this.executions.get(executionArn);
    if (!execution) throw new Error(`No execution ${executionArn} recorded in the simulated region`);
    const id = execution.history.length + 1;
    const { timestampMs, previousEventId, ...details } = event;
    const recorded: HistoryEvent = {
      ...details,
      id,
      previousEventId: previousEventId ?? id - 1,
      timestamp: new Date(timestampMs ?? this.ctx.clock.now()),
    } as HistoryEvent;
    execution.history.push(recorded);
    return recorded;
  }

  handlers(): OperationHandlers {
    return {
      StartExecution: (input: StartExecutionCommandInput) => this.startExecution(input),
      StopExecution: (input: StopExecutionCommandInput) => this.stopExecution(input),
      RedriveExecution: (input: RedriveExecutionCommandInput) => this.redriveExecution(input),
      DescribeExecution: (input: DescribeExecutionCommandInput) => this.describeExecution(input),
      ListExecutions: (input: ListExecutionsCommandInput) => this.listExecutions(input),
      GetExecutionHistory: (input: GetExecutionHistoryCommandInput) => this.getExecutionHistory(input),
      DescribeStateMachine: (input: DescribeStateMachineCommandInput) => this.describeStateMachine(input),
      SendTaskSuccess: (input: SendTaskSuccessCommandInput) => this.sendTaskSuccess(input),
      SendTaskFailure: (input: SendTaskFailureCommandInput) => this.sendTaskFailure(input),
      SendTaskHeartbeat: (input: SendTaskHeartbeatCommandInput) => this.sendTaskHeartbeat(input),
    };
  }

  private stateMachine(arn: string | undefined): SimStateMachine {
    const machine = this.stateMachines.get(arn ?? "");
    if (!machine) throw awsError("SFN", "StateMachineDoesNotExist", `State Machine Does Not Exist: '${arn}'`);
    return machine;
  }

  private execution(arn: string | undefined): SimExecution {
    const execution = this.executions.get(arn ?? "");
    if (!execution) throw awsError("SFN", "ExecutionDoesNotExist", `Execution Does Not Exist: '${arn}'`);
    return execution;
  }

  private startExecution(input: StartExecutionCommandInput): Output<StartExecutionCommandOutput> {
    const machine = this.stateMachine(input.stateMachineArn);
    const name = input.name ?? `00000000-0000-4000-8000-${this.ctx.ids.count("execution-name").toString(16).padStart(12, "0")}`;
    if (!EXECUTION_NAME.test(name)) throw awsError("SFN", "InvalidName", `Invalid Name: '${name}'`);
    const text = input.input ?? "{}";
    if (Buffer.byteLength(text, "utf8") > MAX_INPUT_BYTES) throw awsError("SFN", "InvalidExecutionInput", "Input exceeds the maximum size of 262144 bytes");
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw awsError("SFN", "InvalidExecutionInput", `Invalid State Machine Execution Input: 'Unexpected token in ${JSON.stringify(text.slice(0, 40))}'`);
    }
    const existing = [...this.executions.values()].find((e) => e.stateMachineArn === machine.arn && e.name === name);
    if (existing) {
      // The same name and input while it runs is the same request again; anything else is a second execution of that name.
      if (existing.status === "RUNNING" && existing.input === text) return { executionArn: existing.executionArn, startDate: new Date(existing.startMs) };
      throw awsError("SFN", "ExecutionAlreadyExists", `Execution Already Exists: '${existing.executionArn}'`);
    }
    const executionArn = machine.control.start(parsed, name);
    return { executionArn, startDate: new Date(this.execution(executionArn).startMs) };
  }

  private stopExecution(input: StopExecutionCommandInput): Output<StopExecutionCommandOutput> {
    const execution = this.execution(input.executionArn);
    if (execution.status === "RUNNING") this.stateMachine(execution.stateMachineArn).control.stop(execution.executionArn, input.error, input.cause);
    return { stopDate: new Date(execution.stopMs ?? this.ctx.clock.now()) };
  }

  private redriveExecution(input: RedriveExecutionCommandInput): Output<RedriveExecutionCommandOutput> {
    const execution = this.execution(input.executionArn);
    if (!REDRIVABLE.has(execution.status as ExecutionStatus))
      throw awsError("SFN", "ExecutionNotRedrivable", `Execution is ${execution.status}; only FAILED, ABORTED or TIMED_OUT executions can be redriven: '${execution.executionArn}'`);
    this.stateMachine(execution.stateMachineArn).control.redrive(execution.executionArn);
    return { redriveDate: new Date(execution.redriveMs ?? this.ctx.clock.now()) };
  }

  private static toListItem(execution: SimExecution) {
    return {
      executionArn: execution.executionArn,
      stateMachineArn: execution.stateMachineArn,
      name: execution.name,
      status: execution.status,
      startDate: new Date(execution.startMs),
      stopDate: execution.stopMs === undefined ? undefined : new Date(execution.stopMs),
      redriveCount: execution.redriveCount,
      redriveDate: execution.redriveMs === undefined ? undefined : new Date(execution.redriveMs),
    };
  }

  private describeExecution(input: DescribeExecutionCommandInput): Output<DescribeExecutionCommandOutput> {
    const execution = this.execution(input.executionArn);
    return {
      ...StepFunctionsService.toListItem(execution),
      input: execution.input,
      inputDetails: { included: true },
      output: execution.output,
      ...(execution.output !== undefined ? { outputDetails: { included: true } } : {}),
      error: execution.error,
      cause: execution.cause,
      redriveStatus: REDRIVABLE.has(execution.status as ExecutionStatus) ? "REDRIVABLE" : "NOT_REDRIVABLE",
    };
  }

  private listExecutions(input: ListExecutionsCommandInput): Output<ListExecutionsCommandOutput> {
    if (input.stateMachineArn) this.stateMachine(input.stateMachineArn);
    // Newest first; of two started in the same millisecond, the one started last.
    const all = [...this.executions.values()]
      .map((execution, order) => ({ execution, order }))
      .filter(({ execution }) => !input.stateMachineArn || execution.stateMachineArn === input.stateMachineArn)
      .filter(({ execution }) => !input.statusFilter || execution.status === input.statusFilter)
      .sort((a, b) => b.execution.startMs - a.execution.startMs || b.order - a.order)
      .map(({ execution }) => execution);
    const offset = decodeToken(input.nextToken);
    if (offset === undefined) throw awsError("SFN", "InvalidToken", `Invalid Token: '${input.nextToken}'`);
    const max = input.maxResults && input.maxResults > 0 ? input.maxResults : 100;
    const end = offset + max;
    return {
      executions: all.slice(offset, end).map(StepFunctionsService.toListItem),
      nextToken: end < all.length ? encodeToken(end) : undefined,
    };
  }

  private getExecutionHistory(input: GetExecutionHistoryCommandInput): Output<GetExecutionHistoryCommandOutput> {
    const execution = this.execution(input.executionArn);
    const offset = decodeToken(input.nextToken);
    if (offset === undefined) throw awsError("SFN", "InvalidToken", `Invalid Token: '${input.nextToken}'`);
    const max = Math.min(input.maxResults && input.maxResults > 0 ? input.maxResults : DEFAULT_HISTORY_PAGE, MAX_HISTORY_PAGE);
    // The page only: newest first counts from the end (a watch reads 25 of a history of hundreds, every poll). The
    // events go out as they are recorded: the transport writes them to the wire at once, and no handler keeps them.
    const history = execution.history;
    const start = Math.min(offset, history.length);
    const end = Math.min(offset + max, history.length);
    const page = input.reverseOrder ? history.slice(history.length - end, history.length - start).reverse() : history.slice(start, end);
    const events = input.includeExecutionData === false ? page.map(withoutData) : page;
    return { events, nextToken: end < history.length ? encodeToken(end) : undefined };
  }

  private describeStateMachine(input: DescribeStateMachineCommandInput): Output<DescribeStateMachineCommandOutput> {
    const machine = this.stateMachine(input.stateMachineArn);
    return {
      stateMachineArn: machine.arn,
      name: machine.name,
      status: "ACTIVE",
      definition: machine.definition,
      roleArn: machine.roleArn,
      type: "STANDARD",
      creationDate: new Date(machine.createdMs),
    };
  }
}

/** `includeExecutionData: false`: the events without their input and output (API reference, GetExecutionHistory). */
function withoutData(event: HistoryEvent): HistoryEvent {
  const copy = structuredClone(event) as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(copy)) {
    if (!key.endsWith("EventDetails") || !value || typeof value !== "object") continue;
    const details = value as Record<string, unknown>;
    for (const field of ["input", "output", "parameters"]) delete details[field];
  }
  return copy as unknown as HistoryEvent;
}
