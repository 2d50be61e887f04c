/**
 * The prediction API: parse the request, find the model's production alias, route the request to
 * the version that answers, validate the instances against that version's spec, then serve (score,
 * log, answer with the version). Bad input is a 4xx naming the field; no model or an unusable one is
 * a 503 with Retry-After; nothing is served without being logged.
 */
import { randomUUID } from 'node:crypto';
import { ANONYMOUS_CLIENT } from '../../contracts/metrics.ts';
import type { ModelRegistryPort } from '../../core/ports.ts';
import { type HttpRequest, type HttpResponse, problem } from './http.ts';
import type { LoadedVersion } from './model-cache.ts';
import {
  deployedLimits,
  knownLimits,
  parseRequest,
  type Refusal,
  requestedModel,
  validateInstances,
} from './request.ts';
import { type Route, routeRequest } from './routing.ts';
import {
  loadVersion,
  millisOf,
  type PredictMetric,
  type RequestMetrics,
  type ServingDeps,
  serve,
} from './serving.ts';

export type { HttpRequest, HttpResponse } from './http.ts';
export type { LoadedVersion, ModelCache } from './model-cache.ts';
export type { PredictMetric } from './serving.ts';

/** The predict function's ports and settings. */
export interface PredictDeps extends ServingDeps {
  registry: Pick<ModelRegistryPort, 'getAlias' | 'getVersion'>;
  /** The deployed models: an unknown one is a 404, a known one without production a 503. */
  knownModels: readonly string[];
  /** The model `POST /v1/predict` serves. */
  defaultModel: string;
  /** Emits a metric; with a client, under `[Model]` and `[Model, Client]`. */
  metric: (model: string, metric: PredictMetric, value: number, client?: string) => void;
  /**
   * Emits a request's metrics together, once it is answered (one EMF document where each metric
   * alone would write its own). Without it, each metric goes to `metric` as it happens.
   */
  emitMetrics?: (
    model: string,
    entries: readonly (readonly [PredictMetric, number])[],
    client: string,
  ) => void;
}

/**
 * One request being answered: what it is for, who sent it, since when, and its metrics, which are
 * all of its model and client. With `emitMetrics` they are held until the answer and emitted
 * together; without, each goes to `metric` as it is counted.
 */
class Answering implements RequestMetrics {
  /** Whether the answer counts in the model's 5xx rate. */
  inRate = true;
  private readonly held: [PredictMetric, number][] = [];

  constructor(
    readonly deps: PredictDeps,
    readonly model: string,
    readonly requestId: string,
    readonly client: string,
    readonly started: number,
  ) {}

  count(metric: PredictMetric, value: number): void {
    if (this.deps.emitMetrics === undefined) this.deps.metric(this.model, metric, value, this.client);
    else this.held.push([metric, value]);
  }

  /** Emits the held metrics, if any. */
  flush(): void {
    if (this.held.length > 0) this.deps.emitMetrics?.(this.model, this.held, this.client);
  }

  /**
   * The answer for a model without a production alias: 404 for an unknown model, 503 for a known one.
   * Neither is in the 5xx rate: no version served it.
   */
  noProductionVersion(): HttpResponse {
    const { model, requestId } = this;
    this.inRate = false;
    if (!this.deps.knownModels.includes(model)) {
      return problem(404, 'UnknownModel', `There is no model named "${model}".`, requestId);
    }
    this.count('noProductionModel', 1);
    return problem(
      503,
      'NoProductionModel',
      `Model "${model}" has no production version yet; train and promote one.`,
      requestId,
    );
  }

  /** The answer when the alias or the version could not be read. */
  modelUnavailable(err: unknown): HttpResponse {
    const { model, requestId } = this;
    this.count('upstreamErrors', 1);
    this.deps.onError(err, { model, requestId, stage: 'load-model' });
    return problem(503, 'ModelUnavailable', `Model "${model}" cannot be loaded right now.`, requestId);
  }

  /** A refusal as an answer; a wrong method is not a request for a model's predictions, all else counts. */
  refuse(refusal: Refusal): HttpResponse {
    if (refusal.status !== 405) this.count('invalidRequests', 1);
    return problem(
      refusal.status,
      refusal.error,
      refusal.message,
      this.requestId,
      refusal.details ? { details: refusal.details } : undefined,
    );
  }
}

/**
 * Answers a request and counts the answer in the model's 5xx rate: `serverErrors` is 1 for a 5xx and
 * 0 for any other answer, so its Average over a period is the rate the server-errors alarm watches.
 * An unknown model's 404 is not counted, so that made-up names in the path create no metrics, and
 * neither is the 503 of a model with no production version: no version served it, so the alarm (whose
 * policy rolls the version back) must not see it; it has its own metric. An
 * unexpected failure is answered with a 500 (and counted), not thrown: thrown, API Gateway would
 * answer 502 and the model's rate would never see it.
 */
export async function handlePredict(req: HttpRequest, deps: PredictDeps): Promise<HttpResponse> {
  const started = millisOf(deps.clock);
  const requestId = req.requestId ?? randomUUID();
  const model = requestedModel(req, deps.defaultModel);
  // Every metric of the request carries its client, and so does every log row (the routed request).
  const answering = new Answering(deps, model, requestId, req.client ?? ANONYMOUS_CLIENT, started);
  let res: HttpResponse;
  try {
    res = await answer(req, answering);
  } catch (err) {
    deps.onError(err, { model, requestId, stage: 'unexpected' });
    res = problem(
      500,
      'InternalError',
      'The prediction failed unexpectedly; the error is logged under this request id.',
      requestId,
    );
  }
  if (answering.inRate) answering.count('serverErrors', res.statusCode >= 500 ? 1 : 0);
  answering.flush();
  return res;
}

async function answer(req: HttpRequest, answering: Answering): Promise<HttpResponse> {
  const { deps, model, requestId } = answering;
  // Too many instances for the deployed model is a 413 before the registry or any model is read.
  const parsed = parseRequest(req, knownLimits(model) ?? (await deployedLimits(model)));
  if (!parsed.ok) return answering.refuse(parsed.refusal);

  let route: Route;
  let loaded: LoadedVersion;
  try {
    const alias = await deps.registry.getAlias(model, false);
    if (!alias) return answering.noProductionVersion();
    route = routeRequest(alias, requestId);
    loaded = deps.cache.loaded(model, route.version) ?? (await loadVersion(deps, model, route.version));
  } catch (err) {
    return answering.modelUnavailable(err);
  }

  const def = loaded.version.definition;
  const validated = validateInstances(def.spec, parsed.instances, def.serving.maxInstancesPerRequest);
  if (!validated.ok) return answering.refuse(validated.refusal);
  return await serve(
    {
      model,
      requestId,
      client: answering.client,
      started: answering.started,
      metrics: answering,
      route,
      loaded,
      instances: parsed.instances as Record<string, unknown>[],
      rows: validated.rows,
    },
    deps,
  );
}
