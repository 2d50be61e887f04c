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
