/** Classification metrics for scored rows. Written here because they are a few lines each. */
import type { Metrics } from './registry/registry.ts';

/** Area under the ROC curve by the rank-sum formula, with tied scores sharing their mean rank. */
export function auc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = scores.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let rankSumPos = 0;
  let pos = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[idx[j + 1]!] === scores[idx[i]!]) j++;
    const meanRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (labels[idx[k]!] === 1) {
        rankSumPos += meanRank;
        pos++;
      }
    }
    i = j + 1;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) return Number.NaN;
  return (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}

export function logLoss(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const eps = 1e-15;
  let sum = 0;
  for (let i = 0; i < scores.length; i++) {
    const p = Math.min(1 - eps, Math.max(eps, scores[i]!));
    sum += labels[i] === 1 ? -Math.log(p) : -Math.log(1 - p);
  }
  return sum / scores.length;
}

export function accuracy(scores: ArrayLike<number>, labels: ArrayLike<number>, threshold: number): number {
  let right = 0;
  for (let i = 0; i < scores.length; i++) if ((scores[i]! >= threshold ? 1 : 0) === labels[i]) right++;
  return right / scores.length;
}

export function classificationMetrics(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  threshold: number,
): Metrics {
  return {
    auc: auc(scores, labels),
    logloss: logLoss(scores, labels),
    accuracy: accuracy(scores, labels, threshold),
    rows: scores.length,
  };
}

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
