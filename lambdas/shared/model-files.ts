/**
 * The model files under `models/` (or MLOPS_MODELS_DIR), parsed as synth parses them: the deployed
 * definitions of code run from source (tests, the CLI). Bundled functions never load this module
 * (see models.ts), so its schema library stays out of their bundles.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ModelDefinition, parseModelDefinition } from '../../core/model/definition.ts';

export function readModelFiles(dir: string = process.env.MLOPS_MODELS_DIR ?? 'models'): ModelDefinition[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => parseModelDefinition(JSON.parse(readFileSync(join(dir, f), 'utf8')), `${dir}/${f}`));
}
