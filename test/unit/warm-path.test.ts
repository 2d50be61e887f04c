/**
 * What the warm predict path does faster than the obvious code, checked against the obvious code:
 * the EMF line from a kept template, the ISO time from a kept hour, transform vectors cut from slabs,
 * header lookup, the served answer's JSON written out, and the Lambda context's trace id read when a
 * line is written.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type PlatformMetric, platformMetrics } from '../../contracts/metrics.ts';
import { featureSpecSchema } from '../../core/features/spec.ts';
import { fitTransform, transformRow, validateRow } from '../../core/features/transform.ts';
import { isoTime } from '../../core/iso-time.ts';
import { seededRandom } from '../../core/random.ts';
import { header, served } from '../../lambdas/predict/http.ts';
import {
  createLogger,
  createMetrics,
  emfDocument,
  emfDocumentOf,
  lambdaContext,
  type MetricDimensions,
} from '../../lambdas/shared/observability.ts';

describe('the warm predict path', () => {
  it('GIVEN metrics of several models, names, dimensions and values WHEN emitted twice each THEN every line is the JSON of its EMF document', () => {
    // Prepare
    const lines: string[] = [];
    let now = 1_764_600_000_123;
    const metrics = createMetrics({
      namespace: 'Mlops/test',
      sink: { stdout: (l) => lines.push(l), stderr: () => {} },
      now: () => new Date(now),
    });
    const cases = [
      ['credit', 'latency', 12.5, undefined],
      ['credit', 'predictions', 3, undefined],
      ['churn', 'predictions', 0, undefined],
      ['credit', 'featureDrift', 0.31, { variant: 'canary', feature: 'Age' }],
      ['credit', 'featureDrift', 0.02, { feature: 'Age' }],
      ['credit', 'featureDrift', -0, { variant: 'canary' }],
      ['we"ird\\model', 'serverErrors', 1e21, undefined],
      ['credit', 'scoreMeanShift', Number.NaN, undefined],
      ['credit', 'scoreMeanShift', Number.POSITIVE_INFINITY, undefined],
    ] as const;
    const expected: string[] = [];
    // Act
    for (let round = 0; round < 2; round++) {
      for (const [model, metric, value, dims] of cases) {
        now += 7;
        metrics.emit(model, metric, value, dims);
        expected.push(JSON.stringify(emfDocument('Mlops/test', model, metric, value, now, dims)));
      }
    }
    // Assess
    expect(lines).toEqual(expected);
  });

  it('GIVEN sequences of metrics of several models and dimensions, some repeated or not finite WHEN emitted together, each twice THEN every line is the JSON of its EMF document', () => {
    // Prepare
    const lines: string[] = [];
    let now = 1_764_600_000_123;
    const metrics = createMetrics({
      namespace: 'Mlops/test',
      sink: { stdout: (l) => lines.push(l), stderr: () => {} },
      now: () => new Date(now),
    });
    const rand = seededRandom(11);
    const names = Object.keys(platformMetrics) as PlatformMetric[];
    const models = ['credit', 'churn', 'we"ird\\model'];
    const dimensionSets: (MetricDimensions | undefined)[] = [
      undefined,
      {},
      { client: 'web' },
      { client: 'mobile' },
      { client: '' },
      { variant: 'canary' },
      { feature: 'Age' },
      { variant: 'shadow', feature: 'Income', client: 'web' },
      // Values that would read as other dimensions if the names and values were only joined.
      { variant: 'a\u0000feature=b' },
      { variant: 'a', feature: 'b' },
    ];
    const values = [0, -0, 1, 12.5, 1e21, -3e-7, Number.NaN, Number.POSITIVE_INFINITY];
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const cases = Array.from({ length: 400 }, () => ({
      model: pick(models),
      dims: pick(dimensionSets),
      // Few names, so that sequences share their starts and some name a metric twice.
      entries: Array.from(
        { length: 1 + Math.floor(rand() * 4) },
        () => [pick(names.slice(0, 5)), rand() < 0.9 ? Math.round(rand() * 1000) : pick(values)] as const,
      ),
    }));
    const expected: string[] = [];
    // Act
    for (let round = 0; round < 2; round++) {
      for (const { model, dims, entries } of cases) {
        now += 7;
        metrics.emitMany(model, entries, dims);
        expected.push(JSON.stringify(emfDocumentOf('Mlops/test', model, entries, now, dims)));
      }
    }
    // Assess
    expect(lines).toEqual(expected);
  });

  it('GIVEN predictions, labels, models and request ids of any text, and versions WHEN an answer is served THEN its body is what JSON.stringify writes of it', () => {
    const text = fc.string({ unit: 'binary', maxLength: 12 });
    fc.assert(
      fc.property(
        fc.array(fc.record({ score: fc.double(), label: text }), { maxLength: 4 }),
        fc.integer({ min: 1 }),
        text,
        text,
        (predictions, version, model, requestId) => {
          const res = served(predictions, version, model, requestId, 'v1');
          const modelVersion = String(version);
          expect(res.body).toBe(JSON.stringify({ predictions, modelVersion, model, requestId }));
          expect(res.headers).toEqual({
            'content-type': 'application/json',
            'cache-control': 'no-store',
            'x-model-version': modelVersion,
            'x-model-variant': 'v1',
          });
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('GIVEN times across hours, days, years, before the epoch and with fractions WHEN formatted THEN each equals Date.toISOString, and out of range throws as it does', () => {
    const rand = seededRandom(3);
    const times = [
      0, -1, -0.5, 1.9, 3_599_999, 3_600_000, -62_198_755_200_000, 253_402_300_800_000, 8.64e15, -8.64e15,
    ];
    for (let i = 0; i < 20_000; i++) times.push((rand() - 0.3) * 1e14);
    for (const t of times) expect(isoTime(t)).toBe(new Date(t).toISOString());
    for (const t of [8.64e15 + 1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => isoTime(t)).toThrow(RangeError);
    }
  });

  it('GIVEN many rows transformed in turn WHEN vectors are cut from slabs THEN each is fresh: zero where nothing was set, unchanged by later rows', () => {
    // Prepare
    const spec = featureSpecSchema.parse({
      version: 1,
      label: { column: 'y', positive: '1', negative: '0' },
      features: [
        { name: 'x', type: 'numeric' },
        { name: 'c', type: 'categorical', maxCategories: 20 },
      ],
    });
    const cats = Array.from({ length: 20 }, (_, i) => `k${i}`);
    const rows = Array.from({ length: 3000 }, (_, i) => ({ x: i, c: cats[i % 20]! }));
    const artifact = fitTransform(spec, rows);
    // Act
    const vectors = rows.map((row) => transformRow(spec, artifact, row));
    // Assess: every vector still holds its own row, with exactly one category set.
    vectors.forEach((v, i) => {
      expect(v.length).toBe(artifact.columns.length);
      expect(v[0]).toBe(i);
      expect(Array.from(v.subarray(1)).filter((x) => x !== 0)).toEqual([1]);
      expect(v[artifact.columns.indexOf(`c=${cats[i % 20]}`)]).toBe(1);
    });
  });

  it('GIVEN a JSON instance with an unknown field WHEN validated twice THEN both name it (the known names are kept per spec), and a label column is allowed only with the label', () => {
    const spec = featureSpecSchema.parse({
      version: 1,
      label: { column: 'y', positive: '1', negative: '0' },
      features: [{ name: 'x', type: 'numeric' }],
    });
    for (let i = 0; i < 2; i++) {
      expect(validateRow(spec, { x: 1, z: 2 }, 'json')).toEqual({
        ok: false,
        errors: [{ field: 'z', message: 'is not a feature of this model' }],
      });
    }
    expect(validateRow(spec, { x: 1, y: '1' }, 'json', true)).toMatchObject({ ok: true, label: 1 });
    expect(validateRow(spec, { x: 1, y: '1' }, 'json')).toMatchObject({ ok: false });
  });

  it('GIVEN headers in any case WHEN looked up THEN the value is found, and inherited names are not', () => {
    const headers = Object.assign(Object.create({ 'content-type': 'inherited' }), {
      'Content-Type': 'application/json',
      'x-api-key': 'k',
    });
    expect(header({ headers }, 'content-type')).toBe('application/json');
    expect(header({ headers }, 'X-Api-Key')).toBe('k');
    // Names of the same length that differ, and a name asked for as it is spelled.
    const many = { 'Content-Types': 'x', 'Idempotency-Kez': 'z', 'IDEMPOTENCY-KEY': 'key', Via: 'v' };
    expect(header({ headers: many }, 'Idempotency-Key')).toBe('key');
    expect(header({ headers: many }, 'IDEMPOTENCY-KEY')).toBe('key');
    expect(header({ headers: many }, 'content-type')).toBeUndefined();
    expect(header({ headers: {} }, 'content-type')).toBeUndefined();
    expect(header({ headers: Object.create({ a: 'b' }) }, 'a')).toBeUndefined();
  });

  it('GIVEN the Lambda context set on the logger WHEN the trace id is set afterwards, or never THEN a line carries the id of the moment it is written, or no key', () => {
    // Prepare
    const lines: string[] = [];
    const logger = createLogger({
      service: 's',
      level: 'INFO',
      sink: { stdout: (l) => lines.push(l), stderr: () => {} },
    });
    const saved = process.env._X_AMZN_TRACE_ID;
    delete process.env._X_AMZN_TRACE_ID;
    try {
      lambdaContext(logger).before!({
        context: { invokedFunctionArn: 'arn', memoryLimitInMB: '128', functionName: 'f', awsRequestId: 'r' },
      } as never);
      // Act
      logger.info('before');
      process.env._X_AMZN_TRACE_ID = 'Root=1-abc';
      logger.info('after');
    } finally {
      if (saved === undefined) delete process.env._X_AMZN_TRACE_ID;
      else process.env._X_AMZN_TRACE_ID = saved;
    }
    // Assess
    const [before, after] = lines.map((l) => JSON.parse(l));
    expect(before).not.toHaveProperty('xray_trace_id');
    expect(before).toMatchObject({ function_request_id: 'r', cold_start: true });
    expect(after).toMatchObject({ xray_trace_id: 'Root=1-abc', function_request_id: 'r' });
  });
});
