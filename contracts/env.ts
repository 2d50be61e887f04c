/**
 * Each function's environment, as a schema: the construct that creates a function sets exactly
 * these variables (a construct test checks every synthesized function against its schema), and
 * the handler parses them once at cold start, so a missing or malformed binding fails the
 * function's init with the variable's name instead of a request later. The twin runs each
 * function with its template environment, so a binding the template lacks fails locally too.
 *
 * zod/mini, not zod: these schemas are bundled into every function, and the predict function's
 * size is budgeted (BENCHMARKS.md); zod/mini costs about 15 KB where zod costs about 450 KB.
 */
import * as z from 'zod/mini';

// zod/mini ships no message locale, so each schema says what it expects.
const nonEmpty = z
  .string({ error: 'expected a non-empty string' })
  .check(z.minLength(1, { error: 'expected a non-empty string' }));
const wholeNumber = z.coerce
  .number({ error: 'expected a whole number' })
  .check(z.int({ error: 'expected a whole number' }), z.nonnegative({ error: 'expected a whole number' }));
const positiveWhole = z.coerce
  .number({ error: 'expected a positive whole number' })
  .check(
    z.int({ error: 'expected a positive whole number' }),
    z.positive({ error: 'expected a positive whole number' }),
  );
const servingMode = z.enum(['lambda', 'endpoint'], { error: 'expected lambda or endpoint' });
/** A comma-separated list of names, e.g. `credit,churn`. */
const nameList = z.pipe(
  nonEmpty,
  z.transform((s: string) => s.split(',').filter((x) => x.length > 0)),
);

/** Whole minutes per model name, e.g. `credit=240,churn=60`. */
const minutesByModel = z.pipe(
  z.string({ error: 'expected <model>=<minutes>, comma-separated' }).check(
    z.regex(/^[a-z][a-z0-9-]*=[1-9][0-9]*(,[a-z][a-z0-9-]*=[1-9][0-9]*)*$/, {
      error: 'expected <model>=<minutes>, comma-separated',
    }),
  ),
  z.transform(
    (s: string): Record<string, number> =>
      Object.fromEntries(
        s.split(',').map((entry) => {
          const [model, minutes] = entry.split('=') as [string, string];
          return [model, Number(minutes)];
        }),
      ),
  ),
);

/** Set on every platform function by the MlopsFunction construct. */
const common = {
  /** The platform stage. */
  MLOPS_STAGE: nonEmpty,
  /** The function's `lambdas/` directory name; logs and metrics carry it as the service. */
  POWERTOOLS_SERVICE_NAME: nonEmpty,
  /** `Mlops/<stage>`: where the function's metrics go. */
  POWERTOOLS_METRICS_NAMESPACE: nonEmpty,
  /** `--enable-source-maps` when the stage uploads source maps. */
  NODE_OPTIONS: z.optional(z.string()),
};
const lake = { LAKE_BUCKET: nonEmpty };
const registry = { REGISTRY_TABLE: nonEmpty };
/** `PREDICTION_LOG_SHARDS`: partitions per model and hour, which writers spread over and readers read. */
const logReader = { PREDICTION_LOG_TABLE: nonEmpty, PREDICTION_LOG_SHARDS: positiveWhole };
const logWriter = {
  PREDICTION_LOG_TABLE: nonEmpty,
  PREDICTION_LOG_TTL_DAYS: positiveWhole,
  PREDICTION_LOG_SHARDS: positiveWhole,
};

/** The environment schema of every function, by its `lambdas/` directory name. */
export const functionEnv = {
  'prepare-features': z.object({
    ...common,
    ...lake,
    /** S3 URI of the training code tarball (`sourcedir.tar.gz`). */
    TRAINING_SOURCE_URI: nonEmpty,
    TRAINING_CODE_SHA256: nonEmpty,
    FEATURE_CODE_SHA256: nonEmpty,
    TRAINING_IMAGE_URI: nonEmpty,
    /** `mlops-<stage>--` (contracts/names.ts): every training job name starts with it, and the IAM grant is scoped by it. */
    TRAINING_JOB_PREFIX: nonEmpty,
    /** Raw data with more rows than this is prepared in two passes over a Distributed Map (lambdas/prepare-features/two-pass.ts). */
    PREPARE_DISTRIBUTED_ABOVE_ROWS: wholeNumber,
  }),
  'evaluate-model': z.object({ ...common, ...lake }),
  'register-model': z.object({ ...common, ...registry }),
  'compare-models': z.object({ ...common, ...lake, ...registry }),
  guardrail: z.object({ ...common, ...lake, ...registry }),
  'deploy-model': z.object({ ...common, ...lake, ...registry }),
  canary: z.object({ ...common, ...registry, ...logReader }),
  'mark-failed': z.object({ ...common, ...registry }),
  'set-alias': z.object({ ...common, ...registry }),
  rollback: z.object({ ...common, ...registry }),
  'training-lease': z.object({
    ...common,
    ...registry,
    /** Each deployed model's `retraining.leaseMinutes`. */
    LEASE_MINUTES: minutesByModel,
    /** The lease of a model that is not deployed (trained from a definition ingested with its data). */
    DEFAULT_LEASE_MINUTES: positiveWhole,
  }),
  'sync-endpoint': z.object({
    ...common,
    ...registry,
    SERVING_MODE: servingMode,
    /** The rest only in serving mode `endpoint`. */
    ENDPOINT_PREFIX: z.optional(nonEmpty),
    ENDPOINT_INSTANCE_TYPE: z.optional(nonEmpty),
    ENDPOINT_INSTANCE_COUNT: z.optional(positiveWhole),
    ENDPOINT_WARM_MINUTES: z.optional(wholeNumber),
    ENDPOINT_MAX_CHECKS: z.optional(positiveWhole),
    ENDPOINT_CHECK_SECONDS: z.optional(positiveWhole),
    ENDPOINT_KMS_KEY_ARN: z.optional(nonEmpty),
    INFERENCE_IMAGE_URI: z.optional(nonEmpty),
    MODEL_EXECUTION_ROLE_ARN: z.optional(nonEmpty),
    LAKE_BUCKET: z.optional(nonEmpty),
  }),
  predict: z.object({
    ...common,
    ...lake,
    ...registry,
    ...logWriter,
    /** The model `POST /v1/predict` serves. */
    DEFAULT_MODEL: nonEmpty,
    /** The deployed models' names: an unknown model in the path is a 404, a known one without production a 503. */
    MODEL_NAMES: nameList,
    SERVING_MODE: servingMode,
    /** `mlops-<stage>`, in serving mode `endpoint`. */
    ENDPOINT_PREFIX: z.optional(nonEmpty),
    /** `<apiKeyId>=<client>,...`: the client each API key belongs to (the config's `clients`). */
    CLIENT_KEYS: z.optional(nonEmpty),
    /** The idempotency table (Powertools' layout: `id` key, `expiration` TTL). */
    IDEMPOTENCY_TABLE: nonEmpty,
    /** How long a request's answer is kept for a retry with the same Idempotency-Key. */
    IDEMPOTENCY_TTL_SECONDS: z.optional(positiveWhole),
    /** The function that scores shadow copies, invoked asynchronously. */
    SHADOW_FUNCTION: z.optional(nonEmpty),
  }),
  /** Scores a shadow's copy of a request, invoked asynchronously by predict; never answers a client. */
  shadow: z.object({
    ...common,
    ...lake,
    ...registry,
    ...logWriter,
    SERVING_MODE: servingMode,
    ENDPOINT_PREFIX: z.optional(nonEmpty),
  }),
  'drift-job': z.object({ ...common, ...lake, ...registry, ...logReader }),
  /** Scores one Distributed Map batch of a batch-scoring job (reads the registry, writes `scores/`). */
  'score-batch': z.object({ ...common, ...lake, ...registry }),
  /** A batch-scoring job's ends: resolves its version, then sums its counts into the audit trail. */
  'score-batch-job': z.object({ ...common, ...lake, ...registry }),
} as const;

/** A platform function, by its `lambdas/` directory name. */
export type FunctionName = keyof typeof functionEnv;

/** The parsed environment of a function. */
export type FunctionEnv<F extends FunctionName> = z.output<(typeof functionEnv)[F]>;

/** The variables a function's schema declares. */
export function envKeys(fn: FunctionName): string[] {
  return Object.keys(functionEnv[fn].def.shape);
}

/**
 * Parses a function's environment (once, at cold start), or throws one error naming the function
 * and every missing or malformed variable.
 */
export function parseFunctionEnv<F extends FunctionName>(
  fn: F,
  source: Record<string, string | undefined> = process.env,
): FunctionEnv<F> {
  const result = z.safeParse(functionEnv[fn], source);
  if (result.success) return result.data as FunctionEnv<F>;
  const problems = result.error.issues.map((issue) => {
    const key = String(issue.path[0] ?? '(environment)');
    const value = source[key];
    return value === undefined
      ? `${key} is not set`
      : `${key}=${JSON.stringify(value)} is invalid (${issue.message})`;
  });
  throw new Error(
    `Function ${fn}: ${problems.join('; ')}. The function's construct sets its environment (contracts/env.ts).`,
  );
}
