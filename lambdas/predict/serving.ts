/**
 * Serving a routed request: load the version (through the model cache), compute features with the
 * version's own transform, score, log one row per instance with the version, and answer. Nothing is
 * answered that was not logged; a version whose feature schema does not match this code, or that
 * fails to score, is a 503 (a scoring failure is logged as error rows, which the canary reads). A
 * shadow scores its copy while production's rows are written and never changes the answer. Rows the
 * log could not take, whichever write lost them, are counted (`predictionLogWriteFailures`).
 */

import type { PlatformMetric } from '../../contracts/metrics.ts';
import {
  type CleanRow,
  featureSchemaHash,
  transformRow,
  validateRow,
} from '../../core/features/transform.ts';
import { isoTime } from '../../core/iso-time.ts';
import type {
  Clock,
  ModelRegistryPort,
  ModelRuntime,
  ObjectStore,
  PredictionLogPort,
} from '../../core/ports.ts';
import type { PredictionRecord } from '../../core/prediction-log.ts';
import { loadServingModel } from '../../core/serving/load.ts';
import { CircuitOpenError } from '../../core/serving/runtime.ts';
import { type HttpResponse, json, problem } from './http.ts';
import type { LoadedVersion, ModelCache } from './model-cache.ts';
import type { Route } from './routing.ts';

/** The metrics the predict function emits. */
export type PredictMetric = Extract<
  PlatformMetric,
  | 'predictions'
  | 'latency'
  | 'invalidRequests'
  | 'noProductionModel'
  | 'featureSchemaMismatch'
  | 'upstreamErrors'
  | 'modelErrors'
  | 'serverErrors'
  | 'predictionLogWriteFailures'
  | 'circuitOpen'
>;

/** What serving needs: where versions come from, where scores come from, where rows go. */
export interface ServingDeps {
  registry: Pick<ModelRegistryPort, 'getVersion'>;
  lake: Pick<ObjectStore, 'getText'>;
  cache: ModelCache;
  /** Where scores come from: the in-process scorer (serving mode `lambda`) or the model's endpoint. */
  runtime: ModelRuntime;
  log: PredictionLogPort;
  clock: Clock;
  metric: (model: string, metric: PredictMetric, value: number) => void;
  /** Logs unexpected failures (the response hides their detail). */
  onError: (err: unknown, context: Record<string, unknown>) => void;
}

/** A version from the cache, or read from the registry and the lake and checked. */
export function loadVersion(
  deps: Pick<ServingDeps, 'registry' | 'lake' | 'cache'>,
  model: string,
  versionNumber: number,
): Promise<LoadedVersion> {
  return deps.cache.get(model, versionNumber, async () => {
    const version = await deps.registry.getVersion(model, versionNumber);
    if (!version) throw new Error(`alias points at version ${versionNumber}, which is not in the registry`);
    const serving = await loadServingModel(deps.lake, versionNumber, version.artifacts);
    const hashOk =
      featureSchemaHash(version.definition.spec, serving.transform) === version.featureSchemaHash;
    return { version, serving, hashOk };
  });
}

/** A request that parsing, routing and validation accepted. */
export interface RoutedRequest {
  model: string;
  requestId: string;
  /** When the request arrived (ms since the epoch): latencies count from here. */
  started: number;
  route: Route;
  /** The version that answers. */
  loaded: LoadedVersion;
  /** The instances as sent (the shadow validates them against its own spec). */
  instances: readonly Record<string, unknown>[];
  /** The instances validated against the answering version's spec. */
  rows: CleanRow[];
}

/** Scores, logs and answers a routed request. */
export async function serve(req: RoutedRequest, deps: ServingDeps): Promise<HttpResponse> {
  const { model, requestId, started, loaded, rows } = req;
  const version = loaded.version.version;
  if (!loaded.hashOk) {
    deps.metric(model, 'featureSchemaMismatch', 1);
    return problem(
      503,
      'FeatureSchemaMismatch',
      `Model "${model}" version ${version} was trained on a different feature schema than this service computes; it is refused until a matching version is promoted.`,
      requestId,
    );
  }

  const { spec, serving: settings } = loaded.version.definition;
  const vectors = rows.map((row) => transformRow(spec, loaded.serving.transform, row));
  let scored: { scores: ArrayLike<number>; variant: string };
  try {
    scored = await deps.runtime.score(model, loaded.serving, vectors);
  } catch (err) {
    // An open circuit refused the call at once: the variant keeps failing, retry when it half-opens.
    const open = err instanceof CircuitOpenError;
    deps.metric(model, open ? 'circuitOpen' : 'modelErrors', 1);
    deps.onError(err, { model, requestId, stage: 'score', version });
    const failed = failureRecords(err, rows, {
      model,
      requestId,
      at: deps.clock.now().toISOString(),
      modelVersion: version,
      variant: `v${version}`,
      route: req.route.route,
      featureSchemaHash: loaded.version.featureSchemaHash,
      latencyMs: deps.clock.now().getTime() - started,
    });
    await deps.log.write(failed).catch((logErr: unknown) => {
      deps.metric(model, 'predictionLogWriteFailures', failed.length);
      deps.onError(logErr, { model, requestId, stage: 'prediction-log' });
    });
    const res = problem(
      503,
      'ModelUnavailable',
      `Model "${model}" version ${version} could not score the request; retry.`,
      requestId,
    );
    if (open) res.headers['retry-after'] = String(err.retryAfterSeconds);
    return res;
  }
  const predictions = Array.prototype.map.call(scored.scores, (score: number) => ({
    score,
    label: score >= settings.threshold ? spec.label.positive : spec.label.negative,
  })) as { score: number; label: string }[];
  const scoredAt = deps.clock.now().getTime();
  const at = isoTime(scoredAt);
  const latencyMs = scoredAt - started;
  const records: PredictionRecord[] = predictions.map((p, index) => ({
    model,
    requestId,
    index,
    at,
    modelVersion: version,
    variant: scored.variant,
    route: req.route.route,
    featureSchemaHash: loaded.version.featureSchemaHash,
    features: rows[index]!,
    score: p.score,
    label: p.label,
    latencyMs,
  }));
  const shadowVersion = req.route.shadowVersion;
  const shadow =
    shadowVersion === undefined
      ? Promise.resolve()
      : scoreShadow(model, shadowVersion, req.instances, requestId, deps);
  try {
    await deps.log.write(records);
  } catch (err) {
    deps.metric(model, 'upstreamErrors', 1);
    deps.metric(model, 'predictionLogWriteFailures', records.length);
    deps.onError(err, { model, requestId, stage: 'prediction-log' });
    return problem(
      503,
      'PredictionLogUnavailable',
      'The prediction could not be logged, so it was not served; retry.',
      requestId,
    );
  } finally {
    await shadow;
  }
  deps.metric(model, 'predictions', predictions.length);
  deps.metric(model, 'latency', deps.clock.now().getTime() - started);
  return json(
    200,
    { predictions, modelVersion: String(version), model, requestId },
    { 'x-model-version': String(version), 'x-model-variant': scored.variant },
  );
}

/**
 * Scores a shadow's copy of a request with the shadow version's own definition and transform, and
 * logs it with the route `shadow`. Whatever happens here, the answer already computed stands: a
 * failure is logged as shadow error rows, never returned.
 */
async function scoreShadow(
  model: string,
  versionNumber: number,
  instances: readonly Record<string, unknown>[],
  requestId: string,
  deps: ServingDeps,
): Promise<void> {
  const started = deps.clock.now().getTime();
  let records: PredictionRecord[];
  let hash = '';
  try {
    const shadow = await loadVersion(deps, model, versionNumber);
    hash = shadow.version.featureSchemaHash;
    if (!shadow.hashOk) throw new Error('the shadow version was trained on another feature schema');
    const def = shadow.version.definition;
    const rows = instances.map((instance, i) => {
      const res = validateRow(def.spec, instance, 'json');
      if (!res.ok) throw new Error(`instance ${i} does not fit the shadow's spec: ${res.errors[0]?.field}`);
      return res.row;
    });
    const vectors = rows.map((row) => transformRow(def.spec, shadow.serving.transform, row));
    const scored = await deps.runtime.score(model, shadow.serving, vectors);
    const at = deps.clock.now().toISOString();
    records = rows.map((row, index) => {
      const score = scored.scores[index]!;
      return {
        model,
        requestId,
        index,
        at,
        modelVersion: versionNumber,
        variant: scored.variant,
        route: 'shadow' as const,
        featureSchemaHash: hash,
        features: row,
        score,
        label: score >= def.serving.threshold ? def.spec.label.positive : def.spec.label.negative,
        latencyMs: deps.clock.now().getTime() - started,
      };
    });
  } catch (err) {
    deps.onError(err, { model, requestId, stage: 'shadow', version: versionNumber });
    records = failureRecords(err, instances, {
      model,
      requestId,
      at: deps.clock.now().toISOString(),
      modelVersion: versionNumber,
      variant: `v${versionNumber}`,
      route: 'shadow',
      featureSchemaHash: hash,
      latencyMs: deps.clock.now().getTime() - started,
    });
  }
  await deps.log.write(records).catch((err: unknown) => {
    deps.metric(model, 'predictionLogWriteFailures', records.length);
    deps.onError(err, { model, requestId, stage: 'shadow-log' });
  });
}

/** One log row per instance a model failed to score: no score or label, the error's name. */
function failureRecords(
  err: unknown,
  instances: readonly Record<string, unknown>[],
  common: Omit<PredictionRecord, 'index' | 'features' | 'score' | 'label' | 'error'>,
): PredictionRecord[] {
  const error = (err as { name?: string }).name ?? 'Error';
  return instances.map((features, index) => ({
    ...common,
    index,
    features,
    score: null,
    label: null,
    error,
  }));
}
