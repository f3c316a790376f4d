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

describe("did you mean: the edges", () => {
  it.each([
    // One edit per three characters: 6 characters allow 2, 7 allow 2 (not 3), 2 allow 1.
    ["abcdef", ["abcdxy"], ' (did you mean "abcdxy"?)'],
    ["abcdefg", ["abcdxyz"], ""],
    ["ab", ["ax"], ' (did you mean "ax"?)'],
    ["ab", ["xy"], ""],
    // Only leading dashes are not counted: "--abcde" is 5 characters (1 edit), "abcdef-gh" is 9 (3 edits).
    ["--abcde", ["--abxye"], ""],
    ["abcdef-gh", ["abcxyz-gh"], ' (did you mean "abcxyz-gh"?)'],
    // The closest wins wherever it is in the list.
    ["abcdeg", ["zzzzzz", "abcdxf", "abcdef"], ' (did you mean "abcdef"?)'],
    ["abcdeg", ["abcdef", "abcdxf", "zzzzzz"], ' (did you mean "abcdef"?)'],
    ["abc", [], ""],
  ])("%s among %j: %j", (name, allowed, suggestion) => {
    expect(didYouMean(name, allowed)).toBe(suggestion);
  });

  it("counts from and to nothing, and two swaps as two", () => {
    expect(editDistance("", "abc")).toBe(3);
    expect(editDistance("abc", "")).toBe(3);
    expect(editDistance("ab", "ba")).toBe(1);
    expect(editDistance("abcd", "badc")).toBe(2);
    expect(editDistance("abc", "ca")).toBe(3);
    expect(editDistance("abc", "abd")).toBe(1);
    expect(editDistance("abc", "abcd")).toBe(1);
    expect(editDistance("abcd", "abc")).toBe(1);
  });
});
