/**
 * EventBridge event patterns, as AWS evaluates them: every field of the pattern must match; a leaf is an
 * array of alternatives (a value, or a filter: `prefix`, `suffix`, `wildcard`, `exists`, `anything-but`),
 * and an array in the event matches when any of its items does.
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html)
 */
type Pattern = { [field: string]: Pattern | unknown[] };

export function matchesEventPattern(pattern: Pattern, event: unknown): boolean {
  return Object.entries(pattern).every(([field, expected]) => {
    const value = event !== null && typeof event === "object" ? (event as Record<string, unknown>)[field] : undefined;
    if (Array.isArray(expected)) return expected.some((alternative) => matchesLeaf(alternative, value));
    return value !== undefined && matchesEventPattern(expected as Pattern, value);
  });
}

function matchesLeaf(alternative: unknown, value: unknown): boolean {
  if (Array.isArray(value)) return value.some((item) => matchesLeaf(alternative, item));
  if (alternative === null || typeof alternative !== "object") return value === alternative;
  const filter = alternative as Record<string, unknown>;
  if ("exists" in filter) return (value !== undefined) === filter.exists;
  if (value === undefined) return false;
  if ("prefix" in filter) return typeof value === "string" && value.startsWith(String(filter.prefix));
  if ("suffix" in filter) return typeof value === "string" && value.endsWith(String(filter.suffix));
  if ("wildcard" in filter) return typeof value === "string" && wildcardRegExp(String(filter.wildcard)).test(value);
  if ("anything-but" in filter) {
    const excluded = [filter["anything-but"]].flat();
    return !excluded.some((item) => matchesLeaf(item, value));
  }
  throw new Error(`event pattern filter not modelled: ${JSON.stringify(filter)}`);
}

/** `*` matches any run of characters (including "/"), everything else literally. */
function wildcardRegExp(wildcard: string): RegExp {
  const escaped = wildcard.split("*").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${escaped.join(".*")}$`, "s");
}
