import type { Context } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { TransientAwsError } from "../../../functions/lib/errors.js";
import { WARM_UP_EVENT, WARMED_UP } from "../../../functions/lib/contract.js";
import { stageHandler } from "../../../functions/lib/handler.js";
import { logger } from "../../../functions/lib/logger.js";
import { ERROR } from "../../../functions/lib/names.js";
import { awsError, lambdaContext } from "../fixtures.js";

const context = lambdaContext as unknown as Context;

describe("stageHandler", () => {
  it("returns what the stage function returns for the event", async () => {
    const handler = stageHandler(async (event: { n: number }) => ({ doubled: event.n * 2 }));

    expect(await handler({ n: 21 }, context)).toEqual({ doubled: 42 });
  });

  it("answers a warm-up event without running the stage function", async () => {
    // Prepare
    let ran = 0;
    const handler = stageHandler(async () => {
      ran += 1;
      return { acted: true };
    });

    // Act
    const answer = await handler({ ...WARM_UP_EVENT }, context);

    // Assess
    expect(answer).toEqual(WARMED_UP);
    expect(ran).toBe(0);
    expect(await handler({ warmUp: "true" }, context)).toEqual({ acted: true });
    expect(await handler(null as never, context)).toEqual({ acted: true });
    expect(await handler("warmUp" as never, context)).toEqual({ acted: true });
    expect(ran).toBe(3);
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

  it("starts each invocation with the logger's own keys only: keys a stage function added do not reach the next invocation", async () => {
    // Prepare: the first invocation adds a key to its log lines; the second only logs.
    const lines: string[] = [];
    // Powertools writes each line with its console's info (a Console of its own in Lambda).
    const loggerConsole = (logger as unknown as { console: { info: (line: string) => void } }).console;
    const info = loggerConsole.info;
    loggerConsole.info = (line: string) => void lines.push(line);
    const handler = stageHandler(async (event: { add: boolean }) => {
      // The tests' logs are SILENT (simulator/offlineEnvironment.ts), and each invocation starts at that level.
      logger.setLogLevel("INFO");
      if (event.add) logger.appendKeys({ deployOf: "v1" });
      logger.info("stage ran");
      return null;
    });
    try {
      // Act
      await handler({ add: true }, context);
      await handler({ add: false }, context);
    } finally {
      loggerConsole.info = info;
      logger.setLogLevel("SILENT");
    }

    // Assess
    const logged = lines.filter((line) => line.includes("stage ran")).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logged).toHaveLength(2);
    expect(logged[0].deployOf).toBe("v1");
    expect(logged[1]).not.toHaveProperty("deployOf");
    expect(logged[1].function_request_id).toBe("request-1");
    // Every line names the service, the key to filter all stages' logs by (CloudWatch Logs Insights).
    expect(logged.map((line) => line.service)).toEqual(["immutable-deploy", "immutable-deploy"]);
  });
});
