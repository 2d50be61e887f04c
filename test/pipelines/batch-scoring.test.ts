/**
 * The BatchScoring state machine end to end in the twin, from the synthesized template's ASL: the
 * resolve step cuts a CSV in the lake into byte ranges, a Distributed Map (`ItemReader` over the
 * ranges file, `ResultWriter`) scores each, the finish sums the counts.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lakeKeys } from '../../contracts/lake.ts';
import { parseCsv } from '../../core/features/csv.ts';
import { BATCH_SCORING_ACTION } from '../../lambdas/score-batch-job/core.ts';
import { seedVersion } from '../support/fixtures.ts';
import { startTestTwin, type TestTwin } from '../support/twin.ts';

const DEMO = readFileSync('data/credit_data.csv', 'utf8');

describe('BatchScoring in the twin', () => {
  let t: TestTwin;
  beforeAll(async () => {
    t = await startTestTwin();
    const { version } = await seedVersion(t.lake, 1, { leftLeaf: 1, rightLeaf: -1 });
    await t.registry.putVersion(version);
  });
  afterAll(async () => t.twin.stop());

  it('scores every row of the demo data with two bad rows in parts, quarantines those two, and audits the job', async () => {
    const [header, ...rows] = DEMO.trimEnd().split('\n') as [string, ...string[]];
    // File line 11: Age is not a number; file line 3001: Income is not a number.
    rows[9] = rows[9]!.replace(/^("(?:good|bad)",\d+,"\w+",\d+,)\d+/, '$1"old"');
    rows[2999] = rows[2999]!.replace(
      /^(("[^"]*"|[^,]*),){10}[^,]*/,
      (m) => `${m.slice(0, m.lastIndexOf(',') + 1)}"x"`,
    );
    const key = lakeKeys.scoresInput('credit', 'twin-job');
    await t.lake.put(key, `${[header, ...rows].join('\n')}\n`);
    const run = await t.twin.execute('batchScoring', {
      model: 'credit',
      job: 'twin-job',
      version: 1,
      input: { bucket: t.lake.bucket, key },
      idColumn: null,
    });
    expect(run.status, JSON.stringify(run.taskError ?? run.cause)).toBe('SUCCEEDED');
    expect(run.output).toMatchObject({
      job: 'twin-job',
      model: 'credit',
      version: 1,
      rows: rows.length,
      scored: rows.length - 2,
      quarantined: 2,
      output: `s3://${t.lake.bucket}/${lakeKeys.scoresJob('credit', 'twin-job')}`,
    });
    const keys = await t.lake.list(lakeKeys.scoresJob('credit', 'twin-job'));
    const parts = keys.filter((k) => /\/part-\d+\.csv$/.test(k) && !k.includes('/quarantine/'));
    // The demo data is one range at the default size (16 MiB).
    expect(parts).toEqual([lakeKeys.scoresPart('credit', 'twin-job', 0)]);
    let scored = 0;
    for (const p of parts) scored += parseCsv(await t.lake.getText(p), p).records.length;
    expect(scored).toBe(rows.length - 2);
    const quarantine = keys.filter((k) => k.includes('/quarantine/'));
    const lines: string[] = [];
    for (const q of quarantine) {
      for (const r of parseCsv(await t.lake.getText(q), q).records) lines.push(r.values.line!);
    }
    // One range from the file's start: its line 1 is the file's line 2.
    expect(lines).toEqual(['10', '3000']);
    const audit = (await t.registry.listAudit('credit')).filter((e) => e.action === BATCH_SCORING_ACTION);
    expect(audit).toHaveLength(1);
    expect(audit[0]!.detail).toMatchObject({ job: 'twin-job', rows: rows.length, quarantined: 2 });
  });

  it('carries the id column the version’s spec names into every part, ahead of the score', async () => {
    const { version } = await seedVersion(t.lake, 2, { leftLeaf: 1, rightLeaf: -1 });
    version.definition = { ...version.definition, spec: { ...version.definition.spec, idColumn: 'Ref' } };
    await t.registry.putVersion(version);
    const [header, ...rows] = DEMO.trimEnd().split('\n') as [string, ...string[]];
    const withIds = [`"Ref",${header}`, ...rows.slice(0, 300).map((r, i) => `"r-${i}",${r}`)];
    const key = lakeKeys.scoresInput('credit', 'twin-ids');
    await t.lake.put(key, `${withIds.join('\n')}\n`);
    const run = await t.twin.execute('batchScoring', {
      model: 'credit',
      job: 'twin-ids',
      version: 2,
      input: { bucket: t.lake.bucket, key },
      idColumn: null,
    });
    expect(run.status, JSON.stringify(run.taskError ?? run.cause)).toBe('SUCCEEDED');
    expect(run.output).toMatchObject({ rows: 300, scored: 300, quarantined: 0 });
    const parts = (await t.lake.list(lakeKeys.scoresJob('credit', 'twin-ids'))).filter((k) =>
      /\/part-\d+\.csv$/.test(k),
    );
    const records = [];
    for (const p of parts) records.push(...parseCsv(await t.lake.getText(p), p).records);
    expect(records.map((r) => r.values.Ref).sort()).toEqual(
      rows
        .slice(0, 300)
        .map((_, i) => `r-${i}`)
        .sort(),
    );
    expect(Object.keys(records[0]!.values)).toEqual(['Ref', 'score', 'label', 'model_version']);
  });

  it('cuts the input into ranges at a job’s rangeBytes and scores every row once, ids in file order', async () => {
    const [header, ...rows] = DEMO.trimEnd().split('\n') as [string, ...string[]];
    const withIds = [`"Ref",${header}`, ...rows.map((r, i) => `"r-${i}",${r}`)];
    // A bad row near the end: quarantined by the range that owns it.
    withIds[4000] = withIds[4000]!.replace(/,\d+$/, '');
    const text = `${withIds.join('\n')}\n`;
    const key = lakeKeys.scoresInput('credit', 'twin-ranges');
    await t.lake.put(key, text);
    const rangeBytes = 32 * 1024;
    const run = await t.twin.execute('batchScoring', {
      model: 'credit',
      job: 'twin-ranges',
      version: 1,
      input: { bucket: t.lake.bucket, key },
      idColumn: 'Ref',
      rangeBytes,
    });
    expect(run.status, JSON.stringify(run.taskError ?? run.cause)).toBe('SUCCEEDED');
    expect(run.output).toMatchObject({ rows: rows.length, scored: rows.length - 1, quarantined: 1 });
    const keys = await t.lake.list(lakeKeys.scoresJob('credit', 'twin-ranges'));
    const parts = keys.filter((k) => /\/part-\d+\.csv$/.test(k) && !k.includes('/quarantine/'));
    const ranges = Math.ceil(Buffer.byteLength(text) / rangeBytes);
    expect(ranges).toBeGreaterThan(5);
    expect(parts).toEqual(
      Array.from({ length: ranges }, (_, i) => lakeKeys.scoresPart('credit', 'twin-ranges', i)),
    );
    const ids: string[] = [];
    for (const p of parts)
      ids.push(...parseCsv(await t.lake.getText(p), p).records.map((r) => r.values.Ref!));
    expect(ids).toEqual(rows.map((_, i) => `r-${i}`).filter((id) => id !== 'r-3999'));
    const quarantine = keys.filter((k) => k.includes('/quarantine/'));
    expect(quarantine).toHaveLength(1);
    const [q] = parseCsv(await t.lake.getText(quarantine[0]!), 'q').records.map((r) => r.values);
    // A row with the wrong number of fields has no id the part could trust.
    expect(q).toMatchObject({ Ref: '', reason: 'expected 15 fields, got 14' });
    expect(text.startsWith(`${withIds[4000]}\n`, Number(q!.byte))).toBe(true);
  });
});
