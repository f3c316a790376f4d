import { describe, expect, it } from "vitest";
import { RealTimeDriver } from "../../rehearsal/realTimeDriver.js";
import { Scheduler, VirtualClock } from "../../simulator/region/clock.js";

describe("RealTimeDriver", () => {
  it("moves virtual time as far as the wall clock moved, firing events and wake-ups when they are due", async () => {
    // Prepare
    let wallMs = 5_000;
    const scheduler = new Scheduler(new VirtualClock(1_000_000));
    const fired: string[] = [];
    scheduler.at(1_000_400, () => fired.push("at +400 ms"));
    scheduler.at(1_001_000, () => fired.push("at +1000 ms"));
    const woke = scheduler.wakeAt(1_000_900).then(() => fired.push("woke at +900 ms"));
    const driver = new RealTimeDriver(scheduler, { now: () => wallMs, tickMs: 60_000 });
    driver.start();

    // Act
    wallMs += 500;
    driver.tick();
    const afterHalfASecond = [...fired];
    wallMs += 450;
    driver.tick();
    await woke;
    driver.stop();

    // Assess
    expect(afterHalfASecond).toEqual(["at +400 ms"]);
    expect(fired).toEqual(["at +400 ms", "woke at +900 ms"]);
    expect(scheduler.now()).toBe(1_000_950);
    expect(driver.running).toBe(false);
  });

  it("stops and reports the first error an event throws", () => {
    // Prepare
    let wallMs = 0;
    const scheduler = new Scheduler(new VirtualClock(0));
    scheduler.at(10, () => {
      throw new Error("model bug");
    });
    const errors: unknown[] = [];
    const driver = new RealTimeDriver(scheduler, { now: () => wallMs, tickMs: 60_000, onError: (error) => errors.push(error) });
    driver.start();

    // Act
    wallMs = 20;
    driver.tick();

    // Assess
    expect(driver.running).toBe(false);
    expect((driver.error as Error).message).toBe("model bug");
    expect(errors).toHaveLength(1);
  });
});
