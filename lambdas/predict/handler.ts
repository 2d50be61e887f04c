/**
 * The predict function: its environment parsed once at cold start (by the contract's rules, without
 * zod: see `env.ts`), the adapters it uses (the registry and the lake read, the prediction log
 * written, one DynamoDB client for both tables), a model cache for the instance's life, and the
 * middy chain around the core.
 *
 * Scores come from the serving mode's runtime (`../shared/serving-runtime.ts`: a `lambda`-mode bundle
 * leaves the SageMaker runtime client out).
 *
 * A request with an `Idempotency-Key` header is answered through the idempotency store
 * (`idempotency.ts`); shadow copies go to the shadow function (`SHADOW_FUNCTION`). Their clients are
 * made at the first request that needs them. Their modules are imported statically: a dynamic
 * import() would defer their evaluation, but esbuild (no code splitting in a function bundle) then
 * keeps every export of the SDK packages they reach, and the larger bundle's parse costs more than
 * the evaluation saved (BENCHMARKS.md).
 */
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { ANONYMOUS_CLIENT } from '../../contracts/metrics.ts';
import { PRODUCTION_ALIAS_TTL_MS } from '../../contracts/serving.ts';
import { systemClock } from '../../core/ports.ts';
import { makeDocumentClient } from '../shared/adapters/aws/document-client.ts';
import { DynamoPredictionLogWriter } from '../shared/adapters/aws/dynamo-prediction-log-writer.ts';
import { DynamoRegistryReader } from '../shared/adapters/aws/dynamo-registry-reader.ts';
import { makeIdempotencyStore } from '../shared/adapters/aws/idempotency-store.ts';
import { LambdaShadowHandOff, makeHandOffClient } from '../shared/adapters/aws/lambda-shadow-hand-off.ts';
import { makeS3Client } from '../shared/adapters/aws/s3-client.ts';
import { S3ObjectReader } from '../shared/adapters/aws/s3-object-reader.ts';
import { lambdaContext, observability } from '../shared/observability.ts';
import type { ShadowHandOff } from '../shared/serving.ts';
import { servingRuntime } from '../shared/serving-runtime.ts';
import { cachingAliases } from './alias-cache.ts';
import { clientOf, parseClientKeys } from './clients.ts';
import { type HttpRequest, handlePredict, type PredictDeps } from './core.ts';
import { parsePredictEnv } from './env.ts';
import { header } from './http.ts';
import { answerIdempotently, IDEMPOTENCY_HEADER, type IdempotencyDeps } from './idempotency.ts';
import { createModelCache } from './model-cache.ts';
import { requestedModel } from './request.ts';

const env = parsePredictEnv();
const { logger, metrics } = observability(env);
const db = makeDocumentClient();
const clientKeys = parseClientKeys(env.CLIENT_KEYS);

/** The shadow function's hand-off; its Lambda client is made at the first shadow copy. */
function shadowHandOff(functionName: string): ShadowHandOff {
  let made: ShadowHandOff | undefined;
  return {
    handOff: (copy) => {
      made ??= new LambdaShadowHandOff(makeHandOffClient(), functionName);
      return made.handOff(copy);
    },
  };
}

/** Each client's metric dimensions, made once per instance (a request's metrics share them). */
const dimensionsByClient = new Map<string, { client: string }>();
function clientDimensions(client: string): { client: string } {
  let dims = dimensionsByClient.get(client);
  if (!dims) {
    dims = { client };
    dimensionsByClient.set(client, dims);
  }
  return dims;
}

const deps: PredictDeps = {
  // The alias is read at most once a second per instance (contracts/serving.ts).
  registry: cachingAliases(new DynamoRegistryReader(db, env.REGISTRY_TABLE), PRODUCTION_ALIAS_TTL_MS),
  lake: new S3ObjectReader(makeS3Client(), env.LAKE_BUCKET),
  log: new DynamoPredictionLogWriter(db, env.PREDICTION_LOG_TABLE, env.PREDICTION_LOG_TTL_DAYS, {
    shards: env.PREDICTION_LOG_SHARDS,
  }),
  cache: createModelCache(),
  runtime: servingRuntime('predict', env),
  // The time a request reads three times, without making a Date each time.
  clock: { now: systemClock.now, millis: Date.now },
  knownModels: env.MODEL_NAMES,
  defaultModel: env.DEFAULT_MODEL,
  metric: (model, metric, value, client) =>
    metrics.emit(model, metric, value, client === undefined ? undefined : clientDimensions(client)),
  // A request's metrics go out as one EMF document, under [Model] and [Model, Client].
  emitMetrics: (model, entries, client) => metrics.emitMany(model, entries, clientDimensions(client)),
  onError: (err, context) => logger.error('prediction failed', { ...context, error: err }),
  ...(env.SHADOW_FUNCTION ? { shadow: shadowHandOff(env.SHADOW_FUNCTION) } : {}),
};

/** The idempotency store; its client is made at the first request with a key. */
let idempotencyStore: IdempotencyDeps['store'] | undefined;
function idempotencyStoreOnce(): IdempotencyDeps['store'] {
  idempotencyStore ??= makeIdempotencyStore(env.IDEMPOTENCY_TABLE);
  return idempotencyStore;
}

/** Answers a request, through the idempotency store when it carries an Idempotency-Key. */
async function answer(req: HttpRequest, context: Context) {
  if (header(req, IDEMPOTENCY_HEADER) === undefined) return handlePredict(req, deps);
  const client = req.client ?? ANONYMOUS_CLIENT;
  return answerIdempotently(
    req,
    {
      model: requestedModel(req, deps.defaultModel),
      requestId: req.requestId ?? context.awsRequestId,
      client,
    },
    () => handlePredict(req, deps),
    {
      store: idempotencyStoreOnce(),
      ttlSeconds: env.IDEMPOTENCY_TTL_SECONDS ?? 3600,
      // The store's own metrics (replays, a malformed key) carry the client too.
      metric: (model, metric, value) => deps.metric(model, metric, value, client),
      onError: deps.onError,
    },
    () => context.getRemainingTimeInMillis(),
  );
}

export const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context>()
  .use(lambdaContext<APIGatewayProxyEvent, APIGatewayProxyResult>(logger))
  .handler((event, context) =>
    answer(
      {
        method: event.httpMethod,
        path: event.path,
        modelParam: event.pathParameters?.model,
        headers: event.headers ?? {},
        body: event.body,
        isBase64Encoded: event.isBase64Encoded,
        requestId: event.requestContext?.requestId ?? context.awsRequestId,
        client: clientOf(clientKeys, event.requestContext?.identity?.apiKeyId),
      },
      context,
    ),
  );
