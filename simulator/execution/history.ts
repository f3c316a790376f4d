/**
 * An execution's history as Step Functions records it (GetExecutionHistory), written while the simulator runs
 * the execution: `ExecutionStarted`, `<Type>StateEntered` / `<Type>StateExited` with the state's input and
 * output as JSON strings, `LambdaFunctionScheduled` / `Started` / `Succeeded` / `Failed` for each invocation
 * of a Task whose `Resource` is a Lambda ARN (a retry is another `Scheduled`), `TaskScheduled` ... for service
 * integrations (the CodeBuild `.sync` bake), then `ExecutionSucceeded` / `ExecutionFailed` /
 * `ExecutionAborted`, and `ExecutionRedriven` when a redrive resumes it.
 *
 * The order follows histories recorded against AWS (LocalStack's snapshot tests,
 * tests/aws/services/stepfunctions/v2/error_handling/test_task_lambda.snapshot.json): a caught error is
 * `LambdaFunctionFailed` then `TaskStateExited` (output: the error at the catcher's ResultPath) then the next
 * state; an uncaught one is `LambdaFunctionFailed` then `ExecutionFailed`, with no exit; the first state's
 * `previousEventId` is 0.
 */
import type { HistoryEvent } from "@aws-sdk/client-sfn";
import type { AslDefinition } from "../../stacks/stateMachineDefinition.js";
import type { SimulatedRegion } from "../region/region.js";
import type { NewHistoryEvent } from "../region/services/stepfunctions.js";
import type { AslEvent, Json } from "./asl.js";

const notTruncated = { truncated: false } as const;

export class HistoryRecorder {
  /** The state entered and not yet exited. */
  private current?: string;
  /** Task-level events that arrived before their state's `Entered` event (the interpreter reports states asynchronously). */
  private pending: { state: string; event: NewHistoryEvent }[] = [];
  private stopped = false;

  constructor(
    private readonly region: SimulatedRegion,
    private readonly executionArn: string,
    private readonly definition: AslDefinition,
  ) {}

  private append(event: NewHistoryEvent): void {
    if (this.stopped) return;
    this.region.stepFunctions.appendHistory(this.executionArn, event);
  }

  private stateType(state: string): string {
    return String(this.definition.States[state]?.Type ?? "Task");
  }

  executionStarted(input: Json, roleArn: string): void {
    this.append({
      type: "ExecutionStarted",
      previousEventId: 0,
      executionStartedEventDetails: { input: JSON.stringify(input), inputDetails: notTruncated, roleArn },
    });
  }

  executionRedriven(redriveCount: number): void {
    this.stopped = false;
    this.current = undefined;
    this.pending = [];
    this.append({ type: "ExecutionRedriven", executionRedrivenEventDetails: { redriveCount } });
  }

  /** The interpreter's state events; retries and catches show as task-level events, as in Step Functions. */
  state(event: AslEvent): void {
    if (event.type === "entered") {
      const first = this.region.stepFunctions.executions.get(this.executionArn)?.history.at(-1)?.type === "ExecutionStarted";
      this.append({
        type: `${this.stateType(event.state)}StateEntered` as HistoryEvent["type"],
        ...(first ? { previousEventId: 0 } : {}),
        stateEnteredEventDetails: { name: event.state, input: JSON.stringify(event.input ?? null), inputDetails: notTruncated },
      });
      this.current = event.state;
      const ready = this.pending.filter((p) => p.state === event.state);
      this.pending = this.pending.filter((p) => p.state !== event.state);
      for (const { event: taskEvent } of ready) this.append(taskEvent);
    } else if (event.type === "exited") {
      if (this.stateType(event.state) !== "Fail")
        this.append({
          type: `${this.stateType(event.state)}StateExited` as HistoryEvent["type"],
          stateExitedEventDetails: { name: event.state, output: JSON.stringify(event.output ?? null), outputDetails: notTruncated },
        });
      if (this.current === event.state) this.current = undefined;
    }
  }

  private taskEvent(state: string, event: NewHistoryEvent): void {
    const stamped = { ...event, timestampMs: this.region.now() };
    if (this.current === state) this.append(stamped);
    else this.pending.push({ state, event: stamped });
  }

  /** One invocation of a Task whose Resource is a Lambda function ARN. */
  async lambda<T>(state: string, resource: string, payload: Json, invoke: () => Promise<T>): Promise<T> {
    this.taskEvent(state, {
      type: "LambdaFunctionScheduled",
      lambdaFunctionScheduledEventDetails: { resource, input: JSON.stringify(payload), inputDetails: notTruncated },
    });
    this.taskEvent(state, { type: "LambdaFunctionStarted" });
    try {
      const output = await invoke();
      this.taskEvent(state, {
        type: "LambdaFunctionSucceeded",
        lambdaFunctionSucceededEventDetails: { output: JSON.stringify(output ?? null), outputDetails: notTruncated },
      });
      return output;
    } catch (error) {
      this.taskEvent(state, { type: "LambdaFunctionFailed", lambdaFunctionFailedEventDetails: errorDetails(error) });
      throw error;
    }
  }

  /** One run of a service-integration Task (`arn:aws:states:::<service>:<action>`). */
  async serviceTask<T>(state: string, resource: string, parameters: Json, run: () => Promise<T>): Promise<T> {
    const [resourceType, action] = resource.replace("arn:aws:states:::", "").split(":");
    const ids = { resourceType, resource: action };
    this.taskEvent(state, {
      type: "TaskScheduled",
      taskScheduledEventDetails: { ...ids, region: this.region.regionName, parameters: JSON.stringify(parameters) },
    });
    this.taskEvent(state, { type: "TaskStarted", taskStartedEventDetails: ids });
    try {
      const output = await run();
      this.taskEvent(state, { type: "TaskSucceeded", taskSucceededEventDetails: { ...ids, output: JSON.stringify(output ?? null), outputDetails: notTruncated } });
      return output;
    } catch (error) {
      // A task past its TimeoutSeconds or HeartbeatSeconds is recorded as timed out, not failed.
      const timedOut = ["States.Timeout", "States.HeartbeatTimeout"].includes((error as Error)?.name);
      if (timedOut) this.taskEvent(state, { type: "TaskTimedOut", taskTimedOutEventDetails: { ...ids, ...errorDetails(error) } });
      else this.taskEvent(state, { type: "TaskFailed", taskFailedEventDetails: { ...ids, ...errorDetails(error) } });
      throw error;
    }
  }

  executionSucceeded(output: Json): void {
    this.append({ type: "ExecutionSucceeded", executionSucceededEventDetails: { output: JSON.stringify(output ?? null), outputDetails: notTruncated } });
  }

  executionFailed(error: string | undefined, cause: string | undefined): void {
    this.append({ type: "ExecutionFailed", executionFailedEventDetails: { error, cause } });
  }

  /** StopExecution: the running Task or Wait state is aborted, then the execution; nothing is recorded after. */
  executionAborted(error: string | undefined, cause: string | undefined): void {
    const type = this.current ? this.stateType(this.current) : undefined;
    if (type === "Task" || type === "Wait") this.append({ type: `${type}StateAborted` as HistoryEvent["type"] });
    this.append({ type: "ExecutionAborted", executionAbortedEventDetails: { error, cause } });
    this.stopped = true;
  }

  /** The state running now (entered, not exited): where a stopped execution stopped. */
  get currentState(): string | undefined {
    return this.current;
  }
}

function errorDetails(error: unknown): { error: string; cause: string } {
  const e = error as Error;
  return { error: e?.name ?? "Error", cause: e?.message ?? String(error) };
}
