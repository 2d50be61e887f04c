import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rowIdentity } from '../../core/features/golden.ts';
import { parseModelDefinition } from '../../core/model/definition.ts';
import {
  type SplitRow,
  type SplitSettings,
  type SplittableRow,
  splitRows,
  splitSnapshot,
  withoutGoldenCopies,
} from '../../core/snapshot/split.ts';
import { parseDataCsv, validateRows } from '../../core/snapshot/validate.ts';
import type { SplitName } from '../../core/training-run.ts';
import { credit } from '../support/fixtures.ts';

const demo = readFileSync('data/credit_data.csv', 'utf8').trimEnd().split('\n');
const header = demo[0]!;
const dataLines = demo.slice(1);

/** The valid rows of a CSV made of these data lines, as the prepare step reads them. */
const validRows = (lines: readonly string[]) =>
  validateRows(credit, parseDataCsv(`${[header, ...lines].join('\n')}\n`, 'test.csv')).valid;

const hash: SplitSettings = { split: 'hash', validationFraction: 0.2, goldenFraction: 0.1 };
const random: SplitSettings = { ...hash, split: 'random' };

/** Each row's split, keyed by the row's content (the raw cells of its line). */
function splitByContent(
  lines: readonly string[],
  rows: readonly SplittableRow[],
  settings = hash,
  seed = 42,
) {
  const out = new Map<string, SplitName>();
  const split = splitRows(settings, rows, seed);
  for (const name of ['train', 'validation', 'golden'] as const) {
    for (const r of split[name]) out.set(lines[r.line - 2]!, name);
  }
  return out;
}

describe('hash split', () => {
  const all = validRows(dataLines);
  const reference = splitByContent(dataLines, all);

  it('puts a row in the same split whatever chunk it comes in, in whatever order, with whatever seed: its split depends on its content only', () => {
    fc.assert(
      fc.property(
        fc.shuffledSubarray(dataLines, { minLength: 1, maxLength: 400 }),
        fc.integer({ min: 1, max: 5 }),
        fc.nat(),
        (lines, chunks, seed) => {
          const size = Math.ceil(lines.length / chunks);
          for (let from = 0; from < lines.length; from += size) {
            const chunk = lines.slice(from, from + size);
            const got = splitByContent(chunk, validRows(chunk), hash, seed);
            for (const [content, split] of got) expect(split).toBe(reference.get(content));
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('holds out about the configured fractions of the rows', () => {
    const count = (name: SplitName) => [...reference.values()].filter((s) => s === name).length;
    expect(count('golden') / all.length).toBeCloseTo(0.1, 1);
    expect(count('validation') / all.length).toBeCloseTo(0.2, 1);
  });

  it('with a golden set, trains on the rows the golden band held out and keeps the validation band as it was', () => {
    const without = splitRows(hash, all, 42);
    const withSet = splitRows(hash, all, 42, true);
    expect(withSet.golden).toEqual([]);
    expect(withSet.validation).toEqual(without.validation);
    expect(new Set(withSet.train)).toEqual(new Set([...without.train, ...without.golden]));
  });
});

describe('random split', () => {
  const rows = validRows(dataLines.slice(0, 500));
  const lines = (s: Record<SplitName, readonly SplitRow[]>) => ({
    train: s.train.map((r) => r.line),
    validation: s.validation.map((r) => r.line),
    golden: s.golden.map((r) => r.line),
  });

  it('gives exact fractions, every row once, in file order within a split, and the same splits for the same seed', () => {
    const a = splitRows(random, rows, 7);
    expect([a.train.length, a.validation.length, a.golden.length]).toEqual([350, 100, 50]);
    const seen = [...a.train, ...a.validation, ...a.golden].map((r) => r.line);
    expect(new Set(seen).size).toBe(500);
    for (const split of Object.values(lines(a))) expect(split).toEqual([...split].sort((x, y) => x - y));
    expect(lines(splitRows(random, rows, 7))).toEqual(lines(a));
    expect(lines(splitRows(random, rows, 8))).not.toEqual(lines(a));
  });

  it('keeps at least one validation row and holds no golden row out with a golden set', () => {
    const few = splitRows(random, rows.slice(0, 3), 1, true);
    expect(few.validation).toHaveLength(1);
    expect(few.golden).toHaveLength(0);
    expect(few.train).toHaveLength(2);
  });
});

describe('time split', () => {
  it('trains on the oldest rows, validates on the next and holds the newest out, ties by line', () => {
    const rows: SplittableRow[] = Array.from({ length: 10 }, (_, i) => ({
      line: i + 2,
      row: {},
      label: (i % 2) as 0 | 1,
      time: i === 9 ? 0 : 100 - Math.floor(i / 2),
      bucket: 0,
    }));
    const out = splitRows({ split: 'time', validationFraction: 0.2, goldenFraction: 0.1 }, rows, 42);
    // Times by line 2..11: 100 100 99 99 98 98 97 97 96 0; oldest first: 11 10 8 9 6 7 4 | 5 2 | 3.
    expect(out.train.map((r) => r.line)).toEqual([4, 6, 7, 8, 9, 10, 11]);
    expect(out.validation.map((r) => r.line)).toEqual([2, 5]);
    expect(out.golden.map((r) => r.line)).toEqual([3]);
  });
});

describe('golden rows', () => {
  const rows = validRows(dataLines.slice(0, 600));
  const golden = rows.slice(0, 20).map(({ line, row, label }) => ({ line, row, label }));

  it('drops the raw rows identical to a golden row by typed value and keeps the others', () => {
    const spelledOtherwise = validRows([dataLines[0]!.replace(',60,30,', ',60.0,30,')])[0]!;
    expect(spelledOtherwise.row).toEqual(rows[0]!.row);
    const kept = withoutGoldenCopies(credit.spec, [...rows, spelledOtherwise], golden);
    const goldenIds = new Set(golden.map((g) => rowIdentity(credit.spec, g.row, g.label)));
    expect(kept.some((r) => goldenIds.has(rowIdentity(credit.spec, r.row, r.label)))).toBe(false);
    expect(kept.length).toBe(
      rows.length - rows.filter((r) => goldenIds.has(rowIdentity(credit.spec, r.row, r.label))).length,
    );
    expect(kept).not.toContain(spelledOtherwise);
  });

  it('uses the golden set as the golden split, counts the copies left out, and splits the rest', () => {
    const out = splitSnapshot(credit, rows, 42, golden);
    expect(out.splits.golden).toEqual(golden);
    expect(out.goldenDuplicates).toBeGreaterThanOrEqual(20);
    expect(out.splits.train.length + out.splits.validation.length).toBe(rows.length - out.goldenDuplicates);
    const goldenLines = new Set(golden.map((g) => g.line));
    expect([...out.splits.train, ...out.splits.validation].some((r) => goldenLines.has(r.line))).toBe(false);
  });

  it('without a golden set, is the plain split of the valid rows', () => {
    const out = splitSnapshot(credit, rows, 42);
    expect(out.goldenDuplicates).toBe(0);
    expect(out.splits).toEqual(splitRows(credit.training, rows, 42));
  });
});

describe('splitSnapshot refusals', () => {
  it('fails InvalidInput when no row falls in validation', () => {
    const rows = validRows(dataLines.slice(0, 3));
    expect(() => splitSnapshot(credit, rows, 42)).toThrow(
      expect.objectContaining({
        name: 'InvalidInput',
        message:
          'No row of the 3 valid rows fell in the validation split; add data or use training.split "random".',
      }),
    );
  });

  it('fails InvalidInput when training has a single class, counting the golden copies left out', () => {
    const def = parseModelDefinition(
      {
        ...JSON.parse(readFileSync('models/credit.json', 'utf8')),
        training: { ...credit.training, split: 'random' },
      },
      'random',
    );
    const good = dataLines.filter((l) => l.startsWith('"good"')).slice(0, 40);
    const bad = dataLines.find((l) => l.startsWith('"bad"'))!;
    const rows = validRows([...good, bad]);
    const golden = rows.filter((r) => r.label === 1).map(({ line, row, label }) => ({ line, row, label }));
    expect(() => splitSnapshot(def, rows, 42, golden)).toThrow(
      expect.objectContaining({
        name: 'InvalidInput',
        message: expect.stringMatching(
          /^The training split has \d+ rows of a single class: too few to train a classifier on \(41 valid rows in all, 1 of them left out as copies of golden rows\)\.$/,
        ),
      }),
    );
  });
});
