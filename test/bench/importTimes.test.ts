import { describe, expect, it } from "vitest";
import { importTimes } from "../../scripts/bench/bundles.js";

/** scripts/bench/bundles.ts `importTimes`: the bench's import proxy. Its figures are seconds, printed, never asserted. */
describe("importTimes", () => {
  it("measures every module, a bare node and an empty module, and reports each module's own CPU time", () => {
    const times = importTimes({ small: "export const x = 1;", busy: "let n = 0; for (let i = 0; i < 3e7; i++) n += i; export const x = n;" }, 1);
    expect(Object.keys(times.seconds).sort()).toEqual(["busy", "small"]);
    expect(Object.keys(times.cpuSeconds).sort()).toEqual(["busy", "small"]);
    for (const figure of [times.bareNodeSeconds, times.emptyModuleSeconds, ...Object.values(times.seconds), ...Object.values(times.cpuSeconds)])
      expect(Number.isFinite(figure) && figure > 0, String(figure)).toBe(true);
    // The CPU figure is the module's own: a loop of 3e7 additions costs more than a constant.
    expect(times.cpuSeconds.busy).toBeGreaterThan(times.cpuSeconds.small);
  });

  it("fails, naming the module, when an import fails", () => {
    expect(() => importTimes({ broken: 'throw new Error("at load");' }, 1)).toThrow(/importing broken failed: [\s\S]*at load/);
  });
});
