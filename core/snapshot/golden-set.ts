/**
 * The model's golden set as a snapshot uses it: the stored file checked again, against the
 * definition the snapshot is built with. A row that fails fails the run: a curated set is never
 * trimmed, and the lineage the snapshot records names the set's version.
 */

import { errorNames, PlatformError } from '../errors.ts';
import { checkGoldenRows, formatProblems, type GoldenRow, sha256Hex } from '../features/golden.ts';
import type { GoldenLineage, GoldenPointer } from '../lake.ts';
import type { ModelDefinition } from '../model/definition.ts';
import { parseDataCsv } from './validate.ts';

/** A golden set that passed the checks: the pointer it was read through and its rows, in file order. */
export interface GoldenSet {
  pointer: GoldenPointer;
  rows: GoldenRow[];
}

/** A golden set as read from the lake, before any check. */
export interface StoredGoldenSet {
  bucket: string;
  /** Where the pointer was read (`golden/<model>/LATEST.json`). */
  pointerKey: string;
  pointer: GoldenPointer;
  /** The bytes at `pointer.key`; undefined when that object does not exist. */
  bytes: Uint8Array | undefined;
}

/**
 * Checks a stored golden set: its bytes against the pointer's sha256 and every row against the
 * definition; a set needs rows of both classes. Every failure is InvalidInput naming the set, where
 * it is and how to store a corrected one.
 */
export function checkGoldenSet(
  def: Pick<ModelDefinition, 'name' | 'spec'>,
  stored: StoredGoldenSet,
): GoldenSet {
  const { bucket, pointerKey, pointer, bytes } = stored;
  const where = `Golden set ${pointer.goldenId} of "${def.name}" (s3://${bucket}/${pointer.key})`;
  const again = `store a corrected file with \`mlops golden set <csv> --model ${def.name}\``;
  const fail = (message: string) => new PlatformError(errorNames.invalidInput, message);
  if (bytes === undefined) throw fail(`${where} does not exist; ${again}.`);
  if (sha256Hex(bytes) !== pointer.sha256) {
    throw fail(
      `${where} does not match the sha256 ${pointer.sha256} recorded in ${pointerKey}: golden sets are write-once; ${again}.`,
    );
  }
  const parsed = parseDataCsv(Buffer.from(bytes).toString('utf8'), where);
  const check = checkGoldenRows(def.spec, parsed);
  if (check.absent.length > 0) {
    throw fail(
      `${where} lacks column(s) ${check.absent.join(', ')} that the definition of "${def.name}" needs; ${again}.`,
    );
  }
  if (check.problems.length > 0) {
    const total = parsed.records.length + parsed.malformed.length;
    throw fail(
      `${where} no longer validates against the definition this snapshot is built with: ${check.badRows} of ${total} rows are invalid. ${formatProblems(
        check.problems,
      ).join(' | ')}. Fix the rows or the definition; ${again}.`,
    );
  }
  if (check.rows.length < 2 || new Set(check.rows.map((r) => r.label)).size < 2) {
    throw fail(
      `${where} has ${check.rows.length} row(s)${check.rows.length >= 2 ? ' of a single class' : ''}: a golden set needs rows of both classes; ${again}.`,
    );
  }
  return { pointer, rows: check.rows };
}

/** Where the snapshot's golden rows come from: the golden set, or `goldenFraction` of the raw rows. */
export function goldenLineage(
  def: Pick<ModelDefinition, 'training'>,
  goldenSet: GoldenSet | undefined,
): GoldenLineage {
  return goldenSet
    ? {
        source: 'golden-set',
        goldenId: goldenSet.pointer.goldenId,
        sha256: goldenSet.pointer.sha256,
        rows: goldenSet.rows.length,
      }
    : { source: 'split', fraction: def.training.goldenFraction };
}
