import { describe, expect, it } from "vitest";
import { runAsl, withNegatedTypeTests } from "../../simulator/execution/asl.js";
import type { AslDefinition } from "../../stacks/stateMachineDefinition.js";

/**
 * The States Language's type tests (IsPresent, IsNull, IsNumeric, IsString, IsBoolean, IsTimestamp) take true or
 * false; false matches the opposite (aws-cdk-lib's Condition.isNotPresent writes `"IsPresent": false`). The
 * interpreter the simulator runs (aws-local-stepfunctions 3.0.0) never matched a false one, so the deploy's
 * "Old groups retired?" rule that runs retention during the retirement wait never fired in the simulator.
 */
const context = { Execution: { Id: "arn:aws:states:us-east-1:123456789012:execution:m:e", Name: "e", StartTime: "2026-12-03T00:00:00.000Z" } };
const taskHandler = () => async (input: unknown) => input as never;

/** A Choice with one rule: "matched" when it matches, else "default". */
const choosing = (rule: object): AslDefinition =>
  ({
    StartAt: "Choose",
    States: {
      Choose: { Type: "Choice", Choices: [{ ...rule, Next: "Yes" }], Default: "No" },
      Yes: { Type: "Pass", Result: "matched", End: true },
      No: { Type: "Pass", Result: "default", End: true },
    },
  }) as unknown as AslDefinition;

async function branch(rule: object, input: object): Promise<unknown> {
  const run = await runAsl(choosing(rule), input, { taskHandler, context });
  expect(run.status).toBe("SUCCEEDED");
  return run.output;
}

describe("Choice type tests with false", () => {
  it.each([
    ["IsPresent", {}, { x: 1 }],
    ["IsNull", { x: 1 }, { x: null }],
    ["IsNumeric", { x: "1" }, { x: 1 }],
    ["IsString", { x: 1 }, { x: "1" }],
    ["IsBoolean", { x: "true" }, { x: true }],
    ["IsTimestamp", { x: "yesterday" }, { x: "2026-12-03T00:00:00Z" }],
  ])("%s: false matches what true does not", async (test, matchesFalse, matchesTrue) => {
    const rule = (value: boolean) => ({ Variable: "$.x", [test]: value });
    expect(await branch(rule(false), matchesFalse)).toBe("matched");
    expect(await branch(rule(false), matchesTrue)).toBe("default");
    expect(await branch(rule(true), matchesTrue)).toBe("matched");
    expect(await branch(rule(true), matchesFalse)).toBe("default");
  });

  it("inside And, Or and Not as well", async () => {
    const absentAndWaiting = { And: [{ Variable: "$.status", StringEquals: "waiting" }, { Variable: "$.retention", IsPresent: false }] };
    expect(await branch(absentAndWaiting, { status: "waiting" })).toBe("matched");
    expect(await branch(absentAndWaiting, { status: "waiting", retention: {} })).toBe("default");
    expect(await branch({ Or: [{ Variable: "$.x", IsPresent: false }] }, {})).toBe("matched");
    expect(await branch({ Not: { Variable: "$.x", IsPresent: false } }, { x: 1 })).toBe("matched");
  });

  it("rewrites only false tests, keeping each rule's Next", () => {
    expect(withNegatedTypeTests({ Variable: "$.x", IsPresent: false, Next: "N" })).toEqual({ Not: { Variable: "$.x", IsPresent: true }, Next: "N" });
    const untouched = { Variable: "$.x", IsPresent: true, Next: "N" };
    expect(withNegatedTypeTests(untouched)).toEqual(untouched);
  });
});
