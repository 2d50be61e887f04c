/**
 * Pass 1 of the two-pass prepare: a chunk of raw rows in, mergeable statistics of its training rows
 * out (counts, nulls, category frequencies, numeric value distributions), plus its quarantined rows.
 * Merging is associative and commutative and exact: any chunking of a file, merged in any order,
 * gives deep-equal statistics, so the fitted transform cannot depend on how the file was cut.
 *
 * A numeric feature's values are kept exactly (each distinct value with its count) while they have at
 * most {@link EXACT_DISTINCT_LIMIT} distinct values, and the reduce then computes today's quantiles to
 * the bit (clip bounds, medians and drift bins are numpy-style interpolated quantiles of the exact
 * values, and they enter the feature schema hash, so an approximate value would change the snapshot).
 * Past the limit they fold into a DDSketch's logarithmic buckets (`@datadog/sketches-js`, 1% relative
 * accuracy): memory in the value range, not the row count. Only the library's index mapping is used;
 * the bucket counts are kept here in sorted `[key, count]` lists, because the library's sketch object
 * lays its bins out by insertion order (two sketches of the same values are not deep-equal) and its
 * `merge` drops the negative values' store. Whether a feature is exact or sketched depends only on its
 * distinct values over the whole file, so that choice is chunking-invariant too.
 *
 * The mean (for `impute: mean`) needs a sum, and floating-point addition depends on its order: the sum
 * is kept exactly, as an integer count of 2^-1074 (the smallest double), in a BigInt.
 */

import { DDSketch } from '@datadog/sketches-js';
import type { FeatureSpec } from '../features/spec.ts';
import type { ModelDefinition } from '../model/definition.ts';
import type { SplitName } from '../training-run.ts';
import { type ChunkSplitOptions, type RawChunk, readChunk } from './chunk.ts';
import type { QuarantinedRow } from './validate.ts';

/** Distinct values a numeric feature is kept exactly for before it is sketched. */
export const EXACT_DISTINCT_LIMIT = 2048;

/** The sketch's relative accuracy: a sketched quantile is within 1% of a value at that rank. */
export const SKETCH_RELATIVE_ACCURACY = 0.01;

const mapping = new DDSketch({ relativeAccuracy: SKETCH_RELATIVE_ACCURACY }).mapping;

/** A numeric feature's values as logarithmic buckets: `[key, count]` ascending by key. */
export interface NumericSketch {
  /** Values too close to 0 to be bucketed (|v| at most the mapping's smallest value). */
  zeros: number;
  positive: [number, number][];
  /** Buckets of `-v` for the negative values. */
  negative: [number, number][];
}

/** A numeric feature over a set of training rows. */
export interface NumericStats {
  type: 'numeric';
  nulls: number;
  /** Rows with a value. */
  count: number;
  /** Null when `count` is 0. */
  min: number | null;
  max: number | null;
  /** The exact sum of the values, in units of 2^-1074, as a decimal integer. */
  sum: string;
  /** Distinct values and their counts, ascending; absent once sketched. */
  values?: [number, number][];
  /** Present once the feature has more than EXACT_DISTINCT_LIMIT distinct values. */
  sketch?: NumericSketch;
}

/** A categorical feature: each category's count, ascending by category. */
export interface CategoricalStats {
  type: 'categorical';
  nulls: number;
  counts: [string, number][];
}

export interface BooleanStats {
  type: 'boolean';
  nulls: number;
  true: number;
  false: number;
}

export type FeatureStats = NumericStats | CategoricalStats | BooleanStats;

/** The mergeable statistics of some chunks of a file (pass 1's output; plain JSON). */
export interface PartialStats {
  /** Data rows (valid or not), valid rows, quarantined rows, valid copies of golden-set rows. */
  rows: { total: number; valid: number; quarantined: number; goldenDuplicates: number };
  /** Rows per split (golden copies left out). */
  splits: Record<SplitName, number>;
  /** Training rows per label: `[negative, positive]`. */
  trainLabels: [number, number];
  /** Per feature, in spec order, over the training rows only (the transform is fitted on them). */
  features: Record<string, FeatureStats>;
}

/** Pass 1's result for one chunk: its statistics and its quarantined rows (evidence, written as is). */
export interface ChunkSummary {
  stats: PartialStats;
  quarantined: QuarantinedRow[];
}

const SCALE_BITS = 1074n;
const bits = new DataView(new ArrayBuffer(8));

/** A finite double as an exact integer count of 2^-1074. */
function exactUnits(value: number): bigint {
  bits.setFloat64(0, value);
  const hi = bits.getUint32(0);
  const lo = bits.getUint32(4);
  const exponent = (hi >>> 20) & 0x7ff;
  let mantissa = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  // A normal number carries an implicit leading 1 and is mantissa * 2^(exponent - 1075).
  let shift = 0n;
  if (exponent !== 0) {
    mantissa |= 1n << 52n;
    shift = BigInt(exponent - 1);
  }
  const units = mantissa << shift;
  return hi >>> 31 ? -units : units;
}

/** `units * 2^-1074 / n`, rounded to a double the same way for the same arguments. */
export function exactMean(sum: string, n: number): number {
  let units = BigInt(sum);
  const negative = units < 0n;
  if (negative) units = -units;
  const divisor = BigInt(n) << SCALE_BITS;
  if (units === 0n) return 0;
  // A quotient of about 64 significant bits, then scaled back by powers of two (exact in doubles).
  const shift = units.toString(2).length - divisor.toString(2).length - 64;
  const quotient = shift >= 0 ? (units >> BigInt(shift)) / divisor : (units << BigInt(-shift)) / divisor;
  let mean = Number(quotient);
  let e = shift;
  while (e > 0) {
    const step = Math.min(e, 1000);
    mean *= 2 ** step;
    e -= step;
  }
  while (e < 0) {
    const step = Math.min(-e, 1000);
    mean /= 2 ** step;
    e += step;
  }
  return negative ? -mean : mean;
}

function addCount<K>(map: Map<K, number>, key: K, count: number): void {
  map.set(key, (map.get(key) ?? 0) + count);
}

function sortedEntries<K extends number | string>(map: Map<K, number>): [K, number][] {
  return [...map.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** The sketch buckets a value falls in, added into `into`. */
function addToSketch(
  into: { zeros: number; positive: Map<number, number>; negative: Map<number, number> },
  value: number,
  count: number,
): void {
  if (value > mapping.minPossible) addCount(into.positive, mapping.key(value), count);
  else if (value < -mapping.minPossible) addCount(into.negative, mapping.key(-value), count);
  else into.zeros += count;
}

/** A numeric feature's values as they are gathered, before they are written out sorted. */
class NumericGatherer {
  nulls = 0;
  count = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;
  sum = 0n;
  values: Map<number, number> | undefined = new Map();
  sketch = { zeros: 0, positive: new Map<number, number>(), negative: new Map<number, number>() };

  /** Adds `count` copies of a value (-0 is counted as 0: a CSV cell cannot tell them apart). */
  add(raw: number, count: number): void {
    const value = raw + 0;
    this.count += count;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    this.sum += exactUnits(value) * BigInt(count);
    if (this.values) {
      addCount(this.values, value, count);
      if (this.values.size > EXACT_DISTINCT_LIMIT) {
        for (const [v, c] of this.values) addToSketch(this.sketch, v, c);
        this.values = undefined;
      }
    } else {
      addToSketch(this.sketch, value, count);
    }
  }

  addSketch(sketch: NumericSketch): void {
    this.values = undefined;
    this.sketch.zeros += sketch.zeros;
    for (const [k, c] of sketch.positive) addCount(this.sketch.positive, k, c);
    for (const [k, c] of sketch.negative) addCount(this.sketch.negative, k, c);
  }

  stats(): NumericStats {
    const out: NumericStats = {
      type: 'numeric',
      nulls: this.nulls,
      count: this.count,
      min: this.count ? this.min : null,
      max: this.count ? this.max : null,
      sum: this.sum.toString(),
    };
    if (this.values) out.values = sortedEntries(this.values);
    else {
      out.sketch = {
        zeros: this.sketch.zeros,
        positive: sortedEntries(this.sketch.positive),
        negative: sortedEntries(this.sketch.negative),
      };
    }
    return out;
  }
}

function emptyFeatureStats(spec: FeatureSpec): Record<string, FeatureStats> {
  const out: Record<string, FeatureStats> = {};
  for (const f of spec.features) {
    out[f.name] =
      f.type === 'numeric'
        ? new NumericGatherer().stats()
        : f.type === 'categorical'
          ? { type: 'categorical', nulls: 0, counts: [] }
          : { type: 'boolean', nulls: 0, true: 0, false: 0 };
  }
  return out;
}

/** Statistics of no rows: the identity of {@link mergeStats}. */
export function emptyStats(spec: FeatureSpec): PartialStats {
  return {
    rows: { total: 0, valid: 0, quarantined: 0, goldenDuplicates: 0 },
    splits: { train: 0, validation: 0, golden: 0 },
    trainLabels: [0, 0],
    features: emptyFeatureStats(spec),
  };
}

function mergeNumeric(a: NumericStats, b: NumericStats): NumericStats {
  const g = new NumericGatherer();
  g.nulls = a.nulls + b.nulls;
  for (const s of [a, b]) {
    if (s.sketch) g.addSketch(s.sketch);
  }
  for (const s of [a, b]) {
    for (const [v, c] of s.values ?? []) g.add(v, c);
  }
  // `add` gathered count, min, max and sum of the exact values only: set them from both sides.
  g.count = a.count + b.count;
  const mins = [a.min, b.min].filter((v): v is number => v !== null);
  const maxes = [a.max, b.max].filter((v): v is number => v !== null);
  g.min = mins.length ? Math.min(...mins) : Number.POSITIVE_INFINITY;
  g.max = maxes.length ? Math.max(...maxes) : Number.NEGATIVE_INFINITY;
  g.sum = BigInt(a.sum) + BigInt(b.sum);
  return g.stats();
}

function mergeFeature(name: string, a: FeatureStats, b: FeatureStats): FeatureStats {
  if (a.type === 'numeric' && b.type === 'numeric') return mergeNumeric(a, b);
  if (a.type === 'categorical' && b.type === 'categorical') {
    const counts = new Map(a.counts);
    for (const [k, c] of b.counts) addCount(counts, k, c);
    return { type: 'categorical', nulls: a.nulls + b.nulls, counts: sortedEntries(counts) };
  }
  if (a.type === 'boolean' && b.type === 'boolean') {
    return { type: 'boolean', nulls: a.nulls + b.nulls, true: a.true + b.true, false: a.false + b.false };
  }
  throw new Error(
    `Cannot merge statistics of feature "${name}": one side is ${a.type}, the other ${b.type}.`,
  );
}

/** Merges two chunks' statistics (associative, commutative, exact). Both must be of the same spec. */
export function mergeStats(a: PartialStats, b: PartialStats): PartialStats {
  const names = Object.keys(a.features);
  const other = Object.keys(b.features);
  if (names.length !== other.length || names.some((n, i) => n !== other[i])) {
    throw new Error(
      `Cannot merge statistics of different features: [${names.join(', ')}] and [${other.join(', ')}].`,
    );
  }
  const features: Record<string, FeatureStats> = {};
  for (const n of names) features[n] = mergeFeature(n, a.features[n]!, b.features[n]!);
  return {
    rows: {
      total: a.rows.total + b.rows.total,
      valid: a.rows.valid + b.rows.valid,
      quarantined: a.rows.quarantined + b.rows.quarantined,
      goldenDuplicates: a.rows.goldenDuplicates + b.rows.goldenDuplicates,
    },
    splits: {
      train: a.splits.train + b.splits.train,
      validation: a.splits.validation + b.splits.validation,
      golden: a.splits.golden + b.splits.golden,
    },
    trainLabels: [a.trainLabels[0] + b.trainLabels[0], a.trainLabels[1] + b.trainLabels[1]],
    features,
  };
}

/** Merges any number of chunks' statistics (none: the statistics of no rows). */
export function mergeAll(spec: FeatureSpec, parts: readonly PartialStats[]): PartialStats {
  return parts.reduce(mergeStats, emptyStats(spec));
}

/**
 * Pass 1 over one chunk: validates its rows, gives each valid row its split (./chunk.ts), and gathers
 * the statistics of its training rows. Holds the chunk's rows only while it reads them.
 */
export function summarizeChunk(
  def: Pick<ModelDefinition, 'name' | 'spec' | 'training'>,
  chunk: RawChunk,
  options: ChunkSplitOptions,
): ChunkSummary {
  const read = readChunk(def, chunk, options);
  const stats = emptyStats(def.spec);
  stats.rows = {
    total: read.total,
    valid: read.rows.length + read.goldenDuplicates,
    quarantined: read.quarantined.length,
    goldenDuplicates: read.goldenDuplicates,
  };
  const train = read.rows.filter((r) => r.split === 'train');
  for (const r of read.rows) stats.splits[r.split]++;
  for (const r of train) stats.trainLabels[r.label]++;
  for (const f of def.spec.features) {
    if (f.type === 'numeric') {
      const g = new NumericGatherer();
      for (const r of train) {
        const v = r.row[f.name];
        if (typeof v === 'number') g.add(v, 1);
        else g.nulls++;
      }
      stats.features[f.name] = g.stats();
    } else if (f.type === 'categorical') {
      const counts = new Map<string, number>();
      let nulls = 0;
      for (const r of train) {
        const v = r.row[f.name];
        if (typeof v === 'string') addCount(counts, v, 1);
        else nulls++;
      }
      stats.features[f.name] = { type: 'categorical', nulls, counts: sortedEntries(counts) };
    } else {
      const s: BooleanStats = { type: 'boolean', nulls: 0, true: 0, false: 0 };
      for (const r of train) {
        const v = r.row[f.name];
        if (v === true) s.true++;
        else if (v === false) s.false++;
        else s.nulls++;
      }
      stats.features[f.name] = s;
    }
  }
  return { stats, quarantined: read.quarantined };
}

/** A numeric feature's values as ascending `[value, count]` pairs: exact, or the sketch's buckets. */
export function weightedValues(s: NumericStats): [number, number][] {
  if (s.values) return s.values;
  if (s.count === 0) return [];
  const sketch = s.sketch!;
  const out: [number, number][] = [];
  for (let i = sketch.negative.length - 1; i >= 0; i--) {
    const [k, c] = sketch.negative[i]!;
    out.push([-mapping.value(k), c]);
  }
  if (sketch.zeros > 0) out.push([0, sketch.zeros]);
  for (const [k, c] of sketch.positive) out.push([mapping.value(k), c]);
  // A bucket's value is within 1% of its members, so it may lie past the true extremes: each is held
  // inside [min, max], and the lowest and highest values are the exact min and max themselves.
  const min = s.min!;
  const max = s.max!;
  if (s.count === 1) return [[min, 1]];
  const clamped = out.map(([v, c]): [number, number] => [Math.min(max, Math.max(min, v)), c]);
  clamped[0]![1]--;
  clamped[clamped.length - 1]![1]--;
  return [[min, 1], ...clamped.filter(([, c]) => c > 0), [max, 1]];
}

/**
 * The same statistics with every numeric feature in sketch form, as if each had more than
 * EXACT_DISTINCT_LIMIT distinct values: what the reduce gives for data too varied to keep exactly.
 */
export function sketched(stats: PartialStats): PartialStats {
  const features: Record<string, FeatureStats> = {};
  for (const [name, s] of Object.entries(stats.features)) {
    if (s.type !== 'numeric' || !s.values) {
      features[name] = s;
      continue;
    }
    const g = new NumericGatherer();
    g.addSketch({ zeros: 0, positive: [], negative: [] });
    for (const [v, c] of s.values) g.add(v, c);
    g.nulls = s.nulls;
    features[name] = g.stats();
  }
  return { ...stats, features };
}
