/**
 * Faults a scenario injects into the region (docs/design.md "Simulation", `faults`). API errors are consumed by
 * the middleware; the physical ones (lifecycle-hook delay, snapshot still in use, bake failure) by the
 * services that model them.
 */

/** `{ operation: "AutoScaling:DescribeAutoScalingGroups", error: "Throttling", times: 5 }`: the next n calls fail. */
export interface ApiErrorFault {
  operation: string;
  /**
   * An AWS error code (`Throttling`, `RequestLimitExceeded`, `InternalError`, ...), or the symbolic
   * `NotFound`: "not visible yet" right after a create. For list-style describes (DescribeAutoScalingGroups,
   * DescribeImages, DescribeLaunchTemplateVersions, DescribeInstances, DescribeTargetHealth) it hides the
   * resources created since the fault was armed; elsewhere it throws the service's own NotFound code.
   */
  error: string;
  /** Default 1. */
  times?: number;
  message?: string;
}

/** Auto Scaling termination lifecycle hook: each terminating instance waits this long in `Terminating:Wait`. */
export interface LifecycleHookFault {
  lifecycleHookSeconds: number;
}

/** The next n DeleteSnapshot calls fail with `InvalidSnapshot.InUse` (the image deregistration is not settled yet). */
export interface SnapshotInUseFault {
  snapshotInUseTimes: number;
}

/** The next n CodeBuild bakes fail (build status FAILED, no image). */
export interface BakeFailureFault {
  bakeFailsTimes: number;
}

/** `{ operation, slowSeconds, times }`: the next n answers to that operation arrive that much later (a slow AWS). */
export interface SlowAnswerFault {
  operation: string;
  slowSeconds: number;
  /** Default 1. */
  times?: number;
}

/**
 * Auto Scaling's own launches run out of EC2 capacity: after `available` more instances (of `instanceType`, in
 * `availabilityZone`, when given), each launch fails with InsufficientInstanceCapacity (a failed scaling
 * activity; Auto Scaling retries), until `times` launches have failed (then capacity is back; default: for as
 * long as the fault is armed).
 */
export interface LaunchCapacityFault {
  launchCapacity: { available: number; times?: number; instanceType?: string; availabilityZone?: string };
}

export type Fault = ApiErrorFault | SlowAnswerFault | LifecycleHookFault | SnapshotInUseFault | BakeFailureFault | LaunchCapacityFault;

/** What the runner hears when a `crashAfter` operation succeeded. */
export interface CrashAfterEvent {
  operation: string;
  input: unknown;
  output: unknown;
}

interface ArmedApiError {
  operation: string;
  error: string;
  remaining: number;
  message?: string;
  armedAtMs: number;
}

interface CrashHook {
  operation: string;
  callback: (event: CrashAfterEvent) => void;
}

interface ArmedCapacityLimit {
  available: number;
  failuresLeft?: number;
  instanceType?: string;
  availabilityZone?: string;
}

export class FaultInjector {
  private apiErrors: ArmedApiError[] = [];
  private slowAnswers: Array<{ operation: string; slowSeconds: number; remaining: number }> = [];
  private capacityLimit?: ArmedCapacityLimit;
  private crashHooks: CrashHook[] = [];
  lifecycleHookSeconds = 0;
  snapshotInUseRemaining = 0;
  bakeFailuresRemaining = 0;

  constructor(private readonly now: () => number) {}

  /** Arms the scenario step's faults (adds to what is armed already). Unknown shapes are rejected. */
  inject(faults: readonly Fault[]): void {
    for (const fault of faults) {
      if ("operation" in fault && !/^[A-Za-z0-9]+:[A-Za-z0-9]+$/.test(fault.operation)) {
        throw new RangeError(`fault.operation must look like "Service:Operation", got ${fault.operation}`);
      }
      if ("operation" in fault && "slowSeconds" in fault) {
        if (!(fault.slowSeconds >= 0)) throw new RangeError(`fault.slowSeconds must be >= 0, got ${fault.slowSeconds}`);
        this.slowAnswers.push({ operation: fault.operation, slowSeconds: fault.slowSeconds, remaining: fault.times ?? 1 });
      } else if ("launchCapacity" in fault) {
        this.limitLaunchCapacity(fault.launchCapacity);
      } else if ("operation" in fault && "error" in fault) {
        this.apiErrors.push({
          operation: fault.operation,
          error: fault.error,
          remaining: fault.times ?? 1,
          message: fault.message,
          armedAtMs: this.now(),
        });
      } else if ("lifecycleHookSeconds" in fault) {
        this.lifecycleHookSeconds = fault.lifecycleHookSeconds;
      } else if ("snapshotInUseTimes" in fault) {
        this.snapshotInUseRemaining += fault.snapshotInUseTimes;
      } else if ("bakeFailsTimes" in fault) {
        this.bakeFailuresRemaining += fault.bakeFailsTimes;
      } else {
        throw new RangeError(`Unknown fault: ${JSON.stringify(fault)}`);
      }
    }
  }

  /**
   * After `operation` ("Service:Operation") succeeds, `callback` runs once with its input and output, before
   * the caller gets the output. Whatever it throws is what the caller's `send` throws (a "crash").
   */
  crashAfter(operation: string, callback: (event: CrashAfterEvent) => void): void {
    this.crashHooks.push({ operation, callback });
  }

  /** Launches beyond `available` instances fail with InsufficientInstanceCapacity, `times` times (LaunchCapacityFault). */
  limitLaunchCapacity(limit: LaunchCapacityFault["launchCapacity"]): void {
    const { available, times, instanceType, availabilityZone } = limit;
    if (!Number.isInteger(available) || available < 0 || (times !== undefined && (!Number.isInteger(times) || times < 1)))
      throw new RangeError(`launchCapacity needs an integer available >= 0 and times >= 1, got ${JSON.stringify(limit)}`);
    this.capacityLimit = { available, failuresLeft: times, instanceType, availabilityZone };
  }

  /** Clears every armed fault (between scenario steps). */
  clear(): void {
    this.apiErrors = [];
    this.slowAnswers = [];
    this.capacityLimit = undefined;
    this.crashHooks = [];
    this.lifecycleHookSeconds = 0;
    this.snapshotInUseRemaining = 0;
    this.bakeFailuresRemaining = 0;
  }

  /** Consumes one armed API error for `operation`, if any. */
  takeApiError(operation: string): { error: string; message?: string; armedAtMs: number } | undefined {
    const armed = this.apiErrors.find((fault) => fault.operation === operation && fault.remaining > 0);
    if (!armed) return undefined;
    armed.remaining -= 1;
    this.apiErrors = this.apiErrors.filter((fault) => fault.remaining > 0);
    return { error: armed.error, message: armed.message, armedAtMs: armed.armedAtMs };
  }

  /** Extra seconds the next answer to `operation` takes (consumes one slow-answer fault), 0 when none is armed. */
  takeSlowAnswer(operation: string): number {
    const armed = this.slowAnswers.find((fault) => fault.operation === operation && fault.remaining > 0);
    if (!armed) return 0;
    armed.remaining -= 1;
    this.slowAnswers = this.slowAnswers.filter((fault) => fault.remaining > 0);
    return armed.slowSeconds;
  }

  /** One launch of `instanceType` in `availabilityZone`: false when EC2 has no capacity for it now. */
  takeLaunchCapacity(instanceType: string, availabilityZone: string): boolean {
    const limit = this.capacityLimit;
    if (!limit) return true;
    if ((limit.instanceType && limit.instanceType !== instanceType) || (limit.availabilityZone && limit.availabilityZone !== availabilityZone)) return true;
    if (limit.available > 0) {
      limit.available -= 1;
      return true;
    }
    if (limit.failuresLeft !== undefined) {
      limit.failuresLeft -= 1;
      if (limit.failuresLeft <= 0) this.capacityLimit = undefined;
    }
    return false;
  }

  /** Removes and returns the crash hooks for `operation` (each fires once). */
  takeCrashHooks(operation: string): Array<(event: CrashAfterEvent) => void> {
    const hooks = this.crashHooks.filter((hook) => hook.operation === operation);
    this.crashHooks = this.crashHooks.filter((hook) => hook.operation !== operation);
    return hooks.map((hook) => hook.callback);
  }

  takeSnapshotInUse(): boolean {
    if (this.snapshotInUseRemaining <= 0) return false;
    this.snapshotInUseRemaining -= 1;
    return true;
  }

  takeBakeFailure(): boolean {
    if (this.bakeFailuresRemaining <= 0) return false;
    this.bakeFailuresRemaining -= 1;
    return true;
  }

  /** API errors still armed (for reports: a fault that never fired is usually a scenario mistake). */
  pendingApiErrors(): Array<{ operation: string; error: string; remaining: number }> {
    return this.apiErrors.map(({ operation, error, remaining }) => ({ operation, error, remaining }));
  }
}
