/** The prediction log's rows: every served prediction, and every instance a model failed to score. */

/**
 * One row per served prediction, and one per instance of a request the model failed to score
 * (`error` set, no score or label): the canary's error rate is read from the same log.
 */
export interface PredictionRecord {
  model: string;
  requestId: string;
  index: number;
  at: string;
  modelVersion: number;
  /** The serving variant that answered: `v<N>`, one per model version. */
  variant: string;
  /** Whether the request went to production, to a running canary, or is a shadow's copy (not answered). */
  route?: 'production' | 'canary' | 'shadow';
  featureSchemaHash: string;
  features: Record<string, unknown>;
  score: number | null;
  label: string | null;
  latencyMs: number;
  /**
   * The client that sent the request: the name its API key is declared under in the config
   * (`clients`), or `anonymous` for a request that carried no known key (a direct invocation).
   */
  client?: string;
  /** Why the model did not score this instance (its serving variant failed). */
  error?: string;
}

/** A row the model scored. */
export type ScoredRecord = PredictionRecord & { score: number; label: string };

export function isScored(r: PredictionRecord): r is ScoredRecord {
  return r.error === undefined && typeof r.score === 'number';
}
