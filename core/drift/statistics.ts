/** Distribution statistics for drift: fixed score bins and the population stability index. */

/** Fixed score bins shared by the training baseline and the drift job. */
export const SCORE_BIN_EDGES = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];

export function scoreHistogram(scores: ArrayLike<number>): number[] {
  const counts = new Array<number>(SCORE_BIN_EDGES.length - 1).fill(0);
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    const bin = Math.min(counts.length - 1, Math.max(0, Math.floor(s * 10)));
    counts[bin]!++;
  }
  return counts;
}

/** Population stability index between two histograms over the same bins. */
export function psi(expected: readonly number[], actual: readonly number[]): number {
  const e = expected.reduce((a, b) => a + b, 0);
  const a = actual.reduce((x, y) => x + y, 0);
  if (e === 0 || a === 0) return Number.NaN;
  const floor = 1e-4;
  let sum = 0;
  for (let i = 0; i < expected.length; i++) {
    const pe = Math.max(floor, expected[i]! / e);
    const pa = Math.max(floor, (actual[i] ?? 0) / a);
    sum += (pa - pe) * Math.log(pa / pe);
  }
  return sum;
}
