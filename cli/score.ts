/**
 * Offline scoring for `mlops score` (`commands/score.ts`): a CSV file scored with a model's
 * `model.json` through the same TypeScript scorer (and, with `--spec`, the same feature transform)
 * that serves predictions, without a twin or an AWS account.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parse } from 'csv-parse/sync';
import { CsvFormatError, parseCsv } from '../core/features/csv.ts';
import type { FeatureSpec } from '../core/features/spec.ts';
import {
  TRANSFORM_CODE_VERSION,
  type TransformArtifact,
  transformRow,
  validateRow,
} from '../core/features/transform.ts';
import { parseModelDefinition } from '../core/model/definition.ts';
import { loadXgbModel, UnsupportedModelError, type XgbModel } from '../core/scorer/xgboost.ts';
import { CliError, UsageError } from './errors.ts';

/** Above this many rows the command says on stderr what it is doing, since scoring takes a moment. */
export const PROGRESS_ROWS = 100_000;

/** How many invalid rows an error lists; the rest are counted. */
const MAX_LISTED = 10;

/** What `mlops score` reads. */
export interface ScoreOptions {
  /** XGBoost `model.json`. */
  model: string;
  /** CSV to score: a numeric matrix, or raw feature columns by header name with `spec`. */
  input: string;
  /** Model definition (`models/<name>.json`) whose feature spec the CSV's columns follow. */
  spec?: string;
  /** Fitted transform artifact (`transform.json`) of the model version; required with `spec`. */
  transform?: string;
}

/**
 * Reads the model and the CSV and returns one probability per data row, in input order.
 *
 * @throws CliError for an unreadable or malformed file, an unsupported model, a CSV that does not fit
 *   the model, or any invalid row (then nothing is scored).
 */
export function scoreFiles(opts: ScoreOptions): Float64Array {
  if (opts.spec !== undefined && opts.transform === undefined) {
    throw new UsageError(
      '--spec needs --transform <transform.json>: the fitted transform stored with the model version.',
    );
  }
  if (opts.transform !== undefined && opts.spec === undefined) {
    throw new UsageError('--transform needs --spec <model-definition.json> (e.g. models/credit.json).');
  }
  const model = readModel(opts.model);
  const text = readText(opts.input, '--input');
  const matrix =
    opts.spec !== undefined && opts.transform !== undefined
      ? specMatrix(model, opts.input, text, readSpec(opts.spec), opts.spec, opts.transform)
      : numericMatrix(model, opts.input, text);
  const rows = matrix.length / model.numFeatures;
  if (rows > PROGRESS_ROWS) process.stderr.write(`scoring ${rows} rows with ${model.numTrees} trees…\n`);
  return model.predictMatrix(matrix);
}

function readText(file: string, option: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`Cannot read ${option} ${file}: ${(err as Error).message}`);
  }
}

function readJson(file: string, option: string): unknown {
  const text = readText(file, option);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CliError(`${option} ${file} is not valid JSON: ${(err as Error).message}`);
  }
}

function readModel(file: string): XgbModel {
  const doc = readJson(file, '--model');
  try {
    return loadXgbModel(doc);
  } catch (err) {
    if (err instanceof UnsupportedModelError) {
      throw new CliError(`--model ${file} cannot be scored: ${err.message}`);
    }
    throw new CliError(
      `--model ${file} is not an XGBoost model.json: ${(err as Error).message}. Pass the model.json that training wrote.`,
    );
  }
}

function readSpec(file: string): FeatureSpec {
  const raw = readJson(file, '--spec');
  try {
    return parseModelDefinition(raw, file).spec;
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}

function readTransform(file: string): TransformArtifact {
  const raw = readJson(file, '--transform');
  const a = raw as Partial<TransformArtifact> | null;
  const ok =
    typeof a === 'object' &&
    a !== null &&
    typeof a.transformCodeVersion === 'number' &&
    typeof a.specVersion === 'number' &&
    Array.isArray(a.columns) &&
    a.columns.every((c) => typeof c === 'string') &&
    typeof a.features === 'object' &&
    a.features !== null &&
    !Array.isArray(a.features);
  if (!ok) {
    throw new CliError(
      `--transform ${file} is not a transform artifact (expected transformCodeVersion, specVersion, columns and features): pass the transform.json stored with the model version.`,
    );
  }
  return raw as TransformArtifact;
}

/**
 * Checks that the artifact was fitted for this spec and this model, so that `transformRow` cannot
 * build vectors of another shape or skip a fitted imputation or clip without a word.
 */
function checkTransform(
  spec: FeatureSpec,
  transform: TransformArtifact,
  model: XgbModel,
  files: { spec: string; transform: string },
): void {
  const where = `--transform ${files.transform}`;
  if (transform.transformCodeVersion !== TRANSFORM_CODE_VERSION) {
    throw new CliError(
      `${where} was fitted by transform code version ${transform.transformCodeVersion}, but this CLI has version ${TRANSFORM_CODE_VERSION}: score with the CLI of the same release, or retrain.`,
    );
  }
  if (transform.specVersion !== spec.version) {
    throw new CliError(
      `${where} was fitted for spec version ${transform.specVersion}, but --spec ${files.spec} is version ${spec.version}: pass the model definition the version was trained with.`,
    );
  }
  let width = 0;
  for (const f of spec.features) {
    const fit = transform.features[f.name];
    const problem =
      fit === undefined
        ? 'has no fit'
        : typeof f.missing === 'object' && fit.impute === undefined
          ? 'has no fitted imputation value'
          : f.type === 'numeric' &&
              f.transforms.filter((t) => t !== 'log1p').length !== (fit.clips?.length ?? 0)
            ? 'has a different number of clip bounds than the spec has clips'
            : f.type === 'categorical' && !Array.isArray(fit.vocabulary)
              ? 'has no vocabulary'
              : undefined;
    if (problem) {
      throw new CliError(
        `${where}: feature "${f.name}" of --spec ${files.spec} ${problem}; the two belong to different model versions.`,
      );
    }
    width += f.type === 'categorical' ? fit!.vocabulary!.length + 1 : 1;
  }
  if (width !== transform.columns.length) {
    throw new CliError(
      `${where} has ${transform.columns.length} columns, but --spec ${files.spec} with its vocabularies gives ${width}: the two belong to different model versions.`,
    );
  }
  if (width !== model.numFeatures) {
    throw new CliError(
      `${where} gives ${width} features, but --model has ${model.numFeatures}: pass the transform.json of the same model version.`,
    );
  }
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Words other tools write for a missing or non-finite value; a line of them is data, not a header. */
const NUMBER_WORD = /^[+-]?(nan|na|n\/a|null|none|inf|infinity)$/i;

function isNumberLike(cell: string): boolean {
  const text = cell.trim();
  return NUMBER.test(text) || NUMBER_WORD.test(text);
}

interface CsvRow {
  record: string[];
  info: { lines: number };
}

/** Splits CSV text into records with their 1-based line numbers; blank lines are skipped. */
function csvRows(text: string, file: string): CsvRow[] {
  const body = text.replace(/^\uFEFF/, '');
  // A numeric matrix rarely has quotes or bare-CR line ends; without them, splitting reads it several
  // times faster than the full CSV parser, which matters for files of millions of rows.
  if (!/"|\r(?!\n)/.test(body)) {
    const rows: CsvRow[] = [];
    const lines = body.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.endsWith('\r') ? lines[i]!.slice(0, -1) : lines[i]!;
      if (line !== '') rows.push({ record: line.split(','), info: { lines: i + 1 } });
    }
    return rows;
  }
  try {
    return parse(body, {
      relax_column_count: true,
      skip_empty_lines: true,
      info: true,
    }) as unknown as CsvRow[];
  } catch (err) {
    throw new CliError(`--input ${file} is not valid CSV: ${(err as Error).message}`);
  }
}

function numericMatrix(model: XgbModel, file: string, text: string): Float64Array {
  const name = basename(file);
  const rows = csvRows(text, file);
  const nf = model.numFeatures;
  const first = rows[0];
  // A header has no numbers in it; a first line with some numbers (or NaN-like words) is data, so a
  // bad cell there is reported rather than the line being dropped as a header.
  const hasHeader =
    first !== undefined && !first.record.some(isNumberLike) && first.record.some((c) => c.trim());
  const data = hasHeader ? rows.slice(1) : rows;
  if (data.length === 0) {
    throw new CliError(`--input ${file} has no data rows.`);
  }
  for (const { record, info } of rows) {
    if (record.length !== nf) {
      throw new CliError(
        `${name} line ${info.lines} has ${record.length} column(s) but the model has ${nf} features: give every row ${nf} values (an empty cell is a missing value).`,
      );
    }
  }
  const out = new Float64Array(data.length * nf);
  data.forEach(({ record, info }, r) => {
    for (let c = 0; c < nf; c++) {
      const cell = record[c]!.trim();
      if (cell === '') {
        out[r * nf + c] = Number.NaN;
      } else if (NUMBER.test(cell)) {
        out[r * nf + c] = Number(cell);
      } else {
        throw new CliError(
          `${name} line ${info.lines} column ${c + 1} is not a number: ${JSON.stringify(record[c])}. Use plain decimal numbers; leave the cell empty for a missing value.`,
        );
      }
    }
  });
  return out;
}

function specMatrix(
  model: XgbModel,
  file: string,
  text: string,
  spec: FeatureSpec,
  specFile: string,
  transformFile: string,
): Float64Array {
  const transform = readTransform(transformFile);
  checkTransform(spec, transform, model, { spec: specFile, transform: transformFile });

  const name = basename(file);
  let parsed: ReturnType<typeof parseCsv>;
  try {
    parsed = parseCsv(text, `--input ${name}`);
  } catch (err) {
    if (err instanceof CsvFormatError) throw new CliError(err.message);
    throw err;
  }
  const absent = spec.features.map((f) => f.name).filter((n) => !parsed.header.includes(n));
  if (absent.length > 0) {
    throw new CliError(
      `${name} lacks feature column(s) ${absent.join(', ')} (header: ${parsed.header.join(', ')}); the header must name every feature in ${specFile}.`,
    );
  }

  const problems: { line: number; reason: string }[] = parsed.malformed.map((m) => ({
    line: m.line,
    reason: m.reason,
  }));
  const nf = model.numFeatures;
  const out = new Float64Array(parsed.records.length * nf);
  parsed.records.forEach((rec, r) => {
    const res = validateRow(spec, rec.values, 'csv');
    if (!res.ok) {
      problems.push({ line: rec.line, reason: res.errors.map((e) => `${e.field} ${e.message}`).join('; ') });
    } else if (problems.length === 0) {
      out.set(transformRow(spec, transform, res.row), r * nf);
    }
  });
  if (problems.length > 0) {
    problems.sort((a, b) => a.line - b.line);
    const total = parsed.records.length + parsed.malformed.length;
    const listed = problems.slice(0, MAX_LISTED).map((p) => `\n  line ${p.line}: ${p.reason}`);
    const more = problems.length > MAX_LISTED ? `\n  … and ${problems.length - MAX_LISTED} more` : '';
    throw new CliError(
      `${problems.length} of ${total} rows in ${name} are invalid, so nothing was scored; fix them and run again:${listed.join('')}${more}`,
    );
  }
  return out;
}
