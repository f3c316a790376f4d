/** The operator CLI run in-process against a simulated region with deployed stages (virtual time). */
import { cliClients } from "../../cli/aws.js";
import { runCli } from "../../cli/main.js";
import { allClients } from "../../functions/lib/clients.js";
import { type DeployedStage, deployStage, driveWhile, runUntil, stageTemplates } from "../../simulator/execution/deployedStage.js";
import { attachRegion, bindFunctionClock, SimulatedRegion, type Timing } from "../../simulator/region/index.js";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** With --json: the one object printed. */
  json?: any;
}

/** How often `watch` polls in the tests (virtual seconds cost CPU here: each poll is a history read). */
export const TEST_POLL_MS = 5000;

/** A region with the given configured stages deployed (same app), every client attached, the functions' clock bound. */
export async function cliWorld(stages: { stage: string; config?: Record<string, unknown> }[], options: { timing?: Partial<Timing> } = {}) {
  const region = new SimulatedRegion({ timing: options.timing });
  const attachment = attachRegion(region, [...allClients, ...cliClients]);
  const restoreClock = bindFunctionClock(region);
  const deployed: Record<string, DeployedStage> = {};
  for (const { stage, config } of stages) {
    deployed[stage] = deployStage(region, await stageTemplates(stage), { config });
    await deployed[stage].runner.preload();
  }
  const runners = Object.values(deployed).map((d) => d.runner);

  /** Runs the CLI to its end while the deploys go on. */
  async function cli(argv: string[], options: { tty?: boolean; env?: Record<string, string> } = {}): Promise<CliRun> {
    let stdout = "";
    let stderr = "";
    const io = { stdout: (t: string) => void (stdout += t), stderr: (t: string) => void (stderr += t), isTTY: options.tty ?? false, env: { AWS_REGION: process.env.AWS_REGION, ...options.env } };
    const run = runCli(argv, { io, now: () => region.now(), sleep: (ms) => region.scheduler.sleep(ms / 1000), pollMs: TEST_POLL_MS });
    const code = await driveWhile(region, runners, run);
    return { code, stdout, stderr, ...(argv.includes("--json") ? { json: JSON.parse(stdout) } : {}) };
  }

  /** Lets the deploys run until `done()` holds (checked after every event-loop turn). */
  const until = (done: () => boolean) => runUntil(region, runners, done);

  return {
    region,
    stages: deployed,
    cli,
    runUntil: until,
    close() {
      attachment.detach();
      restoreClock();
    },
  };
}
