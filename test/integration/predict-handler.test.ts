import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ANONYMOUS_CLIENT,
  CLIENT_DIMENSION,
  MODEL_DIMENSION,
  platformMetrics,
} from '../../contracts/metrics.ts';
import { PRODUCTION_ALIAS_TTL_MS } from '../../contracts/serving.ts';
import { predictionLogTable } from '../../contracts/tables.ts';
import { systemClock } from '../../core/ports.ts';
import { DynamoModelRegistry } from '../../lambdas/shared/adapters/aws/dynamo-registry.ts';
import type { S3ObjectStore } from '../../lambdas/shared/adapters/aws/s3-object-store.ts';
import { seedVersion } from '../support/fixtures.ts';
import { type LocalAws, startLocalAws, useLocalEndpoints } from '../support/local-aws.ts';
import { applicant } from '../support/requests.ts';

type Handler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

const context = {
  awsRequestId: 'req',
  functionName: 'predict',
  getRemainingTimeInMillis: () => 10_000,
} as unknown as Context;

function event(
  body: unknown,
  opts: { contentType?: string | null; model?: string; raw?: string; apiKeyId?: string } = {},
): APIGatewayProxyEvent {
  const headers: Record<string, string> = {};
  if (opts.contentType !== null) headers['Content-Type'] = opts.contentType ?? 'application/json';
  return {
    httpMethod: 'POST',
    path: opts.model ? `/v1/models/${opts.model}/predict` : '/v1/predict',
    resource: opts.model ? '/v1/models/{model}/predict' : '/v1/predict',
    pathParameters: opts.model ? { model: opts.model } : null,
    headers,
    body: opts.raw ?? JSON.stringify(body),
    isBase64Encoded: false,
    requestContext: {
      requestId: `r-${Math.random().toString(16).slice(2)}`,
      ...(opts.apiKeyId ? { identity: { apiKeyId: opts.apiKeyId } } : {}),
    },
  } as unknown as APIGatewayProxyEvent;
}

/** A metric as CloudWatch reads it from an EMF line. */
interface EmfMetric {
  namespace: string;
  name: string;
  unit: string;
  dimensions: Record<string, string>;
  value: number;
}

/** Runs `act` and returns what it answered and the metrics of the EMF lines it wrote to stdout. */
async function withEmf<T>(act: () => Promise<T>): Promise<{ result: T; metrics: EmfMetric[] }> {
  const lines: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown) => {
    lines.push(String(chunk));
    return true;
  });
  let result: T;
  try {
    result = await act();
  } finally {
    spy.mockRestore();
  }
  const metrics = lines
    .flatMap((chunk) => chunk.split('\n'))
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown> & { _aws?: EmfAws })
    .filter((doc) => doc._aws !== undefined)
    .flatMap((doc) =>
      doc._aws!.CloudWatchMetrics.flatMap((directive) =>
        directive.Metrics.map((m) => ({
          namespace: directive.Namespace,
          name: m.Name,
          unit: m.Unit,
          dimensions: Object.fromEntries(
            directive.Dimensions.flat().map((d) => [d, String(doc[d])] as const),
          ),
          value: doc[m.Name] as number,
        })),
      ),
    );
  return { result, metrics };
}

interface EmfAws {
  CloudWatchMetrics: {
    Namespace: string;
    Dimensions: string[][];
    Metrics: { Name: string; Unit: string }[];
  }[];
}

/** `name=value` of the metrics, for compact assertions. */
function values(metrics: EmfMetric[]): string[] {
  return metrics.map((m) => `${m.name}=${m.value}`);
}

/** Warm predict instances read the alias again after its time to live: a change reaches them then. */
const aliasSettles = () => new Promise((resolve) => setTimeout(resolve, PRODUCTION_ALIAS_TTL_MS));

describe('predict handler on dynalite and s3rver', () => {
  let aws: LocalAws;
  let lake: S3ObjectStore;
  let registry: DynamoModelRegistry;
  let handler: Handler;

  beforeAll(async () => {
    aws = await startLocalAws();
    await aws.createTable('registry');
    await aws.createTable('predictions');
    lake = await aws.createBucket('lake');
    useLocalEndpoints(aws, {
      REGISTRY_TABLE: 'registry',
      PREDICTION_LOG_TABLE: 'predictions',
      LAKE_BUCKET: 'lake',
      PREDICTION_LOG_TTL_DAYS: '90',
      PREDICTION_LOG_SHARDS: '4',
      IDEMPOTENCY_TABLE: 'idempotency',
      DEFAULT_MODEL: 'credit',
      MODEL_NAMES: 'credit',
      SERVING_MODE: 'lambda',
      MLOPS_STAGE: 'test',
      POWERTOOLS_METRICS_NAMESPACE: 'Mlops/test',
      POWERTOOLS_SERVICE_NAME: 'predict',
      CLIENT_KEYS: 'k1web=web,k2batch=batch-jobs',
    });
    registry = new DynamoModelRegistry(aws.db, 'registry', systemClock);
    ({ handler } = (await import('../../lambdas/predict/handler.ts')) as unknown as { handler: Handler });
  });
  afterAll(async () => aws.stop());

  it('answers 503 with Retry-After while no model is in production, counted apart from the 5xx rate in EMF', async () => {
    const { result: res, metrics } = await withEmf(() => handler(event({ instances: [applicant] }), context));
    expect(res.statusCode).toBe(503);
    expect(res.headers?.['retry-after']).toBe('30');
    expect(JSON.parse(res.body)).toMatchObject({ error: 'NoProductionModel' });
    // No version served it, so the 5xx rate (whose alarm rolls a version back) does not see it.
    expect(values(metrics)).toEqual(['NoProductionModel=1']);
    expect(metrics.find((m) => m.name === platformMetrics.noProductionModel.name)).toEqual({
      namespace: 'Mlops/test',
      name: platformMetrics.noProductionModel.name,
      unit: platformMetrics.noProductionModel.unit,
      // Both dimension sets' keys: [Model] and [Model, Client], the request carrying no key.
      dimensions: { [MODEL_DIMENSION]: 'credit', [CLIENT_DIMENSION]: ANONYMOUS_CLIENT },
      value: 1,
    });
  });

  it('serves a production model, names its version, and logs one row per prediction', async () => {
    const { version } = await seedVersion(lake, 1, { leftLeaf: 1, rightLeaf: -1 });
    await registry.putVersion({ ...version, status: 'Approved' });
    await registry.moveAlias('credit', undefined, { current: 1, history: [] });
    await aliasSettles();
    const req = event({
      instances: [applicant, { ...applicant, Seniority: 2 }, { ...applicant, Seniority: null }],
    });
    const { result: res, metrics } = await withEmf(() => handler(req, context));
    expect(res.statusCode).toBe(200);
    const body = JSON.parse(res.body);
    expect(body.modelVersion).toBe('1');
    expect(values(metrics.filter((m) => m.name !== platformMetrics.latency.name))).toEqual([
      'Predictions=3',
      'ServerErrors=0',
    ]);
    // Seniority 9 ≥ 5 goes right (leaf -1), 2 goes left (+1), missing goes left by default.
    expect(body.predictions[0].score).toBeCloseTo(1 / (1 + Math.exp(1)), 6);
    expect(body.predictions[1].score).toBeCloseTo(1 / (1 + Math.exp(-1)), 6);
    expect(body.predictions[2].score).toBeCloseTo(1 / (1 + Math.exp(-1)), 6);
    expect(body.predictions.map((p: { label: string }) => p.label)).toEqual(['good', 'bad', 'bad']);
    const rows = [];
    for (let shard = 0; shard < 4; shard++) {
      const hour = new Date().toISOString().slice(0, 13);
      const q = await aws.db.send(
        new QueryCommand({
          TableName: 'predictions',
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': `credit#${hour}#${shard}` },
        }),
      );
      rows.push(...(q.Items ?? []).filter((i) => i.requestId === body.requestId));
    }
    expect(rows).toHaveLength(3);
    expect(
      rows.every(
        (r) =>
          r.modelVersion === 1 &&
          r.variant === 'v1' &&
          typeof r[predictionLogTable.ttlAttribute] === 'number',
      ),
    ).toBe(true);
  });

  it('scores and logs exactly a number beyond 2^53, and refuses one the log cannot store with a 400, never a 5xx', async () => {
    const big = await handler(event({ instances: [{ ...applicant, Income: 1e20, Debt: -1e20 }] }), context);
    expect(big.statusCode, big.body).toBe(200);
    const { requestId } = JSON.parse(big.body) as { requestId: string };
    const hour = new Date().toISOString().slice(0, 13);
    const logged = [];
    for (let shard = 0; shard < 4; shard++) {
      const q = await aws.db.send(
        new QueryCommand({
          TableName: 'predictions',
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': `credit#${hour}#${shard}` },
        }),
      );
      logged.push(...(q.Items ?? []).filter((i) => i.requestId === requestId));
    }
    expect(logged).toHaveLength(1);
    expect(logged[0]!.features).toMatchObject({ Income: 1e20, Debt: -1e20 });

    const { result: huge, metrics } = await withEmf(() =>
      handler(event({ instances: [{ ...applicant, Age: -1e308 }] }), context),
    );
    expect(huge.statusCode).toBe(400);
    expect(JSON.parse(huge.body).message).toBe(
      'instances[0].Age is -1e+308, larger in magnitude than the prediction log stores (at most 9.99E+125).',
    );
    expect(values(metrics)).toEqual(['InvalidRequests=1', 'ServerErrors=0']);
  });

  it('serves the model named in the path', async () => {
    const res = await handler(event({ instances: [applicant] }, { model: 'credit' }), context);
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body).modelVersion).toBe('1');
  });

  it("GIVEN a request carrying a key id of CLIENT_KEYS WHEN served THEN its log rows and every metric name that key's client, and an unknown key id is anonymous", async () => {
    const logged = async (requestId: string) => {
      const hour = new Date().toISOString().slice(0, 13);
      const rows = [];
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
    };
    const { result: res, metrics } = await withEmf(() =>
      handler(event({ instances: [applicant, applicant] }, { apiKeyId: 'k2batch' }), context),
    );
    expect(res.statusCode, res.body).toBe(200);
    const rows = await logged(JSON.parse(res.body).requestId);
    expect(rows.map((r) => r.client)).toEqual(['batch-jobs', 'batch-jobs']);
    expect(values(metrics.filter((m) => m.name !== platformMetrics.latency.name))).toEqual([
      'Predictions=2',
      'ServerErrors=0',
    ]);
    expect(metrics.every((m) => m.dimensions[CLIENT_DIMENSION] === 'batch-jobs')).toBe(true);

    const { result: refused, metrics: refusedMetrics } = await withEmf(() =>
      handler(event({ rows: [] }, { apiKeyId: 'k1web' }), context),
    );
    expect(refused.statusCode).toBe(400);
    expect(refusedMetrics.map((m) => [m.name, m.dimensions[CLIENT_DIMENSION]])).toEqual([
      ['InvalidRequests', 'web'],
      ['ServerErrors', 'web'],
    ]);

    const unknown = await handler(event({ instances: [applicant] }, { apiKeyId: 'revoked' }), context);
    expect(unknown.statusCode).toBe(200);
    expect((await logged(JSON.parse(unknown.body).requestId)).map((r) => r.client)).toEqual([
      ANONYMOUS_CLIENT,
    ]);
  });

  it('answers 400 naming the instance index and the field for a wrongly typed field', async () => {
    const res = await handler(event({ instances: [applicant, { ...applicant, Age: 'forty' }] }), context);
    expect(res.statusCode).toBe(400);
    const body = JSON.parse(res.body);
    expect(body.message).toContain('instances[1].Age must be a finite number, got "forty"');
    expect(body.details).toContainEqual({
      instance: 1,
      field: 'Age',
      message: 'must be a finite number, got "forty"',
    });
  });

  it('answers 400 for a body that is not JSON and 415 for a wrong content type', async () => {
    const notJson = await handler(event(null, { raw: '{"instances": [' }), context);
    expect(notJson.statusCode).toBe(400);
    expect(JSON.parse(notJson.body).message).toMatch(/^The body is not valid JSON/);
    const wrongType = await handler(
      event({ instances: [applicant] }, { contentType: 'text/plain' }),
      context,
    );
    expect(wrongType.statusCode).toBe(415);
  });

  it('answers 400 for a missing instances array and 404 for an unknown model', async () => {
    const { metrics } = await withEmf(async () => {
      expect((await handler(event({ rows: [] }), context)).statusCode).toBe(400);
      expect((await handler(event({ instances: [] }), context)).statusCode).toBe(400);
      expect((await handler(event({ instances: [applicant] }, { model: 'nope' }), context)).statusCode).toBe(
        404,
      );
    });
    // The 400s are answers for credit (no 5xx); the unknown model is counted nowhere.
    expect(values(metrics)).toEqual([
      'InvalidRequests=1',
      'ServerErrors=0',
      'InvalidRequests=1',
      'ServerErrors=0',
    ]);
    expect(metrics.every((m) => m.dimensions[MODEL_DIMENSION] === 'credit')).toBe(true);
  });

  it('refuses with 503 a production model whose feature-schema hash does not match the serving code', async () => {
    const { version } = await seedVersion(lake, 2, { schemaHash: 'not-the-hash' });
    await registry.putVersion({ ...version, status: 'Approved' });
    await registry.moveAlias('credit', 1, { current: 2, history: [1] });
    await aliasSettles();
    const res = await handler(event({ instances: [applicant] }), context);
    expect(res.statusCode).toBe(503);
    expect(JSON.parse(res.body).error).toBe('FeatureSchemaMismatch');
  });

  it('answers 503 when the prediction log cannot be written, and counts the lost rows and the 5xx in EMF', async () => {
    await registry.moveAlias('credit', 2, { current: 1, history: [1, 2] });
    await aliasSettles();
    // Without its table, every write of the log fails.
    await new DynamoDBClient({ endpoint: aws.dynamoEndpoint }).send(
      new DeleteTableCommand({ TableName: 'predictions' }),
    );
    const { result: res, metrics } = await withEmf(() =>
      handler(event({ instances: [applicant, applicant] }), context),
    );
    expect(res.statusCode).toBe(503);
    expect(JSON.parse(res.body)).toMatchObject({ error: 'PredictionLogUnavailable' });
    expect(values(metrics)).toEqual(['UpstreamErrors=1', 'PredictionLogWriteFailures=2', 'ServerErrors=1']);
    expect(metrics.find((m) => m.name === platformMetrics.predictionLogWriteFailures.name)).toMatchObject({
      namespace: 'Mlops/test',
      unit: 'Count',
      dimensions: { [MODEL_DIMENSION]: 'credit' },
    });
  });
});
