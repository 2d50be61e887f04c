/**
 * The function probe of the benchmarks (bench/support/function-probe.ts): one invocation of the
 * score-batch bundle (one range of a job's input) in a fresh process against the running twin, its answer, its error, and a peak
 * resident memory that follows what the handler holds.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeFunction, probeIdle } from '../../bench/support/function-probe.ts';
import { lakeKeys } from '../../contracts/lake.ts';
import { parseCsv } from '../../core/features/csv.ts';
import type { RangeInput } from '../../lambdas/score-batch/core.ts';
import { seedVersion } from '../support/fixtures.ts';
import { startTestTwin, type TestTwin } from '../support/twin.ts';

const [HEADER = '', ...LINES] = readFileSync('data/credit_data.csv', 'utf8').trimEnd().split('\n');

describe('probeFunction', () => {
  let t: TestTwin;
  beforeAll(async () => {
    t = await startTestTwin();
    const { version } = await seedVersion(t.lake, 1);
    await t.registry.putVersion(version);
  });
  afterAll(async () => t.twin.stop());

  /**
   * A map child's input: the whole of a job input of `n` demo rows (the demo data repeated), stored in
   * the twin's lake, as one range.
   */
  async function range(job: string, n: number): Promise<RangeInput> {
    const text = `${[HEADER, ...Array.from({ length: n }, (_, i) => LINES[i % LINES.length]!)].join('\n')}\n`;
    const key = lakeKeys.scoresInput('credit', job);
    await t.lake.put(key, text);
    const size = Buffer.byteLength(text);
    return {
      model: 'credit',
      version: 1,
      job,
      idColumn: null,
      header: HEADER,
      range: { part: 0, key, size, start: 0, end: size },
    };
  }

  it("returns the handler's result, having written the part to the twin's lake", async () => {
    const probe = await probeFunction(t.twin, 'score-batch', await range('probe-small', 100));
    expect(probe.ok, probe.output).toBe(true);
    expect(probe.result).toMatchObject({ rows: 100, scored: 100, quarantined: 0 });
    const { partKey } = probe.result as { partKey: string };
    expect(partKey.startsWith(lakeKeys.scoresJob('credit', 'probe-small'))).toBe(true);
    expect(parseCsv(await t.lake.getText(partKey), partKey).records).toHaveLength(100);
    expect(probe.handlerMs).toBeGreaterThan(0);
    expect(probe.handlerMs).toBeLessThan(probe.processMs);
    expect(probe.maxRssMb).toBeGreaterThanOrEqual(probe.idleRssMb);
  });

  it("reports the handler's error by name, and the same function by logical id", async () => {
    const probe = await probeFunction(t.twin, 'score-batch', { Items: [] });
    expect(probe.ok).toBe(false);
    expect(probe.error?.name).toBe('InvalidInput');
    expect(probe.error?.message).toMatch(/model must be a model name/);
    const fn = t.twin.functionLaunch(t.twin.functionArnByService('score-batch')!).fn;
    const byId = await probeFunction(t.twin, fn.logicalId, {});
    expect(byId.function).toBe(fn.name);
    expect(byId.error?.name).toBe('InvalidInput');
  });

  it('reports a larger peak RSS for a range of 20,000 rows than for one of 100, both above the idle import', async () => {
    const idle = await probeIdle(t.twin, 'score-batch');
    const small = await probeFunction(t.twin, 'score-batch', await range('probe-rss-small', 100));
    const big = await probeFunction(t.twin, 'score-batch', await range('probe-rss-big', 20_000));
    expect(big.ok && small.ok, big.output).toBe(true);
    expect(big.result).toMatchObject({ scored: 20_000 });
    expect(idle.handlerMs).toBe(0);
    // The idle process is the baseline: the import alone.
    expect(small.maxRssMb).toBeGreaterThanOrEqual(idle.maxRssMb * 0.9);
    // 20,000 parsed rows, their transformed features and the part's text: tens of MB more.
    expect(big.maxRssMb - small.maxRssMb).toBeGreaterThan(20);
    expect(big.aboveIdleMb).toBeGreaterThan(small.aboveIdleMb + 20);
  });
});
