/**
 * "Did you mean" for a misspelt name (a field, a command-line option): no dependencies, so a command can
 * use it before loading anything heavy (scripts/cli.ts).
 */

/**
 * Edit distance, case-insensitive, for "did you mean" on a misspelt name: insertions, deletions, substitutions
 * and swaps of two neighbouring letters (`nht` -> `nth`) count one each (optimal string alignment).
 */
export function editDistance(a: string, b: string): number {
  const [x, y] = [a.toLowerCase(), b.toLowerCase()];
  const d = Array.from({ length: x.length + 1 }, (_, i) => Array.from({ length: y.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[x.length][y.length];
}

/**
 * ` (did you mean "x"?)` when one allowed name is close to `name` (a typo: at most one edit per three
 * characters, leading dashes of an option not counted, so `--zip` is not taken for `--app`), else "".
 */
export function didYouMean(name: string, allowed: readonly string[]): string {
  const ranked = allowed.map((candidate) => ({ candidate, d: editDistance(name, candidate) })).sort((a, b) => a.d - b.d);
  const best = ranked[0];
  if (!best || best.d > Math.max(1, Math.floor(name.replace(/^-+/, "").length / 3)) || ranked[1]?.d === best.d) return "";
  return ` (did you mean "${best.candidate}"?)`;
}
