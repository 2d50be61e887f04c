/**
 * The typed platform config. It comes from the `mlops` key of the CDK context (cdk.json or `-c`),
 * plus the model files under `models/`: `mlops` holds the defaults, `mlops.stages.<stage>` what a
 * stage changes of them and of its models' files. Anything invalid, in any stage, fails synth and
 * the twin's start with a message naming the source, the key and what is allowed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { formatIssues } from '../core/issues.ts';
import {
  type ModelDefinition,
  modelDefinitionSchema,
  parseModelDefinition,
} from '../core/model/definition.ts';
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
     * Raw data with more rows than this is prepared in two passes over a Distributed Map (statistics
     * per byte range, a reduce, then the transform per range) instead of by one function; 0 sends
     * every model's data (except `time` and `random` splits, which one function prepares) through the
     * two passes.
     */
    prepareDistributedAboveRows: z.number().int().min(0).default(100_000),
    /**
     * How many ranges each pass of the two-pass prepare reads at once (the Maps' MaxConcurrency):
     * concurrent invocations of the prepare function, within the account's Lambda concurrency.
     */
    prepareMaxConcurrency: z.number().int().min(1).max(10_000).default(10),
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
     * The batch-scoring state machine's Distributed Map (`mlops score-batch`): how many children
     * score at once (each scores one byte range of the input; a job's `rangeBytes` sets their size).
     */
    batchScoring: z
      .object({
        maxConcurrency: z.number().int().min(1).max(10_000).default(10),
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

/**
 * A stage's block of overrides (`mlops.stages.<stage>`): any platform setting but `stage` (the
 * block's name) and `stages`, and under `models.<model>` any setting of `models/<model>.json` but
 * `name` and `spec` (a model scores the same features in every stage).
 */
export interface StageOverrides {
  /** Platform settings, deep-merged over the defaults of `mlops`. */
  readonly platform: Record<string, unknown>;
  /** Per model, deep-merged over the definition in its file. */
  readonly models: Record<string, Record<string, unknown>>;
}

/** The platform settings of one stage: the defaults with the stage's overrides, validated. */
export type PlatformSettings = z.infer<typeof platformConfigSchema>;

/** The platform settings of the selected stage, and every stage's overrides. */
export interface ResolvedSettings {
  readonly settings: PlatformSettings;
  /** The overrides of every stage with a block, by stage name. */
  readonly stages: Readonly<Record<string, StageOverrides>>;
}

const PLATFORM_FIXED_KEYS = ['stage', 'stages'];
const MODEL_FIXED_KEYS = ['name', 'spec'];

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * `override` deep-merged over `base`: objects key by key, anything else (arrays included: a stage's
 * `clients` replaces the list) replaced whole.
 */
export function deepMerge(base: unknown, override: unknown): unknown {
  if (override === undefined) return base;
  if (!isPlainObject(base) || !isPlainObject(override)) return override;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) merged[key] = deepMerge(base[key], value);
  return merged;
}

/**
 * Reads the platform settings from the raw `mlops` object: validates the defaults and every stage's
 * block (so that a mistake in `prod` fails a `dev` synth too), then returns the settings of the
 * stage named by `stage`. Throws one message listing every problem, each named by its key
 * (`mlops.stages.<stage>.<path>` for a stage's).
 */
export function resolveSettings(raw: unknown, source = 'cdk.json context "mlops"'): ResolvedSettings {
  const { problems, stages, selected } = readSettings(raw);
  if (!selected) throw invalidConfig(source, problems);
  return { settings: selected, stages };
}

function invalidConfig(source: string, problems: readonly string[]): Error {
  return new Error(`Invalid platform config in ${source}:\n${problems.join('\n')}`);
}

/** The problems of the defaults and of every stage's block; the selected stage's settings when there are none. */
function readSettings(raw: unknown): {
  problems: string[];
  stages: Record<string, StageOverrides>;
  selected?: PlatformSettings;
} {
  const problems: string[] = [];
  if (raw !== undefined && raw !== null && !isPlainObject(raw)) {
    problems.push(`  - (root): must be an object, got ${JSON.stringify(raw)}`);
    return { problems, stages: {} };
  }
  const { stages: rawStages, ...defaults } = (raw ?? {}) as Record<string, unknown>;
  const base = platformConfigSchema.safeParse(defaults);
  if (!base.success) problems.push(formatIssues(base.error));

  const stages: Record<string, StageOverrides> = {};
  if (rawStages !== undefined && !isPlainObject(rawStages)) {
    problems.push(
      `  - mlops.stages: must be an object of stage blocks keyed by stage name, got ${JSON.stringify(rawStages)}`,
    );
  }
  for (const [name, block] of Object.entries(isPlainObject(rawStages) ? rawStages : {})) {
    const where = `mlops.stages.${name}`;
    const stageName = platformConfigSchema.shape.stage.safeParse(name);
    if (!stageName.success) {
      problems.push(`  - ${where}: stage name ${stageName.error.issues.map((i) => i.message).join('; ')}`);
    }
    if (!isPlainObject(block)) {
      problems.push(`  - ${where}: must be an object of settings, got ${JSON.stringify(block)}`);
      continue;
    }
    const { models, ...platform } = block;
    for (const key of PLATFORM_FIXED_KEYS.filter((k) => k in platform)) {
      problems.push(
        key === 'stage'
          ? `  - ${where}.stage: the block's name is the stage; remove the key`
          : `  - ${where}.stages: stages do not nest; declare every stage under mlops.stages`,
      );
      delete platform[key];
    }
    const merged = platformConfigSchema.safeParse(deepMerge(defaults, { ...platform, stage: name }));
    if (!merged.success) {
      // Problems of the defaults are listed once, above; those the block brings are listed here.
      problems.push(
        ...stageIssueLines(merged.error, platform, where, platformConfigSchema, !base.success, (keys) => [
          ...keys.filter((k) => !PLATFORM_FIXED_KEYS.includes(k)),
          'models',
        ]),
      );
    }
    const modelBlocks: Record<string, Record<string, unknown>> = {};
    if (models !== undefined && !isPlainObject(models)) {
      problems.push(
        `  - ${where}.models: must be an object keyed by model name, got ${JSON.stringify(models)}`,
      );
    }
    for (const [model, overrides] of Object.entries(isPlainObject(models) ? models : {})) {
      if (!isPlainObject(overrides)) {
        problems.push(
          `  - ${where}.models.${model}: must be an object of settings, got ${JSON.stringify(overrides)}`,
        );
        continue;
      }
      for (const key of MODEL_FIXED_KEYS.filter((k) => k in overrides)) {
        problems.push(
          `  - ${where}.models.${model}.${key}: is the same in every stage; change it in models/${model}.json`,
        );
      }
      modelBlocks[model] = overrides;
    }
    stages[name] = { platform, models: modelBlocks };
  }
  if (problems.length > 0 || !base.success) return { problems, stages };
  const stage = base.data.stage;
  const selected = platformConfigSchema.parse(
    deepMerge(defaults, { ...(stages[stage]?.platform ?? {}), stage }),
  );
  return { problems, stages, selected };
}

/** Options of {@link buildConfig}. */
export interface BuildConfigOptions {
  /**
   * Every model with a file, when `models` holds only some of them: a stage's overrides of a model
   * not loaded are then skipped instead of refused as unknown, and `defaultModel` may name one.
   * @default the names of `models`
   */
  readonly modelFiles?: readonly string[];
}

/**
 * Validates the raw config object (defaults and `stages`) and the models, and returns the config
 * of the stage it names: the defaults with that stage's overrides, its models with their overrides.
 * Throws one message that lists every problem.
 */
export function buildConfig(
  raw: unknown,
  models: ModelDefinition[],
  source = 'cdk.json context "mlops"',
  options: BuildConfigOptions = {},
): PlatformConfig {
  const { problems, stages, selected: cfg } = readSettings(raw);
  const modelFiles = options.modelFiles ?? models.map((m) => m.name);
  const byStage = new Map<string, ModelDefinition[]>();
  for (const [stage, overrides] of Object.entries(stages)) {
    const where = `mlops.stages.${stage}`;
    const defaultModel = overrides.platform.defaultModel;
    if (typeof defaultModel === 'string' && !modelFiles.includes(defaultModel)) {
      problems.push(
        `  - ${where}.defaultModel: "${defaultModel}" has no models/${defaultModel}.json (models: ${modelFiles.join(', ')})`,
      );
    }
    for (const name of Object.keys(overrides.models)) {
      if (!modelFiles.includes(name)) {
        problems.push(
          `  - ${where}.models.${name}: no models/${name}.json; the models are ${modelFiles.join(', ')}`,
        );
      }
    }
    byStage.set(
      stage,
      models.map((model) => {
        const block = overrides.models[model.name];
        if (!block) return model;
        const merged = modelDefinitionSchema.safeParse(deepMerge(model, block));
        if (merged.success) return merged.data;
        problems.push(
          ...stageIssueLines(
            merged.error,
            block,
            `${where}.models.${model.name}`,
            modelDefinitionSchema,
            false,
            (keys) => keys.filter((k) => !MODEL_FIXED_KEYS.includes(k)),
          ),
        );
        return model;
      }),
    );
  }
  if (problems.length > 0 || !cfg) throw invalidConfig(source, problems);
  if (!modelFiles.includes(cfg.defaultModel)) {
    throw new Error(
      `Invalid platform config in ${source}:\n  - defaultModel: "${cfg.defaultModel}" has no models/${cfg.defaultModel}.json (models: ${modelFiles.join(', ')})`,
    );
  }
  const stageModels = byStage.get(cfg.stage) ?? models;
  return {
    ...cfg,
    removalPolicy: cfg.removalPolicy ?? (cfg.stage === 'prod' ? 'retain' : 'destroy'),
    models: cfg.fast ? stageModels.map(fastDrift) : stageModels,
  };
}

/**
 * The lines for the problems a stage's block brings: each named `<where>.<path>`, an unknown key
 * with the keys allowed there. With `skipDefaults`, a problem not in the block is left out (the
 * defaults' own problems are listed once, not per stage).
 */
function stageIssueLines(
  error: z.ZodError,
  block: Record<string, unknown>,
  where: string,
  schema: z.ZodType,
  skipDefaults: boolean,
  rootKeys: (keys: string[]) => string[] = (keys) => keys,
): string[] {
  const lines: string[] = [];
  for (const issue of error.issues) {
    const path = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      const at = valueAt(block, path);
      const allowed = path.length === 0 ? rootKeys(allowedKeys(schema, path)) : allowedKeys(schema, path);
      for (const key of issue.keys) {
        if (!isPlainObject(at) || !(key in at)) continue;
        lines.push(
          `  - ${[where, ...path, key].join('.')}: unknown key${allowed.length > 0 ? `; allowed: ${allowed.join(', ')}` : ''}`,
        );
      }
      continue;
    }
    if (skipDefaults && valueAt(block, path) === undefined) continue;
    lines.push(`  - ${[where, ...path].join('.')}: ${issue.message}`);
  }
  return lines;
}

function valueAt(value: unknown, path: readonly string[]): unknown {
  let at = value;
  for (const key of path) {
    if (isPlainObject(at)) at = at[key];
    else if (Array.isArray(at)) at = at[Number(key)];
    else return undefined;
  }
  return at;
}

interface SchemaDef {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  element?: z.ZodType;
  valueType?: z.ZodType;
  shape?: Record<string, z.ZodType>;
}

/** The keys an object schema allows at `path` (through defaults, arrays and records). */
function allowedKeys(schema: z.ZodType, path: readonly string[]): string[] {
  let at: z.ZodType | undefined = schema;
  let i = 0;
  while (at) {
    const def: SchemaDef = (at as unknown as { _zod: { def: SchemaDef } })._zod.def;
    if (def.innerType) {
      at = def.innerType;
    } else if (def.type === 'pipe') {
      at = def.in;
    } else if (i === path.length) {
      return def.type === 'object' ? Object.keys(def.shape ?? {}) : [];
    } else {
      const key = path[i++]!;
      if (def.type === 'object') at = def.shape?.[key];
      else if (def.type === 'array') at = def.element;
      else if (def.type === 'record') at = def.valueType;
      else return [];
    }
  }
  return [];
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
