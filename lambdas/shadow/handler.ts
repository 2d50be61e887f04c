/**
 * The shadow function: invoked asynchronously by the predict function with a copy of a request for
 * the model's shadow version, it scores the copy with that version and writes the shadow's log rows.
 * Its environment, adapters and serving mode are the predict function's (a build constant picks the
 * runtime, so a `lambda`-mode bundle leaves the SageMaker runtime client out).
 */
import { parseFunctionEnv } from '../../contracts/env.ts';
import { systemClock } from '../../core/ports.ts';
import { inProcessRuntime } from '../../core/serving/runtime.ts';
import { makeDocumentClient } from '../shared/adapters/aws/document-client.ts';
import { DynamoPredictionLogWriter } from '../shared/adapters/aws/dynamo-prediction-log-writer.ts';
import { DynamoRegistryReader } from '../shared/adapters/aws/dynamo-registry-reader.ts';
import { makeS3Client } from '../shared/adapters/aws/s3-client.ts';
import { S3ObjectReader } from '../shared/adapters/aws/s3-object-reader.ts';
import { EndpointRuntime } from '../shared/adapters/aws/sagemaker-runtime.ts';
import { makeSageMakerRuntimeClient } from '../shared/adapters/aws/sagemaker-runtime-client.ts';
import { createModelCache } from '../shared/model-cache.ts';
import { observability } from '../shared/observability.ts';
import type { ShadowDeps } from '../shared/serving.ts';
import { taskHandler } from '../shared/task-handler.ts';
import { shadowTask } from './core.ts';

declare const __MLOPS_SERVING_MODE__: 'lambda' | 'endpoint' | undefined;

const env = parseFunctionEnv('shadow');
const { logger, metrics } = observability(env);
const db = makeDocumentClient();

function endpointRuntime(): EndpointRuntime {
  if (!env.ENDPOINT_PREFIX) {
    throw new Error(
      "Function shadow: ENDPOINT_PREFIX is not set, and serving mode endpoint needs it. The function's construct sets it (contracts/env.ts).",
    );
  }
  return new EndpointRuntime(makeSageMakerRuntimeClient(), env.ENDPOINT_PREFIX);
}

const deps: ShadowDeps = {
  registry: new DynamoRegistryReader(db, env.REGISTRY_TABLE),
  lake: new S3ObjectReader(makeS3Client(), env.LAKE_BUCKET),
  log: new DynamoPredictionLogWriter(db, env.PREDICTION_LOG_TABLE, env.PREDICTION_LOG_TTL_DAYS, {
    shards: env.PREDICTION_LOG_SHARDS,
  }),
  cache: createModelCache(),
  runtime:
    (typeof __MLOPS_SERVING_MODE__ === 'string' ? __MLOPS_SERVING_MODE__ : env.SERVING_MODE) === 'endpoint'
      ? endpointRuntime()
      : inProcessRuntime,
  clock: systemClock,
  metric: (model, metric, value) => metrics.emit(model, metric, value),
  onError: (err, context) => logger.error('shadow scoring failed', { ...context, error: err }),
};

export const handler = taskHandler(logger, (event: unknown) => shadowTask(event, deps));
