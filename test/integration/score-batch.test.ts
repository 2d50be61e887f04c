import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scoreFiles } from '../../cli/score.ts';
import { lakeKeys } from '../../contracts/lake.ts';
import { parseCsv } from '../../core/features/csv.ts';
import { systemClock } from '../../core/ports.ts';
import {
  BatchInputError,
  type MapBatch,
  rowsOfCsvChunk,
  type ScoreBatchDeps,
  scoreChunk,
} from '../../lambdas/score-batch/core.ts';
import {
  BATCH_SCORING_ACTION,
  finishJob,
  type JobDeps,
  resolveVersion,
} from '../../lambdas/score-batch-job/core.ts';
import { DynamoModelRegistry } from '../../lambdas/shared/adapters/aws/dynamo-registry.ts';
import type { S3ObjectStore } from '../../lambdas/shared/adapters/aws/s3-object-store.ts';
import { createModelCache } from '../../lambdas/shared/model-cache.ts';
import { credit, seedVersion } from '../support/fixtures.ts';
import { type LocalAws, startLocalAws, useLocalEndpoints } from '../support/local-aws.ts';

const DEMO = readFileSync('data/credit_data.csv', 'utf8');
const [HEADER = '', ...LINES] = DEMO.trimEnd().split('\n');

let aws: LocalAws;
let lake: S3ObjectStore;
let deps: ScoreBatchDeps;
let dir: string;

beforeAll(async () => {
  aws = await startLocalAws();
  lake = await aws.createBucket('lake');
  await aws.createTable('registry');
  const registry = new DynamoModelRegistry(aws.db, 'registry', systemClock);
  // Version 1: a stump on Seniority (< 5 or missing: +1, else -1) over the demo data's fitted transform.
  const { version, transform } = await seedVersion(lake, 1, { leftLeaf: 1, rightLeaf: -1 });
  await registry.putVersion(version);
  const stale = await seedVersion(lake, 2, { schemaHash: 'another-schema' });
  await registry.putVersion(stale.version);
  deps = { registry, lake, cache: createModelCache() };
  dir = mkdtempSync(join(tmpdir(), 'mlops-score-batch-'));
  writeFileSync(join(dir, 'model.json'), await lake.getText(version.artifacts.modelJson));
  writeFileSync(join(dir, 'transform.json'), JSON.stringify(transform));
  writeFileSync(join(dir, 'credit.json'), readFileSync('models/credit.json'));
});

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await aws.stop();
});

/** The rows of a part file, by column. */
function partRows(text: string): Record<string, string>[] {
  return parseCsv(text, 'part').records.map((r) => r.values);
}

describe('scoring a chunk of CSV rows with a version from the registry', () => {
  it('scores every demo row as `mlops score` does, in three chunks, writing one part each', async () => {
    const expected = scoreFiles({
      model: join(dir, 'model.json'),
      input: 'data/credit_data.csv',
      spec: join(dir, 'credit.json'),
      transform: join(dir, 'transform.json'),
    });
    // Chunks at arbitrary row boundaries, each with the header; file line 2 is the first data row.
    const bounds = [0, 1000, 2777, LINES.length];
    const scores: string[] = [];
    const labels: string[] = [];
    for (let c = 0; c < 3; c++) {
      const text = [HEADER, ...LINES.slice(bounds[c], bounds[c + 1])].join('\n');
      const { columns, rows, malformed } = rowsOfCsvChunk(text, bounds[c]! + 2);
      const res = await scoreChunk(
        { model: 'credit', version: 1, job: 'job-a', part: c, columns, rows, malformed },
        deps,
      );
      expect(res).toEqual({
        part: c,
        rows: bounds[c + 1]! - bounds[c]!,
        scored: bounds[c + 1]! - bounds[c]!,
        quarantined: 0,
        partKey: lakeKeys.scoresPart('credit', 'job-a', c),
      });
      const part = partRows(await lake.getText(res.partKey));
      expect(Object.keys(part[0]!)).toEqual(['score', 'label', 'model_version']);
      for (const r of part) {
        scores.push(r.score!);
        labels.push(r.label!);
        expect(r.model_version).toBe('1');
      }
    }
    expect(scores).toEqual(Array.from(expected, (s) => String(s)));
    // The label is the predicted class at the definition's threshold (0.5): "bad" for the left leaf.
    expect(labels).toEqual(
      Array.from(expected, (s) => (s >= credit.serving.threshold ? credit.spec.label.positive : 'good')),
    );
    expect(new Set(labels)).toEqual(new Set(['bad', 'good']));
    expect(await lake.list(lakeKeys.scoresJob('credit', 'job-a'))).toEqual(
      [0, 1, 2].map((p) => lakeKeys.scoresPart('credit', 'job-a', p)),
    );
  });

  it('quarantines rows that break the spec with their file line and reason, carrying the id column along', async () => {
    const header = `id,${HEADER}`;
    const rows = LINES.slice(0, 6).map((l, i) => `A${i},${l}`);
    // Line 3: Age is not a number. Line 5: a field short. Line 6: an unknown label value (not a feature).
    rows[1] = rows[1]!.replace(/^(A1,"good",\d+,"\w+",\d+,)\d+/, '$1"old"');
    rows[3] = rows[3]!.replace(/,\d+$/, '');
    rows[4] = rows[4]!.replace(/^(A4,)"(good|bad)"/, '$1"unknown"');
    const text = [header, ...rows].join('\n');
    const chunk = rowsOfCsvChunk(text, 2);
    const res = await scoreChunk(
      { model: 'credit', version: 1, job: 'job-b', part: 7, idColumn: 'id', ...chunk },
      deps,
    );
    expect(res).toMatchObject({ rows: 6, scored: 4, quarantined: 2 });
    const quarantine = parseCsv(await lake.getText(res.quarantineKey!), 'quarantine').records.map(
      (r) => r.values,
    );
    expect(quarantine).toEqual([
      { line: '3', id: 'A1', reason: 'Age must be a finite number, got "old"' },
      { line: '5', id: '', reason: 'expected 15 fields, got 14' },
    ]);
    const part = partRows(await lake.getText(res.partKey));
    expect(part.map((r) => r.id)).toEqual(['A0', 'A2', 'A4', 'A5']);
    expect(Object.keys(part[0]!)).toEqual(['id', 'score', 'label', 'model_version']);
  });

  it('numbers lines by the chunk’s first line in the whole file', async () => {
    const text = [HEADER, LINES[0], LINES[1]].join('\n');
    const chunk = rowsOfCsvChunk(text, 2001);
    expect(chunk.rows.map((r) => r.line)).toEqual([2001, 2002]);
  });

  it('fails a chunk whose header lacks a feature, naming it, and writes nothing', async () => {
    const text = [HEADER.replace('"Income",', ''), ...LINES.slice(0, 3).map((l) => l)].join('\n');
    const chunk = rowsOfCsvChunk(text, 2);
    const err = await scoreChunk(
      { model: 'credit', version: 1, job: 'job-c', part: 0, ...chunk },
      deps,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BatchInputError);
    expect((err as Error).message).toMatch(/lacks column\(s\) Income that model credit version 1 needs/);
    expect(await lake.list(lakeKeys.scoresJob('credit', 'job-c'))).toEqual([]);
  });

  it('refuses a version that is not in the registry or was trained on another feature schema', async () => {
    const chunk = rowsOfCsvChunk([HEADER, LINES[0]].join('\n'), 2);
    const missing = await scoreChunk(
      { model: 'credit', version: 9, job: 'j', part: 0, ...chunk },
      deps,
    ).catch((e: unknown) => e);
    expect((missing as Error).message).toMatch(/Model credit version 9 cannot score: .*not in the registry/);
    const stale = await scoreChunk({ model: 'credit', version: 2, job: 'j', part: 0, ...chunk }, deps).catch(
      (e: unknown) => e,
    );
    expect((stale as Error).message).toMatch(
      /version 2 was trained on a feature schema this code does not compute/,
    );
  });

  it('refuses a first line before the first data row', () => {
    expect(() => rowsOfCsvChunk(DEMO, 1)).toThrow(/firstLine .* at least 2/);
  });
});

describe('the score-batch function, given a Distributed Map batch', () => {
  type Handler = (batch: MapBatch, context: Context) => Promise<unknown>;
  let handler: Handler;
  const context = { awsRequestId: 'req', functionName: 'score-batch' } as Context;

  beforeAll(async () => {
    useLocalEndpoints(aws, {
      REGISTRY_TABLE: 'registry',
      LAKE_BUCKET: 'lake',
      MLOPS_STAGE: 'test',
      POWERTOOLS_METRICS_NAMESPACE: 'Mlops/test',
      POWERTOOLS_SERVICE_NAME: 'score-batch',
    });
    ({ handler } = (await import('../../lambdas/score-batch/handler.ts')) as unknown as { handler: Handler });
  });

  /** Items as the CSV ItemReader (FIRST_ROW) and an ItemSelector of index and value give them: every cell a string. */
  function items(from: number, to: number): MapBatch['Items'] {
    const { header, records } = parseCsv(DEMO, 'demo');
    return records.slice(from, to).map((r, i) => ({
      index: from + i,
      row: Object.fromEntries(header.map((h) => [h, r.values[h]!])),
    }));
  }

  it('writes the batch as the part named by its first row and returns its counts', async () => {
    const batch = items(200, 300);
    batch[5]!.row.Income = 'lots';
    const out = await handler(
      { BatchInput: { model: 'credit', version: 1, job: 'job-m' }, Items: batch },
      context,
    );
    expect(out).toEqual({
      part: 200,
      rows: 100,
      scored: 99,
      quarantined: 1,
      partKey: 'scores/credit/job-m/part-0000000200.csv',
      quarantineKey: 'scores/credit/job-m/quarantine/part-0000000200.csv',
    });
    // Row index 205 is file line 207.
    expect(await lake.getText('scores/credit/job-m/quarantine/part-0000000200.csv')).toBe(
      'line,reason\n207,"Income must be a finite number, got ""lots"""\n',
    );
    expect(partRows(await lake.getText('scores/credit/job-m/part-0000000200.csv'))).toHaveLength(99);
  });

  it('fails a batch without BatchInput with InvalidInput, naming the field', async () => {
    const err = await handler(
      { BatchInput: { model: 'credit', version: 'x' as unknown as number, job: 'j' }, Items: items(0, 2) },
      context,
    ).catch((e: unknown) => e);
    expect((err as Error).name).toBe('InvalidInput');
    expect((err as Error).message).toBe('BatchInput.version must be a version number, got "x".');
  });
});

describe('the job’s ends: resolving the version and recording the job', () => {
  let jobDeps: JobDeps;
  let registry: DynamoModelRegistry;
  beforeAll(() => {
    registry = new DynamoModelRegistry(aws.db, 'registry', systemClock);
    jobDeps = { registry, lake, clock: { now: () => new Date('2026-01-01T00:01:30Z') } };
  });

  it('resolves the version asked for, refuses one not registered, and says when there is no production', async () => {
    await expect(
      resolveVersion({ task: 'resolve', model: 'credit', version: '1' }, jobDeps),
    ).resolves.toEqual({ model: 'credit', version: 1, idColumn: null });
    // The id column asked for, else the one the version's spec names.
    const { version: named } = await seedVersion(lake, 8);
    named.definition = { ...named.definition, spec: { ...named.definition.spec, idColumn: 'ApplicantId' } };
    await registry.putVersion(named);
    await expect(resolveVersion({ task: 'resolve', model: 'credit', version: 8 }, jobDeps)).resolves.toEqual({
      model: 'credit',
      version: 8,
      idColumn: 'ApplicantId',
    });
    await expect(
      resolveVersion({ task: 'resolve', model: 'credit', version: 8, idColumn: 'Ref' }, jobDeps),
    ).resolves.toMatchObject({ idColumn: 'Ref' });
    await expect(
      resolveVersion(
        { task: 'resolve', model: 'credit', version: 8, idColumn: 7 as unknown as string },
        jobDeps,
      ),
    ).rejects.toThrow('idColumn must be a column name or null, got 7.');
    await expect(resolveVersion({ task: 'resolve', model: 'credit', version: 9 }, jobDeps)).rejects.toThrow(
      'Model credit has no version 9.',
    );
    await expect(resolveVersion({ task: 'resolve', model: 'credit' }, jobDeps)).rejects.toThrow(
      /has no production version/,
    );
  });

  it('sums the children’s counts from the ResultWriter files and writes one audit event', async () => {
    // The files a Distributed Map's ResultWriter writes: a manifest naming the result files, each an
    // array of child executions whose Output is the JSON text of what the child returned.
    const child = (rows: number, quarantined: number) => ({
      Status: 'SUCCEEDED',
      Output: JSON.stringify({ part: 0, rows, scored: rows - quarantined, quarantined, partKey: 'k' }),
    });
    await lake.put(
      'scores/credit/job-z/map/run/SUCCEEDED_0.json',
      JSON.stringify([child(1000, 3), child(454, 0)]),
    );
    await lake.put(
      'scores/credit/job-z/map/run/manifest.json',
      JSON.stringify({
        DestinationBucket: 'lake',
        MapRunArn: 'arn',
        ResultFiles: {
          FAILED: [],
          PENDING: [],
          SUCCEEDED: [{ Key: 'scores/credit/job-z/map/run/SUCCEEDED_0.json', Size: 1 }],
        },
      }),
    );
    const summary = await finishJob(
      {
        task: 'finish',
        model: 'credit',
        version: 1,
        job: 'job-z',
        startedAt: '2026-01-01T00:00:00Z',
        results: {
          ResultWriterDetails: { Bucket: 'lake', Key: 'scores/credit/job-z/map/run/manifest.json' },
        },
      },
      jobDeps,
    );
    expect(summary).toEqual({
      job: 'job-z',
      model: 'credit',
      version: 1,
      rows: 1454,
      scored: 1451,
      quarantined: 3,
      output: 's3://lake/scores/credit/job-z/',
      durationSeconds: 90,
    });
    const audit = (await registry.listAudit('credit')).filter((e) => e.action === BATCH_SCORING_ACTION);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      version: 1,
      detail: { job: 'job-z', rows: 1454, scored: 1451, quarantined: 3, durationSeconds: 90 },
    });
  });
});
