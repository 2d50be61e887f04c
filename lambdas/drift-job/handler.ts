/**
 * The drift job's function: on its schedule (one rule per model, `{"model", "windowMinutes"}`) or
 * when an operator runs it. It reads the registry and the prediction log and reads and writes the
 * lake, so it builds the registry and log readers and the lake store, nothing else.
 */
import { parseFunctionEnv } from '../../contracts/env.ts';
import { systemClock } from '../../core/ports.ts';
import { makeDocumentClient } from '../shared/adapters/aws/document-client.ts';
import { DynamoPredictionLogReader } from '../shared/adapters/aws/dynamo-prediction-log-reader.ts';
import { DynamoRegistryReader } from '../shared/adapters/aws/dynamo-registry-reader.ts';
import { makeS3Client } from '../shared/adapters/aws/s3-client.ts';
import { S3ObjectStore } from '../shared/adapters/aws/s3-object-store.ts';
import { deployedModels } from '../shared/models.ts';
import { observability } from '../shared/observability.ts';
import { taskHandler } from '../shared/task-handler.ts';
import { type DriftJobInput, runDriftJob } from './core.ts';

const env = parseFunctionEnv('drift-job');
const { logger, metrics } = observability(env);
const db = makeDocumentClient();
const registry = new DynamoRegistryReader(db, env.REGISTRY_TABLE);
const lake = new S3ObjectStore(makeS3Client(), env.LAKE_BUCKET);
const predictionLog = new DynamoPredictionLogReader(db, env.PREDICTION_LOG_TABLE, env.PREDICTION_LOG_SHARDS);

export const handler = taskHandler(logger, async (input: DriftJobInput | null) => {
  const results = await runDriftJob(input, await deployedModels(), {
    registry,
    lake,
    readWindow: (model, from, to) => predictionLog.pages(model, from, to),
    emit: (model, metric, value, dimensions) => metrics.emit(model, metric, value, dimensions),
    clock: systemClock,
  });
  for (const r of results)
    logger.info('drift judged', { model: r.model, status: r.status, message: r.message });
  return results;
});
