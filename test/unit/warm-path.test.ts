/**
 * What the warm predict path does faster than the obvious code, checked against the obvious code:
 * the EMF line from a kept template, the ISO time from a kept hour, transform vectors cut from slabs,
 * header lookup, and the Lambda context's trace id read when a line is written.
 */
import { describe, expect, it } from 'vitest';
import { featureSpecSchema } from '../../core/features/spec.ts';
import { fitTransform, transformRow, validateRow } from '../../core/features/transform.ts';
import { isoTime } from '../../core/iso-time.ts';
import { seededRandom } from '../../core/random.ts';
import { header } from '../../lambdas/predict/http.ts';
import {
  createLogger,
  createMetrics,
  emfDocument,
  lambdaContext,
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
