import type { Context } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { TransientAwsError } from "../../../functions/lib/errors.js";
import { stageHandler } from "../../../functions/lib/handler.js";
import { ERROR } from "../../../functions/lib/names.js";
import { awsError, lambdaContext } from "../fixtures.js";

const context = lambdaContext as unknown as Context;

describe("stageHandler", () => {
  it("returns what the stage function returns for the event", async () => {
    const handler = stageHandler(async (event: { n: number }) => ({ doubled: event.n * 2 }));

    expect(await handler({ n: 21 }, context)).toEqual({ doubled: 42 });
  });

  it("re-throws throttling as TransientAwsError, with the error as its cause", async () => {
    const throttled = awsError("ThrottlingException", "Rate exceeded");
    const handler = stageHandler(async () => {
      throw throttled;
    });

    const error = await handler({}, context).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(TransientAwsError);
    expect((error as Error).name).toBe(ERROR.transientAws);
    expect((error as Error).cause).toBe(throttled);
  });

  it("passes any other error on as it is", async () => {
    const refused = awsError("ValidationError", "bad request");
    const handler = stageHandler(async () => {
      throw refused;
    });

    await expect(handler({}, context)).rejects.toBe(refused);
  });
});
