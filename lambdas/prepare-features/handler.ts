import { parseFunctionEnv } from '../../contracts/env.ts';
import { errorNames, PlatformError } from '../../core/errors.ts';
import { systemClock } from '../../core/ports.ts';
import { checkTrainingJobPrefix } from '../../core/snapshot/training-request.ts';
import { makeS3Client } from '../shared/adapters/aws/s3-client.ts';
import { S3ObjectStore } from '../shared/adapters/aws/s3-object-store.ts';
import { deployedModels } from '../shared/models.ts';
import { observability } from '../shared/observability.ts';
import { taskHandler } from '../shared/task-handler.ts';
import { type PrepareInput, prepareFeatures } from './core.ts';
import {
  finishPrepare,
  type PartInput,
  type PlanInput,
  planPrepare,
  prepareStatsPart,
  prepareTransformPart,
  reducePrepare,
  type TwoPassEnv,
} from './two-pass.ts';

// At cold start: a missing or malformed variable fails the init, naming it.
const env = parseFunctionEnv('prepare-features');
const { logger } = observability(env);
const settings: TwoPassEnv = {
  trainingSourceUri: env.TRAINING_SOURCE_URI,
  trainingCodeSha256: env.TRAINING_CODE_SHA256,
  featureCodeSha256: env.FEATURE_CODE_SHA256,
  trainingImageUri: env.TRAINING_IMAGE_URI,
  trainingJobPrefix: checkTrainingJobPrefix(env.TRAINING_JOB_PREFIX),
  distributedAboveRows: env.PREPARE_DISTRIBUTED_ABOVE_ROWS,
};
// Every request reads and writes the lake: the client is built once, with the function.
const lake = new S3ObjectStore(makeS3Client(), env.LAKE_BUCKET);

/**
 * The prepare step's actions: none is the single function (./core.ts); `plan`, `pass1`, `reduce`,
 * `pass2` and `finish` are the two-pass prepare over a Distributed Map (./two-pass.ts).
 */
type Action = 'plan' | 'pass1' | 'reduce' | 'pass2' | 'finish';

export const handler = taskHandler(logger, async (input: PrepareInput & { action?: Action }) => {
  const models = await deployedModels();
  const deployed = (name: string) => models.find((m) => m.name === name);
  const deps = { lake, clock: systemClock, env: settings };
  const action = input.action;
  switch (action) {
    case undefined:
      return prepareFeatures(input, deployed, deps);
    case 'plan':
      // The plan gets the run's whole input beside its action.
      return planPrepare(
        (input as unknown as { input: PlanInput }).input,
        (input as unknown as { run: string }).run,
        deployed,
        deps,
      );
    case 'pass1':
      return prepareStatsPart(input as unknown as PartInput, deployed, deps);
    case 'pass2':
      return prepareTransformPart(input as unknown as PartInput, deployed, deps);
    case 'reduce':
      return reducePrepare(input as unknown as Parameters<typeof reducePrepare>[0], deployed, deps);
    case 'finish':
      return finishPrepare(input as unknown as Parameters<typeof finishPrepare>[0], deployed, deps);
    default:
      throw new PlatformError(
        errorNames.invalidInput,
        `prepare-features: unknown action ${JSON.stringify(action)} (plan, pass1, reduce, pass2, finish, or none)`,
      );
  }
});
