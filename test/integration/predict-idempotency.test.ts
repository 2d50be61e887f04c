/**
 * Idempotent retries of the prediction API on dynalite: Powertools' DynamoDB persistence layer on
 * an idempotency table of the construct's layout, around the predict core with a real registry,
 * lake and prediction log.
 */
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idempotencyTable } from '../../contracts/tables.ts';
import { systemClock } from '../../core/ports.ts';
import { inProcessRuntime } from '../../core/serving/runtime.ts';
import {
  type HttpRequest,
  type HttpResponse,
  handlePredict,
  type PredictDeps,
  type PredictMetric,
} from '../../lambdas/predict/core.ts';
import { answerIdempotently, type IdempotencyDeps } from '../../lambdas/predict/idempotency.ts';
import { createModelCache } from '../../lambdas/predict/model-cache.ts';
import { clientConfig } from '../../lambdas/shared/adapters/aws/client-config.ts';
import { DynamoPredictionLogWriter } from '../../lambdas/shared/adapters/aws/dynamo-prediction-log-writer.ts';
import { DynamoModelRegistry } from '../../lambdas/shared/adapters/aws/dynamo-registry.ts';
import { DynamoRegistryReader } from '../../lambdas/shared/adapters/aws/dynamo-registry-reader.ts';
import { makeIdempotencyStore } from '../../lambdas/shared/adapters/aws/idempotency-store.ts';
import { seedVersion } from '../support/fixtures.ts';
import { type LocalAws, startLocalAws } from '../support/local-aws.ts';
import { applicant } from '../support/requests.ts';

const target = (aws: LocalAws) => ({
  region: 'us-east-1',
  credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  endpoints: { dynamodb: aws.dynamoEndpoint },
});

describe('Idempotency-Key on the predict core, with the idempotency store on dynalite', () => {
  let aws: LocalAws;
  let predict: PredictDeps;
  let idem: IdempotencyDeps;
  const metrics: [string, PredictMetric, number][] = [];
  let counter = 0;

  beforeAll(async () => {
    aws = await startLocalAws();
    await aws.createTable('registry');
    await aws.createTable('predictions');
    const raw = new DynamoDBClient(clientConfig('dynamodb', target(aws)));
    await raw.send(
      new CreateTableCommand({
        TableName: 'idempotency',
        KeySchema: [{ AttributeName: idempotencyTable.partitionKey, KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: idempotencyTable.partitionKey, AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    raw.destroy();
    const lake = await aws.createBucket('lake');
    const registry = new DynamoModelRegistry(aws.db, 'registry', systemClock);
    const { version } = await seedVersion(lake, 1, { leftLeaf: 1, rightLeaf: -1 });
    await registry.putVersion({ ...version, status: 'Approved' });
    await registry.moveAlias('credit', undefined, { current: 1, history: [] });
    const metric = (model: string, m: PredictMetric, value: number) => metrics.push([model, m, value]);
    predict = {
      registry: new DynamoRegistryReader(aws.db, 'registry'),
      lake,
      log: new DynamoPredictionLogWriter(aws.db, 'predictions', 90),
      cache: createModelCache(),
      runtime: inProcessRuntime,
      clock: systemClock,
      knownModels: ['credit'],
      defaultModel: 'credit',
      metric,
      onError: () => {},
    };
    idem = {
      store: makeIdempotencyStore('idempotency', target(aws)),
      ttlSeconds: 3600,
      metric,
      onError: () => {},
    };
  });
  afterAll(async () => aws.stop());

  /** A request with a fresh request id, as each retry of a client has. */
  function request(instances: unknown[], headers: Record<string, string>): HttpRequest {
    return {
      method: 'POST',
      path: '/v1/predict',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ instances }),
      isBase64Encoded: false,
      requestId: `idem-${counter++}`,
    };
  }

  function send(
    req: HttpRequest,
    opts: { client?: string; deps?: Partial<PredictDeps>; idem?: Partial<IdempotencyDeps> } = {},
  ): Promise<HttpResponse> {
    return answerIdempotently(
      req,
      { model: 'credit', requestId: req.requestId!, ...(opts.client ? { client: opts.client } : {}) },
      () => handlePredict(req, { ...predict, ...opts.deps }),
      { ...idem, ...opts.idem },
      () => 10_000,
    );
  }

  async function logged(requestId: string): Promise<number> {
    const hour = new Date().toISOString().slice(0, 13);
    let n = 0;
    for (let shard = 0; shard < 4; shard++) {
      const q = await aws.db.send(
        new QueryCommand({
          TableName: 'predictions',
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': `credit#${hour}#${shard}` },
        }),
      );
      n += (q.Items ?? []).filter((i) => i.requestId === requestId).length;
    }
    return n;
  }

  const counted = (metric: PredictMetric) =>
    metrics.filter(([, m]) => m === metric).reduce((sum, [, , v]) => sum + v, 0);

  it('GIVEN a served request with an Idempotency-Key WHEN it is retried with the same body THEN the retry gets the same answer and no second log row', async () => {
    const first = await send(
      request([applicant, { ...applicant, Seniority: 2 }], { 'Idempotency-Key': 'order-1' }),
    );
    expect(first.statusCode, first.body).toBe(200);
    const replays = counted('idempotentReplays');
    const retryReq = request([applicant, { ...applicant, Seniority: 2 }], { 'idempotency-key': 'order-1' });
    const retry = await send(retryReq);

    expect(retry.statusCode).toBe(200);
    expect(JSON.parse(retry.body)).toEqual(JSON.parse(first.body));
    expect(JSON.parse(retry.body).requestId).not.toBe(retryReq.requestId);
    expect(retry.headers['x-model-version']).toBe(first.headers['x-model-version']);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(counted('idempotentReplays')).toBe(replays + 1);
    expect(await logged(JSON.parse(first.body).requestId)).toBe(2);
    expect(await logged(retryReq.requestId!)).toBe(0);
  });

  it('GIVEN a used Idempotency-Key WHEN it comes with a different body THEN the answer is a 422 naming the reuse and nothing is scored', async () => {
    const first = await send(request([applicant], { 'Idempotency-Key': 'order-2' }));
    expect(first.statusCode).toBe(200);
    const other = request([{ ...applicant, Age: 31 }], { 'Idempotency-Key': 'order-2' });
    const res = await send(other);

    expect(res.statusCode).toBe(422);
    expect(JSON.parse(res.body)).toMatchObject({ error: 'IdempotencyKeyReused', requestId: other.requestId });
    expect(JSON.parse(res.body).message).toContain('Idempotency-Key "order-2"');
    expect(await logged(other.requestId!)).toBe(0);
  });

  it('GIVEN a request still being answered WHEN a duplicate arrives THEN the duplicate is a 409 with Retry-After, and a later retry gets the answer', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let entered!: () => void;
    const inside = new Promise<void>((r) => {
      entered = r;
    });
    const slowRegistry: PredictDeps['registry'] = {
      getAlias: async (model, consistent) => {
        entered();
        await gate;
        return predict.registry.getAlias(model, consistent);
      },
      getVersion: (model, version) => predict.registry.getVersion(model, version),
    };
    const firstReq = request([applicant], { 'Idempotency-Key': 'order-3' });
    const first = send(firstReq, { deps: { registry: slowRegistry } });
    await inside;
    const duplicate = await send(request([applicant], { 'Idempotency-Key': 'order-3' }));
    release();

    expect(duplicate.statusCode).toBe(409);
    expect(duplicate.headers['retry-after']).toBe('1');
    expect(JSON.parse(duplicate.body)).toMatchObject({ error: 'IdempotencyKeyInProgress' });
    expect((await first).statusCode).toBe(200);
    const later = await send(request([applicant], { 'Idempotency-Key': 'order-3' }));
    expect(later.statusCode).toBe(200);
    expect(JSON.parse(later.body).requestId).toBe(firstReq.requestId);
    expect(await logged(firstReq.requestId!)).toBe(1);
  });

  it('GIVEN a first attempt answered 503 WHEN it is retried with the same key THEN the retry runs again and is served and logged once', async () => {
    const failingLog = { write: async () => Promise.reject(new Error('the log is down')) };
    const firstReq = request([applicant], { 'Idempotency-Key': 'order-4' });
    const first = await send(firstReq, { deps: { log: failingLog } });
    expect(first.statusCode).toBe(503);
    const retryReq = request([applicant], { 'Idempotency-Key': 'order-4' });
    const retry = await send(retryReq);

    expect(retry.statusCode).toBe(200);
    expect(JSON.parse(retry.body).requestId).toBe(retryReq.requestId);
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
    expect(await logged(retryReq.requestId!)).toBe(1);
  });

  it('GIVEN a first attempt refused with a 4xx WHEN it is retried THEN it is not replayed but answered again', async () => {
    const before = counted('invalidRequests');
    const bad = await send(request([{ ...applicant, Age: 'old' }], { 'Idempotency-Key': 'order-5' }));
    const again = await send(request([{ ...applicant, Age: 'old' }], { 'Idempotency-Key': 'order-5' }));
    expect([bad.statusCode, again.statusCode]).toEqual([400, 400]);
    expect(again.headers['idempotent-replayed']).toBeUndefined();
    expect(counted('invalidRequests')).toBe(before + 2);
  });

  it('GIVEN one key WHEN two clients send it THEN each is answered for itself', async () => {
    const a = await send(request([applicant], { 'Idempotency-Key': 'shared-key' }), { client: 'key-a' });
    const b = await send(request([applicant], { 'Idempotency-Key': 'shared-key' }), { client: 'key-b' });
    expect([a.statusCode, b.statusCode]).toEqual([200, 200]);
    expect(JSON.parse(a.body).requestId).not.toBe(JSON.parse(b.body).requestId);
    expect(b.headers['idempotent-replayed']).toBeUndefined();
  });

  it.each([
    ['empty', ''],
    ['too long', 'k'.repeat(129)],
    ['with a space', 'order 6'],
    ['with a slash', 'a/b'],
  ])(
    'GIVEN an Idempotency-Key that is %s WHEN it is sent THEN the answer is a 400 naming the header',
    async (_, key) => {
      const req = request([applicant], { 'Idempotency-Key': key });
      const res = await send(req);
      expect(res.statusCode).toBe(400);
      expect(JSON.parse(res.body)).toMatchObject({
        error: 'InvalidIdempotencyKey',
        requestId: req.requestId,
      });
      expect(JSON.parse(res.body).message).toContain('Idempotency-Key');
      expect(await logged(req.requestId!)).toBe(0);
    },
  );

  it('GIVEN a key of 128 allowed characters WHEN it is sent THEN it is served', async () => {
    const res = await send(request([applicant], { 'Idempotency-Key': `A-z0.9_:${'x'.repeat(120)}` }));
    expect(res.statusCode, res.body).toBe(200);
  });

  it('GIVEN a window of one second WHEN the same key comes back after it THEN the request is answered anew', async () => {
    // A persistence layer keeps the settings it was first used with, so the short window has its own.
    const short = { ttlSeconds: 1, store: makeIdempotencyStore('idempotency', target(aws)) };
    const first = await send(request([applicant], { 'Idempotency-Key': 'order-7' }), { idem: short });
    await new Promise((r) => setTimeout(r, 2100));
    const later = await send(request([applicant], { 'Idempotency-Key': 'order-7' }), { idem: short });
    expect([first.statusCode, later.statusCode]).toEqual([200, 200]);
    expect(JSON.parse(later.body).requestId).not.toBe(JSON.parse(first.body).requestId);
  });
});
