import { BAKE_EXPORTS, type DeployState, type ImageResult } from "./lib/contract.js";
import { BakeFailedError } from "./lib/errors.js";
import { stageHandler } from "./lib/handler.js";
import { AMI_ID_PATTERN } from "./lib/input.js";
import { logger } from "./lib/logger.js";
import { show } from "./lib/validation.js";

/**
 * Deploy step 3, after the bake: the AMI ids the build exported ($.bake, the `.sync` output), as $.image. A
 * build can succeed without exporting them (buildspec.yml changed, a CodeBuild export left empty): that fails
 * here with `BakeFailed`, naming each missing or malformed export, and the state machine unlocks and notifies.
 */
export async function readBakedImage(state: DeployState): Promise<ImageResult> {
  const build = state.bake?.Build;
  const exported = build?.ExportedEnvironmentVariables ?? [];
  const value = (name: string) => exported.find((variable) => variable.Name === name)?.Value;
  const imageId = value(BAKE_EXPORTS.imageId);
  const baseImageId = value(BAKE_EXPORTS.baseImageId);
  const problems = [
    [BAKE_EXPORTS.imageId, imageId],
    [BAKE_EXPORTS.baseImageId, baseImageId],
  ]
    .filter(([, id]) => id === undefined || !AMI_ID_PATTERN.test(id))
    .map(([name, id]) => `${name}: ${id === undefined ? "not exported" : `${show(id)} is not an AMI id`}`);
  if (problems.length > 0 || imageId === undefined || baseImageId === undefined) {
    throw new BakeFailedError(
      `bake build ${build?.Id ?? "(no build id)"} succeeded without the image ids the deploy needs: ${problems.join(" | ")}; ` +
        `allowed: "ami-" followed by 8 or 17 lower-case hex digits in each (buildspec.yml exported-variables)`,
    );
  }
  logger.info("baked image", { imageId, baseImageId, buildId: build?.Id });
  return { imageId, baseImageId, baked: true };
}

export const handler = stageHandler(readBakedImage);
