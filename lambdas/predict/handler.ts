/**
 * The predict function: its environment parsed once at cold start (by the contract's rules, without
 * zod: see `env.ts`), the adapters it uses (the registry and the lake read, the prediction log
 * written, one DynamoDB client for both tables), a model cache for the instance's life, and the
 * middy chain around the core.
 *
 * The serving mode is a build constant (`__MLOPS_SERVING_MODE__`, set by the construct), so that
 * esbuild drops the SageMaker runtime client from a `lambda`-mode bundle; code run from source (the
 * tests) has no constant and takes `SERVING_MODE` from the environment.
 */
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { PRODUCTION_ALIAS_TTL_MS } from '../../contracts/serving.ts';
import { systemClock } from '../../core/ports.ts';
import { inProcessRuntime } from '../../core/serving/runtime.ts';
import { makeDocumentClient } from '../shared/adapters/aws/document-client.ts';
import { DynamoPredictionLogWriter } from '../shared/adapters/aws/dynamo-prediction-log-writer.ts';
import { DynamoRegistryReader } from '../shared/adapters/aws/dynamo-registry-reader.ts';
import { makeS3Client } from '../shared/adapters/aws/s3-client.ts';
import { S3ObjectReader } from '../shared/adapters/aws/s3-object-reader.ts';
import { EndpointRuntime } from '../shared/adapters/aws/sagemaker-runtime.ts';
import { makeSageMakerRuntimeClient } from '../shared/adapters/aws/sagemaker-runtime-client.ts';
import { lambdaContext, observability } from '../shared/observability.ts';
import { cachingAliases } from './alias-cache.ts';
import { handlePredict, type PredictDeps } from './core.ts';
import { parsePredictEnv } from './env.ts';
import { createModelCache } from './model-cache.ts';

declare const __MLOPS_SERVING_MODE__: 'lambda' | 'endpoint' | undefined;

const env = parsePredictEnv();
const { logger, metrics } = observability(env);
const db = makeDocumentClient();

/** The endpoint runtime, for serving mode `endpoint`: the stage's endpoint prefix is required then. */
function endpointRuntime(): EndpointRuntime {
  if (!env.ENDPOINT_PREFIX) {
    throw new Error(
      "Function predict: ENDPOINT_PREFIX is not set, and serving mode endpoint needs it. The function's construct sets it (contracts/env.ts).",
    );
  }
  return new EndpointRuntime(makeSageMakerRuntimeClient(), env.ENDPOINT_PREFIX);
}

const deps: PredictDeps = {
  // The alias is read at most once a second per instance (contracts/serving.ts).
  registry: cachingAliases(new DynamoRegistryReader(db, env.REGISTRY_TABLE), PRODUCTION_ALIAS_TTL_MS),
  lake: new S3ObjectReader(makeS3Client(), env.LAKE_BUCKET),
  log: new DynamoPredictionLogWriter(db, env.PREDICTION_LOG_TABLE, env.PREDICTION_LOG_TTL_DAYS),
  cache: createModelCache(),
  // The constant is compared where it is written, so esbuild folds the condition and drops the
  // branch (and the SageMaker runtime client) that the bundle's mode never takes.
  runtime:
    (typeof __MLOPS_SERVING_MODE__ === 'string' ? __MLOPS_SERVING_MODE__ : env.SERVING_MODE) === 'endpoint'
      ? endpointRuntime()
      : inProcessRuntime,
  clock: systemClock,
  knownModels: env.MODEL_NAMES,
  defaultModel: env.DEFAULT_MODEL,
  metric: (model, metric, value) => metrics.emit(model, metric, value),
  onError: (err, context) => logger.error('prediction failed', { ...context, error: err }),
};

export const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context>()
  .use(lambdaContext<APIGatewayProxyEvent, APIGatewayProxyResult>(logger))
  .handler((event, context) =>
    handlePredict(
      {
        method: event.httpMethod,
        path: event.path,
        modelParam: event.pathParameters?.model,
        headers: event.headers ?? {},
        body: event.body,
        isBase64Encoded: event.isBase64Encoded,
        requestId: event.requestContext?.requestId ?? context.awsRequestId,
      },
      deps,
    ),
  );
