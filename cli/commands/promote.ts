import { environmentGroups, environmentImages, liveGroupOf } from "../environment.js";
import { EXECUTION_PREFIX, executionNameFor, exitCodeOf, startImageDeploy } from "../deploys.js";
import { CliError } from "../errors.js";
import { follow } from "../follow.js";
import type { CommandContext } from "../main.js";

/** `promote <release> --to <stage>`: deploy the exact image the source stage (--stage) tested to another stage, without a bake. */
export async function run(context: CommandContext, stageName: string, release: string, to: string): Promise<number> {
  const { printer } = context;
  if (to === stageName) throw new CliError(`--to: ${JSON.stringify(to)} is the source stage itself; allowed: another stage (to redeploy here, use rollback --to)`);
  const source = await context.stage(stageName);
  const target = await context.stage(to, "--to");
  if (source.settings.app !== target.settings.app)
    throw new CliError(`--to: stage ${target.name} deploys app ${target.settings.app}, stage ${source.name} app ${source.settings.app}; allowed: a stage of app ${source.settings.app}`);
  const live = liveGroupOf(await environmentGroups(source.settings));
  const images = (await environmentImages(source.settings, live?.imageId ?? null, context.now())).filter((image) => image.state === "available");
  const image = images.find((i) => i.release === release);
  if (!image) {
    const known = [...new Set(images.map((i) => i.release).filter(Boolean))].join(", ") || "none";
    throw new CliError(`<release>: unknown release ${JSON.stringify(release)}: no available image of it in stage ${source.name}; allowed: ${known}`);
  }
  printer.line(`promoting ${release} from ${source.name} to ${target.name}: image ${image.imageId}, no bake`);
  const executionArn = await startImageDeploy(
    target.stateMachineArn,
    { imageId: image.imageId, release },
    executionNameFor(EXECUTION_PREFIX.promote, release, context.now(), `from-${source.name}`),
  );
  const { summary, lines } = await follow(context, target, executionArn);
  printer.result({ command: "promote", from: source.name, to: target.name, release, imageId: image.imageId, deploy: summary, progress: lines });
  return exitCodeOf(summary);
}
