/**
 * The one feature transform. The prepare step uses it to build training matrices and the predict
 * Lambda uses it to build serving vectors, so the two paths cannot drift apart.
 */
import { createHash } from 'node:crypto';
import type { FeatureSpec } from './spec.ts';

/** Bumped whenever the meaning of `transformRow` changes, so old artifacts stop matching. */
export const TRANSFORM_CODE_VERSION = 1;

/** Appended to a categorical feature's vocabulary: the column that counts unseen categories. */
export const OTHER_CATEGORY = '__other__';

export type CleanValue = number | string | boolean | null;
/** A row that passed validation: every spec feature is present, typed, or null when missing. */
export type CleanRow = Record<string, CleanValue>;

/** What fitting on the training snapshot learns; stored with the model version. */
export interface TransformArtifact {
  transformCodeVersion: number;
  specVersion: number;
  /** Output column names, in vector order. */
  columns: string[];
  /** Sorted categories seen in training, per categorical feature. */
  vocabularies: Record<string, string[]>;
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
    const known = new Set(spec.features.map((f) => f.name));
    if (withLabel) known.add(spec.label.column);
    for (const key of Object.keys(raw)) {
      if (!known.has(key)) errors.push({ field: key, message: 'is not a feature of this model' });
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  return label === undefined ? { ok: true, row } : { ok: true, row, label };
}

/** Learns the vocabularies from the training rows. Deterministic: categories are sorted. */
export function fitTransform(spec: FeatureSpec, rows: readonly CleanRow[]): TransformArtifact {
  const vocabularies: Record<string, string[]> = {};
  const columns: string[] = [];
  for (const f of spec.features) {
    if (f.type === 'categorical') {
      const seen = new Set<string>();
      for (const row of rows) {
        const v = row[f.name];
        if (typeof v === 'string') seen.add(v);
      }
      const vocab = [...seen].sort();
      vocabularies[f.name] = vocab;
      for (const c of vocab) columns.push(`${f.name}=${c}`);
      columns.push(`${f.name}=${OTHER_CATEGORY}`);
    } else {
      columns.push(f.name);
    }
  }
  return { transformCodeVersion: TRANSFORM_CODE_VERSION, specVersion: spec.version, columns, vocabularies };
}

/** Turns one clean row into the model's input vector. Missing values become NaN (XGBoost's missing). */
export function transformRow(spec: FeatureSpec, artifact: TransformArtifact, row: CleanRow): Float64Array {
  const out = new Float64Array(artifact.columns.length);
  let i = 0;
  for (const f of spec.features) {
    const v = row[f.name];
    if (f.type === 'categorical') {
      const vocab = artifact.vocabularies[f.name] ?? [];
      const width = vocab.length + 1;
      if (v === null || v === undefined) {
        out.fill(Number.NaN, i, i + width);
      } else {
        const at = vocab.indexOf(String(v));
        out[i + (at === -1 ? vocab.length : at)] = 1;
      }
      i += width;
    } else if (f.type === 'boolean') {
      out[i++] = v === null || v === undefined ? Number.NaN : v ? 1 : 0;
    } else {
      // + 0 folds -0 into 0: JSON keeps -0 but a CSV cell cannot, and both paths must agree.
      out[i++] = typeof v === 'number' ? v + 0 : Number.NaN;
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
    features: spec.features.map((f) => ({ name: f.name, type: f.type, missing: f.missing })),
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
