import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { systemClock } from '../../core/ports.ts';
import { lakeStore, predictionLog, registry } from '../shared/deps.ts';
import { getModel, modelNames } from '../shared/models.ts';
import { logger, modelMetric } from '../shared/observability.ts';
import { taskHandler } from '../shared/task-handler.ts';
import { type DriftInput, runDriftJob } from './core.ts';

export const handler = taskHandler(async (input: DriftInput) => {
  const results = await runDriftJob(input ?? {}, modelNames().map(getModel), {
    registry: registry(),
    lake: lakeStore(),
    readWindow: (model, from, to) => predictionLog().readWindow(model, from, to),
    clock: systemClock,
    publish: (model, value, samples) => {
      logger.info('prediction drift', { model, psi: value, samples });
      modelMetric(model, 'PredictionDrift', MetricUnit.NoUnit, value);
    },
  });
  logger.info('drift job finished', { results });
  return results;
});
