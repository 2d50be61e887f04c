/**
 * The prediction log's shards: how many partitions per model and hour the writers spread rows over
 * comes from the config (`predictionLogShards`), reaches every function that writes or reads the log,
 * and a reader told the same count reads back every row the writers spread (on dynalite).
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackOutputs } from '../../contracts/outputs.ts';
import type { PredictionRecord } from '../../core/prediction-log.ts';
import { DynamoPredictionLogReader } from '../../lambdas/shared/adapters/aws/dynamo-prediction-log-reader.ts';
import { DynamoPredictionLogWriter } from '../../lambdas/shared/adapters/aws/dynamo-prediction-log-writer.ts';
import { logPartition, shardOf } from '../../lambdas/shared/adapters/aws/prediction-log-keys.ts';
import { functionNamed, synthPlatform } from '../constructs/fixture.ts';
import { type LocalAws, startLocalAws } from '../support/local-aws.ts';

const AT = '2026-12-01T10:15:00.000Z';

function row(requestId: string): PredictionRecord {
  return {
    model: 'credit',
    requestId,
    index: 0,
    at: AT,
    modelVersion: 1,
    variant: 'v1',
    route: 'production',
    featureSchemaHash: 'h',
    features: { Age: 30 },
    score: 0.2,
    label: 'good',
    latencyMs: 3,
    client: 'web',
  };
}

describe('prediction log shards', () => {
  let aws: LocalAws;

  beforeAll(async () => {
    aws = await startLocalAws();
    await aws.createTable('predictions');
  });
  afterAll(async () => aws?.stop());

  it('GIVEN 64 shards WHEN 400 requests are logged THEN their rows spread over more than 4 partitions and a reader of 64 shards reads every one back', async () => {
    const ids = Array.from({ length: 400 }, (_, i) => `req-${i}`);
    const writer = new DynamoPredictionLogWriter(aws.db, 'predictions', 90, { shards: 64 });
    for (const id of ids) await writer.write([row(id)]);

    const used = new Set(ids.map((id) => shardOf(id, 64)));
    expect(used.size).toBeGreaterThan(32);
    // Each request's row is in the partition its shard names.
    const first = ids[0]!;
    const found = await aws.db.send(
      new QueryCommand({
        TableName: 'predictions',
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': logPartition('credit', AT, shardOf(first, 64)) },
      }),
    );
    expect(found.Items?.some((i) => i.requestId === first)).toBe(true);

    const from = new Date('2026-12-01T10:00:00.000Z');
    const to = new Date('2026-12-01T10:59:59.999Z');
    const all = await new DynamoPredictionLogReader(aws.db, 'predictions', 64).readWindow('credit', from, to);
    expect(all.map((r) => r.requestId).sort()).toEqual([...ids].sort());
    // A reader that knows fewer shards misses the rows above its count: why the count only goes up.
    const partial = await new DynamoPredictionLogReader(aws.db, 'predictions', 4).readWindow(
      'credit',
      from,
      to,
    );
    expect(partial.length).toBeLessThan(ids.length);
  });

  it('GIVEN predictionLogShards 64 in the config WHEN synthesized THEN every writer and reader of the log gets 64, and the stack outputs it', () => {
    const synth = synthPlatform({ config: { predictionLogShards: 64 } });
    const data = Template.fromStack(synth.stacks.data);
    expect(data.findOutputs(stackOutputs.predictionLogShards)[stackOutputs.predictionLogShards]?.Value).toBe(
      '64',
    );
    const variables = (template: Template, name: string) =>
      (functionNamed(template, name).Properties.Environment as { Variables: Record<string, unknown> })
        .Variables;
    const serving = Template.fromStack(synth.stacks.serving);
    const pipeline = Template.fromStack(synth.stacks.pipeline);
    const monitoring = Template.fromStack(synth.stacks.monitoring);
    expect(variables(serving, 'predict').PREDICTION_LOG_SHARDS).toBe('64');
    expect(variables(serving, 'shadow').PREDICTION_LOG_SHARDS).toBe('64');
    expect(variables(pipeline, 'canary').PREDICTION_LOG_SHARDS).toBe('64');
    expect(variables(monitoring, 'drift-job').PREDICTION_LOG_SHARDS).toBe('64');
  });

  it('GIVEN a shard count of 0 in the config WHEN it is read THEN synthesis fails naming the key', () => {
    expect(() => synthPlatform({ config: { predictionLogShards: 0 } })).toThrow(/predictionLogShards/);
  });
});
