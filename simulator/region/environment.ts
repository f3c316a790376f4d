import type { EnvironmentSettings } from "../../functions/lib/contract.js";
import { DEFAULTS } from "../../functions/lib/names.js";
import type { SimulatedRegion } from "./region.js";
import { STOCK_IMAGE_OWNER } from "./services/ec2.js";
import { type EnvironmentOptions, resolveEnvironment } from "./timing.js";

export interface CreateEnvironmentOptions extends Partial<EnvironmentOptions> {
  /** Default "webapp". */
  app?: string;
  /** The SST stage; default "staging". */
  environment?: string;
}

/** Partition key of the deploy lock table (stacks/Pipeline.ts `DeployLocks`, functions/lib/lock.ts). */
export const LOCK_TABLE_PARTITION_KEY = "lockId";

/** The artifact bucket the simulated Pipeline stack owns for an environment. */
export function artifactBucketName(app: string, environment: string): string {
  return `${app}-${environment}-artifacts`;
}

/**
 * Creates what `sst deploy` (Environment + Pipeline stacks) would have created: two subnets, the launch
 * template (version 1 on a stock AMI), the target group or classic ELB with the timing's health check and
 * draining, the lock table, the topic, the artifact bucket (versioned, EventBridge notifications on).
 * Returns the settings the state machine's first state injects.
 */
export function createEnvironment(region: SimulatedRegion, options: CreateEnvironmentOptions = {}): EnvironmentSettings {
  const app = options.app ?? "webapp";
  const environment = options.environment ?? "staging";
  const { loadBalancer, minCapacity, desiredCapacity, maxCapacity } = resolveEnvironment(options);
  const timing = region.timing;
  const name = `${app}-${environment}`;
  const stockImage = region.ec2.createImage({ name: "al2023-ami-2023.6-kernel-6.1-x86_64", tags: [], ownerId: STOCK_IMAGE_OWNER });
  const launchTemplate = region.ec2.createLaunchTemplate({
    name,
    data: {
      ImageId: stockImage.imageId,
      InstanceType: DEFAULTS.instanceType,
      MetadataOptions: { HttpTokens: "required", HttpEndpoint: "enabled" },
    },
  });
  const healthCheck = {
    intervalSeconds: timing.healthCheckIntervalSeconds,
    healthyThreshold: timing.healthyThreshold,
    unhealthyThreshold: timing.unhealthyThreshold,
  };
  const loadBalancerSettings: EnvironmentSettings["loadBalancer"] =
    loadBalancer === "application"
      ? { kind: "application", targetGroupArn: region.loadBalancing.createTargetGroup({ name, healthCheck, drainingSeconds: timing.drainingSeconds }).arn }
      : { kind: "classic", loadBalancerName: region.loadBalancing.createClassicLoadBalancer({ name, healthCheck, drainingSeconds: timing.drainingSeconds }).name };
  const lockTable = region.dynamodb.createTable(`${name}-DeployLocks`, LOCK_TABLE_PARTITION_KEY);
  const topicArn = region.sns.createTopic(`${name}-DeployOutcomes`);
  region.s3.createBucket(artifactBucketName(app, environment), { versioned: true });
  return {
    app,
    environment,
    region: region.regionName,
    loadBalancer: loadBalancerSettings,
    launchTemplateId: launchTemplate.launchTemplateId,
    subnetIds: [region.ids.next("subnet"), region.ids.next("subnet")],
    capacity: { min: minCapacity, desired: desiredCapacity, max: maxCapacity },
    healthCheck,
    healthCheckGracePeriodSeconds: DEFAULTS.healthCheckGracePeriodSeconds,
    drainingSeconds: timing.drainingSeconds,
    timeouts: {
      lockWaitSeconds: DEFAULTS.lockWaitSeconds,
      groupHealthySeconds: DEFAULTS.groupHealthySeconds,
      loadBalancerHealthySeconds: DEFAULTS.loadBalancerHealthySeconds,
      retireSeconds: DEFAULTS.retireSeconds,
    },
    retainReleaseImages: DEFAULTS.retainReleaseImages,
    lockTableName: lockTable.name,
    topicArn,
    eventBusName: "default",
  };
}
