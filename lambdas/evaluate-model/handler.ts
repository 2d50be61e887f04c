import { parseFunctionEnv } from '../../contracts/env.ts';
import { makeS3Client } from '../shared/adapters/aws/s3-client.ts';
import { S3ObjectStore } from '../shared/adapters/aws/s3-object-store.ts';
import { observability } from '../shared/observability.ts';
import { taskHandler } from '../shared/task-handler.ts';
import { type EvaluateInput, evaluateModel } from './core.ts';

const env = parseFunctionEnv('evaluate-model');
const { logger } = observability(env);
const lake = new S3ObjectStore(makeS3Client(), env.LAKE_BUCKET);

export const handler = taskHandler(logger, (input: EvaluateInput) => evaluateModel(input, { lake }));
