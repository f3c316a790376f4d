import { describe, expect, it } from "vitest";
import { STATE } from "../../functions/lib/names.js";
import { runAsl, validationKey } from "../../simulator/execution/asl.js";
import { type AslDefinition, withSettings } from "../../stacks/stateMachineDefinition.js";

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

describe("validationKey: one validation for every environment's copy of a definition", () => {
  /** A definition shaped like the deploy's: a Start Pass state whose Parameters carry the environment's settings. */
  const deployLike = (next = "B"): AslDefinition =>
    ({
      StartAt: STATE.start,
      States: {
        [STATE.start]: { Type: "Pass", Parameters: { settings: {}, "input.$": "$" }, Next: next },
        B: { Type: "Pass", Next: "C" },
        C: { Type: "Succeed" },
      },
    }) as unknown as AslDefinition;
  const settings = (app: string) => ({ app, environment: "dev01", loadBalancer: { kind: "application", targetGroupArn: `arn:${app}` } }) as never;

  it("is the same for copies that differ only in their literal settings", () => {
    expect(validationKey(withSettings(deployLike(), settings("shop")))).toBe(validationKey(withSettings(deployLike(), settings("blog"))));
  });

  it("differs with anything else: another state, another transition, settings with a path key", () => {
    const key = validationKey(withSettings(deployLike(), settings("shop")));
    expect(validationKey(withSettings(deployLike("C"), settings("shop")))).not.toBe(key);
    const withPath = withSettings(deployLike(), { ...(settings("shop") as object), "bucket.$": "$.detail" } as never);
    expect(validationKey(withPath)).not.toBe(key);
    expect(validationKey(withPath)).toBe(JSON.stringify(withPath));
    expect(validationKey(valid())).toBe(JSON.stringify(valid()));
  });

  it("still refuses a broken copy after a valid one with other settings ran", async () => {
    const good = withSettings(deployLike(), settings("shop"));
    const broken = withSettings(deployLike("Nowhere"), settings("blog"));
    expect((await runAsl(good, {}, { taskHandler, context })).status).toBe("SUCCEEDED");
    await expect(runAsl(broken, {}, { taskHandler, context })).rejects.toThrow(/invalid/);
  });
});
