/** Reads the model definition that was ingested with the raw data. */
import { errorNames, PlatformError } from '../../core/errors.ts';
import type { RawPointer } from '../../core/lake.ts';
import { type ModelDefinition, parseModelDefinition } from '../../core/model/definition.ts';
import type { ObjectStore } from '../../core/ports.ts';

/**
 * The definition ingested with the raw data a pointer names (undefined when it carries none: the
 * deployed `models/<name>.json` applies). A stored definition that no longer parses is InvalidInput.
 */
export async function ingestedDefinition(
  lake: ObjectStore,
  pointer: RawPointer,
): Promise<ModelDefinition | undefined> {
  if (!pointer.definitionKey) return undefined;
  try {
    return parseModelDefinition(
      JSON.parse(await lake.getText(pointer.definitionKey)),
      `s3://${lake.bucket}/${pointer.definitionKey}`,
    );
  } catch (err) {
    throw new PlatformError(errorNames.invalidInput, (err as Error).message);
  }
}
