/**
 * The model definition: one `models/<name>.json` file per model. It holds the feature spec (the single
 * definition of features that both training and serving use) and the per-model settings.
 */
import { z } from 'zod';

const identifier = z
  .string()
  .regex(
    /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/,
    'must start with a letter or underscore and use letters, digits, _ . -',
  );

export const numericFeatureSchema = z
  .object({
    name: identifier,
    type: z.literal('numeric'),
    /** `allow`: a missing value is passed to the model as missing; `reject`: the row is invalid. */
    missing: z.enum(['allow', 'reject']).default('allow'),
    description: z.string().optional(),
  })
  .strict();

export const categoricalFeatureSchema = z
  .object({
    name: identifier,
    type: z.literal('categorical'),
    missing: z.enum(['allow', 'reject']).default('allow'),
    description: z.string().optional(),
  })
  .strict();

export const booleanFeatureSchema = z
  .object({
    name: identifier,
    type: z.literal('boolean'),
    missing: z.enum(['allow', 'reject']).default('allow'),
    description: z.string().optional(),
  })
  .strict();

export const featureSchema = z.discriminatedUnion('type', [
  numericFeatureSchema,
  categoricalFeatureSchema,
  booleanFeatureSchema,
]);

export const featureSpecSchema = z
  .object({
    version: z.number().int().positive(),
    label: z
      .object({
        column: identifier,
        positive: z.string().min(1),
        negative: z.string().min(1),
      })
      .strict(),
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
  })
  .strict()
  .superRefine((spec, ctx) => {
    if (spec.features.some((f) => f.name === spec.label.column)) {
      ctx.addIssue({
        code: 'custom',
        path: ['label', 'column'],
        message: `label column "${spec.label.column}" must not also be a feature`,
      });
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
        validationFraction: z.number().gt(0).lt(1).default(0.2),
        /** Above this fraction of invalid rows, the prepare step fails the run. */
        maxInvalidFraction: z.number().min(0).max(1).default(0.05),
        hyperparameters: z.record(z.string(), hyperparameterValue).default({}),
      })
      .strict()
      .default({ seed: 42, validationFraction: 0.2, maxInvalidFraction: 0.05, hyperparameters: {} }),
    serving: z
      .object({
        /** Scores at or above the threshold get the positive label. */
        threshold: z.number().gt(0).lt(1).default(0.5),
        maxInstancesPerRequest: z.number().int().positive().max(1000).default(100),
      })
      .strict()
      .default({ threshold: 0.5, maxInstancesPerRequest: 100 }),
    guardrail: z
      .object({
        /** A candidate whose validation AUC is below this floor is refused. */
        minAuc: z.number().min(0).max(1).default(0.6),
      })
      .strict()
      .default({ minAuc: 0.6 }),
    drift: z
      .object({
        /** Population stability index of the score distribution that raises the drift alarm. */
        psiAlarm: z.number().positive().default(0.2),
        minSamples: z.number().int().positive().default(100),
      })
      .strict()
      .default({ psiAlarm: 0.2, minSamples: 100 }),
  })
  .strict();

export type FeatureDef = z.infer<typeof featureSchema>;
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
