/**
 * The deployed model definitions, for the drift job, without a schema library in its bundle.
 *
 * A bundled function has the definitions compiled in (`__MLOPS_MODELS_B64__`, set by the
 * MlopsFunction construct) as the config parsed them at synth, defaults applied: parsing them again
 * would only put zod in the bundle (the drift job measured 2.06x its floor in bytes with it,
 * BENCHMARKS.md). Code run from source (tests) reads `models/` through the shared loader, which
 * parses; esbuild drops that branch from the bundle, where the constant is a string.
 */
import type { ModelDefinition } from '../../core/model/definition.ts';

declare const __MLOPS_MODELS_B64__: string | undefined;

let cache: ModelDefinition[] | undefined;

/** Every deployed model's definition, defaults applied. */
export async function deployedModels(): Promise<ModelDefinition[]> {
  if (cache) return cache;
  if (typeof __MLOPS_MODELS_B64__ === 'string') {
    cache = JSON.parse(Buffer.from(__MLOPS_MODELS_B64__, 'base64').toString('utf8')) as ModelDefinition[];
  } else {
    const { getModel, modelNames } = await import('../shared/models.ts');
    cache = modelNames().map(getModel);
  }
  return cache;
}
