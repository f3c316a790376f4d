/**
 * Runs every command of the operator CLI against the simulated region (two deployed stages, dev01 and
 * production, the real state machine and stage functions, virtual time) and prints the terminal transcript the
 * README's "Day two" section shows: `npx tsx scripts/day-two.ts`. Nothing leaves this machine.
 */
import "../simulator/offlineEnvironment.js";
import "../simulator/execution/polyfills.js";
import { cliClients } from "../cli/aws.js";
import { runCli } from "../cli/main.js";
import { allClients } from "../functions/lib/clients.js";
import { STATE } from "../functions/lib/names.js";
import { deployStage, driveWhile, runUntil as runDeploysUntil, stageTemplates } from "../simulator/execution/deployedStage.js";
import { attachRegion, bindFunctionClock, SimulatedRegion } from "../simulator/region/index.js";

// AWS's timings, but a 60 s deregistration delay: fewer "draining" lines to read.
const region = new SimulatedRegion({ timing: { drainingSeconds: 60 } });
attachRegion(region, [...allClients, ...cliClients]);
bindFunctionClock(region);
const dev01 = deployStage(region, await stageTemplates("dev01"));
const production = deployStage(region, await stageTemplates("production"));
const runners = [dev01.runner, production.runner];
for (const runner of runners) await runner.preload();

const write = (text: string) => void process.stdout.write(text);
async function cli(...argv: string[]): Promise<void> {
  write(`$ npx immutable-deploy ${argv.join(" ")}\n`);
  const io = { stdout: write, stderr: write, isTTY: false, env: { AWS_REGION: region.regionName } };
  const code = await driveWhile(region, runners, runCli(argv, { io, now: () => region.now(), sleep: (ms) => region.scheduler.sleep(ms / 1000) }));
  write(code === 0 ? "\n" : `# exit code ${code}\n\n`);
}

/** Lets the deploys run until `done()` holds. */
const runUntil = (done: () => boolean) => runDeploysUntil(region, runners, done);

const upload = (label: string) => {
  region.s3.putObject(dev01.artifactBucket, `releases/${label}.tgz`, `release ${label}`);
  return dev01.runner.executions.at(-1)!;
};

await cli("release", "example-app", "--label", "v1", "--stage", "dev01");
await cli("release", "example-app", "--label", "v2", "--stage", "dev01");

region.setReleaseBehavior("v3", { appHealthy: false });
const v3 = upload("v3");
await runUntil(() => v3.visited.includes(STATE.checkLoadBalancerHealth));
await cli("status", "--stage", "dev01");
await cli("approve", "--stage", "dev01");
await cli("watch", "--stage", "dev01");
await cli("history", "--stage", "dev01");
await cli("images", "--stage", "dev01");
await cli("rollback", "--stage", "dev01");
await cli("rollback", "--stage", "dev01", "--to", "v9");
await cli("promote", "v2", "--stage", "dev01", "--to", "production");

const v4 = upload("v4");
await runUntil(() => v4.visited.includes(STATE.checkGroupHealth));
await cli("abort", "--stage", "dev01");

region.faults.inject([{ operation: "AutoScaling:DeleteAutoScalingGroup", error: "AccessDenied", times: 1 }]);
upload("v5");
await cli("watch", "--stage", "dev01");
await cli("redrive", "--stage", "dev01");
await cli("status", "--stage", "production");
// A stopped execution's run never resumes; its interpreter keeps a timer: end here.
process.exit(0);
