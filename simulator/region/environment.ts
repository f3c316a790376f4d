import { type DeployConfig, type EnvironmentRefs, environmentSettings, type EnvironmentSettings } from "../../functions/lib/contract.js";
import { DEFAULTS } from "../../functions/lib/names.js";
import { parseStageConfig } from "../../stacks/config.js";
import type { SimulatedRegion } from "./region.js";
import { STOCK_IMAGE_OWNER } from "./services/ec2.js";
import type { HealthCheckSettings } from "./services/health.js";

/** Domain and hosted zone of every simulated environment: nothing resolves them, the configuration needs them. */
export const SIMULATED_DOMAIN = { domain: "sim.example.test", hostedZoneId: "Z0000SIMULATEDZONE00" } as const;

export interface CreateEnvironmentOptions {
  /** Default "webapp". */
  app?: string;
  /** The SST stage; default "staging". */
  environment?: string;
  /**
   * Stage configuration fields (stacks/config.ts: loadBalancer, capacities, timeouts, ...), validated exactly as
   * `sst deploy` validates them. The health check and draining come from the region's timing.
   */
  config?: Record<string, unknown>;
  /** Applied after validation: the local rehearsal's scaled-down waits, shorter than AWS allows. */
  scaledDown?: Partial<Pick<DeployConfig, "healthCheckGracePeriodSeconds" | "timeouts">> & { cutover?: Partial<Pick<DeployConfig["cutover"], "stepSeconds" | "bakeTimeSeconds">> };
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
 * Returns the settings the state machine's first state injects, built as the Pipeline stack builds them.
 */
/** How long before the simulation the Environment stack was deployed. */
const STACK_AGE_SECONDS = 3600;

export function createEnvironment(region: SimulatedRegion, options: CreateEnvironmentOptions = {}): EnvironmentSettings {
  const app = options.app ?? "webapp";
  const environment = options.environment ?? "staging";
  const timing = region.timing;
  const stageConfig = parseStageConfig(environment, { ...SIMULATED_DOMAIN, app, ...options.config });
  const healthCheck = {
    intervalSeconds: timing.healthCheckIntervalSeconds,
    healthyThreshold: timing.healthyThreshold,
    unhealthyThreshold: timing.unhealthyThreshold,
  };
  // The check's timeout is the stage's (an app slower than it fails its checks); the rest is the region's timing.
  const poolHealthCheck = { ...healthCheck, timeoutSeconds: stageConfig.healthCheck.timeoutSeconds };
  const config: DeployConfig & { loadBalancer: "application" | "classic" } = {
    ...stageConfig,
    healthCheck,
    drainingSeconds: timing.drainingSeconds,
    ...options.scaledDown,
    cutover: { ...stageConfig.cutover, ...options.scaledDown?.cutover },
  };
  const name = `${app}-${environment}`;
  // `sst deploy` made the stack well before the first deploy (and the stock image is older still): both are past
  // every eventual-consistency delay when the simulation starts.
  const deployedAtMs = region.now() - STACK_AGE_SECONDS * 1000;
  const stockImage = region.ec2.createImage({ name: "al2023-ami-2023.6-kernel-6.1-x86_64", tags: [], ownerId: STOCK_IMAGE_OWNER, createdAtMs: deployedAtMs });
  const launchTemplate = region.ec2.createLaunchTemplate({
    name,
    createdAtMs: deployedAtMs,
    data: {
      ImageId: stockImage.imageId,
      InstanceType: DEFAULTS.instanceType,
      MetadataOptions: { HttpTokens: "required", HttpEndpoint: "enabled" },
    },
  });
  const loadBalancer = createLoadBalancer(region, name, { healthCheck: poolHealthCheck, drainingSeconds: timing.drainingSeconds }, config.loadBalancer);
  const builtInAlarms = createCutoverAlarms(region, name, loadBalancer);
  // The operators' own alarms the stage names (cutover.alarms) exist already in a real account: here on an app metric
  // the region does not produce, so they change state only when a scenario sets it (SetAlarmState).
  for (const alarmName of stageConfig.cutover.alarms)
    region.call("CloudWatch", "PutMetricAlarm", {
      AlarmName: alarmName,
      Namespace: "Custom/App",
      MetricName: alarmName,
      Statistic: "Average",
      Period: 60,
      EvaluationPeriods: 1,
      Threshold: 0,
      ComparisonOperator: "GreaterThanThreshold",
      TreatMissingData: "ignore",
    });
  const lockTable = region.dynamodb.createTable(`${name}-DeployLocks`, LOCK_TABLE_PARTITION_KEY);
  const topicArn = region.sns.createTopic(`${name}-DeployOutcomes`);
  region.s3.createBucket(artifactBucketName(app, environment), { versioned: true });
  return environmentSettings(config, {
    region: region.regionName,
    loadBalancer,
    launchTemplateId: launchTemplate.launchTemplateId,
    subnetIds: [region.ids.next("subnet"), region.ids.next("subnet")],
    lockTableName: lockTable.name,
    topicArn,
    builtInAlarms,
  });
}

/**
 * The Environment stack's load balancer: an ALB's two target groups and its listener, whose default action
 * forwards all to the first and 0 to the second (stacks/Environment.ts); or a classic ELB.
 */
function createLoadBalancer(
  region: SimulatedRegion,
  name: string,
  pool: { healthCheck: HealthCheckSettings; drainingSeconds: number },
  kind: "application" | "classic",
): EnvironmentSettings["loadBalancer"] {
  if (kind === "classic") return { kind, loadBalancerName: region.loadBalancing.createClassicLoadBalancer({ name, ...pool }).name };
  const [first, second] = [name, `${name}-alt`].map((groupName) => region.loadBalancing.createTargetGroup({ name: groupName, ...pool }).arn);
  const listener = region.loadBalancing.createListener({
    loadBalancerName: name,
    defaultForward: [
      { targetGroupArn: first, weight: 1 },
      { targetGroupArn: second, weight: 0 },
    ],
  });
  return { kind, targetGroupArn: first, alternateTargetGroupArn: second, listenerArn: listener.arn };
}

/**
 * The alarms the Environment stack makes per target group or classic load balancer (stacks/Environment.ts,
 * `cutoverAlarms`): more than DEFAULTS.target5xxPerMinute target 5XX answers in a minute, or an unhealthy host;
 * one datapoint of one minute, missing data not breaching.
 */
function createCutoverAlarms(region: SimulatedRegion, name: string, loadBalancer: EnvironmentSettings["loadBalancer"]): EnvironmentRefs["builtInAlarms"] {
  const targets = loadBalancer.kind === "application" ? [loadBalancer.targetGroupArn, loadBalancer.alternateTargetGroupArn] : [loadBalancer.loadBalancerName];
  return targets.map((target, index) => {
    const metrics = region.loadBalancing.metricsOf(target);
    const id = loadBalancer.kind === "classic" ? "elb" : ["blue", "green"][index];
    const alarms = [
      { suffix: "target5xx", metricName: metrics.errors, statistic: "Sum" as const, threshold: DEFAULTS.target5xxPerMinute },
      { suffix: "unhealthyhosts", metricName: metrics.unhealthy, statistic: "Maximum" as const, threshold: 0 },
    ].map(({ suffix, metricName, statistic, threshold }) => {
      const alarmName = `${name}-${id}-${suffix}`;
      region.call("CloudWatch", "PutMetricAlarm", {
        AlarmName: alarmName,
        Namespace: metrics.namespace,
        MetricName: metricName,
        Dimensions: Object.entries(metrics.dimensions).map(([Name, Value]) => ({ Name, Value })),
        Statistic: statistic,
        Period: 60,
        EvaluationPeriods: 1,
        DatapointsToAlarm: 1,
        Threshold: threshold,
        ComparisonOperator: "GreaterThanThreshold",
        TreatMissingData: "notBreaching",
      });
      return alarmName;
    });
    return { target, alarms };
  });
}
