/**
 * Reading a CSV object of the lake in byte ranges (core/snapshot/ranges.ts) with ranged GETs: its
 * header line, and the lines one range owns. The two-pass prepare's children and batch scoring's
 * children read their ranges this way.
 */
import { errorNames, PlatformError } from '../../core/errors.ts';
import type { RangedObjectStore } from '../../core/ports.ts';
import { type ByteRange, ownedSlice, readFrom } from '../../core/snapshot/ranges.ts';

/** How far past its end a range is read at most, for its last line; also the longest header. */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;

/** The object's first line, without its line feed. */
export async function readHeader(lake: RangedObjectStore, key: string, size: number): Promise<string> {
  for (let n = 64 * 1024; ; n *= 4) {
    const bytes = await lake.getRange(key, 0, Math.min(n, size));
    const lf = bytes.indexOf(0x0a);
    if (lf >= 0 || n >= size) {
      // A carriage return stays: the chunks' rows end as the header does.
      return Buffer.from(bytes.subarray(0, lf >= 0 ? lf : bytes.length)).toString('utf8');
    }
    if (n >= MAX_LINE_BYTES) {
      throw new PlatformError(
        errorNames.invalidInput,
        `s3://${lake.bucket}/${key}: the header line is longer than ${MAX_LINE_BYTES} bytes`,
      );
    }
  }
}

/**
 * The lines a range owns (core/snapshot/ranges.ts), read with the rest of its last line, and the
 * object's byte offset of the first of them. An object's first range skips the object's header line,
 * which must be `header`, the one the work was planned with: another is InvalidInput, naming the
 * object.
 */
export async function readOwned(
  lake: RangedObjectStore,
  range: ByteRange,
  header: string,
): Promise<{ owned: Uint8Array; offset: number }> {
  const from = readFrom(range);
  let buf = await lake.getRange(range.key, from, Math.min(range.end + 64 * 1024, range.size));
  for (;;) {
    const slice = ownedSlice(buf, range);
    if (slice !== 'more') {
      const owned = buf.subarray(slice.begin, slice.end);
      if (range.start === 0) {
        const headerEnd = slice.begin > 0 && buf[slice.begin - 1] === 0x0a ? slice.begin - 1 : slice.begin;
        if (Buffer.from(buf.subarray(0, headerEnd)).toString('utf8') !== header) {
          throw new PlatformError(
            errorNames.invalidInput,
            `s3://${lake.bucket}/${range.key}: its header differs from the one the work was planned with; every object of the data must have the same header (${JSON.stringify(header.slice(0, 200))}).`,
          );
        }
      }
      return { owned, offset: from + slice.begin };
    }
    const have = from + buf.length;
    if (have - range.end > MAX_LINE_BYTES) {
      throw new PlatformError(
        errorNames.invalidInput,
        `s3://${lake.bucket}/${range.key}: the line at byte ${range.end} runs on for more than ${MAX_LINE_BYTES} bytes`,
      );
    }
    const more = await lake.getRange(range.key, have, Math.min(have + buf.length, range.size));
    buf = Buffer.concat([buf, more]);
  }
}
