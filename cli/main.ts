/**
 * `npx immutable-deploy <command> --stage <stage>`: the operator CLI (README "Day two"). This module only
 * declares the commands (commander); each command's code, and with it every SDK client, is imported after the
 * arguments are parsed, so `--help` answers at once.
 */
import { Command, CommanderError, Option } from "commander";
import { CliError, EXIT, explainAwsError } from "./errors.js";
import { type CliIo, Printer } from "./output.js";
import type { Stage } from "./stage.js";

export interface GlobalOptions {
  json: boolean;
  region?: string;
  profile?: string;
  color: boolean;
}

/** What a command gets: output, time, and its stages resolved from CloudFormation. */
export interface CommandContext {
  printer: Printer;
  io: CliIo;
  options: GlobalOptions;
  /** Epoch ms. */
  now(): number;
  sleep(ms: number): Promise<void>;
  /** How often `watch` reads the execution history. */
  pollMs: number;
  /** Resolves a deployed stage (credentials checked first); `option` names the flag in messages. */
  stage(name: string, option?: string): Promise<Stage>;
}

export interface CliDeps {
  io: CliIo;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  pollMs?: number;
}

type Run = (context: CommandContext, ...args: any[]) => Promise<number>;
/** Each command's implementation, loaded only when that command runs. */
const load = {
  release: () => import("./commands/release.js"),
  watch: () => import("./commands/watch.js"),
  status: () => import("./commands/status.js"),
  history: () => import("./commands/history.js"),
  images: () => import("./commands/images.js"),
  rollback: () => import("./commands/rollback.js"),
  promote: () => import("./commands/promote.js"),
  redrive: () => import("./commands/redrive.js"),
  abort: () => import("./commands/abort.js"),
  approve: () => import("./commands/approve.js"),
} satisfies Record<string, () => Promise<{ run: Run }>>;

const EXIT_CODES_HELP = `
Exit codes: 0 done (a followed deploy succeeded or had nothing to do); 1 the deploy failed, rolled back or was
aborted (or an unexpected error); 2 nothing was done (bad input, stage not deployed, no credentials, unknown
release, refused); 3 the deploy needs attention (stopped after its release went live, lock held: redrive it).`;

function positiveInt(name: string, min: number, max: number) {
  return (value: string) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) throw new CliError(`${name}: ${JSON.stringify(value)}; allowed: an integer from ${min} to ${max}`);
    return n;
  };
}

export function buildProgram(run: (command: keyof typeof load, stageOption: string, args: unknown[]) => Promise<void>, io: CliIo): Command {
  const program = new Command("immutable-deploy")
    .description("Day-two operations for immutable-deploy: release, follow, inspect, roll back, promote, redrive, abort.")
    .addOption(new Option("--json", "print one JSON object (README \"Day two\" documents each command's)").default(false))
    .option("--region <region>", "AWS region (default: the stage's region in stacks/config.ts, else AWS_REGION)")
    .option("--profile <profile>", "AWS profile of ~/.aws/config (default: AWS_PROFILE or the default chain)")
    .option("--no-color", "no colour, even on a terminal (NO_COLOR works too)")
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.stdout(text), writeErr: (text) => io.stderr(text) })
    .addHelpText("after", EXIT_CODES_HELP);

  const command = (name: keyof typeof load, description: string, example: string) =>
    program
      .command(name)
      .description(description)
      .requiredOption("--stage <stage>", "the stage (SST stage) to act on")
      .addHelpText("after", `\nExample:\n  ${example}\n${EXIT_CODES_HELP}`);

  command("release", "pack a folder (or take a .tgz), upload it under the release prefix (that starts the deploy) and follow the deploy", "npx immutable-deploy release example-app --label v2 --stage dev01")
    .argument("<app-dir|file.tgz>", "an app folder to pack (scripts/pack-release.ts), or a packed release .tgz")
    .option("--label <release>", "release label (default: the .tgz's file name, or v<package.json version> for a folder)")
    .action((path: string, options: { stage: string; label?: string }) => run("release", options.stage, [path, options.label]));
  command("watch", "follow a deploy's progress lines until it ends (exit 0 succeeded, 1 failed or rolled back, 3 needs attention)", "npx immutable-deploy watch --stage dev01")
    .argument("[execution]", "execution name or ARN (default: the running deploy, else the latest)")
    .action((execution: string | undefined, options: { stage: string }) => run("watch", options.stage, [execution]));
  command("status", "what is live: release, image, group, instances, the running deploy, the lock, the last five outcomes", "npx immutable-deploy status --stage dev01")
    .action((options: { stage: string }) => run("status", options.stage, []));
  command("history", "past deploys: release, outcome, duration, how started, failed state and cause", "npx immutable-deploy history --stage dev01 --limit 20")
    .addOption(new Option("--limit <n>", "how many deploys, newest first (1-100)").default(10).argParser(positiveInt("--limit", 1, 100)))
    .action((options: { stage: string; limit: number }) => run("history", options.stage, [options.limit]));
  command("images", "retained release images: release, age, which groups and environments use them, rollback targets", "npx immutable-deploy images --stage dev01")
    .action((options: { stage: string }) => run("images", options.stage, []));
  command("rollback", "deploy a retained image again, without a bake (default: the release before the live one)", "npx immutable-deploy rollback --stage dev01 --to v3")
    .option("--to <release>", "the release to go back to (see `images`)")
    .action((options: { stage: string; to?: string }) => run("rollback", options.stage, [options.to]));
  command("promote", "deploy the exact image another stage tested, without a bake (build once, deploy many)", "npx immutable-deploy promote v7 --stage staging --to production")
    .argument("<release>", "the release to promote, as the source stage (--stage) runs or keeps it")
    .requiredOption("--to <stage>", "the stage to deploy it to")
    .action((release: string, options: { stage: string; to: string }) => run("promote", options.stage, [release, options.to]));
  command("redrive", "resume a deploy that stopped after its release went live, from the state that failed", "npx immutable-deploy redrive --stage dev01")
    .argument("[execution]", "execution name or ARN (default: the latest deploy, if it needs attention)")
    .action((execution: string | undefined, options: { stage: string }) => run("redrive", options.stage, [execution]));
  command("abort", "stop a running deploy, then roll back (or unlock) as a failure at that point would", "npx immutable-deploy abort --stage dev01")
    .argument("[execution]", "execution name or ARN (default: the running deploy)")
    .action((execution: string | undefined, options: { stage: string }) => run("abort", options.stage, [execution]));
  command("approve", "approve the cutover a deploy waits for (says so when no approval is pending)", "npx immutable-deploy approve --stage production")
    .argument("[execution]", "execution name or ARN (default: the running deploy)")
    .action((execution: string | undefined, options: { stage: string }) => run("approve", options.stage, [execution]));
  return program;
}

/** Runs the CLI; returns the exit code (never exits the process itself). */
export async function runCli(argv: string[], deps: CliDeps): Promise<number> {
  const { io } = deps;
  let exitCode: number = EXIT.ok;
  let printer = new Printer(io, false, true);
  let commandName = "";
  const program = buildProgram(async (name, stageOption, args) => {
    commandName = name;
    const options = program.opts<GlobalOptions>();
    printer = new Printer(io, options.json, options.color);
    const { run } = await load[name]();
    const stages = new Map<string, Promise<Stage>>();
    let region: string | undefined;
    const context: CommandContext = {
      printer,
      io,
      options,
      now: deps.now ?? Date.now,
      sleep: deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      pollMs: deps.pollMs ?? 3000,
      stage: (stage, option = "--stage") => {
        let resolving = stages.get(stage);
        if (!resolving) {
          resolving = (async () => {
            const { checkStageName, regionOf, resolveStage } = await import("./stage.js");
            checkStageName(stage, option);
            const stageRegion = regionOf(stage, options.region, io.env);
            if (region !== undefined && stageRegion !== region)
              throw new CliError(`${option}: stage "${stage}" is in ${stageRegion}, the other one in ${region}; allowed: stages of one region (AMIs are regional)`);
            region = stageRegion;
            configureAwsEnvironment(stageRegion, options.profile);
            const { checkCredentials } = await import("./aws.js");
            await checkCredentials();
            return resolveStage(stage, stageRegion);
          })();
          stages.set(stage, resolving);
        }
        return resolving;
      },
    };
    exitCode = await (run as Run)(context, stageOption, ...args);
  }, io);
  try {
    await program.parseAsync(argv, { from: "user" });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.refused;
    const known = error instanceof CliError ? error : explainAwsError(error, program.opts<GlobalOptions>().profile);
    const message = known?.message ?? `unexpected error: ${(error as Error)?.stack ?? error}`;
    const code = known?.exitCode ?? EXIT.failed;
    if (printer.json) printer.result({ command: commandName, error: message, exitCode: code });
    else printer.note(`immutable-deploy${commandName ? ` ${commandName}` : ""}: ${message}`);
    return code;
  }
}

/**
 * Points every SDK client of the process (the CLI's and the stage functions' it reuses, all created with `{}`)
 * at the stage's region and the chosen profile.
 */
function configureAwsEnvironment(region: string, profile: string | undefined): void {
  process.env.AWS_REGION = region;
  if (profile !== undefined) process.env.AWS_PROFILE = profile;
}

/** The `bin` entry: the process's streams, real time. */
export async function main(argv: string[]): Promise<number> {
  // The stage functions `abort` runs in-process log JSON for CloudWatch; the CLI speaks for itself.
  process.env.POWERTOOLS_LOG_LEVEL ??= "SILENT";
  return runCli(argv, {
    io: {
      stdout: (text) => process.stdout.write(text),
      stderr: (text) => process.stderr.write(text),
      isTTY: Boolean(process.stdout.isTTY),
      env: process.env,
    },
  });
}
