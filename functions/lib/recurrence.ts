/**
 * The `Recurrence` of an Auto Scaling scheduled action: "five fields separated by white spaces: [Minute] [Hour]
 * [Day_of_Month] [Month_of_Year] [Day_of_Week] ... For more information about this format, see Crontab ... Cron
 * expressions use Universal Coordinated Time (UTC) by default" (Auto Scaling API reference,
 * PutScheduledUpdateGroupAction, as in botocore's autoscaling 2011-01-01 model). Crontab semantics: `*`,
 * numbers, `a-b` ranges, `/n` steps and `,` lists; day of week 0-7 with 0 and 7 both Sunday; when both day
 * fields are restricted, a day matching either runs the action. `TimeZone`: "the canonical names of the IANA
 * time zones ... If a time zone is not provided, UTC is used by default" (same operation): the stage
 * configuration validates with it, the simulated region runs scheduled actions with it.
 */

interface Field {
  values: Set<number>;
  restricted: boolean;
}

const FIELDS = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12 },
  { name: "day of week", min: 0, max: 7 },
] as const;

export interface Recurrence {
  minute: Field;
  hour: Field;
  dayOfMonth: Field;
  month: Field;
  dayOfWeek: Field;
}

function parseField(text: string, spec: (typeof FIELDS)[number]): Field {
  const values = new Set<number>();
  for (const part of text.split(",")) {
    const match = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
    if (!match) throw new RangeError(`${spec.name} "${part}" is not a number, range, list, step or *`);
    const from = match[1] === "*" ? spec.min : Number(match[2]);
    const to = match[1] === "*" ? spec.max : match[3] !== undefined ? Number(match[3]) : match[4] !== undefined ? spec.max : from;
    const step = match[4] !== undefined ? Number(match[4]) : 1;
    if (from < spec.min || to > spec.max || from > to || step < 1)
      throw new RangeError(`${spec.name} "${part}" is outside ${spec.min}-${spec.max}`);
    for (let value = from; value <= to; value += step) values.add(value);
  }
  return { values, restricted: text !== "*" };
}

/** Parses a five-field cron expression; a bad one throws a RangeError naming the field. */
export function parseRecurrence(expression: string): Recurrence {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== FIELDS.length) throw new RangeError(`"${expression}" has ${parts.length} field(s), a recurrence has 5`);
  const [minute, hour, dayOfMonth, month, dayOfWeek] = parts.map((part, i) => parseField(part, FIELDS[i]));
  if (dayOfWeek.values.has(7)) dayOfWeek.values.add(0);
  return { minute, hour, dayOfMonth, month, dayOfWeek };
}

/** Whether `name` is an IANA time zone this runtime knows (as Intl resolves it). */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** Calendar fields of a day: a date whose UTC fields are the day's wall-clock fields in the zone. */
function dayMatches(recurrence: Recurrence, date: Date): boolean {
  if (!recurrence.month.values.has(date.getUTCMonth() + 1)) return false;
  const byMonthDay = recurrence.dayOfMonth.values.has(date.getUTCDate());
  const byWeekDay = recurrence.dayOfWeek.values.has(date.getUTCDay());
  if (recurrence.dayOfMonth.restricted && recurrence.dayOfWeek.restricted) return byMonthDay || byWeekDay;
  return byMonthDay && byWeekDay;
}

const DAY_MS = 86_400_000;
/** Far enough for any valid expression (29 February comes back within eight years). */
const SEARCH_DAYS = 366 * 8;

/** The wall-clock time of `utcMs` in `timeZone`, as an epoch value whose UTC fields are those wall-clock fields. */
function wallClock(utcMs: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
  }).formatToParts(new Date(utcMs));
  const field = (type: string) => Number(parts.find((part) => part.type === type)?.value);
  return Date.UTC(field("year"), field("month") - 1, field("day"), field("hour"), field("minute"));
}

/** The instant a wall-clock time (as from `wallClock`) of `timeZone` happens; twice-checked across offset changes. */
function instantOf(wall: number, timeZone: string): number {
  const first = wall - (wallClock(wall, timeZone) - wall);
  return wall - (wallClock(first, timeZone) - first);
}

/** The first time strictly after `afterMs` the recurrence runs, in `timeZone` (default UTC), or undefined when it never does. */
export function nextOccurrence(recurrence: Recurrence, afterMs: number, timeZone = "UTC"): number | undefined {
  const hours = [...recurrence.hour.values].sort((a, b) => a - b);
  const minutes = [...recurrence.minute.values].sort((a, b) => a - b);
  const utc = timeZone === "UTC";
  const firstDay = Math.floor((utc ? afterMs : wallClock(afterMs, timeZone)) / DAY_MS) * DAY_MS;
  for (let day = 0; day < SEARCH_DAYS; day++) {
    const dayMs = firstDay + day * DAY_MS;
    if (!dayMatches(recurrence, new Date(dayMs))) continue;
    for (const hour of hours) {
      for (const minute of minutes) {
        const wall = dayMs + (hour * 60 + minute) * 60_000;
        const at = utc ? wall : instantOf(wall, timeZone);
        if (at > afterMs) return at;
      }
    }
  }
  return undefined;
}
