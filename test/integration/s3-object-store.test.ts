/**
 * The S3 adapter's reads by byte range and writes in parts (lambdas/shared/adapters/aws/s3-object-store.ts)
 * against s3rver: what the two-pass prepare reads a large raw object and writes its joined files with.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { S3ObjectStore } from '../../lambdas/shared/adapters/aws/s3-object-store.ts';
import { type LocalAws, startLocalAws } from '../support/local-aws.ts';

let aws: LocalAws;
let lake: S3ObjectStore;

beforeAll(async () => {
  aws = await startLocalAws();
  lake = await aws.createBucket('ranged');
});
afterAll(async () => aws?.stop());

/** `n` pieces of `size` bytes, piece i filled with the byte i % 251. */
async function* pieces(n: number, size: number) {
  for (let i = 0; i < n; i++) yield new Uint8Array(size).fill(i % 251);
}

describe('S3ObjectStore', () => {
  it('reads an object’s size and any byte range of it, and nothing past its end', async () => {
    await lake.put('raw/a.csv', 'h\n0123456789\n');
    expect(await lake.size('raw/a.csv')).toBe(13);
    expect(Buffer.from(await lake.getRange('raw/a.csv', 2, 7)).toString()).toBe('01234');
    expect(Buffer.from(await lake.getRange('raw/a.csv', 10, 40)).toString()).toBe('89\n');
    expect((await lake.getRange('raw/a.csv', 5, 5)).length).toBe(0);
    expect((await lake.getRange('raw/a.csv', 13, 20)).length).toBe(0);
    await expect(lake.size('raw/none.csv')).rejects.toMatchObject({ name: 'NoSuchKey' });
    await expect(lake.getRange('raw/none.csv', 0, 4)).rejects.toMatchObject({ name: 'NoSuchKey' });
    await expect(lake.getRange('raw/a.csv', 4, 2)).rejects.toThrow(/bad byte range \[4, 2\)/);
  });

  it('writes pieces larger than a part as a multipart object, byte for byte, and small ones in one put', async () => {
    // 20 pieces of 1 MiB: two full parts of 8 MiB and a last one of 4 MiB.
    const written = await lake.putPieces('curated/big.csv', pieces(20, 1024 * 1024), 'text/csv');
    expect(written).toBe(20 * 1024 * 1024);
    const back = await lake.getBytes('curated/big.csv');
    expect(back.length).toBe(written);
    for (let i = 0; i < 20; i++) expect(back[i * 1024 * 1024 + 17]).toBe(i);
    expect(await lake.putPieces('curated/small.csv', pieces(3, 10))).toBe(30);
    expect((await lake.getBytes('curated/small.csv')).length).toBe(30);
    expect(await lake.putPieces('curated/empty.csv', pieces(0, 10))).toBe(0);
    expect((await lake.getBytes('curated/empty.csv')).length).toBe(0);
  });

  it('leaves no object when the pieces fail midway', async () => {
    async function* failing() {
      yield* pieces(10, 1024 * 1024);
      throw new Error('the source broke');
    }
    await expect(lake.putPieces('curated/broken.csv', failing())).rejects.toThrow('the source broke');
    expect(await lake.tryGetText('curated/broken.csv')).toBeUndefined();
  });
});
