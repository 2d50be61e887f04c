/**
 * Serving code the predict and shadow functions share: loading a version (through the model cache)
 * and scoring a shadow's copy of a request with the shadow version's own definition and transform.
 */
import { featureSchemaHash, transformRow, validateRow } from '../../core/features/transform.ts';
import type {
  Clock,
  ModelRegistryPort,
  ModelRuntime,
  ObjectStore,
  PredictionLogPort,
} from '../../core/ports.ts';
import type { PredictionRecord } from '../../core/prediction-log.ts';
import { loadServingModel } from '../../core/serving/load.ts';
import type { LoadedVersion, ModelCache } from './model-cache.ts';

/**
 * A copy of a request for a model's shadow version, as the predict function hands it to the shadow
 * function (the asynchronous invocation's event).
 */
export interface ShadowCopy {
  model: string;
  /** The shadow version that scores the copy. */
  version: number;
  /** The request's id: the shadow's rows carry it, beside production's. */
  requestId: string;
  /** The instances as the client sent them; the shadow validates them against its own spec. */
  instances: Record<string, unknown>[];
  /** The API client that sent the request, when known. */
  client?: string;
}

/** Where a shadow's copy of a request goes: the shadow function, invoked asynchronously. */
export interface ShadowHandOff {
  /** Resolves once the copy is accepted (not scored); rejects when it could not be handed over. */
  handOff(copy: ShadowCopy): Promise<void>;
}

/** What scoring a shadow copy needs. */
export interface ShadowDeps {
  registry: Pick<ModelRegistryPort, 'getVersion'>;
  lake: Pick<ObjectStore, 'getText'>;
  cache: ModelCache;
  runtime: ModelRuntime;
  log: PredictionLogPort;
  clock: Clock;
  metric: (model: string, metric: 'predictionLogWriteFailures', value: number) => void;
  onError: (err: unknown, context: Record<string, unknown>) => void;
}

/** A version from the cache, or read from the registry and the lake and checked. */
export function loadVersion(
  deps: Pick<ShadowDeps, 'registry' | 'lake' | 'cache'>,
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

/**
 * Scores a shadow's copy of a request with the shadow version's own definition and transform, and
 * logs it with the route `shadow`. Nobody waits for the answer: a failure is logged as shadow error
 * rows, and rows the log cannot take are counted (`predictionLogWriteFailures`).
 */
export async function scoreShadow(copy: ShadowCopy, deps: ShadowDeps): Promise<void> {
  const { model, version: versionNumber, instances, requestId } = copy;
  const started = deps.clock.now().getTime();
  const client = copy.client === undefined ? {} : { client: copy.client };
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
        ...client,
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
      ...client,
    });
  }
  await deps.log.write(records).catch((err: unknown) => {
    deps.metric(model, 'predictionLogWriteFailures', unwrittenRows(err, records.length));
    deps.onError(err, { model, requestId, stage: 'shadow-log' });
  });
}

/** Rows a failed log write left unwritten: what the writer reports, else every row it was given. */
export function unwrittenRows(err: unknown, given: number): number {
  const unwritten = (err as { unwritten?: unknown } | null)?.unwritten;
  return typeof unwritten === 'number' ? unwritten : given;
}

/** One log row per instance a model failed to score: no score or label, the error's name. */
export function failureRecords(
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
