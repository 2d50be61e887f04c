/**
 * The drift job's handler on dynalite and s3rver: it reads the alias and versions from the registry
 * table, the window from the prediction log table, the baseline from the lake, writes the report to
 * the lake and prints the drift metrics as EMF lines (what CloudWatch and the twin read).
 */
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { lakeKeys } from '../../contracts/lake.ts';
import { buildBaseline, scoreBaseline } from '../../core/drift/baseline.ts';
import type { DriftJobResult, DriftReportDocument } from '../../core/drift/types.ts';
import { fitTransform } from '../../core/features/transform.ts';
import { systemClock } from '../../core/ports.ts';
import type { PredictionRecord } from '../../core/prediction-log.ts';
import { DynamoPredictionLogWriter } from '../../lambdas/shared/adapters/aws/dynamo-prediction-log-writer.ts';
import { DynamoModelRegistry } from '../../lambdas/shared/adapters/aws/dynamo-registry.ts';
import type { S3ObjectStore } from '../../lambdas/shared/adapters/aws/s3-object-store.ts';
import { credit, creditRows, seedVersion } from '../support/fixtures.ts';
import { type LocalAws, startLocalAws, useLocalEndpoints } from '../support/local-aws.ts';

type Handler = (input: unknown, context: Context) => Promise<DriftJobResult[]>;
const context = { awsRequestId: 'req', functionName: 'drift-job' } as unknown as Context;

describe('drift job handler on dynalite and s3rver', () => {
  let aws: LocalAws;
  let lake: S3ObjectStore;
  let handler: Handler;

  beforeAll(async () => {
    aws = await startLocalAws();
    await aws.createTable('registry');
    await aws.createTable('predictions');
    lake = await aws.createBucket('lake');
    useLocalEndpoints(aws, {
      REGISTRY_TABLE: 'registry',
      PREDICTION_LOG_TABLE: 'predictions',
      PREDICTION_LOG_SHARDS: '4',
      LAKE_BUCKET: 'lake',
      MLOPS_STAGE: 'test',
      POWERTOOLS_METRICS_NAMESPACE: 'Mlops/test',
      POWERTOOLS_SERVICE_NAME: 'drift-job',
    });
    ({ handler } = (await import('../../lambdas/drift-job/handler.ts')) as unknown as { handler: Handler });
  });
  afterAll(async () => aws.stop());

  it('judges production from the log, writes the report and emits the metrics', async () => {
    // Prepare: version 1 in production with a baseline of the credit data; 300 logged predictions,
    // a third of them with tripled incomes.
    const rows = creditRows();
    const { version } = await seedVersion(lake, 1);
    const baselineKey = lakeKeys.baseline('credit', 'snapshot-1');
    const baseline = buildBaseline({
      model: 'credit',
      snapshotId: 'snapshot-1',
      featureSchemaHash: version.featureSchemaHash,
      createdAt: new Date().toISOString(),
      spec: credit.spec,
      transform: fitTransform(credit.spec, rows),
      rows,
      quantileBins: 10,
    });
    const score = scoreBaseline(
      rows.map((_, i) => (i % 10) / 10 + 0.05),
      version.trainingJobName,
    );
    await lake.put(baselineKey, JSON.stringify({ ...baseline, score }));
    const registry = new DynamoModelRegistry(aws.db, 'registry', systemClock);
    await registry.putVersion({
      ...version,
      status: 'Approved',
      artifacts: { ...version.artifacts, baseline: baselineKey },
    });
    await registry.moveAlias('credit', undefined, { current: 1, history: [] });
    const at = new Date(Date.now() - 60_000).toISOString();
    const logged: PredictionRecord[] = Array.from({ length: 300 }, (_, i) => {
      const features = rows[(i * 13) % rows.length]!;
      return {
        model: 'credit',
        requestId: `req-${i}`,
        index: 0,
        at,
        modelVersion: 1,
        variant: 'v1',
        route: 'production',
        featureSchemaHash: version.featureSchemaHash,
        features:
          i % 3 === 0 && typeof features.Income === 'number'
            ? { ...features, Income: features.Income * 3 }
            : features,
        score: (i % 10) / 10 + 0.05,
        label: 'good',
        latencyMs: 2,
      };
    });
    await new DynamoPredictionLogWriter(aws.db, 'predictions', 90).write(logged);
    const lines: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });

    // Act
    let results: DriftJobResult[];
    try {
      results = await handler({ model: 'credit', windowMinutes: 10 }, context);
    } finally {
      write.mockRestore();
    }

    // Assess
    expect(results).toHaveLength(1);
    const [result] = results;
    expect(result).toMatchObject({ model: 'credit', status: 'judged', variants: [] });
    expect(result!.report).toMatchObject({ version: 1, samples: 300, baselineKey });
    expect(result!.report!.summary).toMatchObject({ maxFeature: 'Income', level: 'alarm' });
    const written = JSON.parse(await lake.getText(result!.report!.reportKey)) as DriftReportDocument;
    expect(result!.report!.reportKey).toMatch(
      /^reports\/drift\/credit\/\d{4}-\d{2}-\d{2}T\d{6}\d{3}Z\.json$/,
    );
    expect(written).toMatchObject({ model: 'credit', status: 'judged', samples: 300, variants: [] });
    const metrics = lines
      .map(
        (l) =>
          JSON.parse(l) as Record<string, unknown> & {
            _aws?: { CloudWatchMetrics: { Dimensions: string[][] }[] };
          },
      )
      .filter((doc) => doc._aws);
    const income = metrics.find((m) => m.FeatureDrift !== undefined && m.Feature === 'Income')!;
    expect(income._aws!.CloudWatchMetrics[0]!.Dimensions).toEqual([['Model', 'Feature']]);
    expect(income.FeatureDrift).toBeGreaterThan(credit.drift.psiAlarm);
    expect(metrics.find((m) => m.DriftSamples !== undefined)).toMatchObject({
      Model: 'credit',
      DriftSamples: 300,
    });
    expect(metrics.filter((m) => m.FeatureDrift !== undefined)).toHaveLength(credit.spec.features.length);
  });
});
