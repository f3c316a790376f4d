import { StateMachine } from "aws-local-stepfunctions";
import type { AslDefinition } from "../../stacks/stateMachineDefinition.js";

type Json = any;
export type StateHandler = (input: Json) => Json | Promise<Json>;

export interface FlowRun {
  status: "SUCCEEDED" | "FAILED";
  output?: Json;
  error?: string;
  cause?: string;
  /** Names of the states entered, in order. */
  visited: string[];
  /** The input each state was entered with (the last time). */
  inputs: Record<string, Json>;
  /** The state the execution failed in (the one a redrive resumes). */
  failedState?: string;
}

export const EXECUTION = {
  Id: "arn:aws:states:us-east-1:123456789012:execution:webapp-dev01-deploy:run-1",
  Name: "run-1",
  StartTime: "2026-01-01T00:00:00.000Z",
};

/**
 * Runs the synthesized definition on aws-local-stepfunctions with every Task answered by a local handler
 * (a state without one fails the test loudly), Wait states instant and Retry back-offs skipped.
 */
export async function runFlow(
  definition: AslDefinition,
  handlers: Record<string, StateHandler>,
  input: Json,
  options: { startAt?: string } = {},
): Promise<FlowRun> {
  const asl = options.startAt ? { ...definition, StartAt: options.startAt } : definition;
  const taskStates = Object.entries(asl.States).filter(([, s]) => s.Type === "Task").map(([name]) => name);
  const waitStates = Object.entries(asl.States).filter(([, s]) => s.Type === "Wait").map(([name]) => name);
  const taskResourceLocalHandlers = Object.fromEntries(
    taskStates.map((name) => [
      name,
      async (stateInput: Json) => {
        const handler = handlers[name];
        if (!handler) throw new Error(`test has no handler for Task state "${name}"`);
        return handler(stateInput);
      },
    ]),
  );
  // A redrive starts mid-definition, where the states before it are (correctly) unreachable.
  const validationOptions = options.startAt ? { noValidate: true } : { checkArn: false, checkPaths: true };
  const machine = new StateMachine(asl as never, { validationOptions });
  const execution = machine.run(input, {
    overrides: {
      taskResourceLocalHandlers,
      waitTimeOverrides: Object.fromEntries(waitStates.map((n) => [n, 0])),
      retryIntervalOverrides: Object.fromEntries(taskStates.map((n) => [n, 0])),
    },
    context: { Execution: { ...EXECUTION, Input: input } },
  });
  const visited: string[] = [];
  const inputs: Record<string, Json> = {};
  let failedState: string | undefined;
  const collecting = (async () => {
    for await (const event of execution.eventLogs) {
      if (event.type === "StateEntered") {
        visited.push(event.state.name);
        inputs[event.state.name] = event.state.input;
      }
      if (event.type === "StateFailed") failedState = event.state.name;
    }
  })();
  try {
    const output = await execution.result;
    await collecting;
    return { status: "SUCCEEDED", output, visited, inputs };
  } catch (error) {
    await collecting.catch(() => undefined);
    const cause = (error as { cause?: { name?: string; message?: string } }).cause;
    return {
      status: "FAILED",
      error: cause?.name ?? (error as Error).name,
      cause: cause?.message ?? (error as Error).message,
      visited,
      inputs,
      failedState: failedState ?? visited.at(-1),
    };
  }
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
