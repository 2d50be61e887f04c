/**
 * Golden sets: curated rows every candidate and incumbent is scored on, unchanged from one retrain
 * to the next. The CLI checks a file with these functions before storing it, and the prepare step
 * checks the stored rows again against the definition of the snapshot it builds: the same rules
 * (`validateRow` with the label), and nothing is dropped, since a curated set that no longer fits
 * is a problem to fix, not noise to quarantine.
 */
import { createHash } from 'node:crypto';
import type { ParsedCsv } from './csv.ts';
import type { FeatureSpec } from './spec.ts';
import { type CleanRow, validateRow } from './transform.ts';

export interface GoldenRow {
  /** 1-based line in the CSV, header included. */
  line: number;
  row: CleanRow;
  label: 0 | 1;
}

export interface GoldenProblem {
  line: number;
  /** The column at fault; absent when the row cannot be read at all. */
  column?: string;
  reason: string;
}

export interface GoldenCheck {
  /** Columns the spec needs that the header lacks. */
  absent: string[];
  rows: GoldenRow[];
  /** Every problem of every row, in file order. */
  problems: GoldenProblem[];
  /** How many rows have at least one problem. */
  badRows: number;
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The id of a golden set: derived from its bytes, so storing the same file twice gives the same id. */
export function goldenIdFor(sha256: string): string {
  return `g-${sha256.slice(0, 12)}`;
}

/** Validates every row of a golden CSV against a spec, label included. */
export function checkGoldenRows(spec: FeatureSpec, parsed: ParsedCsv): GoldenCheck {
  const required = [spec.label.column, ...spec.features.map((f) => f.name)];
  const absent = required.filter((c) => !parsed.header.includes(c));
  if (absent.length > 0) return { absent, rows: [], problems: [], badRows: 0 };
  const problems: GoldenProblem[] = parsed.malformed.map((m) => ({ line: m.line, reason: m.reason }));
  const rows: GoldenRow[] = [];
  for (const rec of parsed.records) {
    const res = validateRow(spec, rec.values, 'csv', true);
    if (res.ok) rows.push({ line: rec.line, row: res.row, label: res.label! });
    else for (const e of res.errors) problems.push({ line: rec.line, column: e.field, reason: e.message });
  }
  problems.sort((a, b) => a.line - b.line);
  return { absent, rows, problems, badRows: new Set(problems.map((p) => p.line)).size };
}

/** `line 7, column Income: must be a finite number, got "abc"`, the first `limit` of them. */
export function formatProblems(problems: readonly GoldenProblem[], limit = 5): string[] {
  return problems
    .slice(0, limit)
    .map((p) => `line ${p.line}${p.column ? `, column ${p.column}` : ''}: ${p.reason}`);
}

/**
 * What makes two rows the same for the leakage guard: the typed value of every spec feature and the
 * label. Typed values, so `1` and `1.0`, or `yes` and `true` for a boolean, are the same value.
 */
export function rowIdentity(spec: FeatureSpec, row: CleanRow, label: 0 | 1): string {
  return JSON.stringify([label, ...spec.features.map((f) => row[f.name] ?? null)]);
}
