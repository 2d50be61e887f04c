/**
 * Batch scoring of one chunk of rows: a Distributed Map child's batch of CSV items, or a chunk of CSV
 * text with its header. Each row is checked against the scoring version's own spec (as the predict
 * path does, CSV cells being strings), scored with the version's own transform and the same
 * TypeScript scorer that serves predictions, and written as one part file; rows that do not fit the
 * spec are quarantined with their line and reasons. Columns the spec does not use (the label, an id
 * column, anything else) are ignored, or carried along as the id; they never quarantine a row. A
 * header that lacks a feature column fails the chunk: every row would otherwise be scored with the
 * feature missing.
 *
 * Rows scored here are not prediction-log rows: the job's counts say how many were scored.
 */
import { lakeKeys } from '../../contracts/lake.ts';
import { errorNames, PlatformError } from '../../core/errors.ts';
import { CsvFormatError, parseCsv } from '../../core/features/csv.ts';
import { transformRow, validateRow } from '../../core/features/transform.ts';
import type { ModelRegistryPort, ObjectStore } from '../../core/ports.ts';
import type { LoadedVersion, ModelCache } from '../shared/model-cache.ts';
import { loadVersion } from '../shared/serving.ts';

/** One row to score: its 1-based line in the input file (the header is line 1) and its cells by column. */
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

/** The quarantine part: CSV of `line`, the id column when named, and `reason`. */
export function quarantineCsv(rows: readonly QuarantinedRow[], idColumn?: string): string {
  let text = `line,${idColumn === undefined ? '' : `${cell(idColumn)},`}reason\n`;
  for (const r of [...rows].sort((a, b) => a.line - b.line)) {
    text += `${r.line},${idColumn === undefined ? '' : `${cell(r.id ?? '')},`}${cell(r.reason)}\n`;
  }
  return text;
}

/** What scoring one chunk needs. */
export interface ScoreBatchDeps {
  registry: Pick<ModelRegistryPort, 'getVersion'>;
  lake: Pick<ObjectStore, 'getText' | 'put'>;
  cache: ModelCache;
}

/** One chunk of a job. */
export interface ScoreChunkRequest {
  model: string;
  version: number;
  job: string;
  /** The part's number within the job (e.g. the first row's index): names its files. */
  part: number;
  columns: readonly string[];
  rows: readonly BatchRow[];
  /** Rows already found unreadable (wrong number of fields). */
  malformed?: readonly QuarantinedRow[];
  /** A column carried into the part as the row's id. */
  idColumn?: string;
}

/** What a chunk's scoring reports. */
export interface ScoreChunkResult {
  part: number;
  rows: number;
  scored: number;
  quarantined: number;
  partKey: string;
  /** Absent when no row was quarantined. */
  quarantineKey?: string;
}

/**
 * Loads the version (cached for the instance), scores the chunk and writes its part and, when rows
 * were left out, its quarantine part.
 *
 * @throws BatchInputError for a version that is not in the registry or was trained on another feature
 *   schema, or a chunk whose columns lack a feature.
 */
export async function scoreChunk(req: ScoreChunkRequest, deps: ScoreBatchDeps): Promise<ScoreChunkResult> {
  if (!Number.isInteger(req.part) || req.part < 0) {
    throw new BatchInputError(`part must be a whole number of at least 0, got ${req.part}.`);
  }
  let loaded: LoadedVersion;
  try {
    loaded = await loadVersion(deps, req.model, req.version);
  } catch (err) {
    throw new BatchInputError(
      `Model ${req.model} version ${req.version} cannot score: ${(err as Error).message}`,
    );
  }
  if (!loaded.hashOk) {
    throw new BatchInputError(
      `Model ${req.model} version ${req.version} was trained on a feature schema this code does not compute (its featureSchemaHash differs): it cannot score here.`,
    );
  }
  checkColumns(loaded, req.columns, req.idColumn);
  const chunk = scoreRows(loaded, req.rows, req.idColumn);
  const quarantined = [...(req.malformed ?? []), ...chunk.quarantined];
  const partKey = lakeKeys.scoresPart(req.model, req.job, req.part);
  await deps.lake.put(partKey, chunk.part, 'text/csv');
  let quarantineKey: string | undefined;
  if (quarantined.length > 0) {
    quarantineKey = lakeKeys.scoresQuarantinePart(req.model, req.job, req.part);
    await deps.lake.put(quarantineKey, quarantineCsv(quarantined, req.idColumn), 'text/csv');
  }
  return {
    part: req.part,
    rows: req.rows.length + (req.malformed?.length ?? 0),
    scored: chunk.scored,
    quarantined: quarantined.length,
    partKey,
    ...(quarantineKey === undefined ? {} : { quarantineKey }),
  };
}

/** A Distributed Map item: a CSV row keyed by header (ItemReader CSV, FIRST_ROW), with its index. */
export interface MapItem {
  /** `$$.Map.Item.Index`: the row's 0-based index among the data rows. */
  index: number;
  /** `$$.Map.Item.Value`: the row's cells by column. */
  row: Record<string, unknown>;
}

/** The BatchInput every child of a job's map receives. */
export interface JobBatchInput {
  model: string;
  version: number;
  job: string;
  idColumn?: string | null;
}

/** One child's input: an ItemBatcher batch. */
export interface MapBatch {
  BatchInput: JobBatchInput;
  Items: MapItem[];
}

/**
 * Turns a batch into a chunk request: a row's file line is its index + 2 (the header is line 1), the
 * part is named by the batch's first index, so a retried batch writes the same files.
 *
 * @throws BatchInputError naming what is malformed.
 */
export function chunkOfBatch(batch: MapBatch): ScoreChunkRequest {
  const input = batch?.BatchInput;
  if (typeof input !== 'object' || input === null) {
    throw new BatchInputError('The batch has no BatchInput {model, version, job}.');
  }
  const { model, version, job } = input;
  // The state machine passes null when the job names no id column.
  const idColumn = input.idColumn ?? undefined;
  if (typeof model !== 'string' || model === '')
    throw new BatchInputError('BatchInput.model must be a model name.');
  if (typeof job !== 'string' || !/^[A-Za-z0-9._-]+$/.test(job)) {
    throw new BatchInputError(
      `BatchInput.job must be letters, digits, '.', '_' or '-', got ${JSON.stringify(job)}.`,
    );
  }
  const v = typeof version === 'string' ? Number(version) : version;
  if (!Number.isInteger(v) || v < 1) {
    throw new BatchInputError(`BatchInput.version must be a version number, got ${JSON.stringify(version)}.`);
  }
  if (idColumn !== undefined && typeof idColumn !== 'string') {
    throw new BatchInputError('BatchInput.idColumn must be a column name.');
  }
  if (!Array.isArray(batch.Items) || batch.Items.length === 0) {
    throw new BatchInputError('The batch has no Items.');
  }
  const rows: BatchRow[] = batch.Items.map((item, i) => {
    if (
      !Number.isInteger(item?.index) ||
      item.index < 0 ||
      typeof item.row !== 'object' ||
      item.row === null
    ) {
      throw new BatchInputError(
        `Items[${i}] must be {index, row} ($$.Map.Item.Index and $$.Map.Item.Value).`,
      );
    }
    const values: Record<string, string> = {};
    for (const [k, value] of Object.entries(item.row)) values[k] = value == null ? '' : String(value);
    return { line: item.index + 2, values };
  });
  return {
    model,
    version: v,
    job,
    part: Math.min(...batch.Items.map((item) => item.index)),
    columns: Object.keys(batch.Items[0]!.row),
    rows,
    ...(idColumn === undefined ? {} : { idColumn }),
  };
}

/** Scores one Distributed Map child's batch. */
export function scoreMapBatch(batch: MapBatch, deps: ScoreBatchDeps): Promise<ScoreChunkResult> {
  return scoreChunk(chunkOfBatch(batch), deps);
}
