/**
 * Binary-classification metrics for champion/challenger evaluation: whole-split metrics, the same
 * metrics per slice group, fairness gaps across a slice's groups, and a single-feature AUC that
 * exposes label leakage. Pure functions; the caller brings scores, labels and rows.
 */

import type { FeatureDef, Slice } from '../features/spec.ts';
import type { CleanRow, CleanValue } from '../features/transform.ts';
import { accuracy, auc, logLoss } from './classification.ts';

/** Metrics of one set of scored rows at a decision threshold. */
export interface BinaryMetrics {
  rows: number;
  /** Rows whose label is 1. */
  positives: number;
  /** NaN when the rows hold one class only. */
  auc: number;
  logloss: number;
  accuracy: number;
  /** True positives over predicted positives; 0 when nothing is predicted positive. */
  precision: number;
  /** True positives over actual positives (the TPR); NaN when there are no positives. */
  recall: number;
  /** Predicted-positive rate at the threshold. */
  positiveRate: number;
  /** Expected calibration error over ten equal-width score bins, weighted by bin size. */
  expectedCalibrationError: number;
}

/** The metrics of the rows that fall into one group of one slice. */
export interface SliceGroup {
  slice: string;
  group: string;
  metrics: BinaryMetrics;
}

/** How far apart a slice's groups are in predicted-positive rate and true-positive rate. */
export interface FairnessGap {
  slice: string;
  /** Max − min predicted-positive rate across the judged groups. */
  positiveRateGap: number;
  /** Max − min recall across the judged groups that hold at least one positive. */
  tprGap: number;
  /** Groups large enough to be judged; below 2 the gaps are 0 and mean nothing. */
  groups: number;
}

/** The group of rows whose slice feature is missing. */
export const MISSING_GROUP = '(missing)';

const CALIBRATION_BINS = 10;

/** Below this many usable rows a single-feature AUC is too noisy to call anything a leak. */
const MIN_LEAKAGE_ROWS = 10;

function checkInputs(scores: ArrayLike<number>, labels: ArrayLike<number>, threshold: number): void {
  if (scores.length !== labels.length) {
    throw new Error(`Got ${scores.length} scores but ${labels.length} labels; they must be the same length.`);
  }
  if (!Number.isFinite(threshold)) {
    throw new Error(`The threshold must be a finite number, got ${threshold}.`);
  }
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    if (!(s >= 0 && s <= 1)) {
      throw new Error(`The score at row ${i} is ${s}; scores must be probabilities in [0, 1].`);
    }
    const y = labels[i];
    if (y !== 0 && y !== 1) {
      throw new Error(`The label at row ${i} is ${y}; labels must be 0 or 1.`);
    }
  }
}

function expectedCalibrationError(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const count = new Array<number>(CALIBRATION_BINS).fill(0);
  const scoreSum = new Array<number>(CALIBRATION_BINS).fill(0);
  const positiveSum = new Array<number>(CALIBRATION_BINS).fill(0);
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    // A score of exactly 1 belongs in the top bin, as in scoreHistogram.
    const bin = Math.min(CALIBRATION_BINS - 1, Math.floor(s * CALIBRATION_BINS));
    count[bin]!++;
    scoreSum[bin]! += s;
    positiveSum[bin]! += labels[i]!;
  }
  let sum = 0;
  for (let b = 0; b < CALIBRATION_BINS; b++) {
    const n = count[b]!;
    if (n > 0) sum += n * Math.abs(scoreSum[b]! / n - positiveSum[b]! / n);
  }
  return sum / scores.length;
}

/**
 * Metrics of scored rows with 0/1 labels; a score at or above `threshold` predicts positive.
 * With no rows, every rate is NaN (precision is 0 as always when nothing is predicted positive).
 *
 * @throws when the lengths differ, a score is not in [0, 1], a label is not 0 or 1, or the threshold is not finite.
 */
export function binaryMetrics(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  threshold: number,
): BinaryMetrics {
  checkInputs(scores, labels, threshold);
  const n = scores.length;
  let positives = 0;
  let predicted = 0;
  let truePositives = 0;
  for (let i = 0; i < n; i++) {
    const actual = labels[i] === 1;
    const guess = scores[i]! >= threshold;
    if (actual) positives++;
    if (guess) predicted++;
    if (actual && guess) truePositives++;
  }
  return {
    rows: n,
    positives,
    auc: auc(scores, labels),
    logloss: logLoss(scores, labels),
    accuracy: accuracy(scores, labels, threshold),
    // 0 rather than NaN: a model that flags nothing has made no correct positive call, and NaN
    // would read as "unknown" in the registry.
    precision: predicted === 0 ? 0 : truePositives / predicted,
    recall: positives === 0 ? Number.NaN : truePositives / positives,
    positiveRate: predicted / n,
    expectedCalibrationError: expectedCalibrationError(scores, labels),
  };
}

function isMissing(value: CleanValue | undefined): value is null | undefined {
  return value === null || value === undefined || (typeof value === 'number' && Number.isNaN(value));
}

function bandNames(edges: readonly number[]): string[] {
  const names = [`< ${edges[0]}`];
  for (let i = 1; i < edges.length; i++) names.push(`[${edges[i - 1]}, ${edges[i]})`);
  names.push(`>= ${edges[edges.length - 1]}`);
  return names;
}

/** Index into `bandNames(edges)` of the band holding `value`. */
function bandOf(edges: readonly number[], value: number): number {
  let band = 0;
  while (band < edges.length && value >= edges[band]!) band++;
  return band;
}

/**
 * Splits rows by each slice and computes each group's metrics. A slice without bands gets one
 * group per value (booleans as "true"/"false"), sorted; a slice with bands [e1, …, en] gets groups
 * "< e1", "[e1, e2)", …, ">= en" in band order. Rows whose slice feature is missing form the group
 * "(missing)", listed last. Groups without rows are left out.
 *
 * @throws when the lengths of rows, scores and labels differ, or a banded slice meets a non-numeric value.
 */
export function sliceGroups(
  slices: readonly Pick<Slice, 'name' | 'feature' | 'bands'>[],
  rows: readonly CleanRow[],
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  threshold: number,
): SliceGroup[] {
  if (rows.length !== scores.length || rows.length !== labels.length) {
    throw new Error(
      `Got ${rows.length} rows, ${scores.length} scores and ${labels.length} labels; they must be the same length.`,
    );
  }
  const out: SliceGroup[] = [];
  for (const slice of slices) {
    const members = new Map<string, number[]>();
    const add = (group: string, i: number) => {
      const list = members.get(group);
      if (list) list.push(i);
      else members.set(group, [i]);
    };
    const bands = slice.bands;
    const names = bands ? bandNames(bands) : undefined;
    rows.forEach((row, i) => {
      const value = row[slice.feature];
      if (isMissing(value)) add(MISSING_GROUP, i);
      else if (bands && names) {
        if (typeof value !== 'number') {
          throw new Error(
            `Slice "${slice.name}" has bands, but feature "${slice.feature}" holds ${JSON.stringify(value)} in row ${i}; banded slices need numbers.`,
          );
        }
        add(names[bandOf(bands, value)]!, i);
      } else add(String(value), i);
    });
    const present = [...members.keys()].filter((g) => g !== MISSING_GROUP);
    const order = names
      ? names.filter((g) => members.has(g))
      : present.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (members.has(MISSING_GROUP)) order.push(MISSING_GROUP);
    for (const group of order) {
      const ids = members.get(group)!;
      out.push({
        slice: slice.name,
        group,
        metrics: binaryMetrics(
          Float64Array.from(ids, (i) => scores[i]!),
          Float64Array.from(ids, (i) => labels[i]!),
          threshold,
        ),
      });
    }
  }
  return out;
}

function spread(values: readonly number[]): number {
  return values.length < 2 ? 0 : Math.max(...values) - Math.min(...values);
}

/**
 * Per slice, in the order slices first appear: the max − min predicted-positive rate and TPR
 * (recall) across groups with at least `minSize` rows; for TPR, only those groups that also hold
 * a positive. Smaller groups are not judged, since a handful of rows makes any gap. A slice with
 * fewer than 2 judged groups gets gaps 0 and `groups` below 2.
 *
 * @throws when `minSize` is not a non-negative number.
 */
export function fairnessGaps(groups: readonly SliceGroup[], minSize: number): FairnessGap[] {
  if (!(minSize >= 0)) {
    throw new Error(`minSize must be a non-negative number, got ${minSize}.`);
  }
  const bySlice = new Map<string, SliceGroup[]>();
  for (const g of groups) {
    const list = bySlice.get(g.slice);
    if (list) list.push(g);
    else bySlice.set(g.slice, [g]);
  }
  const out: FairnessGap[] = [];
  for (const [slice, members] of bySlice) {
    // An empty group has no rates at all, even when minSize is 0.
    const judged = members.filter((g) => g.metrics.rows >= minSize && g.metrics.rows > 0);
    if (judged.length < 2) {
      out.push({ slice, positiveRateGap: 0, tprGap: 0, groups: judged.length });
      continue;
    }
    const withPositives = judged.filter((g) => g.metrics.positives > 0);
    out.push({
      slice,
      positiveRateGap: spread(judged.map((g) => g.metrics.positiveRate)),
      tprGap: spread(withPositives.map((g) => g.metrics.recall)),
      groups: judged.length,
    });
  }
  return out;
}

/**
 * Single-feature AUC, for the leakage check. Numeric features are scored by their raw value;
 * categorical and boolean features by each category's positive rate in these same rows (target
 * encoding without holdout, deliberately optimistic: the check looks for a feature that alone
 * separates the label, and overstating is the safe side). Rows where the feature is missing are
 * left out. Each result is max(auc, 1 − auc), so a feature that separates the label in reverse
 * also shows; it is NaN when the usable rows hold one class or number fewer than 10.
 *
 * @throws when rows and labels differ in length, a label is not 0 or 1, or a value does not match its feature's type.
 */
export function singleFeatureAuc(
  features: readonly FeatureDef[],
  rows: readonly CleanRow[],
  labels: ArrayLike<number>,
): Record<string, number> {
  if (rows.length !== labels.length) {
    throw new Error(`Got ${rows.length} rows but ${labels.length} labels; they must be the same length.`);
  }
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (y !== 0 && y !== 1) throw new Error(`The label at row ${i} is ${y}; labels must be 0 or 1.`);
  }
  const out: Record<string, number> = {};
  for (const f of features) {
    const values: CleanValue[] = [];
    const ys: number[] = [];
    rows.forEach((row, i) => {
      const value = row[f.name];
      if (isMissing(value)) return;
      const ok =
        f.type === 'numeric'
          ? typeof value === 'number'
          : f.type === 'boolean'
            ? typeof value === 'boolean'
            : typeof value === 'string';
      if (!ok) {
        throw new Error(
          `Feature "${f.name}" is ${f.type}, but row ${i} holds ${JSON.stringify(value)}; pass validated rows.`,
        );
      }
      values.push(value);
      ys.push(labels[i]!);
    });
    if (values.length < MIN_LEAKAGE_ROWS) {
      out[f.name] = Number.NaN;
      continue;
    }
    let scores: number[];
    if (f.type === 'numeric') scores = values as number[];
    else {
      const seen = new Map<string, { rows: number; positives: number }>();
      values.forEach((v, i) => {
        const key = String(v);
        const s = seen.get(key) ?? { rows: 0, positives: 0 };
        s.rows++;
        s.positives += ys[i]!;
        seen.set(key, s);
      });
      scores = values.map((v) => {
        const s = seen.get(String(v))!;
        return s.positives / s.rows;
      });
    }
    const a = auc(scores, ys);
    out[f.name] = Number.isNaN(a) ? Number.NaN : Math.max(a, 1 - a);
  }
  return out;
}
