import { describe, expect, it } from "vitest";
import { runAsl } from "../../simulator/execution/asl.js";
import type { AslDefinition } from "../../stacks/stateMachineDefinition.js";

/**
 * runAsl validates a definition (asl-validator, through aws-local-stepfunctions) on its first run only: the
 * validation compiles JSON schemas and cost a fifth of a scenario's CPU when it ran for every execution. What the
 * cache must not do is let an invalid definition through, or let a redrive's (unvalidated) run stand for a
 * validation.
 */
const context = { Execution: { Id: "arn:aws:states:us-east-1:123456789012:execution:m:e", Name: "e", StartTime: "2026-12-03T00:00:00.000Z" } };
const taskHandler = () => async (input: unknown) => input as never;

const valid = (): AslDefinition =>
  ({ StartAt: "A", States: { A: { Type: "Pass", Next: "B" }, B: { Type: "Succeed" } } }) as unknown as AslDefinition;
/** Next names a state that does not exist: asl-validator refuses it. */
const invalid = (): AslDefinition =>
  ({ StartAt: "A", States: { A: { Type: "Pass", Next: "Nowhere" }, B: { Type: "Succeed" } } }) as unknown as AslDefinition;

describe("runAsl validates each definition once", () => {
  it("runs a valid definition, again and again", async () => {
    const definition = valid();
    for (let run = 0; run < 2; run++) expect((await runAsl(definition, {}, { taskHandler, context })).status).toBe("SUCCEEDED");
  });

  it("refuses an invalid definition on every run", async () => {
    const definition = invalid();
    for (let run = 0; run < 2; run++) await expect(runAsl(definition, {}, { taskHandler, context })).rejects.toThrow(/invalid/);
  });

  it("validates a definition whose first run was a redrive (which skips validation) at its first full run", async () => {
    const definition = invalid();
    // A redrive starts at B: the states before it are unreachable, so it is not validated and runs.
    expect((await runAsl(definition, {}, { taskHandler, context, startAt: "B" })).status).toBe("SUCCEEDED");
    await expect(runAsl(definition, {}, { taskHandler, context })).rejects.toThrow(/invalid/);
  });
});
