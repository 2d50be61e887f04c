import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DriftAccumulator } from '../../core/drift/accumulator.ts';
import {
  buildBaseline,
  checkDriftBaseline,
  looksLikeDriftBaseline,
  scoreBaseline,
  scoreBaselineFromHistogram,
} from '../../core/drift/baseline.ts';
import { BinLayout } from '../../core/drift/bins.ts';
import type { FeatureBaseline } from '../../core/drift/types.ts';
import { featureSpecSchema } from '../../core/features/spec.ts';
import { type CleanRow, fitTransform, validateRow } from '../../core/features/transform.ts';
import { credit, creditRows } from '../support/fixtures.ts';

const spec = featureSpecSchema.parse({
  version: 1,
  label: { column: 'y', positive: '1', negative: '0' },
  features: [
    { name: 'x', type: 'numeric' },
    { name: 'colour', type: 'categorical', minCount: 2 },
    { name: 'flag', type: 'boolean' },
  ],
});

/** Ten rows: x = 1..10 (one missing), colour red x5, blue x3, green x1 (rare), one missing; flag. */
function tinyRows(): CleanRow[] {
  const colours = ['red', 'red', 'red', 'red', 'red', 'blue', 'blue', 'blue', 'green', null];
  return colours.map((colour, i) => ({ x: i === 9 ? null : i + 1, colour, flag: i % 3 === 0 }));
}

function tinyBaseline(rows = tinyRows(), quantileBins = 4) {
  return buildBaseline({
    model: 'tiny',
    snapshotId: 's1',
    featureSchemaHash: 'h',
    createdAt: '2026-01-01T00:00:00.000Z',
    spec,
    transform: fitTransform(spec, rows),
    rows,
    quantileBins,
  });
}

describe('drift baseline builder', () => {
  it('counts a numeric feature in quantile bins of its training values, nulls apart', () => {
    const baseline = tinyBaseline();
    const x = baseline.features[0]!;
    expect(x).toMatchObject({ feature: 'x', type: 'numeric', nulls: 1, rows: 10, nullRate: 0.1 });
    // Values 1..9: quantiles at 0.25, 0.5, 0.75 are 3, 5, 7 (positions 2, 4, 6).
    expect(x.type === 'numeric' && x.edges).toEqual([3, 5, 7]);
    // (-inf, 3] holds 1, 2, 3; (3, 5] 4, 5; (5, 7] 6, 7; (7, inf) 8, 9.
    expect(x.counts).toEqual([3, 2, 2, 2]);
    expect(baseline.rows).toBe(10);
  });

  it("counts a categorical feature over the transform's vocabulary, rare categories in other", () => {
    const colour = tinyBaseline().features[1]!;
    // minCount 2 leaves green out of the vocabulary: it is "other", as the model sees it.
    expect(colour).toMatchObject({ type: 'categorical', categories: ['blue', 'red'], nulls: 1 });
    expect(colour.counts).toEqual([3, 5, 1]);
  });

  it('counts a boolean feature as the categories false and true', () => {
    const flag = tinyBaseline().features[2]!;
    expect(flag).toMatchObject({ type: 'categorical', categories: ['false', 'true'], nulls: 0 });
    // i % 3 === 0 for i = 0, 3, 6, 9.
    expect(flag.counts).toEqual([6, 4, 0]);
  });

  it('is the same whatever order the rows come in', () => {
    const rows = tinyRows();
    const reversed = [...rows].reverse();
    expect(tinyBaseline(reversed, 10)).toEqual(tinyBaseline(rows, 10));
  });

  it('has no score until the evaluate step adds one', () => {
    expect(tinyBaseline().score).toBeUndefined();
    const score = scoreBaseline([0.05, 0.15, 0.15, 0.95], 'job-1');
    expect(score).toEqual({
      trainingJobName: 'job-1',
      edges: [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1],
      counts: [1, 2, 0, 0, 0, 0, 0, 0, 0, 1],
      mean: expect.closeTo(0.325, 12),
      rows: 4,
    });
    // From a bare histogram the mean comes from the bins' midpoints: (0.05 + 2 * 0.15 + 0.95) / 4.
    expect(scoreBaselineFromHistogram(score.counts).mean).toBeCloseTo(0.325, 12);
  });

  it('on the credit data: deciles hold about a tenth of the values each, counts and nulls add up', () => {
    const rows = creditRows();
    const transform = fitTransform(credit.spec, rows);
    const baseline = buildBaseline({
      model: 'credit',
      snapshotId: 's',
      featureSchemaHash: 'h',
      createdAt: 'now',
      spec: credit.spec,
      transform,
      rows,
      quantileBins: credit.drift.quantileBins,
    });
    expect(baseline.features.map((f) => f.feature)).toEqual(credit.spec.features.map((f) => f.name));
    for (const f of baseline.features) {
      expect(f.counts.reduce((a, b) => a + b, 0) + f.nulls, f.feature).toBe(rows.length);
      if (f.type === 'numeric') {
        expect(f.edges.length).toBeLessThanOrEqual(9);
        for (let i = 1; i < f.edges.length; i++) expect(f.edges[i]).toBeGreaterThan(f.edges[i - 1]!);
      } else {
        expect(f.categories).toEqual(transform.features[f.feature]!.vocabulary);
      }
    }
    const amount = baseline.features.find((f) => f.feature === 'Amount')!;
    expect(amount.type === 'numeric' && amount.edges).toHaveLength(9);
    const present = rows.length - amount.nulls;
    // Amounts are round figures, so ties at a cut point move a few rows across it.
    for (const c of amount.counts) expect(Math.abs(c / present - 0.1)).toBeLessThan(0.05);
    // The round trip through JSON (the lake) keeps it a valid baseline.
    expect(checkDriftBaseline(JSON.parse(JSON.stringify(baseline)), 'the credit baseline')).toEqual(baseline);
  });

  it('parses CSV cells as the transform does: the served JSON row and the training CSV row land alike', () => {
    const baseline = tinyBaseline();
    const layout = new BinLayout(baseline.features);
    const fromCsv = validateRow(spec, { x: ' 4 ', colour: 'red', flag: 'yes' }, 'csv');
    const fromJson = validateRow(spec, { x: 4, colour: 'red', flag: true }, 'json');
    if (!fromCsv.ok || !fromJson.ok) throw new Error('rows should be valid');
    const a = new DriftAccumulator(layout);
    a.add(fromCsv.row, 0.5);
    const b = new DriftAccumulator(layout);
    b.add(fromJson.row, 0.5);
    expect(a.counts).toEqual(b.counts);
  });
});

describe('drift baseline check', () => {
  it("tells a drift baseline from train.py's former column statistics", () => {
    expect(looksLikeDriftBaseline(tinyBaseline())).toBe(true);
    expect(looksLikeDriftBaseline({ version: 1, features: { columns: [] }, score: {} })).toBe(false);
    expect(looksLikeDriftBaseline(null)).toBe(false);
  });

  it('fails on counts that do not match the bins, naming where and which feature', () => {
    const bad = JSON.parse(JSON.stringify(tinyBaseline()));
    bad.features[0].counts.pop();
    expect(() => checkDriftBaseline(bad, 'baselines/tiny/s1/baseline.json')).toThrow(
      'baselines/tiny/s1/baseline.json is not a valid drift baseline: feature "x": counts must be 4 non-negative numbers',
    );
    const unordered = JSON.parse(JSON.stringify(tinyBaseline()));
    unordered.features[0].edges = [5, 3, 7];
    expect(() => checkDriftBaseline(unordered, 'b.json')).toThrow(/feature "x": edges must be ascending/);
    expect(() => checkDriftBaseline({}, 'c.json')).toThrow(
      expect.objectContaining({ name: 'ArtifactInvalid' }),
    );
  });
});

describe('drift accumulator', () => {
  const baseline = tinyBaseline();
  const layout = new BinLayout(baseline.features);

  it('counts what the transform would see: non-numbers as missing, unknown categories as other', () => {
    const acc = new DriftAccumulator(layout);
    acc.add({ x: 4, colour: 'blue', flag: false }, 0.12);
    acc.add({ x: 'four', colour: 'purple', flag: true }, 0.95);
    acc.add({ colour: null }, 1);
    expect(Array.from(acc.featureCounts(0))).toEqual([0, 1, 0, 0]);
    expect(Array.from(acc.featureCounts(1))).toEqual([1, 0, 1]);
    expect(Array.from(acc.featureCounts(2))).toEqual([1, 1, 0]);
    expect(Array.from(acc.nulls)).toEqual([2, 1, 1]);
    expect(Array.from(acc.scoreCounts)).toEqual([0, 1, 0, 0, 0, 0, 0, 0, 0, 2]);
    expect(acc.rows).toBe(3);
    expect(acc.scoreSum).toBeCloseTo(2.07, 12);
  });

  it('holds memory in bins, not rows: its arrays keep their size whatever is added', () => {
    const acc = new DriftAccumulator(layout);
    const sizes = () => [acc.counts.length, acc.nulls.length, acc.scoreCounts.length];
    const before = sizes();
    for (let i = 0; i < 10_000; i++) acc.add({ x: i, colour: 'red', flag: true }, (i % 100) / 100);
    expect(sizes()).toEqual(before);
    expect(before).toEqual([4 + 3 + 3, 3, 10]);
    expect(acc.rows).toBe(10_000);
  });

  const row = fc.record({
    x: fc.oneof(fc.double({ noNaN: true, min: -5, max: 15 }), fc.constant(null), fc.constant('junk')),
    colour: fc.oneof(fc.constantFrom('red', 'blue', 'green', 'purple'), fc.constant(null)),
    flag: fc.oneof(fc.boolean(), fc.constant(null)),
  });
  const scored = fc.tuple(row, fc.double({ min: 0, max: 1, noNaN: true }));

  it('merging the counts of two parts equals one pass over the whole (property)', () => {
    fc.assert(
      fc.property(fc.array(scored, { maxLength: 60 }), fc.nat(), (rows, at) => {
        const cut = rows.length === 0 ? 0 : at % (rows.length + 1);
        const whole = new DriftAccumulator(layout);
        for (const [r, s] of rows) whole.add(r, s);
        const first = new DriftAccumulator(layout);
        const second = new DriftAccumulator(new BinLayout(JSON.parse(JSON.stringify(baseline.features))));
        for (const [r, s] of rows.slice(0, cut)) first.add(r, s);
        for (const [r, s] of rows.slice(cut)) second.add(r, s);
        const merged = first.merge(second);
        expect(merged.counts).toEqual(whole.counts);
        expect(merged.nulls).toEqual(whole.nulls);
        expect(merged.scoreCounts).toEqual(whole.scoreCounts);
        expect(merged.rows).toBe(whole.rows);
        expect(merged.scoreSum).toBeCloseTo(whole.scoreSum, 9);
      }),
    );
  });

  it('counts a batch as it counts its rows one by one (property)', () => {
    fc.assert(
      fc.property(fc.array(scored, { maxLength: 60 }), (rows) => {
        const oneByOne = new DriftAccumulator(layout);
        for (const [r, s] of rows) oneByOne.add(r, s);
        const batch = new DriftAccumulator(layout);
        batch.addBatch(
          rows.map(([r]) => r),
          rows.map(([, s]) => s),
        );
        expect(batch.counts).toEqual(oneByOne.counts);
        expect(batch.nulls).toEqual(oneByOne.nulls);
        expect(batch.scoreCounts).toEqual(oneByOne.scoreCounts);
        expect(batch.rows).toBe(oneByOne.rows);
      }),
    );
  });

  it('refuses a batch whose scores do not match its rows', () => {
    expect(() => new DriftAccumulator(layout).addBatch([{}, {}], [0.5])).toThrow(/2 rows but 1 scores/);
  });

  it('refuses to merge counts over other bins', () => {
    const other: FeatureBaseline[] = [{ ...baseline.features[0]!, edges: [1, 2, 3] } as FeatureBaseline];
    const a = new DriftAccumulator(layout);
    expect(() => a.merge(new DriftAccumulator(new BinLayout(other)))).toThrow(
      /Cannot merge drift counts over different bins: \[x, colour, flag\] and \[x\]/,
    );
    const moved = JSON.parse(JSON.stringify(baseline.features));
    moved[0].edges = [3, 5, 8];
    expect(() => a.merge(new DriftAccumulator(new BinLayout(moved)))).toThrow(/different bins/);
  });
});
