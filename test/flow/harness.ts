import { type AslRun, callbackRequest, type Json, runAsl, taskTarget, withTaskToken } from "../../simulator/execution/asl.js";
import type { StageFunctionId } from "../../stacks/pipeline/tables.js";
import type { AslDefinition } from "../../stacks/stateMachineDefinition.js";

export type StateHandler = (input: Json) => Json | Promise<Json>;

/** Test doubles for what the Task states run, keyed as their `Resource` names it: a stage function, or the bake. */
export type Doubles = Partial<Record<StageFunctionId | "bake", StateHandler>>;

export interface FlowCall {
  /** The Task state that made the call. */
  state: string;
  /** What the state's `Resource` named. */
  target: StageFunctionId | "bake";
  input: Json;
}

export interface FlowRun extends AslRun {
  /** Every call a Task made, retries included, in order. */
  calls: FlowCall[];
}

/** The task token a callback task's double sees. */
export const FLOW_TASK_TOKEN = "flow-task-token";

export const EXECUTION = {
  Id: "arn:aws:states:us-east-1:123456789012:execution:webapp-dev01-deploy:run-1",
  Name: "run-1",
  StartTime: "2026-01-01T00:00:00.000Z",
};

/**
 * Runs the synthesized definition with the simulator's executor (simulator/execution/asl.ts): every Task
 * runs the double for what its `Resource` names, never one chosen by the state's name (a Task whose
 * Resource has no double fails the test loudly). Wait states and Retry back-offs take no time. A `.waitForTaskToken`
 * Lambda task calls its double with the Payload (its `$$.Task.Token` reads FLOW_TASK_TOKEN), and the double's answer
 * stands for the token's: what it returns is SendTaskSuccess's output, what it throws the task's error (a
 * `States.Timeout` for a wait no one ended).
 */
export async function runFlow(definition: AslDefinition, doubles: Doubles, input: Json, options: { startAt?: string } = {}): Promise<FlowRun> {
  const calls: FlowCall[] = [];
  const run = await runAsl(definition, input, {
    startAt: options.startAt,
    context: { Execution: { ...EXECUTION, Input: input } },
    taskHandler: (state, definitionState) => {
      const resolved = taskTarget(definitionState);
      const target =
        resolved.kind === "lambda" || resolved.kind === "lambda-callback" || resolved.kind === "lambda-event" ? resolved.fn : resolved.kind === "codebuild-sync" ? "bake" : undefined;
      return async (stateInput) => {
        if (!target) throw new Error(`Task state "${state}" names ${JSON.stringify(definitionState.Resource)}, which is no stage function`);
        // An Event invocation: Lambda answers 202 and the execution goes on; the function's answer reaches no one.
        if (resolved.kind === "lambda-event") {
          calls.push({ state, target, input: stateInput.Payload });
          return { StatusCode: 202, Payload: "" };
        }
        const double = doubles[target];
        if (!double) throw new Error(`test has no double for ${target} (Task state "${state}")`);
        const input = resolved.kind === "lambda-callback" ? withTaskToken(callbackRequest(state, stateInput).payload, FLOW_TASK_TOKEN) : stateInput;
        calls.push({ state, target, input });
        return double(input);
      };
    },
  });
  return { ...run, calls };
}

/** How often a Task state called what it runs. */
export function calledFrom(run: FlowRun, state: string): number {
  return run.calls.filter((call) => call.state === state).length;
}

/** A handler that answers from a list, one item per call (the last one repeats); an Error item is thrown. */
export function sequence(...answers: Json[]): StateHandler & { calls: Json[] } {
  const calls: Json[] = [];
  const fn = async (input: Json) => {
    calls.push(input);
    const answer = answers[Math.min(calls.length - 1, answers.length - 1)];
    if (answer instanceof Error) throw answer;
    return typeof answer === "function" ? answer(input) : structuredClone(answer);
  };
  return Object.assign(fn, { calls });
}

export function namedError(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}
