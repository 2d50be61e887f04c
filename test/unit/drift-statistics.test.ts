import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { binGrid, gridBin, numericBin, quantileEdges } from '../../core/drift/bins.ts';
import {
  binnedKs,
  jsDistance,
  PSI_FLOOR,
  psi,
  SCORE_BIN_EDGES,
  scoreBin,
  scoreHistogram,
} from '../../core/drift/statistics.ts';

const counts = fc.array(fc.nat({ max: 1000 }), { minLength: 1, maxLength: 12 });

describe('drift statistics on identical distributions', () => {
  it('are 0 for the same histogram, and for the same shares at another size', () => {
    const base = [10, 20, 30, 20, 10, 5, 3, 1, 1, 0];
    const doubled = base.map((c) => c * 2);
    for (const other of [base, doubled]) {
      expect(psi(base, other)).toBe(0);
      expect(jsDistance(base, other)).toBeCloseTo(0, 12);
      expect(binnedKs(base, other)).toBeCloseTo(0, 12);
    }
  });

  it('are ~0 for any histogram against itself (property)', () => {
    fc.assert(
      fc.property(counts, (c) => {
        fc.pre(c.some((x) => x > 0));
        expect(psi(c, c)).toBe(0);
        expect(jsDistance(c, c)).toBeLessThan(1e-7);
        expect(binnedKs(c, c)).toBeLessThan(1e-12);
      }),
    );
  });
});

describe('drift statistics on disjoint distributions', () => {
  it('reach their maximum: JS distance 1, KS 1, PSI as large as the floor allows', () => {
    const p = [10, 0];
    const q = [0, 10];
    expect(jsDistance(p, q)).toBeCloseTo(1, 12);
    expect(binnedKs(p, q)).toBe(1);
    // Two bins, each (1 - floor) * ln(1 / floor).
    expect(psi(p, q)).toBeCloseTo(2 * (1 - PSI_FLOOR) * Math.log(1 / PSI_FLOOR), 9);
    expect(psi(p, q)).toBeGreaterThan(18);
  });

  it('stay within [0, 1] for JS and KS and are symmetric (property)', () => {
    fc.assert(
      fc.property(counts, counts, (a, b) => {
        const n = Math.min(a.length, b.length);
        const [p, q] = [a.slice(0, n), b.slice(0, n)];
        fc.pre(p.some((x) => x > 0) && q.some((x) => x > 0));
        for (const stat of [jsDistance, binnedKs]) {
          const v = stat(p, q);
          expect(v).toBeGreaterThanOrEqual(0);
          expect(v).toBeLessThanOrEqual(1 + 1e-12);
          expect(stat(q, p)).toBeCloseTo(v, 12);
        }
        expect(psi(p, q)).toBeGreaterThanOrEqual(0);
        expect(psi(q, p)).toBeCloseTo(psi(p, q), 9);
      }),
    );
  });
});

describe('drift statistics against hand-computed values', () => {
  it('PSI of a known shift: 25% in each of four bins moving to 10/20/30/40%', () => {
    const expected = [100, 100, 100, 100];
    const actual = [10, 20, 30, 40];
    const byHand =
      (0.1 - 0.25) * Math.log(0.1 / 0.25) +
      (0.2 - 0.25) * Math.log(0.2 / 0.25) +
      (0.3 - 0.25) * Math.log(0.3 / 0.25) +
      (0.4 - 0.25) * Math.log(0.4 / 0.25);
    expect(psi(expected, actual)).toBeCloseTo(byHand, 12);
    expect(psi(expected, actual)).toBeCloseTo(0.228217, 6);
  });

  it('JS distance of [1, 0] and [0.5, 0.5]: sqrt of half the two KL divergences to their mean, base 2', () => {
    // m = [0.75, 0.25]; KL(p||m) = log2(4/3); KL(q||m) = 0.5*log2(2/3) + 0.5*log2(2).
    const kl = Math.log2(4 / 3) + 0.5 * Math.log2(2 / 3) + 0.5;
    expect(jsDistance([2, 0], [1, 1])).toBeCloseTo(Math.sqrt(kl / 2), 12);
    expect(jsDistance([2, 0], [1, 1])).toBeCloseTo(0.557923, 6);
  });

  it('binned KS is the largest gap of the cumulative shares', () => {
    // CDFs 0.25, 0.5, 0.75, 1 against 0, 0, 0.5, 1.
    expect(binnedKs([1, 1, 1, 1], [0, 0, 2, 2])).toBe(0.5);
    expect(binnedKs([3, 1], [1, 3])).toBe(0.5);
  });

  it('is NaN when a side is empty (nothing to compare)', () => {
    for (const stat of [psi, jsDistance, binnedKs]) {
      expect(stat([0, 0], [1, 2])).toBeNaN();
      expect(stat([1, 2], [0, 0])).toBeNaN();
    }
  });
});

describe('bins', () => {
  it('cuts numeric values at their quantiles, linear interpolation as numpy does', () => {
    const sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    // Positions 9 * 0.25, 9 * 0.5, 9 * 0.75 = 2.25, 4.5, 6.75.
    expect(quantileEdges(sorted, 4)).toEqual([3.25, 5.5, 7.75]);
    expect(quantileEdges(sorted, 10)).toHaveLength(9);
  });

  it('drops repeated cut points, so edges are strictly ascending', () => {
    // Positions 0.9, 1.8, ..., 8.1: seven cut points at 0, then 0.2 and 1.1.
    const edges = quantileEdges([0, 0, 0, 0, 0, 0, 0, 0, 1, 2], 10);
    expect(edges).toHaveLength(3);
    for (const [i, e] of [0, 0.2, 1.1].entries()) expect(edges[i]).toBeCloseTo(e, 12);
    expect(quantileEdges([5, 5, 5], 10)).toEqual([5]);
    expect(quantileEdges([], 10)).toEqual([]);
    expect(() => quantileEdges([1], 1)).toThrow(/at least 2, got 1/);
  });

  it('puts a value on an edge in the bin below it: (-inf, e0], (e0, e1], ..., (ek, +inf)', () => {
    const edges = [1, 2, 3];
    expect([0.5, 1, 1.5, 2, 3, 3.1, -Infinity, Infinity].map((v) => numericBin(edges, v))).toEqual([
      0, 0, 1, 1, 2, 3, 0, 3,
    ]);
    expect(numericBin([], 42)).toBe(0);
  });

  it('finds the same bin as a linear scan (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.double({ noNaN: true, min: -1e6, max: 1e6 }), { maxLength: 20 }),
        fc.double({ noNaN: true }),
        (raw, value) => {
          const edges = [...raw].sort((a, b) => a - b);
          expect(numericBin(edges, value)).toBe(edges.filter((e) => e < value).length);
        },
      ),
    );
  });

  it("finds through a feature's lookup grid the bin a linear scan finds, edges and values on edges included (property)", () => {
    const value = fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }),
      fc.double({ noNaN: true, min: -1, max: 1 }),
    );
    fc.assert(
      fc.property(fc.uniqueArray(value, { minLength: 2, maxLength: 40 }), fc.array(value), (raw, values) => {
        const edges = Float64Array.from([...raw].sort((a, b) => a - b));
        const grid = binGrid(edges);
        if (!grid) return; // a span too narrow for a finite scale: the accumulator scans instead
        for (const v of [...values, ...edges, edges[0]! - 1, edges.at(-1)! + 1]) {
          expect(gridBin(edges, grid, v)).toBe(edges.filter((e) => e < v).length);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('builds no grid where it would not help: fewer than two edges', () => {
    expect(binGrid(Float64Array.from([]))).toBeUndefined();
    expect(binGrid(Float64Array.from([3]))).toBeUndefined();
    expect(binGrid(Float64Array.from([1, 2, 3]))?.table).toHaveLength(513);
  });

  it('bins scores in ten fixed bins, 1.0 in the last, outside values and NaN at the ends', () => {
    expect(SCORE_BIN_EDGES).toHaveLength(11);
    expect(scoreHistogram([0, 0.05, 0.15, 0.99, 1])).toEqual([2, 1, 0, 0, 0, 0, 0, 0, 0, 2]);
    expect([-0.5, 1.5, Number.NaN].map(scoreBin)).toEqual([0, 9, 0]);
  });
});
