/** Model definitions as the CLI finds them: the files in `models/`, or a file named on the command line. */
import { readFileSync } from 'node:fs';
import { type ModelDefinition, parseModelDefinition } from '../core/model/definition.ts';
import type { CliContext } from './context.ts';
import { CliError, UsageError } from './errors.ts';

/**
 * The definition in `models/<name>.json` with the overrides of `stage` (default: the stage cdk.json
 * names): a UsageError listing the models there when it has no file, a CliError naming the file and
 * the key when its file is broken (other files are not read).
 */
export function deployedDefinition(context: CliContext, name: string, stage?: string): ModelDefinition {
  const def = context.definition(name, stage);
  if (!def) {
    throw new UsageError(
      `Unknown model "${name}". Models are the files in models/: ${context.modelNames().join(', ')}.`,
    );
  }
  return def;
}

/** Reads and validates a model definition file; any problem is a CliError naming the file (and key). */
export function readDefinitionFile(file: string): ModelDefinition {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CliError(`Cannot read the model definition ${file}: ${(err as Error).message}`);
  }
  try {
    return parseModelDefinition(raw, file);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}
