import { describe, expect, it } from "vitest";
import type { BakeOutput } from "../../functions/lib/contract.js";
import { ERROR } from "../../functions/lib/names.js";
import { handler, readBakedImage } from "../../functions/readBakedImage.js";
import { deployState, lambdaContext } from "./fixtures.js";

const IMAGE = "ami-0123456789abcdef0";
const BASE = "ami-0fedcba9876543210";
const afterBake = (variables: { Name?: string; Value?: string }[] | undefined) => {
  const bake: BakeOutput = { Build: { Id: "webapp-dev01-bake:1b2c", BuildStatus: "SUCCEEDED", ExportedEnvironmentVariables: variables } };
  return deployState("application", { image: undefined, bake });
};

describe("readBakedImage", () => {
  it("returns the exported image and base image ids, whatever their order", async () => {
    // Prepare
    const state = afterBake([
      { Name: "BASE_IMAGE_ID", Value: BASE },
      { Name: "IMAGE_ID", Value: IMAGE },
    ]);
    // Act
    const image = await readBakedImage(state);
    // Assess
    expect(image).toEqual({ imageId: IMAGE, baseImageId: BASE, baked: true });
  });

  it.each([
    ["IMAGE_ID missing", [{ Name: "BASE_IMAGE_ID", Value: BASE }], "IMAGE_ID: not exported"],
    ["IMAGE_ID without a value", [{ Name: "IMAGE_ID" }, { Name: "BASE_IMAGE_ID", Value: BASE }], "IMAGE_ID: not exported"],
    ["IMAGE_ID empty", [{ Name: "IMAGE_ID", Value: "" }, { Name: "BASE_IMAGE_ID", Value: BASE }], 'IMAGE_ID: "" is not an AMI id'],
    ["BASE_IMAGE_ID not an AMI id", [{ Name: "IMAGE_ID", Value: IMAGE }, { Name: "BASE_IMAGE_ID", Value: "i-0123" }], 'BASE_IMAGE_ID: "i-0123" is not an AMI id'],
    ["no exported variables", undefined, "IMAGE_ID: not exported | BASE_IMAGE_ID: not exported"],
  ])("%s: BakeFailed naming the build and each bad export", async (_, variables, problem) => {
    // Act
    const attempt = readBakedImage(afterBake(variables));
    // Assess
    await expect(attempt).rejects.toMatchObject({
      name: ERROR.bakeFailed,
      message: expect.stringMatching(new RegExp(`^bake build webapp-dev01-bake:1b2c succeeded without the image ids the deploy needs: ${problem.replace(/[|]/g, "\\|")}; allowed: `)),
    });
  });

  it.each([
    ["no bake output at all", undefined],
    ["a bake output without its build", {} as BakeOutput],
  ])("%s: BakeFailed saying there is no build id", async (_, bake) => {
    // Prepare
    const state = deployState("application", { image: undefined, bake });
    // Act
    const attempt = readBakedImage(state);
    // Assess
    await expect(attempt).rejects.toMatchObject({
      name: ERROR.bakeFailed,
      message: expect.stringMatching(/^bake build \(no build id\) succeeded without the image ids the deploy needs: IMAGE_ID: not exported \| BASE_IMAGE_ID: not exported; /),
    });
  });

  it("reaches the state machine as BakeFailed, not as a transient error", async () => {
    await expect(handler(afterBake([]), lambdaContext)).rejects.toMatchObject({ name: ERROR.bakeFailed });
  });
});
