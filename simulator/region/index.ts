/** The simulated AWS region: one import for the runner, scenarios and tests. */
export { SIMULATION_EPOCH_MS, Scheduler, VirtualClock, type ScheduledEvent } from "./clock.js";
export { SimulatedRegion, type SimulatedRegionOptions, type RegionAnswer } from "./region.js";
export { attachRegion, bindFunctionClock, UnmodelledOperationError, REGION_MIDDLEWARE_NAME, type RegionAttachment } from "./middleware.js";
export { awsError, LostResponse, RegionError, type ServiceName } from "./errors.js";
export { FaultInjector, type Fault, type ApiErrorFault, type SlowAnswerFault, type LaunchCapacityFault, type CrashAfterEvent } from "./faults.js";
export { createEnvironment, artifactBucketName, LOCK_TABLE_PARTITION_KEY, SIMULATED_DOMAIN, type CreateEnvironmentOptions } from "./environment.js";
export { NO_HEALTHY_TARGET, TrafficModel, type TrafficCounters, type TrafficFailure, type TrafficOptions } from "./traffic.js";
export { physicalMinimum, loadBalancerHealthySeconds, type PhysicalWork, type PhysicalMinimum } from "../scenarios/physical.js";
export { leftovers, countLeftovers, imagesInUse, deregisteredImagesInUse, liveReleases, environmentGroups, type Leftovers } from "../scenarios/inventory.js";
export {
  DEFAULT_TIMING,
  LAMBDA_INIT_LIMIT_SECONDS,
  LATENCY_TIMING_FIELDS,
  NO_ORCHESTRATION_LATENCY,
  HEALTH_CHECK_PHASES,
  TIMING_NUMBERS,
  type HealthCheckPhase,
  REGION_DELAYS,
  resolveTiming,
  type Timing,
  type LoadBalancerKind,
  DEFAULT_CONSISTENCY,
  IMMEDIATE_CONSISTENCY,
  resolveConsistency,
  ConsistencyModel,
  type ConsistencySettings,
  type DelayRange,
} from "./timing.js";
export { RegionHttpHandler } from "./transport.js";
export { type RegionTime, Sandbox, currentRegionTime, onRegionTime } from "./virtualTime.js";
export type { SimBakeRequest, SimBuild, CodeBuildSyncOutput } from "./services/codebuild.js";
export type { S3ObjectCreatedEvent, EventBridgeEvent, DeliveredEvent } from "./services/messaging.js";
export type { SimExecution, SimStateMachine, StateMachineControl } from "./services/stepfunctions.js";
export { outputsOfTemplate, type PhysicalValues, type SimStack } from "./services/cloudformation.js";
export type { ReleaseBehavior, SimInstance, SimImage } from "./services/ec2.js";
