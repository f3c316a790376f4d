import { describe, expect, it } from "vitest";
import { STAGES } from "../../stacks/config.js";
import { STAGE_FUNCTION_IDS, stageFunctionOfResource } from "../../stacks/pipeline/tables.js";
import { STACK_IDS, synthesizeApp } from "../../stacks/synthesize.js";

/**
 * cdk-nag AwsSolutions on every stack of every configured stage. The Lambda code is SST's placeholder, with
 * the runtime a deploy gives each function (bundles.test.ts proves a template with bundled code has the same
 * resources and runtimes; synth.test.ts runs `npm run synth -- --nag` as a command). Every suppression in stacks/
 * carries its reason.
 */
describe.each(Object.keys(STAGES))("cdk-nag AwsSolutions (%s)", (stage) => {
  it("leaves no unsuppressed error on any stack, with the stage functions on the runtime a deploy gives them", async () => {
    const app = await synthesizeApp(stage, { nag: true });
    for (const id of STACK_IDS) expect(app.nagErrors(id), `${id} stack`).toEqual([]);
    const runtimes = Object.entries<Record<string, any>>(app.template("Pipeline").Resources)
      .filter(([id, r]) => r.Type === "AWS::Lambda::Function" && stageFunctionOfResource(id))
      .map(([, r]) => r.Properties.Runtime);
    expect(runtimes).toHaveLength(STAGE_FUNCTION_IDS.length);
    expect(new Set(runtimes)).toEqual(new Set(["nodejs24.x"]));
  }, 120_000);
});
