import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DriftAccumulator } from '../../core/drift/accumulator.ts';
import { buildBaseline, scoreBaseline } from '../../core/drift/baseline.ts';
import { BinLayout } from '../../core/drift/bins.ts';
import { judgeDrift } from '../../core/drift/judge.ts';
import type { DriftBaseline, NumericFeatureBaseline } from '../../core/drift/types.ts';
import { type CleanRow, fitTransform } from '../../core/features/transform.ts';
import { credit, creditRows } from '../support/fixtures.ts';

const rows = creditRows();
const scoreOf = (i: number) => ((i * 37) % 100) / 100 + 0.005;
const baseline: DriftBaseline = {
  ...buildBaseline({
    model: 'credit',
    snapshotId: 's',
    featureSchemaHash: 'h',
    createdAt: '2026-01-01T00:00:00.000Z',
    spec: credit.spec,
    transform: fitTransform(credit.spec, rows),
    rows,
    quantileBins: 10,
  }),
  score: scoreBaseline(
    rows.map((_, i) => scoreOf(i)),
    'job',
  ),
};
const thresholds = credit.drift;
const context = {
  model: 'credit',
  version: 3,
  route: 'production' as const,
  windowStart: '2026-01-01T11:00:00.000Z',
  windowEnd: '2026-01-01T12:00:00.000Z',
  baselineKey: 'baselines/credit/s/baseline.json',
  reportKey: 'reports/drift/credit/2026-01-01T120000000Z.json',
};

function judge(window: CleanRow[], score: (i: number) => number = scoreOf) {
  const acc = new DriftAccumulator(new BinLayout(baseline.features));
  window.forEach((row, i) => {
    acc.add(row, score(i));
  });
  return judgeDrift(baseline, acc, thresholds, context);
}

const feature = (report: ReturnType<typeof judge>, name: string) =>
  report.features.find((f) => f.feature === name)!;

describe('drift judge', () => {
  it('finds nothing when the window is the training data itself', () => {
    const report = judge(rows);
    expect(report.status).toBe('judged');
    expect(report.summary).toMatchObject({ level: 'ok', maxNullRateIncrease: 0 });
    expect(report.summary!.maxFeaturePsi).toBeLessThan(1e-9);
    for (const f of report.features) {
      expect(f, f.feature).toMatchObject({ psi: 0, level: 'ok' });
      expect(f.js).toBeLessThan(1e-7);
      expect(f.ks).toBeLessThan(1e-12);
      expect(f.nullRate).toBeCloseTo(f.baselineNullRate, 12);
    }
    expect(report.prediction).toMatchObject({ psi: 0, level: 'ok', meanShift: expect.closeTo(0, 12) });
    expect(report.message).toMatch(/^v3 \(production\), \d+ rows; prediction PSI 0\.000 \(ok\).*level ok\.$/);
  });

  it('raises a feature alarm when incomes triple, and only on Income', () => {
    const report = judge(
      rows.map((r) => ({ ...r, Income: typeof r.Income === 'number' ? r.Income * 3 : null })),
    );
    const income = feature(report, 'Income');
    expect(income.level).toBe('alarm');
    expect(income.psi).toBeGreaterThan(thresholds.psiAlarm);
    expect(income.ks).toBeGreaterThan(0.3);
    expect(income.js).toBeGreaterThan(0.3);
    expect(report.summary).toMatchObject({ maxFeature: 'Income', level: 'alarm' });
    expect(report.features.filter((f) => f.level !== 'ok').map((f) => f.feature)).toEqual(['Income']);
    expect(report.message).toContain('drifting: Income alarm');
  });

  it('raises a null-rate alarm when a feature goes missing, though its values keep their shape', () => {
    const report = judge(rows.map((r, i) => (i % 4 === 0 ? { ...r, Age: null } : r)));
    const age = feature(report, 'Age');
    expect(age.nullRate - age.baselineNullRate).toBeGreaterThanOrEqual(thresholds.nullRateIncreaseAlarm);
    expect(age.psi).toBeLessThan(thresholds.psiWarn);
    expect(age.level).toBe('alarm');
    expect(report.summary).toMatchObject({ maxNullRateFeature: 'Age', level: 'alarm' });
    expect(report.summary!.maxNullRateIncrease).toBeCloseTo(age.nullRate - age.baselineNullRate, 12);
  });

  it('measures the share of unseen categories in a surge of one new category', () => {
    const report = judge(rows.map((r, i) => (i % 2 === 0 ? { ...r, Home: 'houseboat' } : r)));
    const home = feature(report, 'Home');
    expect(home.unseenShare).toBeGreaterThan(0.45);
    expect(home.baselineUnseenShare).toBe(0);
    expect(home.level).toBe('alarm');
    expect(report.summary).toMatchObject({ maxUnseenFeature: 'Home' });
    expect(report.summary!.maxUnseenShare).toBe(home.unseenShare);
    expect(feature(report, 'Income').unseenShare).toBeUndefined();
  });

  it('judges the scores: PSI and the shift of the mean', () => {
    const report = judge(rows, () => 0.97);
    expect(report.prediction!.level).toBe('alarm');
    expect(report.prediction!.mean).toBeCloseTo(0.97, 12);
    expect(report.prediction!.meanShift).toBeCloseTo(0.97 - baseline.score!.mean, 12);
    expect(report.summary!.level).toBe('alarm');
  });

  it('judges nothing below minSamples, and says so', () => {
    const report = judge(rows.slice(0, thresholds.minSamples - 1));
    expect(report).toMatchObject({
      status: 'insufficient-samples',
      features: [],
      samples: 99,
      minSamples: 100,
    });
    expect(report.prediction).toBeUndefined();
    expect(report.summary).toBeUndefined();
    expect(report.message).toBe(
      'v3 (production): 99 scored row(s) in the window, fewer than the 100 needed to judge drift; nothing was judged.',
    );
  });

  it('judges the scores alone for a baseline without features', () => {
    const acc = new DriftAccumulator(new BinLayout([]));
    for (let i = 0; i < 200; i++) acc.add({}, scoreOf(i));
    const report = judgeDrift({ ...baseline, features: [] }, acc, thresholds, context);
    expect(report.status).toBe('judged');
    expect(report.features).toEqual([]);
    expect(report.summary).toMatchObject({ maxFeaturePsi: 0, maxFeature: '' });
    expect(report.message).toContain('no feature baseline, so no feature was judged');
  });

  it('refuses counts taken over another baseline', () => {
    const acc = new DriftAccumulator(new BinLayout(baseline.features.slice(1)));
    expect(() => judgeDrift(baseline, acc, thresholds, context)).toThrow(
      /not counted over its baseline's bins/,
    );
  });
});

describe('drift levels (property)', () => {
  const numeric: NumericFeatureBaseline = {
    feature: 'x',
    type: 'numeric',
    edges: [1, 2, 3],
    counts: [25, 25, 25, 25],
    nulls: 0,
    rows: 100,
    nullRate: 0,
  };
  const bl: DriftBaseline = { ...baseline, features: [numeric], score: undefined };

  it('a feature is alarm iff PSI >= psiAlarm or its null rate rose by nullRateIncreaseAlarm; warn iff PSI >= psiWarn', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat({ max: 200 }), { minLength: 4, maxLength: 4 }),
        fc.nat({ max: 300 }),
        fc.double({ min: 0.01, max: 0.5, noNaN: true }),
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        (bins, nulls, warn, spread, nullAlarm) => {
          const t = {
            minSamples: 1,
            psiWarn: warn,
            psiAlarm: warn + spread,
            nullRateIncreaseAlarm: nullAlarm,
          };
          const acc = new DriftAccumulator(new BinLayout(bl.features));
          const values = [0.5, 1.5, 2.5, 3.5];
          bins.forEach((n, b) => {
            for (let i = 0; i < n; i++) acc.add({ x: values[b] }, 0.5);
          });
          for (let i = 0; i < nulls; i++) acc.add({ x: null }, 0.5);
          fc.pre(acc.rows >= 1);
          const report = judgeDrift(bl, acc, t, context);
          const f = report.features[0]!;
          const alarm = f.psi >= t.psiAlarm || f.nullRate - f.baselineNullRate >= t.nullRateIncreaseAlarm;
          expect(f.level).toBe(alarm ? 'alarm' : f.psi >= t.psiWarn ? 'warn' : 'ok');
          expect(report.summary!.level).toBe(f.level);
          expect(report.prediction).toBeUndefined();
        },
      ),
    );
  });
});
