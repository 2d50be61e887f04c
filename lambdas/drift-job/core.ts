/**
 * Drift job: for each model (or the one named), reads the window's prediction-log rows once and
 * counts them, apart, for the production version and for a running canary or shadow, in the bins of
 * each version's drift baseline (core/drift/); judges each against its baseline under the model's
 * drift policy, emits the metrics the drift alarms watch, and writes the report to the lake.
 *
 * Rows are counted page by page as the log returns them, so memory stays in the number of bins
 * whatever the traffic. Metrics: production's with the `Model` dimension alone (what the alarms
 * watch) plus one `FeatureDrift` per feature with `[Model, Feature]`; a canary's or shadow's summary
 * metrics with `[Model, Variant]` (their per-feature figures are in the report only). Below
 * `minSamples`, or without a baseline, only `DriftSamples` is emitted: a PSI on a handful of rows
 * is noise, and no figure is better than a made-up one.
 */

import { lakeKeys } from '../../contracts/lake.ts';
import type { PlatformMetric } from '../../contracts/metrics.ts';
import { DriftAccumulator } from '../../core/drift/accumulator.ts';
import {
  checkDriftBaseline,
  looksLikeDriftBaseline,
  scoreBaselineFromHistogram,
} from '../../core/drift/baseline.ts';
import { BinLayout } from '../../core/drift/bins.ts';
import { judgeDrift } from '../../core/drift/judge.ts';
import { SCORE_BINS } from '../../core/drift/statistics.ts';
import type {
  DriftBaseline,
  DriftJobResult,
  DriftReport,
  DriftReportDocument,
  DriftRoute,
  ScoreBaseline,
} from '../../core/drift/types.ts';
import { errorNames, PlatformError } from '../../core/errors.ts';
import type { ModelDefinition } from '../../core/model/definition.ts';
import type { Clock, ModelRegistryPort, ObjectStore } from '../../core/ports.ts';
import { isScored, type PredictionRecord } from '../../core/prediction-log.ts';

/** The job's input: the schedule rule of each model passes both; the CLI may pass neither. */
export interface DriftJobInput {
  /** The model to judge; absent: every deployed model. */
  model?: string;
  /** The window, in minutes back from now; absent: each model's `drift.windowMinutes`. */
  windowMinutes?: number;
}

/** The extra dimensions of a drift metric (besides `Model`). */
export interface DriftDimensions {
  feature?: string;
  variant?: string;
}

export interface DriftJobDeps {
  registry: Pick<ModelRegistryPort, 'getAlias' | 'getVersion'>;
  lake: Pick<ObjectStore, 'tryGetText' | 'put'>;
  /** The model's prediction-log rows logged in [from, to], a page at a time. */
  readWindow: (model: string, from: Date, to: Date) => AsyncIterable<readonly PredictionRecord[]>;
  emit: (model: string, metric: PlatformMetric, value: number, dimensions?: DriftDimensions) => void;
  clock: Clock;
}

const INPUT_KEYS = ['model', 'windowMinutes'];
const MAX_WINDOW_MINUTES = 10_080;

/** Checks the input, naming what is wrong; returns the models to judge and the window override. */
export function checkDriftInput(
  input: unknown,
  models: readonly ModelDefinition[],
): { models: ModelDefinition[]; windowMinutes?: number } {
  const raw = input ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new PlatformError(
      errorNames.invalidInput,
      `The drift job's input must be an object like {"model": "credit", "windowMinutes": 60}, got ${JSON.stringify(raw)}.`,
    );
  }
  const unknown = Object.keys(raw).filter((k) => !INPUT_KEYS.includes(k));
  if (unknown.length > 0) {
    throw new PlatformError(
      errorNames.invalidInput,
      `The drift job's input has unknown key(s) ${unknown.join(', ')}; it takes ${INPUT_KEYS.join(' and ')}.`,
    );
  }
  const { model, windowMinutes } = raw as Record<string, unknown>;
  if (
    windowMinutes !== undefined &&
    (typeof windowMinutes !== 'number' ||
      !Number.isInteger(windowMinutes) ||
      windowMinutes < 1 ||
      windowMinutes > MAX_WINDOW_MINUTES)
  ) {
    throw new PlatformError(
      errorNames.invalidInput,
      `windowMinutes must be a whole number of minutes from 1 to ${MAX_WINDOW_MINUTES}, got ${JSON.stringify(windowMinutes)}.`,
    );
  }
  if (model === undefined) {
    return { models: [...models], ...(windowMinutes !== undefined ? { windowMinutes } : {}) };
  }
  const def = models.find((m) => m.name === model);
  if (typeof model !== 'string' || !def) {
    throw new PlatformError(
      errorNames.unknownModel,
      `Unknown model ${JSON.stringify(model)}. Known models: ${models.map((m) => m.name).join(', ')}.`,
    );
  }
  return { models: [def], ...(windowMinutes !== undefined ? { windowMinutes } : {}) };
}

/** A version's baseline as found, or why there is none. */
type LoadedBaseline =
  | { ok: true; baseline: DriftBaseline; key: string; notes: string[] }
  | { ok: false; reason: string };

function parseJson(text: string, key: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new PlatformError(errorNames.artifactInvalid, `${key} is not JSON: ${(err as Error).message}`);
  }
}

/**
 * A version's drift baseline: the features from its snapshot's baseline (`artifacts.baseline`), the
 * scores from its own evaluation artifact (`score`). A version trained before baselines were built
 * (it points at train.py's column statistics) is judged on its evaluation's `scoreHistogram` only,
 * the mean estimated from the bins.
 */
async function loadBaseline(
  model: string,
  versionNumber: number,
  deps: Pick<DriftJobDeps, 'registry' | 'lake'>,
): Promise<LoadedBaseline> {
  const version = await deps.registry.getVersion(model, versionNumber);
  if (!version) return { ok: false, reason: `version ${versionNumber} is not in the registry` };
  const notes: string[] = [];
  const key = version.artifacts.baseline;
  const text = key ? await deps.lake.tryGetText(key) : undefined;
  let features: DriftBaseline | undefined;
  if (text === undefined) {
    notes.push(`its drift baseline ${key || '(none recorded)'} does not exist`);
  } else {
    const parsed = parseJson(text, key);
    if (!looksLikeDriftBaseline(parsed)) {
      notes.push(`${key} is not a drift baseline (an earlier format), so no feature is judged`);
    } else {
      features = checkDriftBaseline(parsed, key);
      if (features.featureSchemaHash !== version.featureSchemaHash) {
        notes.push(`${key} was built for another feature schema, so no feature is judged`);
        features = undefined;
      }
    }
  }
  // The scores are the version's own, kept with its evaluation: the snapshot's baseline file is shared
  // by every version trained on the snapshot, and its `score` is that of the one evaluated last.
  if (features?.score) {
    const { score: _shared, ...rest } = features;
    features = rest;
  }
  const evaluation = await deps.lake.tryGetText(version.artifacts.evaluation);
  const evaluated =
    evaluation === undefined
      ? undefined
      : (parseJson(evaluation, version.artifacts.evaluation) as {
          scoreHistogram?: unknown;
          score?: unknown;
        });
  const own = evaluated?.score as ScoreBaseline | undefined;
  if (
    features &&
    own?.trainingJobName === version.trainingJobName &&
    Array.isArray(own.counts) &&
    own.counts.length === SCORE_BINS &&
    typeof own.mean === 'number'
  ) {
    return { ok: true, baseline: { ...features, score: own }, key, notes };
  }
  const histogram = evaluated?.scoreHistogram;
  const hasHistogram =
    Array.isArray(histogram) &&
    histogram.length === SCORE_BINS &&
    histogram.every((c) => typeof c === 'number' && c >= 0);
  if (!features && !hasHistogram) {
    return { ok: false, reason: [...notes, 'and its evaluation has no score histogram'].join(' ') };
  }
  if (!hasHistogram) {
    notes.push('it has no validation scores, so the scores are not judged');
    return { ok: true, baseline: features!, key, notes };
  }
  notes.push(`the scores are compared with ${version.artifacts.evaluation} (mean estimated from its bins)`);
  const score = scoreBaselineFromHistogram(histogram as number[]);
  if (features) return { ok: true, baseline: { ...features, score }, key, notes };
  return {
    ok: true,
    baseline: {
      model,
      snapshotId: version.snapshotId,
      featureSchemaHash: version.featureSchemaHash,
      createdAt: version.createdAt,
      rows: 0,
      features: [],
      score,
    },
    key: version.artifacts.evaluation,
    notes,
  };
}

/** One version's traffic in the window: which rows are its, and their counts. */
interface Group {
  route: DriftRoute;
  version: number;
  samples: number;
  loaded: LoadedBaseline;
  counts?: DriftAccumulator;
}

/** Whether a scored row is the group's: production's rows may predate the `route` field. */
function belongs(group: Group, row: PredictionRecord): boolean {
  return row.modelVersion === group.version && (row.route ?? 'production') === group.route;
}

function emitReport(model: string, report: DriftReport, deps: Pick<DriftJobDeps, 'emit'>): void {
  const dims = report.route === 'production' ? undefined : { variant: report.route };
  deps.emit(model, 'driftSamples', report.samples, dims);
  if (report.status !== 'judged') return;
  if (report.prediction) {
    deps.emit(model, 'predictionDrift', report.prediction.psi, dims);
    deps.emit(model, 'scoreMeanShift', report.prediction.meanShift, dims);
  }
  if (report.features.length === 0 || !report.summary) return;
  deps.emit(model, 'maxFeatureDrift', report.summary.maxFeaturePsi, dims);
  deps.emit(model, 'maxNullRateIncrease', report.summary.maxNullRateIncrease, dims);
  deps.emit(model, 'maxUnseenCategoryShare', report.summary.maxUnseenShare, dims);
  if (dims) return;
  for (const f of report.features) deps.emit(model, 'featureDrift', f.psi, { feature: f.feature });
}

async function judgeModel(
  def: ModelDefinition,
  windowMinutes: number,
  end: Date,
  deps: DriftJobDeps,
): Promise<DriftJobResult> {
  const model = def.name;
  const alias = await deps.registry.getAlias(model);
  if (!alias) {
    return {
      model,
      status: 'no-production-model',
      message: `${model} has no production version, so there is nothing to watch.`,
      variants: [],
    };
  }
  const wanted: { route: DriftRoute; version: number }[] = [{ route: 'production', version: alias.current }];
  if (alias.canary) wanted.push({ route: 'canary', version: alias.canary.version });
  if (alias.shadow) wanted.push({ route: 'shadow', version: alias.shadow.version });
  const groups: Group[] = [];
  for (const w of wanted) {
    const loaded = await loadBaseline(model, w.version, deps);
    groups.push({
      ...w,
      samples: 0,
      loaded,
      ...(loaded.ok ? { counts: new DriftAccumulator(new BinLayout(loaded.baseline.features)) } : {}),
    });
  }

  const start = new Date(end.getTime() - windowMinutes * 60_000);
  const [from, to] = [start.toISOString(), end.toISOString()];
  for await (const page of deps.readWindow(model, start, end)) {
    // Each group's rows of the page, counted as one batch.
    const batches = groups.map(() => ({ features: [] as Record<string, unknown>[], scores: [] as number[] }));
    for (const row of page) {
      if (!isScored(row) || row.at < from || row.at > to) continue;
      const at = groups.findIndex((g) => belongs(g, row));
      if (at < 0) continue;
      groups[at]!.samples++;
      batches[at]!.features.push(row.features ?? {});
      batches[at]!.scores.push(row.score);
    }
    for (const [i, g] of groups.entries()) g.counts?.addBatch(batches[i]!.features, batches[i]!.scores);
  }

  const reportKey = lakeKeys.driftReport(model, to);
  const reports: (DriftReport | undefined)[] = groups.map((g) => {
    if (!g.loaded.ok || !g.counts) {
      deps.emit(
        model,
        'driftSamples',
        g.samples,
        g.route === 'production' ? undefined : { variant: g.route },
      );
      return undefined;
    }
    const report = judgeDrift(g.loaded.baseline, g.counts, def.drift, {
      model,
      version: g.version,
      route: g.route,
      windowStart: from,
      windowEnd: to,
      baselineKey: g.loaded.key,
      reportKey,
    });
    if (g.loaded.notes.length > 0) report.message += ` Note: ${g.loaded.notes.join('; ')}.`;
    emitReport(model, report, deps);
    return report;
  });

  const [production, ...rest] = reports;
  const variants = rest.filter((r): r is DriftReport => r !== undefined);
  const missing = groups
    .filter((g) => !g.loaded.ok)
    .map(
      (g) => `v${g.version} (${g.route}) has no drift baseline: ${(g.loaded as { reason: string }).reason}`,
    );
  const variantLines = variants.map((v) => v.message);
  if (!production) {
    return {
      model,
      status: 'no-baseline',
      message: [`${model}: nothing judged for production.`, ...missing, ...variantLines].join(' '),
      variants,
    };
  }
  const document: DriftReportDocument = { ...production, variants };
  await deps.lake.put(reportKey, `${JSON.stringify(document, null, 2)}\n`, 'application/json');
  return {
    model,
    status: production.status,
    message: [`${model}: ${production.message}`, ...variantLines, ...missing].join(' '),
    report: production,
    variants,
  };
}

/** Runs the drift job over `models` (the deployed ones), as `input` selects. */
export async function runDriftJob(
  input: unknown,
  models: readonly ModelDefinition[],
  deps: DriftJobDeps,
): Promise<DriftJobResult[]> {
  const selected = checkDriftInput(input, models);
  const end = deps.clock.now();
  const results: DriftJobResult[] = [];
  for (const def of selected.models) {
    results.push(await judgeModel(def, selected.windowMinutes ?? def.drift.windowMinutes, end, deps));
  }
  return results;
}
