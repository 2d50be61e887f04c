import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { inferDefinition, modelNameFrom } from '../../cli/spec-infer.ts';

describe('spec infer', () => {
  it('infers the credit data: types, the rarer class as positive, slices for small categoricals', () => {
    const { definition, notes } = inferDefinition(readFileSync('data/credit_data.csv', 'utf8'), {
      label: 'Status',
      source: 'data/credit_data.csv',
    });
    expect(definition.name).toBe('credit-data');
    expect(definition.spec.label).toEqual({ column: 'Status', positive: 'bad', negative: 'good' });
    const types = Object.fromEntries(definition.spec.features.map((f) => [f.name, f.type]));
    expect(types).toEqual({
      Seniority: 'numeric',
      Home: 'categorical',
      Time: 'numeric',
      Age: 'numeric',
      Marital: 'categorical',
      Records: 'categorical',
      Job: 'categorical',
      Expenses: 'numeric',
      Income: 'numeric',
      Assets: 'numeric',
      Debt: 'numeric',
      Amount: 'numeric',
      Price: 'numeric',
    });
    expect(definition.spec.slices.map((s) => s.feature)).toEqual(['Home', 'Marital', 'Records', 'Job']);
    expect(notes).toContain(
      'Income: numeric, log1p (skewness 2.6), 381 missing (passed to XGBoost as missing)',
    );
  });

  it('finds a time column, skips identifiers and empty columns, types booleans and suggests log1p for skewed counts', () => {
    const rows = Array.from({ length: 200 }, (_, i) => {
      const spend = i % 20 === 0 ? 100000 : i % 7;
      return `id-${i},2024-01-${String((i % 28) + 1).padStart(2, '0')},${spend},${i % 2 === 0 ? 'true' : 'false'},,${i % 3 === 0 ? 'churn' : 'stay'}`;
    });
    const { definition, notes } = inferDefinition(
      `customer,signup,spend,member,empty,outcome\n${rows.join('\n')}\n`,
      {
        label: 'outcome',
        positive: 'churn',
        name: 'churn',
        source: 'churn.csv',
      },
    );
    expect(definition.spec.timeColumn).toBe('signup');
    expect(definition.spec.features.map((f) => `${f.name}:${f.type}`)).toEqual([
      'spend:numeric',
      'member:boolean',
    ]);
    expect(definition.spec.features[0]).toMatchObject({ transforms: ['log1p'] });
    expect(notes.join('\n')).toMatch(/customer: skipped, looks like an identifier/);
    expect(notes).toContain('empty: skipped, always empty');
  });

  it.each([
    ['a label with three classes', 'a,y\n1,x\n2,y\n3,z\n', { label: 'y' }, 'has 3 distinct value(s)'],
    ['an unknown label column', 'a,b\n1,2\n', { label: 'y' }, 'has no column "y" for --label'],
    [
      'a --positive that is not a class',
      'a,y\n1,p\n2,n\n',
      { label: 'y', positive: 'q' },
      '--positive "q" is not a value of "y"',
    ],
    ['ragged rows', 'a,y\n1,p\n2\n', { label: 'y' }, 'ragged row(s); line 3'],
  ])('fails %s with a clear message', (_case, csv, opts, message) => {
    expect(() => inferDefinition(csv, { ...opts, source: 'x.csv' })).toThrow(message);
  });

  it('derives a valid model name from a file name', () => {
    expect(modelNameFrom('data/2024 Loans_Final.CSV')).toBe('loans-final');
  });
});
