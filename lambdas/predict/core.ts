/**
 * The prediction API's logic: validate the request against the model's spec, find the production
 * version, compute features with the shared transform, score, log one row per prediction with the
 * model version, and answer with that version. Bad input is a 4xx naming the field; no model or an
 * unusable one is a 503 with Retry-After; nothing is served without being logged.
 */
import { randomUUID } from 'node:crypto';
import {
  type CleanRow,
  featureSchemaHash,
  transformRow,
  validateRow,
} from '../../core/features/transform.ts';
import type { ModelDefinition } from '../../core/model/definition.ts';
import type {
  Clock,
  ModelRegistryPort,
  ModelRuntime,
  ObjectStore,
  PredictionLogPort,
} from '../../core/ports.ts';
import type { PredictionRecord } from '../../core/prediction-log.ts';
import type { ModelVersion } from '../../core/registry/model.ts';
import type { ServingModel } from '../../core/serving/model.ts';
import { inProcessRuntime } from '../../core/serving/runtime.ts';
import { loadServingModel } from '../shared/model-artifacts.ts';

export interface HttpRequest {
  method: string;
  path: string;
  /** The `{model}` path parameter, when the route has one. */
  modelParam?: string;
  headers: Record<string, string | undefined>;
  body: string | null;
  isBase64Encoded: boolean;
  requestId?: string;
}

export interface HttpResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

export type MetricName =
  | 'Predictions'
  | 'LatencyMs'
  | 'InvalidRequests'
  | 'NoProductionModel'
  | 'FeatureSchemaMismatch'
  | 'UpstreamErrors'
  | 'ModelErrors';

export interface PredictDeps {
  registry: Pick<ModelRegistryPort, 'getAlias' | 'getVersion'>;
  lake: ObjectStore;
  log: PredictionLogPort;
  clock: Clock;
  models: (name: string) => ModelDefinition | undefined;
  defaultModel: string;
  metric: (model: string, name: MetricName, value: number) => void;
  /** Logs unexpected failures (the response hides their detail). */
  onError: (err: unknown, context: Record<string, unknown>) => void;
  /** Where scores come from; default: the TypeScript scorer in-process (serving mode `lambda`). */
  runtime?: ModelRuntime;
}

interface InstanceError {
  instance: number;
  field: string;
  message: string;
}

const RETRY_AFTER_SECONDS = '30';

function json(statusCode: number, body: unknown, extra: Record<string, string> = {}): HttpResponse {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...extra },
    body: JSON.stringify(body),
  };
}

function problem(
  status: number,
  error: string,
  message: string,
  requestId: string,
  more: Record<string, unknown> = {},
) {
  return json(
    status,
    { error, message, requestId, ...more },
    status === 503 ? { 'retry-after': RETRY_AFTER_SECONDS } : {},
  );
}

/** Loaded models, by model and version; versions are immutable so they never need reloading. */
const servingCache = new Map<
  string,
  Promise<{ version: ModelVersion; serving: ServingModel; hashOk: boolean }>
>();

/** A request id's place in [0, 1), for splitting traffic. */
function shareOf(requestId: string): number {
  let h = 2166136261;
  for (let i = 0; i < requestId.length; i++) h = Math.imul(h ^ requestId.charCodeAt(i), 16777619) >>> 0;
  return h / 2 ** 32;
}

function header(req: HttpRequest, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(req.headers)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

export async function handlePredict(req: HttpRequest, deps: PredictDeps): Promise<HttpResponse> {
  const started = deps.clock.now().getTime();
  const requestId = req.requestId ?? randomUUID();
  const modelName = req.modelParam ?? deps.defaultModel;
  if (req.method.toUpperCase() !== 'POST') {
    return problem(405, 'MethodNotAllowed', `Use POST, not ${req.method}.`, requestId);
  }
  const invalid = (message: string, details?: InstanceError[], status = 400) => {
    deps.metric(modelName, 'InvalidRequests', 1);
    return problem(
      status,
      status === 415 ? 'UnsupportedMediaType' : 'InvalidRequest',
      message,
      requestId,
      details ? { details } : {},
    );
  };

  const contentType = header(req, 'content-type');
  if (!contentType || !/^application\/json\s*(;|$)/i.test(contentType.trim())) {
    return invalid(
      `Content-Type must be application/json, got ${contentType ? `"${contentType}"` : 'none'}.`,
      undefined,
      415,
    );
  }
  const text =
    req.body == null ? '' : req.isBase64Encoded ? Buffer.from(req.body, 'base64').toString('utf8') : req.body;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    return invalid(`The body is not valid JSON: ${(err as Error).message}.`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return invalid('The body must be a JSON object: {"instances": [{...}, ...]}.');
  }
  const instances = (body as { instances?: unknown }).instances;
  if (!Array.isArray(instances))
    return invalid('"instances" must be an array of objects, one per prediction.');
  if (instances.length === 0) return invalid('"instances" is empty: send at least one instance.');
  const extraKeys = Object.keys(body).filter((k) => k !== 'instances');
  if (extraKeys.length > 0) return invalid(`Unknown top-level field(s): ${extraKeys.join(', ')}.`);

  // The production version carries the definition it was trained with; validating and computing
  // features with that one (not with whatever this code was deployed with) is what prevents skew.
  let loaded: { version: ModelVersion; serving: ServingModel; hashOk: boolean };
  let canary = false;
  let shadowVersion: number | undefined;
  try {
    const alias = await deps.registry.getAlias(modelName, false);
    if (!alias) {
      if (!deps.models(modelName)) {
        return problem(404, 'UnknownModel', `There is no model named "${modelName}".`, requestId);
      }
      deps.metric(modelName, 'NoProductionModel', 1);
      return problem(
        503,
        'NoProductionModel',
        `Model "${modelName}" has no production version yet; train and promote one.`,
        requestId,
      );
    }
    // A running canary serves its share of requests, chosen by request id so a retried request
    // lands on the same version.
    canary = alias.canary !== undefined && shareOf(requestId) < alias.canary.weight;
    // A shadow scores a copy of what production answers; it never answers itself.
    if (!canary && alias.shadow) shadowVersion = alias.shadow.version;
    loaded = await loadVersion(modelName, canary ? alias.canary!.version : alias.current, deps);
  } catch (err) {
    deps.metric(modelName, 'UpstreamErrors', 1);
    deps.onError(err, { model: modelName, requestId, stage: 'load-model' });
    return problem(503, 'ModelUnavailable', `Model "${modelName}" cannot be loaded right now.`, requestId);
  }
  const def = loaded.version.definition;
  if (instances.length > def.serving.maxInstancesPerRequest) {
    return invalid(
      `"instances" has ${instances.length} items; at most ${def.serving.maxInstancesPerRequest} are allowed per request.`,
    );
  }

  const rows: CleanRow[] = [];
  const errors: InstanceError[] = [];
  for (const [i, instance] of instances.entries()) {
    if (instance === null || typeof instance !== 'object' || Array.isArray(instance)) {
      errors.push({ instance: i, field: '(instance)', message: 'must be a JSON object of feature fields' });
      continue;
    }
    const res = validateRow(def.spec, instance as Record<string, unknown>, 'json');
    if (res.ok) rows.push(res.row);
    else for (const e of res.errors) errors.push({ instance: i, ...e });
  }
  if (errors.length > 0) {
    const first = errors[0]!;
    return invalid(
      `instances[${first.instance}].${first.field} ${first.message}${errors.length > 1 ? ` (and ${errors.length - 1} more problem(s))` : ''}.`,
      errors,
    );
  }

  if (!loaded.hashOk) {
    deps.metric(modelName, 'FeatureSchemaMismatch', 1);
    return problem(
      503,
      'FeatureSchemaMismatch',
      `Model "${modelName}" version ${loaded.version.version} was trained on a different feature schema than this service computes; it is refused until a matching version is promoted.`,
      requestId,
    );
  }

  const { spec } = def;
  const vectors = rows.map((row) => transformRow(spec, loaded.serving.transform, row));
  const runtime = deps.runtime ?? inProcessRuntime;
  let scored: { scores: ArrayLike<number>; variant: string };
  try {
    scored = await runtime.score(modelName, loaded.serving, vectors);
  } catch (err) {
    deps.metric(modelName, 'ModelErrors', 1);
    deps.onError(err, { model: modelName, requestId, stage: 'score', version: loaded.version.version });
    const failed = failureRecords(err, rows, {
      model: modelName,
      requestId,
      at: deps.clock.now().toISOString(),
      modelVersion: loaded.version.version,
      variant: `v${loaded.version.version}`,
      route: canary ? 'canary' : 'production',
      featureSchemaHash: loaded.version.featureSchemaHash,
      latencyMs: deps.clock.now().getTime() - started,
    });
    await deps.log
      .write(failed)
      .catch((logErr: unknown) =>
        deps.onError(logErr, { model: modelName, requestId, stage: 'prediction-log' }),
      );
    return problem(
      503,
      'ModelUnavailable',
      `Model "${modelName}" version ${loaded.version.version} could not score the request; retry.`,
      requestId,
    );
  }
  const scores = scored.scores;
  const predictions = Array.from(scores, (score) => ({
    score,
    label: score >= def.serving.threshold ? spec.label.positive : spec.label.negative,
  }));
  const at = deps.clock.now().toISOString();
  const latencyMs = deps.clock.now().getTime() - started;
  const version = loaded.version.version;
  const records: PredictionRecord[] = predictions.map((p, index) => ({
    model: modelName,
    requestId,
    index,
    at,
    modelVersion: version,
    variant: scored.variant,
    route: canary ? 'canary' : 'production',
    featureSchemaHash: loaded.version.featureSchemaHash,
    features: rows[index]!,
    score: p.score,
    label: p.label,
    latencyMs,
  }));
  // The shadow's copy is scored while production's rows are written; it never changes the answer.
  const shadow =
    shadowVersion === undefined
      ? Promise.resolve()
      : scoreShadow(
          modelName,
          shadowVersion,
          instances as Record<string, unknown>[],
          requestId,
          runtime,
          deps,
        );
  try {
    await deps.log.write(records);
  } catch (err) {
    deps.metric(modelName, 'UpstreamErrors', 1);
    deps.onError(err, { model: modelName, requestId, stage: 'prediction-log' });
    return problem(
      503,
      'PredictionLogUnavailable',
      'The prediction could not be logged, so it was not served; retry.',
      requestId,
    );
  } finally {
    await shadow;
  }
  deps.metric(modelName, 'Predictions', predictions.length);
  deps.metric(modelName, 'LatencyMs', deps.clock.now().getTime() - started);
  return json(
    200,
    { predictions, modelVersion: String(version), model: modelName, requestId },
    { 'x-model-version': String(version), 'x-model-variant': scored.variant },
  );
}

async function loadVersion(model: string, versionNumber: number, deps: PredictDeps) {
  const key = `${model}#${versionNumber}`;
  let entry = servingCache.get(key);
  if (!entry) {
    entry = (async () => {
      const version = await deps.registry.getVersion(model, versionNumber);
      if (!version) throw new Error(`alias points at version ${versionNumber}, which is not in the registry`);
      const serving = await loadServingModel(deps.lake, versionNumber, version.artifacts);
      const hashOk =
        featureSchemaHash(version.definition.spec, serving.transform) === version.featureSchemaHash;
      return { version, serving, hashOk };
    })();
    servingCache.set(key, entry);
    entry.catch(() => servingCache.delete(key));
  }
  return entry;
}

/**
 * Scores a shadow's copy of a request with the shadow version's own definition and transform, and
 * logs it with the route `shadow`. Whatever happens here, the answer already computed stands: a
 * failure is logged as shadow error rows, never returned.
 */
async function scoreShadow(
  modelName: string,
  versionNumber: number,
  instances: readonly Record<string, unknown>[],
  requestId: string,
  runtime: ModelRuntime,
  deps: PredictDeps,
): Promise<void> {
  const started = deps.clock.now().getTime();
  let records: PredictionRecord[];
  let hash = '';
  try {
    const shadow = await loadVersion(modelName, versionNumber, deps);
    hash = shadow.version.featureSchemaHash;
    if (!shadow.hashOk) throw new Error('the shadow version was trained on another feature schema');
    const def = shadow.version.definition;
    const rows = instances.map((instance, i) => {
      const res = validateRow(def.spec, instance, 'json');
      if (!res.ok) throw new Error(`instance ${i} does not fit the shadow's spec: ${res.errors[0]?.field}`);
      return res.row;
    });
    const vectors = rows.map((row) => transformRow(def.spec, shadow.serving.transform, row));
    const scored = await runtime.score(modelName, shadow.serving, vectors);
    const at = deps.clock.now().toISOString();
    records = rows.map((row, index) => {
      const score = scored.scores[index]!;
      return {
        model: modelName,
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
    deps.onError(err, { model: modelName, requestId, stage: 'shadow', version: versionNumber });
    records = failureRecords(err, instances, {
      model: modelName,
      requestId,
      at: deps.clock.now().toISOString(),
      modelVersion: versionNumber,
      variant: `v${versionNumber}`,
      route: 'shadow',
      featureSchemaHash: hash,
      latencyMs: deps.clock.now().getTime() - started,
    });
  }
  await deps.log
    .write(records)
    .catch((err: unknown) => deps.onError(err, { model: modelName, requestId, stage: 'shadow-log' }));
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
