import { parseFunctionEnv } from '../../contracts/env.ts';
import { systemClock } from '../../core/ports.ts';
import { makeS3Client } from '../shared/adapters/aws/s3-client.ts';
import { S3ObjectStore } from '../shared/adapters/aws/s3-object-store.ts';
import { findModel } from '../shared/models.ts';
import { observability } from '../shared/observability.ts';
import { taskHandler } from '../shared/task-handler.ts';
import { type PrepareInput, prepareFeatures } from './core.ts';

const env = parseFunctionEnv('prepare-features');
const { logger } = observability(env);
const lake = new S3ObjectStore(makeS3Client(), env.LAKE_BUCKET);

export const handler = taskHandler(logger, (input: PrepareInput) =>
  prepareFeatures(input, findModel, {
    lake,
    clock: systemClock,
    env: {
      trainingSourceUri: env.TRAINING_SOURCE_URI,
      trainingCodeSha256: env.TRAINING_CODE_SHA256,
      featureCodeSha256: env.FEATURE_CODE_SHA256,
      trainingImageUri: env.TRAINING_IMAGE_URI,
    },
  }),
);
