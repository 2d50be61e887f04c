/**
 * Distribution statistics for drift, all over histograms on the same bins (counts, not fractions):
 * the population stability index, the Jensen–Shannon distance and the Kolmogorov–Smirnov statistic
 * of the binned distributions, and the fixed score bins shared by the baseline and the drift job.
 *
 * Written by hand rather than taken from a package: each is a loop over a few bins, the drift job
 * must stay small (its bundle is measured, BENCHMARKS.md), and the definitions are pinned here so
 * that the tests can hold them to SciPy's (test/integration/drift-scipy.test.ts). Every function
 * takes counts as any array-like, so the accumulator's typed arrays go in without a copy.
 */

/** Fixed score bins shared by the training baseline and the drift job: `[0, 0.1)`, ..., `[0.9, 1]`. */
export const SCORE_BIN_EDGES = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];

/** Number of score bins. */
export const SCORE_BINS = SCORE_BIN_EDGES.length - 1;

/**
 * The smallest share a bin counts with in the PSI: an empty bin on one side would make the index
 * infinite, so each share is raised to this floor first (a common choice; it caps one bin's term).
 */
export const PSI_FLOOR = 1e-4;

/** A score's bin among {@link SCORE_BIN_EDGES}; scores outside [0, 1] (and NaN) go to the outer bins. */
export function scoreBin(score: number): number {
  const bin = Math.floor(score * 10);
  return bin > SCORE_BINS - 1 ? SCORE_BINS - 1 : bin > 0 ? bin : 0;
}

export function scoreHistogram(scores: ArrayLike<number>): number[] {
  const counts = new Array<number>(SCORE_BINS).fill(0);
  for (let i = 0; i < scores.length; i++) counts[scoreBin(scores[i]!)]!++;
  return counts;
}

function total(counts: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < counts.length; i++) sum += counts[i]!;
  return sum;
}

/**
 * Population stability index between two histograms over the same bins:
 * `sum((a_i - e_i) * ln(a_i / e_i))` over the shares, each share at least {@link PSI_FLOOR}.
 * NaN when either histogram is empty.
 */
export function psi(expected: ArrayLike<number>, actual: ArrayLike<number>): number {
  const e = total(expected);
  const a = total(actual);
  if (e === 0 || a === 0) return Number.NaN;
  let sum = 0;
  for (let i = 0; i < expected.length; i++) {
    const pe = Math.max(PSI_FLOOR, expected[i]! / e);
    const pa = Math.max(PSI_FLOOR, (actual[i] ?? 0) / a);
    sum += (pa - pe) * Math.log(pa / pe);
  }
  return sum;
}

/**
 * Jensen–Shannon distance between two histograms over the same bins, base 2, so in [0, 1]: the
 * square root of `(KL(p || m) + KL(q || m)) / 2` with `m = (p + q) / 2` (what
 * `scipy.spatial.distance.jensenshannon(p, q, base=2)` returns). 0 for identical shares, 1 for
 * disjoint ones; NaN when either histogram is empty.
 */
export function jsDistance(p: ArrayLike<number>, q: ArrayLike<number>): number {
  const sp = total(p);
  const sq = total(q);
  if (sp === 0 || sq === 0) return Number.NaN;
  let divergence = 0;
  for (let i = 0; i < p.length; i++) {
    const pi = p[i]! / sp;
    const qi = (q[i] ?? 0) / sq;
    const m = (pi + qi) / 2;
    if (pi > 0) divergence += pi * Math.log2(pi / m);
    if (qi > 0) divergence += qi * Math.log2(qi / m);
  }
  // Rounding can leave a divergence of -1e-17 for identical shares; the distance is 0 there.
  return Math.sqrt(Math.max(0, divergence / 2));
}

/**
 * Kolmogorov–Smirnov statistic of two histograms over the same ordered bins: the largest absolute
 * gap between their cumulative shares at a bin's upper end. For samples that only take one value
 * per bin (or whose values are known only to their bin), this is the two-sample KS statistic
 * (`scipy.stats.ks_2samp(...).statistic`). In [0, 1]; NaN when either histogram is empty.
 */
export function binnedKs(p: ArrayLike<number>, q: ArrayLike<number>): number {
  const sp = total(p);
  const sq = total(q);
  if (sp === 0 || sq === 0) return Number.NaN;
  let cp = 0;
  let cq = 0;
  let max = 0;
  for (let i = 0; i < p.length; i++) {
    cp += p[i]!;
    cq += q[i] ?? 0;
    const gap = Math.abs(cp / sp - cq / sq);
    if (gap > max) max = gap;
  }
  return max;
}
