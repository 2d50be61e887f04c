import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseModelDefinition } from '../../core/model/definition.ts';
import {
  checkInvalidFraction,
  parseDataCsv,
  parseTime,
  quarantineJsonl,
  type RowValidation,
  validateRows,
} from '../../core/snapshot/validate.ts';
import { credit } from '../support/fixtures.ts';

const demo = readFileSync('data/credit_data.csv', 'utf8').trimEnd().split('\n');
const header = demo[0]!;
const csv = (lines: readonly string[], head = header) => `${[head, ...lines].join('\n')}\n`;

const timed = parseModelDefinition(
  {
    ...JSON.parse(readFileSync('models/credit.json', 'utf8')),
    name: 'timed',
    spec: { ...credit.spec, timeColumn: 'When' },
    training: { ...credit.training, split: 'time' },
  },
  'timed',
);

describe('validateRows', () => {
  it('keeps valid rows typed with their label and quarantines the others, in line order, with every reason', () => {
    // Prepare
    const lines = demo.slice(1, 7);
    lines[1] = lines[1]!.split(',').slice(0, 13).join(','); // ragged: line 3
    lines[0] = lines[0]!.replace(/^"good"/, '""').replace(',30,"married"', ',"thirty","married"'); // line 2

    // Act
    const res = validateRows(credit, parseDataCsv(csv(lines), 'test.csv'));

    // Assess
    expect(res.total).toBe(6);
    expect(res.valid.map((r) => r.line)).toEqual([4, 5, 6, 7]);
    expect(res.valid[0]).toMatchObject({ label: 1, row: { Seniority: 10, Home: 'owner' } });
    expect(res.quarantined).toEqual([
      {
        line: 2,
        reasons: [
          'Age must be a finite number, got "thirty"',
          'Status label must be "bad" or "good", got ""',
        ],
        raw: expect.objectContaining({ Age: 'thirty', Status: '' }),
      },
      { line: 3, reasons: ['expected 14 fields, got 13'], raw: expect.any(Array) },
    ]);
  });

  it('gives every valid row a content bucket in [0, 1) that depends on its cells only', () => {
    const first = validateRows(credit, parseDataCsv(csv(demo.slice(1, 51)), 'a.csv'));
    const moved = validateRows(
      credit,
      parseDataCsv(csv([...demo.slice(26, 51), ...demo.slice(1, 26)]), 'b.csv'),
    );
    for (const r of first.valid) expect(r.bucket).toBeGreaterThanOrEqual(0);
    for (const r of first.valid) expect(r.bucket).toBeLessThan(1);
    const byLine = (v: RowValidation, line: number) => v.valid.find((r) => r.line === line)!.bucket;
    // Line 2 of the first file is line 27 of the second.
    expect(byLine(moved, 27)).toBe(byLine(first, 2));
    expect(new Set(first.valid.map((r) => r.bucket)).size).toBeGreaterThan(45);
  });

  it('reads the time column as a number or an ISO date and quarantines a row without one', () => {
    const lines = demo.slice(1, 4).map((l, i) => `${l},${['2024-03-01', '1700000000000', 'soon'][i]}`);
    const res = validateRows(timed, parseDataCsv(csv(lines, `${header},"When"`), 'timed.csv'));
    expect(res.valid.map((r) => r.time)).toEqual([Date.parse('2024-03-01'), 1_700_000_000_000]);
    expect(res.quarantined).toEqual([
      { line: 4, reasons: ['When must be a number or an ISO-8601 date, got "soon"'], raw: expect.anything() },
    ]);
  });

  it('fails InvalidInput naming the columns the header lacks', () => {
    const text = csv([demo[1]!.replace(/,\d+$/, '')], header.replace(',"Price"', ''));
    expect(() => validateRows(credit, parseDataCsv(text, 'x.csv'))).toThrow(
      expect.objectContaining({
        name: 'InvalidInput',
        message: expect.stringContaining('lacks column(s) Price'),
      }),
    );
    expect(() => validateRows(timed, parseDataCsv(csv(demo.slice(1, 3)), 'x.csv'))).toThrow(
      expect.objectContaining({ message: expect.stringContaining('lacks column(s) When') }),
    );
  });
});

describe('parseDataCsv', () => {
  it('turns a problem of the whole file into InvalidInput naming the source', () => {
    expect(() => parseDataCsv('', 's3://lake/raw/x.csv')).toThrow(
      expect.objectContaining({
        name: 'InvalidInput',
        message: expect.stringContaining('s3://lake/raw/x.csv is empty'),
      }),
    );
    expect(() => parseDataCsv(`${header}\n`, 'x.csv')).toThrow(
      expect.objectContaining({ name: 'InvalidInput', message: 'x.csv has a header but no data rows.' }),
    );
  });
});

describe('parseTime', () => {
  it('reads numbers and ISO dates and nothing else', () => {
    expect(parseTime('12.5')).toBe(12.5);
    expect(parseTime('2024-01-02T03:04:05Z')).toBe(Date.UTC(2024, 0, 2, 3, 4, 5));
    expect(parseTime('')).toBeUndefined();
    expect(parseTime('  ')).toBeUndefined();
    expect(parseTime(undefined)).toBeUndefined();
    expect(parseTime('01/02/2024')).toBeUndefined();
    expect(parseTime('2024-13-45')).toBeUndefined();
  });
});

describe('the invalid-fraction rule', () => {
  const rows = (quarantined: number, total: number): RowValidation => ({
    valid: [],
    quarantined: Array.from({ length: quarantined }, (_, i) => ({
      line: i + 2,
      reasons: [`reason ${i}`],
      raw: {},
    })),
    total,
  });

  it('passes at the limit and fails above it, naming the share, the limit, the file and the first reasons', () => {
    expect(() => checkInvalidFraction(rows(5, 100), 0.05, 's3://lake/q.jsonl')).not.toThrow();
    expect(() => checkInvalidFraction(rows(0, 100), 0, 's3://lake/q.jsonl')).not.toThrow();
    expect(() => checkInvalidFraction(rows(6, 100), 0.05, 's3://lake/q.jsonl')).toThrow(
      expect.objectContaining({
        name: 'TooManyInvalidRows',
        message:
          '6 of 100 rows (6.0%) are invalid, above the limit of 5.0%; see s3://lake/q.jsonl. First: line 2: reason 0 | line 3: reason 1 | line 4: reason 2',
      }),
    );
  });

  it('writes one JSON object per quarantined row', () => {
    const body = quarantineJsonl(rows(2, 10).quarantined);
    expect(body).toBe(
      '{"line":2,"reasons":["reason 0"],"raw":{}}\n{"line":3,"reasons":["reason 1"],"raw":{}}\n',
    );
  });
});
