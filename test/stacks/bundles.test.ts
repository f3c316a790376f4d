import { beforeAll, describe, expect, it } from "vitest";
import { bundleStageFunctions, DEPLOYED, type BundleFigures } from "../../scripts/bench/bundles.js";
import { STAGE_FUNCTION_IDS } from "../../stacks/pipeline/tables.js";
import { synthesizeApp } from "../../stacks/synthesize.js";
import { allowedActions } from "../support/roleActions.js";

/**
 * The stage functions' bundles as `sst deploy` builds them (SST's esbuild options, scripts/bench/bundles.ts):
 * minified, and each carrying only the SDK clients of services its own role may call. A client in a bundle is
 * code loaded at every cold start; one the role cannot use is dead weight (issue 17: all nine were in every one).
 */
const IAM_PREFIX_OF_CLIENT: Record<string, string> = {
  "client-auto-scaling": "autoscaling",
  "client-cloudwatch": "cloudwatch",
  "client-dynamodb": "dynamodb",
  "client-ec2": "ec2",
  "client-elastic-load-balancing": "elasticloadbalancing",
  "client-elastic-load-balancing-v2": "elasticloadbalancing",
  "client-eventbridge": "events",
  "client-sfn": "states",
  "client-sns": "sns",
};

describe("stage function bundles, as sst deploy builds them", () => {
  let bundles: Map<string, BundleFigures>;
  let allowed: Map<string, Set<string>>;
  beforeAll(async () => {
    allowed = allowedActions((await synthesizeApp("dev01")).template("Pipeline"));
    bundles = await bundleStageFunctions(DEPLOYED);
  }, 120_000);

  it("are minified (FUNCTION_DEFAULTS.nodejs.minify)", () => {
    expect(DEPLOYED.minify).toBe(true);
    // A minified bundle has no line of the stage function's own source: its long lines average far above 200 characters.
    for (const [id, bundle] of bundles) expect(bundle.code.length / bundle.code.split("\n").length, id).toBeGreaterThan(200);
  });

  it("carry no SDK schema that no command of theirs reaches (stacks/sdkSchemaKeys.ts)", () => {
    for (const [id, bundle] of bundles) {
      // EC2 operations no stage function calls: without the plugin every EC2 bundle carried their shapes.
      expect(bundle.code, id).not.toContain("AcceptAddressTransfer");
      expect(bundle.code, id).not.toContain("WithdrawByoipCidr");
      // All of EC2's schemas alone are 541 KiB minified; the largest bundle with the plugin is about 530 KiB.
      expect(bundle.bytes, id).toBeLessThan(600 * 1024);
    }
  });

  it.each(STAGE_FUNCTION_IDS)("%s carries only the SDK clients of services its role allows", (id) => {
    const bundle = bundles.get(id)!;
    const services = new Set([...(allowed.get(id) ?? [])].map((action) => action.split(":")[0]));
    expect(bundle.clients.filter((client) => !(client in IAM_PREFIX_OF_CLIENT)), "an SDK client this test does not know").toEqual([]);
    expect(bundle.clients.filter((client) => !services.has(IAM_PREFIX_OF_CLIENT[client]))).toEqual([]);
  });
});
