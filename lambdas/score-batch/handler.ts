/**
 * The batch-scoring child function: one byte range of the input CSV scored and written as a
 * part (`core.ts`). Loaded versions are kept for the instance's life, as the predict function does.
 */
import { parseFunctionEnv } from '../../contracts/env.ts';
import { makeDocumentClient } from '../shared/adapters/aws/document-client.ts';
import { DynamoRegistryReader } from '../shared/adapters/aws/dynamo-registry-reader.ts';
import { makeS3Client } from '../shared/adapters/aws/s3-client.ts';
import { S3ObjectStore } from '../shared/adapters/aws/s3-object-store.ts';
import { createModelCache } from '../shared/model-cache.ts';
import { observability } from '../shared/observability.ts';
import { taskHandler } from '../shared/task-handler.ts';
import { type RangeInput, type ScoreBatchDeps, scoreRange } from './core.ts';

const env = parseFunctionEnv('score-batch');
const { logger } = observability(env);

const deps: ScoreBatchDeps = {
  registry: new DynamoRegistryReader(makeDocumentClient(), env.REGISTRY_TABLE),
  lake: new S3ObjectStore(makeS3Client(), env.LAKE_BUCKET),
  cache: createModelCache(),
};

export const handler = taskHandler(logger, (input: RangeInput) => scoreRange(input, deps));
