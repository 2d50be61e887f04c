import { describe, expect, it } from 'vitest';
import { createModelCache, type LoadedVersion } from '../../lambdas/predict/model-cache.ts';

function loaded(version: number): LoadedVersion {
  return { version: { version }, serving: { version }, hashOk: true } as unknown as LoadedVersion;
}

/** A loader that counts its calls and resolves when told to. */
function loader(version: number) {
  const calls: number[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  return {
    calls,
    release,
    load: async () => {
      calls.push(version);
      await gate;
      return loaded(version);
    },
  };
}

describe('createModelCache', () => {
  it('loads a version once for concurrent requests, which share the one load', async () => {
    // Prepare
    const cache = createModelCache();
    const v1 = loader(1);
    // Act
    const first = cache.get('credit', 1, v1.load);
    const second = cache.get('credit', 1, v1.load);
    v1.release();
    // Assess
    expect(await first).toBe(await second);
    expect(v1.calls).toEqual([1]);
    expect(await cache.get('credit', 1, v1.load)).toBe(await first);
    expect(v1.calls).toEqual([1]);
  });

  it('keeps versions of different models and numbers apart', async () => {
    const cache = createModelCache();
    const a = await cache.get('credit', 1, async () => loaded(1));
    const b = await cache.get('credit', 2, async () => loaded(2));
    const c = await cache.get('churn', 1, async () => loaded(1));
    expect(new Set([a, b, c]).size).toBe(3);
  });

  it('forgets a failed load, so the next request loads again', async () => {
    const cache = createModelCache();
    let attempts = 0;
    const flaky = async () => {
      attempts++;
      if (attempts === 1) throw new Error('S3 is down');
      return loaded(7);
    };
    await expect(cache.get('credit', 7, flaky)).rejects.toThrow('S3 is down');
    await expect(cache.get('credit', 7, flaky)).resolves.toMatchObject({ version: { version: 7 } });
    expect(attempts).toBe(2);
  });

  it('holds at most maxEntries versions, dropping the least recently used', async () => {
    const cache = createModelCache(2);
    const counts = new Map<number, number>();
    const load = (v: number) => async () => {
      counts.set(v, (counts.get(v) ?? 0) + 1);
      return loaded(v);
    };
    await cache.get('credit', 1, load(1));
    await cache.get('credit', 2, load(2));
    await cache.get('credit', 1, load(1)); // 1 is now the most recently used
    await cache.get('credit', 3, load(3)); // so 2 leaves
    await cache.get('credit', 1, load(1));
    await cache.get('credit', 2, load(2));
    expect(Object.fromEntries(counts)).toEqual({ 1: 1, 2: 2, 3: 1 });
  });

  it('GIVEN a version loading, loaded, failed or never asked for WHEN looked up without waiting THEN only a finished load is there', async () => {
    // Prepare
    const cache = createModelCache();
    const v1 = loader(1);
    const first = cache.get('credit', 1, v1.load);
    // Act, Assess: still loading, then loaded.
    expect(cache.loaded('credit', 1)).toBeUndefined();
    v1.release();
    const value = await first;
    expect(cache.loaded('credit', 1)).toBe(value);
    expect(cache.loaded('credit', 2)).toBeUndefined();
    expect(cache.loaded('churn', 1)).toBeUndefined();
    // A failed load leaves nothing behind, and the next one is found.
    await expect(
      cache.get('credit', 3, async () => {
        throw new Error('S3 is down');
      }),
    ).rejects.toThrow('S3 is down');
    expect(cache.loaded('credit', 3)).toBeUndefined();
    const again = await cache.get('credit', 3, async () => loaded(3));
    expect(cache.loaded('credit', 3)).toBe(again);
    expect(cache.loaded('credit', 1)).toBe(value);
  });

  it('GIVEN versions looked up without waiting WHEN the cache is full THEN those lookups count as uses', async () => {
    const cache = createModelCache(2);
    const counts = new Map<number, number>();
    const load = (v: number) => async () => {
      counts.set(v, (counts.get(v) ?? 0) + 1);
      return loaded(v);
    };
    await cache.get('credit', 1, load(1));
    await cache.get('credit', 2, load(2));
    expect(cache.loaded('credit', 1)).toBeDefined(); // 1 is now the most recently used
    await cache.get('credit', 3, load(3)); // so 2 leaves
    expect(cache.loaded('credit', 2)).toBeUndefined();
    expect(cache.loaded('credit', 1)).toBeDefined();
    expect(Object.fromEntries(counts)).toEqual({ 1: 1, 2: 1, 3: 1 });
  });

  it('fails on a size that is not a positive whole number, naming it', () => {
    expect(() => createModelCache(0)).toThrow(
      'createModelCache maxEntries: must be a positive whole number, got 0',
    );
    expect(() => createModelCache(1.5)).toThrow(/got 1.5/);
  });
});
