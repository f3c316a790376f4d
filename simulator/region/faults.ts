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

/**
 * EC2 is short of capacity for the instance type: Auto Scaling's own launches succeed for `available` more
 * instances, then fail with InsufficientInstanceCapacity (a failed scaling activity, retried by the group)
 * `times` times (default: for as long as the fault is armed), then capacity is back.
 */
export interface LaunchCapacityFault {
  launchCapacity: { available: number; times?: number };
}

export type Fault = ApiErrorFault | LifecycleHookFault | SnapshotInUseFault | BakeFailureFault | LaunchCapacityFault;

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

export class FaultInjector {
  private apiErrors: ArmedApiError[] = [];
  private crashHooks: CrashHook[] = [];
  lifecycleHookSeconds = 0;
  snapshotInUseRemaining = 0;
  bakeFailuresRemaining = 0;
  private launchCapacity?: { available: number; failuresLeft: number };

  constructor(private readonly now: () => number) {}

  /** Arms the scenario step's faults (adds to what is armed already). Unknown shapes are rejected. */
  inject(faults: readonly Fault[]): void {
    for (const fault of faults) {
      if ("operation" in fault && "error" in fault) {
        if (!/^[A-Za-z0-9]+:[A-Za-z0-9]+$/.test(fault.operation)) {
          throw new RangeError(`fault.operation must look like "Service:Operation", got ${fault.operation}`);
        }
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
      } else if ("launchCapacity" in fault) {
        this.limitLaunchCapacity(fault.launchCapacity);
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
  limitLaunchCapacity(limit: { available: number; times?: number }): void {
    if (!(limit.available >= 0) || (limit.times !== undefined && !(limit.times >= 1)))
      throw new RangeError(`launchCapacity needs available >= 0 and times >= 1, got ${JSON.stringify(limit)}`);
    this.launchCapacity = { available: limit.available, failuresLeft: limit.times ?? Number.POSITIVE_INFINITY };
  }

  /** Consumes capacity for one launch: false when this launch fails for lack of capacity. */
  takeLaunchCapacity(): boolean {
    const limit = this.launchCapacity;
    if (!limit) return true;
    if (limit.available > 0) {
      limit.available -= 1;
      return true;
    }
    limit.failuresLeft -= 1;
    if (limit.failuresLeft <= 0) this.launchCapacity = undefined;
    return false;
  }

  /** Clears every armed fault (between scenario steps). */
  clear(): void {
    this.apiErrors = [];
    this.crashHooks = [];
    this.lifecycleHookSeconds = 0;
    this.snapshotInUseRemaining = 0;
    this.bakeFailuresRemaining = 0;
    this.launchCapacity = undefined;
  }

  /** Consumes one armed API error for `operation`, if any. */
  takeApiError(operation: string): { error: string; message?: string; armedAtMs: number } | undefined {
    const armed = this.apiErrors.find((fault) => fault.operation === operation && fault.remaining > 0);
    if (!armed) return undefined;
    armed.remaining -= 1;
    this.apiErrors = this.apiErrors.filter((fault) => fault.remaining > 0);
    return { error: armed.error, message: armed.message, armedAtMs: armed.armedAtMs };
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
