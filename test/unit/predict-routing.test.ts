import { describe, expect, it } from 'vitest';
import { routeRequest, shareOf } from '../../lambdas/predict/routing.ts';

const ids = Array.from({ length: 20_000 }, (_, i) => `req-${i}-${(i * 7919) % 104729}`);

describe('shareOf', () => {
  it('places every request id in [0, 1), the same place each time', () => {
    for (const id of ids.slice(0, 1000)) {
      const share = shareOf(id);
      expect(share).toBeGreaterThanOrEqual(0);
      expect(share).toBeLessThan(1);
      expect(shareOf(id)).toBe(share);
    }
  });

  it('spreads request ids evenly (each tenth of [0, 1) gets about a tenth of them)', () => {
    const bins = new Array(10).fill(0) as number[];
    for (const id of ids) bins[Math.floor(shareOf(id) * 10)]! += 1;
    for (const count of bins) expect(Math.abs(count / ids.length - 0.1)).toBeLessThan(0.01);
  });
});

describe('routeRequest', () => {
  it('sends every request to production while no canary or shadow runs', () => {
    for (const id of ids.slice(0, 100)) {
      expect(routeRequest({ current: 3 }, id)).toEqual({ version: 3, route: 'production' });
    }
  });

  it('sends a canary its weight of requests, by request id, so a retry lands on the same version', () => {
    // Prepare
    const alias = { current: 3, canary: { version: 4, weight: 0.2, startedAt: '' } };
    // Act
    const routes = ids.map((id) => routeRequest(alias, id));
    // Assess
    const canary = routes.filter((r) => r.route === 'canary');
    expect(Math.abs(canary.length / ids.length - 0.2)).toBeLessThan(0.01);
    expect(canary.every((r) => r.version === 4)).toBe(true);
    expect(routes.filter((r) => r.route === 'production').every((r) => r.version === 3)).toBe(true);
    expect(ids.map((id) => routeRequest(alias, id))).toEqual(routes);
  });

  it('sends nothing to a canary of weight 0 and everything to one of weight 1', () => {
    const none = ids
      .slice(0, 500)
      .map((id) => routeRequest({ current: 1, canary: { version: 2, weight: 0, startedAt: '' } }, id));
    const all = ids
      .slice(0, 500)
      .map((id) => routeRequest({ current: 1, canary: { version: 2, weight: 1, startedAt: '' } }, id));
    expect(none.every((r) => r.route === 'production')).toBe(true);
    expect(all.every((r) => r.route === 'canary' && r.version === 2)).toBe(true);
  });

  it('gives production requests a shadow copy while a shadow runs, and canary requests none', () => {
    const alias = {
      current: 3,
      canary: { version: 4, weight: 0.5, startedAt: '' },
      shadow: { version: 5, startedAt: '' },
    };
    const routes = ids.slice(0, 2000).map((id) => routeRequest(alias, id));
    const production = routes.filter((r) => r.route === 'production');
    expect(production.length).toBeGreaterThan(0);
    expect(production.every((r) => r.shadowVersion === 5)).toBe(true);
    expect(routes.filter((r) => r.route === 'canary').every((r) => r.shadowVersion === undefined)).toBe(true);
  });
});
