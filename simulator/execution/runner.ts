import { AsyncLocalStorage } from "node:async_hooks";
import { BAKE_VARIABLES, type EnvironmentSettings, type Outcome } from "../../functions/lib/contract.js";
import { LAMBDA_ERROR, STATE } from "../../functions/lib/names.js";
import { type AslDefinition, withSettings } from "../../stacks/stateMachineDefinition.js";
import type { SimulatedRegion } from "../region/region.js";
import type { SimBakeRequest } from "../region/services/codebuild.js";
import { releaseUploadPattern, STAGE_FUNCTION_IDS, type StageFunctionId } from "../../stacks/pipeline/tables.js";
import { type Json, namedError, readPath, runAsl, type TaskHandler, taskTarget } from "./asl.js";
import { HistoryRecorder } from "./history.js";

/**
 * Runs the real synthesized deploy state machine against a simulated region, as Step Functions and Lambda
 * would: each Task runs the stage function its `Resource` names (the deployed middy handler), the Bake task
 * runs the simulated CodeBuild build. Time is the region's: Wait states and Retry back-offs park on
 * `region.scheduler`. The runner never moves time itself: the caller drives it (`scheduler.drive` for
 * virtual time, a wall-clock driver for the local rehearsal).
 */

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
  status: "SUCCEEDED" | "FAILED" | "ABORTED";
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
  /** Its Step Functions history (GetExecutionHistory). */
  history: HistoryRecorder;
  /** Stops the current run for good (StopExecution); set while a run is in progress. */
  halt?: (result: ExecutionResult) => void;
}

export interface StartOptions {
  name?: string;
  /** "<Service:Operation>": the stage function making this call crashes right after it succeeded. */
  crashAfter?: string;
}


interface Invocation {
  execution: string;
  /** The stage function running. */
  stageFunction: StageFunctionId;
  crashed?: Error;
}

type StageHandler = (event: Json, context: Json) => Promise<Json>;

export class DeployRunner {
  readonly executions: Execution[] = [];
  /** Every AWS operation each stage function called ("Service:Operation" by function name). */
  readonly callsByStageFunction = new Map<string, Set<string>>();
  readonly region: SimulatedRegion;
  readonly settings: EnvironmentSettings;
  private readonly definition: AslDefinition;
  private readonly fixedPollSeconds?: number;
  private readonly listeners = new Set<(event: ProgressEvent) => void>();
  private readonly invocation = new AsyncLocalStorage<Invocation>();
  private readonly handlers = new Map<StageFunctionId, Promise<StageHandler>>();
  private sequence = 0;
  /** What `stop` reports of the run in progress. */
  private readonly runCounts = new Map<Execution, { startedAtMs: number; lambdaInvocations: () => number }>();

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
    this.definition = withSettings(options.definition, options.settings);
    this.fixedPollSeconds = options.fixedPollSeconds;
  }

  onProgress(listener: (event: ProgressEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** What the Pipeline's EventBridge rule does: every event on the bus that matches it starts a deploy. */
  connectTrigger(bucket: string): void {
    this.region.eventBridge.putRule("default", releaseUploadPattern(bucket), (event) => this.start(event));
  }

  start(input: Json, options: StartOptions = {}): Execution {
    this.sequence += 1;
    const name = options.name ?? `deploy-${String(this.sequence).padStart(4, "0")}`;
    const arn = `${this.stateMachineArn.replace(":stateMachine:", ":execution:")}:${name}`;
    if (options.crashAfter) this.armCrash(arn, options.crashAfter);
    const history = new HistoryRecorder(this.region, arn, this.definition);
    const execution: Execution = { arn, name, input, stateInputs: {}, visited: [], done: undefined as never, history };
    const startDate = new Date(this.region.now());
    this.region.stepFunctions.recordExecution({
      executionArn: arn,
      stateMachineArn: this.stateMachineArn,
      name,
      status: "RUNNING",
      startMs: startDate.getTime(),
      input: JSON.stringify(input),
    });
    history.executionStarted(input, this.roleArn);
    execution.done = this.run(execution, input, startDate.toISOString());
    this.executions.push(execution);
    return execution;
  }

  /** Redrives a failed execution: same ARN and input, from the state that failed, with that state's input. */
  redrive(execution: Execution): Execution {
    const failedState = execution.result?.failedState;
    if (!execution.result || execution.result.status === "SUCCEEDED" || !failedState)
      throw new Error(`execution ${execution.name} has not failed; only a failed or aborted execution can be redriven`);
    const record = this.region.stepFunctions.executions.get(execution.arn);
    const redriveCount = (record?.redriveCount ?? 0) + 1;
    this.region.stepFunctions.updateExecution(execution.arn, { status: "RUNNING", redriveCount, redriveMs: this.region.now() });
    execution.history.executionRedriven(redriveCount);
    const previous = execution.result;
    execution.result = undefined;
    execution.done = this.run(execution, execution.stateInputs[failedState], new Date(previous.startedAtMs).toISOString(), failedState);
    return execution;
  }

  private run(execution: Execution, input: Json, startTime: string, startAt?: string): Promise<ExecutionResult> {
    const run = this.stoppable(execution);
    return run.until(this.runAsl(execution, input, startTime, run.alive, startAt));
  }

  private async runAsl(execution: Execution, input: Json, startTime: string, alive: () => boolean, startAt?: string): Promise<ExecutionResult> {
    const startedAtMs = this.region.now();
    let lambdaInvocations = 0;
    this.runCounts.set(execution, { startedAtMs, lambdaInvocations: () => lambdaInvocations });
    const run = await runAsl(this.definition, input, {
      startAt,
      context: { Execution: { Id: execution.arn, Name: execution.name, StartTime: startTime, Input: execution.input } },
      sleep: (seconds) => unlessStopped(alive, () => this.region.scheduler.sleep(seconds)),
      fixedWaitSeconds: this.fixedPollSeconds,
      taskHandler: (stateName, state): TaskHandler => {
        const target = taskTarget(state);
        if (target.kind === "codebuild-sync")
          return (parameters) =>
            unlessStopped(alive, () => execution.history.serviceTask(stateName, state.Resource, parameters, () => this.bake(parameters)));
        if (target.kind === "lambda")
          return (payload) =>
            unlessStopped(alive, () => {
              lambdaInvocations += 1;
              return execution.history.lambda(stateName, state.Resource, payload, () => this.invokeLambda(execution, target.fn, stateName, payload));
            });
        return async () => {
          throw namedError("States.Runtime", `the simulated region cannot run Task "${stateName}": resource ${target.resource}`);
        };
      },
      onEvent: (event) => {
        if (!alive()) return;
        execution.history.state(event);
        const timeMs = this.region.now();
        if (event.type === "entered") {
          execution.visited.push(event.state);
          execution.stateInputs[event.state] = event.input;
        }
        const message = event.type === "exited" ? progressMessage(this.definition.States[event.state], event.output) : undefined;
        this.emit({ execution: execution.name, state: event.state, type: event.type, ...(message ? { message } : {}), timeMs });
      },
    });
    if (!alive()) return NEVER;
    const endedAtMs = this.region.now();
    const common = { stateTransitions: run.stateTransitions, lambdaInvocations, startedAtMs, endedAtMs };
    let result: ExecutionResult;
    if (run.status === "SUCCEEDED") {
      const outcome: Outcome = execution.visited.includes(STATE.noOp) ? "no-op" : "succeeded";
      result = { status: "SUCCEEDED", outcome, output: run.output, ...common };
    } else {
      const rolledBack = execution.visited.includes(STATE.rollback) && execution.visited.at(-1) === STATE.rolledBack;
      result = {
        status: "FAILED",
        outcome: rolledBack ? "rolled-back" : "failed",
        error: run.error,
        cause: run.cause,
        failedState: run.failedState,
        ...common,
      };
    }
    execution.result = result;
    this.region.stepFunctions.updateExecution(execution.arn, {
      status: result.status,
      stopMs: result.endedAtMs,
      ...(result.error ? { error: result.error, cause: result.cause } : {}),
    });
    this.recordEnd(execution, result);
    this.emit({
      execution: execution.name,
      state: result.failedState ?? STATE.succeeded,
      type: result.status === "SUCCEEDED" ? "succeeded" : "failed",
      message: result.status === "SUCCEEDED" ? result.outcome : `${result.error}: ${result.cause}`,
      timeMs: result.endedAtMs,
    });
    return result;
  }

  // ---- Step Functions' API and history (StartExecution, RedriveExecution, StopExecution, GetExecutionHistory) ----

  /** This environment's deploy state machine, as the Pipeline stack names it (`<app>-<stage>-deploy`). */
  get stateMachineArn(): string {
    return `arn:aws:states:${this.region.regionName}:${this.region.account}:stateMachine:${this.settings.app}-${this.settings.environment}-deploy`;
  }

  private get roleArn(): string {
    return `arn:aws:iam::${this.region.account}:role/${this.settings.app}-${this.settings.environment}-deploy-role`;
  }

  /**
   * Serves the state machine through the region's Step Functions API: StartExecution starts a run here,
   * RedriveExecution and StopExecution act on one, DescribeStateMachine returns the definition this runner
   * runs (settings injected, as the deployed one has them). Returns the state machine's ARN.
   */
  connectApi(): string {
    const executionOf = (arn: string) => {
      const execution = this.executions.find((e) => e.arn === arn);
      if (!execution) throw new Error(`execution ${arn} is not one of this runner's`);
      return execution;
    };
    this.region.stepFunctions.registerStateMachine({
      arn: this.stateMachineArn,
      name: this.stateMachineArn.slice(this.stateMachineArn.lastIndexOf(":") + 1),
      definition: JSON.stringify(this.definition),
      roleArn: this.roleArn,
      control: {
        start: (input, name) => this.start(input as Json, { name }).arn,
        redrive: (arn) => void this.redrive(executionOf(arn)),
        stop: (arn, error, cause) => this.stop(executionOf(arn), error, cause),
      },
    });
    return this.stateMachineArn;
  }

  /**
   * StopExecution: the execution ends ABORTED at once, where it is (a redrive resumes that state). Its run is
   * frozen: no Task or Wait starts again and nothing more is recorded; a Lambda invocation in flight finishes,
   * as in Lambda, but its result is dropped.
   */
  stop(execution: Execution, error?: string, cause?: string): void {
    if (execution.result || !execution.halt) return;
    const counts = this.runCounts.get(execution);
    const failedState = execution.history.currentState ?? execution.visited.at(-1);
    const endedAtMs = this.region.now();
    const result: ExecutionResult = {
      status: "ABORTED",
      outcome: "failed",
      ...(error !== undefined ? { error } : {}),
      ...(cause !== undefined ? { cause } : {}),
      failedState,
      stateTransitions: execution.visited.length,
      lambdaInvocations: counts?.lambdaInvocations() ?? 0,
      startedAtMs: counts?.startedAtMs ?? endedAtMs,
      endedAtMs,
    };
    execution.history.executionAborted(error, cause);
    execution.result = result;
    this.region.stepFunctions.updateExecution(execution.arn, { status: "ABORTED", stopMs: endedAtMs, error, cause });
    execution.halt(result);
  }

  /** A run that `stop` can end: `alive` turns false, and the run's promise settles with the stop's result. */
  private stoppable(execution: Execution): { alive: () => boolean; until(running: Promise<ExecutionResult>): Promise<ExecutionResult> } {
    let stopped = false;
    let settle!: (result: ExecutionResult) => void;
    const halted = new Promise<ExecutionResult>((resolve) => (settle = resolve));
    execution.halt = (result) => {
      stopped = true;
      settle(result);
    };
    return { alive: () => !stopped, until: (running) => Promise.race([running, halted]) };
  }

  /** The execution's end in its history and its output (DescribeExecution), as Step Functions records them. */
  private recordEnd(execution: Execution, result: ExecutionResult): void {
    if (result.status === "SUCCEEDED") {
      execution.history.executionSucceeded(result.output);
      this.region.stepFunctions.updateExecution(execution.arn, { output: JSON.stringify(result.output ?? null) });
    } else {
      execution.history.executionFailed(result.error, result.cause);
    }
  }

  /** A Lambda invocation, as the Lambda service runs it: JSON in, JSON out, the deployed handler, named errors. */
  private async invokeLambda(execution: Execution, fn: StageFunctionId, stateName: string, payload: Json): Promise<Json> {
    const handler = await this.handlerOf(fn);
    const current: Invocation = { execution: execution.arn, stageFunction: fn };
    try {
      const event = JSON.parse(JSON.stringify(payload));
      const output = await this.invocation.run(current, () => handler(event, lambdaContext(fn, execution.name)));
      if (current.crashed) throw current.crashed;
      return output === undefined ? null : JSON.parse(JSON.stringify(output));
    } catch (thrown) {
      throw lambdaError(current.crashed ?? (thrown as Error));
    }
  }

  /**
   * Loads every stage function's code now, as a deployed Lambda has it ready: a first import during a
   * virtually timed run would take real time the scheduler cannot see.
   */
  async preload(): Promise<void> {
    await Promise.all(STAGE_FUNCTION_IDS.map((fn) => this.handlerOf(fn)));
  }

  /** The deployed handler of a stage function (middy + logger + error classification), exactly as Lambda runs it. */
  private handlerOf(fn: StageFunctionId): Promise<StageHandler> {
    let loading = this.handlers.get(fn);
    if (!loading) {
      const url = new URL(`../../functions/${fn}.js`, import.meta.url).href;
      loading = (import(/* @vite-ignore */ url) as Promise<Record<string, unknown>>).then((module) => {
        if (typeof module.handler !== "function") throw new Error(`functions/${fn}.ts does not export handler()`);
        return module.handler as StageHandler;
      });
      this.handlers.set(fn, loading);
    }
    return loading;
  }

  /** `codebuild:startBuild.sync`: starts the simulated bake and waits for it, as Step Functions does. */
  private async bake(parameters: Json): Promise<Json> {
    const overrides = new Map<string, string>(
      (parameters.EnvironmentVariablesOverride ?? []).map((v: { Name: string; Value: string }) => [v.Name, v.Value]),
    );
    const request = { ...Object.fromEntries(BAKE_VARIABLES.map((name) => [name, overrides.get(name) ?? ""])), APP: "", ENVIRONMENT: "" } as SimBakeRequest;
    // The project's own environment (the Pipeline stack sets APP and ENVIRONMENT on the CodeBuild project).
    request.APP = this.settings.app;
    request.ENVIRONMENT = this.settings.environment;
    const build = this.region.codeBuild.startBuild(request, parameters.ProjectName);
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

/** A stopped run waits here for good. */
const NEVER: Promise<never> = new Promise<never>(() => undefined);

/** Runs `work` unless the run was stopped, before or meanwhile: then it never settles (and so the run never moves on). */
function unlessStopped<T>(alive: () => boolean, work: () => Promise<T>): Promise<T> {
  if (!alive()) return NEVER;
  return work().then(
    (value) => (alive() ? value : NEVER),
    (error) => (alive() ? Promise.reject(error) : NEVER),
  );
}

/** The error Step Functions sees from a failed Lambda: its name, and Lambda's JSON error as the cause. */
function lambdaError(error: Error): Error {
  const name = error.name && error.name !== "Error" ? error.name : "Error";
  return namedError(name, JSON.stringify({ errorType: name, errorMessage: error.message, trace: [] }));
}

/** The Lambda context object the handler's middlewares (Powertools logger) read. */
function lambdaContext(fn: StageFunctionId, executionName: string) {
  const functionName = `sim-${fn}`;
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

function progressMessage(state: Json, output: Json): string | undefined {
  const resultPath: string | undefined = state?.ResultPath;
  const result = resultPath ? readPath(output, resultPath) : undefined;
  const message = (result as { message?: unknown } | undefined)?.message;
  return typeof message === "string" ? message : undefined;
}
