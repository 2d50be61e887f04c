/**
 * Byte ranges of a raw file (core/snapshot/ranges.ts): whatever the range size, the ranges own every
 * data line exactly once and in order, the header none, reading on past a range's end only as far as
 * its last line; chunks of owned lines keep the file's line numbers, and a quoted line break is refused.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ByteRange,
  countLines,
  lineChunks,
  ownedSlice,
  planRanges,
  readFrom,
} from '../../core/snapshot/ranges.ts';

/** What a child reads: its range's bytes from `readFrom`, then `step` bytes more until its last line ends. */
function owned(file: Uint8Array, range: ByteRange, step: number): { bytes: Uint8Array; read: number } {
  const from = readFrom(range);
  let to = Math.min(range.end, file.length);
  for (;;) {
    const buf = file.subarray(from, to);
    const slice = ownedSlice(buf, range);
    if (slice !== 'more') return { bytes: buf.subarray(slice.begin, slice.end), read: to - from };
    expect(to).toBeLessThan(file.length);
    to = Math.min(to + step, file.length);
  }
}

const line = fc.stringMatching(/^[a-z0-9,]{0,40}$/);
const fileArb = fc
  .record({
    header: fc.stringMatching(/^[a-z]{1,12}(,[a-z]{1,12}){0,4}$/),
    lines: fc.array(line, { maxLength: 60 }),
    crlf: fc.boolean(),
    finalNewline: fc.boolean(),
  })
  .map(({ header, lines, crlf, finalNewline }) => {
    const eol = crlf ? '\r\n' : '\n';
    const body = lines.join(eol);
    const text = `${header}${eol}${body}${finalNewline && lines.length > 0 ? eol : ''}`;
    return { text, header: crlf ? `${header}\r` : header, lines, eol };
  });

describe('byte ranges of a raw file', () => {
  it('own every data line once, in order, whatever the range size and read step', () => {
    fc.assert(
      fc.property(
        fileArb,
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 50 }),
        (f, size, step) => {
          const file = Buffer.from(f.text);
          const ranges = planRanges('raw/data.csv', file.length, size);
          expect(ranges.map((r) => r.part)).toEqual(ranges.map((_, i) => i));
          expect(ranges.at(-1)!.end).toBe(file.length);
          const pieces = ranges.map((r) => owned(file, r, step).bytes);
          const joined = Buffer.concat(pieces).toString('utf8');
          const headerEnd = f.text.indexOf('\n') + 1;
          expect(joined).toBe(f.text.slice(headerEnd));
          // Every line starts in the range that owns it.
          let offset = headerEnd;
          pieces.forEach((p, i) => {
            if (p.length === 0) return;
            expect(offset).toBeGreaterThanOrEqual(ranges[i]!.start);
            expect(offset).toBeLessThan(ranges[i]!.end);
            offset += p.length;
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reads past its end only to finish its last line', () => {
    const file = Buffer.from(`h\n${'a'.repeat(30)}\n${'b'.repeat(30)}\n`);
    const [first, second, third] = planRanges('k', file.length, 20);
    // The first range owns the a-line, which starts in it and ends at byte 33.
    expect(Buffer.from(owned(file, first!, 1).bytes).toString()).toBe(`${'a'.repeat(30)}\n`);
    expect(owned(file, first!, 1).read).toBe(33);
    // The second range (bytes 20-40) owns the b-line, which starts at 33.
    expect(Buffer.from(owned(file, second!, 100).bytes).toString()).toBe(`${'b'.repeat(30)}\n`);
    // The third (40-64) starts inside the b-line and owns nothing.
    expect(owned(file, third!, 100).bytes.length).toBe(0);
  });

  it('gives one empty range for an empty object, and refuses a range size below 1', () => {
    expect(planRanges('k', 0, 10)).toEqual([{ part: 0, key: 'k', size: 0, start: 0, end: 0 }]);
    expect(() => planRanges('k', 10, 0)).toThrow(/rangeBytes must be a whole number ≥ 1, got 0/);
  });

  it('cuts owned lines into chunks with the header and the file’s line numbers', () => {
    const owned = Buffer.from('1,a\n2,b\n\n4,d\n5,e');
    expect(countLines(owned)).toBe(5);
    const chunks = [...lineChunks(owned, 'n,c', 7, 2, 's3://lake/raw#part-00003')];
    expect(chunks.map((c) => [c.startLine, c.lines, c.text])).toEqual([
      [7, 2, 'n,c\n1,a\n2,b\n'],
      [9, 2, 'n,c\n\n4,d\n'],
      [11, 1, 'n,c\n5,e'],
    ]);
    expect(chunks[0]!.source).toBe('s3://lake/raw#part-00003');
  });

  it('refuses a line with an odd number of quotes, naming its line', () => {
    const owned = Buffer.from('1,"a"\n2,"b\nc"\n');
    expect(() => [...lineChunks(owned, 'n,c', 10, 100, 'src')]).toThrow(
      /src: line 11 has an odd number of double quotes, so a quoted cell holds a line break/,
    );
  });
});
