/**
 * The shadow function: invoked asynchronously by the predict function with a copy of a request for
 * the model's shadow version, it scores the copy with that version and writes the shadow's log rows.
 * Its environment, adapters and serving mode are the predict function's (a build constant picks the
 * runtime, so a `lambda`-mode bundle leaves the SageMaker runtime client out).
 */
import { parseFunctionEnv } from '../../contracts/env.ts';
import { systemClock } from '../../core/ports.ts';
import { makeDocumentClient } from '../shared/adapters/aws/document-client.ts';
import { DynamoPredictionLogWriter } from '../shared/adapters/aws/dynamo-prediction-log-writer.ts';
import { DynamoRegistryReader } from '../shared/adapters/aws/dynamo-registry-reader.ts';
import { makeS3Client } from '../shared/adapters/aws/s3-client.ts';
import { S3ObjectReader } from '../shared/adapters/aws/s3-object-reader.ts';
import { createModelCache } from '../shared/model-cache.ts';
import { observability } from '../shared/observability.ts';
import type { ShadowDeps } from '../shared/serving.ts';
import { servingRuntime } from '../shared/serving-runtime.ts';
import { taskHandler } from '../shared/task-handler.ts';
import { shadowTask } from './core.ts';

const env = parseFunctionEnv('shadow');
const { logger, metrics } = observability(env);
const db = makeDocumentClient();

const deps: ShadowDeps = {
  registry: new DynamoRegistryReader(db, env.REGISTRY_TABLE),
  lake: new S3ObjectReader(makeS3Client(), env.LAKE_BUCKET),
  log: new DynamoPredictionLogWriter(db, env.PREDICTION_LOG_TABLE, env.PREDICTION_LOG_TTL_DAYS, {
    shards: env.PREDICTION_LOG_SHARDS,
  }),
  cache: createModelCache(),
  runtime: servingRuntime('shadow', env),
  clock: systemClock,
  metric: (model, metric, value) => metrics.emit(model, metric, value),
  onError: (err, context) => logger.error('shadow scoring failed', { ...context, error: err }),
};

export const handler = taskHandler(logger, (event: unknown) => shadowTask(event, deps));
