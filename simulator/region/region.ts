import { Scheduler, VirtualClock, SIMULATION_EPOCH_MS } from "./clock.js";
import type { CallContext, OperationHandler, OperationHandlers, RegionContext } from "./context.js";
import { EC2_NOT_FOUND_BY_OPERATION, NOT_FOUND_CODE, RegionError, type ServiceName, awsError } from "./errors.js";
import { FaultInjector } from "./faults.js";
import { IdFactory } from "./ids.js";
import { AutoScalingService } from "./services/autoscaling.js";
import { CloudFormationService } from "./services/cloudformation.js";
import { CloudWatchService } from "./services/cloudwatch.js";
import { CodeBuildService } from "./services/codebuild.js";
import { DynamoDbService } from "./services/dynamodb.js";
import { Ec2Service, type ReleaseBehavior } from "./services/ec2.js";
import { LoadBalancingService } from "./services/loadbalancing.js";
import { EventBridgeService, S3Service, SnsService } from "./services/messaging.js";
import { StepFunctionsService } from "./services/stepfunctions.js";
import { type ConsistencySettings, ConsistencyModel, REGION_DELAYS, type Timing, resolveConsistency, resolveTiming } from "./timing.js";
import { type RegionTime, seededRandom } from "./virtualTime.js";

export interface SimulatedRegionOptions {
  /** Virtual epoch ms at start (default 2026-01-01T00:00:00Z). */
  startMs?: number;
  timing?: Partial<Timing>;
  regionName?: string;
  account?: string;
  /** Eventual-consistency delays and their seed (default: `DEFAULT_CONSISTENCY`, AWS's documented behaviour). */
  consistency?: Partial<ConsistencySettings>;
  /** Seconds every HTTP request takes (default `REGION_DELAYS.apiLatencySeconds`). */
  apiLatencySeconds?: number;
}

/** What the region answers one API request with. */
export interface RegionAnswer {
  operation: string;
  output?: object;
  error?: RegionError;
  /** How long the answer takes to arrive. */
  latencyMs: number;
}

/** Thrown for a call the region does not model, so gaps show instead of passing silently. */
export class UnmodelledOperationError extends Error {
  constructor(readonly operation: string) {
    super(`The simulated region does not model ${operation}; add a handler in simulator/region/services/`);
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

/**
 * An in-process model of the AWS services the deploy uses, on a virtual clock. State lives in the service
 * objects (`ec2`, `autoScaling`, `loadBalancing`, `dynamodb`, `s3`, `codeBuild`, `sns`, `eventBridge`,
 * `stepFunctions`, `cloudFormation`, `cloudWatch`); processes (boots, health checks, draining, termination, bakes) are scheduler events.
 * SDK clients reach it through `attachRegion` (middleware.ts).
 */
export class SimulatedRegion {
  readonly clock: VirtualClock;
  readonly scheduler: Scheduler;
  readonly faults: FaultInjector;
  readonly ids = new IdFactory();
  readonly regionName: string;
  readonly account: string;
  readonly ec2: Ec2Service;
  readonly loadBalancing: LoadBalancingService;
  readonly autoScaling: AutoScalingService;
  readonly dynamodb: DynamoDbService;
  readonly eventBridge: EventBridgeService;
  readonly s3: S3Service;
  readonly sns: SnsService;
  readonly codeBuild: CodeBuildService;
  readonly stepFunctions: StepFunctionsService;
  readonly cloudFormation: CloudFormationService;
  readonly cloudWatch: CloudWatchService;
  /** The region's seeded random source (consistency seed): SDK retry jitter on region time. */
  readonly random: () => number;
  /** The time SDK calls and simulated Lambdas run on (virtualTime.ts). */
  readonly time: RegionTime;
  readonly apiLatencyMs: number;
  /** API calls answered (and failed by faults), by "Service:Operation"; every HTTP request counts, retries too. */
  readonly apiCalls = new Map<string, number>();
  /**
   * Hears every counted call with its input as the service receives it (DynamoDB document calls marshalled), in
   * the caller's async context (the runner attributes calls to stage functions; test/aws checks the inputs).
   */
  private readonly callListeners = new Set<(operation: string, input: object) => void>();
  onApiCall(listener: (operation: string, input: object) => void): () => void {
    this.callListeners.add(listener);
    return () => this.callListeners.delete(listener);
  }
  /** "Service:Operation" of every command that reached the region but is not modelled (should stay empty). */
  readonly unmodelledCalls: string[] = [];
  private readonly context: RegionContext;
  private changeCounter = 0;
  private readonly handlerTable: Record<ServiceName, OperationHandlers>;

  constructor(options: SimulatedRegionOptions = {}) {
    this.clock = new VirtualClock(options.startMs ?? SIMULATION_EPOCH_MS);
    this.scheduler = new Scheduler(this.clock);
    this.faults = new FaultInjector(() => this.clock.now());
    this.regionName = options.regionName ?? "us-east-1";
    this.account = options.account ?? "123456789012";
    const consistency = resolveConsistency(options.consistency);
    this.random = seededRandom(consistency.seed);
    this.time = { scheduler: this.scheduler, random: this.random };
    this.apiLatencyMs = Math.round((options.apiLatencySeconds ?? REGION_DELAYS.apiLatencySeconds) * 1000);
    const region = this;
    this.context = {
      scheduler: this.scheduler,
      clock: this.clock,
      ids: this.ids,
      faults: this.faults,
      account: this.account,
      regionName: this.regionName,
      timing: resolveTiming(options.timing),
      consistency: new ConsistencyModel(consistency),
      touch: () => {
        region.changeCounter += 1;
      },
    };
    this.ec2 = new Ec2Service(this.context);
    this.loadBalancing = new LoadBalancingService(this.context, this.ec2);
    this.cloudWatch = new CloudWatchService(this.context);
    this.autoScaling = new AutoScalingService(this.context, this.ec2, this.loadBalancing, this.cloudWatch);
    // A target turning healthy is the load balancer's first routing to it (app behaviour counts from there).
    this.loadBalancing.onRegistrationChange((_pool, instanceId, registration) => {
      if (registration?.state === "healthy") this.ec2.firstServed(instanceId);
    });
    this.dynamodb = new DynamoDbService();
    this.eventBridge = new EventBridgeService(this.context);
    this.s3 = new S3Service(this.context, this.eventBridge);
    this.sns = new SnsService(this.context);
    this.codeBuild = new CodeBuildService(this.context, this.ec2);
    this.stepFunctions = new StepFunctionsService(this.context);
    this.cloudFormation = new CloudFormationService(this.context);
    const loadBalancingHandlers = this.loadBalancing.handlers();
    this.handlerTable = {
      AutoScaling: this.autoScaling.handlers(),
      EC2: this.ec2.handlers(),
      ELBv2: loadBalancingHandlers.elbv2,
      ELB: loadBalancingHandlers.elb,
      DynamoDB: this.dynamodb.handlers(),
      SFN: this.stepFunctions.handlers(),
      SNS: this.sns.handlers(),
      EventBridge: this.eventBridge.handlers(),
      S3: this.s3.handlers(),
      CodeBuild: {},
      CloudFormation: this.cloudFormation.handlers(),
      CloudWatch: this.cloudWatch.handlers(),
    };
  }

  get timing(): Timing {
    return this.context.timing;
  }

  /** Changes timing for processes that start from now on (e.g. a slow boot for one step). */
  setTiming(overrides: Partial<Timing>): void {
    this.context.timing = resolveTiming({ ...this.context.timing, ...overrides });
  }

  /** How instances of `release` behave (scenario `deploy.appHealthy`, `bootFails`, `appDiesAfterSeconds`, ...). */
  setReleaseBehavior(release: string, behavior: Partial<ReleaseBehavior>): void {
    this.ec2.setReleaseBehavior(release, behavior);
  }

  /** Increases on every change that can affect routing (target health, instance state). */
  get revision(): number {
    return this.changeCounter;
  }

  now(): number {
    return this.clock.now();
  }

  /** Runs the region's processes up to `timeMs`. */
  runUntil(timeMs: number): void {
    this.scheduler.runUntil(timeMs);
  }

  /** Runs the region's processes for `seconds` of virtual time. */
  advance(seconds: number): void {
    this.scheduler.runUntil(this.clock.now() + Math.round(seconds * 1000));
  }

  /** The handler for "Service:Operation", or undefined when the region does not model it. */
  handlerFor(service: ServiceName, operation: string): OperationHandler | undefined {
    const handlers = this.handlerTable[service];
    return Object.prototype.hasOwnProperty.call(handlers, operation) ? handlers[operation] : undefined;
  }

  /** Every modelled "Service:Operation". */
  operations(): string[] {
    return Object.entries(this.handlerTable).flatMap(([service, handlers]) => Object.keys(handlers).map((op) => `${service}:${op}`));
  }

  /** Calls a handler directly (no SDK): for tests and the runner's own bookkeeping; not counted. */
  call<T extends object>(service: ServiceName, operation: string, input: object, call: CallContext = {}): T {
    const handler = this.handlerFor(service, operation);
    if (!handler) throw new Error(`Simulated region does not model ${service}:${operation}`);
    return (handler as (input: object, call: CallContext) => T)(input, call);
  }

  /**
   * One API request as AWS handles it: counted (a retried request counts again), then an armed fault fails it
   * before it acts, else the service's handler acts and answers; `crashAfter` hooks run once it acted (what
   * they throw is what the caller's request throws). Errors the service raises become the answer's `error`.
   */
  answer(service: ServiceName, operationName: string, input: object): RegionAnswer {
    const operation = `${service}:${operationName}`;
    this.countCall(operation, input);
    const latencyMs = this.apiLatencyMs + Math.round(this.faults.takeSlowAnswer(operation) * 1000);
    const call: CallContext = {};
    const fault = this.faults.takeApiError(operation);
    if (fault) {
      const message = fault.message ?? `Injected ${fault.error} for ${operation}`;
      if (fault.error !== "NotFound") return { operation, error: awsError(service, fault.error, message), latencyMs };
      if (!HIDES_WHEN_NOT_FOUND.has(operation)) {
        const code = service === "EC2" ? (EC2_NOT_FOUND_BY_OPERATION[operationName] ?? "InvalidParameterValue") : NOT_FOUND_CODE[service];
        return { operation, error: awsError(service, code, fault.message ?? `Resource not found (injected NotFound right after create, ${operation})`), latencyMs };
      }
      call.hideCreatedSinceMs = fault.armedAtMs;
    }
    const handler = this.handlerFor(service, operationName);
    if (!handler) {
      this.unmodelledCalls.push(operation);
      throw new UnmodelledOperationError(operation);
    }
    let output: object;
    try {
      output = (handler as (input: object, call: CallContext) => object)(input, call);
    } catch (error) {
      if (error instanceof RegionError) return { operation, error, latencyMs };
      throw error;
    }
    for (const crash of this.faults.takeCrashHooks(operation)) crash({ operation, input, output });
    return { operation, output, latencyMs };
  }

  /** A request id as AWS returns it (deterministic: the nth request of this region). */
  nextRequestId(): string {
    return `00000000-0000-4000-8000-${this.ids.count("request").toString(16).padStart(12, "0")}`;
  }

  countCall(operation: string, input: object): void {
    this.apiCalls.set(operation, (this.apiCalls.get(operation) ?? 0) + 1);
    for (const listener of this.callListeners) listener(operation, input);
  }

  /** API call counts as a plain object, sorted by name. */
  apiCallCounts(): Record<string, number> {
    return Object.fromEntries([...this.apiCalls.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }
}
