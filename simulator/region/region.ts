import { Scheduler, VirtualClock, SIMULATION_EPOCH_MS } from "./clock.js";
import type { CallContext, OperationHandler, OperationHandlers, RegionContext } from "./context.js";
import type { ServiceName } from "./errors.js";
import { FaultInjector } from "./faults.js";
import { IdFactory } from "./ids.js";
import { AutoScalingService } from "./services/autoscaling.js";
import { CloudFormationService } from "./services/cloudformation.js";
import { CodeBuildService } from "./services/codebuild.js";
import { DynamoDbService } from "./services/dynamodb.js";
import { Ec2Service, type ReleaseBehavior } from "./services/ec2.js";
import { LoadBalancingService } from "./services/loadbalancing.js";
import { EventBridgeService, S3Service, SnsService } from "./services/messaging.js";
import { StepFunctionsService } from "./services/stepfunctions.js";
import { type Timing, resolveTiming } from "./timing.js";

export interface SimulatedRegionOptions {
  /** Virtual epoch ms at start (default 2026-01-01T00:00:00Z). */
  startMs?: number;
  timing?: Partial<Timing>;
  regionName?: string;
  account?: string;
}

/**
 * An in-process model of the AWS services the deploy uses, on a virtual clock. State lives in the service
 * objects (`ec2`, `autoScaling`, `loadBalancing`, `dynamodb`, `s3`, `codeBuild`, `sns`, `eventBridge`,
 * `stepFunctions`, `cloudFormation`); processes (boots, health checks, draining, termination, bakes) are scheduler events.
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
  /** API calls answered (and failed by faults), by "Service:Operation". */
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
    const region = this;
    this.context = {
      scheduler: this.scheduler,
      clock: this.clock,
      ids: this.ids,
      faults: this.faults,
      account: this.account,
      regionName: this.regionName,
      timing: resolveTiming(options.timing),
      touch: () => {
        region.changeCounter += 1;
      },
    };
    this.ec2 = new Ec2Service(this.context);
    this.loadBalancing = new LoadBalancingService(this.context, this.ec2);
    this.autoScaling = new AutoScalingService(this.context, this.ec2, this.loadBalancing);
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
    };
  }

  get timing(): Timing {
    return this.context.timing;
  }

  /** Changes timing for processes that start from now on (e.g. a slow boot for one step). */
  setTiming(overrides: Partial<Timing>): void {
    this.context.timing = resolveTiming({ ...this.context.timing, ...overrides });
  }

  /** How instances of `release` behave (scenario `deploy.appHealthy` / `deploy.bootFails`). */
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

  countCall(operation: string, input: object): void {
    this.apiCalls.set(operation, (this.apiCalls.get(operation) ?? 0) + 1);
    for (const listener of this.callListeners) listener(operation, input);
  }

  /** API call counts as a plain object, sorted by name. */
  apiCallCounts(): Record<string, number> {
    return Object.fromEntries([...this.apiCalls.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }
}
