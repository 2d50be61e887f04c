/**
 * The typed platform config. It comes from the `mlops` key of the CDK context (cdk.json or `-c`),
 * plus the model files under `models/`. Anything invalid fails synth and the twin's start with a
 * message naming the source, the key and what is allowed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { formatIssues } from '../core/issues.ts';
import { type ModelDefinition, parseModelDefinition } from '../core/model/definition.ts';
import { MODELS_DIR, PROJECT_ROOT } from './paths.ts';

export const platformConfigSchema = z
  .object({
    /**
     * Stage name; it prefixes stack names and run-time resource names (`mlops-<stage>--<job>`), so that
     * two stages can live in one account. No `--` and no `-` at the end: then no stage's prefix is the
     * start of another's, and an IAM grant on one stage's prefix covers nothing of another stage.
     */
    stage: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,15}$/, 'must be 1-16 lower-case letters, digits or -, starting with a letter')
      .refine((s) => !s.includes('--'), {
        error: (issue) =>
          `"${String(issue.input)}" must not contain "--" (it ends the stage prefix of run-time names)`,
      })
      .refine((s) => !s.endsWith('-'), {
        error: (issue) =>
          `"${String(issue.input)}" must not end in "-" (its run-time names would start with another stage's prefix)`,
      }),
    /** SageMaker instance type for training jobs. */
    trainingInstanceType: z
      .string()
      .regex(/^ml\.[a-z0-9]+\.[a-z0-9]+$/, 'must be a SageMaker instance type such as ml.g5.xlarge')
      .default('ml.g5.xlarge'),
    /** Overrides the SageMaker XGBoost 1.7-1 image URI derived from the region. */
    trainingImageUri: z.string().min(1).optional(),
    trainingMaxRuntimeSeconds: z.number().int().min(60).max(432000).default(3600),
    trainingVolumeSizeGb: z.number().int().min(1).max(512).default(30),
    /**
     * Short monitoring settings for the twin and demos, so the chain drift → alarm → rule → state
     * machine plays out in minutes of real time: every model's drift job runs every minute over a
     * 10-minute window, and every alarm evaluates 60 s periods, 1 datapoint of 1.
     */
    fast: z.boolean().default(false),
    /** Where RUNBOOK.md is published; every alarm's description links to its section under it. */
    runbookUrl: z.string().min(1).default('RUNBOOK.md'),
    predictionLogTtlDays: z.number().int().min(1).max(3650).default(90),
    /**
     * Partitions of the prediction log per model and hour. DynamoDB takes at most 1,000 writes a
     * second per partition key, so this bounds a model's logged predictions at about 1,000 a second
     * per shard (README: capacity). Raise it only.
     */
    predictionLogShards: z.number().int().min(1).max(1000).default(4),
    /** Which model `POST /v1/predict` serves. */
    defaultModel: z.string().default('credit'),
    /** An e-mail address subscribed to the operator topic (optional). */
    operatorEmail: z.email().optional(),
    /**
     * The prediction API's clients: each gets its own API key (named `mlops-<stage>--client-<name>`)
     * and usage plan, so that one can be throttled, metered (its name is on every log row and metric)
     * or revoked alone. `npx mlops keys` prints their keys.
     */
    clients: z
      .array(
        z
          .object({
            name: z
              .string()
              .regex(
                /^[a-z][a-z0-9-]{0,31}$/,
                'must be 1-32 lower-case letters, digits or -, starting with a letter',
              )
              .refine((s) => !s.includes('--') && s !== 'anonymous', {
                error: 'must not contain "--" nor be "anonymous" (the name of requests with no key)',
              }),
            /** Steady-state requests per second. */
            rateLimit: z.number().positive().default(50),
            /** Burst size in requests. */
            burstLimit: z.number().int().positive().default(100),
            /** Requests allowed per period (none: no quota). */
            quota: z
              .object({
                limit: z.number().int().positive(),
                period: z.enum(['DAY', 'WEEK', 'MONTH']),
              })
              .strict()
              .optional(),
          })
          .strict(),
      )
      .min(1, 'declare at least one client')
      .refine((cs) => new Set(cs.map((c) => c.name)).size === cs.length, {
        error: 'client names must be unique',
      })
      .default([{ name: 'default', rateLimit: 50, burstLimit: 100 }]),
    /**
     * How predictions are scored. `lambda`: the predict function scores with the TypeScript scorer
     * (no endpoint; cheapest for tree models). `endpoint`: each model gets a SageMaker real-time
     * endpoint with one variant per version, created and changed by the pipelines.
     */
    serving: z
      .object({
        mode: z.enum(['lambda', 'endpoint']).default('lambda'),
        instanceType: z
          .string()
          .regex(/^ml\.[a-z0-9]+\.[a-z0-9]+$/, 'must be a SageMaker instance type such as ml.m5.large')
          .default('ml.m5.large'),
        instanceCount: z.number().int().min(1).max(10).default(1),
        /** How long the replaced production variant stays deployed (weight 0) for a fast rollback. */
        incumbentWarmMinutes: z.number().int().min(0).max(10_080).default(60),
        /** Seconds between DescribeEndpoint checks while an endpoint change goes into service. */
        checkIntervalSeconds: z.number().int().min(5).max(600).default(30),
        /** Checks after which a change still not in service fails the pipeline. */
        maxChecks: z.number().int().min(1).max(1000).default(60),
        /** Minutes between scheduled syncs, which take variants out once their warm window passed. */
        syncScheduleMinutes: z.number().int().min(5).max(1440).default(15),
      })
      .strict()
      .prefault({}),
    /**
     * Bundle source maps with every function and run it with `NODE_OPTIONS=--enable-source-maps`, so
     * error stack traces point at the TypeScript sources. Off by default: the maps add to every upload
     * and, with source maps enabled, to cold starts.
     */
    sourceMaps: z.boolean().default(false),
    /** `retain` keeps the lake, registry and log when a stack is deleted; default: retain for prod. */
    removalPolicy: z.enum(['retain', 'destroy']).optional(),
  })
  .strict();

export type PlatformConfigInput = z.input<typeof platformConfigSchema>;

export interface PlatformConfig extends Omit<z.infer<typeof platformConfigSchema>, 'removalPolicy'> {
  removalPolicy: 'retain' | 'destroy';
  models: ModelDefinition[];
}

/** Reads and validates every `*.json` file in the models directory. */
export function loadModels(dir: string): ModelDefinition[] {
  let files: string[];
  try {
    files = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort();
  } catch (err) {
    throw new Error(`Cannot read the models directory ${dir}: ${(err as Error).message}`);
  }
  if (files.length === 0) throw new Error(`No model files (*.json) in ${dir}: add one file per model.`);
  return files.map((file) => {
    const path = join(dir, file);
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new Error(`Model file models/${file} is not valid JSON: ${(err as Error).message}`);
    }
    const model = parseModelDefinition(raw, `models/${file}`);
    if (`${model.name}.json` !== file) {
      throw new Error(
        `Model file models/${file} declares name "${model.name}"; rename it to ${model.name}.json.`,
      );
    }
    return model;
  });
}

/** Validates the raw config object and the models, throwing one message that lists every problem. */
export function buildConfig(
  raw: unknown,
  models: ModelDefinition[],
  source = 'cdk.json context "mlops"',
): PlatformConfig {
  const parsed = platformConfigSchema.safeParse(raw ?? {});
  if (!parsed.success)
    throw new Error(`Invalid platform config in ${source}:\n${formatIssues(parsed.error)}`);
  const cfg = parsed.data;
  if (!models.some((m) => m.name === cfg.defaultModel)) {
    throw new Error(
      `Invalid platform config in ${source}:\n  - defaultModel: "${cfg.defaultModel}" has no models/${cfg.defaultModel}.json (models: ${models.map((m) => m.name).join(', ')})`,
    );
  }
  return {
    ...cfg,
    removalPolicy: cfg.removalPolicy ?? (cfg.stage === 'prod' ? 'retain' : 'destroy'),
    models: cfg.fast ? models.map(fastDrift) : models,
  };
}

/** `fast`: the model's drift job runs every minute over the last 10 minutes. */
function fastDrift(model: ModelDefinition): ModelDefinition {
  return { ...model, drift: { ...model.drift, scheduleMinutes: 1, windowMinutes: 10 } };
}

/**
 * The `context` block of `cdk.json` (feature flags and the `mlops` config). Apps synthesized in-process
 * (tests, the local twin) pass it to `new App({ context })` so they build what `cdk synth` builds.
 */
export function readCdkJsonContext(file: string = join(PROJECT_ROOT, 'cdk.json')): Record<string, unknown> {
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as { context?: Record<string, unknown> };
  return { ...(parsed.context ?? {}) };
}

/** The platform config from cdk.json's `mlops` context and `models/`, with the stage optionally overridden. */
export function projectConfig(stage?: string): PlatformConfig {
  const raw = {
    ...((readCdkJsonContext().mlops as Record<string, unknown>) ?? {}),
    ...(stage ? { stage } : {}),
  };
  return buildConfig(raw, loadModels(MODELS_DIR));
}
