/**
 * The prediction log under DynamoDB throttling. dynalite never throttles, so the throttling is
 * injected at the client: a document client in front of dynalite whose BatchWriteItem writes only
 * part of each batch (the rest comes back as UnprocessedItems, as DynamoDB throttles item by item)
 * for as long as the test says. The registry, the lake and the table are real (dynalite, s3rver),
 * and the requests go through the predict function's core.
 */
import {
  BatchWriteCommand,
  type BatchWriteCommandOutput,
  type DynamoDBDocumentClient,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../core/ports.ts';
import { inProcessRuntime } from '../../core/serving/runtime.ts';
import { handlePredict, type PredictDeps, type PredictMetric } from '../../lambdas/predict/core.ts';
import { createModelCache } from '../../lambdas/predict/model-cache.ts';
import { DynamoPredictionLogWriter } from '../../lambdas/shared/adapters/aws/dynamo-prediction-log-writer.ts';
import { DynamoModelRegistry } from '../../lambdas/shared/adapters/aws/dynamo-registry.ts';
import { DynamoRegistryReader } from '../../lambdas/shared/adapters/aws/dynamo-registry-reader.ts';
import type { S3ObjectStore } from '../../lambdas/shared/adapters/aws/s3-object-store.ts';
import { seedVersion } from '../support/fixtures.ts';
import { type LocalAws, startLocalAws } from '../support/local-aws.ts';
import { sampleRows } from '../support/requests.ts';

/**
 * A client whose BatchWriteItem lets through to dynalite only the first `admitted(call)` items of each
 * batch (all of them when it says undefined) and returns the others as unprocessed. Every call's
 * size, unprocessed count and start time are recorded.
 */
function throttlingClient(aws: LocalAws, admitted: (call: number) => number | undefined) {
  const calls: { at: number; items: number; unprocessed: number }[] = [];
  const send = async (command: BatchWriteCommand) => {
    const [table, requests] = Object.entries(command.input.RequestItems ?? {})[0]!;
    const record = { at: performance.now(), items: requests.length, unprocessed: 0 };
    const through = admitted(calls.length) ?? requests.length;
    calls.push(record);
    const admittedItems = requests.slice(0, through);
    const held = requests.slice(through);
    const written =
      admittedItems.length > 0
        ? await aws.db.send(new BatchWriteCommand({ RequestItems: { [table]: admittedItems } }))
        : {};
    const unprocessed = [...((written as BatchWriteCommandOutput).UnprocessedItems?.[table] ?? []), ...held];
    record.unprocessed = unprocessed.length;
    return { UnprocessedItems: unprocessed.length > 0 ? { [table]: unprocessed } : {} };
  };
  return { client: { send } as unknown as DynamoDBDocumentClient, calls };
}

describe('the prediction log under throttling, through the predict core on dynalite', () => {
  let aws: LocalAws;
  let lake: S3ObjectStore;
  let base: Omit<PredictDeps, 'log' | 'metric'>;

  beforeAll(async () => {
    aws = await startLocalAws();
    await aws.createTable('registry');
    await aws.createTable('predictions');
    lake = await aws.createBucket('lake');
    const registry = new DynamoModelRegistry(aws.db, 'registry', systemClock);
    const { version } = await seedVersion(lake, 1, { leftLeaf: 1, rightLeaf: -1 });
    await registry.putVersion({ ...version, status: 'Approved' });
    await registry.moveAlias('credit', undefined, { current: 1, history: [] });
    base = {
      registry: new DynamoRegistryReader(aws.db, 'registry'),
      lake,
      cache: createModelCache(),
      runtime: inProcessRuntime,
      clock: systemClock,
      knownModels: ['credit'],
      defaultModel: 'credit',
      onError: () => {},
    };
  });
  afterAll(async () => aws.stop());

  async function loggedRows(requestId: string): Promise<Record<string, unknown>[]> {
    const hour = new Date().toISOString().slice(0, 13);
    const rows: Record<string, unknown>[] = [];
    for (let shard = 0; shard < 4; shard++) {
      const q = await aws.db.send(
        new QueryCommand({
          TableName: 'predictions',
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': `credit#${hour}#${shard}` },
        }),
      );
      rows.push(...(q.Items ?? []).filter((i) => i.requestId === requestId));
    }
    return rows;
  }

  function request(instances: unknown[], requestId: string) {
    return {
      method: 'POST',
      path: '/v1/predict',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances }),
      isBase64Encoded: false,
      requestId,
    };
  }

  it('GIVEN a log that throttles the first attempts WHEN 30 instances are predicted THEN unprocessed rows are retried after growing jittered delays and every row is written', async () => {
    // Two chunks (25 + 5); the first four calls write one item each and leave the rest.
    const { client, calls } = throttlingClient(aws, (call) => (call < 4 ? 1 : undefined));
    const jitter = [0.9, 0.8, 0.7, 0.6, 0.5];
    const delays: number[] = [];
    const metrics: [PredictMetric, number][] = [];
    const log = new DynamoPredictionLogWriter(client, 'predictions', 90, {
      baseDelayMs: 20,
      budgetMs: 1500,
      random: () => jitter.shift() ?? 0.5,
      sleep: async (ms) => {
        delays.push(ms);
        await new Promise((r) => setTimeout(r, ms));
      },
    });
    const started = performance.now();
    const res = await handlePredict(request(sampleRows(30), 'throttled-then-clear'), {
      ...base,
      log,
      metric: (_model, metric, value) => metrics.push([metric, value]),
    });
    const tookMs = performance.now() - started;

    expect(res.statusCode, res.body).toBe(200);
    // Chunk 1: 25 items, 1 written per throttled call (calls 0-3), then the 21 left in one call.
    // Chunk 2: 5 items in one call.
    expect(calls.map((c) => [c.items, c.unprocessed])).toEqual([
      [25, 24],
      [24, 23],
      [23, 22],
      [22, 21],
      [21, 0],
      [5, 0],
    ]);
    // Full jitter under a doubling ceiling: 0.9*20, 0.8*40, 0.7*80, 0.6*160.
    expect(delays).toEqual([18, 32, 56, 96]);
    for (let i = 1; i < calls.length - 1; i++) {
      expect(calls[i]!.at - calls[i - 1]!.at).toBeGreaterThanOrEqual(delays[i - 1]! - 2);
    }
    expect(tookMs).toBeLessThan(1500);
    expect(await loggedRows('throttled-then-clear')).toHaveLength(30);
    expect(metrics.map(([m]) => m)).not.toContain('predictionLogWriteFailures');
  });

  it('GIVEN a log that never stops throttling WHEN a request is predicted THEN it is a 503 PredictionLogUnavailable within the budget, the unwritten rows are counted, and nothing is answered 200', async () => {
    const { client, calls } = throttlingClient(aws, () => 0);
    const metrics: [PredictMetric, number][] = [];
    const errors: Record<string, unknown>[] = [];
    const log = new DynamoPredictionLogWriter(client, 'predictions', 90, { budgetMs: 300, baseDelayMs: 20 });
    const started = performance.now();
    const res = await handlePredict(request(sampleRows(3), 'throttled-always'), {
      ...base,
      log,
      metric: (_model, metric, value) => metrics.push([metric, value]),
      onError: (_err, context) => errors.push(context),
    });
    const tookMs = performance.now() - started;

    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBeDefined();
    expect(JSON.parse(res.body)).toMatchObject({
      error: 'PredictionLogUnavailable',
      requestId: 'throttled-always',
    });
    expect(res.body).not.toContain('predictions"');
    // Retried until the next backoff would outlast the budget, never past it.
    expect(calls.length).toBeGreaterThan(2);
    expect(calls.every((c) => c.unprocessed === 3)).toBe(true);
    expect(calls.at(-1)!.at - calls[0]!.at).toBeLessThanOrEqual(300);
    expect(tookMs).toBeLessThan(1000);
    expect(metrics).toContainEqual(['predictionLogWriteFailures', 3]);
    expect(metrics).toContainEqual(['serverErrors', 1]);
    expect(metrics.map(([m]) => m)).not.toContain('predictions');
    expect(errors).toContainEqual(expect.objectContaining({ stage: 'prediction-log' }));
    expect(await loggedRows('throttled-always')).toHaveLength(0);
  });
});
