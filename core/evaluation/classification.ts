/** Classification metrics for scored rows. Written here because they are a few lines each. */

/** The whole-split metrics a version records. */
export interface Metrics {
  auc: number;
  logloss: number;
  accuracy: number;
  rows: number;
}

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
