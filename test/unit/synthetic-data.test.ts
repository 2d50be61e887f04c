/**
 * The scale benchmarks' synthetic data (bench/support/synthetic.ts): 20 columns, the same bytes for
 * the same seed, its model definition valid, every row valid against the spec but the ones made
 * invalid on purpose, and a label with a signal.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SYNTHETIC_COLUMNS, syntheticDefinition, writeSyntheticCsv } from '../../bench/support/synthetic.ts';
import { parseCsv } from '../../core/features/csv.ts';
import { validateRow } from '../../core/features/transform.ts';

const dir = mkdtempSync(join(tmpdir(), 'synthetic-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('synthetic raw data', () => {
  it('is deterministic in its seed, 20 columns, valid but for one row in badEvery, with a learnable label', () => {
    const a = writeSyntheticCsv(join(dir, 'a.csv'), 5000, { seed: 3, badEvery: 1000 });
    const b = writeSyntheticCsv(join(dir, 'b.csv'), 5000, { seed: 3, badEvery: 1000 });
    const c = writeSyntheticCsv(join(dir, 'c.csv'), 5000, { seed: 4, badEvery: 1000 });
    const text = readFileSync(a.path, 'utf8');
    expect(readFileSync(b.path, 'utf8')).toBe(text);
    expect(readFileSync(c.path, 'utf8')).not.toBe(text);
    expect(a.bytes).toBe(Buffer.byteLength(text));
    expect(a.invalidRows).toBe(5);

    const parsed = parseCsv(text, 'a.csv');
    expect(parsed.header).toEqual(SYNTHETIC_COLUMNS);
    expect(SYNTHETIC_COLUMNS).toHaveLength(20);
    expect(parsed.records).toHaveLength(5000);
    expect(parsed.malformed).toHaveLength(0);

    const def = syntheticDefinition();
    const invalid = parsed.records.filter((r) => !validateRow(def.spec, r.values, 'csv', true).ok);
    expect(invalid.map((r) => r.line)).toEqual([1001, 2001, 3001, 4001, 5001]);

    // Some cells are empty (the features with missing values), and the label splits the rows.
    const amounts = parsed.records.map((r) => r.values.n_amount);
    expect(amounts.filter((v) => v === '').length).toBeGreaterThan(300);
    const labels = parsed.records.map((r) => r.values.label);
    const positive = labels.filter((l) => l === '1').length / labels.length;
    expect(positive).toBeGreaterThan(0.2);
    expect(positive).toBeLessThan(0.5);
    // The signal: the positive rate is higher where n_normal is high.
    const rate = (rows: typeof parsed.records) =>
      rows.filter((r) => r.values.label === '1').length / rows.length;
    const high = parsed.records.filter((r) => Number(r.values.n_normal) > 1);
    const low = parsed.records.filter((r) => Number(r.values.n_normal) < -1);
    expect(rate(high) - rate(low)).toBeGreaterThan(0.2);
  });
});
