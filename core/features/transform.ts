/**
 * The one feature transform. The prepare step uses it to build training matrices and the predict
 * Lambda uses it to build serving vectors, so the two paths cannot drift apart.
 */
import { createHash } from 'node:crypto';
import type { FeatureDef, FeatureSpec } from './spec.ts';

/** Bumped whenever the meaning of `transformRow` changes, so old artifacts stop matching. */
export const TRANSFORM_CODE_VERSION = 2;

/** Appended to a categorical feature's vocabulary: the column that counts unseen and rare categories. */
export const OTHER_CATEGORY = '__other__';

export type CleanValue = number | string | boolean | null;
/** A row that passed validation: every spec feature is present, typed, or null when missing. */
export type CleanRow = Record<string, CleanValue>;

/** What fitting learned about one feature. */
export interface FeatureFit {
  /** The value a missing entry is replaced with (`impute` policy). */
  impute?: number | string | boolean;
  /** Fitted `[lower, upper]` bounds, one per `clip` transform, in transform order. */
  clips?: [number, number][];
  /** Categories with their own column, in column order. */
  vocabulary?: string[];
}

/** What fitting on the training split learns; stored with the model version. */
export interface TransformArtifact {
  transformCodeVersion: number;
  specVersion: number;
  /** Output column names, in vector order. */
  columns: string[];
  features: Record<string, FeatureFit>;
}

export interface FieldError {
  field: string;
  message: string;
}

export type ValidationResult =
  | { ok: true; row: CleanRow; label?: 0 | 1 }
  | { ok: false; errors: FieldError[] };

const CSV_TRUE = new Set(['true', '1', 'yes']);
const CSV_FALSE = new Set(['false', '0', 'no']);

function describe(value: unknown): string {
  if (typeof value === 'string') return `"${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  if (value === undefined) return 'nothing';
  return JSON.stringify(value) ?? String(value);
}

/** A spec's feature names, built once per spec object (specs are parsed once and never changed). */
const featureNameSets = new WeakMap<FeatureSpec, ReadonlySet<string>>();
function featureNames(spec: FeatureSpec): ReadonlySet<string> {
  let names = featureNameSets.get(spec);
  if (!names) {
    names = new Set(spec.features.map((f) => f.name));
    featureNameSets.set(spec, names);
  }
  return names;
}

/**
 * Checks one raw row against the spec and returns its typed values.
 * `csv` rows hold strings (an empty cell is missing); `json` rows hold JSON values (null or absent is missing).
 * With `withLabel`, the label column must be present and be the positive or negative class.
 */
export function validateRow(
  spec: FeatureSpec,
  raw: Record<string, unknown>,
  source: 'csv' | 'json',
  withLabel = false,
): ValidationResult {
  const errors: FieldError[] = [];
  const row: CleanRow = {};
  for (const f of spec.features) {
    const value = raw[f.name];
    const missing = value === undefined || value === null || (source === 'csv' && value === '');
    if (missing) {
      if (f.missing === 'reject') errors.push({ field: f.name, message: 'is required' });
      row[f.name] = null;
      continue;
    }
    switch (f.type) {
      case 'numeric': {
        const n = source === 'csv' && typeof value === 'string' ? Number(value.trim()) : value;
        if (
          typeof n !== 'number' ||
          !Number.isFinite(n) ||
          (typeof value === 'string' && value.trim() === '')
        ) {
          errors.push({ field: f.name, message: `must be a finite number, got ${describe(value)}` });
        } else if (n <= -1 && f.transforms.includes('log1p')) {
          errors.push({
            field: f.name,
            message: `must be greater than -1 (it is log1p-transformed), got ${n}`,
          });
        } else {
          row[f.name] = n;
        }
        break;
      }
      case 'categorical': {
        if (typeof value !== 'string') {
          errors.push({ field: f.name, message: `must be a string, got ${describe(value)}` });
        } else {
          row[f.name] = value;
        }
        break;
      }
      case 'boolean': {
        if (typeof value === 'boolean') row[f.name] = value;
        else if (source === 'csv' && typeof value === 'string' && CSV_TRUE.has(value.trim().toLowerCase()))
          row[f.name] = true;
        else if (source === 'csv' && typeof value === 'string' && CSV_FALSE.has(value.trim().toLowerCase()))
          row[f.name] = false;
        else errors.push({ field: f.name, message: `must be true or false, got ${describe(value)}` });
        break;
      }
    }
  }
  let label: 0 | 1 | undefined;
  if (withLabel) {
    const value = raw[spec.label.column];
    if (value === spec.label.positive) label = 1;
    else if (value === spec.label.negative) label = 0;
    else
      errors.push({
        field: spec.label.column,
        message: `label must be "${spec.label.positive}" or "${spec.label.negative}", got ${describe(value)}`,
      });
  }
  if (source === 'json') {
    const known = featureNames(spec);
    for (const key of Object.keys(raw)) {
      if (!known.has(key) && !(withLabel && key === spec.label.column)) {
        errors.push({ field: key, message: 'is not a feature of this model' });
      }
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  return label === undefined ? { ok: true, row } : { ok: true, row, label };
}

/** Linear-interpolated quantile of sorted values (the default method of numpy and R's type 7). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** The most frequent value; ties go to the one that sorts first, so fitting is deterministic. */
function mode<T extends string | boolean>(values: readonly T[]): T | undefined {
  const counts = new Map<T, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return modeOfCounts(counts);
}

/**
 * The most frequent key of value counts; ties go to the one whose string sorts first. The fit's mode
 * and the two-pass prepare's (over merged counts) are this one rule.
 */
export function modeOfCounts<T extends string | boolean>(
  counts: Iterable<readonly [T, number]>,
): T | undefined {
  let best: T | undefined;
  let bestCount = 0;
  for (const [v, c] of counts) {
    if (c > bestCount || (c === bestCount && best !== undefined && String(v) < String(best))) {
      best = v;
      bestCount = c;
    }
  }
  return best;
}

/** Thrown when the training split cannot be fitted (for example a feature with no values at all). */
export class FitError extends Error {
  override name = 'FitError';
}

type NumericFeature = Extract<FeatureDef, { type: 'numeric' }>;

function applyNumeric(f: NumericFeature, fit: FeatureFit, value: number): number {
  let v = value;
  let clip = 0;
  for (const t of f.transforms) {
    if (t === 'log1p') v = Math.log1p(v);
    else {
      const [lower, upper] = fit.clips![clip++]!;
      v = Math.min(upper, Math.max(lower, v));
    }
  }
  return v;
}

function fitImpute(
  f: FeatureDef,
  observed: readonly (number | string | boolean)[],
  statistic: () => number | string | boolean | undefined,
): number | string | boolean | undefined {
  if (typeof f.missing !== 'object') return undefined;
  if (f.missing.impute === 'constant') return f.missing.value;
  const value = statistic();
  if (value === undefined || observed.length === 0) {
    throw new FitError(`Feature "${f.name}" has no values in the training split to impute from.`);
  }
  return value;
}

/**
 * Learns, from the training rows only, what the transform needs: imputation values, clip bounds
 * (quantiles of the values as they reach the clip) and categorical vocabularies. Deterministic.
 */
export function fitTransform(spec: FeatureSpec, rows: readonly CleanRow[]): TransformArtifact {
  const features: Record<string, FeatureFit> = {};
  const columns: string[] = [];
  for (const f of spec.features) {
    const fit: FeatureFit = {};
    if (f.type === 'numeric') {
      const observed = rows.map((r) => r[f.name]).filter((v): v is number => typeof v === 'number');
      const sorted = [...observed].sort((a, b) => a - b);
      const impute = fitImpute(f, observed, () =>
        typeof f.missing === 'object' && f.missing.impute === 'mean'
          ? observed.reduce((a, b) => a + b, 0) / observed.length
          : quantile(sorted, 0.5),
      );
      if (impute !== undefined) fit.impute = impute;
      let current =
        impute === undefined
          ? observed
          : rows.map((r) => (typeof r[f.name] === 'number' ? (r[f.name] as number) : (impute as number)));
      const clips: [number, number][] = [];
      for (const t of f.transforms) {
        if (t === 'log1p') {
          current = current.map((v) => Math.log1p(v));
          continue;
        }
        if (current.length === 0)
          throw new FitError(
            `Feature "${f.name}" has no values in the training split to fit its clip bounds on.`,
          );
        const s = [...current].sort((a, b) => a - b);
        const bounds: [number, number] = [quantile(s, t.clip.lower), quantile(s, t.clip.upper)];
        clips.push(bounds);
        current = current.map((v) => Math.min(bounds[1], Math.max(bounds[0], v)));
      }
      if (clips.length > 0) fit.clips = clips;
      columns.push(f.name);
    } else if (f.type === 'categorical') {
      const observed = rows.map((r) => r[f.name]).filter((v): v is string => typeof v === 'string');
      const counts = new Map<string, number>();
      for (const v of observed) counts.set(v, (counts.get(v) ?? 0) + 1);
      const vocabulary = [...counts.entries()]
        .filter(([, c]) => c >= f.minCount)
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
        .slice(0, f.maxCategories)
        .map(([v]) => v)
        .sort();
      fit.vocabulary = vocabulary;
      const impute = fitImpute(f, observed, () => mode(observed));
      if (impute !== undefined) fit.impute = String(impute);
      for (const c of vocabulary) columns.push(`${f.name}=${c}`);
      columns.push(`${f.name}=${OTHER_CATEGORY}`);
    } else {
      const observed = rows.map((r) => r[f.name]).filter((v): v is boolean => typeof v === 'boolean');
      const impute = fitImpute(f, observed, () => mode(observed));
      if (impute !== undefined) fit.impute = Boolean(impute);
      columns.push(f.name);
    }
    features[f.name] = fit;
  }
  return { transformCodeVersion: TRANSFORM_CODE_VERSION, specVersion: spec.version, columns, features };
}

/**
 * Vectors are cut from 64 KB slabs, each part handed out once and never reused, so a vector is as
 * fresh and zero-filled as its own array would be. A typed array too large for V8's heap (a vector of
 * more than 8 values) gets a backing store of its own, which costs several times the whole transform
 * of a row; a view into a slab does not. A live vector keeps its slab alive: 64 KB at most each.
 */
const SLAB_VALUES = 8192;
let slab = new Float64Array(0);
let slabUsed = 0;
function freshVector(length: number): Float64Array {
  if (length > SLAB_VALUES / 8) return new Float64Array(length);
  if (slabUsed + length > slab.length) {
    slab = new Float64Array(SLAB_VALUES);
    slabUsed = 0;
  }
  const vector = slab.subarray(slabUsed, slabUsed + length);
  slabUsed += length;
  return vector;
}

/**
 * What {@link transformRow} needs of each feature, looked up once per spec and artifact: its fit and,
 * for a categorical one, each category's column. Specs and fitted artifacts are not changed once
 * built (fitTransform returns a finished artifact), so the plan is kept beside the artifact.
 */
interface ColumnPlan {
  readonly feature: FeatureSpec['features'][number];
  readonly fit: FeatureFit;
  /** Categorical: the column of each category (its first place in the vocabulary), and the width. */
  readonly columns?: ReadonlyMap<string, number>;
  readonly width: number;
}
const plans = new WeakMap<TransformArtifact, { spec: FeatureSpec; plan: readonly ColumnPlan[] }>();
function planOf(spec: FeatureSpec, artifact: TransformArtifact): readonly ColumnPlan[] {
  const kept = plans.get(artifact);
  if (kept && kept.spec === spec) return kept.plan;
  const plan = spec.features.map((feature): ColumnPlan => {
    const fit = artifact.features[feature.name] ?? {};
    if (feature.type !== 'categorical') return { feature, fit, width: 1 };
    const vocab = fit.vocabulary ?? [];
    const columns = new Map<string, number>();
    vocab.forEach((category, at) => {
      if (!columns.has(category)) columns.set(category, at);
    });
    return { feature, fit, columns, width: vocab.length + 1 };
  });
  plans.set(artifact, { spec, plan });
  return plan;
}

/** Turns one clean row into the model's input vector. Missing values that are not imputed become NaN (XGBoost's missing). */
export function transformRow(spec: FeatureSpec, artifact: TransformArtifact, row: CleanRow): Float64Array {
  const out = freshVector(artifact.columns.length);
  let i = 0;
  for (const { feature: f, fit, columns, width } of planOf(spec, artifact)) {
    const raw = row[f.name];
    const v = raw === null || raw === undefined ? (fit.impute ?? null) : raw;
    if (columns) {
      if (v === null) {
        out.fill(Number.NaN, i, i + width);
      } else {
        const at = columns.get(String(v));
        out[i + (at === undefined ? width - 1 : at)] = 1;
      }
      i += width;
    } else if (f.type === 'boolean') {
      out[i++] = v === null ? Number.NaN : v ? 1 : 0;
    } else if (f.type === 'numeric') {
      // + 0 folds -0 into 0: JSON keeps -0 but a CSV cell cannot, and both paths must agree.
      out[i++] = typeof v === 'number' ? applyNumeric(f, fit, v) + 0 : Number.NaN;
    }
  }
  return out;
}

export function transformBatch(
  spec: FeatureSpec,
  artifact: TransformArtifact,
  rows: readonly CleanRow[],
): Float64Array[] {
  return rows.map((row) => transformRow(spec, artifact, row));
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Identifies what the vectors mean: the spec's features and label, the fitted artifact and the transform code version. */
export function featureSchemaHash(spec: FeatureSpec, artifact: TransformArtifact): string {
  const material = canonical({
    transformCodeVersion: TRANSFORM_CODE_VERSION,
    label: spec.label,
    features: spec.features,
    artifact,
  });
  return createHash('sha256').update(material).digest('hex');
}

/** Serialises a vector as a CSV line for XGBoost: label first, missing as an empty cell. */
export function vectorToCsv(label: number, vector: ArrayLike<number>): string {
  let line = String(label);
  for (let i = 0; i < vector.length; i++) {
    const v = vector[i]!;
    line += Number.isNaN(v) ? ',' : `,${v}`;
  }
  return line;
}
