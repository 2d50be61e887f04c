/**
 * Distributed Map states run by the twin's Step Functions from their ASL, over s3rver: a CSV read
 * in batches with MaxConcurrency honoured, a listObjectsV2 over a prefix, the ResultWriter's files,
 * tolerated and intolerable failures (with the Map's own Catch and Retry), and misconfigured readers.
 */
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeS3Client } from '../../lambdas/shared/adapters/aws/clients.ts';
import { s3MapStorage } from '../../local/distributed-map.ts';
import { type LocalS3, startLocalS3 } from '../../local/s3-server.ts';
import {
  LocalStepFunctions,
  type StateMachineDefinition,
  type TaskRunner,
} from '../../local/step-functions.ts';

const ARN = 'arn:aws:states:us-east-1:000000000000:stateMachine';
const LAMBDA = 'arn:aws:states:::lambda:invoke';
const BUCKET = 'lake';
const ROWS = 1000;

let s3: LocalS3;
let client: S3Client;

beforeAll(async () => {
  s3 = await startLocalS3();
  client = makeS3Client({
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    endpoints: { s3: s3.endpoint },
  });
  await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const lines = ['id,amount,note'];
  for (let i = 0; i < ROWS; i++) lines.push(`${i},${i * 2},"row ${i}, quoted"`);
  await put('raw/data.csv', `${lines.join('\n')}\n`);
  for (let i = 0; i < 5; i++) await put(`parts/part-${i}.csv`, 'x'.repeat(10 + i));
  await put('other/ignored.csv', 'not listed');
});

afterAll(async () => {
  client?.destroy();
  await s3?.close();
});

async function put(key: string, body: string) {
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
}

async function getJson(key: string): Promise<unknown> {
  const res = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return JSON.parse(await res.Body!.transformToString());
}

/** A machine whose first state is the given distributed Map, followed by a Pass. */
function machine(name: string, map: Record<string, unknown>): StateMachineDefinition {
  return {
    arn: `${ARN}:${name}`,
    definition: {
      StartAt: 'Fan',
      States: {
        Fan: { Type: 'Map', ...map, Next: 'After' },
        After: { Type: 'Pass', End: true },
        ...((map.Catch as unknown[] | undefined) ? { Caught: { Type: 'Pass', End: true } } : {}),
      },
    },
  };
}

function distributed(states: Record<string, unknown>, startAt: string) {
  return {
    ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
    StartAt: startAt,
    States: states,
  };
}

/** The twin's Step Functions with one Lambda-like task runner, on s3rver. */
function stepFunctions(machines: StateMachineDefinition[], lambda: TaskRunner = async (x) => x) {
  return new LocalStepFunctions({
    machines,
    task: (resource) => {
      if (resource === LAMBDA)
        return async (input) => ({ Payload: await lambda((input as { Payload: unknown }).Payload) });
      throw new Error(`no runner for ${resource}`);
    },
    waitMs: () => 0,
    storage: s3MapStorage(client),
  });
}

describe('a distributed Map over a CSV in S3', () => {
  it('reads 1,000 rows in batches of 100, runs at most 3 children at once, and keeps every row', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const seen: { batch: number; ids: number[]; tag: unknown }[] = [];
    const score: TaskRunner = async (payload) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 20));
      const { Items, BatchInput } = payload as {
        Items: { row: { id: string; amount: string; note: string }; index: number; run: string }[];
        BatchInput: { tag: string };
      };
      seen.push({ batch: seen.length, ids: Items.map((i) => Number(i.row.id)), tag: BatchInput.tag });
      for (const item of Items) {
        // Step Functions gives CSV values as strings, quoted fields unquoted; the index is the row's.
        expect(item.row.amount).toBe(String(Number(item.row.id) * 2));
        expect(item.row.note).toBe(`row ${item.row.id}, quoted`);
        expect(item.index).toBe(Number(item.row.id));
        expect(item.run).toBe('r1');
      }
      inFlight--;
      return { rows: Items.length, sum: Items.reduce((s, i) => s + Number(i.row.amount), 0) };
    };
    const sf = stepFunctions(
      [
        machine('csv', {
          ItemReader: {
            Resource: 'arn:aws:states:::s3:getObject',
            ReaderConfig: { InputType: 'CSV', CSVHeaderLocation: 'FIRST_ROW' },
            Parameters: { 'Bucket.$': '$.bucket', 'Key.$': '$.key' },
          },
          ItemSelector: { 'row.$': '$$.Map.Item.Value', 'index.$': '$$.Map.Item.Index', 'run.$': '$.run' },
          ItemBatcher: { MaxItemsPerBatch: 100, BatchInput: { 'tag.$': '$.run' } },
          MaxConcurrency: 3,
          ItemProcessor: distributed(
            {
              Score: {
                Type: 'Task',
                Resource: LAMBDA,
                Parameters: { FunctionName: 'score', 'Payload.$': '$' },
                OutputPath: '$.Payload',
                End: true,
              },
            },
            'Score',
          ),
          ResultSelector: { 'batches.$': '$' },
          ResultPath: '$.map',
        }),
      ],
      score,
    );
    const record = await sf.execute(`${ARN}:csv`, { bucket: BUCKET, key: 'raw/data.csv', run: 'r1' });

    expect(record.status, record.cause).toBe('SUCCEEDED');
    expect(maxInFlight).toBe(3);
    expect(seen).toHaveLength(10);
    expect(seen.every((b) => b.ids.length === 100 && b.tag === 'r1')).toBe(true);
    expect(
      seen
        .flatMap((b) => b.ids)
        .sort((a, b) => a - b)
        .join(),
    ).toBe(Array.from({ length: ROWS }, (_, i) => i).join());
    const output = record.output as { run: string; map: { batches: { rows: number; sum: number }[] } };
    expect(output.run).toBe('r1');
    expect(output.map.batches).toHaveLength(10);
    // Results come in item order: batch k holds rows 100k..100k+99.
    expect(output.map.batches.map((b) => b.sum)).toEqual(
      Array.from({ length: 10 }, (_, k) => 2 * (100 * k * 100 + (99 * 100) / 2)),
    );
    // The record sums the children up instead of listing 10 × their states.
    expect(record.states).toEqual(['Fan', 'Score ×10', 'After']);
    expect(sf.executions).toHaveLength(1);
  });

  it('honours MaxItems, CSVHeaderLocation GIVEN and MaxInputBytesPerBatch', async () => {
    const sizes: number[] = [];
    const sf = stepFunctions(
      [
        machine('given', {
          ItemReader: {
            Resource: 'arn:aws:states:::s3:getObject',
            ReaderConfig: {
              InputType: 'CSV',
              CSVHeaderLocation: 'GIVEN',
              CSVHeaders: ['a', 'b', 'c'],
              MaxItems: 250,
            },
            Parameters: { Bucket: BUCKET, Key: 'raw/data.csv' },
          },
          ItemBatcher: { MaxInputBytesPerBatch: 2048 },
          ItemProcessor: distributed(
            {
              Count: {
                Type: 'Task',
                Resource: LAMBDA,
                Parameters: { FunctionName: 'count', 'Payload.$': '$' },
                OutputPath: '$.Payload',
                End: true,
              },
            },
            'Count',
          ),
        }),
      ],
      async (payload) => {
        sizes.push(Buffer.byteLength(JSON.stringify(payload)));
        const items = (payload as { Items: { a: string }[] }).Items;
        return items.map((i) => i.a);
      },
    );
    const record = await sf.execute(`${ARN}:given`, {});
    expect(record.status, record.cause).toBe('SUCCEEDED');
    const firsts = (record.output as string[][]).flat();
    // GIVEN: the file's own header row is an item like any other.
    expect(firsts).toHaveLength(250);
    expect(firsts[0]).toBe('id');
    expect(firsts[249]).toBe('248');
    expect(sizes.length).toBeGreaterThan(1);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(2048);
  });
});

describe('a distributed Map over a prefix, with a ResultWriter', () => {
  it('lists the prefix, runs a child per object and writes the manifest and results files', async () => {
    const sf = stepFunctions([
      machine('list', {
        ItemReader: {
          Resource: 'arn:aws:states:::s3:listObjectsV2',
          Parameters: { Bucket: BUCKET, Prefix: 'parts/' },
        },
        ItemProcessor: distributed(
          { Describe: { Type: 'Pass', Parameters: { 'key.$': '$.Key', 'size.$': '$.Size' }, End: true } },
          'Describe',
        ),
        ResultWriter: {
          Resource: 'arn:aws:states:::s3:putObject',
          Parameters: { Bucket: BUCKET, Prefix: 'results' },
        },
      }),
    ]);
    const record = await sf.execute(`${ARN}:list`, {});
    expect(record.status, record.cause).toBe('SUCCEEDED');
    const out = record.output as { MapRunArn: string; ResultWriterDetails: { Bucket: string; Key: string } };
    expect(out.MapRunArn).toMatch(/^arn:aws:states:us-east-1:000000000000:mapRun:list\/Fan:[0-9a-f-]{36}$/);
    const runId = out.MapRunArn.slice(out.MapRunArn.lastIndexOf(':') + 1);
    expect(out.ResultWriterDetails).toEqual({ Bucket: BUCKET, Key: `results/${runId}/manifest.json` });

    const manifest = (await getJson(out.ResultWriterDetails.Key)) as {
      DestinationBucket: string;
      MapRunArn: string;
      ResultFiles: Record<string, { Key: string; Size: number }[]>;
    };
    expect(manifest.DestinationBucket).toBe(BUCKET);
    expect(manifest.MapRunArn).toBe(out.MapRunArn);
    expect(manifest.ResultFiles.FAILED).toEqual([]);
    expect(manifest.ResultFiles.SUCCEEDED).toHaveLength(1);
    const file = manifest.ResultFiles.SUCCEEDED![0]!;
    expect(file.Key).toBe(`results/${runId}/SUCCEEDED_0.json`);
    const succeeded = (await getJson(file.Key)) as Record<string, unknown>[];
    expect(Buffer.byteLength(JSON.stringify(succeeded))).toBe(file.Size);
    expect(succeeded).toHaveLength(5);
    const outputs = succeeded
      .map((e) => JSON.parse(e.Output as string))
      .sort((a, b) => a.key.localeCompare(b.key));
    expect(outputs).toEqual(
      Array.from({ length: 5 }, (_, i) => ({ key: `parts/part-${i}.csv`, size: 10 + i })),
    );
    for (const e of succeeded) {
      expect(e.Status).toBe('SUCCEEDED');
      expect(e.StateMachineArn).toBe(`${ARN}:list/Fan`);
      expect(String(e.ExecutionArn)).toMatch(/^arn:aws:states:us-east-1:000000000000:execution:list\/Fan:/);
      const input = JSON.parse(e.Input as string) as Record<string, unknown>;
      expect(Object.keys(input).sort()).toEqual(['Etag', 'Key', 'LastModified', 'Size', 'StorageClass']);
      expect(typeof input.LastModified).toBe('number');
    }
    expect(record.states).toEqual(['Fan', 'Describe ×5', 'After']);
  });
});

describe('failures in a distributed Map', () => {
  const items = Array.from({ length: 20 }, (_, i) => ({ id: i, bad: i % 7 === 3 })); // 3, 10, 17 fail: 15%

  const failing = (map: Record<string, unknown>) =>
    machine('failing', {
      ItemsPath: '$.items',
      ItemProcessor: distributed(
        {
          Check: {
            Type: 'Choice',
            Choices: [{ Variable: '$.bad', BooleanEquals: true, Next: 'Reject' }],
            Default: 'Accept',
          },
          Accept: { Type: 'Pass', End: true },
          Reject: { Type: 'Fail', Error: 'BadRow', Cause: 'row rejected' },
        },
        'Check',
      ),
      ...map,
    });

  it('tolerates failures within ToleratedFailureCount and writes them to FAILED_0.json', async () => {
    await put('items.json', JSON.stringify(items));
    const sf = stepFunctions([
      failing({
        ItemsPath: undefined,
        ItemReader: {
          Resource: 'arn:aws:states:::s3:getObject',
          ReaderConfig: { InputType: 'JSON' },
          Parameters: { Bucket: BUCKET, Key: 'items.json' },
        },
        ToleratedFailureCount: 3,
        ResultWriter: {
          Resource: 'arn:aws:states:::s3:putObject',
          Parameters: { Bucket: BUCKET, Prefix: 'tolerated/' },
        },
      }),
    ]);
    const record = await sf.execute(`${ARN}:failing`, {});
    expect(record.status, record.cause).toBe('SUCCEEDED');
    const { ResultWriterDetails } = record.output as { ResultWriterDetails: { Key: string } };
    expect(ResultWriterDetails.Key).toMatch(/^tolerated\/[0-9a-f-]{36}\/manifest\.json$/);
    const manifest = (await getJson(ResultWriterDetails.Key)) as {
      ResultFiles: Record<string, { Key: string }[]>;
    };
    const failed = (await getJson(manifest.ResultFiles.FAILED![0]!.Key)) as Record<string, unknown>[];
    const succeeded = (await getJson(manifest.ResultFiles.SUCCEEDED![0]!.Key)) as unknown[];
    expect(succeeded).toHaveLength(17);
    expect(failed.map((f) => JSON.parse(f.Input as string).id).sort((a, b) => a - b)).toEqual([3, 10, 17]);
    expect(
      failed.every((f) => f.Status === 'FAILED' && f.Error === 'BadRow' && f.Cause === 'row rejected'),
    ).toBe(true);
    expect(failed.every((f) => f.Output === undefined)).toBe(true);
    expect(record.states).toEqual(['Fan', 'Check ×20', 'Accept ×17', 'Reject ×3', 'After']);
  });

  it("fails with States.ExceedToleratedFailureThreshold beyond ToleratedFailurePercentage, caught by the Map's Catch", async () => {
    const sf = stepFunctions([
      failing({
        ToleratedFailurePercentage: 10,
        Catch: [
          { ErrorEquals: ['States.ExceedToleratedFailureThreshold'], ResultPath: '$.error', Next: 'Caught' },
        ],
      }),
    ]);
    const record = await sf.execute(`${ARN}:failing`, { items });
    expect(record.status).toBe('SUCCEEDED');
    expect(record.states.at(-1)).toBe('Caught');
    const error = (record.output as { error: { Error: string; Cause: string } }).error;
    expect(error.Error).toBe('States.ExceedToleratedFailureThreshold');
    expect(error.Cause).toMatch(/"Fan".*3 of 20 items failed/);

    const uncaught = stepFunctions([failing({ ToleratedFailurePercentage: 10 })]);
    const failed = await uncaught.execute(`${ARN}:failing`, { items });
    expect(failed.status).toBe('FAILED');
    expect(failed.error).toBe('States.ExceedToleratedFailureThreshold');
    // The record names the first child's own error.
    expect(failed.taskError).toMatchObject({ state: 'Reject', error: 'BadRow' });
  });

  it('with the default tolerance of 0, one failure fails the Map; its Retry runs it again', async () => {
    let attempts = 0;
    const sf = stepFunctions(
      [
        machine('retry', {
          ItemsPath: '$.items',
          MaxConcurrency: 1,
          Retry: [{ ErrorEquals: ['States.ExceedToleratedFailureThreshold'], MaxAttempts: 2 }],
          ItemProcessor: distributed(
            {
              Flaky: {
                Type: 'Task',
                Resource: LAMBDA,
                Parameters: { FunctionName: 'flaky', 'Payload.$': '$' },
                OutputPath: '$.Payload',
                End: true,
              },
            },
            'Flaky',
          ),
        }),
      ],
      async (payload) => {
        attempts++;
        if (attempts === 2) throw Object.assign(new Error('flaked'), { name: 'Flaked' });
        return payload;
      },
    );
    const record = await sf.execute(`${ARN}:retry`, { items: [1, 2, 3] });
    expect(record.status, record.cause).toBe('SUCCEEDED');
    expect(record.output).toEqual([1, 2, 3]);
    // First run: item 1 succeeds, item 2 fails, item 3 never starts; then three more.
    expect(attempts).toBe(5);
  });
});

describe('a misconfigured distributed Map', () => {
  const reader = (readerConfig: Record<string, unknown>, resource = 'arn:aws:states:::s3:getObject') =>
    machine('bad', {
      ItemReader: {
        Resource: resource,
        ReaderConfig: readerConfig,
        Parameters: { Bucket: BUCKET, Key: 'raw/data.csv' },
      },
      ItemProcessor: distributed({ P: { Type: 'Pass', End: true } }, 'P'),
    });

  it('is refused when loaded, naming the state machine, the state and the field', () => {
    expect(() => stepFunctions([reader({ InputType: 'XML' })])).toThrow(
      /stateMachine:bad, distributed Map state "Fan": ItemReader\.ReaderConfig\.InputType must be CSV or JSON .*"XML"/,
    );
    expect(() => stepFunctions([reader({ InputType: 'CSV', CSVHeaderLocation: 'GIVEN' })])).toThrow(
      /"Fan": ItemReader\.ReaderConfig\.CSVHeaders must list the column names/,
    );
    expect(() => stepFunctions([reader({ InputType: 'CSV' })])).toThrow(
      /"Fan": ItemReader\.ReaderConfig\.CSVHeaderLocation must be FIRST_ROW or GIVEN \(got undefined\)/,
    );
    expect(() => stepFunctions([reader({}, 'arn:aws:states:::s3:getObjectAttributes')])).toThrow(
      /"Fan": ItemReader\.Resource must be/,
    );
  });

  it('fails with States.ItemReaderFailed, naming the state and the object, when the object is missing', async () => {
    const sf = stepFunctions([
      machine('missing', {
        ItemReader: {
          Resource: 'arn:aws:states:::s3:getObject',
          ReaderConfig: { InputType: 'JSON' },
          Parameters: { Bucket: BUCKET, 'Key.$': '$.key' },
        },
        ItemProcessor: distributed({ P: { Type: 'Pass', End: true } }, 'P'),
      }),
    ]);
    const record = await sf.execute(`${ARN}:missing`, { key: 'no/such.json' });
    expect(record.status).toBe('FAILED');
    expect(record.error).toBe('States.ItemReaderFailed');
    expect(record.cause).toMatch(
      /"Fan": reading s3:\/\/lake\/no\/such\.json \(ItemReader\.Parameters\) failed: NoSuchKey/,
    );
  });
});
