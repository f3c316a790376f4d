import { environmentGroups, environmentImages, type ImageView, liveGroupOf } from "../environment.js";
import { EXIT } from "../errors.js";
import type { CommandContext } from "../main.js";
import { age, table } from "../output.js";

/** `images`: the environment's release images: release, age, who keeps and runs them, rollback targets. */
export async function run(context: CommandContext, stageName: string): Promise<number> {
  const { printer } = context;
  const stage = await context.stage(stageName);
  const live = liveGroupOf(await environmentGroups(stage.settings));
  const images = await environmentImages(stage.settings, live?.imageId ?? null, context.now());
  printer.result({ command: "images", stage: stage.name, images });
  if (images.length === 0) {
    printer.line(`no release image in stage ${stage.name} yet`);
    return EXIT.ok;
  }
  const [header, ...lines] = table(
    ["release", "image", "age", "state", "baked in", "retained by", "used by", ""],
    images.map((image: ImageView) => [
      image.release ?? "-",
      image.imageId,
      image.ageSeconds === null ? "-" : age(image.ageSeconds),
      image.state,
      image.bakedIn ?? "-",
      image.retainedBy.join(", ") || "-",
      image.usedBy.map((use) => `${use.group} (${use.environment ?? "?"})`).join(", ") || "-",
      image.live ? "live" : image.rollbackTarget ? "rollback target" : "",
    ]),
  );
  printer.line(printer.colors.bold(header));
  images.forEach((image, i) => printer.line(image.live ? printer.colors.green(lines[i]) : lines[i]));
  return EXIT.ok;
}
