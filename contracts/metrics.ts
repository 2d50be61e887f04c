/**
 * The platform's CloudWatch metrics: namespace, names, units and dimensions. The functions emit
 * them (EMF) and the monitoring construct builds its alarms and dashboard from the same entries,
 * so a metric cannot be emitted under one name and watched under another.
 */

/** The namespace of a stage's metrics. */
export function metricNamespace(stage: string): string {
  return `Mlops/${stage}`;
}

/** The dimension every platform metric carries (the alarms and the dashboard query it). */
export const MODEL_DIMENSION = 'Model';

/**
 * The second dimension of the per-feature drift metric (`featureDrift`): the feature's name. Emitted as
 * the set `[Model, Feature]`.
 */
export const FEATURE_DIMENSION = 'Feature';

/**
 * The second dimension of drift metrics measured for a canary or shadow variant rather than production
 * (`canary` or `shadow`), emitted as the set `[Model, Variant]`; production's carry `[Model]` only, which
 * is what the alarms watch.
 */
export const VARIANT_DIMENSION = 'Variant';

/**
 * The dimension naming the API client (the config's `clients[].name`) on the predict function's
 * metrics. Each of those is emitted under two sets, `[Model]` (what the alarms watch) and
 * `[Model, Client]`, so a client can be metered and watched alone.
 */
export const CLIENT_DIMENSION = 'Client';

/** The client of a request that carried no API key the config declares (a direct invocation). */
export const ANONYMOUS_CLIENT = 'anonymous';

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
  /**
   * 1 for a request answered with a 5xx, 0 for any other answer (predict): its Average over a period
   * is the 5xx rate, as API Gateway's own 5XXError.
   */
  serverErrors: { name: 'ServerErrors', unit: 'Count' },
  /** Shadow copies of requests that could not be handed to the shadow function (predict). */
  shadowHandoffFailures: { name: 'ShadowHandoffFailures', unit: 'Count' },
  /** Requests answered 503 at once because the endpoint variant's circuit is open (predict, endpoint mode). */
  circuitOpen: { name: 'CircuitOpen', unit: 'Count' },
  /** Requests answered from the idempotency store: a retry with a known Idempotency-Key (predict). */
  idempotentReplays: { name: 'IdempotentReplays', unit: 'Count' },
  /** Prediction-log rows that could not be written (predict). */
  predictionLogWriteFailures: { name: 'PredictionLogWriteFailures', unit: 'Count' },
  /** PSI of the served scores against the validation scores (drift job). */
  predictionDrift: { name: 'PredictionDrift', unit: 'None' },
  /** Mean served score minus the mean validation score (drift job). */
  scoreMeanShift: { name: 'ScoreMeanShift', unit: 'None' },
  /** PSI of one feature's served values against its training baseline; dimensions `[Model, Feature]` (drift job). */
  featureDrift: { name: 'FeatureDrift', unit: 'None' },
  /** The largest feature PSI of the window (drift job). */
  maxFeatureDrift: { name: 'MaxFeatureDrift', unit: 'None' },
  /** The largest rise of a feature's null rate over its baseline's, as a fraction (drift job). */
  maxNullRateIncrease: { name: 'MaxNullRateIncrease', unit: 'None' },
  /** The largest share of a categorical feature's served values outside the fitted vocabulary (drift job). */
  maxUnseenCategoryShare: { name: 'MaxUnseenCategoryShare', unit: 'None' },
  /** Prediction-log rows in the drift job's window (drift job). */
  driftSamples: { name: 'DriftSamples', unit: 'Count' },
} as const satisfies Record<string, { name: string; unit: MetricUnitName }>;

/** A platform metric's key. */
export type PlatformMetric = keyof typeof platformMetrics;
