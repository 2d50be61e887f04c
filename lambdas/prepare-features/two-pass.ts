/**
 * The prepare step over a Distributed Map, for raw data too large for one function: the same snapshot
 * as the single function (./core.ts), built by five actions of the prepare function.
 *
 *   - `plan`: reads the raw pointer and decides the path. Data with more rows than the threshold
 *     (`PREPARE_DISTRIBUTED_ABOVE_ROWS`) takes the two passes; smaller data and `time` and `random`
 *     splits (which order or shuffle the whole file) take the single function. For the two passes it
 *     cuts the raw object into byte ranges (core/snapshot/ranges.ts) and writes them as the first
 *     Map's items, `curated/<model>/<snapshot>/plan/<run>/pass1-ranges.json`.
 *   - `pass1`: one range -> its mergeable statistics, quarantined rows and line count, written to
 *     `curated/<model>/<snapshot>/stats/<run>/part-<n>.json`.
 *   - `reduce`: merges every range's statistics in file order, writes the quarantined rows at the
 *     file's lines and checks the invalid share as the single function does, fits the transform and
 *     writes it, the drift baseline, and pass 2's items: the ranges, each with its first line.
 *   - `pass2`: one range again, with the fitted transform -> its training rows as
 *     `train/part-<n>.csv` (the SageMaker channel reads the prefix), its validation, golden and
 *     evaluation rows as pieces under `stage/<run>/`.
 *   - `finish`: joins the pieces into the single validation, golden and evaluation files the evaluate
 *     step reads, hashes the training parts in part order, and writes the manifest last. Its output
 *     is the single function's, so the rest of the pipeline does not know which path ran.
 *
 * A child reads its range with ranged GETs and works through it a chunk of lines at a time, so what
 * it holds grows with the range size, not the file's. The state machine carries no per-range data:
 * the items are files in the lake and the Maps discard their results.
 *
 * A part's number `n` is its range's place in the object, so parts sort in file order and the first
 * is `part-00000.csv`, the single function's key. The manifest lists each split under that key with
 * the hash of its parts joined in part order: the same data gives the same manifest, hence the same
 * data version, through either path and with any range size.
 */

import { createHash } from 'node:crypto';
import { lakeKeys } from '../../contracts/lake.ts';
import { errorNames, PlatformError } from '../../core/errors.ts';
import { rowIdentity } from '../../core/features/golden.ts';
import { featureSchemaHash } from '../../core/features/transform.ts';
import { rawObjects } from '../../core/lake.ts';
import type { ModelDefinition } from '../../core/model/definition.ts';
import type { Clock, ObjectStore, RangedObjectStore } from '../../core/ports.ts';
import type { FittedTransform } from '../../core/snapshot/fit.ts';
import { goldenLineage } from '../../core/snapshot/golden-set.ts';
import { type DataManifest, manifestOf, snapshotIdOf } from '../../core/snapshot/manifest.ts';
import {
  type ChunkSummary,
  emptyStats,
  mergeStats,
  summarizeChunk,
} from '../../core/snapshot/partial-stats.ts';
import { transformChunk } from '../../core/snapshot/pass2.ts';
import { type ByteRange, countLines, lineChunks, planObjectRanges } from '../../core/snapshot/ranges.ts';
import { reduceStats } from '../../core/snapshot/reduce.ts';
import { checkInvalidCount, type QuarantinedRow, quarantineJsonl } from '../../core/snapshot/validate.ts';
import type { PrepareOutput } from '../../core/training-run.ts';
import { readHeader, readOwned } from '../shared/ranged-read.ts';
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

/** The plan's output: the path to take and, for the two passes, where the ranges are. */
export interface PreparePlan extends SnapshotRef {
  mode: 'single' | 'distributed';
  /** Why this path, for the execution history. */
  reason: string;
  rows: number;
  bucket: string;
  rawKey: string;
  /** Bytes per range (a child of each Map reads one). */
  rangeBytes: number;
  /** How many ranges, hence children per Map. */
  ranges: number;
  /** The JSON array of pass 1's ranges, the first Map's ItemReader ('' for the single function). */
  items: string;
  /** The raw file's header line, which every child puts before its lines. */
  header: string;
}

/** The plan's input: the run's input, with an optional range size. */
export interface PlanInput extends PrepareInput {
  /** Bytes of raw data per child of the two passes; {@link DEFAULT_RANGE_BYTES} when absent. */
  prepareRangeBytes?: number;
}

/**
 * Raw bytes per child unless the run says otherwise: 64 MiB is some 600,000 rows of a 20-column
 * file, which one child reads in well under its timeout, holding a few times the range in memory.
 */
export const DEFAULT_RANGE_BYTES = 64 * 1024 * 1024;
/** The range sizes a run may ask for. */
const RANGE_BYTES_LIMITS = [256, 1024 * 1024 * 1024] as const;
/** Lines a child reads, validates and transforms at a time: what it holds as parsed rows. */
const CHUNK_LINES = 20_000;

/** A child's input: its range (pass 2's also with its first line) and what it works on. */
export interface PartInput extends SnapshotRef {
  action: 'pass1' | 'pass2';
  header: string;
  range: ByteRange & { startLine?: number };
}

/** What pass 1 writes for a range: its statistics, its quarantined rows and its line count. */
interface StatsFile extends ChunkSummary {
  /** The lines the range owns; its quarantined rows' lines count from 2 (as if it began the file). */
  lines: number;
}

/** Pass 1's pointer to one part's statistics. */
export interface StatsPart {
  part: number;
  key: string;
}

/** Pass 2's account of one part. */
export interface TransformedPart {
  part: number;
  /** The training rows' part file, absent when the range has no training row. */
  train?: string;
  /** Pieces of the joined files, by name, for those the range has rows for. */
  pieces: Partial<Record<Piece, string>>;
  rows: Record<'train' | 'validation' | 'golden', number>;
}

/** The reduce's output: where it wrote, and the merged row counts. */
export interface Reduced {
  transform: string;
  baseline: string;
  quarantine?: string;
  /** The JSON array of pass 2's ranges, each with its first line: the second Map's ItemReader. */
  items: string;
  counts: { rows: number; valid: number; quarantined: number; goldenDuplicates: number };
}

type Piece = 'validation' | 'golden' | 'evalValidation' | 'evalGolden';

/** The threshold and the single function's settings. */
export interface TwoPassEnv extends PrepareEnv {
  /** Raw data with more rows than this takes the two passes. */
  distributedAboveRows: number;
}

interface Deps {
  lake: RangedObjectStore;
  clock: Clock;
  env: TwoPassEnv;
}

const partName = (n: number) => String(n).padStart(5, '0');
const statsKey = (ref: SnapshotRef, n: number) =>
  `${lakeKeys.curated(ref.model, ref.snapshotId)}stats/${ref.run}/part-${partName(n)}.json`;
const trainPartKey = (ref: SnapshotRef, n: number) =>
  `${lakeKeys.curatedSplit(ref.model, ref.snapshotId, 'train')}part-${partName(n)}.csv`;
const piecePrefix = (ref: SnapshotRef, piece: Piece) =>
  `${lakeKeys.curated(ref.model, ref.snapshotId)}stage/${ref.run}/${piece}/`;
const pieceKey = (ref: SnapshotRef, piece: Piece, n: number) =>
  `${piecePrefix(ref, piece)}part-${partName(n)}`;
const itemsKey = (ref: SnapshotRef, pass: 1 | 2) =>
  `${lakeKeys.curated(ref.model, ref.snapshotId)}plan/${ref.run}/pass${pass}-ranges.json`;

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
  const rangeBytes = input.prepareRangeBytes ?? DEFAULT_RANGE_BYTES;
  const [least, most] = RANGE_BYTES_LIMITS;
  if (!Number.isInteger(rangeBytes) || rangeBytes < least || rangeBytes > most) {
    throw new PlatformError(
      errorNames.invalidInput,
      `prepareRangeBytes must be a whole number from ${least} to ${most}, got ${JSON.stringify(input.prepareRangeBytes)}`,
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
      rangeBytes,
      ranges: 0,
      items: '',
      header: '',
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
  const ref: SnapshotRef = {
    run,
    model: def.name,
    seed,
    snapshotId: snapshotIdOf(def, pointer.sha256, seed, read.goldenId),
  };
  const plan = {
    ...ref,
    mode,
    reason,
    rows: pointer.rows,
    bucket: lake.bucket,
    rawKey: pointer.key,
    rangeBytes,
  };
  if (mode === 'single') return { ...plan, ranges: 0, items: '', header: '' };
  const objects: { key: string; size: number }[] = [];
  for (const key of rawObjects(pointer)) objects.push({ key, size: await lake.size(key) });
  // Every object has the first one's header: each child checks the one it skips.
  const header = await readHeader(lake, objects[0]!.key, objects[0]!.size);
  const ranges = planObjectRanges(objects, rangeBytes);
  const items = itemsKey(ref, 1);
  await lake.put(items, `${JSON.stringify(ranges)}\n`, 'application/json');
  return { ...plan, ranges: ranges.length, items, header };
}

/** A child's input checked: its action's fields, and a range of the snapshot's raw object. */
function checkPart(
  input: PartInput,
  rawKeys: readonly string[],
  pass: 1 | 2,
): ByteRange & { startLine: number } {
  const r = input.range;
  const where = `pass ${pass}`;
  if (typeof input.header !== 'string' || input.header === '') {
    throw new PlatformError(errorNames.invalidInput, `${where}: the input has no header line`);
  }
  if (r === null || typeof r !== 'object') {
    throw new PlatformError(errorNames.invalidInput, `${where}: the input has no range`);
  }
  const whole = (v: unknown) => Number.isInteger(v) && (v as number) >= 0;
  if (!whole(r.part) || !whole(r.start) || !whole(r.end) || !whole(r.size) || r.end < r.start) {
    throw new PlatformError(
      errorNames.invalidInput,
      `${where}: range ${JSON.stringify(r)} is not a part number with a byte range [start, end) of an object of size bytes`,
    );
  }
  if (!rawKeys.includes(r.key)) {
    throw new PlatformError(
      errorNames.invalidInput,
      `${where}: range ${r.part} reads ${JSON.stringify(r.key)}, not the snapshot's raw data ${rawKeys.join(', ')}`,
    );
  }
  const startLine = pass === 1 ? 2 : r.startLine;
  if (!Number.isInteger(startLine) || (startLine as number) < 2) {
    throw new PlatformError(
      errorNames.invalidInput,
      `${where}: range ${r.part} has no startLine (a whole number ≥ 2, from the reduce)`,
    );
  }
  return { ...r, startLine: startLine as number };
}

/** The chunks of a child's range (see core/snapshot/ranges.ts). */
async function chunksOf(lake: RangedObjectStore, input: PartInput, range: ByteRange & { startLine: number }) {
  const { owned } = await readOwned(lake, range, input.header);
  const source = `s3://${lake.bucket}/${range.key}#part-${partName(range.part)}`;
  return lineChunks(owned, input.header, range.startLine, CHUNK_LINES, source);
}

/**
 * Pass 1 over one range (see the module header). Its quarantined rows' lines count from 2 as if the
 * range began the file: the reduce, which knows every range's line count, makes them the file's.
 */
export async function prepareStatsPart(input: PartInput, deployed: Deployed, deps: Deps): Promise<StatsPart> {
  const lake = guardedLake(deps.lake);
  const { def, pointer, options } = await snapshotOf(lake, input, deployed);
  const range = checkPart(input, rawObjects(pointer), 1);
  const chunks = await chunksOf(lake, input, range);
  let stats = emptyStats(def.spec);
  const quarantined: QuarantinedRow[] = [];
  let lines = 0;
  for (const chunk of chunks) {
    const summary = summarizeChunk(def, chunk, options);
    stats = mergeStats(stats, summary.stats);
    quarantined.push(...summary.quarantined);
    lines += chunk.lines;
  }
  const key = statsKey(input, range.part);
  const file: StatsFile = { stats, quarantined, lines };
  await lake.put(key, `${JSON.stringify(file)}\n`, 'application/json');
  return { part: range.part, key };
}

/** A JSON array of ranges the plan or the reduce wrote, checked to be the parts 0, 1, ... in order. */
async function readRanges<R extends ByteRange>(lake: ObjectStore, key: string): Promise<R[]> {
  const text = await lake.tryGetText(key);
  if (text === undefined) {
    throw new PlatformError(
      errorNames.invalidInput,
      `${key} does not exist: the run's plan did not write its ranges`,
    );
  }
  const ranges = JSON.parse(text) as R[];
  if (!Array.isArray(ranges) || ranges.length === 0 || ranges.some((r, i) => r?.part !== i)) {
    throw new PlatformError(errorNames.invalidInput, `${key}: not the ranges 0, 1, ... of one object`);
  }
  return ranges;
}

/**
 * The reduce (see the module header): reads each range's statistics in file order, merging as it
 * goes, and gives each range its first line (pass 2 and the quarantined rows need the file's lines).
 */
export async function reducePrepare(input: SnapshotRef, deployed: Deployed, deps: Deps): Promise<Reduced> {
  const lake = guardedLake(deps.lake);
  const { def } = await snapshotOf(lake, input, deployed);
  const ranges = await readRanges<ByteRange>(lake, itemsKey(input, 1));
  let stats = emptyStats(def.spec);
  const first: QuarantinedRow[] = [];
  const lined: (ByteRange & { startLine: number })[] = [];
  const statsFile = async (range: ByteRange): Promise<StatsFile> => {
    const text = await lake.tryGetText(statsKey(input, range.part));
    if (text === undefined) {
      throw new PlatformError(
        errorNames.invalidInput,
        `reduce: range ${range.part} (bytes ${range.start}-${range.end}) has no statistics: pass 1 did not write ${statsKey(input, range.part)}`,
      );
    }
    return JSON.parse(text) as StatsFile;
  };
  // A range's quarantined rows at the file's lines: its lines count from 2 as if it began the file.
  const atFileLines = (file: StatsFile, startLine: number) =>
    file.quarantined.map((q) => ({ ...q, line: q.line - 2 + startLine }));
  // The header is line 1: the first range's first line is 2.
  let line = 2;
  for (const range of ranges) {
    const file = await statsFile(range);
    stats = mergeStats(stats, file.stats);
    if (first.length < 3) first.push(...atFileLines(file, line).slice(0, 3 - first.length));
    lined.push({ ...range, startLine: line });
    line += file.lines;
  }
  // The quarantined rows may outgrow a function's memory: streamed, a range at a time.
  let quarantine: string | undefined;
  if (stats.rows.quarantined > 0) {
    quarantine = lakeKeys.quarantine(def.name, input.snapshotId);
    async function* pieces() {
      for (const range of lined) {
        const rows = atFileLines(await statsFile(range), range.startLine);
        if (rows.length > 0) yield Buffer.from(quarantineJsonl(rows));
      }
    }
    await lake.putPieces(quarantine, pieces(), 'application/x-ndjson');
  }
  checkInvalidCount(
    stats.rows.quarantined,
    stats.rows.total,
    first,
    def.training.maxInvalidFraction,
    `s3://${lake.bucket}/${quarantine}`,
  );
  const { fitted, baseline } = reduceStats(def, stats, {
    model: def.name,
    snapshotId: input.snapshotId,
    createdAt: deps.clock.now().toISOString(),
  });
  const keys = snapshotKeys(def.name, input.snapshotId);
  const items = itemsKey(input, 2);
  const baselineKey = lakeKeys.baseline(def.name, input.snapshotId);
  await lake.put(keys.transform, `${JSON.stringify(fitted.transform, null, 2)}\n`, 'application/json');
  await writeBaseline(lake, baselineKey, baseline);
  await lake.put(items, `${JSON.stringify(lined)}\n`, 'application/json');
  return {
    transform: keys.transform,
    baseline: baselineKey,
    ...(quarantine ? { quarantine } : {}),
    items,
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

/** Pass 2 over one range (see the module header). */
export async function prepareTransformPart(
  input: PartInput,
  deployed: Deployed,
  deps: Deps,
): Promise<TransformedPart> {
  const lake = guardedLake(deps.lake);
  const { def, pointer, options } = await snapshotOf(lake, input, deployed);
  const range = checkPart(input, rawObjects(pointer), 2);
  const fitted = await readFitted(lake, def, input);
  const chunks = await chunksOf(lake, input, range);
  const out: Record<'train' | Piece, string[]> = {
    train: [],
    validation: [],
    golden: [],
    evalValidation: [],
    evalGolden: [],
  };
  for (const chunk of chunks) {
    const parts = transformChunk(def, chunk, fitted, options);
    out.train.push(parts.splits.train);
    out.validation.push(parts.splits.validation);
    out.golden.push(parts.splits.golden);
    out.evalValidation.push(parts.evalRows.validation);
    out.evalGolden.push(parts.evalRows.golden);
  }
  const body = (name: 'train' | Piece) => out[name].join('');
  const train = body('train');
  const part = range.part;
  const result: TransformedPart = {
    part,
    pieces: {},
    rows: { train: countLines(Buffer.from(train)), validation: 0, golden: 0 },
  };
  const writes: Promise<void>[] = [];
  if (train !== '') {
    result.train = trainPartKey(input, part);
    writes.push(lake.put(result.train, train, 'text/csv'));
  }
  for (const name of ['validation', 'golden', 'evalValidation', 'evalGolden'] as const) {
    const text = body(name);
    if (name === 'validation' || name === 'golden') result.rows[name] = countLines(Buffer.from(text));
    if (text === '') continue;
    const key = pieceKey(input, name, part);
    result.pieces[name] = key;
    writes.push(lake.put(key, text, 'text/plain'));
  }
  await Promise.all(writes);
  return result;
}

/**
 * The pieces of the given names (all of the first name in part order, then the next) written as one
 * object, streamed: a piece at a time is read, hashed, counted and handed to the upload.
 */
async function joinPieces(
  lake: RangedObjectStore,
  ref: SnapshotRef,
  parts: readonly number[],
  names: readonly Piece[],
  key: string,
  contentType: string,
): Promise<{ sha256: string; rows: number }> {
  const hash = createHash('sha256');
  let rows = 0;
  async function* pieces() {
    for (const name of names) {
      const stored = new Set(await lake.list(piecePrefix(ref, name)));
      for (const p of parts) {
        const k = pieceKey(ref, name, p);
        if (!stored.has(k)) continue;
        const bytes = await lake.getBytes(k);
        hash.update(bytes);
        rows += countLines(bytes);
        yield bytes;
      }
    }
  }
  await lake.putPieces(key, pieces(), contentType);
  return { sha256: hash.digest('hex'), rows };
}

/** The finish (see the module header): the single function's output. */
export async function finishPrepare(
  input: SnapshotRef & { reduced: Reduced },
  deployed: Deployed,
  deps: Deps,
): Promise<PrepareOutput> {
  const lake = guardedLake(deps.lake);
  const { def, seed, pointer, goldenSet } = await snapshotOf(lake, input, deployed);
  const parts = (await readRanges<ByteRange>(lake, itemsKey(input, 2))).map((r) => r.part);
  const keys = snapshotKeys(def.name, input.snapshotId);
  const fitted = await readFitted(lake, def, input);

  // Ranges with no training row wrote no part.
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
    trainRows += countLines(bytes);
  }
  // The joined files may outgrow a function's memory: each is streamed from its pieces.
  const hasGolden = (await lake.list(piecePrefix(input, 'golden'))).length > 0;
  const validation = await joinPieces(lake, input, parts, ['validation'], keys.validation, 'text/csv');
  const golden = hasGolden
    ? await joinPieces(lake, input, parts, ['golden'], keys.golden, 'text/csv')
    : undefined;
  const evalRows = await joinPieces(
    lake,
    input,
    parts,
    ['evalValidation', 'evalGolden'],
    keys.evalRows,
    'application/x-ndjson',
  );
  const rows = { train: trainRows, validation: validation.rows, golden: golden?.rows ?? 0 };
  const definition = `${JSON.stringify(def, null, 2)}\n`;
  const transformText = `${JSON.stringify(fitted.transform, null, 2)}\n`;
  await lake.put(keys.definition, definition, 'application/json');
  const sha = (text: string) => createHash('sha256').update(text).digest('hex');

  const files: DataManifest['files'] = {
    train: { key: keys.train, sha256: trainHash.digest('hex'), rows: rows.train },
    validation: { key: keys.validation, sha256: validation.sha256, rows: rows.validation },
    ...(golden ? { golden: { key: keys.golden, sha256: golden.sha256, rows: rows.golden } } : {}),
    evalRows: { key: keys.evalRows, sha256: evalRows.sha256 },
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
