/**
 * What every verb is registered with: the platform config, the defaults its options show, and how
 * `--twin`/`--stage` become a target. Tests give a verb their own context (a target on local
 * services, for example) instead of a twin or a stage.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ModelDefinition, parseModelDefinition } from '../core/model/definition.ts';
import {
  buildConfig,
  loadModels,
  type PlatformConfig,
  readCdkJsonContext,
  resolveSettings,
} from '../lib/config.ts';
import { MODELS_DIR } from '../lib/paths.ts';
import { CliError } from './errors.ts';
import type { Target } from './target.ts';

/** The port the twin listens on unless told otherwise. */
export const DEFAULT_TWIN_PORT = 3000;

/** The options of a command that acts on a target (see `withTarget`). */
export interface TargetOptions {
  /** URL of the local twin. */
  twin: string;
  /** A deployed stage on AWS; when given, the twin is not asked. */
  stage?: string;
}

/** The platform settings of cdk.json's `mlops` context, without the model files. */
export type PlatformSettings = Omit<PlatformConfig, 'models' | 'removalPolicy'>;

/** The environment the verbs are registered in. */
export interface CliContext {
  /**
   * The platform config: cdk.json's `mlops` context and every model file in `models/`. For the
   * commands that synthesize the app; a bad file is a CliError naming it and its keys.
   */
  config(): PlatformConfig;
  /**
   * cdk.json's `mlops` settings alone (stage, default model, ...) with the overrides of its stage: a
   * broken model file does not matter.
   */
  settings(): PlatformSettings;
  /**
   * The definition in `models/<name>.json` with the overrides of `stage` (default: the stage
   * cdk.json names), or undefined when there is no such file. Only that file has to be valid: a
   * broken one is a CliError naming the file and the key.
   */
  definition(name: string, stage?: string): ModelDefinition | undefined;
  /** The models with a file in `models/`, valid or not. */
  modelNames(): string[];
  /** The URL `--twin` defaults to. */
  readonly twinUrl: string;
  /** The port `local up` listens on by default. */
  readonly twinPort: number;
  /** The target that a command's `--twin`/`--stage` options name. */
  target(opts: TargetOptions): Promise<Target>;
}

/** Where a context reads the config from: the repository's cdk.json and models/ unless told. */
export interface ConfigSources {
  /** cdk.json's `context` block. */
  cdkContext?: () => Record<string, unknown>;
  /** The directory of the model files. */
  modelsDir?: string;
}

/**
 * The context of the `mlops` command: the config read once, when a verb first needs it;
 * `MLOPS_TWIN_URL` and `PORT` as the defaults of `--twin` and `local up --port`.
 */
export function createContext(env: NodeJS.ProcessEnv = process.env, sources: ConfigSources = {}): CliContext {
  const modelsDir = sources.modelsDir ?? MODELS_DIR;
  const raw = () => (sources.cdkContext ?? readCdkJsonContext)().mlops as Record<string, unknown> | undefined;
  // The config of the stage cdk.json names (key ''), and of any other stage a verb asked for.
  const configs = new Map<string, PlatformConfig>();
  let settings: PlatformSettings | undefined;
  const withStage = (stage: string | undefined) => (stage ? { ...raw(), stage } : raw());
  const fullConfig = (stage?: string): PlatformConfig => {
    let config = configs.get(stage ?? '');
    if (!config) {
      config = asCliError(() => buildConfig(withStage(stage), loadModels(modelsDir)));
      configs.set(stage ?? '', config);
    }
    return config;
  };
  const context: CliContext = {
    config: () => fullConfig(),
    settings: () => {
      settings ??= readSettings(raw());
      return settings;
    },
    definition: (name, stage) => {
      const file = join(modelsDir, `${name}.json`);
      if (!/^[a-z][a-z0-9-]{0,31}$/.test(name) || !existsSync(file)) return undefined;
      try {
        return fullConfig(stage).models.find((m) => m.name === name);
      } catch {
        // Another file is broken, or this one: read this one alone, as the whole config would.
        const def = readModelFile(file, `models/${name}.json`, name);
        return asCliError(
          () =>
            buildConfig(withStage(stage), [def], undefined, { modelFiles: context.modelNames() }).models[0],
        );
      }
    },
    modelNames: () => {
      try {
        return readdirSync(modelsDir)
          .filter((f) => f.endsWith('.json'))
          .map((f) => f.slice(0, -'.json'.length))
          .sort();
      } catch {
        return [];
      }
    },
    twinUrl: env.MLOPS_TWIN_URL ?? `http://127.0.0.1:${DEFAULT_TWIN_PORT}`,
    twinPort: Number(env.PORT ?? DEFAULT_TWIN_PORT),
    target: selectTarget,
  };
  return context;
}

/** Runs a config reader; its error (which names the file and the key) becomes a CliError, shown without a stack. */
function asCliError<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError((err as Error).message);
  }
}

/** The settings of the stage cdk.json names, with its overrides, read the way the CDK app reads them. */
function readSettings(raw: Record<string, unknown> | undefined): PlatformSettings {
  const { removalPolicy: _, ...settings } = asCliError(() => resolveSettings(raw)).settings;
  return settings;
}

/** One model file, checked as `loadModels` checks each: JSON, the definition schema, the name. */
function readModelFile(path: string, shown: string, name: string): ModelDefinition {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new CliError(`Model file ${shown} is not valid JSON: ${(err as Error).message}`);
  }
  const def = asCliError(() => parseModelDefinition(json, shown));
  if (def.name !== name)
    throw new CliError(`Model file ${shown} declares name "${def.name}"; rename it to ${def.name}.json.`);
  return def;
}

/**
 * The twin at `--twin` when it answers and no `--stage` is given, else the stage on AWS. The SDK
 * clients are loaded here, when a command first needs a target, so that commands without one
 * (`score`, `spec infer`, `--help`) start without them.
 */
export async function selectTarget(opts: TargetOptions): Promise<Target> {
  const { awsTarget, isTwinListening, twinTarget } = await import('./target.ts');
  if (opts.stage) return awsTarget(opts.stage);
  if (await isTwinListening(opts.twin)) return twinTarget(opts.twin);
  throw new CliError(
    `No local twin answers at ${opts.twin}. Start one with \`npm start\`, or pass --stage <name> to act on a deployed stage.`,
  );
}
