/**
 * "Did you mean" for a misspelt name (a field, a command-line option): no dependencies, so a command can
 * use it before loading anything heavy (scripts/cli.ts).
 */

/** Edit distance (Levenshtein, case-insensitive), for "did you mean" on a misspelt name. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length];
}

/** ` (did you mean "x"?)` when one allowed name is close to `name` (a typo), else "". */
export function didYouMean(name: string, allowed: readonly string[]): string {
  const ranked = allowed.map((candidate) => ({ candidate, d: editDistance(name, candidate) })).sort((a, b) => a.d - b.d);
  const best = ranked[0];
  if (!best || best.d > Math.max(2, Math.floor(name.length / 3)) || ranked[1]?.d === best.d) return "";
  return ` (did you mean "${best.candidate}"?)`;
}
