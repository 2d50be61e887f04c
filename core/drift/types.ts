/**
 * The drift domain's records: the baseline a snapshot's training split leaves for the drift job,
 * and the report the drift job writes for each window. The lake stores both as JSON; the CLI prints
 * the report.
 */

/** A numeric feature's training distribution over fixed quantile bins. */
export interface NumericFeatureBaseline {
  feature: string;
  type: 'numeric';
  /**
   * Interior cut points, ascending and distinct; `k` edges make `k + 1` bins: `(-inf, e0]`,
   * `(e0, e1]`, ..., `(e[k-1], +inf)`.
   */
  edges: number[];
  /** Training rows with a value in each bin (`edges.length + 1` entries). */
  counts: number[];
  /** Training rows with no value. */
  nulls: number;
  /** Training rows in all (values and nulls). */
  rows: number;
  /** `nulls / rows`. */
  nullRate: number;
}

/**
 * A categorical feature's training frequencies over the fitted vocabulary, plus one "other" bucket.
 * A boolean feature is one too, over the categories `false` and `true`.
 */
export interface CategoricalFeatureBaseline {
  feature: string;
  type: 'categorical';
  /** The fitted vocabulary, in the transform's order. */
  categories: string[];
  /** Training rows per category, then the "other" bucket last (`categories.length + 1` entries). */
  counts: number[];
  nulls: number;
  rows: number;
  nullRate: number;
}

export type FeatureBaseline = NumericFeatureBaseline | CategoricalFeatureBaseline;

/** The validation scores of the version trained on the snapshot. */
export interface ScoreBaseline {
  /**
   * The training job whose model gave these scores: versions trained on the same snapshot share its
   * baseline, so the drift job uses the scores only for the version of this job.
   */
  trainingJobName?: string;
  /** Bin edges from 0 to 1 inclusive (`SCORE_BIN_EDGES`). */
  edges: number[];
  counts: number[];
  mean: number;
  rows: number;
}

/**
 * `baselines/<model>/<snapshot>/baseline.json`. The prepare step writes the features from the
 * training split; the evaluate step adds `score` from the validation split. A snapshot fixes the
 * data, transform and seed, not the hyperparameters: two versions trained on one snapshot share the
 * features, and `score.trainingJobName` says whose scores are there.
 */
export interface DriftBaseline {
  model: string;
  snapshotId: string;
  featureSchemaHash: string;
  createdAt: string;
  /** Training rows the feature statistics were counted over. */
  rows: number;
  features: FeatureBaseline[];
  score?: ScoreBaseline;
}

export type DriftLevel = 'ok' | 'warn' | 'alarm';

/** One feature's drift in a window. */
export interface FeatureDriftResult {
  feature: string;
  type: 'numeric' | 'categorical';
  /** Rows with a value (non-null) in the window. */
  samples: number;
  /** Population stability index over the baseline's bins. */
  psi: number;
  /** Jensen–Shannon distance (base 2, so in [0, 1]) over the same bins. */
  js: number;
  /** Kolmogorov–Smirnov statistic on the baseline's bins (largest gap of the binned CDFs). */
  ks: number;
  nullRate: number;
  baselineNullRate: number;
  /** Categorical only: share of the window's values outside the fitted vocabulary. */
  unseenShare?: number;
  /** Categorical only: the same share in the training split (rare categories the vocabulary left out). */
  baselineUnseenShare?: number;
  level: DriftLevel;
}

/** The served scores' drift in a window. */
export interface PredictionDriftResult {
  psi: number;
  js: number;
  ks: number;
  mean: number;
  baselineMean: number;
  /** `mean - baselineMean`. */
  meanShift: number;
  level: DriftLevel;
}

/** Which traffic a report measures: production's answers, or a canary's or shadow's. */
export type DriftRoute = 'production' | 'canary' | 'shadow';

/** The drift job's report for one model version over one window. */
export interface DriftReport {
  model: string;
  version: number;
  route: DriftRoute;
  windowStart: string;
  windowEnd: string;
  /** Scored prediction-log rows of the version in the window. */
  samples: number;
  minSamples: number;
  /** `insufficient-samples`: below `minSamples` nothing is judged (and no drift metric is emitted). */
  status: 'judged' | 'insufficient-samples';
  /** One line for a person: what was judged, or why nothing was. */
  message: string;
  thresholds: { psiWarn: number; psiAlarm: number; nullRateIncreaseAlarm: number };
  prediction?: PredictionDriftResult;
  features: FeatureDriftResult[];
  summary?: {
    maxFeaturePsi: number;
    /** The feature with the largest PSI. */
    maxFeature: string;
    maxNullRateIncrease: number;
    /** The feature with the largest null-rate rise. */
    maxNullRateFeature?: string;
    maxUnseenShare: number;
    /** The categorical feature with the largest unseen share. */
    maxUnseenFeature?: string;
    level: DriftLevel;
  };
  baselineKey: string;
  /** Where the report is in the lake (`reports/drift/<model>/<window end>.json`). */
  reportKey: string;
}

/** What one run of the drift job found for one model. */
export interface DriftJobResult {
  model: string;
  status: 'judged' | 'insufficient-samples' | 'no-production-model' | 'no-baseline';
  message: string;
  /** Production's report, unless the model has no production version. */
  report?: DriftReport;
  /** A running canary's or shadow's report, apart from production's. */
  variants: DriftReport[];
}

/**
 * The object the drift job writes at `reports/drift/<model>/<window end>.json`: production's report,
 * with the reports of a running canary or shadow over the same window beside it.
 */
export interface DriftReportDocument extends DriftReport {
  variants: DriftReport[];
}
