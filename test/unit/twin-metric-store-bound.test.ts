/**
 * The twin's metric store under a sustained load: what it keeps is bounded by the series count times
 * the per-series cap, and by the retention window, however many points arrive.
 */
import { describe, expect, it } from 'vitest';
import { MetricStore } from '../../local/cloudwatch.ts';

/** Puts `perSeries` points in each of `series` series, one every `stepMs` from `t0`. */
function load(store: MetricStore, series: number, perSeries: number, t0: number, stepMs: number): void {
  for (let i = 0; i < perSeries; i++) {
    for (let s = 0; s < series; s++) {
      store.put({
        namespace: 'Soak',
        name: `Metric${s}`,
        value: i,
        unit: 'Count',
        dimensions: { Model: 'credit' },
        timestamp: t0 + i * stepMs,
      });
    }
  }
}

describe('MetricStore bound', () => {
  it('keeps at most maxPointsPerSeries points a series, the newest, whatever arrives', () => {
    const store = new MetricStore({ retentionMs: 24 * 3600_000, maxPointsPerSeries: 1_000 });
    load(store, 8, 25_000, Date.now() - 25_000, 1);
    expect(store.size()).toEqual({ series: 8, points: 8 * 1_000 });
    const kept = store.values(
      { namespace: 'Soak', name: 'Metric3', dimensions: { Model: 'credit' } },
      0,
      Infinity,
    );
    expect(kept).toHaveLength(1_000);
    expect(kept[0]).toBe(24_000);
    expect(kept.at(-1)).toBe(24_999);
  });

  it('drops points older than the retention once the load has moved past them', () => {
    const retentionMs = 60_000;
    const store = new MetricStore({ retentionMs, maxPointsPerSeries: 1_000_000 });
    const t0 = Date.now() - 10 * retentionMs;
    // Ten retention windows of points, 100 a second: only the last window's can stay.
    load(store, 3, 60_000, t0, 10);
    store.prune(t0 + 60_000 * 10);
    const { points } = store.size();
    expect(points).toBeLessThanOrEqual(3 * (retentionMs / 10));
    expect(points).toBeGreaterThan(0);
  });
});
