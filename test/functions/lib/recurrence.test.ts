import { describe, expect, it } from "vitest";
import { isTimeZone, nextOccurrence, parseRecurrence } from "../../../functions/lib/recurrence.js";

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString().replace(".000Z", "Z"));
const values = (set: Set<number>) => [...set].sort((a, b) => a - b);

describe("parseRecurrence", () => {
  it("reads numbers, ranges, lists, steps and *", () => {
    const recurrence = parseRecurrence("5,0-2 */6 10-20/5 3/4 1-5");
    expect(values(recurrence.minute.values)).toEqual([0, 1, 2, 5]);
    expect(values(recurrence.hour.values)).toEqual([0, 6, 12, 18]);
    expect(values(recurrence.dayOfMonth.values)).toEqual([10, 15, 20]);
    // A start with a step runs to the field's end.
    expect(values(recurrence.month.values)).toEqual([3, 7, 11]);
    expect(values(recurrence.dayOfWeek.values)).toEqual([1, 2, 3, 4, 5]);
  });

  it("spans each field's whole range for *, and only * is unrestricted", () => {
    const recurrence = parseRecurrence("* * * * *");
    expect(values(recurrence.minute.values)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(values(recurrence.hour.values)).toEqual(Array.from({ length: 24 }, (_, i) => i));
    expect(values(recurrence.dayOfMonth.values)).toEqual(Array.from({ length: 31 }, (_, i) => i + 1));
    expect(values(recurrence.month.values)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(values(recurrence.dayOfWeek.values)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(Object.values(recurrence).map((field) => field.restricted)).toEqual([false, false, false, false, false]);
    expect(parseRecurrence("*/1 * * * *").minute.restricted).toBe(true);
    expect(parseRecurrence("* * 1-31 * *").dayOfMonth.restricted).toBe(true);
  });

  it("takes 7 as Sunday too, and white space around and between fields", () => {
    expect(values(parseRecurrence("0 0 * * 7").dayOfWeek.values)).toEqual([0, 7]);
    expect(values(parseRecurrence("0 0 * * 6").dayOfWeek.values)).toEqual([6]);
    expect(values(parseRecurrence("  15   8\t* * *  ").minute.values)).toEqual([15]);
  });

  it.each([
    ["0 8 * *", '"0 8 * *" has 4 field(s), a recurrence has 5'],
    ["0 8 * * * *", '"0 8 * * * *" has 6 field(s), a recurrence has 5'],
    ["60 * * * *", 'minute "60" is outside 0-59'],
    ["* 24 * * *", 'hour "24" is outside 0-23'],
    ["* * 0 * *", 'day of month "0" is outside 1-31'],
    ["* * 32 * *", 'day of month "32" is outside 1-31'],
    ["* * * 0 *", 'month "0" is outside 1-12'],
    ["* * * 13 *", 'month "13" is outside 1-12'],
    ["* * * * 8", 'day of week "8" is outside 0-7'],
    ["5-1 * * * *", 'minute "5-1" is outside 0-59'],
    ["*/0 * * * *", 'minute "*/0" is outside 0-59'],
    ["a * * * *", 'minute "a" is not a number, range, list, step or *'],
    ["1,,2 * * * *", 'minute "" is not a number, range, list, step or *'],
    ["x1 * * * *", 'minute "x1" is not a number, range, list, step or *'],
    ["1x * * * *", 'minute "1x" is not a number, range, list, step or *'],
    ["*-5 * * * *", 'minute "*-5" is not a number, range, list, step or *'],
  ])("refuses %j: %s", (expression, message) => {
    expect(() => parseRecurrence(expression)).toThrow(new RangeError(message));
  });

  it("accepts each field's bounds", () => {
    expect(values(parseRecurrence("59 23 31 12 0").minute.values)).toEqual([59]);
    expect(values(parseRecurrence("0 0 1 1 7").dayOfMonth.values)).toEqual([1]);
    expect(values(parseRecurrence("0-59/30 * * * *").minute.values)).toEqual([0, 30]);
  });
});

describe("isTimeZone", () => {
  it("knows IANA names and refuses others", () => {
    expect(isTimeZone("Europe/Berlin")).toBe(true);
    expect(isTimeZone("UTC")).toBe(true);
    expect(isTimeZone("Mars/Olympus")).toBe(false);
    expect(isTimeZone("")).toBe(false);
  });
});

describe("nextOccurrence", () => {
  it.each([
    // Strictly after: the very minute it runs is not next.
    ["0 8 * * *", "2026-01-01T08:00:00Z", "2026-01-02T08:00:00Z"],
    ["0 8 * * *", "2026-01-01T07:59:59Z", "2026-01-01T08:00:00Z"],
    // Hours and minutes in numeric order, whatever order the lists give them (10 after 2).
    ["30,5 10,2 * * *", "2026-01-01T00:00:00Z", "2026-01-01T02:05:00Z"],
    ["30,5 10,2 * * *", "2026-01-01T02:05:00Z", "2026-01-01T02:30:00Z"],
    ["30,5 10,2 * * *", "2026-01-01T02:30:00Z", "2026-01-01T10:05:00Z"],
    // Only the day of week restricted: Mondays only (5 January 2026 is a Monday).
    ["0 0 * * 1", "2026-01-01T00:00:00Z", "2026-01-05T00:00:00Z"],
    // Only the day of month restricted: the 15th, whatever its weekday.
    ["0 0 15 * *", "2026-01-01T00:00:00Z", "2026-01-15T00:00:00Z"],
    // Both restricted: either (the 3rd, a Saturday, before the next Monday).
    ["0 0 3 * 1", "2026-01-01T00:00:00Z", "2026-01-03T00:00:00Z"],
    // A month of its own: the first run in March.
    ["0 0 1 3 *", "2026-01-01T00:00:00Z", "2026-03-01T00:00:00Z"],
    // 29 February comes back in 2028.
    ["0 0 29 2 *", "2026-03-01T00:00:00Z", "2028-02-29T00:00:00Z"],
  ])("%s after %s: %s (UTC)", (expression, after, expected) => {
    expect(iso(nextOccurrence(parseRecurrence(expression), at(after)))).toBe(expected);
  });

  it("never for a day that does not exist", () => {
    expect(nextOccurrence(parseRecurrence("0 0 30 2 *"), at("2026-01-01T00:00:00Z"))).toBeUndefined();
    expect(nextOccurrence(parseRecurrence("0 0 31 4,6,9,11 *"), at("2026-01-01T00:00:00Z"), "Europe/Berlin")).toBeUndefined();
  });

  it.each([
    // 08:00 in Berlin: 07:00 UTC in winter (CET), 06:00 UTC in summer (CEST).
    ["0 8 * * *", "Europe/Berlin", "2026-01-01T00:00:00Z", "2026-01-01T07:00:00Z"],
    ["0 8 * * *", "Europe/Berlin", "2026-07-01T00:00:00Z", "2026-07-01T06:00:00Z"],
    ["0 8 * * *", "UTC", "2026-07-01T00:00:00Z", "2026-07-01T08:00:00Z"],
    // 19:00 in Los Angeles on 1 January is already 2 January in UTC: the zone's day counts, 20:00 PST that evening.
    ["0 20 * * *", "America/Los_Angeles", "2026-01-02T03:00:00Z", "2026-01-02T04:00:00Z"],
    // The day of week is the zone's: Monday 5 January 00:30 in Tokyo is Sunday 15:30 UTC.
    ["30 0 * * 1", "Asia/Tokyo", "2026-01-01T00:00:00Z", "2026-01-04T15:30:00Z"],
    // 01:30 on the morning clocks go forward in Berlin (29 March 2026, 02:00 CET -> 03:00 CEST) is still CET.
    ["30 1 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-29T00:30:00Z"],
    // 04:00 that morning is CEST.
    ["0 4 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-29T02:00:00Z"],
  ])("%s in %s after %s: %s", (expression, timeZone, after, expected) => {
    expect(iso(nextOccurrence(parseRecurrence(expression), at(after), timeZone))).toBe(expected);
  });

  it("takes UTC when no time zone is given", () => {
    expect(iso(nextOccurrence(parseRecurrence("15 9 * * *"), at("2026-07-01T00:00:00Z")))).toBe("2026-07-01T09:15:00Z");
  });
});
