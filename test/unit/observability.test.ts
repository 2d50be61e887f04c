import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CLIENT_DIMENSION,
  FEATURE_DIMENSION,
  MODEL_DIMENSION,
  platformMetrics,
  VARIANT_DIMENSION,
} from '../../contracts/metrics.ts';
import {
  configuredLogLevel,
  createLogger,
  createMetrics,
  emfDocument,
  emfDocumentOf,
  type LogSink,
  lambdaContext,
} from '../../lambdas/shared/observability.ts';
import { LogCapture } from '../../local/log-capture.ts';

function memorySink() {
  const lines = { stdout: [] as string[], stderr: [] as string[] };
  const sink: LogSink = {
    stdout: (line) => lines.stdout.push(line),
    stderr: (line) => lines.stderr.push(line),
  };
  return { sink, lines };
}

const at = new Date('2026-03-01T10:00:00.000Z');

describe('EMF metrics', () => {
  it('writes one EMF document per metric: namespace, the Model dimension, name and unit from the contract', () => {
    // Prepare
    const { sink, lines } = memorySink();
    const metrics = createMetrics({ namespace: 'Mlops/test', sink, now: () => at });
    // Act
    metrics.emit('credit', 'latency', 42);
    // Assess
    expect(lines.stderr).toEqual([]);
    expect(lines.stdout).toHaveLength(1);
    expect(JSON.parse(lines.stdout[0]!)).toEqual({
      _aws: {
        Timestamp: at.getTime(),
        CloudWatchMetrics: [
          {
            Namespace: 'Mlops/test',
            Dimensions: [['Model']],
            Metrics: [{ Name: 'LatencyMs', Unit: 'Milliseconds' }],
          },
        ],
      },
      Model: 'credit',
      LatencyMs: 42,
    });
  });

  it('spells every platform metric as the contract does', () => {
    for (const [key, { name, unit }] of Object.entries(platformMetrics)) {
      const doc = emfDocument('Mlops/x', 'm', key as keyof typeof platformMetrics, 1, 0) as {
        _aws: { CloudWatchMetrics: { Metrics: { Name: string; Unit: string }[]; Dimensions: string[][] }[] };
      } & Record<string, unknown>;
      expect(doc._aws.CloudWatchMetrics[0]!.Metrics).toEqual([{ Name: name, Unit: unit }]);
      expect(doc._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([[MODEL_DIMENSION]]);
      expect(doc[name]).toBe(1);
      expect(doc[MODEL_DIMENSION]).toBe('m');
    }
  });

  it('adds the Variant and Feature dimensions to the one dimension set when given, Model first', () => {
    // Prepare
    const { sink, lines } = memorySink();
    const metrics = createMetrics({ namespace: 'Mlops/test', sink, now: () => at });
    // Act
    metrics.emit('credit', 'featureDrift', 0.4, { feature: 'Income' });
    metrics.emit('credit', 'maxFeatureDrift', 0.5, { variant: 'canary' });
    metrics.emit('credit', 'predictionDrift', 0.1, {});
    // Assess
    const [feature, variant, plain] = lines.stdout.map((l) => JSON.parse(l));
    expect(feature._aws.CloudWatchMetrics[0].Dimensions).toEqual([[MODEL_DIMENSION, FEATURE_DIMENSION]]);
    expect(feature).toMatchObject({ Model: 'credit', Feature: 'Income', FeatureDrift: 0.4 });
    expect(variant._aws.CloudWatchMetrics[0].Dimensions).toEqual([[MODEL_DIMENSION, VARIANT_DIMENSION]]);
    expect(variant).toMatchObject({ Model: 'credit', Variant: 'canary', MaxFeatureDrift: 0.5 });
    expect(variant).not.toHaveProperty('Feature');
    expect(plain._aws.CloudWatchMetrics[0].Dimensions).toEqual([[MODEL_DIMENSION]]);
    expect(
      emfDocument('Mlops/x', 'm', 'featureDrift', 1, 0, { variant: 'shadow', feature: 'Age' }),
    ).toMatchObject({
      _aws: { CloudWatchMetrics: [{ Dimensions: [['Model', 'Variant', 'Feature']] }] },
      Model: 'm',
      Variant: 'shadow',
      Feature: 'Age',
    });
  });

  it('GIVEN a client WHEN a metric is emitted THEN its document carries the sets [Model] and [Model, Client]', () => {
    // Prepare
    const { sink, lines } = memorySink();
    const metrics = createMetrics({ namespace: 'Mlops/test', sink, now: () => at });
    // Act
    metrics.emit('credit', 'predictions', 3, { client: 'web' });
    // Assess
    const [doc] = lines.stdout.map((l) => JSON.parse(l));
    expect(doc).toEqual({
      _aws: {
        Timestamp: at.getTime(),
        CloudWatchMetrics: [
          {
            Namespace: 'Mlops/test',
            Dimensions: [[MODEL_DIMENSION], [MODEL_DIMENSION, CLIENT_DIMENSION]],
            Metrics: [{ Name: 'Predictions', Unit: 'Count' }],
          },
        ],
      },
      Model: 'credit',
      Client: 'web',
      Predictions: 3,
    });
  });

  it("GIVEN a request's metrics WHEN emitted together THEN one document holds each under its name and unit, as the general builder writes it, and again for the next request", () => {
    // Prepare
    const { sink, lines } = memorySink();
    const metrics = createMetrics({ namespace: 'Mlops/test', sink, now: () => at });
    const entries = [
      ['predictions', 2],
      ['latency', 7],
      ['serverErrors', 0],
    ] as const;
    // Act
    metrics.emitMany('credit', entries, { client: 'web' });
    metrics.emitMany(
      'credit',
      [
        ['predictions', 5],
        ['latency', 3],
        ['serverErrors', 1],
      ],
      { client: 'web' },
    );
    // Assess
    expect(lines.stdout).toHaveLength(2);
    const [first, second] = lines.stdout.map((l) => JSON.parse(l));
    expect(first).toEqual(emfDocumentOf('Mlops/test', 'credit', entries, at.getTime(), { client: 'web' }));
    expect(first._aws.CloudWatchMetrics[0].Metrics).toEqual([
      { Name: 'Predictions', Unit: 'Count' },
      { Name: 'LatencyMs', Unit: 'Milliseconds' },
      { Name: 'ServerErrors', Unit: 'Count' },
    ]);
    expect(second).toMatchObject({ Client: 'web', Predictions: 5, LatencyMs: 3, ServerErrors: 1 });
  });

  it('GIVEN a metric twice in one request WHEN emitted together THEN the document keeps both values as a list', () => {
    // Prepare
    const { sink, lines } = memorySink();
    const metrics = createMetrics({ namespace: 'Mlops/test', sink, now: () => at });
    // Act
    metrics.emitMany('credit', [
      ['upstreamErrors', 1],
      ['upstreamErrors', 1],
      ['serverErrors', 1],
    ]);
    // Assess
    const [doc] = lines.stdout.map((l) => JSON.parse(l));
    expect(doc).toMatchObject({ Model: 'credit', UpstreamErrors: [1, 1], ServerErrors: 1 });
    expect(doc._aws.CloudWatchMetrics[0].Metrics).toEqual([
      { Name: 'UpstreamErrors', Unit: 'Count' },
      { Name: 'ServerErrors', Unit: 'Count' },
    ]);
  });

  describe('read back by the twin from stdout', () => {
    let dir: string | undefined;
    afterEach(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('becomes a metric point with the namespace, name, unit, value and dimension', async () => {
      // Prepare: a function instance's stdout, read by the capture as the twin reads its workers'.
      dir = mkdtempSync(join(tmpdir(), 'observability-'));
      const capture = new LogCapture(join(dir, 'functions.log'));
      const stdout = new PassThrough();
      const rest = new PassThrough();
      capture.attach(stdout, rest);
      const sink: LogSink = {
        stdout: (line) => stdout.write(`${line}\n`),
        stderr: (line) => stdout.write(`${line}\n`),
      };
      const metrics = createMetrics({ namespace: 'Mlops/test', sink });
      const logger = createLogger({ service: 'drift-job', level: 'INFO', sink });
      // Act
      metrics.emit('credit', 'predictionDrift', 0.31);
      metrics.emit('credit', 'featureDrift', 0.42, { feature: 'Income' });
      logger.info('drift job finished', { results: [] });
      stdout.end();
      await once(stdout, 'end');
      // Assess
      expect(capture.metrics).toEqual([
        {
          namespace: 'Mlops/test',
          name: 'PredictionDrift',
          value: 0.31,
          unit: 'None',
          dimensions: { Model: 'credit' },
          timestamp: expect.any(Number),
        },
        {
          namespace: 'Mlops/test',
          name: 'FeatureDrift',
          value: 0.42,
          unit: 'None',
          dimensions: { Model: 'credit', Feature: 'Income' },
          timestamp: expect.any(Number),
        },
      ]);
      capture.flush();
      const logged = readFileSync(join(dir, 'functions.log'), 'utf8').trim().split('\n');
      expect(logged).toHaveLength(3);
      expect(JSON.parse(logged[2]!)).toMatchObject({
        level: 'INFO',
        service: 'drift-job',
        message: 'drift job finished',
      });
    });
  });
});

describe('a metric with a client, read back by the twin', () => {
  it('GIVEN an EMF document with the sets [Model] and [Model, Client] WHEN the twin reads it THEN it keeps one point in each series, and an alarm query on [Model] still finds it', async () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'observability-'));
    try {
      const capture = new LogCapture(join(dir, 'functions.log'));
      const stdout = new PassThrough();
      capture.attach(stdout, new PassThrough());
      const metrics = createMetrics({
        namespace: 'Mlops/test',
        sink: { stdout: (line) => stdout.write(`${line}\n`), stderr: () => {} },
        now: () => at,
      });
      // Act
      metrics.emit('credit', 'latency', 12, { client: 'batch-jobs' });
      stdout.end();
      await once(stdout, 'end');
      // Assess
      expect(capture.metrics.map((m) => m.dimensions)).toEqual([
        { Model: 'credit' },
        { Model: 'credit', Client: 'batch-jobs' },
      ]);
      const query = { namespace: 'Mlops/test', name: 'LatencyMs' };
      const window = [at.getTime(), at.getTime() + 1] as const;
      expect(capture.store.values({ ...query, dimensions: { Model: 'credit' } }, ...window)).toEqual([12]);
      expect(
        capture.store.values({ ...query, dimensions: { Model: 'credit', Client: 'batch-jobs' } }, ...window),
      ).toEqual([12]);
      expect(capture.store.values({ ...query, dimensions: { Client: 'batch-jobs' } }, ...window)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('logger', () => {
  it('writes one JSON line with level, message, service, timestamp and the fields', () => {
    const { sink, lines } = memorySink();
    const logger = createLogger({ service: 'predict', level: 'INFO', sink, now: () => at });
    logger.info('loaded', { model: 'credit', version: 3 });
    expect(lines.stdout.map((l) => JSON.parse(l))).toEqual([
      {
        level: 'INFO',
        message: 'loaded',
        service: 'predict',
        timestamp: '2026-03-01T10:00:00.000Z',
        model: 'credit',
        version: 3,
      },
    ]);
  });

  it('writes warnings and errors to stderr, an error as its name, message and stack', () => {
    const { sink, lines } = memorySink();
    const logger = createLogger({ service: 'predict', level: 'INFO', sink, now: () => at });
    const err = Object.assign(new Error('table gone'), { name: 'ResourceNotFoundException' });
    logger.warn('slow');
    logger.error('prediction failed', { error: err, stage: 'load-model' });
    expect(lines.stdout).toEqual([]);
    const [warn, error] = lines.stderr.map((l) => JSON.parse(l));
    expect(warn).toMatchObject({ level: 'WARN', message: 'slow' });
    expect(error).toMatchObject({
      level: 'ERROR',
      stage: 'load-model',
      error: {
        name: 'ResourceNotFoundException',
        message: 'table gone',
        stack: expect.stringContaining('table gone'),
      },
    });
  });

  it('drops entries below its level', () => {
    const { sink, lines } = memorySink();
    const logger = createLogger({ service: 's', level: 'ERROR', sink });
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    expect([...lines.stdout, ...lines.stderr].map((l) => JSON.parse(l).message)).toEqual(['e']);
  });

  it('keeps an entry whose fields cannot be serialized, saying so', () => {
    const { sink, lines } = memorySink();
    const logger = createLogger({ service: 's', level: 'INFO', sink });
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    logger.info('odd', { circular });
    expect(JSON.parse(lines.stdout[0]!)).toMatchObject({
      message: 'odd',
      log_error: expect.stringContaining('not serializable'),
    });
  });

  it('reads its level from POWERTOOLS_LOG_LEVEL, then AWS_LAMBDA_LOG_LEVEL, else INFO', () => {
    expect(configuredLogLevel({ POWERTOOLS_LOG_LEVEL: 'error', AWS_LAMBDA_LOG_LEVEL: 'DEBUG' })).toBe(
      'ERROR',
    );
    expect(configuredLogLevel({ AWS_LAMBDA_LOG_LEVEL: 'DEBUG' })).toBe('DEBUG');
    expect(configuredLogLevel({ POWERTOOLS_LOG_LEVEL: 'warning' })).toBe('WARN');
    expect(configuredLogLevel({ POWERTOOLS_LOG_LEVEL: 'chatty' })).toBe('INFO');
    expect(configuredLogLevel({})).toBe('INFO');
  });

  it('puts the Lambda context on every line of an invocation, cold start on the first only', async () => {
    // Prepare
    const { sink, lines } = memorySink();
    const logger = createLogger({ service: 'canary', level: 'INFO', sink });
    const handler = middy<{ n: number }, number, Error, Context>()
      .use(lambdaContext<{ n: number }, number>(logger))
      .handler(async (event) => {
        logger.info('step', { n: event.n });
        return event.n;
      });
    const context = (id: string) => ({ functionName: 'Canary', awsRequestId: id }) as Context;
    // Act
    await handler({ n: 1 }, context('a'));
    await handler({ n: 2 }, context('b'));
    // Assess
    expect(lines.stdout.map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({ n: 1, function_name: 'Canary', function_request_id: 'a', cold_start: true }),
      expect.objectContaining({ n: 2, function_name: 'Canary', function_request_id: 'b', cold_start: false }),
    ]);
  });
});
