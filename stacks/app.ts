/**
 * The app as sst.config.ts declares it, in functions the offline synthesis (stacks/synthesize.ts) calls too:
 * its name, each stage's region, the stacks, and the checks only a deploy can make (they need the account).
 */
import { DescribeInstanceTypeOfferingsCommand, EC2Client } from "@aws-sdk/client-ec2";
import { type App, use } from "sst/constructs";
import { Environment } from "./Environment.js";
import { Pipeline } from "./Pipeline.js";
import { deployOnlyProblems, loadStageConfig, STAGES, type StageConfig, StageConfigError, stageConfigError } from "./config.js";
import { SST_APP_NAME } from "./stackNames.js";
import { lambdaCredentialsPlugin } from "./lambdaCredentials.js";
import { sdkEventStreamsPlugin } from "./sdkEventStreams.js";
import { sdkSchemaKeysPlugin, type SstEsbuildPlugin } from "./sdkSchemaKeys.js";

/**
 * Context the offline synthesis sets on its App: it never calls AWS, so the deploy-only checks are reported as
 * notes instead of run (stacks/synthesize.ts). SST's own commands (deploy, diff, remove) never set it.
 */
export const OFFLINE_SYNTHESIS = "immutable-deploy:offline-synthesis";

/**
 * Every Lambda of the app. No source maps: SST would upload them through a custom resource of its own that
 * needs its bootstrap bucket, looked up in the account, so what a deploy creates would differ from what the
 * offline synthesis shows (and `--bundle` would need credentials). Minified: smaller packages to load at a cold
 * start (BENCHMARK.md, "Stage function bundles"). Without SST's `keepNames`: it wraps every function and class in
 * a `__name()` call (797 in Launch's bundle, 22 KB) that each cold start compiles and runs, to keep `.name` through
 * minification, and nothing here reads a function's or a class's name: the errors Step Functions' Retry and Catch
 * match set `name` themselves (functions/lib/errors.ts, the SDK's exceptions alike; test/stacks/bundles.test.ts
 * runs every bundle to show it). The SDK's schema files rewritten so esbuild can drop the shapes no
 * command of the function reaches (stacks/sdkSchemaKeys.ts: EC2's alone were 541 KiB of a 1 MB bundle). The
 * SDK's credential chain reduced to its first link, Lambda's environment variables, the only one that answers in
 * Lambda (stacks/lambdaCredentials.ts: the rest, with the STS and SSO clients it calls, was a third of some bundles).
 * The SDK's event-stream support left out: no operation the functions call streams events, and its lazy import
 * made esbuild wrap most of the SDK's core in initializers that V8 parses twice (stacks/sdkEventStreams.ts).
 */
export const FUNCTION_DEFAULTS = {
  runtime: "nodejs24.x",
  architecture: "arm_64",
  tracing: "active",
  nodejs: { sourcemap: false, minify: true, esbuild: { keepNames: false, plugins: [sdkSchemaKeysPlugin, lambdaCredentialsPlugin, sdkEventStreamsPlugin] as SstEsbuildPlugin[] } },
} as const;

/**
 * SST's `config(input)`: the app's name and the region the stage is configured for, so `npx sst deploy --stage
 * X` deploys X to its own region (SST passes the command line's --stage, --region, ... as `input`).
 */
export function appConfig(input: { stage?: string; region?: string } = {}, stages: Record<string, unknown> = STAGES): { name: string; region?: string } {
  const stage = input.stage ?? process.env.SST_STAGE;
  // Without a stage SST picks a personal one; that, or a stage not in stacks/config.ts, the stacks refuse as
  // unknown, listing the configured ones (defineStacks, before anything is deployed).
  if (!stage || !(stage in stages)) return { name: SST_APP_NAME };
  const { region } = loadStageConfig(stage, stages);
  if (input.region && input.region !== region) {
    throw new StageConfigError(
      `Invalid configuration for stage "${stage}":\n  --region ${input.region}: the stage is configured for region ${region} (stacks/config.ts); allowed: no --region, or --region ${region}`,
    );
  }
  return { name: SST_APP_NAME, region };
}

/** SST's `stacks(app)`: both stacks, and, outside the offline synthesis, what only a deploy can check. */
export async function defineStacks(app: App): Promise<void> {
  const config = loadStageConfig(app.stage);
  const offline = app.node.tryGetContext(OFFLINE_SYNTHESIS) === true;
  const problems = deployOnlyProblems(config);
  if (!offline && problems.length > 0) throw stageConfigError(config.stage, problems);
  app.setDefaultFunctionProps(FUNCTION_DEFAULTS);
  app.stack(Environment).stack(Pipeline);
  if (!offline) await checkInstanceTypeOffered(config, use(Environment).availabilityZones);
}

/**
 * The stage's instance type must be offered in every zone of its subnets (the bake runs in the first, groups
 * launch in all). Asked of EC2 (DescribeInstanceTypeOfferings) with the deploy's credentials; zones CDK has not
 * looked up yet (its placeholders, before `sst deploy` resolves the lookup and synthesizes again) are skipped.
 */
export async function checkInstanceTypeOffered(config: StageConfig, zones: string[], client?: EC2Client): Promise<void> {
  if (zones.length === 0 || zones.some((zone) => !zone.startsWith(config.region))) return;
  const ec2 = client ?? (await deployClient(EC2Client));
  const offered = new Set<string>();
  let token: string | undefined;
  do {
    const page = await ec2.send(
      new DescribeInstanceTypeOfferingsCommand({
        LocationType: "availability-zone",
        Filters: [{ Name: "instance-type", Values: [config.instanceType] }],
        NextToken: token,
      }),
    );
    for (const offering of page.InstanceTypeOfferings ?? []) if (offering.Location) offered.add(offering.Location);
    token = page.NextToken;
  } while (token);
  const missing = zones.filter((zone) => !offered.has(zone));
  if (missing.length === 0) return;
  const where = offered.size > 0 ? `zones that offer it: ${[...offered].sort().join(", ")}` : `none in ${config.region}`;
  throw stageConfigError(config.stage, [
    `instanceType: ${JSON.stringify(config.instanceType)}; allowed: a type EC2 offers in every availability zone of the stage ` +
      `(${zones.join(", ")}; not offered in ${missing.join(", ")}), or availabilityZones (vpc.availabilityZones) among the ${where}`,
  ]);
}

/** An SDK client with the credentials and region of the running SST command (loaded only when deploying). */
async function deployClient<C>(client: new (config: object) => C): Promise<C> {
  const { useAWSClient } = await import("sst/credentials.js");
  return useAWSClient(client);
}
