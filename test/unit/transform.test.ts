import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCsv } from '../../core/features/csv.ts';
import {
  type CleanRow,
  featureSchemaHash,
  fitTransform,
  transformBatch,
  transformRow,
  validateRow,
  vectorToCsv,
} from '../../core/features/transform.ts';
import { parseModelDefinition } from '../../core/model/definition.ts';

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

/** A vector's own bytes (a vector may be a view into a larger buffer). */
const bytesOf = (v: Float64Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);

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
    expect(artifact.features.Records!.vocabulary).toEqual(['no', 'yes']);
    expect(artifact.columns).toContain('Home=__other__');
    expect(artifact.columns.length).toBe(
      9 +
        artifact.features.Home!.vocabulary!.length +
        1 +
        artifact.features.Marital!.vocabulary!.length +
        1 +
        3 +
        artifact.features.Job!.vocabulary!.length +
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
      if (online.ok) expect(bytesOf(transformRow(spec, artifact, online.row))).toEqual(bytesOf(batch[i]!));
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

describe('fitted transforms', () => {
  const spec = parseModelDefinition(
    {
      name: 'toy',
      spec: {
        version: 1,
        label: { column: 'y', positive: '1', negative: '0' },
        features: [
          {
            name: 'income',
            type: 'numeric',
            missing: { impute: 'median' },
            transforms: [{ clip: { lower: 0.1, upper: 0.9 } }, 'log1p'],
          },
          { name: 'age', type: 'numeric', missing: { impute: 'mean' } },
          { name: 'city', type: 'categorical', missing: { impute: 'mode' }, minCount: 2, maxCategories: 2 },
          { name: 'member', type: 'boolean', missing: 'reject' },
        ],
      },
    },
    'toy',
  ).spec;
  const rows: CleanRow[] = [
    { income: 0, age: 20, city: 'a', member: true },
    { income: 10, age: 30, city: 'a', member: false },
    { income: 20, age: null, city: 'b', member: true },
    { income: 30, age: 40, city: 'b', member: true },
    { income: 1000, age: 50, city: 'a', member: false },
    { income: null, age: 60, city: 'c', member: true },
    { income: 40, age: 70, city: 'd', member: false },
    { income: 50, age: 80, city: 'd', member: true },
  ];
  const artifact = fitTransform(spec, rows);

  it('fits imputation values, clip bounds at quantiles and a bounded vocabulary', () => {
    // income observed: 0,10,20,30,40,50,1000 → median 30; with the imputed 30, the 8 values' 10% and 90% quantiles.
    expect(artifact.features.income!.impute).toBe(30);
    const [[lower, upper]] = artifact.features.income!.clips as [[number, number]];
    expect(lower).toBeCloseTo(7, 12);
    expect(upper).toBeCloseTo(335, 12);
    expect(artifact.features.age!.impute).toBeCloseTo(50, 12);
    // a, b and d occur at least twice; c once (goes to other); at most 2 categories: a (3) then b/d (2, 2) → b by name.
    expect(artifact.features.city!.vocabulary).toEqual(['a', 'b']);
    expect(artifact.features.city!.impute).toBe('a');
    expect(artifact.columns).toEqual(['income', 'age', 'city=a', 'city=b', 'city=__other__', 'member']);
  });

  it('applies impute, clip then log1p, and routes rare categories to other', () => {
    const v = transformRow(spec, artifact, { income: null, age: null, city: 'c', member: false });
    expect(Array.from(v)).toEqual([Math.log1p(30), 50, 0, 0, 1, 0]);
    const high = transformRow(spec, artifact, { income: 1e9, age: 1, city: null, member: true });
    expect(Array.from(high)).toEqual([Math.log1p(335), 1, 1, 0, 0, 1]);
  });

  it('rejects a missing value under the reject policy and a log1p value at or below -1', () => {
    const res = validateRow(spec, { income: -1, age: 3, city: 'a' }, 'json');
    expect(res.ok).toBe(false);
    if (!res.ok) {
      expect(res.errors).toContainEqual({
        field: 'income',
        message: 'must be greater than -1 (it is log1p-transformed), got -1',
      });
      expect(res.errors).toContainEqual({ field: 'member', message: 'is required' });
    }
  });

  it('fails to fit a feature with no values to impute from, naming it', () => {
    expect(() =>
      fitTransform(
        spec,
        rows.map((r) => ({ ...r, age: null })),
      ),
    ).toThrow('Feature "age" has no values in the training split');
  });
});

describe('model definition validation', () => {
  const base = JSON.parse(readFileSync('models/credit.json', 'utf8'));
  it.each([
    [
      { spec: { ...base.spec, slices: [{ name: 's', feature: 'Age' }] } },
      'spec.slices.0.bands: numeric feature "Age" needs bands',
    ],
    [
      { spec: { ...base.spec, slices: [{ name: 's', feature: 'Nope' }] } },
      'spec.slices.0.feature: "Nope" is not a feature',
    ],
    [{ training: { ...base.training, split: 'time' } }, 'training.split: split "time" needs spec.timeColumn'],
    [
      { spec: { ...base.spec, idColumn: 'Age' } },
      'spec.idColumn: id column "Age" must be neither a feature, the label nor the time column',
    ],
    [
      { spec: { ...base.spec, idColumn: base.spec.label.column } },
      `id column "${base.spec.label.column}" must be neither`,
    ],
    [
      { spec: { ...base.spec, features: [{ name: 'Age', type: 'numeric', missing: { impute: 'mode' } }] } },
      'numeric features impute with mean, median or constant',
    ],
    [
      {
        spec: {
          ...base.spec,
          features: [{ name: 'Age', type: 'numeric', transforms: [{ clip: { lower: 0.9, upper: 0.1 } }] }],
        },
      },
      'clip.lower must be below clip.upper',
    ],
  ])('fails an invalid definition with a message naming the key (%#)', (patch, message) => {
    expect(() => parseModelDefinition({ ...base, ...patch }, 'models/credit.json')).toThrow(message);
  });
});
