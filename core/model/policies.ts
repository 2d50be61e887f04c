/**
 * The per-model policies of a model definition, as schemas: the guardrail's bounds, the canary and
 * the shadow. Apart from the rules that apply them (core/policy/), so a function that only judges
 * bundles no schema library.
 */
import { z } from 'zod';

/** The bounds a candidate must meet to be promoted; every field has a default. */
export const guardrailPolicySchema = z
  .object({
    /** Absolute floor on validation AUC. */
    minAuc: z.number().min(0).max(1).default(0.6),
    /** Absolute floor on golden AUC, when the snapshot has a golden split. */
    minGoldenAuc: z.number().min(0).max(1).default(0.6),
    /** The candidate's validation AUC may be at most this much below the incumbent's on the same rows. */
    maxAucDrop: z.number().min(0).max(1).default(0.01),
    /** Required validation AUC improvement over the incumbent; -1 turns the check off. */
    minAucGain: z.number().min(-1).max(1).default(-1),
    /** The candidate's validation log loss may be at most this much above the incumbent's. */
    maxLogLossIncrease: z.number().min(0).default(0.02),
    /** Per slice group, the candidate's AUC may be at most this much below the incumbent's on the same group. */
    maxSliceAucDrop: z.number().min(0).max(1).default(0.05),
    /** Slice groups with fewer rows are not judged (slice drop and fairness). */
    minSliceSize: z.number().int().positive().default(30),
    /** Largest allowed spread of predicted-positive rate across a slice's groups. */
    maxPositiveRateGap: z.number().min(0).max(1).default(0.3),
    /** Largest allowed spread of true-positive rate across a slice's groups. */
    maxTprGap: z.number().min(0).max(1).default(0.3),
    /** A single feature whose AUC alone reaches this is treated as a leak of the label. */
    leakageAuc: z.number().min(0.5).max(1).default(0.99),
    /** Validation AUC this much above training AUC is suspicious (a leak or a split bug). */
    maxValidationOverTrain: z.number().min(0).max(1).default(0.05),
  })
  .strict();

/** A parsed guardrail policy. */

/** The guardrail bounds of a model, defaults applied. */
export type GuardrailPolicy = z.infer<typeof guardrailPolicySchema>;

/**
 * Before taking all traffic, the candidate serves `weight` of it for `bakeSeconds` while its
 * served scores are compared with the incumbent's (PSI); above `maxScorePsi` it is rolled
 * back and the incumbent keeps serving. `weight` 0 skips the canary. When either side has
 * served fewer than `minSamples` predictions, the bake is repeated, up to `maxBakes` bakes
 * in all; after that `lowTraffic` decides: `promote` on the offline evidence alone (the
 * reason is recorded), or `rollback`. A canary whose variant fails more than `maxErrorRate`
 * of its predictions, or whose p95 latency exceeds the incumbent's by more than
 * `maxLatencyRatio` (plus `latencySlackMs`), is rolled back too.
 */
export const canarySettingsSchema = z
  .object({
    weight: z.number().min(0).lt(1).default(0.1),
    bakeSeconds: z.number().int().min(0).max(86_400).default(600),
    minSamples: z.number().int().min(1).default(50),
    maxScorePsi: z.number().positive().default(0.25),
    maxBakes: z.number().int().min(1).max(100).default(3),
    /**
     * Linear steps: the canary's share rises from `weight` towards 100% in this many steps,
     * each baked and judged (1: straight from `weight` to 100% after one healthy bake).
     */
    steps: z.number().int().min(1).max(10).default(1),
    lowTraffic: z.enum(['promote', 'rollback']).default('promote'),
    /** Share of the canary's predictions that may fail (scored by its variant). */
    maxErrorRate: z.number().min(0).max(1).default(0.01),
    /** The canary's p95 request latency may be at most the incumbent's times this, plus the slack. */
    maxLatencyRatio: z.number().min(1).default(2),
    latencySlackMs: z.number().int().min(0).default(50),
  })
  .strict();

/** Parsed canary settings of one model. */

/** The canary settings of a model, defaults applied. */
export type CanarySettings = z.infer<typeof canarySettingsSchema>;

/**
 * Before the canary, the candidate scores a copy of production's requests for
 * `bakeSeconds` without answering them (0: no shadow); the agreement with production (same
 * label, score difference, score PSI) is reported. Below `minAgreement` (0: report only)
 * the candidate is rolled back before it answers anyone.
 */
export const shadowSettingsSchema = z
  .object({
    bakeSeconds: z.number().int().min(0).max(86_400).default(0),
    minSamples: z.number().int().min(1).default(50),
    maxBakes: z.number().int().min(1).max(100).default(3),
    minAgreement: z.number().min(0).max(1).default(0),
  })
  .strict();

/** Parsed shadow settings of one model. */

/** The shadow settings of a model, defaults applied. */
export type ShadowSettings = z.infer<typeof shadowSettingsSchema>;

/**
 * How the drift job watches a model: when it runs, over which window, how many rows it needs before
 * it judges, and the thresholds of its verdicts (PSI 0.1 warn / 0.25 alarm by common practice).
 */
export const driftPolicySchema = z
  .object({
    /** Minutes between drift job runs for this model. */
    scheduleMinutes: z.number().int().min(1).max(1440).default(15),
    /** The window of prediction-log rows each run reads, in minutes back from the run. */
    windowMinutes: z.number().int().min(1).max(10_080).default(60),
    /** Below this many scored rows in the window the job judges nothing (and says so). */
    minSamples: z.number().int().positive().default(100),
    /** Quantile bins per numeric feature in the training baseline. */
    quantileBins: z.number().int().min(2).max(100).default(10),
    /** PSI (feature or score) at which a feature is reported as drifting. */
    psiWarn: z.number().positive().default(0.1),
    /** PSI (feature or score) that raises the drift alarms. */
    psiAlarm: z.number().positive().default(0.25),
    /** Rise of a feature's null rate over its training null rate (a fraction) that raises the null-rate alarm. */
    nullRateIncreaseAlarm: z.number().gt(0).max(1).default(0.1),
  })
  .strict()
  .refine((d) => d.psiWarn < d.psiAlarm, { message: 'psiWarn must be below psiAlarm', path: ['psiWarn'] });

/** A model's drift policy, defaults applied. */
export type DriftPolicy = z.infer<typeof driftPolicySchema>;

/**
 * The budgets a model's alarms hold it to, and the guard window after a promotion in which a page on
 * the new version rolls it back automatically.
 */
export const alarmPolicySchema = z
  .object({
    /** Hours after a promotion during which prediction drift, 5xx, model errors or latency roll the version back. */
    guardWindowHours: z.number().min(0).max(720).default(24),
    /** p99 request latency, in ms, above which the latency alarm fires. */
    latencyP99Ms: z.number().positive().default(1000),
    /** Share of requests answered with a 5xx above which the 5xx alarm fires. */
    serverErrorRate: z.number().gt(0).max(1).default(0.05),
    /** Instances the model failed to score, per alarm period, that fire the model-error alarm. */
    modelErrors: z.number().int().min(1).default(5),
    /** Requests refused as invalid, per alarm period, that fire the invalid-request alarm. */
    invalidRequests: z.number().int().min(1).default(50),
    /** Whether a period without a single prediction fires the no-traffic alarm (off for models used in bursts). */
    expectTraffic: z.boolean().default(false),
  })
  .strict();

/** A model's alarm budgets, defaults applied. */
export type AlarmPolicy = z.infer<typeof alarmPolicySchema>;

/**
 * When a model is retrained without a person asking: on a schedule (off by default), and when its
 * input drifts (its feature-drift or null-rate alarm). Every run, whoever starts it, takes the model's
 * lease first, so one runs at a time.
 */
export const retrainingPolicySchema = z
  .object({
    /** An EventBridge schedule expression such as `rate(7 days)` or `cron(0 3 ? * MON *)`; absent: no schedule. */
    schedule: z
      .string()
      .regex(
        /^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\([^)]+\))$/,
        'must be rate(<n> <unit>) or cron(<six fields>)',
      )
      .optional(),
    /** Whether the input-drift alarms (feature drift, null rate) start a retraining run. */
    onDrift: z.boolean().default(true),
    /** Minutes a run's lease lasts if the run never releases it (it crashed); longer than any run. */
    leaseMinutes: z.number().int().min(5).max(10_080).default(240),
  })
  .strict();

/** A model's retraining policy, defaults applied. */
export type RetrainingPolicy = z.infer<typeof retrainingPolicySchema>;
