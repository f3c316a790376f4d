import type { Scheduler, VirtualClock } from "./clock.js";
import type { FaultInjector } from "./faults.js";
import type { IdFactory } from "./ids.js";
import type { ConsistencyModel, Timing } from "./timing.js";

/** What every simulated service shares: time, ids, timing, faults, and a change counter. */
export interface RegionContext {
  readonly scheduler: Scheduler;
  readonly clock: VirtualClock;
  readonly ids: IdFactory;
  readonly faults: FaultInjector;
  readonly account: string;
  readonly regionName: string;
  /** Read at the moment a process starts (a boot started before a change keeps its old duration). */
  timing: Timing;
  /** How long changes take to show in other calls' answers (eventual consistency). */
  readonly consistency: ConsistencyModel;
  /** Marks a change that can affect routing (target health, instance state); the traffic model caches on it. */
  touch(): void;
}

/** Per-call context the region passes to handlers. */
export interface CallContext {
  /** Set by a `NotFound` fault: list-style describes hide resources created at or after this time. */
  hideCreatedSinceMs?: number;
}

/** A handler answers one operation: the input as the SDK sent it -> the output the transport writes back. */
export type OperationHandler = (input: never, call: CallContext) => object;
export type OperationHandlers = Record<string, OperationHandler>;

/** Output of a command as the handler builds it (the SDK adds `$metadata` when it reads the answer). */
export type Output<T> = Omit<T, "$metadata">;

/** AWS paging tokens are opaque; here they encode the offset. */
export function encodeToken(offset: number): string {
  return Buffer.from(`offset:${offset}`).toString("base64");
}

export function decodeToken(token: string | undefined): number | undefined {
  if (token === undefined) return 0;
  const match = /^offset:(\d+)$/.exec(Buffer.from(token, "base64").toString("utf8"));
  return match ? Number(match[1]) : undefined;
}

export function isHidden(createdAtMs: number, call: CallContext): boolean {
  return call.hideCreatedSinceMs !== undefined && createdAtMs >= call.hideCreatedSinceMs;
}
