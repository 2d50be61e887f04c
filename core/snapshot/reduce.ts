/**
 * The reduce of the two-pass prepare: the merged statistics of every chunk (./partial-stats.ts) in,
 * the fitted transform and the drift baseline out, in the shapes the single-function prepare writes
 * (./fit.ts, core/drift/baseline.ts). It computes what `fitTransform` and `buildBaseline` compute from
 * rows, from each feature's value counts instead: the same interpolated quantiles over the same sorted
 * values (exact while a feature is kept exactly), the same mode and vocabulary rules, and the same
 * bins. Where a feature was sketched, its quantiles are over the sketch's bucket values and its drift
 * bin counts count each bucket at its value.
 */

import { numericBin } from '../drift/bins.ts';
import type { DriftBaseline, FeatureBaseline } from '../drift/types.ts';
import { errorNames, PlatformError } from '../errors.ts';
import type { FeatureDef, FeatureSpec } from '../features/spec.ts';
import {
  type FeatureFit,
  featureSchemaHash,
  modeOfCounts,
  OTHER_CATEGORY,
  TRANSFORM_CODE_VERSION,
  type TransformArtifact,
} from '../features/transform.ts';
import type { ModelDefinition } from '../model/definition.ts';
import type { FittedTransform } from './fit.ts';
import {
  type CategoricalStats,
  exactMean,
  type FeatureStats,
  type NumericStats,
  type PartialStats,
  weightedValues,
} from './partial-stats.ts';

type Weighted = readonly (readonly [number, number])[];

function total(values: Weighted): number {
  let n = 0;
  for (const [, c] of values) n += c;
  return n;
}

/** The value at 0-based rank `rank` of ascending weighted values. */
function atRank(values: Weighted, rank: number): number {
  let seen = 0;
  for (const [v, c] of values) {
    seen += c;
    if (rank < seen) return v;
  }
  return Number.NaN;
}

/**
 * The linear-interpolated quantile of ascending weighted values: `quantile` of
 * core/features/transform.ts over the values spelt out, with the same arithmetic.
 */
export function weightedQuantile(values: Weighted, q: number): number {
  const n = total(values);
  if (n === 0) return Number.NaN;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const low = atRank(values, lo);
  const high = atRank(values, hi);
  return low + (high - low) * (pos - lo);
}

/** A monotone map applied to weighted values, keeping them ascending and merging equal results. */
function mapValues(values: Weighted, f: (v: number) => number): [number, number][] {
  const out: [number, number][] = [];
  for (const [v, c] of values) {
    const m = f(v);
    const last = out[out.length - 1];
    if (last && last[0] === m) last[1] += c;
    else out.push([m, c]);
  }
  return out;
}

/** Adds `count` copies of `value` to ascending weighted values. */
function withValue(values: Weighted, value: number, count: number): [number, number][] {
  if (count === 0) return values.map(([v, c]) => [v, c]);
  const out: [number, number][] = [];
  let placed = false;
  for (const [v, c] of values) {
    if (!placed && value <= v) {
      if (value === v) {
        out.push([v, c + count]);
        placed = true;
        continue;
      }
      out.push([value, count]);
      placed = true;
    }
    out.push([v, c]);
  }
  if (!placed) out.push([value, count]);
  return out;
}

class FitProblem extends Error {}

function imputeOf(
  f: FeatureDef,
  observed: number,
  statistic: () => number | string | boolean | undefined,
): number | string | boolean | undefined {
  if (typeof f.missing !== 'object') return undefined;
  if (f.missing.impute === 'constant') return f.missing.value;
  const value = statistic();
  if (value === undefined || observed === 0) {
    throw new FitProblem(`Feature "${f.name}" has no values in the training split to impute from.`);
  }
  return value;
}

function fitNumeric(f: Extract<FeatureDef, { type: 'numeric' }>, s: NumericStats): FeatureFit {
  const fit: FeatureFit = {};
  const observed = weightedValues(s);
  const impute = imputeOf(f, s.count, () =>
    typeof f.missing === 'object' && f.missing.impute === 'mean'
      ? exactMean(s.sum, s.count)
      : weightedQuantile(observed, 0.5),
  );
  if (impute !== undefined) fit.impute = impute;
  let current: [number, number][] =
    impute === undefined ? [...observed] : withValue(observed, impute as number, s.nulls);
  const clips: [number, number][] = [];
  for (const t of f.transforms) {
    if (t === 'log1p') {
      current = mapValues(current, Math.log1p);
      continue;
    }
    if (total(current) === 0) {
      throw new FitProblem(
        `Feature "${f.name}" has no values in the training split to fit its clip bounds on.`,
      );
    }
    const bounds: [number, number] = [
      weightedQuantile(current, t.clip.lower),
      weightedQuantile(current, t.clip.upper),
    ];
    clips.push(bounds);
    current = mapValues(current, (v) => Math.min(bounds[1], Math.max(bounds[0], v)));
  }
  if (clips.length > 0) fit.clips = clips;
  return fit;
}

function fitCategorical(f: Extract<FeatureDef, { type: 'categorical' }>, s: CategoricalStats): FeatureFit {
  const vocabulary = s.counts
    .filter(([, c]) => c >= f.minCount)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, f.maxCategories)
    .map(([v]) => v)
    .sort();
  const fit: FeatureFit = { vocabulary };
  const observed = s.counts.reduce((n, [, c]) => n + c, 0);
  const impute = imputeOf(f, observed, () => modeOfCounts(s.counts));
  if (impute !== undefined) fit.impute = String(impute);
  return fit;
}

function statsOf<T extends FeatureStats['type']>(
  stats: PartialStats,
  name: string,
  type: T,
): Extract<FeatureStats, { type: T }> {
  const s = stats.features[name];
  if (!s || s.type !== type) {
    throw new PlatformError(
      errorNames.invalidInput,
      `The statistics have no ${type} feature "${name}" (got ${s ? s.type : 'none'}): they were gathered with another spec.`,
    );
  }
  return s as Extract<FeatureStats, { type: T }>;
}

/**
 * The transform fitted on the training rows the statistics describe: what `fitOnTraining` gives for
 * those rows. A feature the transform cannot be fitted on is InvalidInput.
 */
export function fitFromStats(spec: FeatureSpec, stats: PartialStats): FittedTransform {
  const features: Record<string, FeatureFit> = {};
  const columns: string[] = [];
  try {
    for (const f of spec.features) {
      if (f.type === 'numeric') {
        features[f.name] = fitNumeric(f, statsOf(stats, f.name, 'numeric'));
        columns.push(f.name);
      } else if (f.type === 'categorical') {
        const fit = fitCategorical(f, statsOf(stats, f.name, 'categorical'));
        features[f.name] = fit;
        for (const c of fit.vocabulary!) columns.push(`${f.name}=${c}`);
        columns.push(`${f.name}=${OTHER_CATEGORY}`);
      } else {
        const s = statsOf(stats, f.name, 'boolean');
        const fit: FeatureFit = {};
        const counts: [boolean, number][] = [
          [false, s.false],
          [true, s.true],
        ];
        const impute = imputeOf(f, s.true + s.false, () => modeOfCounts(counts.filter(([, c]) => c > 0)));
        if (impute !== undefined) fit.impute = Boolean(impute);
        features[f.name] = fit;
        columns.push(f.name);
      }
    }
  } catch (err) {
    if (err instanceof FitProblem) throw new PlatformError(errorNames.invalidInput, err.message);
    throw err;
  }
  const transform: TransformArtifact = {
    transformCodeVersion: TRANSFORM_CODE_VERSION,
    specVersion: spec.version,
    columns,
    features,
  };
  return { transform, featureSchemaHash: featureSchemaHash(spec, transform) };
}

/** Interior cut points at the `i/bins` quantiles, as `quantileEdges` in core/drift/bins.ts. */
function weightedEdges(values: Weighted, bins: number): number[] {
  if (!Number.isInteger(bins) || bins < 2) {
    throw new RangeError(`quantile bins must be a whole number of at least 2, got ${bins}`);
  }
  const edges: number[] = [];
  if (total(values) === 0) return edges;
  for (let i = 1; i < bins; i++) {
    const edge = weightedQuantile(values, i / bins) + 0;
    if (edges.length === 0 || edge > edges[edges.length - 1]!) edges.push(edge);
  }
  return edges;
}

/** What the baseline records about its snapshot, beside the statistics. */
export interface BaselineHeader {
  model: string;
  snapshotId: string;
  /** An ISO instant. */
  createdAt: string;
}

/**
 * The drift baseline of the training rows the statistics describe, with the bins of `fitted`: what
 * `buildBaseline` gives for those rows.
 */
export function baselineFromStats(
  def: Pick<ModelDefinition, 'spec' | 'drift'>,
  stats: PartialStats,
  fitted: FittedTransform,
  header: BaselineHeader,
): DriftBaseline {
  const rows = stats.splits.train;
  const features = def.spec.features.map((f): FeatureBaseline => {
    const base = (nulls: number) => ({
      feature: f.name,
      nulls,
      rows,
      nullRate: rows ? nulls / rows : 0,
    });
    if (f.type === 'numeric') {
      const s = statsOf(stats, f.name, 'numeric');
      const values = weightedValues(s);
      const edges = weightedEdges(values, def.drift.quantileBins);
      const counts = new Array<number>(edges.length + 1).fill(0);
      for (const [v, c] of values) counts[numericBin(edges, v)]! += c;
      return { ...base(s.nulls), type: 'numeric', edges, counts };
    }
    if (f.type === 'boolean') {
      const s = statsOf(stats, f.name, 'boolean');
      return {
        ...base(s.nulls),
        type: 'categorical',
        categories: ['false', 'true'],
        counts: [s.false, s.true, 0],
      };
    }
    const s = statsOf(stats, f.name, 'categorical');
    const categories = [...(fitted.transform.features[f.name]?.vocabulary ?? [])];
    const at = new Map(categories.map((c, i) => [c, i]));
    const counts = new Array<number>(categories.length + 1).fill(0);
    for (const [v, c] of s.counts) counts[at.get(v) ?? categories.length]! += c;
    return { ...base(s.nulls), type: 'categorical', categories, counts };
  });
  return {
    model: header.model,
    snapshotId: header.snapshotId,
    featureSchemaHash: fitted.featureSchemaHash,
    createdAt: header.createdAt,
    rows,
    features,
  };
}

/**
 * Fails (InvalidInput) as `splitSnapshot` does when validation is empty or training lacks a row of
 * each class, from the merged counts.
 */
export function checkSplitCounts(stats: PartialStats): void {
  const pool = stats.rows.valid - stats.rows.goldenDuplicates;
  if (stats.splits.validation === 0) {
    throw new PlatformError(
      errorNames.invalidInput,
      `No row of the ${pool} valid rows fell in the validation split; add data or use training.split "random".`,
    );
  }
  const train = stats.splits.train;
  const classes = stats.trainLabels.filter((c) => c > 0).length;
  if (train < 2 || classes < 2) {
    const dups = stats.rows.goldenDuplicates;
    throw new PlatformError(
      errorNames.invalidInput,
      `The training split has ${train} rows${train >= 2 ? ' of a single class' : ''}: too few to train a classifier on (${stats.rows.valid} valid rows in all${dups > 0 ? `, ${dups} of them left out as copies of golden rows` : ''}).`,
    );
  }
}

/** The reduce: the split checks, then the transform and the baseline. */
export function reduceStats(
  def: Pick<ModelDefinition, 'spec' | 'drift'>,
  stats: PartialStats,
  header: BaselineHeader,
): { fitted: FittedTransform; baseline: DriftBaseline } {
  checkSplitCounts(stats);
  const fitted = fitFromStats(def.spec, stats);
  return { fitted, baseline: baselineFromStats(def, stats, fitted, header) };
}
