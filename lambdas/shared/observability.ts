/** Logger and metrics, created once per function instance (Powertools; metrics are EMF log lines). */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, type MetricUnit } from '@aws-lambda-powertools/metrics';

export const logger = new Logger();
export const metrics = new Metrics();

/**
 * Emits one metric with `Model` as its only dimension, which is the dimension set the alarms and
 * the dashboard query (the namespace already carries the stage).
 */
export function modelMetric(
  model: string,
  name: string,
  unit: (typeof MetricUnit)[keyof typeof MetricUnit],
  value: number,
): void {
  const single = metrics.singleMetric();
  single.clearDefaultDimensions();
  single.addDimension('Model', model);
  single.addMetric(name, unit, value);
}
