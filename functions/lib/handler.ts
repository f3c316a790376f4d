import middy from "@middy/core";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { WARMED_UP } from "./contract.js";
import { classifyError } from "./errors.js";
import { logger } from "./logger.js";

/**
 * Wraps a plain stage function as a Lambda handler: Powertools logger context, and AWS throttling/5xx
 * errors re-thrown as `TransientAwsError` so one Retry rule covers them. Errors are never swallowed: Step
 * Functions' Retry/Catch match on their `name`.
 */
export function stageHandler<E, R>(fn: (event: E) => Promise<R>) {
  return middy(async (event: E) => {
    try {
      return await fn(event);
    } catch (error) {
      throw classifyError(error);
    }
  })
    .use(warmUp)
    .use(injectLambdaContext(logger, { clearState: true }));
}

const isWarmUp = (event: unknown): boolean => typeof event === "object" && event !== null && (event as { warmUp?: unknown }).warmUp === true;

/** Ends a warm-up invocation (WARM_UP_EVENT, contract.ts) before anything else runs (middy's early return: a `before` that sets the response). */
const warmUp: middy.MiddlewareObj = {
  before: (request) => {
    if (isWarmUp(request.event)) {
      request.response = WARMED_UP;
      return WARMED_UP;
    }
  },
};
