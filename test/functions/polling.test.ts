import { describe, expect, it } from "vitest";
import { listSome, nextPeriodicChangeAt, nextPollSeconds, POLL_BOUNDS } from "../../functions/lib/polling.js";

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
