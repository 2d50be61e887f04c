import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scoreFiles } from '../../cli/score.ts';
import { lakeKeys } from '../../contracts/lake.ts';
import { parseCsv } from '../../core/features/csv.ts';
import { systemClock } from '../../core/ports.ts';
import type { ByteRange } from '../../core/snapshot/ranges.ts';
import {
  BatchInputError,
  type RangeInput,
  rowsOfCsvChunk,
  type ScoreBatchDeps,
  type ScoreRangeResult,
  scoreRange,
} from '../../lambdas/score-batch/core.ts';
import {
  BATCH_SCORING_ACTION,
  finishJob,
  type JobDeps,
  planJob,
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
let jobDeps: JobDeps;
let registry: DynamoModelRegistry;
let dir: string;

beforeAll(async () => {
  aws = await startLocalAws();
  lake = await aws.createBucket('lake');
  await aws.createTable('registry');
  registry = new DynamoModelRegistry(aws.db, 'registry', systemClock);
  jobDeps = { registry, lake, clock: { now: () => new Date('2026-01-01T00:01:30Z') } };
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

/** Uploads `text` as a job's input, plans it at `rangeBytes`, and scores every range in part order. */
async function scoreJob(job: string, text: string, rangeBytes: number, version = 1, idColumn?: string) {
  const key = lakeKeys.scoresInput('credit', job);
  await lake.put(key, text, 'text/csv');
  const plan = await planJob(
    {
      task: 'resolve',
      request: {
        model: 'credit',
        job,
        version,
        idColumn: idColumn ?? null,
        input: { bucket: 'lake', key },
        rangeBytes,
      },
    },
    jobDeps,
  );
  const ranges = JSON.parse(await lake.getText(plan.items)) as ByteRange[];
  const results: ScoreRangeResult[] = [];
  for (const range of ranges) {
    results.push(
      await scoreRange(
        { model: 'credit', version: plan.version, job, idColumn: plan.idColumn, header: plan.header, range },
        deps,
      ),
    );
  }
  return { plan, ranges, results };
}

describe('scoring byte ranges of an input CSV with a version from the registry', () => {
  it('scores every demo row once, as `mlops score` does, whatever the range size, one part per range in file order', async () => {
    const expected = scoreFiles({
      model: join(dir, 'model.json'),
      input: 'data/credit_data.csv',
      spec: join(dir, 'credit.json'),
      transform: join(dir, 'transform.json'),
    });
    for (const rangeBytes of [4096, 50_000, 16 * 1024 * 1024]) {
      const job = `job-a-${rangeBytes}`;
      const { plan, results } = await scoreJob(job, DEMO, rangeBytes);
      expect(plan).toMatchObject({ version: 1, idColumn: null, header: HEADER, rangeBytes });
      expect(plan.ranges).toBe(Math.ceil(Buffer.byteLength(DEMO) / rangeBytes));
      expect(results.map((r) => r.part)).toEqual(results.map((_, i) => i));
      expect(results.reduce((n, r) => n + r.rows, 0)).toBe(LINES.length);
      expect(results.reduce((n, r) => n + r.scored, 0)).toBe(LINES.length);
      const scores: string[] = [];
      const labels: string[] = [];
      for (const r of results) {
        expect(r.partKey).toBe(lakeKeys.scoresPart('credit', job, r.part));
        const part = partRows(await lake.getText(r.partKey));
        expect(part).toHaveLength(r.scored);
        for (const row of part) {
          scores.push(row.score!);
          labels.push(row.label!);
          expect(row.model_version).toBe('1');
        }
      }
      expect(scores).toEqual(Array.from(expected, (x) => String(x)));
      // The label is the predicted class at the definition's threshold (0.5): "bad" for the left leaf.
      expect(labels).toEqual(
        Array.from(expected, (x) => (x >= credit.serving.threshold ? credit.spec.label.positive : 'good')),
      );
    }
  });

  it('quarantines rows that break the spec with their part, line in the part and byte in the file, carrying the id column along', async () => {
    const header = `id,${HEADER}`;
    const rows = LINES.slice(0, 400).map((l, i) => `A${i},${l}`);
    // Rows 1 (Age not a number), 3 (a field short) and 350 (Income not a number) break the spec; row 4
    // has an unknown label value, which is no feature.
    rows[1] = rows[1]!.replace(/^(A1,"good",\d+,"\w+",\d+,)\d+/, '$1"old"');
    rows[3] = rows[3]!.replace(/,\d+$/, '');
    rows[4] = rows[4]!.replace(/^(A4,)"(good|bad)"/, '$1"unknown"');
    rows[350] = rows[350]!.replace(/^((?:[^,]*,){10})\d+/, '$1"x"');
    const text = `${[header, ...rows].join('\n')}\n`;
    const { ranges, results } = await scoreJob('job-b', text, 8192, 1, 'id');
    expect(results.length).toBeGreaterThan(2);
    expect(results.reduce((n, r) => n + r.rows, 0)).toBe(400);
    expect(results.reduce((n, r) => n + r.scored, 0)).toBe(397);
    expect(results.reduce((n, r) => n + r.quarantined, 0)).toBe(3);
    const quarantined = [];
    for (const r of results.filter((x) => x.quarantineKey)) {
      quarantined.push(...parseCsv(await lake.getText(r.quarantineKey!), 'q').records.map((q) => q.values));
    }
    expect(quarantined.map((q) => [q.id, q.reason])).toEqual([
      ['A1', 'Age must be a finite number, got "old"'],
      ['', 'expected 15 fields, got 14'],
      ['A350', 'Income must be a finite number, got "x"'],
    ]);
    // The byte is where the row's line begins in the file (the text is ASCII: a byte is a character),
    // in the part's range; the line counts the range's own lines from 1.
    expect(quarantined.map((q) => text.slice(Number(q.byte), text.indexOf('\n', Number(q.byte))))).toEqual([
      rows[1],
      rows[3],
      rows[350],
    ]);
    for (const q of quarantined) {
      const byte = Number(q.byte);
      const range = ranges[Number(q.part)]!;
      expect(byte >= range.start && byte < range.end, `byte ${byte} in ${JSON.stringify(range)}`).toBe(true);
      const first = text.indexOf('\n', range.start === 0 ? 0 : range.start - 1) + 1;
      expect(Number(q.line)).toBe(text.slice(first, byte).split('\n').length);
    }
    expect(Number(quarantined[2]!.part)).toBeGreaterThan(Number(quarantined[0]!.part));
    const ids: string[] = [];
    for (const r of results) ids.push(...partRows(await lake.getText(r.partKey)).map((p) => p.id!));
    expect(ids).toEqual(rows.map((_, i) => `A${i}`).filter((id) => !['A1', 'A3', 'A350'].includes(id)));
    expect(Object.keys(partRows(await lake.getText(results[0]!.partKey))[0]!)).toEqual([
      'id',
      'score',
      'label',
      'model_version',
    ]);
  });

  it('counts a quarantined row’s line from the first line its range owns', async () => {
    const rows = LINES.slice(0, 10);
    rows[6] = rows[6]!.replace(/,\d+$/, '');
    const text = `${[HEADER, ...rows].join('\n')}\n`;
    const cut = Buffer.byteLength(`${[HEADER, ...rows.slice(0, 4)].join('\n')}\n`);
    // Two ranges: the second owns rows 4.. (its line 1 is row 4), so row 6 is its line 3.
    const key = lakeKeys.scoresInput('credit', 'job-l');
    await lake.put(key, text, 'text/csv');
    const size = Buffer.byteLength(text);
    const range = { part: 1, key, size, start: cut, end: size };
    const res = await scoreRange({ model: 'credit', version: 1, job: 'job-l', header: HEADER, range }, deps);
    expect(res).toMatchObject({ rows: 6, scored: 5, quarantined: 1 });
    const byte = Buffer.byteLength(`${[HEADER, ...rows.slice(0, 6)].join('\n')}\n`);
    expect(await lake.getText(res.quarantineKey!)).toBe(
      `part,line,byte,reason\n1,3,${byte},"expected 14 fields, got 13"\n`,
    );
  });

  it('refuses a quoted cell holding a line break, naming the line', async () => {
    const rows = LINES.slice(0, 5);
    rows[2] = rows[2]!.replace(/^"(good|bad)"/, '"go\nod"');
    const err = await scoreJob('job-q', `${[HEADER, ...rows].join('\n')}\n`, 4096).catch((e: unknown) => e);
    expect((err as Error).name).toBe('InvalidInput');
    expect((err as Error).message).toMatch(/line 4 has an odd number of double quotes/);
  });

  it('fails a range whose header lacks a feature, naming it, and writes nothing', async () => {
    const text = `${[HEADER.replace('"Income",', ''), ...LINES.slice(0, 3)].join('\n')}\n`;
    const err = await scoreJob('job-c', text, 4096).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BatchInputError);
    expect((err as Error).message).toMatch(/lacks column\(s\) Income that model credit version 1 needs/);
    expect(
      (await lake.list(lakeKeys.scoresJob('credit', 'job-c'))).filter((k) => k.includes('part-')),
    ).toEqual([]);
  });

  it('fails the first range when the file’s header is not the one the job was planned with', async () => {
    const key = lakeKeys.scoresInput('credit', 'job-h');
    const text = `${[HEADER, LINES[0]].join('\n')}\n`;
    await lake.put(key, text, 'text/csv');
    const size = Buffer.byteLength(text);
    const err = await scoreRange(
      {
        model: 'credit',
        version: 1,
        job: 'job-h',
        header: `${HEADER},"Extra"`,
        range: { part: 0, key, size, start: 0, end: size },
      },
      deps,
    ).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/its header differs from the one the work was planned with/);
  });

  it('refuses a version that is not in the registry or was trained on another feature schema', async () => {
    const missing = await scoreJob('job-v9', DEMO, 1 << 20, 9).catch((e: unknown) => e);
    expect((missing as Error).message).toBe('Model credit has no version 9.');
    const key = lakeKeys.scoresInput('credit', 'job-v9');
    const size = Buffer.byteLength(DEMO);
    const range = { part: 0, key, size, start: 0, end: size };
    const gone = await scoreRange(
      { model: 'credit', version: 9, job: 'j', header: HEADER, range },
      deps,
    ).catch((e: unknown) => e);
    expect((gone as Error).message).toMatch(/Model credit version 9 cannot score: .*not in the registry/);
    const stale = await scoreRange(
      { model: 'credit', version: 2, job: 'j', header: HEADER, range },
      deps,
    ).catch((e: unknown) => e);
    expect((stale as Error).message).toMatch(
      /version 2 was trained on a feature schema this code does not compute/,
    );
  });

  it('refuses a range outside scores/ and raw/, and a malformed range, naming them', async () => {
    const bad = (range: unknown) =>
      scoreRange(
        { model: 'credit', version: 1, job: 'j', header: HEADER, range: range as ByteRange },
        deps,
      ).catch((e: unknown) => e as Error) as Promise<Error>;
    expect((await bad({ part: 0, key: 'artifacts/x.csv', size: 10, start: 0, end: 10 })).message).toMatch(
      /reads "artifacts\/x.csv": batch scoring reads inputs under scores\/ or raw\/ only/,
    );
    expect((await bad({ part: 0, key: 'scores/x.csv', size: 10, start: 5, end: 2 })).message).toMatch(
      /is not \{part, key, size, start, end\}/,
    );
  });

  it('numbers lines by the chunk’s first line', () => {
    const chunk = rowsOfCsvChunk([HEADER, LINES[0], LINES[1]].join('\n'), 2001);
    expect(chunk.rows.map((r) => r.line)).toEqual([2001, 2002]);
    expect(() => rowsOfCsvChunk(DEMO, 1)).toThrow(/firstLine .* at least 2/);
  });
});

describe('the score-batch function, given a Distributed Map item', () => {
  type Handler = (input: RangeInput, context: Context) => Promise<unknown>;
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

  it('writes the range as the part named by its number and returns its counts', async () => {
    const rows = LINES.slice(0, 100);
    rows[5] = rows[5]!.replace(/^((?:[^,]*,){9})\d+/, '$1"lots"');
    const text = `${[HEADER, ...rows].join('\n')}\n`;
    const key = lakeKeys.scoresInput('credit', 'job-m');
    await lake.put(key, text, 'text/csv');
    const size = Buffer.byteLength(text);
    const out = await handler(
      {
        model: 'credit',
        version: 1,
        job: 'job-m',
        idColumn: null,
        header: HEADER,
        range: { part: 3, key, size, start: 0, end: size },
      },
      context,
    );
    expect(out).toEqual({
      part: 3,
      rows: 100,
      scored: 99,
      quarantined: 1,
      partKey: 'scores/credit/job-m/part-0000000003.csv',
      quarantineKey: 'scores/credit/job-m/quarantine/part-0000000003.csv',
    });
    const byte = Buffer.byteLength(`${[HEADER, ...rows.slice(0, 5)].join('\n')}\n`);
    expect(await lake.getText('scores/credit/job-m/quarantine/part-0000000003.csv')).toBe(
      `part,line,byte,reason\n3,6,${byte},"Income must be a finite number, got ""lots"""\n`,
    );
    expect(partRows(await lake.getText('scores/credit/job-m/part-0000000003.csv'))).toHaveLength(99);
  });

  it('fails an input with a bad field with InvalidInput, naming the field', async () => {
    const err = await handler(
      {
        model: 'credit',
        version: 'x' as unknown as number,
        job: 'j',
        header: HEADER,
        range: { part: 0, key: 'scores/x.csv', size: 1, start: 0, end: 1 },
      },
      context,
    ).catch((e: unknown) => e);
    expect((err as Error).name).toBe('InvalidInput');
    expect((err as Error).message).toBe('version must be a version number, got "x".');
  });
});

describe('the job’s ends: resolving the version and recording the job', () => {
  it('resolves the version asked for, refuses one not registered, and says when there is no production', async () => {
    await expect(resolveVersion({ model: 'credit', version: '1' }, jobDeps)).resolves.toEqual({
      model: 'credit',
      version: 1,
      idColumn: null,
    });
    // The id column asked for, else the one the version's spec names.
    const { version: named } = await seedVersion(lake, 8);
    named.definition = { ...named.definition, spec: { ...named.definition.spec, idColumn: 'ApplicantId' } };
    await registry.putVersion(named);
    await expect(resolveVersion({ model: 'credit', version: 8 }, jobDeps)).resolves.toEqual({
      model: 'credit',
      version: 8,
      idColumn: 'ApplicantId',
    });
    await expect(
      resolveVersion({ model: 'credit', version: 8, idColumn: 'Ref' }, jobDeps),
    ).resolves.toMatchObject({ idColumn: 'Ref' });
    await expect(
      resolveVersion({ model: 'credit', version: 8, idColumn: 7 as unknown as string }, jobDeps),
    ).rejects.toThrow('idColumn must be a column name or null, got 7.');
    await expect(resolveVersion({ model: 'credit', version: 9 }, jobDeps)).rejects.toThrow(
      'Model credit has no version 9.',
    );
    await expect(resolveVersion({ model: 'credit' }, jobDeps)).rejects.toThrow(/has no production version/);
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
