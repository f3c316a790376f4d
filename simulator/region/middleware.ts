import { DescribeAccountLimitsCommand as AutoScalingWarmUp } from "@aws-sdk/client-auto-scaling";
import { ListDashboardsCommand } from "@aws-sdk/client-cloudwatch";
import { ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { DescribeAccountAttributesCommand } from "@aws-sdk/client-ec2";
import { DescribeAccountLimitsCommand as ElbWarmUp } from "@aws-sdk/client-elastic-load-balancing";
import { DescribeAccountLimitsCommand as ElbV2WarmUp } from "@aws-sdk/client-elastic-load-balancing-v2";
import { ListEventBusesCommand } from "@aws-sdk/client-eventbridge";
import { DescribeAccountLimitsCommand as CloudFormationWarmUp } from "@aws-sdk/client-cloudformation";
import { ListBucketsCommand } from "@aws-sdk/client-s3";
import { ListStateMachinesCommand } from "@aws-sdk/client-sfn";
import { ListTopicsCommand } from "@aws-sdk/client-sns";
import type { InitializeHandler, InitializeHandlerArguments, MiddlewareStack } from "@smithy/types";
import { resetClock, setClock } from "../../functions/lib/clock.js";
import { SERVICE_BY_CLIENT, type ServiceName } from "./errors.js";
import type { SimulatedRegion } from "./region.js";
import { RegionSigner } from "./signing.js";
import { RegionHttpHandler } from "./transport.js";
import { currentRegionTime, installRegionTime, onRegionTime } from "./virtualTime.js";

export { UnmodelledOperationError } from "./region.js";

/** Name of the middleware (in each attached client's stack) that puts its requests on region time. */
export const REGION_MIDDLEWARE_NAME = "simulatedRegion";

/** Any SDK v3 client: what `attachRegion` needs of it. */
export interface AttachableClient {
  // The stack type parameters differ per client; only add/remove are used.
  middlewareStack: MiddlewareStack<any, any>;
  config: object;
  send(command: any): Promise<unknown>;
}

export interface RegionAttachment {
  /** Gives every client its own transport back (their commands go to AWS again) and removes region time. */
  detach(): void;
}

/**
 * One cheap command per service, sent once per attached client before the simulation moves time: the first
 * request of a client loads modules and reads configuration lazily (credentials provider, shared config
 * files), which is real I/O; done here it never happens while a driven execution waits on virtual time.
 * The transport answers these without touching the region (no count, no fault).
 */
const WARM_UP_COMMANDS: Partial<Record<ServiceName, () => object>> = {
  AutoScaling: () => new AutoScalingWarmUp({}),
  EC2: () => new DescribeAccountAttributesCommand({}),
  ELB: () => new ElbWarmUp({}),
  ELBv2: () => new ElbV2WarmUp({}),
  DynamoDB: () => new ListTablesCommand({}),
  SFN: () => new ListStateMachinesCommand({}),
  SNS: () => new ListTopicsCommand({}),
  EventBridge: () => new ListEventBusesCommand({}),
  CloudFormation: () => new CloudFormationWarmUp({}),
  S3: () => new ListBucketsCommand({}),
  CloudWatch: () => new ListDashboardsCommand({}),
};

/** Runs each request of an attached client on the region's time, unless it already is (inside a simulated Lambda). */
function onRegionTimeMiddleware(region: SimulatedRegion) {
  return (next: InitializeHandler<object, object>) => (args: InitializeHandlerArguments<object>) =>
    currentRegionTime()?.scheduler === region.scheduler ? next(args) : onRegionTime(region.time, () => next(args));
}

function serviceOf(client: AttachableClient): ServiceName | undefined {
  return SERVICE_BY_CLIENT[client.constructor.name];
}

/**
 * Routes every command of `clients` (e.g. `allClients` from functions/lib/clients.ts, or any SDK v3 client)
 * to `region` at the transport: each client's `requestHandler` becomes the region (transport.ts), so the
 * client's own serializers, retry strategy, signing middleware and error parsing all run; its SigV4 signer is the
 * region's stand-in (signing.ts: the real credential scope, which the region checks, without the hashing). Its
 * requests run on region time (virtualTime.ts): retry back-offs and latency take virtual time. `detach()` undoes it.
 */
export function attachRegion(region: SimulatedRegion, clients: readonly AttachableClient[]): RegionAttachment {
  const uninstall = installRegionTime();
  const restores: Array<() => void> = [];
  const warmUps: Promise<unknown>[] = [];
  for (const client of clients) {
    const service = serviceOf(client);
    const config = client.config as { requestHandler?: unknown; signerConstructor?: unknown };
    const original = config.requestHandler;
    config.requestHandler = new RegionHttpHandler(region, service ?? ("unknown" as ServiceName));
    // SigV4 with the real credential scope and a stand-in signature (signing.ts); a client that brings its own
    // signer class (S3's multi-region signer) keeps it.
    const ownSigner = "signerConstructor" in config;
    if (!ownSigner) config.signerConstructor = RegionSigner;
    client.middlewareStack.add(onRegionTimeMiddleware(region), { step: "initialize", priority: "high", name: REGION_MIDDLEWARE_NAME, override: true });
    // Clients with `cacheMiddleware` keep resolved handlers; drop them so the change applies.
    delete (client as { handlers?: unknown }).handlers;
    restores.push(() => {
      config.requestHandler = original;
      if (!ownSigner) delete config.signerConstructor;
      client.middlewareStack.remove(REGION_MIDDLEWARE_NAME);
      delete (client as { handlers?: unknown }).handlers;
    });
    const warmUp = service && WARM_UP_COMMANDS[service];
    if (warmUp) warmUps.push(onRegionTime({ ...region.time, warmUp: true }, () => client.send(warmUp())).catch(() => undefined));
  }
  region.scheduler.holdWhile(Promise.all(warmUps));
  return {
    detach() {
      for (const restore of restores) restore();
      uninstall();
    },
  };
}

/** Makes functions/lib/clock.ts (the stage functions' only time source) follow the region's virtual clock. */
export function bindFunctionClock(region: SimulatedRegion): () => void {
  setClock(() => region.now());
  return resetClock;
}
