import { DEFAULTS } from "../../../functions/lib/names.js";
import type { ScheduledEvent } from "../clock.js";
import type { RegionContext } from "../context.js";
import type { Ec2Service } from "./ec2.js";

/** Targets per target group / per load balancer, the default quota (see HealthCheckedPool.register). */
export const TARGETS_QUOTA = 1000;

export type RegistrationState = "initial" | "healthy" | "unhealthy" | "draining";

export interface HealthCheckSettings {
  intervalSeconds: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  /** No answer within this long fails the check (`Target.Timeout`); default DEFAULTS.healthCheckTimeoutSeconds. */
  timeoutSeconds?: number;
}

export interface Registration {
  instanceId: string;
  state: RegistrationState;
  registeredAtMs: number;
  /** When its first health check comes: one interval after registration, or the seeded phase (timing `healthCheckPhase`). */
  firstCheckAtMs: number;
  consecutiveOk: number;
  consecutiveFail: number;
  /** Why the last checks failed: the instance is not running, or it runs but the app does not answer. */
  failureKind?: "timeout" | "failed-checks";
  drainingUntilMs?: number;
  timer?: ScheduledEvent;
}

export type RegistrationListener = (pool: HealthCheckedPool, instanceId: string, registration: Registration | undefined) => void;

/** One health check's outcome: passed, answered but failed (`failed-checks`), or got no answer (`timeout`). */
export type HealthProbeResult = "passed" | "failed-checks" | "timeout";

/**
 * Performs one health check of a registered instance for real (the local rehearsal: an HTTP GET of the
 * health path) and calls `report` once with the outcome. Without a probe the model decides from the
 * instance's state. Intervals and thresholds stay the pool's, so both agree on when a target turns healthy.
 */
export type HealthProbe = (pool: HealthCheckedPool, instanceId: string, report: (result: HealthProbeResult) => void) => void;

/**
 * The registrations of one load balancer (an ALB target group or a classic ELB) and their health checks.
 * Each registered instance is checked every interval from its first check, which comes one interval after its
 * registration or, with timing `healthCheckPhase` "seeded", at a seeded phase within that interval; it becomes healthy after
 * healthyThreshold consecutive successes (a new ALB target after one) and unhealthy after unhealthyThreshold
 * consecutive failures. A
 * check succeeds when the instance is `running` and its app serves. Deregistration drains for the delay
 * (immediately removed when the pool drains only healthy instances and this one was not).
 */
export class HealthCheckedPool {
  readonly registrations = new Map<string, Registration>();
  /** Registrations refused because the load balancer had TARGETS_QUOTA targets already. */
  refusedOverQuota = 0;

  constructor(
    readonly id: string,
    private readonly ctx: RegionContext,
    private readonly ec2: Ec2Service,
    public healthCheck: HealthCheckSettings,
    public drainingSeconds: number,
    private readonly listener: RegistrationListener,
    private readonly drainOnlyHealthy: boolean,
    /** The current real health check, if any (read at each check, so it can be set after the pool exists). */
    private readonly probe: () => HealthProbe | undefined = () => undefined,
    /** ALB: a newly registered (`initial`) target is healthy after one passing check, not healthyThreshold. */
    private readonly options: { initialHealthyAfterOnePass?: boolean } = {},
  ) {}

  /**
   * Registers a target, within the load balancer's quota: "Targets per Target Group per Region (instances or IP
   * addresses)" and "Targets per Application Load Balancer" are 1,000 by default, as are "Registered Instances per
   * Classic Load Balancer" (ELB User Guides, "Quotas for your Application Load Balancers" / "... Classic Load
   * Balancer"; adjustable). Beyond it the target is not registered (AWS refuses it: it never takes traffic), and
   * `refusedOverQuota` counts it. Draining targets count: they are registered until they leave.
   */
  register(instanceId: string): void {
    const existing = this.registrations.get(instanceId);
    if (existing && existing.state !== "draining") return;
    if (!existing && this.registrations.size >= TARGETS_QUOTA) {
      this.refusedOverQuota++;
      return;
    }
    existing?.timer?.cancel();
    const registeredAtMs = this.ctx.clock.now();
    const registration: Registration = {
      instanceId,
      state: "initial",
      registeredAtMs,
      firstCheckAtMs: registeredAtMs + this.firstCheckDelayMs(instanceId),
      consecutiveOk: 0,
      consecutiveFail: 0,
    };
    this.registrations.set(instanceId, registration);
    this.scheduleCheck(registration, registration.firstCheckAtMs);
    this.changed(instanceId, registration);
  }

  /**
   * From registration to the target's first check (timing `healthCheckPhase`, read at registration): one interval
   * ("aligned"), or a seeded draw in (0, interval] per load balancer and instance ("seeded": AWS documents no phase;
   * each load balancer node checks on its own schedule). The checks then run every interval from the first.
   */
  private firstCheckDelayMs(instanceId: string): number {
    const intervalMs = this.healthCheck.intervalSeconds * 1000;
    return this.ctx.timing.healthCheckPhase === "seeded" ? this.ctx.consistency.healthCheckPhaseMs(`${this.id}|${instanceId}`, intervalMs) : intervalMs;
  }

  deregister(instanceId: string): void {
    const registration = this.registrations.get(instanceId);
    if (!registration || registration.state === "draining") return;
    registration.timer?.cancel();
    const drains = this.drainingSeconds > 0 && (!this.drainOnlyHealthy || registration.state === "healthy");
    if (!drains) {
      this.registrations.delete(instanceId);
      this.changed(instanceId, undefined);
      return;
    }
    registration.state = "draining";
    registration.drainingUntilMs = this.ctx.clock.now() + this.drainingSeconds * 1000;
    registration.timer = this.ctx.scheduler.at(
      registration.drainingUntilMs,
      () => {
        if (this.registrations.get(instanceId) !== registration) return;
        this.registrations.delete(instanceId);
        this.changed(instanceId, undefined);
      },
      `drained ${instanceId} from ${this.id}`,
    );
    this.changed(instanceId, registration);
  }

  /**
   * Ends a deregistration before the delay when the target has no in-flight request left, as ALB does
   * ("If a deregistering target has no in-flight requests and no active connections, Elastic Load Balancing
   * immediately completes the deregistration process"). Only a data plane that sees requests can tell.
   */
  finishDraining(instanceId: string): void {
    const registration = this.registrations.get(instanceId);
    if (!registration || registration.state !== "draining") return;
    registration.timer?.cancel();
    this.registrations.delete(instanceId);
    this.changed(instanceId, undefined);
  }

  /** Instances that get new requests: healthy and not draining. */
  routableInstanceIds(): string[] {
    return [...this.registrations.values()].filter((r) => r.state === "healthy").map((r) => r.instanceId);
  }

  private scheduleCheck(registration: Registration, atMs = this.ctx.clock.now() + this.healthCheck.intervalSeconds * 1000): void {
    registration.timer = this.ctx.scheduler.at(
      atMs,
      () => this.check(registration),
      `health check ${registration.instanceId} at ${this.id}`,
    );
  }

  private isCurrent(registration: Registration): boolean {
    return this.registrations.get(registration.instanceId) === registration && registration.state !== "draining";
  }

  private check(registration: Registration): void {
    if (!this.isCurrent(registration)) return;
    const probe = this.probe();
    if (probe) {
      let reported = false;
      probe(this, registration.instanceId, (result) => {
        // The target may have been deregistered while the check was on its way.
        if (reported || !this.isCurrent(registration)) return;
        reported = true;
        this.record(registration, result);
      });
      return;
    }
    const instance = this.ec2.instances.get(registration.instanceId);
    const ok = instance !== undefined && instance.state === "running" && instance.appServing;
    if (ok && instance.answerSeconds > 0) return this.awaitSlowAnswer(registration, instance.answerSeconds);
    this.record(registration, ok ? "passed" : instance?.state === "running" ? "failed-checks" : "timeout");
  }

  /**
   * An app that takes `answerSeconds` per answer: the check passes when the answer comes, or fails as a
   * `Target.Timeout` once the health check timeout passes first ("the amount of time during which no response
   * from a target means a failed health check", ELB API reference, HealthCheckTimeoutSeconds). The next check
   * still starts one interval after this one.
   */
  private awaitSlowAnswer(registration: Registration, answerSeconds: number): void {
    const startedAtMs = this.ctx.clock.now();
    const timeoutSeconds = this.healthCheck.timeoutSeconds ?? DEFAULTS.healthCheckTimeoutSeconds;
    const answered = answerSeconds < timeoutSeconds;
    registration.timer = this.ctx.scheduler.after(
      answered ? answerSeconds : timeoutSeconds,
      () => {
        if (!this.isCurrent(registration)) return;
        this.record(registration, answered ? "passed" : "timeout", startedAtMs + this.healthCheck.intervalSeconds * 1000);
      },
      `health check answer ${registration.instanceId} at ${this.id}`,
    );
  }

  private record(registration: Registration, result: HealthProbeResult, nextCheckAtMs?: number): void {
    const before = registration.state;
    if (result === "passed") {
      registration.consecutiveOk += 1;
      registration.consecutiveFail = 0;
      const needed = registration.state === "initial" && this.options.initialHealthyAfterOnePass ? 1 : this.healthCheck.healthyThreshold;
      if (registration.state !== "healthy" && registration.consecutiveOk >= needed) {
        registration.state = "healthy";
        registration.failureKind = undefined;
      }
    } else {
      registration.consecutiveFail += 1;
      registration.consecutiveOk = 0;
      registration.failureKind = result;
      if (registration.state !== "unhealthy" && registration.consecutiveFail >= this.healthCheck.unhealthyThreshold) {
        registration.state = "unhealthy";
      }
    }
    this.scheduleCheck(registration, nextCheckAtMs);
    if (registration.state !== before) this.changed(registration.instanceId, registration);
  }

  private changed(instanceId: string, registration: Registration | undefined): void {
    this.ctx.touch();
    this.listener(this, instanceId, registration);
  }
}
