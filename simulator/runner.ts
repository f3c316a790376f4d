import { AsyncLocalStorage } from "node:async_hooks";
import "./polyfills.js";
import { StateMachine } from "aws-local-stepfunctions";
import type { EnvironmentSettings, Outcome } from "../functions/lib/contract.js";
import { DEFAULTS, LAMBDA_ERROR, STATE } from "../functions/lib/names.js";
import { type AslDefinition, withSettings } from "../stacks/stateMachineDefinition.js";
import { STAGE_FUNCTIONS } from "../stacks/stageFunctions.js";
import type { SimulatedRegion } from "./region.js";
import type { EventBridgeEvent } from "./services/messaging.js";
import { bakeRequestFromVariables } from "./services/codebuild.js";

/**
 * Runs the real synthesized deploy state machine on aws-local-stepfunctions, with the real stage functions
 * answering its Task states, against a simulated region. Time is the region's: Wait states and Retry
 * back-offs park on `region.scheduler.wakeAt`, the Bake task waits for the simulated CodeBuild build. The
 * runner never moves time itself: the caller drives it (`scheduler.drive` for virtual time, a wall-clock
 * driver for the local rehearsal).
 */

type Json = any;

export interface RunnerOptions {
  region: SimulatedRegion;
  settings: EnvironmentSettings;
  /** The synthesized definition (`loadDeployDefinition`); the runner injects `settings`. */
  definition: AslDefinition;
  /** Benchmark baseline: every Wait state waits this long instead of the check's `nextPollSeconds`. */
  fixedPollSeconds?: number;
}

export interface ProgressEvent {
  execution: string;
  state: string;
  type: "entered" | "exited" | "retried" | "caught" | "failed" | "succeeded";
  /** For tasks that return one (the checks), their human message. */
  message?: string;
  timeMs: number;
}

export interface ExecutionResult {
  status: "SUCCEEDED" | "FAILED";
  outcome: Outcome;
  error?: string;
  cause?: string;
  /** The state a redrive resumes at. */
  failedState?: string;
  output?: Json;
  stateTransitions: number;
  lambdaInvocations: number;
  startedAtMs: number;
  endedAtMs: number;
}

export interface Execution {
  arn: string;
  name: string;
  input: Json;
  /** The input each state was last entered with (a redrive replays the failed state's). */
  stateInputs: Record<string, Json>;
  /** Every state entered, in order, across the first run and redrives. */
  visited: string[];
  done: Promise<ExecutionResult>;
  result?: ExecutionResult;
}

export interface StartOptions {
  name?: string;
  /** "<Service:Operation>": the stage function making this call crashes right after it succeeded. */
  crashAfter?: string;
}

function stageFunctionOf(stateName: string) {
  const spec = Object.values(STAGE_FUNCTIONS).find((f) => (f.states as readonly string[]).includes(stateName));
  if (!spec) throw new Error(`no stage function runs Task state "${stateName}" (stacks/stageFunctions.ts)`);
  return spec;
}

/** Real Step Functions Task states default to no timeout; the local interpreter's default (60 s real) is not ours. */
const TASK_TIMEOUT_SECONDS = 24 * 3600;
const WAIT_RESOURCE = "arn:aws:lambda:us-east-1:123456789012:function:VirtualClockWait";
const CODEBUILD_SYNC = "arn:aws:states:::codebuild:startBuild.sync";

interface Invocation {
  execution: string;
  /** The stage function (file name) running. */
  stageFunction: string;
  crashed?: Error;
}

type StageHandler = (event: Json, context: Json) => Promise<Json>;
type StageModule = Record<string, StageHandler>;

export class DeployRunner {
  readonly executions: Execution[] = [];
  /** Every AWS operation each stage function called ("Service:Operation" by function name). */
  readonly callsByStageFunction = new Map<string, Set<string>>();
  readonly region: SimulatedRegion;
  readonly settings: EnvironmentSettings;
  private readonly definition: AslDefinition;
  private readonly waits: Map<string, WaitSpec>;
  private readonly fixedPollSeconds?: number;
  private readonly listeners = new Set<(event: ProgressEvent) => void>();
  private readonly invocation = new AsyncLocalStorage<Invocation>();
  private readonly stageModules = new Map<string, Promise<StageModule>>();
  private sequence = 0;

  constructor(options: RunnerOptions) {
    this.region = options.region;
    this.settings = options.settings;
    this.region.onApiCall((operation) => {
      const current = this.invocation.getStore();
      if (!current) return;
      let calls = this.callsByStageFunction.get(current.stageFunction);
      if (!calls) this.callsByStageFunction.set(current.stageFunction, (calls = new Set()));
      calls.add(operation);
    });
    const local = localDefinition(withSettings(options.definition, options.settings));
    this.definition = local.definition;
    this.waits = local.waits;
    this.fixedPollSeconds = options.fixedPollSeconds;
  }

  onProgress(listener: (event: ProgressEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Like the Pipeline's EventBridge rule: S3 Object Created under releases/*.tgz in `bucket` starts a deploy. */
  connectTrigger(bucket: string): void {
    this.region.eventBridge.onEvent(({ event }) => {
      if (matchesReleaseUpload(event, bucket)) this.start(event);
    });
  }

  start(input: Json, options: StartOptions = {}): Execution {
    this.sequence += 1;
    const name = options.name ?? `deploy-${String(this.sequence).padStart(4, "0")}`;
    const arn = `arn:aws:states:${this.region.regionName}:${this.region.account}:execution:${this.settings.app}-${this.settings.environment}-deploy:${name}`;
    if (options.crashAfter) this.armCrash(arn, options.crashAfter);
    const execution: Execution = { arn, name, input, stateInputs: {}, visited: [], done: undefined as never };
    const startDate = new Date(this.region.now());
    this.region.stepFunctions.recordExecution({
      executionArn: arn,
      stateMachineArn: arn.replace(":execution:", ":stateMachine:").replace(/:[^:]+$/, ""),
      name,
      status: "RUNNING",
      startMs: startDate.getTime(),
      input: JSON.stringify(input),
    });
    execution.done = this.run(execution, this.definition, input, startDate.toISOString());
    this.executions.push(execution);
    return execution;
  }

  /** Redrives a failed execution: same ARN and input, from the state that failed, with that state's input. */
  redrive(execution: Execution): Execution {
    const failedState = execution.result?.failedState;
    if (!execution.result || execution.result.status !== "FAILED" || !failedState)
      throw new Error(`execution ${execution.name} has not failed; only a failed execution can be redriven`);
    const resumed: AslDefinition = { ...this.definition, StartAt: failedState };
    const record = this.region.stepFunctions.executions.get(execution.arn);
    this.region.stepFunctions.updateExecution(execution.arn, { status: "RUNNING", redriveCount: (record?.redriveCount ?? 0) + 1 });
    const previous = execution.result;
    execution.result = undefined;
    execution.done = this.run(execution, resumed, execution.stateInputs[failedState], new Date(previous.startedAtMs).toISOString(), {
      redrive: true,
    });
    return execution;
  }

  private async run(
    execution: Execution,
    definition: AslDefinition,
    input: Json,
    startTime: string,
    options: { redrive?: boolean } = {},
  ): Promise<ExecutionResult> {
    const startedAtMs = this.region.now();
    let stateTransitions = 0;
    let lambdaInvocations = 0;
    let failedState: string | undefined;
    const handlers: Record<string, (input: Json) => Promise<Json>> = {};
    for (const [name, state] of Object.entries(definition.States)) {
      if (state.Type !== "Task") continue;
      if (state.Resource === WAIT_RESOURCE) handlers[name] = (i) => this.waitState(this.waits.get(name)!, i);
      else if (state.Resource === CODEBUILD_SYNC) handlers[name] = (i) => this.bake(i);
      else
        handlers[name] = (i) => {
          lambdaInvocations += 1;
          return this.invokeStage(execution, name, state, i);
        };
    }
    const machine = new StateMachine(definition as never, {
      validationOptions: options.redrive ? { noValidate: true } : { checkArn: false, checkPaths: true },
    });
    const run = machine.run(input, {
      overrides: {
        taskResourceLocalHandlers: handlers,
        // Back-offs happen in virtual time, inside invokeStage (see there).
        retryIntervalOverrides: Object.fromEntries(Object.keys(handlers).map((n) => [n, 0])),
      },
      context: { Execution: { Id: execution.arn, Name: execution.name, StartTime: startTime, Input: execution.input } },
    });
    const collecting = (async () => {
      for await (const event of run.eventLogs) {
        const timeMs = this.region.now();
        if (event.type === "StateEntered") {
          stateTransitions += 1;
          execution.visited.push(event.state.name);
          execution.stateInputs[event.state.name] = event.state.input;
          this.emit({ execution: execution.name, state: event.state.name, type: "entered", timeMs });
        } else if (event.type === "StateExited") {
          const message = progressMessage(definition.States[event.state.name], event.state.output);
          this.emit({ execution: execution.name, state: event.state.name, type: "exited", message, timeMs });
        } else if (event.type === "StateRetried" || event.type === "StateCaught" || event.type === "StateFailed") {
          if (event.type === "StateFailed") failedState = event.state.name;
          const type = event.type === "StateRetried" ? "retried" : event.type === "StateCaught" ? "caught" : "failed";
          this.emit({ execution: execution.name, state: event.state.name, type, timeMs });
        }
      }
    })();
    let result: ExecutionResult;
    try {
      const output = await run.result;
      await collecting;
      const outcome: Outcome = execution.visited.includes(STATE.noOp) ? "no-op" : "succeeded";
      result = { status: "SUCCEEDED", outcome, output, stateTransitions, lambdaInvocations, startedAtMs, endedAtMs: this.region.now() };
    } catch (error) {
      await collecting.catch(() => undefined);
      const cause = (error as { cause?: { name?: string; message?: string } }).cause;
      const rolledBack = execution.visited.includes(STATE.rollback) && execution.visited.at(-1) === STATE.rolledBack;
      result = {
        status: "FAILED",
        outcome: rolledBack ? "rolled-back" : "failed",
        error: cause?.name ?? (error as Error).name,
        cause: cause?.message ?? (error as Error).message,
        failedState: failedState ?? execution.visited.at(-1),
        stateTransitions,
        lambdaInvocations,
        startedAtMs,
        endedAtMs: this.region.now(),
      };
    }
    execution.result = result;
    this.region.stepFunctions.updateExecution(execution.arn, {
      status: result.status,
      stopMs: result.endedAtMs,
      ...(result.error ? { error: result.error, cause: result.cause } : {}),
    });
    this.emit({
      execution: execution.name,
      state: result.failedState ?? STATE.succeeded,
      type: result.status === "SUCCEEDED" ? "succeeded" : "failed",
      message: result.status === "SUCCEEDED" ? result.outcome : `${result.error}: ${result.cause}`,
      timeMs: result.endedAtMs,
    });
    return result;
  }

  /** A stage function invocation, as Lambda would run it: JSON in, JSON out, named errors. */
  private async invokeStage(execution: Execution, stateName: string, state: Json, input: Json): Promise<Json> {
    const fn = await this.stageFunction(stateName);
    const current: Invocation = { execution: execution.arn, stageFunction: stageFunctionOf(stateName).name };
    try {
      const event = JSON.parse(JSON.stringify(input));
      const output = await this.invocation.run(current, () => fn(event, lambdaContext(stateName, execution.name)));
      if (current.crashed) throw current.crashed;
      return output === undefined ? null : JSON.parse(JSON.stringify(output));
    } catch (thrown) {
      const error = current.crashed ?? (thrown as Error);
      // Step Functions waits before each retry: do it in virtual time, then let the interpreter retry at once.
      const delay = retryDelaySeconds(state, error.name, this.attempts(execution, stateName, error.name));
      if (delay !== undefined) await this.region.scheduler.sleep(delay);
      throw lambdaError(error);
    }
  }

  private readonly retryCounts = new Map<string, number>();
  /** Attempts so far of the retrier matching `errorName` on this state's current visit. */
  private attempts(execution: Execution, stateName: string, errorName: string): number {
    const visit = `${execution.arn}|${stateName}|${execution.visited.length}|${errorName}`;
    const count = this.retryCounts.get(visit) ?? 0;
    this.retryCounts.set(visit, count + 1);
    return count;
  }

  private stageFunction(stateName: string): Promise<StageHandler> {
    const spec = stageFunctionOf(stateName);
    let loading = this.stageModules.get(spec.name);
    if (!loading) {
      const url = new URL(`../functions/${spec.name}.js`, import.meta.url).href;
      loading = import(/* @vite-ignore */ url) as Promise<StageModule>;
      this.stageModules.set(spec.name, loading);
    }
    return loading.then((module) => {
      // The deployed handler (middy + logger + error classification), exactly as Lambda runs it.
      const fn = module.handler;
      if (typeof fn !== "function") throw new Error(`functions/${spec.name}.ts does not export handler()`);
      return fn;
    });
  }

  /** A Wait state, in the region's time. */
  private async waitState(state: WaitSpec, input: Json): Promise<Json> {
    const seconds = this.fixedPollSeconds ?? state.Seconds ?? readPath(input, state.SecondsPath);
    if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0)
      throw namedError("States.Runtime", `Wait state: ${state.SecondsPath} is ${JSON.stringify(seconds)}, not a number of seconds`);
    await this.region.scheduler.sleep(seconds);
    return input;
  }

  /** `codebuild:startBuild.sync`: starts the simulated bake and waits for it, as Step Functions does. */
  private async bake(parameters: Json): Promise<Json> {
    const variables = [
      ...(parameters.EnvironmentVariablesOverride ?? []).map((v: Json) => ({ name: v.Name, value: v.Value })),
      { name: "APP", value: this.settings.app },
      { name: "ENVIRONMENT", value: this.settings.environment },
    ];
    const build = this.region.codeBuild.startBuild(bakeRequestFromVariables(variables), parameters.ProjectName);
    const finished = await this.region.codeBuild.waitForBuild(build.id);
    if (finished.buildStatus !== "SUCCEEDED")
      throw namedError(
        "States.TaskFailed",
        JSON.stringify({ BuildStatus: finished.buildStatus, Id: finished.id, Message: finished.failureMessage }),
      );
    return this.region.codeBuild.syncOutput(finished);
  }

  /** The region calls back after `operation` succeeds; only the planned execution's invocation crashes. */
  private armCrash(arn: string, operation: string): void {
    this.region.faults.crashAfter(operation, () => {
      const current = this.invocation.getStore();
      if (current?.execution !== arn || current.crashed) {
        this.armCrash(arn, operation); // someone else's call: keep waiting for ours
        return;
      }
      current.crashed = namedError(
        LAMBDA_ERROR.crashed,
        `Runtime exited with error: signal: killed (simulated crash right after ${operation} succeeded)`,
      );
      throw current.crashed;
    });
  }

  private emit(event: ProgressEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

interface WaitSpec {
  Seconds?: number;
  SecondsPath?: string;
}

/** The definition the local interpreter runs: Wait states become tasks on the region's clock. */
function localDefinition(definition: AslDefinition): { definition: AslDefinition; waits: Map<string, WaitSpec> } {
  const copy = structuredClone(definition);
  const waits = new Map<string, WaitSpec>();
  for (const [name, state] of Object.entries(copy.States)) {
    if (state.Type === "Wait") {
      waits.set(name, { Seconds: state.Seconds, SecondsPath: state.SecondsPath });
      copy.States[name] = {
        Type: "Task",
        Resource: WAIT_RESOURCE,
        Comment: `Wait (${state.SecondsPath ?? `${state.Seconds} s`}) on the simulated region's clock`,
        TimeoutSeconds: TASK_TIMEOUT_SECONDS,
        ...(state.Next ? { Next: state.Next } : { End: true }),
      };
    } else if (state.Type === "Task" && state.TimeoutSeconds === undefined) {
      state.TimeoutSeconds = TASK_TIMEOUT_SECONDS;
    }
  }
  return { definition: copy, waits };
}

function readPath(input: Json, path: string | undefined): unknown {
  if (!path?.startsWith("$")) return undefined;
  let value: Json = input;
  for (const key of path.slice(2).split(".").filter(Boolean)) value = value?.[key];
  return value;
}

/** Seconds Step Functions would wait before retrying `errorName` (attempt n from 0), or undefined if it won't. */
function retryDelaySeconds(state: Json, errorName: string, attempt: number): number | undefined {
  for (const retrier of (state.Retry ?? []) as Json[]) {
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

/** The error Step Functions sees from a failed Lambda: its name, and Lambda's JSON error as the cause. */
function lambdaError(error: Error): Error {
  const name = error.name && error.name !== "Error" ? error.name : "Error";
  return namedError(name, JSON.stringify({ errorType: name, errorMessage: error.message, trace: [] }));
}

/** The Lambda context object the handler's middlewares (Powertools logger) read. */
function lambdaContext(stateName: string, executionName: string) {
  const functionName = `sim-${stateName.replace(/[^A-Za-z0-9]+/g, "-")}`;
  return {
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: "256",
    awsRequestId: `${executionName}-${Math.random().toString(16).slice(2, 10)}`,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "simulated",
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => 60_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

function namedError(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

function progressMessage(state: Json, output: Json): string | undefined {
  const resultPath: string | undefined = state?.ResultPath;
  const result = resultPath ? readPath(output, resultPath) : undefined;
  const message = (result as { message?: unknown } | undefined)?.message;
  return typeof message === "string" ? message : undefined;
}

/** The Pipeline stack's EventBridge rule, as a predicate. */
export function matchesReleaseUpload(event: EventBridgeEvent, bucket: string): boolean {
  const detail = event.detail as { bucket?: { name?: string }; object?: { key?: string } } | undefined;
  const key = detail?.object?.key ?? "";
  return (
    event.source === "aws.s3" &&
    event["detail-type"] === "Object Created" &&
    detail?.bucket?.name === bucket &&
    key.startsWith(DEFAULTS.artifactPrefix) &&
    key.endsWith(DEFAULTS.artifactSuffix)
  );
}
