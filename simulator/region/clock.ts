/**
 * Virtual time for the simulated region: a clock that only moves when told to, and a discrete-event
 * scheduler whose events (instance boots, health checks, draining, bakes, Wait-state wake-ups) fire in time
 * order. Nothing here ever sleeps for real, so an hour-long deploy simulates in milliseconds.
 */

/** Default start of simulated time: 2026-01-01T00:00:00Z. */
export const SIMULATION_EPOCH_MS = Date.UTC(2026, 0, 1);

export class VirtualClock {
  private currentMs: number;

  constructor(startMs: number = SIMULATION_EPOCH_MS) {
    this.currentMs = startMs;
  }

  /** Milliseconds since the epoch. */
  now(): number {
    return this.currentMs;
  }

  /** Whole seconds since the epoch. */
  nowSeconds(): number {
    return Math.floor(this.currentMs / 1000);
  }

  nowDate(): Date {
    return new Date(this.currentMs);
  }

  iso(): string {
    return new Date(this.currentMs).toISOString();
  }

  /** Moves to `timeMs`; time never runs backwards. */
  advanceTo(timeMs: number): void {
    if (timeMs < this.currentMs) {
      throw new RangeError(`VirtualClock cannot go back from ${this.currentMs} to ${timeMs}`);
    }
    this.currentMs = timeMs;
  }

  advanceBy(seconds: number): void {
    this.advanceTo(this.currentMs + Math.round(seconds * 1000));
  }
}

export interface ScheduledEvent {
  readonly timeMs: number;
  readonly label: string;
  readonly cancelled: boolean;
  cancel(): void;
}

/** Called with [fromMs, toMs) every time the clock moves forward, before the events at toMs fire. */
export type AdvanceListener = (fromMs: number, toMs: number) => void;

interface QueuedEvent extends ScheduledEvent {
  readonly sequence: number;
  readonly action: () => void;
  readonly isWakeUp: boolean;
}

/** Upper bound of events fired by one run, so a model bug that reschedules itself forever fails loudly. */
const MAX_EVENTS_PER_RUN = 5_000_000;

export class Scheduler {
  readonly clock: VirtualClock;
  private readonly heap: QueuedEvent[] = [];
  private sequence = 0;
  private wakeUpsQueued = 0;
  private readonly advanceListeners = new Set<AdvanceListener>();
  private firedTotal = 0;
  /** `drive` calls running and external drivers (a wall-clock driver) that move time. */
  private drivers = 0;
  /** Real work that must finish before `drive` may move time (e.g. SDK clients loading their lazy modules). */
  private readonly holds = new Set<Promise<unknown>>();

  constructor(clock: VirtualClock = new VirtualClock()) {
    this.clock = clock;
  }

  now(): number {
    return this.clock.now();
  }

  /** Events fired since creation (a cost figure for benchmarks). */
  get eventsFired(): number {
    return this.firedTotal;
  }

  /** Wake-ups registered (`wakeAt`, `wakeUp`) and not yet reached or cancelled. */
  get parkedWakeUps(): number {
    return this.wakeUpsQueued;
  }

  /** True while `drive` runs or an external driver (the rehearsal's wall clock) moves time. */
  get isDriven(): boolean {
    return this.drivers > 0;
  }

  /** An external driver (a wall-clock driver) moves time from now on; call the result when it stops. */
  claimDriver(): () => void {
    this.drivers += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.drivers -= 1;
    };
  }

  /** `drive` waits for `work` (real, not virtual) before it moves time. */
  holdWhile(work: Promise<unknown>): void {
    const held = work.catch(() => undefined);
    this.holds.add(held);
    void held.then(() => this.holds.delete(held));
  }

  /** Schedules `action` at virtual time `timeMs` (a past time means "as soon as possible"). */
  at(timeMs: number, action: () => void, label = "event"): ScheduledEvent {
    return this.enqueue(Math.max(timeMs, this.clock.now()), action, label, false);
  }

  after(seconds: number, action: () => void, label = "event"): ScheduledEvent {
    return this.at(this.clock.now() + Math.round(seconds * 1000), action, label);
  }

  onAdvance(listener: AdvanceListener): () => void {
    this.advanceListeners.add(listener);
    return () => this.advanceListeners.delete(listener);
  }

  /** Time of the earliest pending event, or undefined when nothing is scheduled. */
  nextEventTime(): number | undefined {
    this.dropCancelledHead();
    return this.heap[0]?.timeMs;
  }

  /** Fires every event due at or before `timeMs` in time order (FIFO for equal times), then moves the clock there. */
  runUntil(timeMs: number): number {
    let fired = 0;
    for (;;) {
      this.dropCancelledHead();
      const head = this.heap[0];
      if (!head || head.timeMs > timeMs) break;
      this.pop();
      this.moveClockTo(head.timeMs);
      (head as { cancelled: boolean }).cancelled = true;
      if (head.isWakeUp) this.wakeUpsQueued -= 1;
      head.action();
      fired += 1;
      this.firedTotal += 1;
      if (fired > MAX_EVENTS_PER_RUN) throw new Error(`Scheduler: more than ${MAX_EVENTS_PER_RUN} events in one run`);
    }
    if (timeMs > this.clock.now()) this.moveClockTo(timeMs);
    return fired;
  }

  /** Fires the events that are already due (time <= now). */
  runDue(): number {
    return this.runUntil(this.clock.now());
  }

  /** Moves to the earliest pending event and fires every event at that time. False when nothing is pending. */
  advanceToNextEvent(): boolean {
    const next = this.nextEventTime();
    if (next === undefined) return false;
    this.runUntil(next);
    return true;
  }

  /**
   * Resolves when virtual time reaches `timeMs`: a Wait state (or a retry back-off) parks here. The clock only
   * gets there through `runUntil`, `advanceToNextEvent`, `advanceToNextWakeUp` or `drive`.
   */
  wakeAt(timeMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wakeUp(timeMs, resolve);
    });
  }

  /**
   * Like `at`, but an activity is parked on it: `drive` moves the clock to the earliest wake-up once every
   * activity is parked. Cancelling it un-parks (a timer cleared, a Lambda sandbox frozen).
   */
  wakeUp(timeMs: number, action: () => void, label = "wake-up"): ScheduledEvent {
    return this.enqueue(Math.max(timeMs, this.clock.now()), action, label, true);
  }

  sleep(seconds: number): Promise<void> {
    return this.wakeAt(this.clock.now() + Math.round(seconds * 1000));
  }

  /** Runs region events up to the earliest parked wake-up and resolves it (and any others at that time). */
  advanceToNextWakeUp(): boolean {
    if (this.wakeUpsQueued === 0) return false;
    let earliest = Number.POSITIVE_INFINITY;
    for (const event of this.heap) {
      if (event.isWakeUp && !event.cancelled && event.timeMs < earliest) earliest = event.timeMs;
    }
    this.runUntil(earliest);
    return true;
  }

  /**
   * Drives concurrent activities (executions) to completion: once the real work held by `holdWhile` is done,
   * the clock jumps to the earliest wake-up whenever, after an event-loop turn, at least as many wake-ups are
   * queued as activities remain. That is "every activity waits on virtual time" because nothing the simulated
   * code runs waits on real time: its timers are the scheduler's (virtualTime.ts) and its SDK clients loaded
   * their lazy modules before (`holdWhile`). An activity may hold more than one wake-up (a Lambda's deadline
   * beside the SDK's back-off). Fails when activities neither finish nor park for `maxIdleTurns` event-loop
   * turns (a deadlock, or something waiting on real time).
   */
  async drive<T>(activities: Promise<T>[], options: { maxIdleTurns?: number } = {}): Promise<PromiseSettledResult<T>[]> {
    const maxIdleTurns = options.maxIdleTurns ?? 100_000;
    this.drivers += 1;
    try {
      while (this.holds.size > 0) await Promise.all([...this.holds]);
      let unfinished = activities.length;
      const settled = Promise.allSettled(
        activities.map((activity) => activity.finally(() => (unfinished -= 1))),
      );
      let idleTurns = 0;
      while (unfinished > 0) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (unfinished === 0) break;
        if (this.wakeUpsQueued >= unfinished && this.advanceToNextWakeUp()) {
          idleTurns = 0;
          continue;
        }
        idleTurns += 1;
        if (idleTurns > maxIdleTurns) {
          throw new Error(
            `Scheduler.drive: ${unfinished} activities neither finished nor parked in wakeAt for ${maxIdleTurns} turns`,
          );
        }
      }
      return await settled;
    } finally {
      this.drivers -= 1;
    }
  }

  private moveClockTo(timeMs: number): void {
    const from = this.clock.now();
    if (timeMs <= from) return;
    for (const listener of this.advanceListeners) listener(from, timeMs);
    this.clock.advanceTo(timeMs);
  }

  private enqueue(timeMs: number, action: () => void, label: string, isWakeUp: boolean): QueuedEvent {
    const event: QueuedEvent = {
      timeMs,
      label,
      action,
      isWakeUp,
      sequence: this.sequence++,
      cancelled: false,
      cancel: () => {
        if (event.cancelled) return;
        (event as { cancelled: boolean }).cancelled = true;
        if (isWakeUp) this.wakeUpsQueued -= 1;
      },
    };
    if (isWakeUp) this.wakeUpsQueued += 1;
    this.push(event);
    return event;
  }

  private dropCancelledHead(): void {
    while (this.heap.length > 0 && this.heap[0].cancelled) this.pop();
  }

  private static before(a: QueuedEvent, b: QueuedEvent): boolean {
    return a.timeMs < b.timeMs || (a.timeMs === b.timeMs && a.sequence < b.sequence);
  }

  private push(event: QueuedEvent): void {
    const heap = this.heap;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!Scheduler.before(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  }

  private pop(): QueuedEvent | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < heap.length && Scheduler.before(heap[left], heap[smallest])) smallest = left;
        if (right < heap.length && Scheduler.before(heap[right], heap[smallest])) smallest = right;
        if (smallest === i) break;
        [heap[i], heap[smallest]] = [heap[smallest], heap[i]];
        i = smallest;
      }
    }
    return top;
  }
}
