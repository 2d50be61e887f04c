/**
 * The drift baseline of a snapshot: what its training split looks like, feature by feature, in the
 * bins the drift job will count served values in, and (added by the evaluate step) what the trained
 * model's validation scores look like.
 *
 * Built from the training split's rows as the feature transform parses them (`CleanRow`s from
 * `validateRow`, before imputation), which is also what the predict function logs: both sides of a
 * comparison are the same kind of value. Numeric features get quantile cut points fixed here;
 * categorical features use the transform's fitted vocabulary with one "other" bin, so a category
 * the model folds into "other" is "other" here too. Boolean features are counted as the categories
 * `false` and `true`.
 */
import { errorNames, PlatformError } from '../errors.ts';
import type { FeatureSpec } from '../features/spec.ts';
import type { CleanRow, TransformArtifact } from '../features/transform.ts';
import { DriftAccumulator } from './accumulator.ts';
import { BinLayout, quantileEdges } from './bins.ts';
import { SCORE_BIN_EDGES, scoreHistogram } from './statistics.ts';
import type { DriftBaseline, FeatureBaseline, ScoreBaseline } from './types.ts';

/** What a baseline is built from. */
export interface BaselineSource {
  model: string;
  snapshotId: string;
  featureSchemaHash: string;
  /** An ISO instant. */
  createdAt: string;
  spec: FeatureSpec;
  /** The transform fitted on `rows`: its vocabularies are the categorical bins. */
  transform: TransformArtifact;
  /** The training split's rows. */
  rows: readonly CleanRow[];
  /** Quantile bins per numeric feature (the model's `drift.quantileBins`). */
  quantileBins: number;
}

/** The categories a feature's bins are: the fitted vocabulary, or `false`/`true` for a boolean. */
function categoriesOf(feature: FeatureSpec['features'][number], transform: TransformArtifact): string[] {
  if (feature.type === 'boolean') return ['false', 'true'];
  const vocabulary = transform.features[feature.name]?.vocabulary;
  if (!vocabulary) {
    throw new Error(`The transform has no vocabulary for the categorical feature "${feature.name}".`);
  }
  return [...vocabulary];
}

/** The baseline's features without counts: the bins only (counted next by an accumulator). */
function emptyFeatures(source: BaselineSource): FeatureBaseline[] {
  return source.spec.features.map((feature): FeatureBaseline => {
    const base = { feature: feature.name, nulls: 0, rows: 0, nullRate: 0 };
    if (feature.type === 'numeric') {
      const values: number[] = [];
      for (const row of source.rows) {
        const v = row[feature.name];
        if (typeof v === 'number' && Number.isFinite(v)) values.push(v);
      }
      values.sort((a, b) => a - b);
      const edges = quantileEdges(values, source.quantileBins);
      return { ...base, type: 'numeric', edges, counts: new Array<number>(edges.length + 1).fill(0) };
    }
    const categories = categoriesOf(feature, source.transform);
    return {
      ...base,
      type: 'categorical',
      categories,
      counts: new Array<number>(categories.length + 1).fill(0),
    };
  });
}

/**
 * Builds the baseline of a snapshot's training split (no `score` yet: the evaluate step adds it).
 * The rows are counted by the drift job's own accumulator, so the two sides bin a value alike.
 */
export function buildBaseline(source: BaselineSource): DriftBaseline {
  const features = emptyFeatures(source);
  const counter = new DriftAccumulator(new BinLayout(features));
  for (const row of source.rows) counter.add(row, 0);
  const rows = source.rows.length;
  return {
    model: source.model,
    snapshotId: source.snapshotId,
    featureSchemaHash: source.featureSchemaHash,
    createdAt: source.createdAt,
    rows,
    features: features.map((f, i) => {
      const nulls = counter.nulls[i]!;
      return {
        ...f,
        counts: Array.from(counter.featureCounts(i)),
        nulls,
        rows,
        nullRate: rows ? nulls / rows : 0,
      };
    }),
  };
}

/**
 * The score part of a baseline: the validation scores of the model `trainingJobName` trained, over
 * `SCORE_BIN_EDGES`, their mean and count.
 */
export function scoreBaseline(scores: ArrayLike<number>, trainingJobName: string): ScoreBaseline {
  let sum = 0;
  for (let i = 0; i < scores.length; i++) sum += scores[i]!;
  return {
    trainingJobName,
    edges: [...SCORE_BIN_EDGES],
    counts: scoreHistogram(scores),
    mean: scores.length ? sum / scores.length : 0,
    rows: scores.length,
  };
}

/**
 * The score part from a bare score histogram (an evaluation artifact's `scoreHistogram`, for
 * versions registered before baselines carried scores): the mean is estimated from the bins'
 * midpoints, since the scores themselves are gone.
 */
export function scoreBaselineFromHistogram(counts: readonly number[]): ScoreBaseline {
  let rows = 0;
  let sum = 0;
  counts.forEach((c, i) => {
    rows += c;
    sum += c * ((SCORE_BIN_EDGES[i]! + SCORE_BIN_EDGES[i + 1]!) / 2);
  });
  return { edges: [...SCORE_BIN_EDGES], counts: [...counts], mean: rows ? sum / rows : 0, rows };
}

/** A malformed baseline is a bad artifact (`ArtifactInvalid`), named with where it was read. */
function problem(where: string, message: string): Error {
  return new PlatformError(errorNames.artifactInvalid, `${where} is not a valid drift baseline: ${message}`);
}

function isCountArray(value: unknown, length: number): boolean {
  return (
    Array.isArray(value) &&
    value.length === length &&
    value.every((c) => typeof c === 'number' && Number.isFinite(c) && c >= 0)
  );
}

/**
 * Whether a parsed object is a drift baseline (`features` whose entries carry a `type`). The drift
 * job uses this to tell a baseline from the per-column statistics that train.py used to write, which
 * older versions still point at.
 */
export function looksLikeDriftBaseline(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  const features = (value as { features?: unknown }).features;
  return Array.isArray(features) && features.every((f) => f !== null && typeof f === 'object' && 'type' in f);
}

/**
 * Checks a parsed baseline's shape (bins and counts that agree), naming `where` and the first
 * problem; returns it typed. Checked by hand, not by a schema library, to keep the drift job small.
 */
export function checkDriftBaseline(value: unknown, where: string): DriftBaseline {
  if (!looksLikeDriftBaseline(value)) throw problem(where, 'it has no `features` with a `type`');
  const b = value as DriftBaseline;
  for (const key of ['model', 'snapshotId', 'featureSchemaHash', 'createdAt'] as const) {
    if (typeof b[key] !== 'string') throw problem(where, `\`${key}\` must be a string`);
  }
  for (const f of b.features) {
    const name = `feature ${JSON.stringify(f.feature)}`;
    if (typeof f.feature !== 'string') throw problem(where, 'a feature has no name');
    if (typeof f.nullRate !== 'number' || !(f.nullRate >= 0 && f.nullRate <= 1)) {
      throw problem(where, `${name}: nullRate must be a number in [0, 1]`);
    }
    if (f.type === 'numeric') {
      const ok =
        Array.isArray(f.edges) &&
        f.edges.every((e, i) => typeof e === 'number' && (i === 0 || e > f.edges[i - 1]!));
      if (!ok) throw problem(where, `${name}: edges must be ascending numbers`);
      if (!isCountArray(f.counts, f.edges.length + 1)) {
        throw problem(where, `${name}: counts must be ${f.edges.length + 1} non-negative numbers`);
      }
    } else if (f.type === 'categorical') {
      if (!Array.isArray(f.categories) || !f.categories.every((c) => typeof c === 'string')) {
        throw problem(where, `${name}: categories must be strings`);
      }
      if (!isCountArray(f.counts, f.categories.length + 1)) {
        throw problem(where, `${name}: counts must be ${f.categories.length + 1} non-negative numbers`);
      }
    } else {
      const type = (f as { type?: unknown }).type;
      throw problem(where, `${name}: type must be numeric or categorical, got ${JSON.stringify(type)}`);
    }
  }
  if (b.score !== undefined) {
    if (!isCountArray(b.score.counts, SCORE_BIN_EDGES.length - 1) || typeof b.score.mean !== 'number') {
      throw problem(where, `score must hold ${SCORE_BIN_EDGES.length - 1} counts and a mean`);
    }
  }
  return b;
}
