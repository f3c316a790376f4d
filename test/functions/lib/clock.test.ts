import { afterEach, describe, expect, it, vi } from "vitest";
import { nowMs, nowSeconds, resetClock, setClock } from "../../../functions/lib/clock.js";

afterEach(() => {
  vi.useRealTimers();
  resetClock();
});

describe("clock", () => {
  it("is the wall clock unless replaced, and again after a reset", () => {
    vi.useFakeTimers({ now: 1_750_000_000_999 });
    expect(nowMs()).toBe(1_750_000_000_999);
    expect(nowSeconds()).toBe(1_750_000_000);

    setClock(() => 42_500);
    expect(nowMs()).toBe(42_500);
    expect(nowSeconds()).toBe(42);

    resetClock();
    expect(nowMs()).toBe(1_750_000_000_999);
    vi.advanceTimersByTime(1);
    expect(nowSeconds()).toBe(1_750_000_001);
  });
});
