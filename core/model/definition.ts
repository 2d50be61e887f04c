/**
 * The model definition: one `models/<name>.json` file per model. It composes the feature spec (the
 * single definition of features that training and serving share) with the per-model settings:
 * training, serving, promotion (canary, shadow), guardrail and drift policies.
 */
import { z } from 'zod';
import { featureSpecSchema } from '../features/spec.ts';
import { formatIssues } from '../issues.ts';
import {
  alarmPolicySchema,
  canarySettingsSchema,
  driftPolicySchema,
  guardrailPolicySchema,
  retrainingPolicySchema,
  shadowSettingsSchema,
} from './policies.ts';

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
        /**
         * Training instances, 1 when absent: above 1, the train split is sharded by S3 key across the
         * instances and train.py trains one model on all of them with XGBoost's collective. Absent
         * rather than defaulted, so a definition that does not set it keeps the data version it had
         * (the definition is part of the snapshot).
         */
        instanceCount: z.number().int().min(1).max(16).optional(),
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
        canary: canarySettingsSchema.prefault({}),
        shadow: shadowSettingsSchema.prefault({}),
      })
      .strict()
      .prefault({}),
    /** When a candidate may reach production; see policy/guardrail.ts for each bound. */
    guardrail: guardrailPolicySchema.prefault({}),
    /** How the drift job watches the model; see policies.ts. */
    drift: driftPolicySchema.prefault({}),
    /** The model's alarm budgets and guard window; see policies.ts. */
    alarms: alarmPolicySchema.prefault({}),
    /** Scheduled and drift-triggered retraining; see policies.ts. */
    retraining: retrainingPolicySchema.prefault({}),
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

export type ModelDefinition = z.infer<typeof modelDefinitionSchema>;

/** Parses a model definition, throwing an error that names the source and every bad key. */
export function parseModelDefinition(raw: unknown, source: string): ModelDefinition {
  const result = modelDefinitionSchema.safeParse(raw);
  if (!result.success) {
    throw new Error(`Invalid model definition in ${source}:\n${formatIssues(result.error)}`);
  }
  return result.data;
}
