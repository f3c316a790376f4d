import { DEFAULTS } from "../../functions/lib/names.js";

/** How long AWS itself takes for each physical process (docs/design.md "Simulation", scenario `timing`). */
export interface Timing {
  /** RunInstances -> EC2 `running` and Auto Scaling `InService` (then the instance is registered with the LB). */
  instanceBootSeconds: number;
  /** After `running`: until the app answers its health check (never for a broken release). */
  appStartSeconds: number;
  healthCheckIntervalSeconds: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  /** ALB deregistration delay / classic ELB connection-draining timeout. */
  drainingSeconds: number;
  /** EC2 `shutting-down` -> `terminated`. */
  terminationSeconds: number;
  /** CodeBuild bake of the release image. */
  bakeSeconds: number;
  /** Extra CodeBuild time when the base image must be baked first. */
  baseBakeSeconds: number;
}

export const DEFAULT_TIMING: Readonly<Timing> = Object.freeze({
  instanceBootSeconds: 40,
  appStartSeconds: 5,
  healthCheckIntervalSeconds: DEFAULTS.healthCheckIntervalSeconds,
  healthyThreshold: DEFAULTS.healthyThreshold,
  unhealthyThreshold: DEFAULTS.unhealthyThreshold,
  drainingSeconds: DEFAULTS.drainingSeconds,
  terminationSeconds: 30,
  bakeSeconds: 600,
  baseBakeSeconds: 900,
});

export type LoadBalancerKind = "application" | "classic";

/**
 * Fixed delays of the region that are not in the scenario's `timing` (kept small and explicit so the
 * physical minimum stays dominated by the processes above).
 */
export const REGION_DELAYS = {
  /** DeleteAutoScalingGroup of an empty group: `Delete in progress` -> gone. */
  groupDeleteSeconds: 10,
  /** Auto Scaling retries a failed launch (boot failure, missing image) after this long. */
  launchRetrySeconds: 10,
  /** A new AMI (and its snapshot) stays `pending` this long before `available` (inside the bake time). */
  imageAvailableSeconds: 60,
  /**
   * Auto Scaling notices an instance stopped behind its back at its next EC2 health check (AWS does not
   * publish the period; 30 s assumed). Until then the load balancer may still route to it.
   */
  autoScalingHealthCheckSeconds: 30,
  /** Terminated instances stay visible to DescribeInstances this long, as in EC2. */
  terminatedVisibleSeconds: 3600,
} as const;

export function resolveTiming(overrides: Partial<Timing> = {}): Timing {
  const timing: Timing = { ...DEFAULT_TIMING, ...overrides };
  for (const [name, value] of Object.entries(timing)) {
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      throw new RangeError(`timing.${name} must be a number >= 0, got ${JSON.stringify(value)}`);
    }
  }
  if (timing.healthyThreshold < 1 || timing.unhealthyThreshold < 1 || timing.healthCheckIntervalSeconds <= 0) {
    throw new RangeError("timing: thresholds must be >= 1 and healthCheckIntervalSeconds > 0");
  }
  return timing;
}
