import { parseFunctionEnv } from '../../contracts/env.ts';
import { systemClock } from '../../core/ports.ts';
import { checkTrainingJobPrefix } from '../../core/snapshot/training-request.ts';
import { makeS3Client } from '../shared/adapters/aws/s3-client.ts';
import { S3ObjectStore } from '../shared/adapters/aws/s3-object-store.ts';
import { deployedModels } from '../shared/models.ts';
import { observability } from '../shared/observability.ts';
import { taskHandler } from '../shared/task-handler.ts';
import { type PrepareEnv, type PrepareInput, prepareFeatures } from './core.ts';

// At cold start: a missing or malformed variable fails the init, naming it.
const env = parseFunctionEnv('prepare-features');
const { logger } = observability(env);
const settings: PrepareEnv = {
  trainingSourceUri: env.TRAINING_SOURCE_URI,
  trainingCodeSha256: env.TRAINING_CODE_SHA256,
  featureCodeSha256: env.FEATURE_CODE_SHA256,
  trainingImageUri: env.TRAINING_IMAGE_URI,
  trainingJobPrefix: checkTrainingJobPrefix(env.TRAINING_JOB_PREFIX),
};
// Every request reads and writes the lake: the client is built once, with the function.
const lake = new S3ObjectStore(makeS3Client(), env.LAKE_BUCKET);

export const handler = taskHandler(logger, async (input: PrepareInput) => {
  const models = await deployedModels();
  return prepareFeatures(input, (name) => models.find((m) => m.name === name), {
    lake,
    clock: systemClock,
    env: settings,
  });
});
