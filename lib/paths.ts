/** Locations inside the repository, independent of the current working directory. */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (the directory holding `package.json`, `lambdas/`, `pipelines/`, `models/`). */
export const PROJECT_ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

/** Directory of the model definition files. */
export const MODELS_DIR = resolve(PROJECT_ROOT, 'models');

/** Directory of the state machine definitions and the training code. */
export const PIPELINES_DIR = resolve(PROJECT_ROOT, 'pipelines');
