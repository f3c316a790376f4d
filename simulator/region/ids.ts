/** Deterministic resource ids (`i-00000000000000001`, ...): the same scenario always yields the same ids. */
export class IdFactory {
  private readonly counters = new Map<string, number>();

  next(prefix: string, width = 17): string {
    const n = (this.counters.get(prefix) ?? 0) + 1;
    this.counters.set(prefix, n);
    return `${prefix}-${n.toString(16).padStart(width, "0")}`;
  }

  /** A plain counter value for names that are not hex ids (activity ids, sequencers). */
  count(key: string): number {
    const n = (this.counters.get(key) ?? 0) + 1;
    this.counters.set(key, n);
    return n;
  }
}
