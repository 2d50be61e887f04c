/**
 * The platform's CloudWatch metrics: namespace, names, units and dimensions. The functions emit
 * them (EMF) and the monitoring construct builds its alarms and dashboard from the same entries,
 * so a metric cannot be emitted under one name and watched under another.
 */

/** The namespace of a stage's metrics. */
export function metricNamespace(stage: string): string {
  return `Mlops/${stage}`;
}

/** The one dimension every platform metric carries (the alarms and the dashboard query it). */
export const MODEL_DIMENSION = 'Model';

/** A CloudWatch unit, spelled as CloudWatch and EMF spell it. */
export type MetricUnitName = 'Count' | 'Milliseconds' | 'None';

/** Every metric the functions emit, per model. */
export const platformMetrics = {
  /** Instances scored and served (predict). */
  predictions: { name: 'Predictions', unit: 'Count' },
  /** Request latency, from receipt to answer (predict). */
  latency: { name: 'LatencyMs', unit: 'Milliseconds' },
  /** Requests refused with a 4xx for their content (predict). */
  invalidRequests: { name: 'InvalidRequests', unit: 'Count' },
  /** Requests for a model with no production version (predict). */
  noProductionModel: { name: 'NoProductionModel', unit: 'Count' },
  /** Requests refused because the production version's feature schema does not match (predict). */
  featureSchemaMismatch: { name: 'FeatureSchemaMismatch', unit: 'Count' },
  /** Requests that failed on a dependency: the registry, the lake, the log (predict). */
  upstreamErrors: { name: 'UpstreamErrors', unit: 'Count' },
  /** Requests the model (in-process or its endpoint variant) failed to score (predict). */
  modelErrors: { name: 'ModelErrors', unit: 'Count' },
  /** PSI of the served scores against the validation scores (drift job). */
  predictionDrift: { name: 'PredictionDrift', unit: 'None' },
} as const satisfies Record<string, { name: string; unit: MetricUnitName }>;

/** A platform metric's key. */
export type PlatformMetric = keyof typeof platformMetrics;
