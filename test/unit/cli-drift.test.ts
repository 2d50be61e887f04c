/**
 * `mlops drift`'s output as pure functions of the drift job's result: the per-feature table, the
 * prediction line, the message when nothing was judged, and the JSON (production's report, or the
 * model, status and message).
 */
import { describe, expect, it } from 'vitest';
import { driftJson, formatDriftResult } from '../../cli/drift-table.ts';
import { visible } from '../../cli/print.ts';
import type { DriftJobResult, DriftReport } from '../../core/drift/types.ts';

const report: DriftReport = {
  model: 'credit',
  version: 3,
  route: 'production',
  windowStart: '2026-12-01T11:00:00.000Z',
  windowEnd: '2026-12-01T12:00:00.000Z',
  samples: 812,
  minSamples: 100,
  status: 'judged',
  message: 'judged 812 rows of v3',
  thresholds: { psiWarn: 0.1, psiAlarm: 0.25, nullRateIncreaseAlarm: 0.1 },
  prediction: {
    psi: 0.1234,
    js: 0.05,
    ks: 0.07,
    mean: 0.41,
    baselineMean: 0.36,
    meanShift: 0.05,
    level: 'warn',
  },
  features: [
    {
      feature: 'Home',
      type: 'categorical',
      samples: 800,
      psi: 0.02,
      js: 0.01,
      ks: 0.03,
      nullRate: 0.015,
      baselineNullRate: 0.01,
      unseenShare: 0.125,
      level: 'ok',
    },
    {
      feature: 'Income',
      type: 'numeric',
      samples: 700,
      psi: 1.4567,
      js: 0.52,
      ks: 0.61,
      nullRate: 0.138,
      baselineNullRate: 0.085,
      level: 'alarm',
    },
  ],
  summary: {
    maxFeaturePsi: 1.4567,
    maxFeature: 'Income',
    maxNullRateIncrease: 0.053,
    maxUnseenShare: 0.125,
    level: 'alarm',
  },
  baselineKey: 'baselines/credit/s1/baseline.json',
  reportKey: 'reports/drift/credit/2026-12-01T120000000Z.json',
};

const judged: DriftJobResult = { model: 'credit', status: 'judged', message: 'judged', report, variants: [] };

describe('the drift table', () => {
  const text = visible(formatDriftResult(judged));
  const lines = text.split('\n');

  it('heads the report with the version, the window and the samples', () => {
    expect(lines[0]).toBe(
      'credit v3 production, window 2026-12-01T11:00:00.000Z → 2026-12-01T12:00:00.000Z: 812 samples (min 100), level alarm',
    );
  });

  it('has one row per feature, the most drifted first, with every statistic', () => {
    expect(lines[1]).toMatch(/^ {2}FEATURE +TYPE +PSI +JS +KS +NULL RATE \(BASELINE\) +UNSEEN +LEVEL$/);
    expect(lines[2]).toMatch(/^ {2}Income +numeric +1\.457 +0\.520 +0\.610 +13\.8% \(8\.5%\) +- +alarm$/);
    expect(lines[3]).toMatch(/^ {2}Home +categorical +0\.020 +0\.010 +0\.030 +1\.5% \(1\.0%\) +12\.5% +ok$/);
    expect(lines[2]!.indexOf('alarm')).toBe(lines[3]!.indexOf('ok'));
  });

  it('gives the prediction line with PSI and mean shift', () => {
    expect(text).toContain(
      'prediction: PSI 0.123, JS 0.050, KS 0.070, mean 0.410 vs 0.360 (shift +0.050), warn',
    );
  });

  it("prints a variant's report after production's", () => {
    const out = visible(
      formatDriftResult({
        ...judged,
        variants: [
          {
            ...report,
            version: 4,
            route: 'canary',
            samples: 90,
            status: 'insufficient-samples',
            message: '90 rows of the canary, below 100: nothing judged',
          },
        ],
      }),
    );
    expect(out).toContain('credit v4 canary, window');
    expect(out).toContain('  90 rows of the canary, below 100: nothing judged');
  });

  it("below minSamples prints the job's message instead of a table", () => {
    const out = visible(
      formatDriftResult({
        model: 'credit',
        status: 'insufficient-samples',
        message: 'x',
        report: {
          ...report,
          status: 'insufficient-samples',
          samples: 7,
          message: '7 rows in the window, below 100: nothing judged',
          features: [],
        },
        variants: [],
      }),
    );
    expect(out).toContain(': 7 samples (min 100)\n  7 rows in the window, below 100: nothing judged');
    expect(out).not.toContain('FEATURE');
  });

  it('without a report prints the job result message', () => {
    expect(
      visible(
        formatDriftResult({
          model: 'credit',
          status: 'no-baseline',
          message: 'v3 has no baseline',
          variants: [],
        }),
      ),
    ).toBe('credit: v3 has no baseline');
  });
});

describe('drift --json', () => {
  it("is production's report when judged", () => {
    const json = driftJson(judged) as DriftReport;
    expect(json).toMatchObject({ model: 'credit', version: 3, samples: 812, prediction: { psi: 0.1234 } });
    expect(json.features[1]).toMatchObject({
      feature: 'Income',
      psi: 1.4567,
      js: 0.52,
      ks: 0.61,
      nullRate: 0.138,
      baselineNullRate: 0.085,
    });
  });

  it('is the model, the status and the message when nothing was judged', () => {
    expect(
      driftJson({
        model: 'credit',
        status: 'insufficient-samples',
        message: 'not enough',
        report: { ...report, status: 'insufficient-samples', samples: 7, message: '7 rows', features: [] },
        variants: [],
      }),
    ).toEqual({
      model: 'credit',
      status: 'insufficient-samples',
      message: '7 rows',
      version: 3,
      samples: 7,
      minSamples: 100,
      variants: [],
    });
    expect(
      driftJson({ model: 'credit', status: 'no-baseline', message: 'no baseline', variants: [] }),
    ).toEqual({
      model: 'credit',
      status: 'no-baseline',
      message: 'no baseline',
      variants: [],
    });
  });
});
