/**
 * Deploy step: makes a version servable and verifies it. In the `lambda` serving mode the predict
 * function scores with the TypeScript scorer, so deploying means proving that the artifacts load,
 * fit the transform, and carry the feature-schema hash the serving code computes.
 */
import { errorNames, PlatformError } from '../shared/errors.ts';
import { featureSchemaHash } from '../shared/features/index.ts';
import { loadServingModel } from '../shared/model-artifacts.ts';
import type { ObjectStore } from '../shared/ports.ts';
import type { ModelRegistry } from '../shared/registry/registry.ts';

export interface DeployInput {
  model: string;
  version: number;
}

export interface DeployOutput {
  model: string;
  version: number;
  servingMode: 'lambda';
  featureSchemaHash: string;
  numFeatures: number;
}

export async function deployModel(
  input: DeployInput,
  deps: { registry: ModelRegistry; lake: ObjectStore },
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
    servingMode: 'lambda',
    featureSchemaHash: computed,
    numFeatures: serving.model.numFeatures,
  };
}
