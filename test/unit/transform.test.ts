import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CleanRow,
  featureSchemaHash,
  fitTransform,
  parseCsv,
  parseModelDefinition,
  transformBatch,
  transformRow,
  validateRow,
  vectorToCsv,
} from '../../lambdas/shared/features/index.ts';

const credit = parseModelDefinition(
  JSON.parse(readFileSync('models/credit.json', 'utf8')),
  'models/credit.json',
);
const spec = credit.spec;

function demoRows(): CleanRow[] {
  const { records } = parseCsv(readFileSync('data/credit_data.csv', 'utf8'));
  return records.map((r) => {
    const res = validateRow(spec, r.values, 'csv', true);
    if (!res.ok) throw new Error(`line ${r.line}: ${JSON.stringify(res.errors)}`);
    return res.row;
  });
}

describe('validateRow', () => {
  it('types CSV cells and treats empty cells as missing', () => {
    const res = validateRow(spec, { Status: 'bad', Seniority: '3', Home: '', Income: '' }, 'csv', true);
    expect(res.ok).toBe(true);
    if (res.ok) {
      expect(res.row.Seniority).toBe(3);
      expect(res.row.Home).toBeNull();
      expect(res.label).toBe(1);
    }
  });

  it('names the field and the bad value for a wrongly typed JSON field', () => {
    const res = validateRow(spec, { Seniority: 'ten' }, 'json');
    expect(res.ok).toBe(false);
    if (!res.ok)
      expect(res.errors).toContainEqual({
        field: 'Seniority',
        message: 'must be a finite number, got "ten"',
      });
  });

  it('rejects unknown JSON fields so that a typo is not silently a missing value', () => {
    const res = validateRow(spec, { Incom: 100 }, 'json');
    expect(res.ok).toBe(false);
    if (!res.ok) expect(res.errors.map((e) => e.field)).toContain('Incom');
  });

  it('rejects a label that is neither class', () => {
    const res = validateRow(spec, { Status: 'unknown' }, 'csv', true);
    expect(res.ok).toBe(false);
    if (!res.ok) expect(res.errors[0]!.field).toBe('Status');
  });
});

describe('fitTransform / transformRow', () => {
  const rows = demoRows();
  const artifact = fitTransform(spec, rows);

  it('learns sorted vocabularies with an extra column for unseen categories', () => {
    expect(artifact.vocabularies.Records).toEqual(['no', 'yes']);
    expect(artifact.columns).toContain('Home=__other__');
    expect(artifact.columns.length).toBe(
      9 +
        artifact.vocabularies.Home!.length +
        1 +
        artifact.vocabularies.Marital!.length +
        1 +
        3 +
        artifact.vocabularies.Job!.length +
        1,
    );
  });

  it('maps an unseen category to the other column and a missing one to NaN', () => {
    const base = { ...rows[0]! };
    const unseen = transformRow(spec, artifact, { ...base, Home: 'castle' });
    expect(unseen[artifact.columns.indexOf('Home=__other__')]).toBe(1);
    const missing = transformRow(spec, artifact, { ...base, Home: null });
    expect(Number.isNaN(missing[artifact.columns.indexOf('Home=rent')]!)).toBe(true);
  });

  it('gives identical vectors on the batch path (prepare) and the online path (predict) for the demo data', () => {
    const batch = transformBatch(spec, artifact, rows);
    const { records } = parseCsv(readFileSync('data/credit_data.csv', 'utf8'));
    records.forEach((r, i) => {
      // The online path receives JSON: numbers as numbers, missing fields absent.
      const json: Record<string, unknown> = {};
      for (const f of spec.features) {
        const v = r.values[f.name]!;
        if (v !== '') json[f.name] = f.type === 'numeric' ? Number(v) : v;
      }
      const online = validateRow(spec, json, 'json');
      expect(online.ok).toBe(true);
      if (online.ok)
        expect(Buffer.from(transformRow(spec, artifact, online.row).buffer)).toEqual(
          Buffer.from(batch[i]!.buffer),
        );
    });
  });

  it('gives identical vectors on both paths for generated rows', () => {
    const cell = fc.option(
      fc.oneof(fc.integer({ min: -1e6, max: 1e6 }), fc.double({ min: -1e9, max: 1e9, noNaN: true })),
      { nil: null },
    );
    const category = fc.option(fc.constantFrom('rent', 'owner', 'parents', 'castle', ''), { nil: null });
    fc.assert(
      fc.property(cell, cell, category, (seniority, income, home) => {
        const csv: Record<string, string> = {
          Seniority: seniority === null ? '' : String(seniority),
          Income: income === null ? '' : String(income),
          Home: home ?? '',
        };
        const json: Record<string, unknown> = {};
        if (seniority !== null) json.Seniority = seniority;
        if (income !== null) json.Income = income;
        if (home !== null && home !== '') json.Home = home;
        const a = validateRow(spec, csv, 'csv');
        const b = validateRow(spec, json, 'json');
        expect(a.ok && b.ok).toBe(true);
        if (a.ok && b.ok)
          expect(Array.from(transformRow(spec, artifact, a.row))).toEqual(
            Array.from(transformRow(spec, artifact, b.row)),
          );
      }),
      { numRuns: 500 },
    );
  });

  it('hashes the feature schema stably, and differently when the vocabulary changes', () => {
    const again = fitTransform(spec, rows);
    expect(featureSchemaHash(spec, again)).toBe(featureSchemaHash(spec, artifact));
    const fewer = fitTransform(
      spec,
      rows.filter((r) => r.Home !== 'other'),
    );
    expect(featureSchemaHash(spec, fewer)).not.toBe(featureSchemaHash(spec, artifact));
  });

  it('writes missing values as empty CSV cells after the label', () => {
    expect(vectorToCsv(1, [0.5, Number.NaN, 3])).toBe('1,0.5,,3');
  });
});

describe('parseCsv', () => {
  it('fails an empty file with a clear message', () => {
    expect(() => parseCsv('', 'x.csv')).toThrow('x.csv is empty');
  });
  it('fails a duplicated header column', () => {
    expect(() => parseCsv('a,b,a\n1,2,3\n', 'x.csv')).toThrow('header column "a" appears more than once');
  });
  it('keeps ragged rows as malformed, with their line, instead of dropping them', () => {
    const parsed = parseCsv('a,b\n1,2\n3\n4,5\n', 'x.csv');
    expect(parsed.records).toHaveLength(2);
    expect(parsed.malformed).toEqual([{ line: 3, reason: 'expected 2 fields, got 1', raw: ['3'] }]);
  });
});
