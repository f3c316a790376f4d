import type { LoadBalancerKind, Timing } from "../region/timing.js";

/** What a step makes AWS do, for the physical minimum. */
export interface PhysicalWork {
  /** "none": an existing image; "release": release bake on a reused base; "base-and-release": both. */
  bake: "none" | "release" | "base-and-release";
  /** A new group is launched and must become healthy in the group and at the load balancer. */
  launch: boolean;
  /** Old groups are drained and terminated (false on a first deploy, or a no-op). */
  retire: boolean;
  /** Termination lifecycle-hook delay, when the scenario injects one. */
  lifecycleHookSeconds?: number;
  /** How a new target becomes healthy (default "application"). */
  loadBalancer?: LoadBalancerKind;
  /**
   * How long a request takes (the scenario's traffic): draining physically lasts until the last request in flight
   * ends, not the whole deregistration delay (ALB and classic ELB complete a deregistration at once when nothing is
   * in flight). Unset: the whole delay (a model that does not see requests).
   */
  requestSeconds?: number;
}

export interface PhysicalMinimum {
  totalSeconds: number;
  parts: {
    bakeSeconds: number;
    bootSeconds: number;
    /** From InService (registration) to healthy at the load balancer, given appStart and the check schedule. */
    loadBalancerHealthySeconds: number;
    drainingSeconds: number;
    lifecycleHookSeconds: number;
    terminationSeconds: number;
  };
}

/**
 * Seconds from registration until the load balancer reports a new target healthy, in this region's model:
 * checks run every interval after registration; an ALB target is healthy at the first one after the app
 * started (one passing check), a classic ELB instance after healthyThreshold passes in a row from there. With
 * appStart <= interval: one interval (ALB), healthyThreshold x interval (classic).
 */
export function loadBalancerHealthySeconds(timing: Timing, loadBalancer: LoadBalancerKind): number {
  const firstPassingCheck = Math.max(1, Math.ceil(timing.appStartSeconds / timing.healthCheckIntervalSeconds));
  const passes = loadBalancer === "application" ? 1 : timing.healthyThreshold;
  return (firstPassingCheck + passes - 1) * timing.healthCheckIntervalSeconds;
}

/**
 * The time AWS itself needs for a step with zero orchestration delay: bake (+ base bake), boot, app start
 * and health checks up to healthy, then draining, lifecycle hook and termination of the old group. The
 * deploy's own polling, retries and API latency are what the benchmark compares against this.
 */
export function physicalMinimum(timing: Timing, work: PhysicalWork): PhysicalMinimum {
  const bakeSeconds =
    work.bake === "none" ? 0 : work.bake === "release" ? timing.bakeSeconds : timing.bakeSeconds + timing.baseBakeSeconds;
  const bootSeconds = work.launch ? timing.instanceBootSeconds : 0;
  const healthySeconds = work.launch ? loadBalancerHealthySeconds(timing, work.loadBalancer ?? "application") : 0;
  const drainingSeconds = work.retire ? Math.min(timing.drainingSeconds, work.requestSeconds ?? timing.drainingSeconds) : 0;
  const lifecycleHookSeconds = work.retire ? (work.lifecycleHookSeconds ?? 0) : 0;
  const terminationSeconds = work.retire ? timing.terminationSeconds : 0;
  return {
    totalSeconds: bakeSeconds + bootSeconds + healthySeconds + drainingSeconds + lifecycleHookSeconds + terminationSeconds,
    parts: { bakeSeconds, bootSeconds, loadBalancerHealthySeconds: healthySeconds, drainingSeconds, lifecycleHookSeconds, terminationSeconds },
  };
}
