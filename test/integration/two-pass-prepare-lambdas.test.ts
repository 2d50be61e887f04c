/**
 * The prepare function's two-pass actions (lambdas/prepare-features/two-pass.ts) against s3rver, with
 * the Distributed Maps played by the test the way Step Functions plays them: the items file the plan
 * (pass 1) or the reduce (pass 2) wrote, one child per range, in a scrambled order. The same data
 * gives the same data version and the same curated files as the single function, whatever the range
 * size; a plan picks the path; bad ranges, files ranges cannot
 * cut and stale parts fail naming the problem.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lakeKeys } from '../../contracts/lake.ts';
import type { ModelDefinition } from '../../core/model/definition.ts';
import type { ObjectStore, RangedObjectStore } from '../../core/ports.ts';
import type { ByteRange } from '../../core/snapshot/ranges.ts';
import type { PrepareOutput } from '../../core/training-run.ts';
import { prepareFeatures } from '../../lambdas/prepare-features/core.ts';
import {
  finishPrepare,
  type PartInput,
  type PreparePlan,
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

/** A Map's children: one per range of the items file `key`, each given the plan's fields. */
async function children(
  lake: ObjectStore,
  key: string,
  plan: PreparePlan,
  action: PartInput['action'],
): Promise<PartInput[]> {
  const ranges = JSON.parse(await lake.getText(key)) as ByteRange[];
  const { model: m, seed, snapshotId, run, header } = plan;
  return ranges.map((range) => ({ action, model: m, seed, snapshotId, run, header, range }));
}

/** Runs `work` on every item, `n` at a time (a Map's MaxConcurrency). */
async function atMost<T>(n: number, items: T[], work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: n }, worker));
}

/** The two passes as the state machine runs them (ranges in a scrambled order, as a Map may finish them). */
async function twoPass(lake: RangedObjectStore, rangeBytes: number, text = csv): Promise<PrepareOutput> {
  const deps = { lake, clock, env };
  const plan = await planPrepare(
    { model, seed: 42, prepareRangeBytes: rangeBytes },
    `run-${rangeBytes}`,
    none,
    deps,
  );
  expect(plan.mode).toBe('distributed');
  expect(plan.ranges).toBe(Math.ceil(Buffer.byteLength(text) / rangeBytes));
  const pass1 = (await children(lake, plan.items, plan, 'pass1')).reverse();
  await atMost(10, pass1, (c) => prepareStatsPart(c, none, deps));
  const reduced = await reducePrepare(plan, none, deps);
  const pass2 = (await children(lake, reduced.items, plan, 'pass2')).reverse();
  await atMost(10, pass2, (c) => prepareTransformPart(c, none, deps));
  return finishPrepare({ ...plan, reduced }, none, deps);
}

/** Every object of a run's snapshot, quarantine and baseline; the training split as its parts joined. */
async function filesOf(lake: ObjectStore, out: PrepareOutput): Promise<Record<string, string>> {
  const snapshot = lakeKeys.curated(model, out.snapshotId);
  const keys = [
    ...(await lake.list(snapshot)),
    ...(await lake.list(`quarantine/${model}/`)),
    ...(await lake.list(`baselines/${model}/`)),
  ].filter(
    (k) =>
      !k.includes('/stats/') && !k.includes('/stage/') && !k.includes('/plan/') && !k.includes('/train/'),
  );
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

  it('gives the single function’s data version and files at three range sizes', async () => {
    const single = await freshLake();
    const today = await prepareFeatures({ model, seed: 42 }, none, { lake: single, clock, env });
    const todayFiles = await filesOf(single, today);

    for (const rangeBytes of [40_000, 123_457, 7_777]) {
      const lake = await freshLake();
      const out = await twoPass(lake, rangeBytes);
      expect(out.dataManifestHash, `range ${rangeBytes}`).toBe(today.dataManifestHash);
      // The same output but for the bucket each run had to itself.
      expect(JSON.parse(JSON.stringify(out).replaceAll(lake.bucket, single.bucket))).toEqual(today);
      const files = await filesOf(lake, out);
      expect(Object.keys(files)).toEqual(Object.keys(todayFiles));
      for (const [k, body] of Object.entries(todayFiles))
        expect(files[k], `${k} (range ${rangeBytes})`).toBe(body);
      // The training split is in parts named by their range, one per range with training rows.
      const trainParts = await lake.list(lakeKeys.curatedSplit(model, out.snapshotId, 'train'));
      expect(trainParts.length).toBe(Math.ceil(Buffer.byteLength(csv) / rangeBytes));
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
    expect((await plan(rows - 1)).rangeBytes).toBe(64 * 1024 * 1024);
    expect((await plan(rows - 1)).ranges).toBe(1);

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
      planPrepare({ model, prepareRangeBytes: 100 }, 'run', none, { lake, clock, env }),
    ).rejects.toThrow(/prepareRangeBytes must be a whole number from 256 to 1073741824, got 100/);
  });

  it('leaves what is wrong with the data to the single function, which reports it as it always did', async () => {
    const lake = await aws.createBucket(`two-pass-${++buckets}`);
    const plan = await planPrepare({ model }, 'run', none, { lake, clock, env });
    expect(plan.mode).toBe('single');
    expect(plan.reason).toMatch(/No data ingested for model "credit-two-pass"/);
  });

  it('fails a range of another object, or without its first line in pass 2, naming it', async () => {
    const lake = await freshLake();
    const deps = { lake, clock, env };
    const plan = await planPrepare({ model, seed: 42, prepareRangeBytes: 100_000 }, 'run', none, deps);
    const [first] = await children(lake, plan.items, plan, 'pass1');
    await expect(
      prepareStatsPart({ ...first!, range: { ...first!.range, key: 'raw/other.csv' } }, none, deps),
    ).rejects.toThrow(/pass 1: range 0 reads "raw\/other.csv", not the snapshot's raw data raw\//);
    await expect(
      prepareStatsPart({ ...first!, range: { ...first!.range, end: -1 } }, none, deps),
    ).rejects.toThrow(/is not a part number with a byte range/);
    await expect(prepareTransformPart({ ...first!, action: 'pass2' }, none, deps)).rejects.toThrow(
      /pass 2: range 0 has no startLine/,
    );
    // The reduce before every range's statistics are written.
    await expect(reducePrepare(plan, none, deps)).rejects.toThrow(
      /range 0 \(bytes 0-100000\) has no statistics/,
    );
  });

  it('refuses a file whose quoted cells hold line breaks, naming the line, where one function reads it', async () => {
    const lines = csv.trimEnd().split('\n');
    lines.splice(40, 0, '"good",9,"rent",60,30,"married\nagain","no","freelance",73,129,0,0,800,846');
    const text = `${lines.join('\n')}\n`;
    const lake = await freshLake(def, text);
    await expect(twoPass(lake, 50_000, text)).rejects.toThrow(
      /line 41 has an odd number of double quotes, so a quoted cell holds a line break/,
    );
    const single = await freshLake(def, text);
    const out = await prepareFeatures({ model, seed: 42 }, none, { lake: single, clock, env });
    expect(out.counts.rows).toBe(lines.length - 1);
  });

  it('counts the lines of blank lines and CRLF endings as the single function does', async () => {
    const lines = csv.trimEnd().split('\n');
    lines.splice(700, 0, '');
    lines.splice(1800, 0, '"maybe",9,"rent",60,30,"married","no","freelance",73,129,0,0,800,846');
    const text = `${lines.join('\r\n')}`;
    const single = await freshLake(def, text);
    const today = await prepareFeatures({ model, seed: 42 }, none, { lake: single, clock, env });
    const lake = await freshLake(def, text);
    const out = await twoPass(lake, 30_000, text);
    expect(out.dataManifestHash).toBe(today.dataManifestHash);
    const quarantine = async (l: ObjectStore, o: PrepareOutput) =>
      (await l.getText(lakeKeys.quarantine(model, o.snapshotId)))
        .trimEnd()
        .split('\n')
        .map((q) => JSON.parse(q).line);
    expect(await quarantine(lake, out)).toEqual(await quarantine(single, today));
    expect(await quarantine(lake, out)).toEqual([101, 1801, 2503]);
  });

  it('fails the finish when the training prefix holds parts of an earlier run with other batches', async () => {
    const lake = await freshLake();
    await twoPass(lake, 20_000);
    await expect(twoPass(lake, 100_000)).rejects.toThrow(
      /holds \d+ object\(s\) this run did not write \(curated\/credit-two-pass\/[0-9a-f]+\/train\/part-00004\.csv/,
    );
    // ... and the single function too: the channel would read them.
    await expect(prepareFeatures({ model, seed: 42 }, none, { lake, clock, env })).rejects.toThrow(
      /this run did not write/,
    );
  });

  it('fails when the data changed while the snapshot was prepared', async () => {
    const lake = await freshLake();
    const deps = { lake, clock, env };
    const plan = await planPrepare({ model, seed: 42, prepareRangeBytes: 100_000 }, 'run', none, deps);
    await ingestCsv(
      lake,
      model,
      `${csv}"good",1,"rent",60,30,"married","no","freelance",73,129,0,0,800,846\n`,
      def,
    );
    const [first] = await children(lake, plan.items, plan, 'pass1');
    await expect(prepareStatsPart(first!, none, deps)).rejects.toThrow(/is no longer the latest data's/);
  });
});
