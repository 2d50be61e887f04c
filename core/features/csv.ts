/**
 * Reads a raw CSV data set into records keyed by header, keeping every problem as a per-row
 * reason instead of dropping rows or crashing.
 */
import { parse } from 'csv-parse/sync';

export interface CsvRecord {
  /** 1-based line number in the file, header included. */
  line: number;
  values: Record<string, string>;
}

export interface CsvProblemRow {
  line: number;
  reason: string;
  raw: string[];
}

export interface ParsedCsv {
  header: string[];
  records: CsvRecord[];
  /** Rows that cannot be read as records at all (wrong number of fields). */
  malformed: CsvProblemRow[];
}

export class CsvFormatError extends Error {
  override name = 'CsvFormatError';
}

/** Parses CSV text with a header row. Throws CsvFormatError for problems of the whole file. */
export function parseCsv(text: string, source = 'the CSV'): ParsedCsv {
  const body = text.replace(/^\uFEFF/, '');
  if (body.trim() === '')
    throw new CsvFormatError(`${source} is empty: expected a header row and data rows.`);
  let rows: { record: string[]; info: { lines: number } }[];
  try {
    rows = parse(body, { relax_column_count: true, skip_empty_lines: true, info: true }) as unknown as {
      record: string[];
      info: { lines: number };
    }[];
  } catch (err) {
    throw new CsvFormatError(`${source} is not valid CSV: ${(err as Error).message}`);
  }
  const [first, ...data] = rows;
  if (!first) throw new CsvFormatError(`${source} is empty: expected a header row and data rows.`);
  const header = first.record.map((h) => h.trim());
  const seen = new Set<string>();
  for (const [i, h] of header.entries()) {
    if (h === '') throw new CsvFormatError(`${source}: header column ${i + 1} is empty.`);
    if (seen.has(h)) throw new CsvFormatError(`${source}: header column "${h}" appears more than once.`);
    seen.add(h);
  }
  if (data.length === 0) throw new CsvFormatError(`${source} has a header but no data rows.`);
  const records: CsvRecord[] = [];
  const malformed: CsvProblemRow[] = [];
  for (const { record, info } of data) {
    if (record.length !== header.length) {
      malformed.push({
        line: info.lines,
        reason: `expected ${header.length} fields, got ${record.length}`,
        raw: record,
      });
      continue;
    }
    const values: Record<string, string> = {};
    header.forEach((h, i) => {
      values[h] = record[i]!;
    });
    records.push({ line: info.lines, values });
  }
  return { header, records, malformed };
}
