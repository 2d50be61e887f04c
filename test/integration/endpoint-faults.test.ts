/**
 * The endpoint serving mode under upstream faults: the predict core with the real SageMaker runtime
 * client and {@link EndpointRuntime}, against a loopback HTTP server that speaks InvokeEndpoint's
 * wire format (REST JSON: `POST /endpoints/{name}/invocations`, the variant in
 * `X-Amzn-SageMaker-Target-Variant` and `X-Amzn-Invoked-Production-Variant`, errors in
 * `X-Amzn-ErrorType`) and fails each variant as a test tells it: a hang, a 5xx, throttling, a model
 * container's 4xx or 5xx, or an answer from another variant.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ObjectStore } from '../../core/ports.ts';
import type { PredictionRecord } from '../../core/prediction-log.ts';
import type { ModelVersion, ProductionAlias } from '../../core/registry/model.ts';
import { handlePredict, type PredictDeps, type PredictMetric } from '../../lambdas/predict/core.ts';
import { createModelCache } from '../../lambdas/predict/model-cache.ts';
import { shareOf } from '../../lambdas/predict/routing.ts';
import {
  type EndpointResilience,
  EndpointRuntime,
  isRetryable,
} from '../../lambdas/shared/adapters/aws/sagemaker-runtime.ts';
import { makeSageMakerRuntimeClient } from '../../lambdas/shared/adapters/aws/sagemaker-runtime-client.ts';
import { seedVersion } from '../support/fixtures.ts';
import { applicant } from '../support/requests.ts';

/** How a variant answers its next calls. */
type Behaviour = 'ok' | 'hang' | 'server-error' | 'throttle' | 'model-4xx' | 'model-5xx' | 'other-variant';

/** A stand-in for SageMaker's runtime endpoint: per-variant behaviour, and every call it received. */
class FakeRuntime {
  readonly calls: { variant: string; at: number }[] = [];
  /** Behaviours each variant plays in turn; the last one repeats. */
  private readonly script = new Map<string, Behaviour[]>();
  private server!: Server;
  url = '';

  set(variant: string, ...behaviours: Behaviour[]): void {
    this.script.set(variant, behaviours);
  }

  callsTo(variant: string): number {
    return this.calls.filter((c) => c.variant === variant).length;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const variant = String(req.headers['x-amzn-sagemaker-target-variant'] ?? '');
        this.calls.push({ variant, at: Date.now() });
        const script = this.script.get(variant) ?? ['ok'];
        const behaviour = script.length > 1 ? script.shift()! : script[0]!;
        const rows = Buffer.concat(chunks).toString('utf8').split('\n').length;
        const error = (status: number, type: string, fields: Record<string, unknown> = {}) => {
          res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': type });
          res.end(JSON.stringify({ Message: `${type} injected into ${variant}`, ...fields }));
        };
        switch (behaviour) {
          case 'hang':
            return; // never answers; the caller's timeout must cut the call
          case 'server-error':
            return error(500, 'InternalFailure');
          case 'throttle':
            return error(429, 'ThrottlingException');
          case 'model-4xx':
            return error(424, 'ModelError', { OriginalStatusCode: 400, OriginalMessage: 'bad row' });
          case 'model-5xx':
            return error(424, 'ModelError', { OriginalStatusCode: 500, OriginalMessage: 'crashed' });
          default: {
            const answered = behaviour === 'other-variant' ? (variant === 'v1' ? 'v2' : 'v1') : variant;
            res.writeHead(200, {
              'content-type': 'application/json',
              'x-amzn-invoked-production-variant': answered,
            });
            res.end(JSON.stringify({ scores: Array.from({ length: rows }, () => 0.75) }));
          }
        }
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

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

const fake = new FakeRuntime();
const lake = memoryStore();
const versions = new Map<number, ModelVersion>();

beforeAll(async () => {
  await fake.start();
  for (const n of [1, 2]) versions.set(n, (await seedVersion(lake, n)).version);
});
afterAll(() => fake.stop());
beforeEach(() => {
  fake.calls.length = 0;
  fake.set('v1', 'ok');
  fake.set('v2', 'ok');
});

/** Fast bounds, so that the tests time what they assert in tenths of a second. */
const bounds: EndpointResilience = {
  attemptTimeoutMs: 150,
  attempts: 3,
  initialBackoffMs: 10,
  maxBackoffMs: 40,
  failuresToOpen: 3,
  halfOpenAfterMs: 1_500,
};

/** The predict core in endpoint mode against the fake runtime, with a fresh set of circuits. */
function setup(
  alias: Omit<ProductionAlias, 'model' | 'history' | 'updatedAt'>,
  settings: Partial<EndpointResilience> = {},
) {
  const rows: PredictionRecord[] = [];
  const metrics: { metric: PredictMetric; value: number }[] = [];
  const errors: { err: unknown; context: Record<string, unknown> }[] = [];
  const runtime = new EndpointRuntime(
    makeSageMakerRuntimeClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      endpoints: { sagemakerRuntime: fake.url },
    }),
    'mlops-test',
    { ...bounds, ...settings },
  );
  const deps: PredictDeps = {
    registry: {
      getAlias: async (model) => ({ model, history: [], updatedAt: '', ...alias }),
      getVersion: async (_model, version) => versions.get(version),
    },
    lake,
    log: { write: async (batch) => void rows.push(...batch) },
    cache: createModelCache(),
    runtime,
    clock: { now: () => new Date() },
    knownModels: ['credit'],
    defaultModel: 'credit',
    metric: (_model, metric, value) => metrics.push({ metric, value }),
    onError: (err, context) => errors.push({ err, context }),
  };
  const predict = async (requestId: string) => {
    const started = performance.now();
    const res = await handlePredict(
      {
        method: 'POST',
        path: '/v1/predict',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ instances: [applicant, applicant] }),
        isBase64Encoded: false,
        requestId,
      },
      deps,
    );
    return { res, body: JSON.parse(res.body), ms: performance.now() - started };
  };
  const counted = (metric: PredictMetric) =>
    metrics.filter((m) => m.metric === metric).reduce((sum, m) => sum + m.value, 0);
  return { runtime, predict, rows, metrics, errors, counted };
}

/** Request ids that a canary of the given weight routes to the canary, and ones it does not. */
function idsFor(weight: number, count: number): { canary: string[]; production: string[] } {
  const canary: string[] = [];
  const production: string[] = [];
  for (let i = 0; canary.length < count || production.length < count; i++) {
    const id = `req-${i}`;
    (shareOf(id) < weight ? canary : production).push(id);
  }
  return { canary: canary.slice(0, count), production: production.slice(0, count) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the endpoint runtime under upstream faults', () => {
  it('GIVEN a variant that answers 500, then throttles, then scores WHEN a request is predicted THEN it is retried to a 200 in three attempts, logged under that version only', async () => {
    // Prepare
    fake.set('v1', 'server-error', 'throttle', 'ok');
    const { predict, rows, counted } = setup({ current: 1 });
    // Act
    const { res, body } = await predict('retried');
    // Assess
    expect(res.statusCode).toBe(200);
    expect(fake.callsTo('v1')).toBe(3);
    expect(fake.callsTo('v2')).toBe(0);
    expect(body.modelVersion).toBe('1');
    expect(res.headers['x-model-variant']).toBe('v1');
    expect(rows.map((r) => [r.modelVersion, r.variant, r.error ?? null])).toEqual([
      [1, 'v1', null],
      [1, 'v1', null],
    ]);
    expect(counted('modelErrors')).toBe(0);
    expect(counted('predictions')).toBe(2);
  });

  it('GIVEN a variant that never answers WHEN a request is predicted THEN each of the three attempts is cut at the timeout and the answer is a 503 within the bound, logged as error rows of that version', async () => {
    // Prepare
    fake.set('v1', 'hang');
    const { predict, rows, counted, errors } = setup({ current: 1 });
    // Act
    const { res, body, ms } = await predict('hung');
    // Assess
    expect(res.statusCode).toBe(503);
    expect(body.error).toBe('ModelUnavailable');
    expect(fake.callsTo('v1')).toBe(3);
    // Three attempts of 150 ms and two backoffs of at most 40 ms. The variant never answers, so any
    // answer at all shows the bound; the ceiling leaves room for a loaded machine's scheduling.
    expect(ms).toBeGreaterThanOrEqual(3 * bounds.attemptTimeoutMs - 5);
    expect(ms).toBeLessThan(3 * bounds.attemptTimeoutMs + 2 * bounds.maxBackoffMs + 3000);
    // Successive attempts start one timeout (plus a backoff) apart.
    const starts = fake.calls.map((c) => c.at);
    expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(bounds.attemptTimeoutMs - 5);
    expect(rows.map((r) => [r.modelVersion, r.variant, r.error])).toEqual([
      [1, 'v1', 'EndpointTimeout'],
      [1, 'v1', 'EndpointTimeout'],
    ]);
    expect(counted('modelErrors')).toBe(1);
    expect(counted('serverErrors')).toBe(1);
    expect(errors[0]?.context).toMatchObject({ stage: 'score', version: 1 });
  });

  it("GIVEN a model container's 4xx WHEN a request is predicted THEN it is not retried and does not count toward the circuit", async () => {
    // Prepare
    fake.set('v1', 'model-4xx');
    const { predict, rows, runtime } = setup({ current: 1 }, { failuresToOpen: 1 });
    // Act
    const first = await predict('bad-1');
    const second = await predict('bad-2');
    // Assess
    expect([first.res.statusCode, second.res.statusCode]).toEqual([503, 503]);
    expect(fake.callsTo('v1')).toBe(2);
    expect(runtime.circuitState('credit', 1)).toBe('closed');
    expect(new Set(rows.map((r) => `${r.modelVersion}/${r.variant}/${r.error}`))).toEqual(
      new Set(['1/v1/ModelError']),
    );
  });

  it('GIVEN a variant that keeps failing WHEN requests continue THEN its circuit opens after N failures and answers at once with 503 and Retry-After, counted, then a trial call after the half-open delay closes it', async () => {
    // Prepare
    fake.set('v1', 'model-5xx');
    const { predict, rows, counted, runtime } = setup({ current: 1 });
    // Act: the first request's three failed attempts open the circuit (failuresToOpen 3).
    const failing = await predict('failing');
    const refused = await predict('refused');
    // Assess
    expect(failing.res.statusCode).toBe(503);
    expect(fake.callsTo('v1')).toBe(3);
    expect(runtime.circuitState('credit', 1)).toBe('open');
    expect(refused.res.statusCode).toBe(503);
    expect(refused.body.error).toBe('ModelUnavailable');
    expect(refused.res.headers['retry-after']).toBe(String(Math.ceil(bounds.halfOpenAfterMs / 1000)));
    // At once: the open circuit answers without calling the variant (no attempt, so no timeout).
    expect(fake.callsTo('v1')).toBe(3);
    expect(counted('circuitOpen')).toBe(1);
    expect(counted('modelErrors')).toBe(1);
    expect(
      rows.filter((r) => r.requestId === 'refused').map((r) => [r.modelVersion, r.variant, r.error]),
    ).toEqual([
      [1, 'v1', 'CircuitOpen'],
      [1, 'v1', 'CircuitOpen'],
    ]);

    // Act: the variant recovers; once the half-open delay has passed, one trial call closes the circuit.
    fake.set('v1', 'ok');
    await sleep(bounds.halfOpenAfterMs + 50);
    const recovered = await predict('recovered');
    // Assess
    expect(recovered.res.statusCode).toBe(200);
    expect(fake.callsTo('v1')).toBe(4);
    expect(runtime.circuitState('credit', 1)).toBe('closed');
    expect(rows.filter((r) => r.requestId === 'recovered').map((r) => [r.variant, r.error ?? null])).toEqual([
      ['v1', null],
      ['v1', null],
    ]);
  });

  it('GIVEN an open circuit whose trial call fails WHEN the half-open delay passes THEN the circuit opens again for another delay, with a single call made', async () => {
    // Prepare
    fake.set('v1', 'server-error');
    const { predict, runtime, counted } = setup({ current: 1 }, { attempts: 1, failuresToOpen: 1 });
    await predict('opens');
    expect(runtime.circuitState('credit', 1)).toBe('open');
    await sleep(bounds.halfOpenAfterMs + 50);
    // Act
    const trial = await predict('trial');
    const after = await predict('after');
    // Assess
    expect(trial.res.statusCode).toBe(503);
    expect(fake.callsTo('v1')).toBe(2);
    expect(runtime.circuitState('credit', 1)).toBe('open');
    expect(after.res.headers['retry-after']).toBe('2');
    expect(counted('circuitOpen')).toBe(1);
  });

  it("GIVEN a canary whose variant fails while production's scores WHEN requests of both routes arrive THEN only the canary's circuit opens, and every row names the version whose variant was asked", async () => {
    // Prepare
    fake.set('v2', 'server-error');
    const ids = idsFor(0.5, 4);
    const { predict, rows, runtime } = setup({
      current: 1,
      canary: { version: 2, weight: 0.5, startedAt: '' },
    });
    // Act
    const answers = [];
    for (let i = 0; i < 4; i++) {
      answers.push(await predict(ids.canary[i]!), await predict(ids.production[i]!));
    }
    // Assess
    expect(runtime.circuitState('credit', 2)).toBe('open');
    expect(runtime.circuitState('credit', 1)).toBe('closed');
    const byId = new Map(answers.map((a) => [a.body.requestId as string, a]));
    for (const id of ids.production) {
      expect(byId.get(id)!.res.statusCode).toBe(200);
      expect(byId.get(id)!.body.modelVersion).toBe('1');
    }
    for (const id of ids.canary) expect(byId.get(id)!.res.statusCode).toBe(503);
    for (const r of rows) {
      const canary = ids.canary.includes(r.requestId);
      expect([r.modelVersion, r.variant, r.route]).toEqual(
        canary ? [2, 'v2', 'canary'] : [1, 'v1', 'production'],
      );
      expect(r.error === undefined).toBe(!canary);
    }
    // Three attempts opened the canary's circuit; the other canary requests made no call.
    expect(fake.callsTo('v2')).toBe(3);
  });

  it('GIVEN an endpoint that answers from another variant WHEN a request is predicted THEN it is a 503 without retries, and no row names the variant that answered', async () => {
    // Prepare
    fake.set('v1', 'other-variant');
    const { predict, rows } = setup({ current: 1 });
    // Act
    const { res } = await predict('misrouted');
    // Assess
    expect(res.statusCode).toBe(503);
    expect(fake.callsTo('v1')).toBe(1);
    expect(rows.map((r) => [r.modelVersion, r.variant, r.error])).toEqual([
      [1, 'v1', 'EndpointAnswerError'],
      [1, 'v1', 'EndpointAnswerError'],
    ]);
  });

  it('GIVEN failures of each kind WHEN classified THEN timeouts, 5xx, throttling and connection errors are retryable and 4xx are not', () => {
    const sdk = (name: string, status?: number, more: Record<string, unknown> = {}) =>
      Object.assign(new Error(name), {
        name,
        ...(status === undefined ? {} : { $metadata: { httpStatusCode: status } }),
        ...more,
      });
    expect(isRetryable(sdk('InternalFailure', 500))).toBe(true);
    expect(isRetryable(sdk('ServiceUnavailable', 503))).toBe(true);
    expect(isRetryable(sdk('ThrottlingException', 400))).toBe(true);
    expect(isRetryable(sdk('ModelError', 424, { OriginalStatusCode: 502 }))).toBe(true);
    expect(isRetryable(sdk('ModelError', 424, { OriginalStatusCode: 400 }))).toBe(false);
    expect(isRetryable(sdk('ValidationError', 400))).toBe(false);
    expect(isRetryable(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe(true);
  });
});
