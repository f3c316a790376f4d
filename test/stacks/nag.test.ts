import { describe, expect, it } from "vitest";
import { STACK_IDS, synthesizeApp } from "../../stacks/synthesize.js";

/**
 * cdk-nag AwsSolutions on every stack, with the Lambda code really bundled (esbuild) so the runtime the
 * stage functions deploy with is what gets checked. Every suppression in stacks/ carries its reason.
 */
describe.each(["dev01", "classic01"])("cdk-nag AwsSolutions (%s)", (stage) => {
  it("leaves no unsuppressed error on any stack", async () => {
    const app = await synthesizeApp(stage, { nag: true, bundle: true });
    for (const id of STACK_IDS) expect(app.nagErrors(id), `${id} stack`).toEqual([]);
    const runtimes = Object.values<Record<string, any>>(app.template("Pipeline").Resources)
      .filter((r) => r.Type === "AWS::Lambda::Function" && r.Properties.Handler !== "index.handler")
      .map((r) => r.Properties.Runtime);
    expect(new Set(runtimes)).toEqual(new Set(["nodejs24.x"]));
  }, 180_000);
});
