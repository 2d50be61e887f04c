/**
 * The model definitions a function was deployed with. A bundled function has them compiled in
 * (`__MLOPS_MODELS_B64__`, set by the MlopsFunction construct) as synth parsed them, defaults
 * applied, so they are taken as they are: parsing them again would only put the schema library in
 * every bundle that reads them (the drift job measured 2.06x its floor in bytes with it,
 * BENCHMARKS.md). Code run from source reads and parses `models/` (model-files.ts); esbuild drops
 * that branch from a bundle, where the constant is a string.
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
    cache = (await import('./model-files.ts')).readModelFiles();
  }
  return cache;
}
