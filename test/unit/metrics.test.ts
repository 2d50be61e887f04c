import { describe, expect, it } from 'vitest';
import {
  type BinaryMetrics,
  binaryMetrics,
  fairnessGaps,
  MISSING_GROUP,
  type SliceGroup,
  singleFeatureAuc,
  sliceGroups,
} from '../../core/evaluation/metrics.ts';
import type { FeatureDef } from '../../core/features/spec.ts';
import type { CleanRow } from '../../core/features/transform.ts';
import { seededRandom } from '../../core/random.ts';

describe('binaryMetrics', () => {
  it('computes precision, recall, positive rate, accuracy, AUC and ECE on a hand-worked case', () => {
    // Prepare: predictions at 0.5 are [0, 0, 1, 1]; TP = row 3, FP = row 2, FN = row 1.
    const scores = [0.1, 0.4, 0.6, 0.9];
    const labels = [0, 1, 0, 1];

    // Act
    const m = binaryMetrics(scores, labels, 0.5);

    // Assess
    expect(m.rows).toBe(4);
    expect(m.positives).toBe(2);
    expect(m.precision).toBeCloseTo(0.5, 12);
    expect(m.recall).toBeCloseTo(0.5, 12);
    expect(m.positiveRate).toBeCloseTo(0.5, 12);
    expect(m.accuracy).toBeCloseTo(0.5, 12);
    expect(m.auc).toBeCloseTo(0.75, 12);
    expect(m.logloss).toBeCloseTo(-(Math.log(0.9) + Math.log(0.4) + Math.log(0.4) + Math.log(0.9)) / 4, 12);
    // One row per bin: |0.1−0| + |0.4−1| + |0.6−0| + |0.9−1|, each weighted 1/4.
    expect(m.expectedCalibrationError).toBeCloseTo((0.1 + 0.6 + 0.6 + 0.1) / 4, 12);
  });

  it('averages score and outcome within a bin before taking the calibration error', () => {
    // All three scores fall in [0.1, 0.2): mean score 0.15, positive fraction 1/3.
    const m = binaryMetrics([0.12, 0.18, 0.15], [1, 0, 0], 0.5);
    expect(m.expectedCalibrationError).toBeCloseTo(Math.abs(0.15 - 1 / 3), 12);
  });

  it('puts a score of exactly 1 in the top calibration bin and counts a score at the threshold as positive', () => {
    const m = binaryMetrics([1, 0.5], [1, 0], 0.5);
    expect(m.expectedCalibrationError).toBeCloseTo(0.5 * 0 + 0.5 * 0.5, 12);
    expect(m.positiveRate).toBe(1);
    expect(m.precision).toBeCloseTo(0.5, 12);
  });

  it('gives precision 0 with no predicted positives, and recall and AUC NaN with no positives', () => {
    const none = binaryMetrics([0.1, 0.2, 0.3], [0, 1, 0], 0.9);
    expect(none.precision).toBe(0);
    expect(none.recall).toBe(0);
    expect(none.positiveRate).toBe(0);

    const noPositives = binaryMetrics([0.1, 0.7], [0, 0], 0.5);
    expect(Number.isNaN(noPositives.recall)).toBe(true);
    expect(Number.isNaN(noPositives.auc)).toBe(true);
    expect(noPositives.precision).toBe(0);
  });

  it('fails on mismatched lengths, a label that is not 0/1, or a score outside [0, 1], naming the value', () => {
    expect(() => binaryMetrics([0.1, 0.2], [0], 0.5)).toThrow(/2 scores but 1 labels/);
    expect(() => binaryMetrics([0.1, 0.2], [0, 2], 0.5)).toThrow(/label at row 1 is 2/);
    expect(() => binaryMetrics([0.1, 1.5], [0, 1], 0.5)).toThrow(/score at row 1 is 1.5/);
    expect(() => binaryMetrics([Number.NaN], [0], 0.5)).toThrow(/score at row 0 is NaN/);
  });
});

describe('sliceGroups', () => {
  const rows: CleanRow[] = [
    { home: 'rent', age: 20 },
    { home: 'owner', age: 30 },
    { home: 'rent', age: 45 },
    { home: null, age: null },
    { home: 'owner', age: 25 },
    { home: 'rent', age: 60 },
  ];
  const scores = [0.9, 0.2, 0.7, 0.4, 0.6, 0.1];
  const labels = [1, 0, 0, 1, 1, 0];

  it('makes one group per category, sorted, with missing values last', () => {
    const groups = sliceGroups([{ name: 'home', feature: 'home' }], rows, scores, labels, 0.5);
    expect(groups.map((g) => [g.group, g.metrics.rows])).toEqual([
      ['owner', 2],
      ['rent', 3],
      [MISSING_GROUP, 1],
    ]);
    const rent = groups.find((g) => g.group === 'rent')!.metrics;
    // rent rows: scores [0.9, 0.7, 0.1], labels [1, 0, 0]; predicted [1, 1, 0].
    expect(rent.positives).toBe(1);
    expect(rent.positiveRate).toBeCloseTo(2 / 3, 12);
    expect(rent.precision).toBeCloseTo(1 / 2, 12);
    expect(rent.recall).toBe(1);
    expect(rent.auc).toBe(1);
  });

  it('bands numbers at the edges, lower edge inclusive, in band order, leaving out empty bands', () => {
    const groups = sliceGroups(
      [{ name: 'age_band', feature: 'age', bands: [25, 40, 50, 100] }],
      rows,
      scores,
      labels,
      0.5,
    );
    expect(groups.map((g) => [g.slice, g.group, g.metrics.rows])).toEqual([
      ['age_band', '< 25', 1],
      ['age_band', '[25, 40)', 2],
      ['age_band', '[40, 50)', 1],
      ['age_band', '[50, 100)', 1],
      ['age_band', MISSING_GROUP, 1],
    ]);
    const top = sliceGroups([{ name: 'a', feature: 'age', bands: [50] }], rows, scores, labels, 0.5);
    expect(top.map((g) => [g.group, g.metrics.rows])).toEqual([
      ['< 50', 4],
      ['>= 50', 1],
      [MISSING_GROUP, 1],
    ]);
  });

  it('names booleans true and false, and handles several slices in order', () => {
    const flagged: CleanRow[] = [{ flag: true }, { flag: false }, { flag: true }];
    const groups = sliceGroups(
      [
        { name: 'flag', feature: 'flag' },
        { name: 'flag_again', feature: 'flag' },
      ],
      flagged,
      [0.2, 0.4, 0.6],
      [0, 1, 1],
      0.5,
    );
    expect(groups.map((g) => `${g.slice}/${g.group}/${g.metrics.rows}`)).toEqual([
      'flag/false/1',
      'flag/true/2',
      'flag_again/false/1',
      'flag_again/true/2',
    ]);
  });

  it('fails when a banded slice meets a string, naming the slice and the value', () => {
    expect(() =>
      sliceGroups([{ name: 'h', feature: 'home', bands: [1] }], rows, scores, labels, 0.5),
    ).toThrow(/Slice "h".*"rent" in row 0/);
    expect(() => sliceGroups([], rows, scores.slice(1), labels, 0.5)).toThrow(
      /6 rows, 5 scores and 6 labels/,
    );
  });
});

function metricsWith(partial: Partial<BinaryMetrics>): BinaryMetrics {
  return {
    rows: 100,
    positives: 50,
    auc: 0.8,
    logloss: 0.4,
    accuracy: 0.8,
    precision: 0.8,
    recall: 0.8,
    positiveRate: 0.5,
    expectedCalibrationError: 0.05,
    ...partial,
  };
}

function group(slice: string, name: string, partial: Partial<BinaryMetrics>): SliceGroup {
  return { slice, group: name, metrics: metricsWith(partial) };
}

describe('fairnessGaps', () => {
  it('takes max − min of positive rate and recall over groups of at least minSize rows', () => {
    const gaps = fairnessGaps(
      [
        group('home', 'rent', { rows: 50, positiveRate: 0.6, recall: 0.9 }),
        group('home', 'owner', { rows: 40, positiveRate: 0.2, recall: 0.5 }),
        group('home', 'parents', { rows: 30, positiveRate: 0.4, recall: 0.7 }),
        // Too small to judge: its extreme rates must not count.
        group('home', 'other', { rows: 29, positiveRate: 1, recall: 0 }),
      ],
      30,
    );
    expect(gaps).toHaveLength(1);
    expect(gaps[0]!.slice).toBe('home');
    expect(gaps[0]!.groups).toBe(3);
    expect(gaps[0]!.positiveRateGap).toBeCloseTo(0.4, 12);
    expect(gaps[0]!.tprGap).toBeCloseTo(0.4, 12);
  });

  it('leaves groups without positives out of the TPR gap only', () => {
    const [gap] = fairnessGaps(
      [
        group('s', 'a', { positiveRate: 0.1, recall: 0.9 }),
        group('s', 'b', { positiveRate: 0.5, positives: 0, recall: Number.NaN }),
        group('s', 'c', { positiveRate: 0.3, recall: 0.6 }),
      ],
      30,
    );
    expect(gap!.groups).toBe(3);
    expect(gap!.positiveRateGap).toBeCloseTo(0.4, 12);
    expect(gap!.tprGap).toBeCloseTo(0.3, 12);
  });

  it('gives gaps 0 and groups below 2 when fewer than two groups are large enough', () => {
    const gaps = fairnessGaps(
      [
        group('a', 'x', { rows: 100, positiveRate: 0 }),
        group('a', 'y', { rows: 10, positiveRate: 1 }),
        group('b', 'x', { rows: 5, positiveRate: 0 }),
        group('b', 'y', { rows: 5, positiveRate: 1 }),
      ],
      30,
    );
    expect(gaps).toEqual([
      { slice: 'a', positiveRateGap: 0, tprGap: 0, groups: 1 },
      { slice: 'b', positiveRateGap: 0, tprGap: 0, groups: 0 },
    ]);
  });

  it('fails on a negative minSize, naming it', () => {
    expect(() => fairnessGaps([], -1)).toThrow(/minSize .* got -1/);
  });
});

describe('singleFeatureAuc', () => {
  const features: FeatureDef[] = [
    { name: 'copy_num', type: 'numeric', missing: 'native', transforms: [] },
    { name: 'copy_cat', type: 'categorical', missing: 'native', minCount: 1, maxCategories: 100 },
    { name: 'copy_bool', type: 'boolean', missing: 'native' },
    { name: 'inverse', type: 'numeric', missing: 'native', transforms: [] },
    { name: 'noise_num', type: 'numeric', missing: 'native', transforms: [] },
    { name: 'noise_cat', type: 'categorical', missing: 'native', minCount: 1, maxCategories: 100 },
  ];
  const rand = seededRandom(7);
  const labels: number[] = [];
  const rows: CleanRow[] = [];
  for (let i = 0; i < 2000; i++) {
    const y = rand() < 0.3 ? 1 : 0;
    labels.push(y);
    rows.push({
      copy_num: y,
      copy_cat: y === 1 ? 'bad' : 'good',
      copy_bool: y === 1,
      inverse: -y * 10 + rand(),
      noise_num: rand(),
      noise_cat: ['a', 'b', 'c'][Math.floor(rand() * 3)]!,
    });
  }

  it('scores a copy of the label at 1, in any type and in either direction, and noise near 0.5', () => {
    const result = singleFeatureAuc(features, rows, labels);
    expect(result['copy_num']).toBe(1);
    expect(result['copy_cat']).toBe(1);
    expect(result['copy_bool']).toBe(1);
    expect(result['inverse']).toBe(1);
    expect(result['noise_num']).toBeGreaterThanOrEqual(0.5);
    expect(result['noise_num']).toBeLessThan(0.55);
    expect(result['noise_cat']).toBeGreaterThanOrEqual(0.5);
    expect(result['noise_cat']).toBeLessThan(0.55);
  });

  it('leaves out missing values and gives NaN below 10 usable rows or with one class', () => {
    const numeric: FeatureDef[] = [{ name: 'x', type: 'numeric', missing: 'native', transforms: [] }];
    const y = [0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1];
    const nineKnown = y.map((v, i): CleanRow => ({ x: i < 9 ? v : null }));
    expect(Number.isNaN(singleFeatureAuc(numeric, nineKnown, y)['x'])).toBe(true);

    const tenKnown = y.map((v, i): CleanRow => ({ x: i < 10 ? v : null }));
    expect(singleFeatureAuc(numeric, tenKnown, y)['x']).toBe(1);

    const oneClass = y.map((_, i): CleanRow => ({ x: i }));
    expect(
      Number.isNaN(
        singleFeatureAuc(
          numeric,
          oneClass,
          y.map(() => 1),
        )['x'],
      ),
    ).toBe(true);
  });

  it('fails when a value does not match its feature type, naming the feature and value', () => {
    const numeric: FeatureDef[] = [{ name: 'x', type: 'numeric', missing: 'native', transforms: [] }];
    expect(() => singleFeatureAuc(numeric, [{ x: 'ten' }], [1])).toThrow(
      /"x" is numeric, but row 0 holds "ten"/,
    );
  });
});
