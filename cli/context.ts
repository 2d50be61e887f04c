/**
 * What every verb is registered with: the platform config, the defaults its options show, and how
 * `--twin`/`--stage` become a target. Tests give a verb their own context (a target on local
 * services, for example) instead of a twin or a stage.
 */
import { type PlatformConfig, projectConfig } from '../lib/config.ts';
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

/** The environment the verbs are registered in. */
export interface CliContext {
  /** The platform config: cdk.json's `mlops` context and the model files in `models/`. */
  config(): PlatformConfig;
  /** The URL `--twin` defaults to. */
  readonly twinUrl: string;
  /** The port `local up` listens on by default. */
  readonly twinPort: number;
  /** The target that a command's `--twin`/`--stage` options name. */
  target(opts: TargetOptions): Promise<Target>;
}

/**
 * The context of the `mlops` command: the config read once, when a verb first needs it;
 * `MLOPS_TWIN_URL` and `PORT` as the defaults of `--twin` and `local up --port`.
 */
export function createContext(env: NodeJS.ProcessEnv = process.env): CliContext {
  let config: PlatformConfig | undefined;
  return {
    config: () => {
      config ??= projectConfig();
      return config;
    },
    twinUrl: env.MLOPS_TWIN_URL ?? `http://127.0.0.1:${DEFAULT_TWIN_PORT}`,
    twinPort: Number(env.PORT ?? DEFAULT_TWIN_PORT),
    target: selectTarget,
  };
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
