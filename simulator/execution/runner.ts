import { AsyncLocalStorage } from "node:async_hooks";
import { BAKE_VARIABLES, type EnvironmentSettings, type ExecutionStatusChange, type NotifyResult, type Outcome } from "../../functions/lib/contract.js";
import { LAMBDA_ERROR, STATE } from "../../functions/lib/names.js";
import { type AslDefinition, withSettings } from "../../stacks/stateMachineDefinition.js";
import { LostResponse } from "../region/errors.js";
import type { SimulatedRegion } from "../region/region.js";
import type { SimBakeRequest } from "../region/services/codebuild.js";
import { LAMBDA_INIT_LIMIT_SECONDS } from "../region/timing.js";
import { onRegionTime, Sandbox } from "../region/virtualTime.js";
import { executionEndedPattern, releaseUploadPattern, STAGE_FUNCTION_IDS, STAGE_FUNCTIONS, type StageFunctionId } from "../../stacks/pipeline/tables.js";
import { callbackRequest, type Json, namedError, readPath, runAsl, type TaskHandler, taskTarget, withTaskToken } from "./asl.js";
import { HistoryRecorder } from "./history.js";
import { LambdaEnvironments } from "./lambdaEnvironments.js";

/**
 * Runs the real synthesized deploy state machine against a simulated region, as Step Functions and Lambda
 * would: each Task runs the stage function its `Resource` names (the deployed middy handler) in a sandbox on
 * region time, with the function's configured timeout (`STAGE_FUNCTIONS`, as the stack sets it): past it the
 * invocation fails with `Sandbox.Timedout` and the sandbox is frozen. The Bake task runs the simulated
 * CodeBuild build. Time is the region's: Wait states, Retry back-offs, the SDK's own back-offs and API latency
 * park on `region.scheduler`. The runner never moves time itself: the caller drives it (`scheduler.drive` for
 * virtual time, a wall-clock driver for the local rehearsal).
 *
 * As Step Functions does, it keeps each execution's history in the region (GetExecutionHistory, history.ts) and
 * puts a "Step Functions Execution Status Change" event on the region's default bus at every status change; the
 * Pipeline's rule on them (`executionEndedPattern`) invokes the notify function asynchronously, as Lambda runs
 * an EventBridge target (two retries on error, one and two minutes apart). `connectApi` serves the state
 * machine through the region's Step Functions API (StartExecution, StopExecution, RedriveExecution, ...).
 */

export interface RunnerOptions {
  region: SimulatedRegion;
  settings: EnvironmentSettings;
  /** The synthesized definition (`loadDeployDefinition`); the runner injects `settings`. */
  definition: AslDefinition;
  /** Benchmark baseline: every Wait state waits this long instead of the check's `nextPollSeconds`. */
  fixedPollSeconds?: number;
  /**
   * Idempotency proof: every stage-function invocation runs the handler twice in a row with the same payload,
   * and the state machine gets the second answer (as after a crash right after the first run's last call).
   */
  invokeTwice?: boolean;
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
  /** Of those, the ones that found no warm execution environment of their function (timing `lambdaColdStartSeconds`). */
  lambdaColdStarts: number;
  /** The errors stage-function invocations ended with, by name (a crash: `LAMBDA_ERROR.crashed`), retried or not. */
  lambdaErrors: Record<string, number>;
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
  /** Redrives so far (Step Functions' redriveCount). */
  redriveCount: number;
  /** What the notify function published for each end of the execution (a redrive ends it again). */
  notifications: NotifyResult[];
  /** The notify function's runs for the last end, delivered by the region's EventBridge rule. */
  notified?: Promise<void>;
  /** Its Step Functions history (GetExecutionHistory). */
  history: HistoryRecorder;
  /** Stops the current run for good (StopExecution); set while a run is in progress. */
  halt?: (result: ExecutionResult, notified: Promise<void>) => void;
}

/** The nth call (1-based, default the first) of "<Service:Operation>" by the execution's stage functions. */
export type CallSpec = string | { operation: string; nth?: number };

export interface StartOptions {
  name?: string;
  /** The stage function making this call crashes right after it succeeded. */
  crashAfter?: CallSpec;
  /** This call takes effect in the region, but its answer never reaches the stage function, which times out. */
  loseResponseAfter?: CallSpec;
}


interface Invocation {
  execution: string;
  /** The stage function running. */
  stageFunction: StageFunctionId;
  crashed?: Error;
}

type StageHandler = (event: Json, context: Json) => Promise<Json>;

/**
 * The simulated Lambda invocation that code runs in, for every runner of the process: one AsyncLocalStorage, not
 * one per runner. Node 20 keeps every AsyncLocalStorage that was ever entered and copies each one's store into
 * every promise created afterwards, so one per runner made every promise of a test process slower with each
 * scenario it had run (a fifth of the scenario suite's CPU time went to node:async_hooks' _propagate).
 */
const INVOCATIONS = new AsyncLocalStorage<{ runner: DeployRunner; invocation: Invocation }>();

export class DeployRunner {
  readonly executions: Execution[] = [];
  private readonly executionsByArn = new Map<string, Execution>();
  /** Every AWS operation each stage function called ("Service:Operation" by function name). */
  readonly callsByStageFunction = new Map<string, Set<string>>();
  readonly region: SimulatedRegion;
  readonly settings: EnvironmentSettings;
  private readonly definition: AslDefinition;
  private readonly fixedPollSeconds?: number;
  private readonly invokeTwice: boolean;
  /** The deploy state machine's ARN (what its executions' ARNs and status-change events name). */
  readonly stateMachineArn: string;
  private readonly listeners = new Set<(event: ProgressEvent) => void>();
  private readonly handlers = new Map<StageFunctionId, Promise<StageHandler>>();
  /** Lambda's execution environments per function: what makes an invocation cold or warm (timing `lambda*Seconds`). */
  readonly lambdaEnvironments: LambdaEnvironments;
  private sequence = 0;
  /** What `stop` reports of the run in progress. */
  private readonly runCounts = new Map<Execution, { startedAtMs: number; lambdaInvocations: () => number; lambdaColdStarts: () => number; lambdaErrors: Record<string, number> }>();

  constructor(options: RunnerOptions) {
    this.region = options.region;
    this.settings = options.settings;
    this.lambdaEnvironments = new LambdaEnvironments(() => this.region.timing.lambdaIdleSeconds);
    this.region.onApiCall((operation) => {
      const current = this.currentInvocation();
      if (!current) return;
      let calls = this.callsByStageFunction.get(current.stageFunction);
      if (!calls) this.callsByStageFunction.set(current.stageFunction, (calls = new Set()));
      calls.add(operation);
    });
    this.definition = withSettings(options.definition, options.settings);
    this.fixedPollSeconds = options.fixedPollSeconds;
    this.invokeTwice = options.invokeTwice ?? false;
    this.stateMachineArn = `arn:aws:states:${this.region.regionName}:${this.region.account}:stateMachine:${this.settings.app}-${this.settings.environment}-deploy`;
    // The Pipeline's outcome rule: every terminal status of an execution invokes the notify function.
    this.region.eventBridge.putRule("default", executionEndedPattern(this.stateMachineArn), (event) => this.deliverToNotifier(event as unknown as ExecutionStatusChange));
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
    if (options.crashAfter) this.afterCall(arn, options.crashAfter, (operation, current) => {
      current.crashed = namedError(
        LAMBDA_ERROR.crashed,
        `Runtime exited with error: signal: killed (simulated crash right after ${operation} succeeded)`,
      );
      return current.crashed;
    });
    if (options.loseResponseAfter) this.afterCall(arn, options.loseResponseAfter, (operation) => new LostResponse(operation));
    const history = new HistoryRecorder(this.region, arn, this.definition);
    const execution: Execution = { arn, name, input, stateInputs: {}, visited: [], done: undefined as never, redriveCount: 0, notifications: [], history };
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
    this.executionsByArn.set(arn, execution);
    this.statusChanged(execution);
    execution.done = this.run(execution, input, startDate.toISOString());
    this.executions.push(execution);
    return execution;
  }

  /**
   * Redrives a failed or stopped execution: same ARN and input, from the state that failed (or was running when
   * it stopped), with that state's input.
   */
  redrive(execution: Execution): Execution {
    const failedState = execution.result?.failedState;
    if (!execution.result || execution.result.status === "SUCCEEDED" || !failedState)
      throw new Error(`execution ${execution.name} has not failed; only a failed or aborted execution can be redriven`);
    execution.redriveCount += 1;
    this.region.stepFunctions.updateExecution(execution.arn, {
      status: "RUNNING",
      redriveCount: execution.redriveCount,
      redriveMs: this.region.now(),
      error: undefined,
      cause: undefined,
    });
    execution.history.executionRedriven(execution.redriveCount);
    this.statusChanged(execution);
    const previous = execution.result;
    execution.result = undefined;
    execution.done = this.run(execution, execution.stateInputs[failedState], new Date(previous.startedAtMs).toISOString(), failedState);
    return execution;
  }

  private run(execution: Execution, input: Json, startTime: string, startAt?: string): Promise<ExecutionResult> {
    const run = this.stoppable(execution);
    return run.until(this.runAsl(execution, input, startTime, run.alive, run.signal, startAt));
  }

  private async runAsl(execution: Execution, input: Json, startTime: string, alive: () => boolean, abortSignal: AbortSignal, startAt?: string): Promise<ExecutionResult> {
    const startedAtMs = this.region.now();
    let lambdaInvocations = 0;
    let lambdaColdStarts = 0;
    const lambdaErrors: Record<string, number> = {};
    this.runCounts.set(execution, { startedAtMs, lambdaInvocations: () => lambdaInvocations, lambdaColdStarts: () => lambdaColdStarts, lambdaErrors });
    const run = await runAsl(this.definition, input, {
      startAt,
      abortSignal,
      context: { Execution: { Id: execution.arn, Name: execution.name, StartTime: startTime, Input: execution.input } },
      sleep: (seconds) => unlessStopped(alive, () => this.region.scheduler.sleep(seconds)),
      transitionSeconds: () => this.region.timing.stateTransitionSeconds,
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
              return execution.history.lambda(stateName, state.Resource, payload, () =>
                this.invokeLambda(execution, target.fn, payload, () => (lambdaColdStarts += 1)).catch((error: Error) => {
                  lambdaErrors[error.name] = (lambdaErrors[error.name] ?? 0) + 1;
                  throw error;
                }),
              );
            });
        if (target.kind === "lambda-event")
          return (parameters) =>
            unlessStopped(alive, () => {
              lambdaInvocations += 1;
              return execution.history.serviceTask(stateName, state.Resource, parameters, async () => {
                // Lambda queues an Event invocation and answers 202 once the request is in (one API call's
                // latency); the function runs beside the execution, which goes on. Its errors reach no one.
                await this.region.scheduler.sleep(this.region.apiLatencyMs / 1000);
                void this.invokeHandler(execution.arn, target.fn, parameters.Payload ?? {}, () => (lambdaColdStarts += 1)).catch(() => undefined);
                return { StatusCode: 202, Payload: "" };
              });
            });
        if (target.kind === "lambda-callback")
          return (parameters) =>
            unlessStopped(alive, () => {
              lambdaInvocations += 1;
              const request = callbackRequest(stateName, parameters);
              return execution.history.serviceTask(stateName, state.Resource, parameters, () =>
                this.callbackTask(
                  execution,
                  stateName,
                  target.fn,
                  request,
                  (error) => {
                    lambdaErrors[error.name] = (lambdaErrors[error.name] ?? 0) + 1;
                  },
                  () => (lambdaColdStarts += 1),
                ),
              );
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
    const common = { stateTransitions: run.stateTransitions, lambdaInvocations, lambdaColdStarts, lambdaErrors, startedAtMs, endedAtMs };
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
      ...(result.output !== undefined ? { output: JSON.stringify(result.output) } : {}),
      ...(result.error ? { error: result.error, cause: result.cause } : {}),
    });
    if (result.status === "SUCCEEDED") execution.history.executionSucceeded(result.output);
    else execution.history.executionFailed(result.error, result.cause);
    // Step Functions' status-change event: the outcome rule delivers it to the notify function.
    execution.notified = undefined;
    this.statusChanged(execution);
    await execution.notified;
    this.emit({
      execution: execution.name,
      state: result.failedState ?? STATE.succeeded,
      type: result.status === "SUCCEEDED" ? "succeeded" : "failed",
      message: result.status === "SUCCEEDED" ? result.outcome : `${result.error}: ${result.cause}`,
      timeMs: result.endedAtMs,
    });
    return result;
  }

  /**
   * `lambda:invoke.waitForTaskToken`: a token is minted for this run of the task and put where the Parameters read
   * `$$.Task.Token`; the function is invoked with that payload (its answer is ignored; if it fails, so does the task)
   * and the task then waits for the token's answer: SendTaskSuccess's output is its result, SendTaskFailure's error
   * its error, and its TimeoutSeconds / HeartbeatSeconds run on region time (States.Timeout, States.HeartbeatTimeout).
   * The token is over when the task ends, however it ends.
   */
  private async callbackTask(
    execution: Execution,
    stateName: string,
    fn: StageFunctionId,
    request: ReturnType<typeof callbackRequest>,
    onInvocationError: (error: Error) => void,
    onColdStart: () => void,
  ): Promise<Json> {
    const task = this.region.stepFunctions.openCallbackTask(execution.arn, stateName, request);
    const payload = withTaskToken(request.payload, task.token);
    void this.invokeLambda(execution, fn, payload, onColdStart).catch((error: Error) => {
      onInvocationError(error);
      task.close({ error: error.name, cause: error.message });
    });
    const outcome = await task.outcome;
    if ("error" in outcome) throw namedError(outcome.error, outcome.cause);
    return outcome.output;
  }

  /** A Task's Lambda invocation (twice in a row with `invokeTwice`: the state machine gets the second answer). */
  private async invokeLambda(execution: Execution, fn: StageFunctionId, payload: Json, onColdStart: () => void): Promise<Json> {
    if (this.invokeTwice) await this.invokeHandler(execution.arn, fn, payload, onColdStart);
    return this.invokeHandler(execution.arn, fn, payload, onColdStart);
  }

  /**
   * A Lambda invocation, as the Lambda service runs it: JSON in, JSON out, the deployed handler in its own
   * sandbox on region time, named errors; past the function's timeout, `Sandbox.Timedout`. It takes the invocation
   * latency (timing `lambdaInvokeSeconds`), and in a new execution environment the Init phase
   * (`lambdaColdStartSeconds`), before the handler runs and its timeout starts.
   */
  private async invokeHandler(executionArn: string, fn: StageFunctionId, payload: Json, onColdStart?: () => void): Promise<Json> {
    const handler = await this.handlerOf(fn);
    const current: Invocation = { execution: executionArn, stageFunction: fn };
    const event = JSON.parse(JSON.stringify(payload));
    const requestId = `${this.region.ids.count("lambda-request").toString(16).padStart(8, "0")}-0000-4000-8000-000000000000`;
    const { lambdaInvokeSeconds, lambdaColdStartSeconds } = this.region.timing;
    const { environment, cold } = this.lambdaEnvironments.acquire(fn, this.region.now());
    if (cold) onColdStart?.();
    let reset = false;
    try {
      if (lambdaInvokeSeconds > 0) await this.region.scheduler.sleep(lambdaInvokeSeconds);
      const output = await invokeWithTimeout(this.region, {
        timeoutSeconds: STAGE_FUNCTIONS[fn].timeoutSeconds,
        requestId,
        initSeconds: cold ? lambdaColdStartSeconds : 0,
        run: (context) => INVOCATIONS.run({ runner: this, invocation: current }, () => handler(event, { ...lambdaContext(fn, requestId), ...context })),
      });
      if (current.crashed) throw current.crashed;
      return output === undefined ? null : JSON.parse(JSON.stringify(output));
    } catch (thrown) {
      // Lambda resets an environment whose invocation crashed or timed out: the next one starts cold.
      reset = current.crashed !== undefined || (thrown as Error).name === LAMBDA_ERROR.timedOut;
      throw lambdaError(current.crashed ?? (thrown as Error));
    } finally {
      this.lambdaEnvironments.release(fn, environment, this.region.now(), reset);
    }
  }

  /** Puts Step Functions' status-change event for the execution's current status on the default bus. */
  private statusChanged(execution: Execution): void {
    const record = this.region.stepFunctions.executions.get(execution.arn);
    if (!record) return;
    const time = this.region.now();
    const event: ExecutionStatusChange = {
      version: "0",
      id: `${this.region.ids.count("status-change").toString(16).padStart(8, "0")}-0000-4000-8000-000000000000`,
      "detail-type": "Step Functions Execution Status Change",
      source: "aws.states",
      account: this.region.account,
      time: new Date(time).toISOString().replace(/\.\d{3}Z$/, "Z"),
      region: this.region.regionName,
      resources: [execution.arn],
      detail: {
        executionArn: execution.arn,
        stateMachineArn: this.stateMachineArn,
        name: execution.name,
        status: record.status as ExecutionStatusChange["detail"]["status"],
        startDate: record.startMs,
        stopDate: record.stopMs ?? null,
        input: record.input,
        inputDetails: { included: true },
        output: record.output ?? null,
        outputDetails: record.output === undefined ? null : { included: true },
        error: record.error ?? null,
        cause: record.cause ?? null,
      },
    };
    this.region.eventBridge.emit("default", event as never);
  }

  /**
   * The outcome rule's target: the notify function, invoked asynchronously as Lambda runs an EventBridge target:
   * on an error it runs again twice, one and then two minutes later (AWS Lambda Developer Guide, "Asynchronous
   * invocation"). Whatever it does, the execution's status stays as it is.
   */
  private deliverToNotifier(event: ExecutionStatusChange): void {
    const execution = this.executionsByArn.get(event.detail.executionArn);
    if (!execution) return;
    const attempt = async () => {
      for (const delaySeconds of NOTIFY_RETRY_DELAYS_SECONDS) {
        if (delaySeconds > 0) await this.region.scheduler.sleep(delaySeconds);
        try {
          const result = (await this.invokeHandler(execution.arn, "notify", event)) as NotifyResult;
          execution.notifications.push(result);
          this.emit({ execution: execution.name, state: NOTIFY_PROGRESS_STATE, type: "exited", message: result.message, timeMs: this.region.now() });
          return;
        } catch (error) {
          this.emit({ execution: execution.name, state: NOTIFY_PROGRESS_STATE, type: "retried", message: (error as Error).message, timeMs: this.region.now() });
        }
      }
    };
    const previous = execution.notified ?? Promise.resolve();
    execution.notified = previous.then(attempt);
  }

  // ---- Step Functions' API (StartExecution, RedriveExecution, StopExecution, DescribeStateMachine) ----

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
      const execution = this.executionsByArn.get(arn);
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
   * StopExecution: the execution ends ABORTED at once, where it is (a redrive resumes that state), and its
   * status change goes on the bus like any other (the outcome rule notifies "aborted"). Its run is frozen: no
   * Task or Wait starts again and nothing more is recorded; a Lambda invocation in flight finishes, as in
   * Lambda, but its result is dropped.
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
      lambdaColdStarts: counts?.lambdaColdStarts() ?? 0,
      lambdaErrors: { ...counts?.lambdaErrors },
      startedAtMs: counts?.startedAtMs ?? endedAtMs,
      endedAtMs,
    };
    execution.history.executionAborted(error, cause);
    this.region.stepFunctions.closeTasksOf(execution.arn);
    execution.result = result;
    this.region.stepFunctions.updateExecution(execution.arn, { status: "ABORTED", stopMs: endedAtMs, error, cause });
    execution.notified = undefined;
    this.statusChanged(execution);
    const notified = execution.notified ?? Promise.resolve();
    execution.halt(result, notified);
    this.emit({ execution: execution.name, state: failedState ?? STATE.succeeded, type: "failed", message: `${error ?? "Aborted"}: ${cause ?? ""}`, timeMs: endedAtMs });
  }

  /** A run that `stop` can end: `alive` turns false, and the run's promise settles with the stop's result once notified. */
  private stoppable(execution: Execution): { alive: () => boolean; signal: AbortSignal; until(running: Promise<ExecutionResult>): Promise<ExecutionResult> } {
    let stopped = false;
    const controller = new AbortController();
    let settle!: (result: Promise<ExecutionResult>) => void;
    const halted = new Promise<ExecutionResult>((resolve) => (settle = resolve));
    execution.halt = (result, notified) => {
      stopped = true;
      controller.abort();
      settle(notified.then(() => result));
    };
    return { alive: () => !stopped, signal: controller.signal, until: (running) => Promise.race([running, halted]) };
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

  /**
   * The region calls back after each successful call of the operation; at the planned execution's nth one, the
   * hook throws what `failure` returns, once: a crash (the caller's `send` throws it, the function ends) or a
   * `LostResponse` (the transport never answers that request).
   */
  private afterCall(arn: string, spec: CallSpec, failure: (operation: string, current: Invocation) => Error): void {
    const { operation, nth = 1 } = typeof spec === "string" ? { operation: spec } : spec;
    let seen = 0;
    const hook = () => {
      const current = this.currentInvocation();
      if (current?.execution !== arn || current.crashed || ++seen < nth) {
        this.region.faults.crashAfter(operation, hook); // someone else's call, or not the nth yet: keep waiting
        return;
      }
      throw failure(operation, current);
    };
    this.region.faults.crashAfter(operation, hook);
  }

  /** The invocation of this runner that the calling code runs in, if any. */
  private currentInvocation(): Invocation | undefined {
    const current = INVOCATIONS.getStore();
    return current?.runner === this ? current.invocation : undefined;
  }

  private emit(event: ProgressEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

/** Lambda's asynchronous invocation: the first run, then two retries one and two minutes apart. */
const NOTIFY_RETRY_DELAYS_SECONDS = [0, 60, 120] as const;
/** How the notify function's runs appear in progress events (it is no state of the definition). */
export const NOTIFY_PROGRESS_STATE = "(outcome notification)";

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
  if (error.name === LAMBDA_ERROR.timedOut) return error;
  const name = error.name && error.name !== "Error" ? error.name : "Error";
  return namedError(name, JSON.stringify({ errorType: name, errorMessage: error.message, trace: [] }));
}

export interface TimedInvocation<T> {
  timeoutSeconds: number;
  requestId: string;
  /**
   * The Init phase of a cold start (default 0). Up to Lambda's Init limit (`LAMBDA_INIT_LIMIT_SECONDS`) it runs before
   * the invocation and its timeout; beyond it, Init is cut off at the limit and retried inside the invocation, on the
   * function's timeout.
   */
  initSeconds?: number;
  /** Runs the handler with the context parts that depend on time (the deadline). */
  run(context: { getRemainingTimeInMillis(): number }): Promise<T>;
}

/**
 * Runs one invocation in a fresh sandbox on region time, bounded by the function's timeout. The sandbox is
 * frozen when the invocation ends, however it ends. Past the timeout it fails as Lambda reports it to Step
 * Functions: error `Sandbox.Timedout`, cause `{"errorType":"Sandbox.Timedout","errorMessage":"RequestId: <id>
 * Error: Task timed out after 60.00 seconds"}` (the Lambda runtime's timeout payload; Step Functions puts the
 * function's error payload in the cause).
 */
export async function invokeWithTimeout<T>(region: SimulatedRegion, invocation: TimedInvocation<T>): Promise<T> {
  const initSeconds = invocation.initSeconds ?? 0;
  const initBeforeSeconds = Math.min(initSeconds, LAMBDA_INIT_LIMIT_SECONDS);
  if (initBeforeSeconds > 0) await region.scheduler.sleep(initBeforeSeconds);
  const initRetrySeconds = initSeconds > LAMBDA_INIT_LIMIT_SECONDS ? initSeconds : 0;
  let ended = false;
  const sandbox = new Sandbox();
  const deadlineMs = region.now() + invocation.timeoutSeconds * 1000;
  let deadline: { cancel(): void } | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    // A wake-up, not a plain event: a driven clock stops at the deadline instead of running past it.
    deadline = region.scheduler.wakeUp(deadlineMs, () =>
      reject(
        namedError(
          LAMBDA_ERROR.timedOut,
          JSON.stringify({
            errorType: LAMBDA_ERROR.timedOut,
            errorMessage: `RequestId: ${invocation.requestId} Error: Task timed out after ${invocation.timeoutSeconds.toFixed(2)} seconds`,
          }),
        ),
      ),
    "lambda timeout");
  });
  const context = { getRemainingTimeInMillis: () => Math.max(0, deadlineMs - region.now()) };
  try {
    const run = async () => {
      if (initRetrySeconds > 0) {
        await region.scheduler.sleep(initRetrySeconds);
        if (ended) return NEVER;
      }
      return invocation.run(context);
    };
    return await Promise.race([onRegionTime({ ...region.time, sandbox }, run), timedOut]);
  } finally {
    ended = true;
    deadline?.cancel();
    sandbox.freeze();
  }
}

/** The Lambda context object the handler's middlewares (Powertools logger, middy's early timeout) read. */
function lambdaContext(fn: StageFunctionId, requestId: string) {
  const functionName = `sim-${fn}`;
  return {
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: "256",
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "simulated",
    callbackWaitsForEmptyEventLoop: true,
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
