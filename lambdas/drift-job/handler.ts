import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { lakeStore, predictionLog, registry } from '../shared/deps.ts';
import { getModel, modelNames } from '../shared/models.ts';
import { logger, metrics } from '../shared/observability.ts';
import { systemClock } from '../shared/ports.ts';
import { taskHandler } from '../shared/task-handler.ts';
import { type DriftInput, runDriftJob } from './core.ts';

export const handler = taskHandler(async (input: DriftInput) => {
  const results = await runDriftJob(
    input ?? {},
    modelNames().map(getModel),
    {
      registry: registry(),
      lake: lakeStore(),
      readWindow: (model, from, to) => predictionLog().readWindow(model, from, to),
      clock: systemClock,
      publish: (model, value, samples) => {
        const m = metrics.singleMetric();
        m.addDimension('Model', model);
        m.addMetric('PredictionDrift', MetricUnit.NoUnit, value);
        m.addMetadata('samples', String(samples));
      },
    },
  );
  logger.info('drift job finished', { results });
  return results;
});
