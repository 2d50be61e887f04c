import { describe, expect, it } from 'vitest';
import type { ProductionAlias } from '../../core/registry/model.ts';
import { cachingAliases } from '../../lambdas/predict/alias-cache.ts';

/** A registry whose alias a test moves, counting the reads that reach it. */
function registry() {
  const state = {
    current: 1 as number | undefined,
    reads: 0,
    fail: false,
    pending: [] as (() => void)[],
    hold: false,
  };
  return {
    state,
    port: {
      getVersion: async () => undefined,
      getAlias: async (model: string): Promise<ProductionAlias | undefined> => {
        state.reads++;
        if (state.hold) await new Promise<void>((resolve) => state.pending.push(resolve));
        if (state.fail) throw new Error('registry unavailable');
        return state.current === undefined
          ? undefined
          : { model, current: state.current, history: [], updatedAt: '' };
      },
    },
  };
}

describe('the production alias kept for its time to live', () => {
  it('GIVEN an alias read at t WHEN it moves THEN requests before t + TTL see the old one, and the first after sees the new one', async () => {
    // Prepare
    const { state, port } = registry();
    let now = 1_000;
    const aliases = cachingAliases(port, 1_000, () => now);
    // Act / Assess
    expect((await aliases.getAlias('credit'))?.current).toBe(1);
    state.current = 2;
    now = 1_999;
    expect((await aliases.getAlias('credit'))?.current).toBe(1);
    expect(state.reads).toBe(1);
    now = 2_000;
    expect((await aliases.getAlias('credit'))?.current).toBe(2);
    expect(state.reads).toBe(2);
  });

  it('GIVEN concurrent requests WHEN the alias is not kept THEN they share one read', async () => {
    const { state, port } = registry();
    state.hold = true;
    const aliases = cachingAliases(port, 1_000, () => 0);
    const answers = Promise.all(Array.from({ length: 10 }, () => aliases.getAlias('credit')));
    await Promise.resolve();
    for (const release of state.pending) release();
    expect((await answers).map((a) => a?.current)).toEqual(Array(10).fill(1));
    expect(state.reads).toBe(1);
  });

  it('GIVEN a failed read WHEN the next request comes within the TTL THEN it reads again, and a missing alias is kept like any other', async () => {
    const { state, port } = registry();
    const aliases = cachingAliases(port, 1_000, () => 0);
    state.fail = true;
    await expect(aliases.getAlias('credit')).rejects.toThrow('registry unavailable');
    state.fail = false;
    state.current = undefined;
    expect(await aliases.getAlias('credit')).toBeUndefined();
    state.current = 3;
    expect(await aliases.getAlias('credit')).toBeUndefined();
    expect(state.reads).toBe(2);
  });

  it('GIVEN two models WHEN both are read THEN each has its own entry, and a TTL of 0 reads every time', async () => {
    const { state, port } = registry();
    const aliases = cachingAliases(port, 1_000, () => 0);
    expect((await aliases.getAlias('credit'))?.model).toBe('credit');
    expect((await aliases.getAlias('churn'))?.model).toBe('churn');
    expect(state.reads).toBe(2);
    const uncached = cachingAliases(port, 0, () => 0);
    await uncached.getAlias('credit');
    await uncached.getAlias('credit');
    expect(state.reads).toBe(4);
  });
});
