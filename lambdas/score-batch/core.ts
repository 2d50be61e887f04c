/**
 * Batch scoring of one byte range of the input CSV (core/snapshot/ranges.ts): a Distributed Map
 * child reads the lines its range owns with ranged GETs and scores them a chunk of lines at a time,
 * so what it holds grows with the chunk, not the file. Each row is checked against the scoring
 * version's own spec (as the predict path does, CSV cells being strings), scored with the version's
 * own transform and the same TypeScript scorer that serves predictions, and written to the range's
 * part file; rows that do not fit the spec are quarantined with their line and reasons. Columns the
 * spec does not use (the label, an id column, anything else) are ignored, or carried along as the id;
 * they never quarantine a row. A header that lacks a feature column fails the range: every row would
 * otherwise be scored with the feature missing.
 *
 * Rows scored here are not prediction-log rows: the job's counts say how many were scored.
 */

import { lakeKeys, lakeZones } from '../../contracts/lake.ts';
import { errorNames, PlatformError } from '../../core/errors.ts';
import { CsvFormatError, parseCsv } from '../../core/features/csv.ts';
import { transformRow, validateRow } from '../../core/features/transform.ts';
import type { ModelRegistryPort, RangedObjectStore } from '../../core/ports.ts';
import { type ByteRange, lineChunks } from '../../core/snapshot/ranges.ts';
import type { LoadedVersion, ModelCache } from '../shared/model-cache.ts';
import { readOwned } from '../shared/ranged-read.ts';
import { loadVersion } from '../shared/serving.ts';

/** One row to score: its 1-based line (in its chunk's numbering, see {@link rowsOfCsvChunk}) and its cells by column. */
export interface BatchRow {
  line: number;
  values: Record<string, string>;
}

/** A row that was not scored, and why. */
export interface QuarantinedRow {
  line: number;
  reason: string;
  /** The row's id, when the job names an id column and the row has it. */
  id?: string;
}

/** What scoring a chunk gives: the part file's text and the rows left out. */
export interface ScoredChunk {
  /** CSV with a header: the id column (when named), `score`, `label`, `model_version`. */
  part: string;
  scored: number;
  quarantined: QuarantinedRow[];
}

/**
 * A chunk that cannot be scored at all (its header lacks a feature, its version cannot serve). Its
 * name is the platform's `InvalidInput`, which the state machine does not retry.
 */
export class BatchInputError extends PlatformError {
  constructor(message: string) {
    super(errorNames.invalidInput, message);
  }
}

/** Quotes a CSV cell when it needs it (RFC 4180). */
function cell(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/**
 * Checks that the columns of a chunk name every feature of the version's spec (and the id column,
 * when one is named).
 *
 * @throws BatchInputError naming the absent columns.
 */
export function checkColumns(loaded: LoadedVersion, columns: readonly string[], idColumn?: string): void {
  const have = new Set(columns);
  const { spec } = loaded.version.definition;
  const absent = spec.features.map((f) => f.name).filter((n) => !have.has(n));
  if (idColumn !== undefined && !have.has(idColumn)) absent.push(`${idColumn} (the id column)`);
  if (absent.length > 0) {
    throw new BatchInputError(
      `The input lacks column(s) ${absent.join(', ')} that model ${loaded.version.model} version ${loaded.version.version} needs (columns: ${columns.join(', ')}).`,
    );
  }
}

/**
 * Scores rows with a loaded version: validated against its spec, transformed with its transform,
 * scored by its model, labelled at its serving threshold.
 */
export function scoreRows(loaded: LoadedVersion, rows: readonly BatchRow[], idColumn?: string): ScoredChunk {
  const { version, serving } = loaded;
  const { spec, serving: settings } = version.definition;
  const quarantined: QuarantinedRow[] = [];
  const kept: { row: BatchRow; vector: Float64Array }[] = [];
  for (const row of rows) {
    const res = validateCsvRow(loaded, row);
    if (!res.ok) {
      const id = idColumn === undefined ? undefined : row.values[idColumn];
      quarantined.push({ line: row.line, reason: res.reason, ...(id === undefined ? {} : { id }) });
    } else {
      kept.push({ row, vector: res.vector });
    }
  }
  const nf = serving.model.numFeatures;
  const matrix = new Float64Array(kept.length * nf);
  kept.forEach((k, i) => {
    matrix.set(k.vector, i * nf);
  });
  const scores = serving.model.predictMatrix(matrix);
  let part = `${idColumn === undefined ? '' : `${cell(idColumn)},`}score,label,model_version\n`;
  kept.forEach((k, i) => {
    const score = scores[i]!;
    const label = score >= settings.threshold ? spec.label.positive : spec.label.negative;
    const id = idColumn === undefined ? '' : `${cell(k.row.values[idColumn] ?? '')},`;
    part += `${id}${score},${cell(label)},${version.version}\n`;
  });
  return { part, scored: kept.length, quarantined };
}

/** Validates a row of CSV cells against the version's spec and transforms it, or says why not. */
function validateCsvRow(
  loaded: LoadedVersion,
  row: BatchRow,
): { ok: true; vector: Float64Array } | { ok: false; reason: string } {
  const { spec } = loaded.version.definition;
  const res = validateRow(spec, row.values, 'csv');
  if (!res.ok) return { ok: false, reason: res.errors.map((e) => `${e.field} ${e.message}`).join('; ') };
  return { ok: true, vector: transformRow(spec, loaded.serving.transform, res.row) };
}

/**
 * Reads a chunk of CSV text (its header first) into rows with their lines in the whole file:
 * `firstLine` is the file line of the chunk's first data row. Rows with the wrong number of fields
 * are quarantined.
 *
 * @throws BatchInputError when the text is not CSV or has no header.
 */
export function rowsOfCsvChunk(
  text: string,
  firstLine: number,
): { columns: string[]; rows: BatchRow[]; malformed: QuarantinedRow[] } {
  if (!Number.isInteger(firstLine) || firstLine < 2) {
    throw new BatchInputError(
      `firstLine must be the file line of the chunk's first data row (a whole number of at least 2, the header being line 1), got ${firstLine}.`,
    );
  }
  let parsed: ReturnType<typeof parseCsv>;
  try {
    parsed = parseCsv(text, 'the chunk');
  } catch (err) {
    if (err instanceof CsvFormatError) throw new BatchInputError(err.message);
    throw err;
  }
  // parseCsv numbers the chunk's header as line 1 and its first data row as line 2.
  const shift = firstLine - 2;
  return {
    columns: parsed.header,
    rows: parsed.records.map((r) => ({ line: r.line + shift, values: r.values })),
    malformed: parsed.malformed.map((m) => ({ line: m.line + shift, reason: m.reason })),
  };
}

/** Lines a child reads, checks and scores at a time: what it holds as parsed rows. */
const CHUNK_LINES = 20_000;

/**
 * A quarantined row of a range: `line` counts the range's own lines from 1 (a range does not know
 * how many lines come before it), `byte` is where the line begins in the input file, which is exact.
 */
export interface RangeQuarantinedRow extends QuarantinedRow {
  byte: number;
}

/** The quarantine part: CSV of `part`, `line` (within the part), `byte`, the id column when named, and `reason`. */
export function quarantineCsv(part: number, rows: readonly RangeQuarantinedRow[], idColumn?: string): string {
  const id = (r: RangeQuarantinedRow) => (idColumn === undefined ? '' : `${cell(r.id ?? '')},`);
  let text = `part,line,byte,${idColumn === undefined ? '' : `${cell(idColumn)},`}reason\n`;
  for (const r of rows) text += `${part},${r.line},${r.byte},${id(r)}${cell(r.reason)}\n`;
  return text;
}

/** What scoring one range needs. */
export interface ScoreBatchDeps {
  registry: Pick<ModelRegistryPort, 'getVersion'>;
  lake: RangedObjectStore;
  cache: ModelCache;
}

/**
 * One child's input: the Map's ItemSelector puts the job's fields beside the range, an item of the
 * ranges file the job's resolve step wrote.
 */
export interface RangeInput {
  model: string;
  version: number;
  job: string;
  /** A column carried into the part as the row's id; null (the state machine's) or absent: none. */
  idColumn?: string | null;
  /** The input's header line, which the range's lines are read under. */
  header: string;
  range: ByteRange;
}

/** What a range's scoring reports; the job's finish sums `rows`, `scored` and `quarantined`. */
export interface ScoreRangeResult {
  part: number;
  /** The lines the range owns: rows scored and quarantined. */
  rows: number;
  scored: number;
  quarantined: number;
  partKey: string;
  /** Absent when no row was quarantined. */
  quarantineKey?: string;
}

/** The input checked: a whole-numbered version, a job id, a range of an input the child may read. */
function checkRangeInput(input: RangeInput): RangeInput & { idColumn?: string } {
  if (typeof input !== 'object' || input === null) {
    throw new BatchInputError('The input must be {model, version, job, idColumn, header, range}.');
  }
  const { model, version, job, header, range: r } = input;
  // The state machine passes null when the job names no id column.
  const idColumn = input.idColumn ?? undefined;
  if (typeof model !== 'string' || model === '') throw new BatchInputError('model must be a model name.');
  if (typeof job !== 'string' || !/^[A-Za-z0-9._-]+$/.test(job)) {
    throw new BatchInputError(`job must be letters, digits, '.', '_' or '-', got ${JSON.stringify(job)}.`);
  }
  const v = typeof version === 'string' ? Number(version) : version;
  if (!Number.isInteger(v) || v < 1) {
    throw new BatchInputError(`version must be a version number, got ${JSON.stringify(version)}.`);
  }
  if (idColumn !== undefined && typeof idColumn !== 'string') {
    throw new BatchInputError('idColumn must be a column name or null.');
  }
  if (typeof header !== 'string' || header === '') throw new BatchInputError('The input has no header line.');
  const whole = (n: unknown) => Number.isInteger(n) && (n as number) >= 0;
  if (
    typeof r !== 'object' ||
    r === null ||
    !whole(r.part) ||
    !whole(r.start) ||
    !whole(r.end) ||
    !whole(r.size) ||
    r.end < r.start ||
    typeof r.key !== 'string'
  ) {
    throw new BatchInputError(
      `range ${JSON.stringify(r)} is not {part, key, size, start, end}: a part number with a byte range [start, end) of an object of size bytes.`,
    );
  }
  // What the function may read: an upload to score (scores/) or ingested data (raw/).
  if (!r.key.startsWith(lakeZones.scores) && !r.key.startsWith(lakeZones.raw)) {
    throw new BatchInputError(
      `range ${r.part} reads ${JSON.stringify(r.key)}: batch scoring reads inputs under ${lakeZones.scores} or ${lakeZones.raw} only.`,
    );
  }
  return { ...input, version: v, ...(idColumn === undefined ? { idColumn: undefined } : { idColumn }) };
}

/** Loads the version (cached for the instance), refusing one that cannot score here. */
async function loadScoring(deps: ScoreBatchDeps, model: string, version: number): Promise<LoadedVersion> {
  let loaded: LoadedVersion;
  try {
    loaded = await loadVersion(deps, model, version);
  } catch (err) {
    throw new BatchInputError(`Model ${model} version ${version} cannot score: ${(err as Error).message}`);
  }
  if (!loaded.hashOk) {
    throw new BatchInputError(
      `Model ${model} version ${version} was trained on a feature schema this code does not compute (its featureSchemaHash differs): it cannot score here.`,
    );
  }
  return loaded;
}

/** Where each of the given lines (1-based, ascending) of `owned` begins in the file. */
function lineOffsets(owned: Uint8Array, offset: number, lines: readonly number[]): Map<number, number> {
  const at = new Map<number, number>();
  let line = 1;
  let pos = 0;
  for (const wanted of lines) {
    while (line < wanted) {
      pos = owned.indexOf(0x0a, pos) + 1;
      line++;
    }
    at.set(wanted, offset + pos);
  }
  return at;
}

/**
 * Scores one range (see the module header): reads the lines it owns, checks the header it skips when
 * it is the file's first, scores them a chunk at a time, and writes `part-<n>.csv` (one per range, even
 * one that owns no line, so the parts sort in file order) and, when rows were left out, the quarantine
 * part. A line with an odd number of double quotes (a quoted cell holding a line break, which byte
 * ranges cannot cut) fails the range naming the line.
 *
 * @throws BatchInputError for a malformed input, a version that cannot score, a header that lacks a
 *   feature or differs from the file's.
 */
export async function scoreRange(raw: RangeInput, deps: ScoreBatchDeps): Promise<ScoreRangeResult> {
  const input = checkRangeInput(raw);
  const { model, version, job, idColumn, header, range } = input;
  const loaded = await loadScoring(deps, model, version);
  const { owned, offset } = await readOwned(deps.lake, range, header);
  const source = `s3://${deps.lake.bucket}/${range.key}#part-${range.part}`;
  const parts: string[] = [];
  const quarantined: QuarantinedRow[] = [];
  let rows = 0;
  let scored = 0;
  // Lines are numbered from 2 in the chunks (as if the range began the file), from 1 in the part.
  for (const chunk of lineChunks(owned, header, 2, CHUNK_LINES, source)) {
    // Blank lines are no rows (a chunk of only blank lines, e.g. at the end of the file, is none).
    if (chunk.text.slice(header.length + 1).trim() === '') continue;
    const read = rowsOfCsvChunk(chunk.text, chunk.startLine);
    if (parts.length === 0) checkColumns(loaded, read.columns, idColumn);
    const done = scoreRows(loaded, read.rows, idColumn);
    parts.push(parts.length === 0 ? done.part : done.part.slice(done.part.indexOf('\n') + 1));
    quarantined.push(...read.malformed, ...done.quarantined);
    rows += read.rows.length + read.malformed.length;
    scored += done.scored;
  }
  if (parts.length === 0) parts.push(scoreRows(loaded, [], idColumn).part);
  const partKey = lakeKeys.scoresPart(model, job, range.part);
  await deps.lake.put(partKey, parts.join(''), 'text/csv');
  let quarantineKey: string | undefined;
  if (quarantined.length > 0) {
    const inPart = quarantined.map((q) => ({ ...q, line: q.line - 1 })).sort((a, b) => a.line - b.line);
    const at = lineOffsets(owned, offset, [...new Set(inPart.map((q) => q.line))]);
    const withBytes = inPart.map((q) => ({ ...q, byte: at.get(q.line)! }));
    quarantineKey = lakeKeys.scoresQuarantinePart(model, job, range.part);
    await deps.lake.put(quarantineKey, quarantineCsv(range.part, withBytes, idColumn), 'text/csv');
  }
  return {
    part: range.part,
    rows,
    scored,
    quarantined: quarantined.length,
    partKey,
    ...(quarantineKey === undefined ? {} : { quarantineKey }),
  };
}
