/**
 * How a snapshot's valid rows are shared out between train, validation and golden. With a golden
 * set, its rows are the golden split and the raw rows that repeat one of them are kept out of the
 * other two, so a model is never trained or validated on the rows it is judged on.
 */

import { errorNames, PlatformError } from '../errors.ts';
import { type GoldenRow, rowIdentity, sha256Hex } from '../features/golden.ts';
import type { FeatureSpec } from '../features/spec.ts';
import type { CleanRow } from '../features/transform.ts';
import type { ModelDefinition } from '../model/definition.ts';
import { seededRandom } from '../random.ts';
import type { SplitName } from '../training-run.ts';

/** A row as the snapshot keeps it: where it was in its file, its typed values and its label. */
export interface SplitRow {
  /** 1-based line in the CSV, header included. */
  line: number;
  row: CleanRow;
  label: 0 | 1;
}

/** A valid raw row, with what each split mode orders it by. */
export interface SplittableRow extends SplitRow {
  /** The time column as milliseconds, under a spec with a time column. */
  time?: number;
  /** Where the row's content hashes to in [0, 1): its split under `split: "hash"`. */
  bucket: number;
}

/** The training settings a split follows. */
export type SplitSettings = Pick<
  ModelDefinition['training'],
  'split' | 'validationFraction' | 'goldenFraction'
>;

/** Rows by split. */
export type Splits<T> = Record<SplitName, T[]>;

/**
 * Where a raw row's cells hash to in [0, 1): a function of the cells alone, so a row keeps its
 * `hash` split whatever file, chunk or position it arrives in.
 */
export function contentBucket(cells: readonly string[]): number {
  return Number.parseInt(sha256Hex(JSON.stringify(cells)).slice(0, 8), 16) / 2 ** 32;
}

/**
 * Puts the valid rows into the three splits. `hash`: by each row's content hash, so a row lands in
 * the same split in every snapshot and with every seed (the incumbent never trained on the rows a
 * candidate is compared on); `random`: a shuffle by the seed with exact fractions; `time`: the
 * oldest rows train, the next are validation, the newest are golden.
 *
 * With `goldenSet`, the golden rows come from the model's golden set and no raw row is golden. Under
 * `hash`, the rows `goldenFraction` would have held out train instead and the validation band stays
 * where it was, so validation keeps the same rows (and stays disjoint from what an incumbent built
 * before the golden set trained on).
 */
export function splitRows<T extends SplittableRow>(
  settings: SplitSettings,
  rows: readonly T[],
  seed: number,
  goldenSet = false,
): Splits<T> {
  const { validationFraction } = settings;
  const goldenFraction = goldenSet ? 0 : settings.goldenFraction;
  if (settings.split === 'hash') {
    const out: Splits<T> = { train: [], validation: [], golden: [] };
    const band = settings.goldenFraction;
    for (const r of rows) {
      const split =
        r.bucket < band
          ? goldenSet
            ? 'train'
            : 'golden'
          : r.bucket < band + validationFraction
            ? 'validation'
            : 'train';
      out[split].push(r);
    }
    return out;
  }
  const order = rows.map((_, i) => i);
  if (settings.split === 'time') {
    order.sort((a, b) => rows[a]!.time! - rows[b]!.time! || rows[a]!.line - rows[b]!.line);
  } else {
    const rand = seededRandom(seed);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
  }
  const n = rows.length;
  const nValidation = Math.max(1, Math.round(n * validationFraction));
  const nGolden = goldenFraction > 0 ? Math.max(1, Math.round(n * goldenFraction)) : 0;
  const nTrain = n - nValidation - nGolden;
  const pick = (from: number, count: number) =>
    order
      .slice(from, from + count)
      .sort((a, b) => a - b)
      .map((i) => rows[i]!);
  return settings.split === 'time'
    ? {
        train: pick(0, nTrain),
        validation: pick(nTrain, nValidation),
        golden: pick(nTrain + nValidation, nGolden),
      }
    : {
        golden: pick(0, nGolden),
        validation: pick(nGolden, nValidation),
        train: pick(nGolden + nValidation, nTrain),
      };
}

/**
 * The rows that repeat no golden row (same typed feature values and label, see `rowIdentity`).
 * A raw copy of a golden row would let the model train, or be validated, on a row it is judged on.
 */
export function withoutGoldenCopies<T extends SplitRow>(
  spec: FeatureSpec,
  rows: readonly T[],
  golden: readonly SplitRow[],
): T[] {
  const goldenRows = new Set(golden.map((r) => rowIdentity(spec, r.row, r.label)));
  return rows.filter((r) => !goldenRows.has(rowIdentity(spec, r.row, r.label)));
}

/** A snapshot's splits and how many raw rows were left out as copies of golden rows. */
export interface SnapshotSplits {
  splits: Splits<SplitRow>;
  /** Valid raw rows left out of train and validation because they repeat a golden-set row. */
  goldenDuplicates: number;
}

/**
 * Splits a snapshot's valid rows: without a golden set, `splitRows` alone; with one, its rows are
 * the golden split and the raw rows are split, less their copies of golden rows, into train and
 * validation. Fails (InvalidInput) when validation is empty or training lacks a row of each class.
 */
export function splitSnapshot(
  def: Pick<ModelDefinition, 'spec' | 'training'>,
  valid: readonly SplittableRow[],
  seed: number,
  goldenRows?: readonly GoldenRow[],
): SnapshotSplits {
  const pool = goldenRows ? withoutGoldenCopies(def.spec, valid, goldenRows) : valid;
  const goldenDuplicates = valid.length - pool.length;
  const split = splitRows(def.training, pool, seed, goldenRows !== undefined);
  const splits: Splits<SplitRow> = { ...split, golden: goldenRows ? [...goldenRows] : split.golden };
  if (splits.validation.length === 0) {
    throw new PlatformError(
      errorNames.invalidInput,
      `No row of the ${pool.length} valid rows fell in the validation split; add data or use training.split "random".`,
    );
  }
  if (splits.train.length < 2 || new Set(splits.train.map((r) => r.label)).size < 2) {
    throw new PlatformError(
      errorNames.invalidInput,
      `The training split has ${splits.train.length} rows${splits.train.length >= 2 ? ' of a single class' : ''}: too few to train a classifier on (${valid.length} valid rows in all${goldenDuplicates > 0 ? `, ${goldenDuplicates} of them left out as copies of golden rows` : ''}).`,
    );
  }
  return { splits, goldenDuplicates };
}
