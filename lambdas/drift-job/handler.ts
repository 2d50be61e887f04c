import { parseFunctionEnv } from '../../contracts/env.ts';
import { systemClock } from '../../core/ports.ts';
import { makeDocumentClient } from '../shared/adapters/aws/document-client.ts';
import { DynamoPredictionLogReader } from '../shared/adapters/aws/dynamo-prediction-log-reader.ts';
import { DynamoRegistryReader } from '../shared/adapters/aws/dynamo-registry-reader.ts';
import { makeS3Client } from '../shared/adapters/aws/s3-client.ts';
import { S3ObjectReader } from '../shared/adapters/aws/s3-object-reader.ts';
import { getModel, modelNames } from '../shared/models.ts';
import { observability } from '../shared/observability.ts';
import { taskHandler } from '../shared/task-handler.ts';
import { type DriftInput, runDriftJob } from './core.ts';

const env = parseFunctionEnv('drift-job');
const { logger, metrics } = observability(env);
const db = makeDocumentClient();
const registry = new DynamoRegistryReader(db, env.REGISTRY_TABLE);
const lake = new S3ObjectReader(makeS3Client(), env.LAKE_BUCKET);
const predictionLog = new DynamoPredictionLogReader(db, env.PREDICTION_LOG_TABLE);

export const handler = taskHandler(logger, async (input: DriftInput) => {
  const results = await runDriftJob(input ?? {}, modelNames().map(getModel), {
    registry,
    lake,
    readWindow: (model, from, to) => predictionLog.readWindow(model, from, to),
    clock: systemClock,
    publish: (model, value, samples) => {
      logger.info('prediction drift', { model, psi: value, samples });
      metrics.emit(model, 'predictionDrift', value);
    },
  });
  logger.info('drift job finished', { results });
  return results;
});
