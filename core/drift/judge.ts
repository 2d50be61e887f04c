/**
 * The drift verdict, pure: a window's counts against the baseline they were counted over, under the
 * model's drift policy, give a report. Per feature: PSI, Jensen–Shannon distance and binned KS on
 * the baseline's bins, the null rate against the baseline's, and for categorical features the share
 * of values outside the vocabulary; for the scores: PSI and the mean's shift. A feature's level is
 * `alarm` at PSI >= psiAlarm or a null-rate rise >= nullRateIncreaseAlarm, `warn` at PSI >= psiWarn;
 * the scores' level follows their PSI. Below `minSamples` rows nothing is judged, and the report
 * says so.
 */
import type { DriftPolicy } from '../model/policies.ts';
import type { DriftAccumulator } from './accumulator.ts';
import { binnedKs, jsDistance, psi } from './statistics.ts';
import type {
  DriftBaseline,
  DriftLevel,
  DriftReport,
  DriftRoute,
  FeatureDriftResult,
  PredictionDriftResult,
} from './types.ts';

/** The policy fields the verdict reads. */
export type DriftThresholds = Pick<
  DriftPolicy,
  'minSamples' | 'psiWarn' | 'psiAlarm' | 'nullRateIncreaseAlarm'
>;

/** What the report is about and where it and its baseline are. */
export interface DriftContext {
  model: string;
  version: number;
  route: DriftRoute;
  windowStart: string;
  windowEnd: string;
  baselineKey: string;
  reportKey: string;
}

const RANK: Record<DriftLevel, number> = { ok: 0, warn: 1, alarm: 2 };

/** The more severe of two levels. */
export function worse(a: DriftLevel, b: DriftLevel): DriftLevel {
  return RANK[b] > RANK[a] ? b : a;
}

function psiLevel(value: number, t: DriftThresholds): DriftLevel {
  return value >= t.psiAlarm ? 'alarm' : value >= t.psiWarn ? 'warn' : 'ok';
}

/** A statistic with an empty side (no values in the window or the baseline) measures no shift: 0. */
function orZero(value: number): number {
  return Number.isFinite(value) ? value : 0;
}

function sum(counts: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < counts.length; i++) s += counts[i]!;
  return s;
}

function fixed(value: number, digits = 3): string {
  return value.toFixed(digits);
}

function signed(value: number, digits = 3): string {
  return `${value >= 0 ? '+' : ''}${value.toFixed(digits)}`;
}

function judgeFeatures(
  baseline: DriftBaseline,
  counts: DriftAccumulator,
  t: DriftThresholds,
): FeatureDriftResult[] {
  return baseline.features.map((b, i) => {
    const window = counts.featureCounts(i);
    const nulls = counts.nulls[i]!;
    const samples = counts.rows - nulls;
    const value = orZero(psi(b.counts, window));
    const nullRate = counts.rows ? nulls / counts.rows : 0;
    const level = worse(
      psiLevel(value, t),
      nullRate - b.nullRate >= t.nullRateIncreaseAlarm ? 'alarm' : 'ok',
    );
    const result: FeatureDriftResult = {
      feature: b.feature,
      type: b.type,
      samples,
      psi: value,
      js: orZero(jsDistance(b.counts, window)),
      ks: orZero(binnedKs(b.counts, window)),
      nullRate,
      baselineNullRate: b.nullRate,
      level,
    };
    if (b.type === 'categorical') {
      const other = b.counts.length - 1;
      const baselineValues = sum(b.counts);
      result.unseenShare = samples ? window[other]! / samples : 0;
      result.baselineUnseenShare = baselineValues ? b.counts[other]! / baselineValues : 0;
    }
    return result;
  });
}

function judgePrediction(
  baseline: DriftBaseline,
  counts: DriftAccumulator,
  t: DriftThresholds,
): PredictionDriftResult | undefined {
  const score = baseline.score;
  if (!score) return undefined;
  const value = orZero(psi(score.counts, counts.scoreCounts));
  const mean = counts.rows ? counts.scoreSum / counts.rows : 0;
  return {
    psi: value,
    js: orZero(jsDistance(score.counts, counts.scoreCounts)),
    ks: orZero(binnedKs(score.counts, counts.scoreCounts)),
    mean,
    baselineMean: score.mean,
    meanShift: mean - score.mean,
    level: psiLevel(value, t),
  };
}

/** The feature where `pick` is largest (the first of equals), or undefined with no features. */
function largest(
  features: readonly FeatureDriftResult[],
  pick: (f: FeatureDriftResult) => number | undefined,
): { feature: string; value: number } | undefined {
  let best: { feature: string; value: number } | undefined;
  for (const f of features) {
    const value = pick(f);
    if (value !== undefined && (best === undefined || value > best.value))
      best = { feature: f.feature, value };
  }
  return best;
}

/**
 * Judges a window's counts against the baseline they were counted over (an accumulator built on
 * `new BinLayout(baseline.features)`). A baseline without features (a version trained before
 * baselines existed) judges the scores alone; one without `score` judges the features alone.
 */
export function judgeDrift(
  baseline: DriftBaseline,
  counts: DriftAccumulator,
  thresholds: DriftThresholds,
  context: DriftContext,
): DriftReport {
  const layout = counts.layout.features;
  if (
    layout.length !== baseline.features.length ||
    layout.some((f, i) => f.feature !== baseline.features[i]!.feature)
  ) {
    throw new Error(
      `The drift counts of ${context.model} v${context.version} were not counted over its baseline's bins.`,
    );
  }
  const who = `v${context.version} (${context.route})`;
  const common = {
    ...context,
    samples: counts.rows,
    minSamples: thresholds.minSamples,
    thresholds: {
      psiWarn: thresholds.psiWarn,
      psiAlarm: thresholds.psiAlarm,
      nullRateIncreaseAlarm: thresholds.nullRateIncreaseAlarm,
    },
  };
  if (counts.rows < thresholds.minSamples) {
    return {
      ...common,
      status: 'insufficient-samples',
      message:
        `${who}: ${counts.rows} scored row(s) in the window, fewer than the ${thresholds.minSamples} ` +
        'needed to judge drift; nothing was judged.',
      features: [],
    };
  }
  const features = judgeFeatures(baseline, counts, thresholds);
  const prediction = judgePrediction(baseline, counts, thresholds);
  const maxPsi = largest(features, (f) => f.psi);
  const maxNull = largest(features, (f) => f.nullRate - f.baselineNullRate);
  const maxUnseen = largest(features, (f) => f.unseenShare);
  const level = features.reduce<DriftLevel>((l, f) => worse(l, f.level), prediction?.level ?? 'ok');
  const parts = [`${who}, ${counts.rows} rows`];
  parts.push(
    prediction
      ? `prediction PSI ${fixed(prediction.psi)} (${prediction.level}), mean ${signed(prediction.meanShift)}`
      : 'no validation scores to compare the scores with',
  );
  if (maxPsi && maxNull) {
    parts.push(`largest feature PSI ${fixed(maxPsi.value)} on ${maxPsi.feature}`);
    parts.push(`largest null-rate rise ${signed(Math.max(0, maxNull.value))} on ${maxNull.feature}`);
  } else {
    parts.push('no feature baseline, so no feature was judged');
  }
  const flagged = features.filter((f) => f.level !== 'ok').map((f) => `${f.feature} ${f.level}`);
  if (flagged.length > 0) parts.push(`drifting: ${flagged.join(', ')}`);
  return {
    ...common,
    status: 'judged',
    message: `${parts.join('; ')}; level ${level}.`,
    ...(prediction ? { prediction } : {}),
    features,
    summary: {
      maxFeaturePsi: maxPsi?.value ?? 0,
      maxFeature: maxPsi?.feature ?? '',
      maxNullRateIncrease: Math.max(0, maxNull?.value ?? 0),
      ...(maxNull ? { maxNullRateFeature: maxNull.feature } : {}),
      maxUnseenShare: maxUnseen?.value ?? 0,
      ...(maxUnseen ? { maxUnseenFeature: maxUnseen.feature } : {}),
      level,
    },
  };
}
