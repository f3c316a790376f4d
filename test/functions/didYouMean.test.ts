import { describe, expect, it } from "vitest";
import { didYouMean, editDistance } from "../../functions/lib/didYouMean.js";

describe("did you mean", () => {
  it.each([
    ["keepImage", ["artifact", "imageId", "keepImages", "release"], ' (did you mean "keepImages"?)'],
    ["desiredCapacty", ["minCapacity", "desiredCapacity", "maxCapacity"], ' (did you mean "desiredCapacity"?)'],
    ["--scenaro", ["--scenario", "--json", "--help"], ' (did you mean "--scenario"?)'],
    ["nht", ["operation", "nth"], ' (did you mean "nth"?)'],
    ["--stagee", ["--stage", "--nag", "--bundle", "--out", "--help"], ' (did you mean "--stage"?)'],
    // Three letters allow one edit: "zip" is two from "app", not a typo of it (the dashes do not count).
    ["--zip", ["--release", "--app", "--out", "--help"], ""],
    ["colour", ["domain", "hostedZoneId", "instanceType"], ""],
    // Two names equally close: no guess.
    ["ab", ["abc", "abd"], ""],
  ])("%s among %j: %j", (name, allowed, suggestion) => {
    expect(didYouMean(name, allowed)).toBe(suggestion);
  });

  it("counts edits without regard to case, a swap of neighbours as one", () => {
    expect(editDistance("Throttling", "throttling")).toBe(0);
    expect(editDistance("kitten", "sitting")).toBe(3);
    expect(editDistance("nht", "nth")).toBe(1);
  });
});
