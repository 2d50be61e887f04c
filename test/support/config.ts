/** What the config tests share: the deployed model files, and the message a refused config gets. */
import { buildConfig, loadModels } from '../../lib/config.ts';
import { MODELS_DIR } from '../../lib/paths.ts';

/** The model definitions in models/. */
export const MODELS = loadModels(MODELS_DIR);

/** The message buildConfig throws for `input`; a config it accepts fails the test. */
export function problems(input: unknown): string {
  try {
    buildConfig(input, MODELS);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected the config to be refused');
}
