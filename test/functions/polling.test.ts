import { afterEach, describe, expect, it, vi } from "vitest";
import type { LaunchResult } from "../../functions/lib/contract.js";
import { NotYetVisibleError, StillInUseError } from "../../functions/lib/errors.js";
import { listSome, newGroupGone, nextPeriodicChangeAt, nextPollSeconds, POLL_BOUNDS, retryWhileNotYetVisible, SETTLE_POLL, TERMINATION_POLL_SECONDS } from "../../functions/lib/polling.js";

const NOW = 1_000_000;

describe("nextPollSeconds", () => {
  it("polls one second after the predicted change", () => {
    // Prepare / Act
    const seconds = nextPollSeconds({ now: NOW, deadline: NOW + 600, changeAt: NOW + 20 });

    // Assess
    expect(seconds).toBe(21);
  });

  it("clamps to the bounds", () => {
    // Prepare / Act
    const soon = nextPollSeconds({ now: NOW, deadline: NOW + 600, changeAt: NOW });
    const late = nextPollSeconds({ now: NOW, deadline: NOW + 600, changeAt: NOW + 300 });

    // Assess
    expect(soon).toBe(POLL_BOUNDS.minSeconds);
    expect(late).toBe(POLL_BOUNDS.maxSeconds);
  });

  it("never polls past the deadline, and still waits at least a second", () => {
    // Prepare / Act
    const nearDeadline = nextPollSeconds({ now: NOW, deadline: NOW + 7, everySeconds: 15 });
    const atDeadline = nextPollSeconds({ now: NOW, deadline: NOW, everySeconds: 15 });

    // Assess
    expect(nearDeadline).toBe(7);
    expect(atDeadline).toBe(1);
  });
});

describe("nextPeriodicChangeAt", () => {
  it("names the first interval multiple after the registration window that is still ahead", () => {
    // Prepare: registered between NOW-10 and NOW-4; health checks every 30 s; first change after 1 interval.
    const window = { from: NOW - 10, to: NOW - 4 };

    // Act / Assess
    expect(nextPeriodicChangeAt(NOW, window, 30, 1)).toBe(NOW + 20);
    expect(nextPeriodicChangeAt(NOW + 21, window, 30, 1)).toBe(NOW + 26);
    expect(nextPeriodicChangeAt(NOW + 27, window, 30, 1)).toBe(NOW + 50);
  });

  it("does not predict a change before the first possible period", () => {
    // Prepare / Act
    const changeAt = nextPeriodicChangeAt(NOW, { from: NOW, to: NOW }, 30, 2);

    // Assess
    expect(changeAt).toBe(NOW + 60);
  });
});

describe("listSome", () => {
  it("lists at most the limit and counts the rest", () => {
    // Prepare / Act / Assess
    expect(listSome(["a", "b", "c"], 2)).toBe("a, b and 1 more");
    expect(listSome(["a"], 2)).toBe("a");
  });
});

describe("nextPollSeconds, rounding", () => {
  it("rounds a fractional change, cadence and deadline up", () => {
    expect(nextPollSeconds({ now: NOW, deadline: NOW + 600, changeAt: NOW + 20.2 })).toBe(22);
    expect(nextPollSeconds({ now: NOW, deadline: NOW + 600, everySeconds: 4.2 })).toBe(5);
    expect(nextPollSeconds({ now: NOW, deadline: NOW + 6.5, everySeconds: 15 })).toBe(7);
  });

  it("bounds a cadence too, and a change already past", () => {
    expect(nextPollSeconds({ now: NOW, deadline: NOW + 600, everySeconds: 1 })).toBe(POLL_BOUNDS.minSeconds);
    expect(nextPollSeconds({ now: NOW, deadline: NOW + 600, everySeconds: 61 })).toBe(POLL_BOUNDS.maxSeconds);
    expect(nextPollSeconds({ now: NOW, deadline: NOW + 600, changeAt: NOW - 30 })).toBe(POLL_BOUNDS.minSeconds);
    expect(nextPollSeconds({ now: NOW, deadline: NOW + 600, changeAt: NOW + 59 })).toBe(60);
    expect(nextPollSeconds({ now: NOW, deadline: NOW - 10, changeAt: NOW + 20 })).toBe(1);
    expect([POLL_BOUNDS.minSeconds, POLL_BOUNDS.maxSeconds]).toEqual([2, 60]);
  });
});

describe("nextPeriodicChangeAt, edges", () => {
  it("takes a period below 1 s as 1 s", () => {
    expect(nextPeriodicChangeAt(NOW, { from: NOW - 5, to: NOW - 5 }, 0, 1)).toBe(NOW + 1);
    expect(nextPeriodicChangeAt(NOW, { from: NOW - 5, to: NOW - 5 }, -3, 1)).toBe(NOW + 1);
  });

  it("a change exactly now is past: the next period", () => {
    expect(nextPeriodicChangeAt(NOW, { from: NOW - 30, to: NOW - 30 }, 30, 1)).toBe(NOW + 30);
    expect(nextPeriodicChangeAt(NOW, { from: NOW - 29, to: NOW - 30 }, 30, 0)).toBe(NOW + 1);
  });
});

describe("listSome, defaults", () => {
  it("lists ten by default", () => {
    const items = Array.from({ length: 11 }, (_, i) => `i-${i}`);
    expect(listSome(items)).toBe(`${items.slice(0, 10).join(", ")} and 1 more`);
    expect(listSome(items.slice(0, 10))).toBe(items.slice(0, 10).join(", "));
    expect(listSome([])).toBe("");
  });
});

describe("newGroupGone", () => {
  it("fails at once, naming the group, with nothing healthy", () => {
    expect(newGroupGone({ groupName: "shop-dev01-v2-abc", launchTemplateVersion: "7", desiredCapacity: 3, healthyBy: NOW } as LaunchResult)).toStrictEqual({
      status: "failed",
      nextPollSeconds: 0,
      message: "deploy: new group shop-dev01-v2-abc no longer exists",
      healthy: 0,
      desired: 3,
    });
  });
});

describe("retryWhileNotYetVisible", () => {
  afterEach(() => vi.useRealTimers());

  /** An attempt that is not visible `times` times, then answers; it records when (fake ms) each try ran. */
  function visibleAfter(times: number) {
    const triedAt: number[] = [];
    const attempt = async () => {
      triedAt.push(Date.now());
      if (triedAt.length <= times) throw new NotYetVisibleError(`not yet (${triedAt.length})`);
      return "visible";
    };
    return { attempt, triedAt };
  }

  it("asks again every second until the resource is visible, in the same invocation", async () => {
    // Prepare
    vi.useFakeTimers({ now: 0, toFake: ["setTimeout", "Date"] });
    const { attempt, triedAt } = visibleAfter(3);

    // Act
    const result = retryWhileNotYetVisible(attempt);
    await vi.runAllTimersAsync();

    // Assess
    await expect(result).resolves.toBe("visible");
    expect(triedAt).toEqual([0, 1000, 2000, 3000]);
  });

  it("gives up after SETTLE_POLL.attempts tries with the last NotYetVisible (the state machine's Retry takes over)", async () => {
    // Prepare
    vi.useFakeTimers({ now: 0, toFake: ["setTimeout", "Date"] });
    const { attempt, triedAt } = visibleAfter(Infinity);

    // Act
    const result = retryWhileNotYetVisible(attempt);
    const settled = expect(result).rejects.toThrow(`not yet (${SETTLE_POLL.attempts})`);
    await vi.runAllTimersAsync();

    // Assess
    await settled;
    expect(triedAt).toHaveLength(SETTLE_POLL.attempts);
    expect(triedAt.at(-1)).toBe((SETTLE_POLL.attempts - 1) * SETTLE_POLL.everySeconds * 1000);
  });

  it("passes any other error on at once", async () => {
    // Prepare
    let tries = 0;
    const attempt = async () => {
      tries += 1;
      throw new StillInUseError("busy");
    };

    // Act + Assess
    await expect(retryWhileNotYetVisible(attempt)).rejects.toThrow("busy");
    expect(tries).toBe(1);
  });
});

describe("TERMINATION_POLL_SECONDS", () => {
  it("is the shortest poll: the deploy holds the lock until it sees the last old instance gone", () => {
    expect(TERMINATION_POLL_SECONDS).toBe(POLL_BOUNDS.minSeconds);
  });
});
