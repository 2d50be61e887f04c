/**
 * The feature spec: the single definition of features that both training and serving use. The model
 * definition (core/model/definition.ts) composes it with the per-model settings.
 */
import { z } from 'zod';

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
    /**
     * A column naming each row (an applicant id, an order number): used by no feature, carried into
     * batch scoring's output beside each score.
     */
    idColumn: identifier.optional(),
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
    if (
      spec.idColumn &&
      (names.has(spec.idColumn) || spec.idColumn === spec.label.column || spec.idColumn === spec.timeColumn)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['idColumn'],
        message: `id column "${spec.idColumn}" must be neither a feature, the label nor the time column`,
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

export type FeatureDef = z.infer<typeof featureSchema>;
export type MissingPolicy = z.infer<typeof missingPolicySchema>;
export type NumericTransform = z.infer<typeof numericTransformSchema>;
export type Slice = z.infer<typeof sliceSchema>;
export type FeatureSpec = z.infer<typeof featureSpecSchema>;
