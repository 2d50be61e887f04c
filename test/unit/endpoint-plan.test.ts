import { describe, expect, it } from 'vitest';
import { nextStepWeight } from '../../core/policy/canary.ts';
import type { ProductionAlias } from '../../core/registry/model.ts';
import { matchesPlan, planVariants } from '../../core/serving/endpoint-plan.ts';

const now = new Date('2026-01-01T12:00:00Z');
const alias = (over: Partial<ProductionAlias> = {}): ProductionAlias => ({
  model: 'credit',
  current: 3,
  history: [1, 2],
  updatedAt: '2026-01-01T11:30:00Z',
  ...over,
});

describe('planVariants', () => {
  it('gives production all traffic and keeps the replaced version at weight 0 inside the warm window', () => {
    expect(planVariants(alias(), { now, warmMinutes: 60 })).toEqual([
      { version: 2, weight: 0 },
      { version: 3, weight: 1 },
    ]);
  });

  it('drops the replaced version once the warm window has passed', () => {
    expect(planVariants(alias(), { now, warmMinutes: 30 })).toEqual([{ version: 3, weight: 1 }]);
    expect(planVariants(alias(), { now, warmMinutes: 0 })).toEqual([{ version: 3, weight: 1 }]);
  });

  it('splits traffic between production and a running canary', () => {
    const plan = planVariants(alias({ canary: { version: 4, weight: 0.1, startedAt: now.toISOString() } }), {
      now,
      warmMinutes: 0,
    });
    expect(plan).toEqual([
      { version: 3, weight: 0.9 },
      { version: 4, weight: 0.1 },
    ]);
  });

  it('adds versions to include at weight 0, without changing the weight of one already planned', () => {
    expect(planVariants(alias(), { now, warmMinutes: 0, include: [5, 3] })).toEqual([
      { version: 3, weight: 1 },
      { version: 5, weight: 0 },
    ]);
  });

  it('keeps approved candidates on their way at weight 0', () => {
    expect(planVariants(alias(), { now, warmMinutes: 0, approved: [4] })).toEqual([
      { version: 3, weight: 1 },
      { version: 4, weight: 0 },
    ]);
  });

  it('gives the traffic to the first version when there is no production yet', () => {
    expect(planVariants(undefined, { now, warmMinutes: 60, include: [7] })).toEqual([
      { version: 7, weight: 1 },
    ]);
    expect(planVariants(undefined, { now, warmMinutes: 60 })).toEqual([]);
  });
});

describe('matchesPlan', () => {
  const plan = [
    { version: 3, weight: 0.9 },
    { version: 4, weight: 0.1 },
  ];
  it('accepts exactly the planned variants and weights', () => {
    expect(
      matchesPlan(
        [
          { name: 'v4', weight: 0.1 },
          { name: 'v3', weight: 0.9000000001 },
        ],
        plan,
      ),
    ).toBe(true);
  });
  it('refuses another weight, a missing variant or an extra one', () => {
    expect(
      matchesPlan(
        [
          { name: 'v3', weight: 1 },
          { name: 'v4', weight: 0 },
        ],
        plan,
      ),
    ).toBe(false);
    expect(matchesPlan([{ name: 'v3', weight: 0.9 }], plan)).toBe(false);
    expect(
      matchesPlan(
        [
          { name: 'v3', weight: 0.9 },
          { name: 'v4', weight: 0.1 },
          { name: 'v2', weight: 0 },
        ],
        plan,
      ),
    ).toBe(false);
  });
});

describe('nextStepWeight (linear canary steps)', () => {
  it('walks from the first share towards 100% in equal steps, and ends after the last', () => {
    expect(nextStepWeight(0.1, 1, 0.1)).toBeUndefined();
    expect(nextStepWeight(0.1, 3, 0.1)).toBe(0.4);
    expect(nextStepWeight(0.1, 3, 0.4)).toBe(0.7);
    expect(nextStepWeight(0.1, 3, 0.7)).toBeUndefined();
    expect(nextStepWeight(0.5, 2, 0.5)).toBe(0.75);
  });
});
