/**
 * The model definition: one `models/<name>.json` file per model. It holds the feature spec (the single
 * definition of features that both training and serving use) and the per-model settings.
 */
import { z } from 'zod';
import { guardrailPolicySchema } from '../evaluation/guardrail-policy.ts';

const identifier = z
  .string()
  .regex(
    /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/,
    'must start with a letter or underscore and use letters, digits, _ . -',
  );

/**
 * What to do with a missing value: `native` passes it to XGBoost as missing (it learns a default
 * direction per split), `reject` makes the row invalid, `impute` replaces it with a statistic
 * fitted on the training split (or a constant).
 */
export const missingPolicySchema = z.union([
  z.enum(['native', 'reject']),
  z
    .object({
      impute: z.enum(['mean', 'median', 'mode', 'constant']),
      /** The value for `constant`. */
      value: z.union([z.number(), z.string(), z.boolean()]).optional(),
    })
    .strict()
    .refine((m) => m.impute !== 'constant' || m.value !== undefined, {
      message: 'impute "constant" needs a "value"',
    }),
]);

const quantile = z.number().min(0).max(1);

/** Numeric transforms, applied in order after imputation. Clip bounds are fitted quantiles of the training split. */
export const numericTransformSchema = z.union([
  z.literal('log1p'),
  z
    .object({ clip: z.object({ lower: quantile.default(0), upper: quantile.default(1) }).strict() })
    .strict()
    .refine((t) => t.clip.lower < t.clip.upper, { message: 'clip.lower must be below clip.upper' }),
]);

export const numericFeatureSchema = z
  .object({
    name: identifier,
    type: z.literal('numeric'),
    missing: missingPolicySchema.default('native'),
    transforms: z.array(numericTransformSchema).default([]),
    description: z.string().optional(),
  })
  .strict()
  .superRefine((f, ctx) => {
    if (typeof f.missing === 'object' && f.missing.impute === 'mode') {
      ctx.addIssue({
        code: 'custom',
        path: ['missing', 'impute'],
        message: 'numeric features impute with mean, median or constant',
      });
    }
    if (
      typeof f.missing === 'object' &&
      f.missing.impute === 'constant' &&
      typeof f.missing.value !== 'number'
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['missing', 'value'],
        message: 'a numeric feature needs a numeric constant',
      });
    }
  });

export const categoricalFeatureSchema = z
  .object({
    name: identifier,
    type: z.literal('categorical'),
    missing: missingPolicySchema.default('native'),
    /** Categories seen fewer times than this in training go to the "other" column. */
    minCount: z.number().int().positive().default(1),
    /** At most this many categories get their own column (the most frequent); the rest are "other". */
    maxCategories: z.number().int().positive().max(1000).default(100),
    description: z.string().optional(),
  })
  .strict()
  .superRefine((f, ctx) => {
    if (typeof f.missing === 'object' && (f.missing.impute === 'mean' || f.missing.impute === 'median')) {
      ctx.addIssue({
        code: 'custom',
        path: ['missing', 'impute'],
        message: 'categorical features impute with mode or constant',
      });
    }
  });

export const booleanFeatureSchema = z
  .object({
    name: identifier,
    type: z.literal('boolean'),
    missing: missingPolicySchema.default('native'),
    description: z.string().optional(),
  })
  .strict();

export const featureSchema = z.discriminatedUnion('type', [
  numericFeatureSchema,
  categoricalFeatureSchema,
  booleanFeatureSchema,
]);

/** A slice for evaluation: one value per category, or numeric bands split at the given edges. */
export const sliceSchema = z
  .object({
    name: identifier,
    feature: identifier,
    /** For numeric features: ascending edges; bands are (-inf, e1), [e1, e2), ..., [en, inf). */
    bands: z.array(z.number()).min(1).optional(),
    /**
     * Judge the gaps between this slice's groups (predicted-positive rate, TPR) as fairness bounds.
     * Meant for attributes of people; per-group AUC against the incumbent is judged either way.
     */
    fairness: z.boolean().default(true),
  })
  .strict()
  .refine((s) => !s.bands || s.bands.every((e, i) => i === 0 || e > s.bands![i - 1]!), {
    message: 'bands must be strictly ascending',
    path: ['bands'],
  });

export const featureSpecSchema = z
  .object({
    version: z.number().int().positive(),
    label: z
      .object({
        column: identifier,
        positive: z.string().min(1),
        negative: z.string().min(1),
      })
      .strict()
      .refine((l) => l.positive !== l.negative, { message: 'positive and negative must differ' }),
    /** A column holding the event time (ISO-8601 date/time or a number); enables time-based splits. */
    timeColumn: identifier.optional(),
    features: z
      .array(featureSchema)
      .min(1)
      .superRefine((features, ctx) => {
        const seen = new Set<string>();
        for (const [i, f] of features.entries()) {
          if (seen.has(f.name)) {
            ctx.addIssue({
              code: 'custom',
              path: [i, 'name'],
              message: `duplicate feature name "${f.name}"`,
            });
          }
          seen.add(f.name);
        }
      }),
    slices: z.array(sliceSchema).default([]),
  })
  .strict()
  .superRefine((spec, ctx) => {
    const names = new Map(spec.features.map((f) => [f.name, f]));
    if (names.has(spec.label.column)) {
      ctx.addIssue({
        code: 'custom',
        path: ['label', 'column'],
        message: `label column "${spec.label.column}" must not also be a feature`,
      });
    }
    if (spec.timeColumn && (names.has(spec.timeColumn) || spec.timeColumn === spec.label.column)) {
      ctx.addIssue({
        code: 'custom',
        path: ['timeColumn'],
        message: `time column "${spec.timeColumn}" must be neither a feature nor the label`,
      });
    }
    for (const [i, slice] of spec.slices.entries()) {
      const f = names.get(slice.feature);
      if (!f) {
        ctx.addIssue({
          code: 'custom',
          path: ['slices', i, 'feature'],
          message: `"${slice.feature}" is not a feature`,
        });
      } else if (f.type === 'numeric' && !slice.bands) {
        ctx.addIssue({
          code: 'custom',
          path: ['slices', i, 'bands'],
          message: `numeric feature "${f.name}" needs bands`,
        });
      } else if (f.type !== 'numeric' && slice.bands) {
        ctx.addIssue({
          code: 'custom',
          path: ['slices', i, 'bands'],
          message: `bands apply to numeric features only`,
        });
      }
    }
  });

const hyperparameterValue = z.union([z.string(), z.number(), z.boolean()]);

export const modelDefinitionSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'must be lower-case letters, digits and -, at most 32'),
    description: z.string().default(''),
    spec: featureSpecSchema,
    training: z
      .object({
        seed: z.number().int().nonnegative().default(42),
        /**
         * `hash`: each row's split follows from a hash of its content, the same in every snapshot
         * and for every seed; `random`: shuffled by the seed; `time`: the latest rows (by the
         * spec's timeColumn) are held out.
         */
        split: z.enum(['hash', 'random', 'time']).default('hash'),
        validationFraction: z.number().gt(0).lt(1).default(0.2),
        /** Held out from both training and validation: the golden rows every candidate is also scored on. */
        goldenFraction: z.number().min(0).lt(1).default(0.1),
        /** Above this fraction of invalid rows, the prepare step fails the run. */
        maxInvalidFraction: z.number().min(0).max(1).default(0.05),
        hyperparameters: z.record(z.string(), hyperparameterValue).default({}),
      })
      .strict()
      .superRefine((t, ctx) => {
        if (t.validationFraction + t.goldenFraction >= 0.9) {
          ctx.addIssue({
            code: 'custom',
            path: ['goldenFraction'],
            message: 'validationFraction + goldenFraction must leave at least 10% to train on',
          });
        }
      })
      .default({
        seed: 42,
        split: 'hash',
        validationFraction: 0.2,
        goldenFraction: 0.1,
        maxInvalidFraction: 0.05,
        hyperparameters: {},
      }),
    serving: z
      .object({
        /** Scores at or above the threshold get the positive label. */
        threshold: z.number().gt(0).lt(1).default(0.5),
        maxInstancesPerRequest: z.number().int().positive().max(1000).default(100),
      })
      .strict()
      .default({ threshold: 0.5, maxInstancesPerRequest: 100 }),
    promotion: z
      .object({
        /** `auto`: a successful training run starts the promotion pipeline for its candidate. */
        approval: z.enum(['manual', 'auto']).default('manual'),
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
        canary: z
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
          .strict()
          .prefault({}),
        /**
         * Before the canary, the candidate scores a copy of production's requests for
         * `bakeSeconds` without answering them (0: no shadow); the agreement with production (same
         * label, score difference, score PSI) is reported. Below `minAgreement` (0: report only)
         * the candidate is rolled back before it answers anyone.
         */
        shadow: z
          .object({
            bakeSeconds: z.number().int().min(0).max(86_400).default(0),
            minSamples: z.number().int().min(1).default(50),
            maxBakes: z.number().int().min(1).max(100).default(3),
            minAgreement: z.number().min(0).max(1).default(0),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    /** When a candidate may reach production; see guardrail-policy.ts for each bound. */
    guardrail: guardrailPolicySchema.prefault({}),
    drift: z
      .object({
        /** Population stability index of the score distribution that raises the drift alarm. */
        psiAlarm: z.number().positive().default(0.2),
        minSamples: z.number().int().positive().default(100),
      })
      .strict()
      .default({ psiAlarm: 0.2, minSamples: 100 }),
  })
  .strict()
  .superRefine((m, ctx) => {
    if (m.training.split === 'time' && !m.spec.timeColumn) {
      ctx.addIssue({
        code: 'custom',
        path: ['training', 'split'],
        message: 'split "time" needs spec.timeColumn',
      });
    }
  });

export type FeatureDef = z.infer<typeof featureSchema>;
export type MissingPolicy = z.infer<typeof missingPolicySchema>;
export type NumericTransform = z.infer<typeof numericTransformSchema>;
export type Slice = z.infer<typeof sliceSchema>;
export type FeatureSpec = z.infer<typeof featureSpecSchema>;
export type ModelDefinition = z.infer<typeof modelDefinitionSchema>;

/** Formats zod issues as `path: message` lines so a person can find the bad key. */
export function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.length > 0 ? issue.path.join('.') : '(root)';
      return `  - ${path}: ${issue.message}`;
    })
    .join('\n');
}

/** Parses a model definition, throwing an error that names the source and every bad key. */
export function parseModelDefinition(raw: unknown, source: string): ModelDefinition {
  const result = modelDefinitionSchema.safeParse(raw);
  if (!result.success) {
    throw new Error(`Invalid model definition in ${source}:\n${formatIssues(result.error)}`);
  }
  return result.data;
}
