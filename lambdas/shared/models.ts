/**
 * The model definitions a function knows about. Bundled functions get them compiled in at synth
 * (`__MLOPS_MODELS_B64__`, set by the MlopsFunction construct); code run from source reads
 * `models/` (or MLOPS_MODELS_DIR), the same files synth reads.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorNames, PlatformError } from '../../core/errors.ts';
import { type ModelDefinition, parseModelDefinition } from '../../core/model/definition.ts';

declare const __MLOPS_MODELS_B64__: string | undefined;

let cache: Map<string, ModelDefinition> | undefined;

function load(): Map<string, ModelDefinition> {
  let raw: unknown[];
  if (typeof __MLOPS_MODELS_B64__ === 'string') {
    raw = JSON.parse(Buffer.from(__MLOPS_MODELS_B64__, 'base64').toString('utf8')) as unknown[];
  } else {
    const dir = process.env.MLOPS_MODELS_DIR ?? 'models';
    raw = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as unknown);
  }
  return new Map(
    raw.map((r, i) => {
      const m = parseModelDefinition(r, `model definition #${i + 1}`);
      return [m.name, m] as const;
    }),
  );
}

export function modelNames(): string[] {
  cache ??= load();
  return [...cache.keys()];
}

/** Returns the named model's definition or throws UnknownModel listing the known ones. */
export function getModel(name: string): ModelDefinition {
  cache ??= load();
  const model = cache.get(name);
  if (!model) {
    throw new PlatformError(
      errorNames.unknownModel,
      `Unknown model "${name}". Known models: ${[...cache.keys()].join(', ')}.`,
    );
  }
  return model;
}

/** The named model's deployed definition, or undefined. */
export function findModel(name: string): ModelDefinition | undefined {
  cache ??= load();
  return cache.get(name);
}
