/**
 * Deploy step: proves a version servable before anything routes to it: its artifacts load in the
 * scorer, the model fits the transform, and the version carries the feature-schema hash the
 * serving code computes. Both serving modes need this (the predict function computes the features
 * either way); in the `endpoint` mode the sync step then puts the version's variant in service.
 */
import { errorNames, PlatformError } from '../../core/errors.ts';
import { featureSchemaHash } from '../../core/features/transform.ts';
import type { ModelRegistryPort, ObjectStore } from '../../core/ports.ts';
import { loadServingModel } from '../../core/serving/load.ts';

export interface DeployInput {
  model: string;
  version: number;
}

export interface DeployOutput {
  model: string;
  version: number;
  featureSchemaHash: string;
  numFeatures: number;
}

export async function deployModel(
  input: DeployInput,
  deps: { registry: ModelRegistryPort; lake: ObjectStore },
): Promise<DeployOutput> {
  const v = await deps.registry.requireVersion(input.model, input.version);
  const def = v.definition;
  const serving = await loadServingModel(deps.lake, v.version, v.artifacts);
  const computed = featureSchemaHash(def.spec, serving.transform);
  if (computed !== v.featureSchemaHash) {
    throw new PlatformError(
      errorNames.featureSchemaMismatch,
      `Model "${input.model}" version ${v.version} was trained with feature schema ${v.featureSchemaHash.slice(0, 12)}, but the serving code computes ${computed.slice(0, 12)}: the feature spec or transform changed since training. Retrain the model.`,
    );
  }
  return {
    model: input.model,
    version: v.version,
    featureSchemaHash: computed,
    numFeatures: serving.model.numFeatures,
  };
}
