/**
 * One chunk of a raw data file, read the way both passes of the two-pass prepare read it: parsed,
 * validated against the spec, each valid row's line made the file's, copies of golden-set rows set
 * aside, and every other valid row given its split. A row's split here depends on the row alone (and
 * the seed), never on which chunk it arrives in or what else the chunk holds, so any chunking of a
 * file gives every row the same split.
 *
 * `hash` is the single-function rule itself (core/snapshot/split.ts: the content hash's band).
 * `random` there is a seeded shuffle of the whole file with exact fractions, which no chunk can
 * compute alone: here a row's place is a seeded hash of its content hash instead, so the fractions
 * hold in expectation (as under `hash`) and the rows differ from the single-function split.
 * `time` orders the whole file by time and needs the cut times before any row's split is known
 * (a pass over the time column first); the two passes here do not do that yet and refuse it.
 */

import { errorNames, PlatformError } from '../errors.ts';
import { rowIdentity, sha256Hex } from '../features/golden.ts';
import type { ModelDefinition } from '../model/definition.ts';
import type { SplitName } from '../training-run.ts';
import type { SplitSettings, SplittableRow } from './split.ts';
import { parseDataCsv, type QuarantinedRow, validateRows } from './validate.ts';

/** A piece of a raw data file: its header line and whole data rows. */
export interface RawChunk {
  /** CSV text: the file's header line, then whole data rows (no row cut in two). */
  text: string;
  /** The 1-based line of the file the chunk's first data row starts on (2 for the first chunk). */
  startLine: number;
  /** Where the chunk was read from, for error messages (e.g. `s3://bucket/key#part-3`). */
  source: string;
}

/** How rows are given their split: the definition's settings, the seed and the golden set. */
export interface ChunkSplitOptions {
  seed: number;
  /**
   * The golden set's row identities (`rowIdentity`), when the model has one: raw copies of its rows
   * are left out, and no raw row is golden.
   */
  goldenIdentities?: ReadonlySet<string>;
}

/** A valid row of a chunk with its split. */
export interface AssignedRow extends SplittableRow {
  split: SplitName;
}

/** A chunk, sorted out. */
export interface ReadChunk {
  /** Valid rows outside the golden set, with their splits, in line order. */
  rows: AssignedRow[];
  /** In line order, with the file's line numbers. */
  quarantined: QuarantinedRow[];
  /** Valid rows left out as copies of golden-set rows. */
  goldenDuplicates: number;
  /** Every data row of the chunk, valid or not. */
  total: number;
}

/** Fails (InvalidInput) for a split rule no chunk can decide alone. */
export function checkChunkableSplit(settings: Pick<SplitSettings, 'split'>): void {
  if (settings.split === 'time') {
    throw new PlatformError(
      errorNames.invalidInput,
      'training.split "time" orders the whole file by its time column, which the two-pass prepare does not do yet; use "hash" or "random", or the single-function prepare.',
    );
  }
}

/** Where a row falls in [0, 1) under the split rule: its content hash, or a seeded hash of it. */
function placeOf(settings: Pick<SplitSettings, 'split'>, bucket: number, seed: number): number {
  if (settings.split === 'hash') return bucket;
  return Number.parseInt(sha256Hex(`${seed}:${bucket}`).slice(0, 8), 16) / 2 ** 32;
}

/**
 * A row's split from its place: the golden band first, then validation, train the rest; with a golden
 * set the golden band trains (as in `splitRows`, so validation keeps the same rows).
 */
export function splitOfPlace(settings: SplitSettings, place: number, goldenSet: boolean): SplitName {
  if (place < settings.goldenFraction) return goldenSet ? 'train' : 'golden';
  return place < settings.goldenFraction + settings.validationFraction ? 'validation' : 'train';
}

/** Reads one chunk (see the module header). A chunk whose text is not a data CSV is InvalidInput. */
export function readChunk(
  def: Pick<ModelDefinition, 'name' | 'spec' | 'training'>,
  chunk: RawChunk,
  options: ChunkSplitOptions,
): ReadChunk {
  checkChunkableSplit(def.training);
  if (!Number.isInteger(chunk.startLine) || chunk.startLine < 2) {
    throw new PlatformError(
      errorNames.invalidInput,
      `${chunk.source}: startLine must be a whole number of at least 2 (line 1 is the header), got ${chunk.startLine}`,
    );
  }
  const validated = validateRows(def, parseDataCsv(chunk.text, chunk.source));
  // The chunk's line 2 is the file's `startLine`.
  const shift = chunk.startLine - 2;
  const golden = options.goldenIdentities;
  const rows: AssignedRow[] = [];
  let goldenDuplicates = 0;
  for (const r of validated.valid) {
    if (golden?.has(rowIdentity(def.spec, r.row, r.label))) {
      goldenDuplicates++;
      continue;
    }
    const place = placeOf(def.training, r.bucket, options.seed);
    rows.push({
      ...r,
      line: r.line + shift,
      split: splitOfPlace(def.training, place, golden !== undefined),
    });
  }
  rows.sort((a, b) => a.line - b.line);
  return {
    rows,
    quarantined: validated.quarantined.map((q) => ({ ...q, line: q.line + shift })),
    goldenDuplicates,
    total: validated.total,
  };
}
