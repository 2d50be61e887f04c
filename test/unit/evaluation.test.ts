import { describe, expect, it } from 'vitest';
import { psi, scoreHistogram } from '../../core/drift/statistics.ts';
import { accuracy, auc, logLoss } from '../../core/evaluation/classification.ts';

describe('classification metrics', () => {
  it('computes AUC by ranks, sharing ranks between ties', () => {
    expect(auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBeCloseTo(0.75, 12);
    expect(auc([0.5, 0.5], [0, 1])).toBe(0.5);
    expect(auc([0.9, 0.1], [1, 0])).toBe(1);
    expect(Number.isNaN(auc([0.2, 0.3], [1, 1]))).toBe(true);
  });

  it('computes log loss and accuracy at a threshold', () => {
    expect(logLoss([0.5, 0.5], [0, 1])).toBeCloseTo(Math.log(2), 12);
    expect(accuracy([0.2, 0.6, 0.7], [0, 0, 1], 0.5)).toBeCloseTo(2 / 3, 12);
  });
});

describe('drift', () => {
  it('bins scores into ten fixed bins, 1.0 in the last', () => {
    expect(scoreHistogram([0, 0.05, 0.15, 0.99, 1])).toEqual([2, 1, 0, 0, 0, 0, 0, 0, 0, 2]);
  });

  it('gives PSI 0 for the same distribution and a large PSI for a shifted one', () => {
    const base = [10, 20, 30, 20, 10, 5, 3, 1, 1, 0];
    expect(psi(base, base)).toBe(0);
    expect(psi(base, [0, 0, 0, 0, 0, 5, 10, 30, 30, 25])).toBeGreaterThan(1);
  });
});
