import { type CutoverSettings, trafficLevels } from "../../functions/lib/contract.js";
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
  /**
   * The cutover's configured time when old groups served: the steps below 100 % and the bake time (stage
   * configuration `cutover`). On a classic ELB the old groups leave the load balancer when the bake time begins, so
   * their draining runs during it.
   */
  cutover?: { stepsSeconds: number; bakeTimeSeconds: number };
  /**
   * Seconds from each new target's registration to its first health check, as the region scheduled them
   * (`Registration.firstCheckAtMs`; timing `healthCheckPhase`). The bound takes the slowest target: the release
   * serves every request at full capacity once all its targets are healthy. Unset or empty: one interval each
   * (the "aligned" phase).
   */
  firstCheckSeconds?: readonly number[];
}

export interface PhysicalMinimum {
  totalSeconds: number;
  parts: {
    bakeSeconds: number;
    bootSeconds: number;
    /** From InService (registration) to healthy at the load balancer, given appStart and the check schedule. */
    loadBalancerHealthySeconds: number;
    /** The configured cutover: steps below 100 % (before the new release serves everything) and the bake time. */
    cutoverSeconds: number;
    cutoverStepsSeconds: number;
    drainingSeconds: number;
    lifecycleHookSeconds: number;
    terminationSeconds: number;
  };
}

/**
 * Seconds from registration until the load balancer reports a new target healthy, in this region's model: the
 * first check comes `firstCheckSeconds` after registration (default one interval: the "aligned" phase), the
 * next ones every interval from there; an ALB target is healthy at the first check at or after the app started
 * (one passing check), a classic ELB instance after healthyThreshold passes in a row from there. Aligned, with
 * appStart <= interval: one interval (ALB), healthyThreshold x interval (classic). A seeded phase p in
 * (0, interval]: p when the app has started by then, else the first p + k x interval that is at least appStart.
 */
export function loadBalancerHealthySeconds(timing: Timing, loadBalancer: LoadBalancerKind, firstCheckSeconds = timing.healthCheckIntervalSeconds): number {
  const interval = timing.healthCheckIntervalSeconds;
  const checksBeforeAppStarts = Math.max(0, Math.ceil((timing.appStartSeconds - firstCheckSeconds) / interval));
  const passes = loadBalancer === "application" ? 1 : timing.healthyThreshold;
  return firstCheckSeconds + (checksBeforeAppStarts + passes - 1) * interval;
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
  const firstChecks = work.firstCheckSeconds?.length ? work.firstCheckSeconds : [timing.healthCheckIntervalSeconds];
  const healthySeconds = work.launch ? Math.max(...firstChecks.map((first) => loadBalancerHealthySeconds(timing, work.loadBalancer ?? "application", first))) : 0;
  const cutover = work.retire && work.cutover ? work.cutover : { stepsSeconds: 0, bakeTimeSeconds: 0 };
  const cutoverSeconds = cutover.stepsSeconds + cutover.bakeTimeSeconds;
  const drainedDuringBake = work.loadBalancer === "classic" ? cutover.bakeTimeSeconds : 0;
  const drainingSeconds = work.retire ? Math.max(0, Math.min(timing.drainingSeconds, work.requestSeconds ?? timing.drainingSeconds) - drainedDuringBake) : 0;
  const lifecycleHookSeconds = work.retire ? (work.lifecycleHookSeconds ?? 0) : 0;
  const terminationSeconds = work.retire ? timing.terminationSeconds : 0;
  return {
    totalSeconds: bakeSeconds + bootSeconds + healthySeconds + cutoverSeconds + drainingSeconds + lifecycleHookSeconds + terminationSeconds,
    parts: { bakeSeconds, bootSeconds, loadBalancerHealthySeconds: healthySeconds, cutoverSeconds, cutoverStepsSeconds: cutover.stepsSeconds, drainingSeconds, lifecycleHookSeconds, terminationSeconds },
  };
}

/** The cutover time a stage's configuration asks for when old groups serve: its steps below 100 % and the bake time. */
export function configuredCutoverSeconds(cutover: CutoverSettings): { stepsSeconds: number; bakeTimeSeconds: number } {
  return { stepsSeconds: (trafficLevels(cutover.strategy, cutover.stepPercent).length - 1) * cutover.stepSeconds, bakeTimeSeconds: cutover.bakeTimeSeconds };
}
