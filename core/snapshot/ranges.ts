/**
 * A raw CSV object cut into byte ranges, one per child of the two-pass prepare's Distributed Maps. A
 * range `[start, end)` owns every line whose first byte lies in it (the header, line 1, belongs to no
 * range), so the ranges of an object own each line exactly once whatever their size, and a child
 * reads its range plus the rest of its last line. A range smaller than a line may own none.
 *
 * Lines are cut at line feeds, which is where CSV records end unless a quoted cell holds a line
 * break; such a file cannot be cut by bytes, and a line with an odd number of quotes fails the child
 * naming the line ({@link lineChunks}), so nothing is read wrongly.
 */

import { errorNames, PlatformError } from '../errors.ts';
import type { RawChunk } from './chunk.ts';

/** A byte range of a raw object: the Map item of one child. */
export interface ByteRange {
  /** The range's number (its place in the object), naming its parts: `part-00000` is the first. */
  part: number;
  key: string;
  /** The object's size in bytes. */
  size: number;
  start: number;
  end: number;
}

const LF = 0x0a;
const QUOTE = 0x22;

/** The ranges of an object of `size` bytes, `rangeBytes` each (the last one shorter). */
export function planRanges(key: string, size: number, rangeBytes: number): ByteRange[] {
  if (!Number.isInteger(rangeBytes) || rangeBytes < 1) {
    throw new PlatformError(
      errorNames.invalidInput,
      `rangeBytes must be a whole number ≥ 1, got ${rangeBytes}`,
    );
  }
  const ranges: ByteRange[] = [];
  for (let start = 0, part = 0; start < size || part === 0; start += rangeBytes, part++) {
    ranges.push({ part, key, size, start, end: Math.min(start + rangeBytes, size) });
  }
  return ranges;
}

/** Where a range's read begins: the byte before it (to tell whether a line starts at `start`), or 0. */
export function readFrom(range: Pick<ByteRange, 'start'>): number {
  return range.start === 0 ? 0 : range.start - 1;
}

/**
 * The lines range `range` owns within `buf`, the object's bytes from {@link readFrom} on: a
 * `[begin, end)` slice of `buf`, or `'more'` when `buf` ends before the range's last line does (read
 * on and ask again). For the first range the header line is left out.
 */
export function ownedSlice(buf: Uint8Array, range: ByteRange): { begin: number; end: number } | 'more' {
  const from = readFrom(range);
  const eof = from + buf.length >= range.size;
  const afterNewline = (i: number): number | 'more' => {
    const j = buf.indexOf(LF, i);
    if (j >= 0) return j + 1;
    return eof ? buf.length : 'more';
  };
  // The first line starting in the range follows the first line feed in `buf`: for the first range
  // the header's (which is skipped), for any other the first at or after the byte before the range.
  const first = afterNewline(0);
  if (first === 'more') return 'more';
  if (from + first >= range.end) return { begin: first, end: first };
  // The last owned line is the one holding the range's last byte: it ends at the first line feed
  // from there on, or at the end of the object.
  const last = afterNewline(range.end - 1 - from);
  if (last === 'more') return 'more';
  return { begin: first, end: last };
}

/** Lines (whole, each ended by a line feed but perhaps the last) counted. */
export function countLines(bytes: Uint8Array): number {
  let n = 0;
  let i = bytes.indexOf(LF);
  while (i >= 0) {
    n++;
    i = bytes.indexOf(LF, i + 1);
  }
  return bytes.length > 0 && bytes[bytes.length - 1] !== LF ? n + 1 : n;
}

/**
 * Owned lines as raw chunks of at most `maxLines` lines each, the header line (with its carriage
 * return, if the file's lines end CRLF) put before each, the first chunk's first line being `startLine`. A line with an odd number of double quotes holds part of a
 * quoted cell with a line break, which byte ranges cannot cut: that is InvalidInput naming the line.
 */
export function* lineChunks(
  owned: Uint8Array,
  header: string,
  startLine: number,
  maxLines: number,
  source: string,
): Generator<RawChunk & { lines: number }> {
  let pos = 0;
  let line = startLine;
  while (pos < owned.length) {
    const chunkStart = pos;
    const chunkLine = line;
    let lines = 0;
    while (pos < owned.length && lines < maxLines) {
      let quotes = 0;
      let i = pos;
      for (; i < owned.length && owned[i] !== LF; i++) if (owned[i] === QUOTE) quotes++;
      if (quotes % 2 === 1) {
        throw new PlatformError(
          errorNames.invalidInput,
          `${source}: line ${line} has an odd number of double quotes, so a quoted cell holds a line break; ` +
            'the two-pass prepare cuts the file at line breaks and cannot read it. Remove line breaks from ' +
            'quoted cells, or prepare the data with one function (raise prepareDistributedAboveRows).',
        );
      }
      pos = Math.min(i + 1, owned.length);
      lines++;
      line++;
    }
    const body = Buffer.from(owned.buffer, owned.byteOffset + chunkStart, pos - chunkStart).toString('utf8');
    yield {
      text: `${header}\n${body}`,
      startLine: chunkLine,
      source,
      lines,
    };
  }
}
