/**
 * The prepare step over a Distributed Map, for raw data too large for one function: the same snapshot
 * as the single function (./core.ts), built by five actions of the prepare function.
 *
 *   - `plan`: reads the raw pointer and decides the path. Data with more rows than the threshold
 *     (`PREPARE_DISTRIBUTED_ABOVE_ROWS`) takes the two passes; smaller data and `time` splits (which
 *     order the whole file, core/snapshot/chunk.ts) take the single function.
 *   - `pass1`: one Map batch of raw rows (the CSV ItemReader's objects keyed by header, each with its
 *     `$$.Map.Item.Index`) -> the batch's mergeable statistics and quarantined rows, written to
 *     `curated/<model>/<snapshot>/stats/<run>/part-<n>.json`; the state machine keeps only `n`.
 *   - `reduce`: merges every part's statistics, writes the quarantined rows and checks the invalid
 *     share as the single function does, fits the transform and writes it and the drift baseline.
 *   - `pass2`: one batch again, with the fitted transform -> its training rows as
 *     `train/part-<n>.csv` (the SageMaker channel reads the prefix), its validation, golden and
 *     evaluation rows as pieces under `stage/<run>/`.
 *   - `finish`: joins the pieces into the single validation, golden and evaluation files the evaluate
 *     step reads, hashes the training parts in part order, and writes the manifest last. Its output
 *     is the single function's, so the rest of the pipeline does not know which path ran.
 *
 * A part's number `n` is the index of its batch's first row in the file, so parts sort in file order
 * and the first is `part-00000.csv`, the single function's key. The manifest lists each split under
 * that key with the hash of its parts joined in part order: the same data gives the same manifest,
 * hence the same data version, through either path and with any batch size.
 *
 * A row's line is its item index + 2 (the header is line 1), which is the single function's line as
 * long as no quoted cell spans lines and no blank line sits between rows; a row with fewer cells than
 * the header reaches pass 1 with empty cells (the ItemReader fills them), where the single function
 * quarantines it for its cell count.
 */

import { createHash } from 'node:crypto';
import { lakeKeys } from '../../contracts/lake.ts';
import { errorNames, PlatformError } from '../../core/errors.ts';
import { rowIdentity } from '../../core/features/golden.ts';
import { featureSchemaHash } from '../../core/features/transform.ts';
import type { ModelDefinition } from '../../core/model/definition.ts';
import type { Clock, ObjectStore } from '../../core/ports.ts';
import type { RawChunk } from '../../core/snapshot/chunk.ts';
import type { FittedTransform } from '../../core/snapshot/fit.ts';
import { goldenLineage } from '../../core/snapshot/golden-set.ts';
import { type DataManifest, manifestOf, snapshotIdOf } from '../../core/snapshot/manifest.ts';
import { type ChunkSummary, mergeAll, summarizeChunk } from '../../core/snapshot/partial-stats.ts';
import { transformChunk } from '../../core/snapshot/pass2.ts';
import { reduceStats } from '../../core/snapshot/reduce.ts';
import { checkInvalidFraction, quarantineJsonl } from '../../core/snapshot/validate.ts';
import type { PrepareOutput } from '../../core/training-run.ts';
import {
  type PrepareEnv,
  type PrepareInput,
  preparedOutput,
  readGoldenSet,
  readIngested,
  seedOf,
  snapshotKeys,
  writeBaseline,
} from './core.ts';
import { guardedLake } from './lake.ts';
import { checkTrainParts } from './train-parts.ts';

type Deployed = (model: string) => ModelDefinition | undefined;

/** What every action after the plan carries: which snapshot it works on. */
export interface SnapshotRef {
  model: string;
  seed: number;
  snapshotId: string;
  /**
   * The run (its execution name): pass 1's statistics and pass 2's pieces are kept under it, so an
   * earlier run of the same snapshot with other batches leaves nothing this one reads.
   */
  run: string;
}

/** The plan's output: the path to take and, for the two passes, where the raw rows are. */
export interface PreparePlan extends SnapshotRef {
  mode: 'single' | 'distributed';
  /** Why this path, for the execution history. */
  reason: string;
  rows: number;
  bucket: string;
  rawKey: string;
  /** Raw rows per Map batch (the ItemBatcher's MaxItemsPerBatch). */
  batchRows: number;
}

/** The plan's input: the run's input, with an optional batch size. */
export interface PlanInput extends PrepareInput {
  /** Raw rows per Map batch of the two passes; {@link DEFAULT_BATCH_ROWS} when absent. */
  prepareBatchRows?: number;
}

/** Raw rows per batch unless the run says otherwise: a batch's rows and statistics fit a function. */
export const DEFAULT_BATCH_ROWS = 10_000;

/** An item of a Map batch: a raw row keyed by header and its index among the file's data rows. */
export interface RowItem {
  row: Record<string, string>;
  index: number;
}

/** A child's input from the Map's ItemBatcher. */
export interface BatchInput {
  Items: RowItem[];
  BatchInput: SnapshotRef & { action?: string };
}

/** Pass 1's pointer to one part's statistics. */
export interface StatsPart {
  part: number;
  key: string;
}

/** Pass 2's account of one part. */
export interface TransformedPart {
  part: number;
  /** The training rows' part file, absent when the batch has no training row. */
  train?: string;
  /** Pieces of the joined files, by name, for those the batch has rows for. */
  pieces: Partial<Record<Piece, string>>;
  rows: Record<'train' | 'validation' | 'golden', number>;
}

/** The reduce's output: where it wrote, and the merged row counts. */
export interface Reduced {
  transform: string;
  baseline: string;
  quarantine?: string;
  counts: { rows: number; valid: number; quarantined: number; goldenDuplicates: number };
}

type Piece = 'validation' | 'golden' | 'evalValidation' | 'evalGolden';

/** The threshold and the single function's settings. */
export interface TwoPassEnv extends PrepareEnv {
  /** Raw data with more rows than this takes the two passes. */
  distributedAboveRows: number;
}

interface Deps {
  lake: ObjectStore;
  clock: Clock;
  env: TwoPassEnv;
}

const partName = (n: number) => String(n).padStart(5, '0');
const statsKey = (ref: SnapshotRef, n: number) =>
  `${lakeKeys.curated(ref.model, ref.snapshotId)}stats/${ref.run}/part-${partName(n)}.json`;
const trainPartKey = (ref: SnapshotRef, n: number) =>
  `${lakeKeys.curatedSplit(ref.model, ref.snapshotId, 'train')}part-${partName(n)}.csv`;
const pieceKey = (ref: SnapshotRef, piece: Piece, n: number) =>
  `${lakeKeys.curated(ref.model, ref.snapshotId)}stage/${ref.run}/${piece}/part-${partName(n)}`;

/** The definition, seed and golden set of the snapshot `ref` names, checked against its id. */
async function snapshotOf(lake: ObjectStore, ref: SnapshotRef, deployed: Deployed) {
  const { pointer, def } = await readIngested(lake, ref.model, deployed);
  const seed = seedOf({ model: ref.model, seed: ref.seed }, def);
  const goldenSet = await readGoldenSet(lake, def);
  const snapshotId = snapshotIdOf(def, pointer.sha256, seed, goldenSet?.pointer.goldenId);
  if (snapshotId !== ref.snapshotId) {
    throw new PlatformError(
      errorNames.invalidInput,
      `Snapshot ${ref.snapshotId} of "${ref.model}" is no longer the latest data's (${snapshotId}): ` +
        'data or a golden set was ingested while it was prepared; run the training again.',
    );
  }
  const goldenIdentities = goldenSet
    ? new Set(goldenSet.rows.map((r) => rowIdentity(def.spec, r.row, r.label)))
    : undefined;
  return {
    pointer,
    def,
    seed,
    goldenSet,
    options: { seed, ...(goldenIdentities ? { goldenIdentities } : {}) },
  };
}

/** Decides the path (see the module header). */
export async function planPrepare(
  input: PlanInput,
  run: string,
  deployed: Deployed,
  deps: Deps,
): Promise<PreparePlan> {
  if (!/^[A-Za-z0-9_.-]{1,80}$/.test(run)) {
    throw new PlatformError(
      errorNames.invalidInput,
      `run must be an execution name (1-80 letters, digits, _, . or -), got ${JSON.stringify(run)}`,
    );
  }
  const batchRows = input.prepareBatchRows ?? DEFAULT_BATCH_ROWS;
  if (!Number.isInteger(batchRows) || batchRows < 1 || batchRows > 1_000_000) {
    throw new PlatformError(
      errorNames.invalidInput,
      `prepareBatchRows must be a whole number from 1 to 1000000, got ${JSON.stringify(input.prepareBatchRows)}`,
    );
  }
  const lake = guardedLake(deps.lake);
  let read: Awaited<ReturnType<typeof readIngested>> & { seed: number; goldenId: string | undefined };
  try {
    const ingested = await readIngested(lake, input.model, deployed);
    const seed = seedOf(input, ingested.def);
    const goldenSet = await readGoldenSet(lake, ingested.def);
    read = { ...ingested, seed, goldenId: goldenSet?.pointer.goldenId };
  } catch (err) {
    // What is wrong with the data (none ingested, no definition, a bad seed or golden set) is the
    // prepare step's to report, in the state that always reported it: the single function.
    if (!(err instanceof PlatformError) || err.name === errorNames.lakeUnavailable) throw err;
    return {
      mode: 'single',
      reason: `the single function reports it: ${err.message}`,
      run,
      model: input.model,
      seed: input.seed ?? 0,
      snapshotId: '',
      rows: 0,
      bucket: lake.bucket,
      rawKey: '',
      batchRows,
    };
  }
  const { pointer, def, seed } = read;
  const limit = deps.env.distributedAboveRows;
  const [mode, reason]: [PreparePlan['mode'], string] =
    def.training.split === 'time'
      ? ['single', 'training.split "time" orders the whole file: one function prepares it']
      : def.training.split === 'random'
        ? ['single', 'training.split "random" shuffles the whole file: one function prepares it']
        : pointer.rows > limit
          ? ['distributed', `${pointer.rows} rows, more than ${limit}: two passes over a Distributed Map`]
          : ['single', `${pointer.rows} rows, at most ${limit}: one function prepares them`];
  return {
    mode,
    reason,
    run,
    model: def.name,
    seed,
    snapshotId: snapshotIdOf(def, pointer.sha256, seed, read.goldenId),
    rows: pointer.rows,
    bucket: lake.bucket,
    rawKey: pointer.key,
    batchRows,
  };
}

/** A CSV cell, always quoted: the ItemReader gave it unquoted, and it may hold commas or quotes. */
const cell = (v: string) => `"${v.replace(/"/g, '""')}"`;

/**
 * A batch's rows as the raw chunk they came from. The items must be consecutive rows of the file:
 * the first one's index gives every row's line.
 */
export function chunkOfBatch(input: BatchInput, source: string): { chunk: RawChunk; part: number } {
  const items = input.Items;
  if (!Array.isArray(items) || items.length === 0) {
    throw new PlatformError(errorNames.invalidInput, `${source}: the batch has no Items`);
  }
  const first = items[0]!;
  items.forEach((item, i) => {
    if (item === null || typeof item !== 'object' || typeof item.row !== 'object' || item.row === null) {
      throw new PlatformError(errorNames.invalidInput, `${source}: Items[${i}] has no row object`);
    }
    if (item.index !== first.index + i) {
      throw new PlatformError(
        errorNames.invalidInput,
        `${source}: Items[${i}] has index ${JSON.stringify(item.index)}, expected ${first.index + i}: a batch must be consecutive rows (ItemSelector: {"row.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index"})`,
      );
    }
  });
  if (!Number.isInteger(first.index) || first.index < 0) {
    throw new PlatformError(errorNames.invalidInput, `${source}: Items[0].index must be a whole number ≥ 0`);
  }
  const header = Object.keys(first.row);
  const lines = [header.map(cell).join(',')];
  for (const { row } of items) lines.push(header.map((h) => cell(row[h] ?? '')).join(','));
  return {
    part: first.index,
    chunk: {
      text: `${lines.join('\n')}\n`,
      startLine: first.index + 2,
      source: `${source}#part-${partName(first.index)}`,
    },
  };
}

/** Pass 1 over one batch (see the module header). */
export async function prepareStatsPart(
  input: BatchInput,
  deployed: Deployed,
  deps: Deps,
): Promise<StatsPart> {
  const lake = guardedLake(deps.lake);
  const ref = input.BatchInput;
  const { def, pointer, options } = await snapshotOf(lake, ref, deployed);
  const { chunk, part } = chunkOfBatch(input, `s3://${lake.bucket}/${pointer.key}`);
  const summary: ChunkSummary = summarizeChunk(def, chunk, options);
  const key = statsKey(ref, part);
  await lake.put(key, `${JSON.stringify(summary)}\n`, 'application/json');
  return { part, key };
}

/**
 * The Map's results (each batch's part number) in file order. The state machine keeps only the
 * numbers (a child's output is its part number), so the Map's output stays small: Step Functions
 * caps a state's data at 256 KiB, some 30,000 batches.
 */
function inOrder(parts: readonly unknown[], what: string): number[] {
  if (!Array.isArray(parts) || parts.length === 0) {
    throw new PlatformError(errorNames.invalidInput, `${what}: no parts`);
  }
  parts.forEach((p, i) => {
    if (!Number.isInteger(p) || (p as number) < 0) {
      throw new PlatformError(
        errorNames.invalidInput,
        `${what}: parts[${i}] is ${JSON.stringify(p)}, not a part number (a whole number ≥ 0)`,
      );
    }
  });
  const sorted = [...(parts as number[])].sort((a, b) => a - b);
  sorted.forEach((p, i) => {
    if (i > 0 && p === sorted[i - 1]) {
      throw new PlatformError(errorNames.invalidInput, `${what}: part ${p} appears twice`);
    }
  });
  return sorted;
}

/** The reduce (see the module header). Returns the transform's key. */
export async function reducePrepare(
  input: SnapshotRef & { parts: number[] },
  deployed: Deployed,
  deps: Deps,
): Promise<Reduced> {
  const lake = guardedLake(deps.lake);
  const { def } = await snapshotOf(lake, input, deployed);
  const parts = inOrder(input.parts, 'reduce');
  const summaries: ChunkSummary[] = [];
  for (const p of parts) summaries.push(JSON.parse(await lake.getText(statsKey(input, p))) as ChunkSummary);
  const stats = mergeAll(
    def.spec,
    summaries.map((s) => s.stats),
  );
  const quarantined = summaries.flatMap((s) => s.quarantined);
  let quarantine: string | undefined;
  if (quarantined.length > 0) {
    quarantine = lakeKeys.quarantine(def.name, input.snapshotId);
    await lake.put(quarantine, quarantineJsonl(quarantined), 'application/x-ndjson');
  }
  checkInvalidFraction(
    { valid: [], quarantined, total: stats.rows.total },
    def.training.maxInvalidFraction,
    `s3://${lake.bucket}/${quarantine}`,
  );
  const { fitted, baseline } = reduceStats(def, stats, {
    model: def.name,
    snapshotId: input.snapshotId,
    createdAt: deps.clock.now().toISOString(),
  });
  const keys = snapshotKeys(def.name, input.snapshotId);
  await lake.put(keys.transform, `${JSON.stringify(fitted.transform, null, 2)}\n`, 'application/json');
  const baselineKey = lakeKeys.baseline(def.name, input.snapshotId);
  await writeBaseline(lake, baselineKey, baseline);
  return {
    transform: keys.transform,
    baseline: baselineKey,
    ...(quarantine ? { quarantine } : {}),
    counts: {
      rows: stats.rows.total,
      valid: stats.rows.valid,
      quarantined: stats.rows.quarantined,
      goldenDuplicates: stats.rows.goldenDuplicates,
    },
  };
}

/** The fitted transform the reduce wrote, with its schema hash recomputed from the spec. */
async function readFitted(
  lake: ObjectStore,
  def: ModelDefinition,
  ref: SnapshotRef,
): Promise<FittedTransform> {
  const transform = JSON.parse(await lake.getText(snapshotKeys(def.name, ref.snapshotId).transform));
  return { transform, featureSchemaHash: featureSchemaHash(def.spec, transform) };
}

/** Pass 2 over one batch (see the module header). */
export async function prepareTransformPart(
  input: BatchInput,
  deployed: Deployed,
  deps: Deps,
): Promise<TransformedPart> {
  const lake = guardedLake(deps.lake);
  const ref = input.BatchInput;
  const { def, pointer, options } = await snapshotOf(lake, ref, deployed);
  const fitted = await readFitted(lake, def, ref);
  const { chunk, part } = chunkOfBatch(input, `s3://${lake.bucket}/${pointer.key}`);
  const out = transformChunk(def, chunk, fitted, options);
  const count = (text: string) => (text === '' ? 0 : text.split('\n').length - 1);
  const result: TransformedPart = {
    part,
    pieces: {},
    rows: {
      train: count(out.splits.train),
      validation: count(out.splits.validation),
      golden: count(out.splits.golden),
    },
  };
  const writes: Promise<void>[] = [];
  if (out.splits.train !== '') {
    result.train = trainPartKey(ref, part);
    writes.push(lake.put(result.train, out.splits.train, 'text/csv'));
  }
  const pieces: Record<Piece, string> = {
    validation: out.splits.validation,
    golden: out.splits.golden,
    evalValidation: out.evalRows.validation,
    evalGolden: out.evalRows.golden,
  };
  for (const [name, body] of Object.entries(pieces) as [Piece, string][]) {
    if (body === '') continue;
    const key = pieceKey(ref, name, part);
    result.pieces[name] = key;
    writes.push(lake.put(key, body, 'text/plain'));
  }
  await Promise.all(writes);
  return result;
}

/** The pieces of one name joined in part order (read one at a time), and their line count. */
async function joined(
  lake: ObjectStore,
  ref: SnapshotRef,
  parts: readonly number[],
  piece: Piece,
): Promise<{ text: string; rows: number }> {
  let text = '';
  for (const p of parts) text += (await lake.tryGetText(pieceKey(ref, piece, p))) ?? '';
  return { text, rows: lineCount(text) };
}

/** Lines of text whose every line ends with a newline. */
function lineCount(text: string | Uint8Array): number {
  let n = 0;
  for (const c of typeof text === 'string' ? Buffer.from(text) : text) if (c === 10) n++;
  return n;
}

/** The finish (see the module header): the single function's output. */
export async function finishPrepare(
  input: SnapshotRef & { parts: number[]; reduced: Reduced },
  deployed: Deployed,
  deps: Deps,
): Promise<PrepareOutput> {
  const lake = guardedLake(deps.lake);
  const { def, seed, pointer, goldenSet } = await snapshotOf(lake, input, deployed);
  const parts = inOrder(input.parts, 'finish');
  const keys = snapshotKeys(def.name, input.snapshotId);
  const fitted = await readFitted(lake, def, input);

  // Batches with no training row wrote no part.
  const trainPrefix = lakeKeys.curatedSplit(def.name, input.snapshotId, 'train');
  const listed = new Set(await lake.list(trainPrefix));
  const trainParts = parts.map((p) => trainPartKey(input, p)).filter((k) => listed.has(k));
  await checkTrainParts(lake, trainPrefix, trainParts);
  // The training parts stay where SageMaker reads them: hashed in part order, one at a time.
  const trainHash = createHash('sha256');
  let trainRows = 0;
  for (const key of trainParts) {
    const bytes = await lake.getBytes(key);
    trainHash.update(bytes);
    trainRows += lineCount(bytes);
  }
  const sha = (text: string) => createHash('sha256').update(text).digest('hex');

  const validation = await joined(lake, input, parts, 'validation');
  const golden = await joined(lake, input, parts, 'golden');
  const evalRows =
    (await joined(lake, input, parts, 'evalValidation')).text +
    (await joined(lake, input, parts, 'evalGolden')).text;
  const rows = { train: trainRows, validation: validation.rows, golden: golden.rows };
  const definition = `${JSON.stringify(def, null, 2)}\n`;
  const transformText = `${JSON.stringify(fitted.transform, null, 2)}\n`;
  const hasGolden = rows.golden > 0;
  await Promise.all([
    lake.put(keys.validation, validation.text, 'text/csv'),
    ...(hasGolden ? [lake.put(keys.golden, golden.text, 'text/csv')] : []),
    lake.put(keys.evalRows, evalRows, 'application/x-ndjson'),
    lake.put(keys.definition, definition, 'application/json'),
  ]);

  const files: DataManifest['files'] = {
    train: { key: keys.train, sha256: trainHash.digest('hex'), rows: rows.train },
    validation: { key: keys.validation, sha256: sha(validation.text), rows: rows.validation },
    ...(hasGolden ? { golden: { key: keys.golden, sha256: sha(golden.text), rows: rows.golden } } : {}),
    evalRows: { key: keys.evalRows, sha256: sha(evalRows) },
    transform: { key: keys.transform, sha256: sha(transformText) },
    definition: { key: keys.definition, sha256: sha(definition) },
  };
  const lineage = goldenLineage(def, goldenSet);
  const now = deps.clock.now();
  const { counts } = input.reduced;
  const built = manifestOf({
    def,
    snapshotId: input.snapshotId,
    seed,
    source: { sha256: pointer.sha256, key: pointer.key },
    fitted,
    golden: lineage,
    counts,
    createdAt: now,
    files,
  });
  // The manifest marks the snapshot complete: written once every other object is stored.
  await lake.put(keys.manifest, built.manifestJson, 'application/json');
  return preparedOutput({
    def,
    snapshotId: input.snapshotId,
    seed,
    at: now,
    env: deps.env,
    bucket: lake.bucket,
    dataManifestHash: built.dataManifestHash,
    featureSchemaHash: fitted.featureSchemaHash,
    baselineKey: input.reduced.baseline,
    hasGolden,
    quarantineKey: input.reduced.quarantine,
    counts: {
      ...counts,
      ...rows,
    },
    golden: lineage,
  });
}
