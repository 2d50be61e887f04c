/**
 * The prepare function's two-pass actions (lambdas/prepare-features/two-pass.ts) against s3rver, with
 * the Distributed Map played by the test the way Step Functions plays it: the raw CSV read as objects
 * keyed by header (csv-parse, as the CSV ItemReader), each with its item index, cut into batches. The
 * same data gives the same data version and the same curated files as the single function, whatever
 * the batch size; a plan picks the path; bad batches and stale parts fail naming the problem.
 */
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lakeKeys } from '../../contracts/lake.ts';
import type { ModelDefinition } from '../../core/model/definition.ts';
import type { ObjectStore } from '../../core/ports.ts';
import type { PrepareOutput } from '../../core/training-run.ts';
import { prepareFeatures } from '../../lambdas/prepare-features/core.ts';
import {
  type BatchInput,
  chunkOfBatch,
  finishPrepare,
  planPrepare,
  prepareStatsPart,
  prepareTransformPart,
  reducePrepare,
  type TwoPassEnv,
} from '../../lambdas/prepare-features/two-pass.ts';
import { ingestCsv, prepareEnv } from '../support/ingest.ts';
import { type LocalAws, startLocalAws } from '../support/local-aws.ts';
import { creditJson, definitionOf, demoCsv } from '../support/pipeline-fixtures.ts';

const clock = { now: () => new Date('2026-01-01T00:00:00.000Z') };
const env: TwoPassEnv = { ...prepareEnv, trainingJobPrefix: 'mlops-test--', distributedAboveRows: 0 };
const model = 'credit-two-pass';
const def = definitionOf(model);
const none = () => undefined;

/** The demo data with two bad rows (a bad label, a bad number): quarantine lines must match. */
const csv = (() => {
  const lines = demoCsv.trimEnd().split('\n');
  lines.splice(100, 0, '"maybe",9,"rent",60,30,"married","no","freelance",73,129,0,0,800,846');
  lines.splice(2500, 0, '"good",9,"rent",60,30,"married","no","freelance",73,abc,0,0,800,846');
  return `${lines.join('\n')}\n`;
})();

/** The Map's batches: CSV rows as objects keyed by header, with their index, `size` at a time. */
function batches(text: string, size: number, ref: BatchInput['BatchInput']): BatchInput[] {
  const [header, ...rows] = parse(text, { relax_column_count: true, skip_empty_lines: true }) as string[][];
  const items = rows.map((r, index) => ({
    row: Object.fromEntries(header!.map((h, j) => [h, r[j] ?? ''])),
    index,
  }));
  const out: BatchInput[] = [];
  for (let i = 0; i < items.length; i += size) out.push({ Items: items.slice(i, i + size), BatchInput: ref });
  return out;
}

/** The two passes as the state machine runs them (batches in a scrambled order, as a Map may finish them). */
async function twoPass(lake: ObjectStore, batchRows: number): Promise<PrepareOutput> {
  const deps = { lake, clock, env };
  const plan = await planPrepare(
    { model, seed: 42, prepareBatchRows: batchRows },
    `run-${batchRows}`,
    none,
    deps,
  );
  expect(plan.mode).toBe('distributed');
  const ref = { model: plan.model, seed: plan.seed, snapshotId: plan.snapshotId, run: plan.run };
  const raw = await lake.getText(plan.rawKey);
  const bs = batches(raw, plan.batchRows, ref).reverse();
  const stats = await Promise.all(bs.map(async (b) => (await prepareStatsPart(b, none, deps)).part));
  const reduced = await reducePrepare({ ...ref, parts: stats }, none, deps);
  const parts = await Promise.all(bs.map(async (b) => (await prepareTransformPart(b, none, deps)).part));
  return finishPrepare({ ...ref, parts, reduced }, none, deps);
}

/** Every object of a run's snapshot, quarantine and baseline; the training split as its parts joined. */
async function filesOf(lake: ObjectStore, out: PrepareOutput): Promise<Record<string, string>> {
  const snapshot = lakeKeys.curated(model, out.snapshotId);
  const keys = [
    ...(await lake.list(snapshot)),
    ...(await lake.list(`quarantine/${model}/`)),
    ...(await lake.list(`baselines/${model}/`)),
  ].filter((k) => !k.includes('/stats/') && !k.includes('/stage/') && !k.includes('/train/'));
  const files: Record<string, string> = {};
  // Each lake had the data ingested under an ingest id of its own: the raw key beside the manifest's hash.
  for (const k of keys.sort()) {
    files[k] = (await lake.getText(k)).replace(/"sourceKey": "[^"]+"/, '"sourceKey": "<raw>"');
  }
  let train = '';
  for (const k of (await lake.list(`${snapshot}train/`)).sort()) train += await lake.getText(k);
  files.train = train;
  return files;
}

describe('two-pass prepare actions (s3rver)', () => {
  let aws: LocalAws;
  let buckets = 0;
  const freshLake = async (definition: ModelDefinition = def, text = csv) => {
    const lake = await aws.createBucket(`two-pass-${++buckets}`);
    await ingestCsv(lake, model, text, definition);
    return lake;
  };

  beforeAll(async () => {
    aws = await startLocalAws();
  });
  afterAll(async () => {
    await aws?.stop();
  });

  it('gives the single function’s data version and files at two batch sizes', async () => {
    const single = await freshLake();
    const today = await prepareFeatures({ model, seed: 42 }, none, { lake: single, clock, env });
    const todayFiles = await filesOf(single, today);

    for (const batchRows of [500, 1300]) {
      const lake = await freshLake();
      const out = await twoPass(lake, batchRows);
      expect(out.dataManifestHash, `batch ${batchRows}`).toBe(today.dataManifestHash);
      // The same output but for the bucket each run had to itself.
      expect(JSON.parse(JSON.stringify(out).replaceAll(lake.bucket, single.bucket))).toEqual(today);
      const files = await filesOf(lake, out);
      expect(Object.keys(files)).toEqual(Object.keys(todayFiles));
      for (const [k, body] of Object.entries(todayFiles))
        expect(files[k], `${k} (batch ${batchRows})`).toBe(body);
      // The training split is in parts named by their first row, one per batch with training rows.
      const trainParts = await lake.list(lakeKeys.curatedSplit(model, out.snapshotId, 'train'));
      expect(trainParts.length).toBe(Math.ceil((csv.trimEnd().split('\n').length - 1) / batchRows));
      expect(trainParts[0]).toBe(lakeKeys.curatedSplitPart(model, out.snapshotId, 'train'));
    }
    // Quarantined at the file's own lines, as the single function has them.
    const quarantined = todayFiles[lakeKeys.quarantine(model, today.snapshotId)]!.trimEnd()
      .split('\n')
      .map((l) => (JSON.parse(l) as { line: number }).line);
    expect(quarantined).toEqual([101, 2501]);
  });

  it('plans the single function for small data and time splits, the two passes above the threshold', async () => {
    const lake = await freshLake();
    const rows = csv.trimEnd().split('\n').length - 1;
    const plan = (above: number) =>
      planPrepare({ model }, 'run', none, { lake, clock, env: { ...env, distributedAboveRows: above } });
    expect((await plan(rows)).mode).toBe('single');
    expect((await plan(rows - 1)).mode).toBe('distributed');
    expect((await plan(rows - 1)).batchRows).toBe(10_000);

    const timed = definitionOf(model, {
      ...creditJson,
      spec: {
        ...creditJson.spec,
        timeColumn: 'Seniority',
        features: creditJson.spec.features.filter((f) => (f as { name: string }).name !== 'Seniority'),
      },
      training: { ...creditJson.training, split: 'time' },
    });
    const timeLake = await freshLake(timed);
    const timePlan = await planPrepare({ model }, 'run', none, { lake: timeLake, clock, env });
    expect(timePlan.mode).toBe('single');
    expect(timePlan.reason).toMatch(/time/);
    const randomLake = await freshLake(
      definitionOf(model, { ...creditJson, training: { ...creditJson.training, split: 'random' } }),
    );
    const randomPlan = await planPrepare({ model }, 'run', none, { lake: randomLake, clock, env });
    expect(randomPlan.mode).toBe('single');
    expect(randomPlan.reason).toMatch(/random/);
    await expect(
      planPrepare({ model, prepareBatchRows: 0 }, 'run', none, { lake, clock, env }),
    ).rejects.toThrow(/prepareBatchRows must be a whole number from 1 to 1000000, got 0/);
  });

  it('leaves what is wrong with the data to the single function, which reports it as it always did', async () => {
    const lake = await aws.createBucket(`two-pass-${++buckets}`);
    const plan = await planPrepare({ model }, 'run', none, { lake, clock, env });
    expect(plan.mode).toBe('single');
    expect(plan.reason).toMatch(/No data ingested for model "credit-two-pass"/);
  });

  it('fails a batch whose rows are not consecutive, naming the item', () => {
    const [b] = batches(csv, 10, { model, seed: 42, snapshotId: 'x', run: 'run' });
    b!.Items[3] = { ...b!.Items[3]!, index: 99 };
    expect(() => chunkOfBatch(b!, 's3://lake/raw.csv')).toThrow(/Items\[3\] has index 99, expected 3/);
  });

  it('fails the finish when the training prefix holds parts of an earlier run with other batches', async () => {
    const lake = await freshLake();
    await twoPass(lake, 500);
    await expect(twoPass(lake, 1300)).rejects.toThrow(
      /holds \d+ object\(s\) this run did not write \(curated\/credit-two-pass\/[0-9a-f]+\/train\/part-00500\.csv/,
    );
    // ... and the single function too: the channel would read them.
    await expect(prepareFeatures({ model, seed: 42 }, none, { lake, clock, env })).rejects.toThrow(
      /this run did not write/,
    );
  });

  it('fails when the data changed while the snapshot was prepared', async () => {
    const lake = await freshLake();
    const deps = { lake, clock, env };
    const plan = await planPrepare({ model, seed: 42 }, 'run', none, deps);
    await ingestCsv(
      lake,
      model,
      `${csv}"good",1,"rent",60,30,"married","no","freelance",73,129,0,0,800,846\n`,
      def,
    );
    const [b] = batches(csv, 100, { model, seed: 42, snapshotId: plan.snapshotId, run: 'run' });
    await expect(prepareStatsPart(b!, none, deps)).rejects.toThrow(/is no longer the latest data's/);
  });
});
