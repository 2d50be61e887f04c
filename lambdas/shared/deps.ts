/** Adapters built once per function instance, from the environment the construct sets. */

import { systemClock } from '../../core/ports.ts';
import {
  makeDocumentClient,
  makeS3Client,
  makeSageMakerClient,
  makeSageMakerRuntimeClient,
} from './adapters/aws/clients.ts';
import { DynamoPredictionLog } from './adapters/aws/dynamo-prediction-log.ts';
import { DynamoModelRegistry } from './adapters/aws/dynamo-registry.ts';
import { S3ObjectStore } from './adapters/aws/s3-object-store.ts';
import { SageMakerEndpoints } from './adapters/aws/sagemaker-endpoints.ts';
import { requireEnv } from './env.ts';

function once<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => {
    value ??= make();
    return value;
  };
}

export const lakeStore = once(() => new S3ObjectStore(makeS3Client(), requireEnv('LAKE_BUCKET')));
export const registry = once(
  () => new DynamoModelRegistry(makeDocumentClient(), requireEnv('REGISTRY_TABLE'), systemClock),
);
export const predictionLog = once(
  () =>
    new DynamoPredictionLog(
      makeDocumentClient(),
      requireEnv('PREDICTION_LOG_TABLE'),
      Number(process.env.PREDICTION_LOG_TTL_DAYS ?? '90'),
    ),
);
export const endpointControl = once(() => new SageMakerEndpoints(makeSageMakerClient()));
export const sagemakerRuntime = once(() => makeSageMakerRuntimeClient());
