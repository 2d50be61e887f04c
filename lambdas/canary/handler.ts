import { parseFunctionEnv } from '../../contracts/env.ts';
import { systemClock } from '../../core/ports.ts';
import { makeDocumentClient } from '../shared/adapters/aws/document-client.ts';
import { DynamoPredictionLogReader } from '../shared/adapters/aws/dynamo-prediction-log-reader.ts';
import { DynamoModelRegistry } from '../shared/adapters/aws/dynamo-registry.ts';
import { observability } from '../shared/observability.ts';
import { taskHandler } from '../shared/task-handler.ts';
import { type CanaryInput, runCanary } from './core.ts';

const env = parseFunctionEnv('canary');
const { logger } = observability(env);
const db = makeDocumentClient();
const registry = new DynamoModelRegistry(db, env.REGISTRY_TABLE, systemClock);
const predictionLog = new DynamoPredictionLogReader(db, env.PREDICTION_LOG_TABLE, env.PREDICTION_LOG_SHARDS);

export const handler = taskHandler(logger, (input: CanaryInput) =>
  runCanary(input, {
    registry,
    readWindow: (model, from, to) => predictionLog.readWindow(model, from, to),
    clock: systemClock,
  }),
);
