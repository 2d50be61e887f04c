/**
 * The hash of the feature code: every file of `core/features/`, by relative path and
 * content. It goes into each model version's lineage beside the training script's hash, since the
 * features are computed by this code, not by the script.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { PROJECT_ROOT } from './paths.ts';

export const FEATURE_CODE_DIR = join(PROJECT_ROOT, 'core', 'features');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : []))
    .sort();
}

export function featureCodeSha256(dir: string = FEATURE_CODE_DIR): string {
  const hash = createHash('sha256');
  for (const file of files(dir)) {
    hash.update(relative(dir, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}
