import type { HandlerExecutionContext, InitializeHandler, InitializeHandlerArguments, InitializeHandlerOutput, MiddlewareStack } from "@smithy/types";
import { resetClock, setClock } from "../../functions/lib/clock.js";
import type { CallContext } from "./context.js";
import { EC2_NOT_FOUND_BY_OPERATION, NOT_FOUND_CODE, SERVICE_BY_CLIENT, type ServiceName, awsError, nextRequestId } from "./errors.js";
import type { SimulatedRegion } from "./region.js";

/** Name of the middleware in each client's stack. */
export const REGION_MIDDLEWARE_NAME = "simulatedRegion";

/** Any SDK v3 client: what `attachRegion` needs of it. */
export interface AttachableClient {
  // The stack type parameters differ per client; only add/remove are used.
  middlewareStack: MiddlewareStack<any, any>;
}

export interface RegionAttachment {
  /** Removes the middleware from every client: their commands go to AWS again. */
  detach(): void;
}

/** Thrown for a command the region does not model, so gaps show instead of passing silently. */
export class UnmodelledOperationError extends Error {
  constructor(readonly operation: string) {
    super(`The simulated region does not model ${operation}; add a handler in simulator/services/`);
    this.name = "UnmodelledOperation";
  }
}

/** Describes that hide resources created since a `NotFound` fault was armed (the others throw NotFound). */
const HIDES_WHEN_NOT_FOUND: ReadonlySet<string> = new Set([
  "AutoScaling:DescribeAutoScalingGroups",
  "EC2:DescribeImages",
  "EC2:DescribeLaunchTemplateVersions",
  "EC2:DescribeInstances",
  "ELBv2:DescribeTargetHealth",
]);

function notFoundError(service: ServiceName, operationName: string, operation: string, message?: string): Error {
  const code = service === "EC2" ? (EC2_NOT_FOUND_BY_OPERATION[operationName] ?? "InvalidParameterValue") : NOT_FOUND_CODE[service];
  return awsError(service, code, message ?? `Resource not found (injected NotFound right after create, ${operation})`);
}

/**
 * Answers a command from the region. Runs at the `initialize` step with high priority, so the SDK's own
 * retries, signing, serialization and HTTP never run: every `send` is one simulated API call, counted by
 * "Service:Operation". Armed faults fail calls before the handler runs; `crashAfter` hooks run after it.
 */
function answerFromRegion(region: SimulatedRegion) {
  // `next` is never called: the rest of the stack (serialize, retry, sign, HTTP) must not run.
  return (_next: InitializeHandler<object, object>, context: HandlerExecutionContext): InitializeHandler<object, object> =>
    async (args: InitializeHandlerArguments<object>): Promise<InitializeHandlerOutput<object>> => {
      const service = SERVICE_BY_CLIENT[context.clientName ?? ""];
      const operationName = (context.commandName ?? "").replace(/Command$/, "");
      const operation = `${service ?? context.clientName}:${operationName}`;
      if (!service) {
        region.unmodelledCalls.push(operation);
        throw new UnmodelledOperationError(operation);
      }
      const input = structuredClone(args.input) as Record<string, unknown>;
      region.countCall(operation, input);
      const call: CallContext = {};
      const fault = region.faults.takeApiError(operation);
      if (fault) {
        if (fault.error !== "NotFound") throw awsError(service, fault.error, fault.message ?? `Injected ${fault.error} for ${operation}`);
        if (!HIDES_WHEN_NOT_FOUND.has(operation)) throw notFoundError(service, operationName, operation, fault.message);
        call.hideCreatedSinceMs = fault.armedAtMs;
      }
      const handler = region.handlerFor(service, operationName);
      if (!handler) {
        region.unmodelledCalls.push(operation);
        throw new UnmodelledOperationError(operation);
      }
      const output = (handler as (input: object, call: CallContext) => object)(input, call);
      for (const crash of region.faults.takeCrashHooks(operation)) crash({ operation, input: args.input, output });
      return {
        output: { ...output, $metadata: { httpStatusCode: 200, requestId: nextRequestId(), attempts: 1, totalRetryDelay: 0 } },
        response: undefined,
      };
    };
}

/**
 * Routes every command of `clients` (e.g. `allClients` from functions/lib/clients.ts, or any SDK v3 client)
 * to `region`. Idempotent per client; `detach()` undoes it.
 */
export function attachRegion(region: SimulatedRegion, clients: readonly AttachableClient[]): RegionAttachment {
  const middleware = answerFromRegion(region);
  for (const client of clients) {
    client.middlewareStack.add(middleware, { step: "initialize", priority: "high", name: REGION_MIDDLEWARE_NAME, override: true });
    // Clients with `cacheMiddleware` keep resolved handlers; drop them so the change applies.
    delete (client as { handlers?: unknown }).handlers;
  }
  return {
    detach() {
      for (const client of clients) {
        client.middlewareStack.remove(REGION_MIDDLEWARE_NAME);
        delete (client as { handlers?: unknown }).handlers;
      }
    },
  };
}

/** Makes functions/lib/clock.ts (the stage functions' only time source) follow the region's virtual clock. */
export function bindFunctionClock(region: SimulatedRegion): () => void {
  setClock(() => region.now());
  return resetClock;
}
