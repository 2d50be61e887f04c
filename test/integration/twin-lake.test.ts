/**
 * The twin's lake under overwrites: every pipeline step reads what the step before it wrote (the
 * training pipeline reads `raw/<model>/LATEST.json` right after an ingest rewrote it), so a read
 * must return one whole version of an object, never an empty or half-written file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestTwin, type TestTwin } from '../support/twin.ts';

/** A version's body: its id on the first line, then a filler whose length depends on the id. */
function versionBody(id: string): string {
  const length = 2_000 + (Number(id.replace(/\D/g, '')) % 47) * 1_009;
  return `${id}\n${id.repeat(Math.ceil(length / id.length)).slice(0, length)}\n`;
}

/** Why `text` is not exactly one written version, or undefined when it is. */
function notOneVersion(text: string, written: Set<string>): string | undefined {
  const id = text.slice(0, text.indexOf('\n'));
  if (written.has(id) && text === versionBody(id)) return undefined;
  return `${text.length} bytes starting ${JSON.stringify(text.slice(0, 24))}`;
}

describe("the twin's lake", () => {
  let t: TestTwin;
  /** The object's text, or why it could not be read (a body cut short aborts the response). */
  const read = (key: string) => t.lake.getText(key).catch((err: Error) => `read failed: ${err.message}`);
  beforeAll(async () => {
    t = await startTestTwin();
  });
  afterAll(async () => t.twin.stop());

  it('returns one whole version to every read, however many writers overwrite the key, and each writer reads its own write', async () => {
    const shared = 'raw/lake-test/LATEST.json';
    const writers = 8;
    const cycles = 30;
    const written = new Set<string>();
    const torn: string[] = [];
    const lost: string[] = [];
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        const own = `raw/lake-test-${w}/LATEST.json`;
        for (let i = 0; i < cycles; i++) {
          const id = `w${w}c${i}`;
          written.add(id);
          await Promise.all([t.lake.put(shared, versionBody(id)), t.lake.put(own, versionBody(id))]);
          const [sharedText, ownText] = await Promise.all([read(shared), read(own)]);
          const problem = notOneVersion(sharedText, written);
          if (problem) torn.push(`${shared} after ${id}: ${problem}`);
          if (ownText !== versionBody(id))
            lost.push(`${own} after ${id}: ${notOneVersion(ownText, written) ?? 'an older version'}`);
        }
      }),
    );
    expect(torn, `${torn.length} of ${writers * cycles} reads of one key were not one whole version`).toEqual(
      [],
    );
    expect(lost, `${lost.length} reads right after their own write did not return it`).toEqual([]);
    expect(await t.lake.list('raw/lake-test/')).toEqual([shared]);
  });
});
