import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { GoldenPointer } from '../../core/lake.ts';
import { checkGoldenSet, goldenLineage } from '../../core/snapshot/golden-set.ts';
import { credit } from '../support/fixtures.ts';

const demo = readFileSync('data/credit_data.csv', 'utf8').trimEnd().split('\n');
const header = demo[0]!;
const good = demo.filter((l) => l.startsWith('"good"'));
const bad = demo.filter((l) => l.startsWith('"bad"'));

/** A golden set as the lake holds it: the CSV's bytes and a pointer recording their sha256. */
function stored(lines: readonly string[], over: Partial<GoldenPointer> = {}) {
  const bytes = Buffer.from(`${[header, ...lines].join('\n')}\n`);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const pointer: GoldenPointer = {
    goldenId: `g-${sha256.slice(0, 12)}`,
    key: 'golden/credit/g-1/rows.csv',
    manifestKey: 'golden/credit/g-1/manifest.json',
    sha256,
    rows: lines.length,
    setAt: '2026-01-01T00:00:00Z',
    ...over,
  };
  return { bucket: 'lake', pointerKey: 'golden/credit/LATEST.json', pointer, bytes: new Uint8Array(bytes) };
}

describe('checkGoldenSet', () => {
  it('returns the rows, typed, in file order', () => {
    const set = checkGoldenSet(credit, stored([good[0]!, bad[0]!, good[1]!]));
    expect(set.rows.map((r) => [r.line, r.label])).toEqual([
      [2, 0],
      [3, 1],
      [4, 0],
    ]);
    expect(goldenLineage(credit, set)).toEqual({
      source: 'golden-set',
      goldenId: set.pointer.goldenId,
      sha256: set.pointer.sha256,
      rows: 3,
    });
  });

  it('fails InvalidInput when the file is gone or is not the bytes the pointer recorded', () => {
    const gone = { ...stored([good[0]!, bad[0]!]), bytes: undefined };
    expect(() => checkGoldenSet(credit, gone)).toThrow(
      expect.objectContaining({
        name: 'InvalidInput',
        message: expect.stringMatching(
          /^Golden set g-\w+ of "credit" \(s3:\/\/lake\/golden\/credit\/g-1\/rows\.csv\) does not exist; store a corrected file/,
        ),
      }),
    );
    const changed = stored([good[0]!, bad[0]!], { sha256: '0'.repeat(64) });
    expect(() => checkGoldenSet(credit, changed)).toThrow(
      `does not match the sha256 ${'0'.repeat(64)} recorded in golden/credit/LATEST.json: golden sets are write-once`,
    );
  });

  it('fails InvalidInput naming the line and column of a row that no longer validates, trimming nothing', () => {
    const broken = good[1]!.replace(/^"good",\d+/, '"good","ten"');
    expect(() => checkGoldenSet(credit, stored([good[0]!, broken, bad[0]!]))).toThrow(
      expect.objectContaining({
        name: 'InvalidInput',
        message: expect.stringContaining(
          '1 of 3 rows are invalid. line 3, column Seniority: must be a finite number, got "ten"',
        ),
      }),
    );
  });

  it('fails InvalidInput for a set of a single class', () => {
    expect(() => checkGoldenSet(credit, stored([good[0]!, good[1]!]))).toThrow(
      'has 2 row(s) of a single class: a golden set needs rows of both classes',
    );
  });
});

describe('goldenLineage', () => {
  it('without a golden set, records the fraction split off the raw rows', () => {
    expect(goldenLineage(credit, undefined)).toEqual({
      source: 'split',
      fraction: credit.training.goldenFraction,
    });
  });
});
