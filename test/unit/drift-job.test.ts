import { describe, expect, it } from 'vitest';
import { lakeKeys } from '../../contracts/lake.ts';
import type { PlatformMetric } from '../../contracts/metrics.ts';
import { buildBaseline, scoreBaseline } from '../../core/drift/baseline.ts';
import type { DriftBaseline, DriftReportDocument } from '../../core/drift/types.ts';
import { type CleanRow, fitTransform } from '../../core/features/transform.ts';
import type { PredictionRecord } from '../../core/prediction-log.ts';
import type { ModelVersion, ProductionAlias } from '../../core/registry/model.ts';
import { type DriftDimensions, type DriftJobDeps, runDriftJob } from '../../lambdas/drift-job/core.ts';
import { credit, creditRows } from '../support/fixtures.ts';

const END = new Date('2026-01-01T12:00:00.000Z');
const training = creditRows();
const scoreOf = (i: number) => ((i * 37) % 100) / 100 + 0.005;
/** `n` rows spread over the training data (the file is not in random order), from `offset` on. */
const spread = (n: number, offset = 0): CleanRow[] =>
  Array.from(
    { length: n },
    (_, i) => training[(offset + Math.floor((i * training.length) / n)) % training.length]!,
  );

function baselineFor(version: number): DriftBaseline {
  return {
    ...buildBaseline({
      model: 'credit',
      snapshotId: `s${version}`,
      featureSchemaHash: `hash-${version}`,
      createdAt: '2026-01-01T00:00:00.000Z',
      spec: credit.spec,
      transform: fitTransform(credit.spec, training),
      rows: training,
      quantileBins: credit.drift.quantileBins,
    }),
    score: scoreBaseline(
      training.map((_, i) => scoreOf(i)),
      `job-${version}`,
    ),
  };
}

function versionRecord(version: number): ModelVersion {
  return {
    version,
    featureSchemaHash: `hash-${version}`,
    trainingJobName: `job-${version}`,
    snapshotId: `s${version}`,
    createdAt: '2026-01-01T00:00:00.000Z',
    artifacts: {
      baseline: lakeKeys.baseline('credit', `s${version}`),
      evaluation: `artifacts/credit/jobs/job-${version}/evaluation.json`,
    },
  } as unknown as ModelVersion;
}

interface Row {
  version: number;
  route?: PredictionRecord['route'];
  features: CleanRow;
  score?: number;
  minutesAgo?: number;
  error?: string;
}

function record(r: Row, index: number): PredictionRecord {
  return {
    model: 'credit',
    requestId: `r${index}`,
    index: 0,
    at: new Date(END.getTime() - (r.minutesAgo ?? 5) * 60_000).toISOString(),
    modelVersion: r.version,
    variant: `v${r.version}`,
    ...(r.route ? { route: r.route } : {}),
    featureSchemaHash: `hash-${r.version}`,
    features: r.features,
    score: r.error ? null : (r.score ?? scoreOf(index)),
    label: r.error ? null : 'good',
    latencyMs: 3,
    ...(r.error ? { error: r.error } : {}),
  };
}

/** In-memory registry, lake and log; the log is read back in pages of 50 rows. */
function world(opts: { alias?: ProductionAlias; rows: Row[]; lake?: Record<string, string> }) {
  const lake = new Map(Object.entries(opts.lake ?? {}));
  const emitted: { metric: PlatformMetric; value: number; dims?: DriftDimensions }[] = [];
  const reads: { from: Date; to: Date }[] = [];
  const log = opts.rows.map(record);
  const deps: DriftJobDeps = {
    registry: {
      getAlias: async (model) => (model === 'credit' ? opts.alias : undefined),
      getVersion: async (_model, v) => (v >= 1 && v <= 9 ? versionRecord(v) : undefined),
    },
    lake: {
      tryGetText: async (key) => lake.get(key),
      put: async (key, body) => {
        lake.set(key, String(body));
      },
    },
    readWindow: async function* (_model, from, to) {
      reads.push({ from, to });
      for (let i = 0; i < log.length; i += 50) yield log.slice(i, i + 50);
    },
    emit: (_model, metric, value, dims) => emitted.push({ metric, value, ...(dims ? { dims } : {}) }),
    clock: { now: () => END },
  };
  return { deps, lake, emitted, reads };
}

/** Each version's snapshot baseline and its evaluation, holding its own validation scores, as evaluate writes them. */
const withBaselines = (...versions: number[]) =>
  Object.fromEntries(
    versions.flatMap((v) => [
      [lakeKeys.baseline('credit', `s${v}`), JSON.stringify(baselineFor(v))],
      [`artifacts/credit/jobs/job-${v}/evaluation.json`, JSON.stringify({ score: baselineFor(v).score })],
    ]),
  );

const alias = (extra: Partial<ProductionAlias> = {}): ProductionAlias => ({
  model: 'credit',
  current: 3,
  history: [2],
  updatedAt: '',
  ...extra,
});

const tripled = (r: CleanRow): CleanRow => ({
  ...r,
  Income: typeof r.Income === 'number' ? r.Income * 3 : null,
});

const reportKey = lakeKeys.driftReport('credit', END.toISOString());

describe('drift job', () => {
  it('judges production and a canary apart, each against its own baseline, in one read of the window', async () => {
    // Prepare: production serves the training distribution; the canary's traffic has tripled incomes.
    const rows: Row[] = [
      ...spread(300).map((features) => ({ version: 3, route: 'production' as const, features })),
      // Rows logged before the route field existed are production's.
      ...spread(100, 5).map((features) => ({ version: 3, features })),
      ...spread(200, 3).map((features) => ({
        version: 4,
        route: 'canary' as const,
        features: tripled(features),
      })),
      // Not anyone's: a shadow the alias does not have, the previous version, a failed instance.
      ...training.slice(0, 50).map((features) => ({ version: 5, route: 'shadow' as const, features })),
      ...training
        .slice(0, 50)
        .map((features) => ({ version: 2, route: 'production' as const, features: tripled(features) })),
      { version: 3, route: 'production', features: tripled(training[0]!), error: 'ModelError' },
    ];
    const w = world({
      alias: alias({ canary: { version: 4, weight: 0.1, startedAt: '' } }),
      rows,
      lake: withBaselines(3, 4),
    });
    // Act
    const [result] = await runDriftJob({ model: 'credit' }, [credit], w.deps);
    // Assess
    expect(w.reads).toHaveLength(1);
    expect(result).toMatchObject({ model: 'credit', status: 'judged' });
    expect(result!.report).toMatchObject({ version: 3, route: 'production', samples: 400, reportKey });
    expect(result!.report!.summary!.level, result!.message).toBe('ok');
    expect(result!.variants).toHaveLength(1);
    const canary = result!.variants[0]!;
    expect(canary).toMatchObject({ version: 4, route: 'canary', samples: 200, status: 'judged' });
    expect(canary.baselineKey).toBe(lakeKeys.baseline('credit', 's4'));
    expect(canary.summary).toMatchObject({ maxFeature: 'Income', level: 'alarm' });

    const production = w.emitted.filter((e) => !e.dims);
    expect(production.map((e) => e.metric).sort()).toEqual([
      'driftSamples',
      'maxFeatureDrift',
      'maxNullRateIncrease',
      'maxUnseenCategoryShare',
      'predictionDrift',
      'scoreMeanShift',
    ]);
    expect(production.find((e) => e.metric === 'driftSamples')!.value).toBe(400);
    expect(production.find((e) => e.metric === 'maxFeatureDrift')!.value).toBeLessThan(credit.drift.psiWarn);
    const perFeature = w.emitted.filter((e) => e.dims?.feature !== undefined);
    expect(perFeature.map((e) => e.dims!.feature)).toEqual(credit.spec.features.map((f) => f.name));
    expect(perFeature.every((e) => e.metric === 'featureDrift' && e.dims!.variant === undefined)).toBe(true);
    const canaryMetrics = w.emitted.filter((e) => e.dims?.variant === 'canary');
    expect(canaryMetrics.map((e) => e.metric).sort()).toEqual(production.map((e) => e.metric).sort());
    expect(canaryMetrics.find((e) => e.metric === 'maxFeatureDrift')!.value).toBeGreaterThan(
      credit.drift.psiAlarm,
    );

    const written = JSON.parse(w.lake.get(reportKey)!) as DriftReportDocument;
    expect(written).toMatchObject({ model: 'credit', version: 3, route: 'production', status: 'judged' });
    expect(written.features).toHaveLength(credit.spec.features.length);
    expect(written.variants.map((v) => [v.route, v.version])).toEqual([['canary', 4]]);
  });

  it("reads the model's own window by default and the input's when given", async () => {
    const rows: Row[] = [
      ...training.slice(0, 150).map((features) => ({ version: 3, features, minutesAgo: 5 })),
      ...training.slice(150, 250).map((features) => ({ version: 3, features, minutesAgo: 30 })),
      ...training.slice(250, 300).map((features) => ({ version: 3, features, minutesAgo: 90 })),
    ];
    const byDefault = world({ alias: alias(), rows, lake: withBaselines(3) });
    const [wide] = await runDriftJob({}, [credit], byDefault.deps);
    expect(byDefault.reads[0]!.from.toISOString()).toBe('2026-01-01T11:00:00.000Z');
    expect(wide!.report).toMatchObject({ samples: 250, windowStart: '2026-01-01T11:00:00.000Z' });

    const narrow = world({ alias: alias(), rows, lake: withBaselines(3) });
    const [ten] = await runDriftJob({ model: 'credit', windowMinutes: 10 }, [credit], narrow.deps);
    expect(ten!.report).toMatchObject({ samples: 150, windowEnd: END.toISOString() });
  });

  it('below minSamples judges nothing, emits only the sample count and says so in the report', async () => {
    const w = world({
      alias: alias(),
      rows: training.slice(0, 5).map((features) => ({ version: 3, features: tripled(features) })),
      lake: withBaselines(3),
    });
    const [result] = await runDriftJob({ model: 'credit' }, [credit], w.deps);
    expect(result).toMatchObject({ status: 'insufficient-samples' });
    expect(result!.message).toContain('5 scored row(s) in the window, fewer than the 100 needed');
    expect(w.emitted).toEqual([{ metric: 'driftSamples', value: 5 }]);
    expect(JSON.parse(w.lake.get(reportKey)!)).toMatchObject({
      status: 'insufficient-samples',
      features: [],
    });
  });

  it('without a baseline says so, emits only the sample count and writes no report', async () => {
    const w = world({
      alias: alias(),
      rows: training.slice(0, 200).map((features) => ({ version: 3, features })),
    });
    const [result] = await runDriftJob({ model: 'credit' }, [credit], w.deps);
    expect(result).toMatchObject({ status: 'no-baseline', variants: [] });
    expect(result!.report).toBeUndefined();
    expect(result!.message).toContain('v3 (production) has no drift baseline');
    expect(result!.message).toContain(
      `its drift baseline ${lakeKeys.baseline('credit', 's3')} does not exist`,
    );
    expect(w.emitted).toEqual([{ metric: 'driftSamples', value: 200 }]);
    expect(w.lake.has(reportKey)).toBe(false);
  });

  it("judges an older version's scores from its evaluation when its baseline is train.py's former file", async () => {
    const w = world({
      alias: alias(),
      rows: training.slice(0, 200).map((features) => ({ version: 3, features, score: 0.97 })),
      lake: {
        [lakeKeys.baseline('credit', 's3')]: JSON.stringify({ version: 1, features: { columns: [] } }),
        'artifacts/credit/jobs/job-3/evaluation.json': JSON.stringify({
          scoreHistogram: [20, 20, 20, 20, 20, 0, 0, 0, 0, 0],
        }),
      },
    });
    const [result] = await runDriftJob({ model: 'credit' }, [credit], w.deps);
    expect(result!.status).toBe('judged');
    expect(result!.report!.features).toEqual([]);
    expect(result!.report!.prediction).toMatchObject({
      level: 'alarm',
      baselineMean: expect.closeTo(0.25, 12),
    });
    expect(result!.report!.baselineKey).toBe('artifacts/credit/jobs/job-3/evaluation.json');
    expect(result!.message).toContain('is not a drift baseline (an earlier format)');
    expect(w.emitted.map((e) => e.metric)).toEqual(['driftSamples', 'predictionDrift', 'scoreMeanShift']);
  });

  it("takes a version's own scores from its evaluation when the shared baseline holds another version's", async () => {
    const own = { ...baselineFor(3).score!, trainingJobName: 'job-3', mean: 0.4321 };
    const shared = {
      ...baselineFor(3),
      score: { ...baselineFor(3).score!, trainingJobName: 'job-9', mean: 0.9 },
    };
    const w = world({
      alias: alias(),
      rows: training.slice(0, 200).map((features) => ({ version: 3, features })),
      lake: {
        [lakeKeys.baseline('credit', 's3')]: JSON.stringify(shared),
        'artifacts/credit/jobs/job-3/evaluation.json': JSON.stringify({
          scoreHistogram: [0, 0, 0, 0, 0, 0, 0, 0, 0, 10],
          score: own,
        }),
      },
    });
    const [result] = await runDriftJob({ model: 'credit' }, [credit], w.deps);
    expect(result!.report!.features).toHaveLength(credit.spec.features.length);
    // The exact mean of its own validation scores, not one estimated from bins, and nothing to explain.
    expect(result!.report!.prediction!.baselineMean).toBe(0.4321);
    expect(result!.message).not.toContain('job-9');
    expect(result!.message).not.toContain('estimated');
  });

  it('runs every model without a model in the input, and judges nothing for one without production', async () => {
    const other = { ...credit, name: 'churn' };
    const w = world({ rows: [] });
    const results = await runDriftJob(undefined, [credit, other], w.deps);
    expect(results.map((r) => [r.model, r.status])).toEqual([
      ['credit', 'no-production-model'],
      ['churn', 'no-production-model'],
    ]);
    expect(w.emitted).toEqual([]);
    expect(w.reads).toEqual([]);
  });

  it('refuses bad input, naming the problem', async () => {
    const { deps } = world({ rows: [] });
    await expect(runDriftJob({ model: 'nope' }, [credit], deps)).rejects.toThrow(
      'Unknown model "nope". Known models: credit.',
    );
    await expect(runDriftJob({ windowMinutes: 0 }, [credit], deps)).rejects.toThrow(
      'windowMinutes must be a whole number of minutes from 1 to 10080, got 0.',
    );
    await expect(runDriftJob({ windowMinutes: '60' }, [credit], deps)).rejects.toThrow(/got "60"/);
    await expect(runDriftJob({ model: 'credit', window: 60 }, [credit], deps)).rejects.toThrow(
      "The drift job's input has unknown key(s) window; it takes model and windowMinutes.",
    );
    await expect(runDriftJob([], [credit], deps)).rejects.toMatchObject({ name: 'InvalidInput' });
  });
});
