/**
 * The raw rows of a snapshot checked against the model's spec: each row is valid (typed, with its
 * label) or quarantined with every reason it failed, and a run whose share of invalid rows is over
 * the model's limit fails instead of training on what is left.
 */

import { errorNames, PlatformError } from '../errors.ts';
import { CsvFormatError, type ParsedCsv, parseCsv } from '../features/csv.ts';
import { validateRow } from '../features/transform.ts';
import type { ModelDefinition } from '../model/definition.ts';
import { contentBucket, type SplittableRow } from './split.ts';

/** A row kept out of the snapshot, as evidence: its line, why, and its cells as read. */
export interface QuarantinedRow {
  line: number;
  reasons: string[];
  raw: unknown;
}

/** The raw rows, sorted out. */
export interface RowValidation {
  valid: SplittableRow[];
  /** In line order. */
  quarantined: QuarantinedRow[];
  /** Every data row of the file, valid or not. */
  total: number;
}

/** Reads a data CSV; a problem of the whole file (empty, no rows, a bad header) is InvalidInput. */
export function parseDataCsv(text: string, source: string): ParsedCsv {
  try {
    return parseCsv(text, source);
  } catch (err) {
    if (err instanceof CsvFormatError) throw new PlatformError(errorNames.invalidInput, err.message);
    throw err;
  }
}

/** A time cell as milliseconds: a number as is, otherwise an ISO-8601 date or date-time. */
export function parseTime(cell: string | undefined): number | undefined {
  if (cell === undefined || cell.trim() === '') return undefined;
  const n = Number(cell);
  if (Number.isFinite(n)) return n;
  if (!/^\d{4}-\d{2}-\d{2}/.test(cell.trim())) return undefined;
  const t = Date.parse(cell.trim());
  return Number.isFinite(t) ? t : undefined;
}

/**
 * Validates every row of a parsed data file against the definition's spec (label and time column
 * included). A column the spec needs that the header lacks fails the whole file (InvalidInput):
 * every row would be invalid for the same reason.
 */
export function validateRows(def: Pick<ModelDefinition, 'name' | 'spec'>, parsed: ParsedCsv): RowValidation {
  const { spec } = def;
  const required = [
    spec.label.column,
    ...(spec.timeColumn ? [spec.timeColumn] : []),
    ...spec.features.map((f) => f.name),
  ];
  const absent = required.filter((c) => !parsed.header.includes(c));
  if (absent.length > 0) {
    throw new PlatformError(
      errorNames.invalidInput,
      `The data for "${def.name}" lacks column(s) ${absent.join(', ')} (header: ${parsed.header.join(', ')}).`,
    );
  }
  const quarantined: QuarantinedRow[] = parsed.malformed.map((m) => ({
    line: m.line,
    reasons: [m.reason],
    raw: m.raw,
  }));
  const valid: SplittableRow[] = [];
  for (const rec of parsed.records) {
    const res = validateRow(spec, rec.values, 'csv', true);
    const reasons = res.ok ? [] : res.errors.map((e) => `${e.field} ${e.message}`);
    let time: number | undefined;
    if (spec.timeColumn) {
      time = parseTime(rec.values[spec.timeColumn]);
      if (time === undefined) {
        reasons.push(
          `${spec.timeColumn} must be a number or an ISO-8601 date, got "${rec.values[spec.timeColumn] ?? ''}"`,
        );
      }
    }
    if (res.ok && reasons.length === 0)
      valid.push({
        line: rec.line,
        row: res.row,
        label: res.label!,
        ...(time === undefined ? {} : { time }),
        bucket: contentBucket(Object.values(rec.values)),
      });
    else quarantined.push({ line: rec.line, reasons, raw: rec.values });
  }
  quarantined.sort((a, b) => a.line - b.line);
  return { valid, quarantined, total: valid.length + quarantined.length };
}

/** The quarantine file's body: one JSON object per quarantined row. */
export function quarantineJsonl(rows: readonly QuarantinedRow[]): string {
  return `${rows.map((q) => JSON.stringify(q)).join('\n')}\n`;
}

/**
 * Fails the run (TooManyInvalidRows) when the share of invalid rows is over `maxInvalidFraction`,
 * naming the share, the limit, where the quarantined rows are and the first reasons.
 */
export function checkInvalidFraction(
  rows: RowValidation,
  maxInvalidFraction: number,
  quarantineUri: string,
): void {
  checkInvalidCount(rows.quarantined.length, rows.total, rows.quarantined, maxInvalidFraction, quarantineUri);
}

/** {@link checkInvalidFraction} from counts, with the first quarantined rows (at least three, if any). */
export function checkInvalidCount(
  invalid: number,
  total: number,
  first: readonly QuarantinedRow[],
  maxInvalidFraction: number,
  quarantineUri: string,
): void {
  const badFraction = invalid / total;
  if (badFraction > maxInvalidFraction) {
    const sample = first
      .slice(0, 3)
      .map((q) => `line ${q.line}: ${q.reasons.join('; ')}`)
      .join(' | ');
    throw new PlatformError(
      errorNames.tooManyInvalidRows,
      `${invalid} of ${total} rows (${(badFraction * 100).toFixed(1)}%) are invalid, above the limit of ${(
        maxInvalidFraction * 100
      ).toFixed(1)}%; see ${quarantineUri}. First: ${sample}`,
    );
  }
}
