import { describe, expect, it } from 'vitest';
import { ANONYMOUS_CLIENT } from '../../contracts/metrics.ts';
import type { ModelRuntime, ObjectStore } from '../../core/ports.ts';
import type { PredictionRecord } from '../../core/prediction-log.ts';
import type { ModelVersion, ProductionAlias } from '../../core/registry/model.ts';
import { inProcessRuntime } from '../../core/serving/runtime.ts';
import { handlePredict, type PredictDeps, type PredictMetric } from '../../lambdas/predict/core.ts';
import { createModelCache } from '../../lambdas/predict/model-cache.ts';
import { credit, seedVersion } from '../support/fixtures.ts';
import { applicant } from '../support/requests.ts';

function memoryStore(): ObjectStore {
  const objects = new Map<string, Uint8Array>();
  const store: ObjectStore = {
    bucket: 'memory',
    async getBytes(key) {
      const bytes = objects.get(key);
      if (!bytes) throw Object.assign(new Error(`${key} does not exist`), { name: 'NoSuchKey' });
      return bytes;
    },
    async getText(key) {
      return Buffer.from(await store.getBytes(key)).toString('utf8');
    },
    async tryGetText(key) {
      return objects.has(key) ? store.getText(key) : undefined;
    },
    async put(key, body) {
      objects.set(key, typeof body === 'string' ? Buffer.from(body) : body);
    },
    async list(prefix) {
      return [...objects.keys()].filter((k) => k.startsWith(prefix)).sort();
    },
  };
  return store;
}

/** In-memory ports around the real scorer, with versions 1 (production) and 2 seeded. */
async function setup(alias: Omit<ProductionAlias, 'model' | 'history' | 'updatedAt'> | undefined) {
  const lake = memoryStore();
  const versions = new Map<number, ModelVersion>();
  for (const [n, leaves] of [
    [1, { leftLeaf: 1, rightLeaf: -1 }],
    [2, { leftLeaf: -2, rightLeaf: 2 }],
  ] as const) {
    versions.set(n, (await seedVersion(lake, n, leaves)).version);
  }
  const rows: PredictionRecord[] = [];
  const metrics: { model: string; metric: PredictMetric; value: number }[] = [];
  const errors: Record<string, unknown>[] = [];
  const reads = { getVersion: 0 };
  const deps: PredictDeps = {
    registry: {
      getAlias: async (model) =>
        model === 'credit' && alias ? { model, history: [], updatedAt: '', ...alias } : undefined,
      getVersion: async (_model, version) => {
        reads.getVersion++;
        return versions.get(version);
      },
    },
    lake,
    log: {
      write: async (batch) => {
        rows.push(...batch);
      },
    },
    cache: createModelCache(),
    runtime: inProcessRuntime,
    clock: { now: () => new Date('2026-03-01T10:00:00.000Z') },
    knownModels: ['credit', 'churn'],
    defaultModel: 'credit',
    metric: (model, metric, value) => metrics.push({ model, metric, value }),
    onError: (_err, context) => errors.push(context),
  };
  return { deps, rows, metrics, errors, versions, reads };
}

function post(instances: unknown[], requestId = 'req-1', modelParam?: string) {
  return {
    method: 'POST',
    path: '/v1/predict',
    ...(modelParam ? { modelParam } : {}),
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ instances }),
    isBase64Encoded: false,
    requestId,
  };
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

describe('handlePredict with in-memory ports', () => {
  it('answers from production with its version, logs one row per instance, and counts them', async () => {
    // Prepare
    const { deps, rows, metrics } = await setup({ current: 1 });
    // Act
    const res = await handlePredict(post([applicant, { ...applicant, Seniority: 2 }]), deps);
    // Assess
    expect(res.statusCode).toBe(200);
    expect(res.headers).toMatchObject({ 'x-model-version': '1', 'x-model-variant': 'v1' });
    const body = JSON.parse(res.body);
    expect(body).toMatchObject({ model: 'credit', modelVersion: '1', requestId: 'req-1' });
    expect(body.predictions[0].score).toBeCloseTo(sigmoid(-1), 6);
    expect(body.predictions[1].score).toBeCloseTo(sigmoid(1), 6);
    expect(rows.map((r) => [r.index, r.route, r.modelVersion, r.variant])).toEqual([
      [0, 'production', 1, 'v1'],
      [1, 'production', 1, 'v1'],
    ]);
    expect(metrics.map((m) => [m.metric, m.value])).toEqual([
      ['predictions', 2],
      ['latency', 0],
      ['serverErrors', 0],
    ]);
  });

  it('loads a version once through the injected cache, and again with a fresh cache', async () => {
    const { deps, reads } = await setup({ current: 1 });
    await handlePredict(post([applicant], 'a'), deps);
    await handlePredict(post([applicant], 'b'), deps);
    expect(reads.getVersion).toBe(1);
    await handlePredict(post([applicant], 'c'), { ...deps, cache: createModelCache() });
    expect(reads.getVersion).toBe(2);
  });

  it('lets a canary of weight 1 answer, logged with the route canary', async () => {
    const { deps, rows } = await setup({ current: 1, canary: { version: 2, weight: 1, startedAt: '' } });
    const res = await handlePredict(post([applicant]), deps);
    expect(JSON.parse(res.body).modelVersion).toBe('2');
    expect(JSON.parse(res.body).predictions[0].score).toBeCloseTo(sigmoid(2), 6);
    expect(rows.map((r) => [r.route, r.modelVersion])).toEqual([['canary', 2]]);
  });

  it('scores a shadow copy with the shadow version, logged apart, without changing the answer', async () => {
    const { deps, rows } = await setup({ current: 1, shadow: { version: 2, startedAt: '' } });
    const res = await handlePredict(post([applicant]), deps);
    expect(JSON.parse(res.body).modelVersion).toBe('1');
    expect(res.headers['x-model-version']).toBe('1');
    const shadow = rows.filter((r) => r.route === 'shadow');
    expect(shadow).toHaveLength(1);
    expect(shadow[0]).toMatchObject({ modelVersion: 2, variant: 'v2', requestId: 'req-1' });
    expect(shadow[0]!.score).toBeCloseTo(sigmoid(2), 6);
  });

  it('logs a shadow that cannot load as error rows and still answers from production', async () => {
    const { deps, rows, errors } = await setup({ current: 1, shadow: { version: 9, startedAt: '' } });
    const res = await handlePredict(post([applicant]), deps);
    expect(res.statusCode).toBe(200);
    expect(rows.filter((r) => r.route === 'shadow')).toMatchObject([
      { modelVersion: 9, variant: 'v9', score: null, label: null, error: 'Error' },
    ]);
    expect(errors).toContainEqual(expect.objectContaining({ stage: 'shadow', version: 9 }));
  });

  it('answers 503 when the model fails to score, and logs the failure rows by error name', async () => {
    const failing: ModelRuntime = {
      mode: 'endpoint',
      score: async () => {
        throw Object.assign(new Error('variant down'), { name: 'ModelError' });
      },
    };
    const { deps, rows, metrics } = await setup({ current: 1 });
    const res = await handlePredict(post([applicant, applicant]), { ...deps, runtime: failing });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('30');
    expect(JSON.parse(res.body)).toMatchObject({ error: 'ModelUnavailable' });
    expect(rows.map((r) => [r.route, r.error, r.score])).toEqual([
      ['production', 'ModelError', null],
      ['production', 'ModelError', null],
    ]);
    expect(metrics.map((m) => [m.metric, m.value])).toEqual([
      ['modelErrors', 1],
      ['serverErrors', 1],
    ]);
  });

  it('answers 503 without a prediction when the log cannot be written, and counts the rows lost', async () => {
    const { deps, metrics } = await setup({ current: 1 });
    const res = await handlePredict(post([applicant, applicant]), {
      ...deps,
      log: {
        write: async () => {
          throw new Error('throttled');
        },
      },
    });
    expect(res.statusCode).toBe(503);
    expect(JSON.parse(res.body)).toMatchObject({ error: 'PredictionLogUnavailable' });
    expect(JSON.parse(res.body).predictions).toBeUndefined();
    expect(metrics.map((m) => [m.metric, m.value])).toEqual([
      ['upstreamErrors', 1],
      ['predictionLogWriteFailures', 2],
      ['serverErrors', 1],
    ]);
  });

  it('refuses a version whose feature-schema hash does not match, and logs nothing', async () => {
    const { deps, rows, metrics, versions } = await setup({ current: 1 });
    versions.set(1, { ...versions.get(1)!, featureSchemaHash: 'other' });
    const res = await handlePredict(post([applicant]), deps);
    expect(res.statusCode).toBe(503);
    expect(JSON.parse(res.body).error).toBe('FeatureSchemaMismatch');
    expect(rows).toHaveLength(0);
    expect(metrics.map((m) => [m.metric, m.value])).toEqual([
      ['featureSchemaMismatch', 1],
      ['serverErrors', 1],
    ]);
  });

  it('answers 503 when the alias points at a version the registry lacks, and retries the load next time', async () => {
    const { deps, metrics, errors, reads } = await setup({ current: 5 });
    const first = await handlePredict(post([applicant]), deps);
    const second = await handlePredict(post([applicant]), deps);
    expect([first.statusCode, second.statusCode]).toEqual([503, 503]);
    expect(JSON.parse(first.body).error).toBe('ModelUnavailable');
    expect(metrics.map((m) => m.metric)).toEqual([
      'upstreamErrors',
      'serverErrors',
      'upstreamErrors',
      'serverErrors',
    ]);
    expect(errors[0]).toMatchObject({ stage: 'load-model', model: 'credit' });
    expect(reads.getVersion).toBe(2);
  });

  it('tells an unknown model (404) from a known one without production (503)', async () => {
    const { deps, metrics } = await setup(undefined);
    const unknown = await handlePredict(post([applicant], 'r', 'nope'), deps);
    const known = await handlePredict(post([applicant], 'r', 'churn'), deps);
    expect(unknown.statusCode).toBe(404);
    expect(JSON.parse(unknown.body)).toMatchObject({ error: 'UnknownModel' });
    expect(known.statusCode).toBe(503);
    expect(JSON.parse(known.body)).toMatchObject({ error: 'NoProductionModel' });
    // The 404 counts nowhere: a made-up name in the path creates no metric. The 503 counts as no
    // production model, not in the 5xx rate: no version served it, so nothing may be rolled back for it.
    expect(metrics).toEqual([{ model: 'churn', metric: 'noProductionModel', value: 1 }]);
  });

  it('counts invalid requests against the model, but not a wrong method', async () => {
    const { deps, metrics } = await setup({ current: 1 });
    const wrongMethod = await handlePredict({ ...post([applicant]), method: 'GET' }, deps);
    const tooMany = await handlePredict(
      post(Array.from({ length: credit.serving.maxInstancesPerRequest + 1 }, () => applicant)),
      deps,
    );
    expect(wrongMethod.statusCode).toBe(405);
    expect(tooMany.statusCode).toBe(413);
    expect(metrics).toEqual([
      { model: 'credit', metric: 'serverErrors', value: 0 },
      { model: 'credit', metric: 'invalidRequests', value: 1 },
      { model: 'credit', metric: 'serverErrors', value: 0 },
    ]);
  });

  it("GIVEN emitMetrics WHEN requests are answered THEN each request's metrics go out once, together, in order, with its client", async () => {
    // Prepare
    const { deps, metrics } = await setup({ current: 1 });
    const emitted: { model: string; entries: (readonly [PredictMetric, number])[]; client: string }[] = [];
    const held: PredictDeps = {
      ...deps,
      emitMetrics: (model, entries, client) => emitted.push({ model, entries: [...entries], client }),
    };
    // Act
    const ok = await handlePredict({ ...post([applicant, applicant], 'a'), client: 'web' }, held);
    const refused = await handlePredict({ ...post([{ Age: 'old' }], 'b'), client: 'web' }, held);
    const anonymous = await handlePredict({ ...post([applicant], 'c'), method: 'GET' }, held);
    // Assess
    expect([ok.statusCode, refused.statusCode, anonymous.statusCode]).toEqual([200, 400, 405]);
    expect(emitted).toEqual([
      {
        model: 'credit',
        entries: [
          ['predictions', 2],
          ['latency', 0],
          ['serverErrors', 0],
        ],
        client: 'web',
      },
      {
        model: 'credit',
        entries: [
          ['invalidRequests', 1],
          ['serverErrors', 0],
        ],
        client: 'web',
      },
      { model: 'credit', entries: [['serverErrors', 0]], client: ANONYMOUS_CLIENT },
    ]);
    // Held metrics do not also go out one by one.
    expect(metrics).toEqual([]);
  });

  it("GIVEN a clock that tells the time in ms WHEN a request is answered THEN its times are that clock's: arrival, scored (the rows), answered (the latency)", async () => {
    // Prepare: arrival at t, scored at t + 5, answered at t + 12; the Date the clock makes is never read.
    const { deps, rows, metrics } = await setup({ current: 1 });
    const t = Date.parse('2026-03-01T10:00:00.000Z');
    const reads = [t, t + 5, t + 12];
    const clock = { now: () => new Date(0), millis: () => reads.shift()! };
    // Act
    const res = await handlePredict(post([applicant]), { ...deps, clock });
    // Assess
    expect(res.statusCode).toBe(200);
    expect(rows.map((r) => [r.at, r.latencyMs])).toEqual([['2026-03-01T10:00:00.005Z', 5]]);
    expect(metrics).toContainEqual({ model: 'credit', metric: 'latency', value: 12 });
    expect(reads).toEqual([]);
  });

  it('GIVEN no emitMetrics WHEN a request is answered THEN each metric goes out as it is counted, with the client', async () => {
    // Prepare
    const { deps } = await setup({ current: 1 });
    const seen: [PredictMetric, string | undefined][] = [];
    // Act
    await handlePredict(
      { ...post([applicant]), client: 'web' },
      { ...deps, metric: (_model, metric, _value, client) => seen.push([metric, client]) },
    );
    // Assess
    expect(seen).toEqual([
      ['predictions', 'web'],
      ['latency', 'web'],
      ['serverErrors', 'web'],
    ]);
  });

  it('counts the rows of a scoring failure that the log could not take either', async () => {
    const failing: ModelRuntime = {
      mode: 'endpoint',
      score: async () => {
        throw Object.assign(new Error('variant down'), { name: 'ModelError' });
      },
    };
    const { deps, metrics, errors } = await setup({ current: 1 });
    const res = await handlePredict(post([applicant, applicant, applicant]), {
      ...deps,
      runtime: failing,
      log: {
        write: async () => {
          throw new Error('throttled');
        },
      },
    });
    expect(res.statusCode).toBe(503);
    expect(metrics.map((m) => [m.metric, m.value])).toEqual([
      ['modelErrors', 1],
      ['predictionLogWriteFailures', 3],
      ['serverErrors', 1],
    ]);
    expect(errors.map((e) => e.stage)).toEqual(['score', 'prediction-log']);
  });

  it("counts a shadow's lost log rows, while production's answer stands", async () => {
    const { deps, metrics } = await setup({ current: 1, shadow: { version: 2, startedAt: '' } });
    const res = await handlePredict(post([applicant]), {
      ...deps,
      log: {
        write: async (batch) => {
          if (batch.some((r) => r.route === 'shadow')) throw new Error('throttled');
        },
      },
    });
    expect(res.statusCode).toBe(200);
    // The shadow scores concurrently with production, so its count may come before or after the answer's.
    const counted = metrics.map((m) => `${m.metric}=${m.value}`).sort();
    expect(counted).toEqual(['latency=0', 'predictionLogWriteFailures=1', 'predictions=1', 'serverErrors=0']);
  });

  it('GIVEN a shadow hand-off port WHEN a shadowed request is answered THEN the copy is handed off as sent, and nothing is scored for the shadow here', async () => {
    const { deps, rows } = await setup({ current: 1, shadow: { version: 2, startedAt: '' } });
    const copies: unknown[] = [];
    const sent = [applicant, { ...applicant, Seniority: null }];
    const res = await handlePredict(post(sent, 'req-s'), {
      ...deps,
      shadow: { handOff: async (copy) => void copies.push(copy) },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(copies).toEqual([
      { model: 'credit', version: 2, requestId: 'req-s', instances: sent, client: ANONYMOUS_CLIENT },
    ]);
    expect(rows.map((r) => r.route)).toEqual(['production', 'production']);
  });

  it('GIVEN a shadow hand-off that fails WHEN a shadowed request is answered THEN the answer stands and the failure is counted', async () => {
    const { deps, metrics, errors } = await setup({ current: 1, shadow: { version: 2, startedAt: '' } });
    const res = await handlePredict(post([applicant], 'req-f'), {
      ...deps,
      shadow: {
        handOff: async () => {
          throw Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' });
        },
      },
    });
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body).predictions[0].score).toBeCloseTo(sigmoid(-1), 6);
    expect(metrics.map((m) => `${m.metric}=${m.value}`).sort()).toEqual([
      'latency=0',
      'predictions=1',
      'serverErrors=0',
      'shadowHandoffFailures=1',
    ]);
    expect(errors).toContainEqual(expect.objectContaining({ stage: 'shadow-handoff', version: 2 }));
  });

  it('GIVEN a shadowed request WHEN it is served THEN the hand-off starts before production has scored, and the answer waits for the hand-off', async () => {
    const { deps } = await setup({ current: 1, shadow: { version: 2, startedAt: '' } });
    const events: string[] = [];
    let handedOff!: () => void;
    const started = new Promise<void>((r) => {
      handedOff = r;
    });
    const res = await handlePredict(post([applicant]), {
      ...deps,
      runtime: {
        ...deps.runtime,
        score: async (model, serving, vectors) => {
          // Sequential serving would never start the hand-off while this waits: the test would time out.
          await started;
          events.push('scored');
          return deps.runtime.score(model, serving, vectors);
        },
      },
      shadow: {
        handOff: async () => {
          events.push('hand-off started');
          handedOff();
          await new Promise((r) => setTimeout(r, 20));
          events.push('hand-off accepted');
        },
      },
    });
    events.push(`answered ${res.statusCode}`);
    expect(events).toEqual(['hand-off started', 'scored', 'hand-off accepted', 'answered 200']);
  });

  it('answers an unexpected failure with a 500 naming the request, and counts it as a 5xx', async () => {
    const { deps, metrics, errors } = await setup({ current: 1 });
    const res = await handlePredict(post([applicant], 'req-9'), {
      ...deps,
      registry: {
        ...deps.registry,
        getAlias: async () => {
          throw new TypeError('a bug');
        },
      },
      // The registry failure is expected (503); a failure of the failure's own bookkeeping is not.
      metric: (model, metric, value) => {
        if (metric === 'upstreamErrors') throw new TypeError('a bug in the metrics');
        metrics.push({ model, metric, value });
      },
    });
    expect(res.statusCode).toBe(500);
    expect(JSON.parse(res.body)).toMatchObject({ error: 'InternalError', requestId: 'req-9' });
    expect(metrics).toEqual([{ model: 'credit', metric: 'serverErrors', value: 1 }]);
    expect(errors).toContainEqual(expect.objectContaining({ stage: 'unexpected', requestId: 'req-9' }));
  });
});
