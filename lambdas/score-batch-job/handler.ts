/** The batch-scoring job's resolve and finish tasks (`core.ts`). */
import { parseFunctionEnv } from '../../contracts/env.ts';
import { systemClock } from '../../core/ports.ts';
import { makeDocumentClient } from '../shared/adapters/aws/document-client.ts';
import { DynamoModelRegistry } from '../shared/adapters/aws/dynamo-registry.ts';
import { makeS3Client } from '../shared/adapters/aws/s3-client.ts';
import { S3ObjectStore } from '../shared/adapters/aws/s3-object-store.ts';
import { observability } from '../shared/observability.ts';
import { taskHandler } from '../shared/task-handler.ts';
import { type FinishInput, jobTask, type ResolveInput } from './core.ts';

const env = parseFunctionEnv('score-batch-job');
const { logger } = observability(env);
const deps = {
  registry: new DynamoModelRegistry(makeDocumentClient(), env.REGISTRY_TABLE, systemClock),
  lake: new S3ObjectStore(makeS3Client(), env.LAKE_BUCKET),
  clock: systemClock,
};

export const handler = taskHandler(logger, (input: ResolveInput | FinishInput) => jobTask(input, deps));
