/**
 * Runs an Amazon States Language definition on aws-local-stepfunctions, as Step Functions would: each Task
 * runs the code its `Resource` names (the caller resolves it with `taskTarget`), Wait states and Retry
 * back-offs take time on the caller's clock (or none), and the run reports every state entered, the input
 * it got, and where it failed (what a redrive resumes). Shared by the simulator's deploy runner and the flow
 * tests, so both execute the definition the same way.
 */
import "./polyfills.js";
import { StateMachine } from "aws-local-stepfunctions";
import type { AslDefinition } from "../../stacks/stateMachineDefinition.js";
import { type StageFunctionId, stageFunctionOfResource } from "../../stacks/pipeline/tables.js";
import { STATE } from "../../functions/lib/names.js";

// The interpreter's state and event types are loose JSON.
export type Json = any;

/** What a Task state's `Resource` names. */
export type TaskTarget =
  | { kind: "lambda"; fn: StageFunctionId }
  /** `lambda:invoke.waitForTaskToken`: invokes the function with the payload, then waits for its task token's answer. */
  | { kind: "lambda-callback"; fn: StageFunctionId }
  /** `lambda:invoke` with `InvocationType: Event`: Lambda queues the invocation and answers 202 at once. */
  | { kind: "lambda-event"; fn: StageFunctionId }
  | { kind: "codebuild-sync" }
  | { kind: "other"; resource: string };

export const CODEBUILD_SYNC_RESOURCE = "arn:aws:states:::codebuild:startBuild.sync";
export const LAMBDA_CALLBACK_RESOURCE = "arn:aws:states:::lambda:invoke.waitForTaskToken";
export const LAMBDA_INVOKE_RESOURCE = "arn:aws:states:::lambda:invoke";

export function taskTarget(state: Json): TaskTarget {
  const resource = String(state?.Resource ?? "");
  if (resource === CODEBUILD_SYNC_RESOURCE) return { kind: "codebuild-sync" };
  if (resource === LAMBDA_CALLBACK_RESOURCE) {
    const fn = stageFunctionOfResource(String(state?.Parameters?.FunctionName ?? ""));
    if (fn) return { kind: "lambda-callback", fn };
  }
  if (resource === LAMBDA_INVOKE_RESOURCE && state?.Parameters?.InvocationType === "Event") {
    const fn = stageFunctionOfResource(String(state?.Parameters?.FunctionName ?? ""));
    if (fn) return { kind: "lambda-event", fn };
  }
  if (resource.startsWith("arn:aws:lambda:")) {
    const fn = stageFunctionOfResource(resource);
    if (fn) return { kind: "lambda", fn };
  }
  return { kind: "other", resource };
}

export type TaskHandler = (input: Json) => Promise<Json>;

export interface AslEvent {
  type: "entered" | "exited" | "retried" | "caught" | "failed";
  state: string;
  input?: Json;
  output?: Json;
}

export interface AslRunOptions {
  /** The code a Task state runs, chosen from the state's definition (its `Resource`). */
  taskHandler(stateName: string, state: Json): TaskHandler;
  /** `$$` context: the execution's identity. */
  context: { Execution: { Id: string; Name: string; StartTime: string; Input?: Json } };
  /** Start here instead of `StartAt` (a redrive resumes at the failed state). */
  startAt?: string;
  /**
   * Waits on the caller's clock: Wait states and Retry back-offs take this long. Without it they take no
   * time at all (flow tests).
   */
  sleep?: (seconds: number) => Promise<void>;
  /**
   * Seconds each state entered takes (a Standard workflow's state transition), on `sleep`'s clock. Paid before the
   * next Task or Wait acts (and before the run reports its end): a Choice or Pass state changes nothing outside, so
   * that is when its latency shows. Read at each payment.
   */
  transitionSeconds?: () => number;
  /** Replaces each Wait state's duration (benchmark baseline: fixed polling). */
  fixedWaitSeconds?: number;
  onEvent?: (event: AslEvent) => void;
  /**
   * StopExecution: the run ends where it is. The task in progress gives up at once (the interpreter would otherwise
   * keep its real-time task timer until the task settled, and a stopped task never does) and no state runs after it.
   */
  abortSignal?: AbortSignal;
}

/** What a task in progress fails with when the run is stopped (`abortSignal`); no Retry or Catch of ours names it. */
export const STOPPED_ERROR = "Simulator.ExecutionStopped";

export interface AslRun {
  status: "SUCCEEDED" | "FAILED";
  output?: Json;
  error?: string;
  cause?: string;
  /** Every state entered, in order. */
  visited: string[];
  /** The input each state was entered with (the last time). */
  inputs: Record<string, Json>;
  /** The state the execution failed in: where a redrive resumes. */
  failedState?: string;
  stateTransitions: number;
}

/**
 * A callback Task's request as the interpreter hands it to the task handler (its Parameters resolved): what to invoke,
 * and its timeouts, resolved from the state input as TimeoutSecondsPath / HeartbeatSecondsPath are. `$$.Task.Token`
 * in the Parameters reads TASK_TOKEN_PLACEHOLDER: the caller mints a token per task run (`withTaskToken`).
 */
export interface CallbackRequest {
  functionName: string;
  payload: Json;
  timeoutSeconds?: number;
  heartbeatSeconds?: number;
}

export const TASK_TOKEN_PLACEHOLDER = "(simulator: $$.Task.Token)";
const CALLBACK_TIMEOUT_KEY = "simulator:timeoutSeconds";
const CALLBACK_HEARTBEAT_KEY = "simulator:heartbeatSeconds";

export function callbackRequest(stateName: string, parameters: Json): CallbackRequest {
  const seconds = (key: string, field: string): number | undefined => {
    if (!(key in parameters)) return undefined;
    const value = parameters[key];
    // Step Functions: the path must select a positive integer, else the execution fails with States.Runtime.
    if (!Number.isInteger(value) || value < 1)
      throw namedError("States.Runtime", `Task state "${stateName}": ${field} is ${JSON.stringify(value)}, not a positive integer of seconds`);
    return value;
  };
  return {
    functionName: String(parameters.FunctionName ?? ""),
    payload: parameters.Payload,
    timeoutSeconds: seconds(CALLBACK_TIMEOUT_KEY, "TimeoutSeconds(Path)"),
    heartbeatSeconds: seconds(CALLBACK_HEARTBEAT_KEY, "HeartbeatSeconds(Path)"),
  };
}

/** `value` with every TASK_TOKEN_PLACEHOLDER replaced by `token`, at any depth. */
export function withTaskToken(value: Json, token: string): Json {
  if (value === TASK_TOKEN_PLACEHOLDER) return token;
  if (Array.isArray(value)) return value.map((item) => withTaskToken(item, token));
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, withTaskToken(item, token)]));
  return value;
}

/** `{"x.$": "$$.Task.Token"}` -> `{"x": TASK_TOKEN_PLACEHOLDER}`, at any depth of a Parameters object. */
function withTokenPlaceholder(parameters: Json): Json {
  if (typeof parameters !== "object" || parameters === null || Array.isArray(parameters)) return parameters;
  return Object.fromEntries(
    Object.entries(parameters).map(([key, value]) =>
      key.endsWith(".$") && value === "$$.Task.Token" ? [key.slice(0, -2), TASK_TOKEN_PLACEHOLDER] : [key, withTokenPlaceholder(value as Json)],
    ),
  );
}

/** Step Functions Task states have no timeout unless the definition sets one; the interpreter's default (60 s) is not AWS's. */
const NO_TASK_TIMEOUT_SECONDS = 24 * 3600; // real time; setTimeout cannot go past 24.8 days
const WAIT_TASK_RESOURCE = "arn:aws:states:::simulator:wait";
/**
 * Definitions the interpreter has validated, by `validationKey` (see runAsl): each simulated environment writes its
 * settings into its own copy of the definition, so the same definition comes back as a new object every scenario.
 */
const VALIDATED = new Set<string>();

/** Whether a JSON value has a key that Step Functions reads as a path or an intrinsic (`"name.$"`), at any depth. */
function hasPathKey(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasPathKey);
  if (value === null || typeof value !== "object") return false;
  return Object.entries(value).some(([key, item]) => key.endsWith(".$") || hasPathKey(item));
}

/**
 * What decides whether a definition is valid: the definition without the literal settings that withSettings
 * (stacks/stateMachineDefinition.ts) writes into the Start state, which differ from one simulated environment to the
 * next. A literal with no `.$` key is plain data to the validator, whatever its values (asl-validator checks the
 * paths and intrinsics of `.$` keys, and the states' structure); settings with such a key are kept in the key.
 */
export function validationKey(definition: AslDefinition): string {
  const start = definition.States[STATE.start];
  const settings: unknown = start?.Parameters?.settings;
  if (settings === undefined || hasPathKey(settings)) return JSON.stringify(definition);
  return JSON.stringify({ ...definition, States: { ...definition.States, [STATE.start]: { ...start, Parameters: { ...start.Parameters, settings: "(literal)" } } } });
}

export async function runAsl(definition: AslDefinition, input: Json, options: AslRunOptions): Promise<AslRun> {
  const { definition: local, waits } = localDefinition(definition, options.startAt, options.context?.Execution.StartTime);
  // Attempts of the current run of retries, per state and error; a success or a catch ends the run.
  const attempts = new Map<string, number>();
  const endRetries = (state: string) => {
    for (const key of attempts.keys()) if (key.startsWith(`${state}|`)) attempts.delete(key);
  };
  // States entered so far, counted as the interpreter enters them (its event log reaches `onEvent` a few states late),
  // and those whose transition latency has been paid.
  let entered = 0;
  let paid = 0;
  const payTransitions = async () => {
    const unpaid = entered - paid;
    paid = entered;
    const seconds = unpaid * (options.transitionSeconds?.() ?? 0);
    if (seconds > 0) await options.sleep?.(seconds);
  };
  const handlers: Record<string, (input: Json) => Promise<Json>> = {};
  for (const [name, state] of Object.entries(local.States)) {
    if (state.Type !== "Task") continue;
    if (state.Resource === WAIT_TASK_RESOURCE) {
      handlers[name] = async (stateInput) => {
        await payTransitions();
        const wait = waits.get(name)!;
        const seconds = options.fixedWaitSeconds ?? wait.Seconds ?? readPath(stateInput, wait.SecondsPath);
        if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0)
          throw namedError("States.Runtime", `Wait state "${name}": ${wait.SecondsPath} is ${JSON.stringify(seconds)}, not a number of seconds`);
        await options.sleep?.(seconds);
        return stateInput;
      };
      continue;
    }
    const run = options.taskHandler(name, definition.States[name]);
    handlers[name] = async (stateInput) => {
      await payTransitions();
      try {
        const output = await run(stateInput);
        endRetries(name);
        return output;
      } catch (error) {
        // Step Functions waits before each retry: on the caller's clock; the interpreter then retries at once.
        const errorName = (error as Error).name;
        const key = `${name}|${errorName}`;
        const attempt = attempts.get(key) ?? 0;
        attempts.set(key, attempt + 1);
        const delay = retryDelaySeconds(definition.States[name], errorName, attempt);
        if (delay !== undefined) await options.sleep?.(delay);
        throw error;
      }
    };
  }

  // A stopped run: every task in progress (and any that would start) fails at once with STOPPED_ERROR.
  const stopped = new Promise<never>((_, reject) => {
    const stop = () => reject(namedError(STOPPED_ERROR, "the execution was stopped"));
    if (options.abortSignal?.aborted) stop();
    else options.abortSignal?.addEventListener("abort", stop, { once: true });
  });
  stopped.catch(() => undefined);
  if (options.abortSignal)
    for (const [name, run] of Object.entries(handlers)) handlers[name] = (stateInput) => Promise.race([run(stateInput), stopped]);

  // A redrive starts mid-definition, where the states before it are (correctly) unreachable. A definition is
  // validated (asl-validator, which compiles its JSON schemas with ajv each time: a fifth of a scenario's CPU)
  // on its first run only, whatever environment's settings it carries; the local copy differs between runs only by
  // the start time written in for `$$.Execution.StartTime`.
  const key = options.startAt ? "" : validationKey(definition);
  const validate = !options.startAt && !VALIDATED.has(key);
  const machine = new StateMachine(local as never, {
    validationOptions: validate ? { checkArn: false, checkPaths: true } : { noValidate: true },
  });
  if (validate) VALIDATED.add(key);
  onStateEntered(machine, () => (entered += 1));
  const execution = machine.run(input, {
    overrides: {
      taskResourceLocalHandlers: handlers,
      retryIntervalOverrides: Object.fromEntries(Object.keys(handlers).map((name) => [name, 0])),
    },
    context: options.context,
  });

  options.abortSignal?.addEventListener("abort", () => execution.abort(), { once: true });
  const visited: string[] = [];
  const inputs: Record<string, Json> = {};
  let failedState: string | undefined;
  const collecting = (async () => {
    for await (const event of execution.eventLogs) {
      if (event.type === "StateEntered") {
        visited.push(event.state.name);
        inputs[event.state.name] = event.state.input;
        options.onEvent?.({ type: "entered", state: event.state.name, input: event.state.input });
      } else if (event.type === "StateExited") {
        options.onEvent?.({ type: "exited", state: event.state.name, output: event.state.output });
      } else if (event.type === "StateRetried" || event.type === "StateCaught" || event.type === "StateFailed") {
        if (event.type === "StateFailed") failedState = event.state.name;
        // The interpreter reports StateFailed for every failed attempt, retried or not: only a catch (or a success,
        // above) ends a run of retries; counting on after StateFailed is what lets the back-off grow.
        if (event.type === "StateCaught") endRetries(event.state.name);
        const type = event.type === "StateRetried" ? "retried" : event.type === "StateCaught" ? "caught" : "failed";
        options.onEvent?.({ type, state: event.state.name });
      }
    }
  })();
  try {
    const output = await execution.result;
    await collecting;
    await payTransitions();
    return { status: "SUCCEEDED", output, visited, inputs, stateTransitions: visited.length };
  } catch (error) {
    await collecting.catch(() => undefined);
    await payTransitions();
    const cause = (error as { cause?: { name?: string; message?: string } }).cause;
    return {
      status: "FAILED",
      error: cause?.name ?? (error as Error).name,
      cause: cause?.message ?? (error as Error).message,
      visited,
      inputs,
      failedState: failedState ?? visited.at(-1),
      stateTransitions: visited.length,
    };
  }
}

/**
 * Calls `listener` as the interpreter enters each state, synchronously (its event log is read asynchronously, a few
 * states behind). aws-local-stepfunctions (3.0.0) has no hook for it: the machine's `execute(input, options, cleanup)`
 * gets the run's event logger in `options`, and every state entered goes through its `dispatchStateEnteredEvent`.
 */
function onStateEntered(machine: StateMachine, listener: () => void): void {
  const internal = machine as unknown as { execute(input: Json, options: { eventLogger?: Json }, cleanup: Json): Promise<Json> };
  if (typeof internal.execute !== "function") throw new Error("aws-local-stepfunctions: StateMachine.execute not found; the transition hook needs updating");
  const execute = internal.execute.bind(machine);
  internal.execute = (input, runOptions, cleanup) => {
    const logger = runOptions.eventLogger;
    const dispatch = logger?.dispatchStateEnteredEvent;
    if (typeof dispatch !== "function") throw new Error("aws-local-stepfunctions: dispatchStateEnteredEvent not found; the transition hook needs updating");
    logger.dispatchStateEnteredEvent = (...args: unknown[]) => {
      listener();
      return dispatch.apply(logger, args);
    };
    return execute(input, runOptions, cleanup);
  };
}

/** The definition the interpreter runs: Wait states become tasks on the caller's clock, tasks never time out by default. */
function localDefinition(definition: AslDefinition, startAt?: string, startTime?: string): { definition: AslDefinition; waits: Map<string, WaitSpec> } {
  const copy: AslDefinition = structuredClone(definition);
  // aws-local-stepfunctions sets `$$.Execution.StartTime` to the wall clock, whatever context it is given: the
  // execution's start on the caller's clock (the simulated region's) is written into the parameters instead.
  if (startTime !== undefined) for (const state of Object.values(copy.States)) if (state.Parameters) state.Parameters = withStartTime(state.Parameters, startTime);
  if (startAt) {
    if (!copy.States[startAt]) throw new Error(`cannot start at "${startAt}": no such state`);
    copy.StartAt = startAt;
  }
  const waits = new Map<string, WaitSpec>();
  for (const [name, state] of Object.entries(copy.States)) {
    if (state.Type === "Choice") state.Choices = state.Choices.map(withNegatedTypeTests);
    if (state.Type === "Wait") {
      waits.set(name, { Seconds: state.Seconds, SecondsPath: state.SecondsPath });
      copy.States[name] = {
        Type: "Task",
        Resource: WAIT_TASK_RESOURCE,
        Comment: `Wait (${state.SecondsPath ?? `${state.Seconds} s`}) on the caller's clock`,
        TimeoutSeconds: NO_TASK_TIMEOUT_SECONDS,
        ...(state.Next ? { Next: state.Next } : { End: true }),
      };
    } else if (state.Type === "Task" && taskTarget(state).kind === "lambda-callback") {
      // The interpreter would time the task on the wall clock: its timeouts travel in the Parameters instead, resolved
      // from the state input, and the caller times the task on its own clock (the token's answer may never come).
      const timing: Record<string, unknown> = {};
      for (const [field, key] of [["TimeoutSeconds", CALLBACK_TIMEOUT_KEY], ["HeartbeatSeconds", CALLBACK_HEARTBEAT_KEY]] as const) {
        if (state[field] !== undefined) timing[key] = state[field];
        if (state[`${field}Path`] !== undefined) timing[`${key}.$`] = state[`${field}Path`];
        delete state[field];
        delete state[`${field}Path`];
      }
      state.Parameters = { ...withTokenPlaceholder(state.Parameters ?? {}), ...timing };
      state.TimeoutSeconds = NO_TASK_TIMEOUT_SECONDS;
    } else if (state.Type === "Task" && state.TimeoutSeconds === undefined) {
      state.TimeoutSeconds = NO_TASK_TIMEOUT_SECONDS;
    }
  }
  return { definition: copy, waits };
}

/** Choice rules that test a variable's kind: `false` asks for the opposite. */
const TYPE_TESTS = ["IsPresent", "IsNull", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp"] as const;

/**
 * `{"Variable": "$.x", "IsPresent": false}` -> `{"Not": {"Variable": "$.x", "IsPresent": true}}`, at any depth of a
 * Choice rule. The States Language makes these tests booleans, `false` matching when the variable is absent (not
 * null, ...): aws-cdk-lib's `Condition.isNotPresent` writes `"IsPresent": false`. aws-local-stepfunctions 3.0.0
 * never matches a `false` one (`return IsPresentTrue && varValue !== void 0`), so the simulator rewrites it.
 */
export function withNegatedTypeTests(rule: Json): Json {
  if (Array.isArray(rule.And)) return { ...rule, And: rule.And.map(withNegatedTypeTests) };
  if (Array.isArray(rule.Or)) return { ...rule, Or: rule.Or.map(withNegatedTypeTests) };
  if (rule.Not) return { ...rule, Not: withNegatedTypeTests(rule.Not) };
  const test = TYPE_TESTS.find((key) => rule[key] === false);
  if (!test) return rule;
  const { Next, ...condition } = rule;
  return { Not: { ...condition, [test]: true }, ...(Next !== undefined && { Next }) };
}

/** `{"x.$": "$$.Execution.StartTime"}` -> `{"x": startTime}`, at any depth of a Parameters object. */
function withStartTime(parameters: Json, startTime: string): Json {
  if (typeof parameters !== "object" || parameters === null || Array.isArray(parameters)) return parameters;
  return Object.fromEntries(
    Object.entries(parameters).map(([key, value]) =>
      key.endsWith(".$") && value === "$$.Execution.StartTime" ? [key.slice(0, -2), startTime] : [key, withStartTime(value as Json, startTime)],
    ),
  );
}

interface WaitSpec {
  Seconds?: number;
  SecondsPath?: string;
}

/** A simple `$.a.b` path read (what Wait states' SecondsPath and ResultPaths use here). */
export function readPath(input: Json, path: string | undefined): unknown {
  if (!path?.startsWith("$")) return undefined;
  let value: Json = input;
  for (const key of path.slice(2).split(".").filter(Boolean)) value = value?.[key];
  return value;
}

/** Seconds Step Functions would wait before retrying `errorName` (attempt n from 0), or undefined if it won't. */
export function retryDelaySeconds(state: Json, errorName: string, attempt: number): number | undefined {
  for (const retrier of (state?.Retry ?? []) as Json[]) {
    const matches = retrier.ErrorEquals.includes(errorName) || retrier.ErrorEquals.includes("States.ALL");
    if (!matches) continue;
    if (attempt >= (retrier.MaxAttempts ?? 3)) return undefined;
    const base = (retrier.IntervalSeconds ?? 1) * Math.pow(retrier.BackoffRate ?? 2, attempt);
    const capped = Math.min(base, retrier.MaxDelaySeconds ?? Number.POSITIVE_INFINITY);
    // FULL jitter waits a random time in [0, capped]: the simulation takes its mean, deterministically.
    return retrier.JitterStrategy === "FULL" ? capped / 2 : capped;
  }
  return undefined;
}

export function namedError(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}
