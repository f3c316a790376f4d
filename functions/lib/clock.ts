/**
 * The stage functions' only source of time. In AWS it is the wall clock; the simulator replaces it with
 * its virtual clock so that deadlines and timestamps follow simulated time.
 */
let source: () => number = () => Date.now();

/** Milliseconds since the epoch. */
export function nowMs(): number {
  return source();
}

/** Whole seconds since the epoch. */
export function nowSeconds(): number {
  return Math.floor(source() / 1000);
}

export function setClock(next: () => number): void {
  source = next;
}

export function resetClock(): void {
  source = () => Date.now();
}
