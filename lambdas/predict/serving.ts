/**
 * Serving a routed request: load the version (through the model cache), compute features with the
 * version's own transform, score, log one row per instance with the version, and answer. Nothing is
 * answered that was not logged; a version whose feature schema does not match this code, or that
 * fails to score, is a 503 (a scoring failure is logged as error rows, which the canary reads). A
 * shadow's copy of the request is handed to the shadow function (an asynchronous invocation) while
 * production scores: the answer waits for the hand-off, never for the shadow's scoring, and a failed
 * hand-off never changes it (`shadowHandoffFailures`). Rows the log could not take, whichever write
 * lost them, are counted (`predictionLogWriteFailures`).
 */

import type { PlatformMetric } from '../../contracts/metrics.ts';
import { type CleanRow, transformRow } from '../../core/features/transform.ts';
import { isoTime } from '../../core/iso-time.ts';
import type {
  Clock,
  ModelRegistryPort,
  ModelRuntime,
  ObjectStore,
  PredictionLogPort,
} from '../../core/ports.ts';
import type { PredictionRecord } from '../../core/prediction-log.ts';
import { CircuitOpenError } from '../../core/serving/runtime.ts';
import {
  failureRecords,
  type ShadowCopy,
  type ShadowHandOff,
  scoreShadow,
  unwrittenRows,
} from '../shared/serving.ts';
import { type HttpResponse, type Prediction, problem, served } from './http.ts';
import type { LoadedVersion, ModelCache } from './model-cache.ts';
import type { Route } from './routing.ts';

export type { ShadowCopy, ShadowHandOff } from '../shared/serving.ts';
export { loadVersion } from '../shared/serving.ts';

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
  | 'shadowHandoffFailures'
  | 'idempotentReplays'
  | 'circuitOpen'
>;

/**
 * The clock serving reads: the core's port, and the same time in ms since the epoch without making a
 * Date, when the clock can tell it (a warm request reads the time three times: arrival, scored,
 * answered).
 */
export interface ServingClock extends Clock {
  /** `now().getTime()`, without the Date. */
  millis?(): number;
}

/** The time in ms since the epoch, from `millis` when the clock has it. */
export function millisOf(clock: ServingClock): number {
  return clock.millis ? clock.millis() : clock.now().getTime();
}

/** What serving needs: where versions come from, where scores come from, where rows go. */
export interface ServingDeps {
  registry: Pick<ModelRegistryPort, 'getVersion'>;
  lake: Pick<ObjectStore, 'getText'>;
  cache: ModelCache;
  /** Where scores come from: the in-process scorer (serving mode `lambda`) or the model's endpoint. */
  runtime: ModelRuntime;
  log: PredictionLogPort;
  clock: ServingClock;
  /** Logs unexpected failures (the response hides their detail). */
  onError: (err: unknown, context: Record<string, unknown>) => void;
  /**
   * Where shadow copies go. Without one (a direct call of the core, a twin without the shadow
   * function) the copy is scored in this process, concurrently with production.
   */
  shadow?: ShadowHandOff;
}

/** Where a request's metrics go: each is of the request's model and client. */
export interface RequestMetrics {
  count(metric: PredictMetric, value: number): void;
}

/** A request that parsing, routing and validation accepted. */
export interface RoutedRequest {
  model: string;
  requestId: string;
  /** The API client that sent it (on every log row). */
  client?: string;
  /** When the request arrived (ms since the epoch): latencies count from here. */
  started: number;
  /** Where its metrics go. */
  metrics: RequestMetrics;
  route: Route;
  /** The version that answers. */
  loaded: LoadedVersion;
  /** The instances as sent (the shadow validates them against its own spec). */
  instances: readonly Record<string, unknown>[];
  /** The instances validated against the answering version's spec. */
  rows: CleanRow[];
}

/**
 * Scores, logs and answers a routed request; a shadow's copy is handed off at the same time, and the
 * answer waits only for the hand-off.
 */
export function serve(req: RoutedRequest, deps: ServingDeps): Promise<HttpResponse> {
  const version = req.route.shadowVersion;
  if (version === undefined || !req.loaded.hashOk) return serveProduction(req, deps);
  return serveBesideShadow(req, deps, version);
}

async function serveBesideShadow(
  req: RoutedRequest,
  deps: ServingDeps,
  version: number,
): Promise<HttpResponse> {
  const shadow = startShadow(req, deps, version);
  try {
    return await serveProduction(req, deps);
  } finally {
    await shadow;
  }
}

/** Hands a shadow's copy of the request off (or scores it here, without a hand-off port). */
async function startShadow(req: RoutedRequest, deps: ServingDeps, version: number): Promise<void> {
  const copy: ShadowCopy = {
    model: req.model,
    version,
    requestId: req.requestId,
    instances: req.instances as Record<string, unknown>[],
    ...(req.client === undefined ? {} : { client: req.client }),
  };
  if (!deps.shadow) {
    return scoreShadow(copy, {
      ...deps,
      // The copy is of the request's model: its metric goes out with the request's.
      metric: (_model, metric, value) => req.metrics.count(metric, value),
    });
  }
  try {
    await deps.shadow.handOff(copy);
  } catch (err) {
    req.metrics.count('shadowHandoffFailures', 1);
    deps.onError(err, { model: req.model, requestId: req.requestId, stage: 'shadow-handoff', version });
  }
}

// The await points of an async function keep its whole frame, so the failure paths and the rows'
// making live in functions of their own: a warm request's frame holds only what it waits with.
async function serveProduction(req: RoutedRequest, deps: ServingDeps): Promise<HttpResponse> {
  const { loaded, rows } = req;
  if (!loaded.hashOk) return schemaMismatch(req);
  const { spec } = loaded.version.definition;
  const { transform } = loaded.serving;
  const vectors = new Array<Float64Array>(rows.length);
  for (let i = 0; i < rows.length; i++) vectors[i] = transformRow(spec, transform, rows[i]!);
  let scored: { scores: ArrayLike<number>; variant: string };
  try {
    scored = await deps.runtime.score(req.model, loaded.serving, vectors);
  } catch (err) {
    return await scoringFailed(err, req, deps);
  }
  const { predictions, records } = scoredRows(req, scored, millisOf(deps.clock));
  try {
    await deps.log.write(records);
  } catch (err) {
    return logFailed(err, req, records.length, deps);
  }
  const { metrics } = req;
  metrics.count('predictions', predictions.length);
  metrics.count('latency', millisOf(deps.clock) - req.started);
  return served(predictions, loaded.version.version, req.model, req.requestId, scored.variant);
}

/** The answer's predictions and the log's rows of a scored request, one of each per instance. */
function scoredRows(
  req: RoutedRequest,
  { scores, variant }: { scores: ArrayLike<number>; variant: string },
  scoredAt: number,
): { predictions: Prediction[]; records: PredictionRecord[] } {
  const { model, requestId, loaded, rows, client } = req;
  const { spec, serving: settings } = loaded.version.definition;
  const { threshold } = settings;
  const { positive, negative } = spec.label;
  const { route } = req.route;
  const { featureSchemaHash, version } = loaded.version;
  const at = isoTime(scoredAt);
  const latencyMs = scoredAt - req.started;
  const predictions = new Array<Prediction>(scores.length);
  const records = new Array<PredictionRecord>(scores.length);
  for (let index = 0; index < scores.length; index++) {
    const score = scores[index]!;
    const label = score >= threshold ? positive : negative;
    predictions[index] = { score, label };
    records[index] = {
      model,
      requestId,
      index,
      at,
      modelVersion: version,
      variant,
      route,
      featureSchemaHash,
      features: rows[index]!,
      score,
      label,
      latencyMs,
      client,
    };
  }
  return { predictions, records };
}

function schemaMismatch({ model, requestId, loaded, metrics }: RoutedRequest): HttpResponse {
  metrics.count('featureSchemaMismatch', 1);
  return problem(
    503,
    'FeatureSchemaMismatch',
    `Model "${model}" version ${loaded.version.version} was trained on a different feature schema than this service computes; it is refused until a matching version is promoted.`,
    requestId,
  );
}

/** A version that failed to score: its error rows logged (the canary reads them), a 503. */
async function scoringFailed(err: unknown, req: RoutedRequest, deps: ServingDeps): Promise<HttpResponse> {
  const { model, requestId, started, loaded, rows, metrics } = req;
  const version = loaded.version.version;
  // An open circuit refused the call at once: the variant keeps failing, retry when it half-opens.
  const open = err instanceof CircuitOpenError;
  metrics.count(open ? 'circuitOpen' : 'modelErrors', 1);
  deps.onError(err, { model, requestId, stage: 'score', version });
  const failed = failureRecords(err, rows, {
    model,
    requestId,
    at: deps.clock.now().toISOString(),
    modelVersion: version,
    variant: `v${version}`,
    route: req.route.route,
    featureSchemaHash: loaded.version.featureSchemaHash,
    latencyMs: millisOf(deps.clock) - started,
    client: req.client,
  });
  await deps.log.write(failed).catch((logErr: unknown) => {
    metrics.count('predictionLogWriteFailures', unwrittenRows(logErr, failed.length));
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

/** Rows the log did not take: nothing is served unlogged, a 503. */
function logFailed(err: unknown, req: RoutedRequest, rows: number, deps: ServingDeps): HttpResponse {
  const { model, requestId, metrics } = req;
  metrics.count('upstreamErrors', 1);
  metrics.count('predictionLogWriteFailures', unwrittenRows(err, rows));
  deps.onError(err, { model, requestId, stage: 'prediction-log' });
  return problem(
    503,
    'PredictionLogUnavailable',
    'The prediction could not be logged, so it was not served; retry.',
    requestId,
  );
}
