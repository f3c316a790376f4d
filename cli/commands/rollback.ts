import { environmentGroups, environmentImages, type ImageView, liveGroupOf } from "../environment.js";
import { EXECUTION_PREFIX, executionNameFor, exitCodeOf, listExecutions, startImageDeploy, summarizeExecution } from "../deploys.js";
import { CliError } from "../errors.js";
import { follow } from "../follow.js";
import type { CommandContext } from "../main.js";
import type { Stage } from "../stage.js";

/** Succeeded deploys `rollback` looks through for the release before the live one. */
const LOOKBACK = 20;

/**
 * Refuses while a deploy runs: this version has no bake time after cutover, so there is nothing to switch back
 * from at once (the cutover issue adds it); `abort` rolls a running deploy back as a failure would.
 */
export async function refuseWhileDeploying(context: CommandContext, stage: Stage, what: string): Promise<void> {
  const [running] = await listExecutions(stage.stateMachineArn, { status: "RUNNING", max: 1 });
  if (!running) return;
  const deploy = await summarizeExecution(running);
  throw new CliError(
    `a deploy of ${deploy.release ?? "?"} is running in ${stage.name} (${deploy.execution}, in "${deploy.currentState}"); no bake time is in progress ` +
      `(this version cuts over all at once), so ${what} cannot switch traffic back at once: \`npx immutable-deploy abort --stage ${stage.name}\` ` +
      "rolls it back as a failure would, or wait for it to end and run this again",
  );
}

/** The release before the live one: the newest succeeded deploy of another release whose image is still retained. */
async function previousRelease(stage: Stage, liveRelease: string | null, targets: ImageView[]): Promise<ImageView | undefined> {
  for (const execution of await listExecutions(stage.stateMachineArn, { status: "SUCCEEDED", max: LOOKBACK })) {
    const deploy = await summarizeExecution(execution);
    if (deploy.outcome !== "succeeded" || deploy.release === liveRelease) continue;
    const image = targets.find((t) => t.imageId === deploy.imageId);
    if (image) return image;
  }
  return targets.find((t) => t.release !== liveRelease);
}

/** `rollback [--to <release>]`: deploy a retained image again, without a bake. */
export async function run(context: CommandContext, stageName: string, to?: string): Promise<number> {
  const { printer } = context;
  const stage = await context.stage(stageName);
  await refuseWhileDeploying(context, stage, "rollback");
  const live = liveGroupOf(await environmentGroups(stage.settings));
  if (!live) throw new CliError(`nothing is live in stage ${stage.name}: no group is attached to its load balancer, so there is nothing to roll back from`);
  const targets = (await environmentImages(stage.settings, live.imageId, context.now())).filter((image) => image.rollbackTarget);
  const known = [...new Set(targets.map((t) => t.release).filter(Boolean))].join(", ") || "none";
  let target: ImageView | undefined;
  if (to !== undefined) {
    if (to === live.release) throw new CliError(`--to: release ${to} is already live in ${stage.name} (group ${live.name}); allowed: ${known}`);
    target = targets.find((t) => t.release === to);
    if (!target) throw new CliError(`--to: unknown release ${JSON.stringify(to)}: no retained image of it in ${stage.name}; allowed: ${known} (see \`npx immutable-deploy images --stage ${stage.name}\`)`);
  } else {
    target = await previousRelease(stage, live.release, targets);
    if (!target?.release) throw new CliError(`no earlier release to roll back to in ${stage.name}: the retained images are ${known}`);
  }
  const release = target.release ?? "";
  printer.line(`rolling ${stage.name} back from ${live.release} (${live.imageId}) to ${release} (${target.imageId}), no bake`);
  const executionArn = await startImageDeploy(
    stage.stateMachineArn,
    { imageId: target.imageId, release },
    executionNameFor(EXECUTION_PREFIX.rollback, release, context.now()),
  );
  const { summary, lines } = await follow(context, stage, executionArn);
  printer.result({
    command: "rollback",
    stage: stage.name,
    from: { release: live.release, imageId: live.imageId },
    to: { release, imageId: target.imageId },
    deploy: summary,
    progress: lines,
  });
  return exitCodeOf(summary);
}
