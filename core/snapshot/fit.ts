/**
 * The snapshot's feature transform, fitted on its training split only: imputation values, clip
 * bounds and vocabularies learnt from validation or golden rows would leak them into training.
 */

import { errorNames, PlatformError } from '../errors.ts';
import type { FeatureSpec } from '../features/spec.ts';
import { FitError, featureSchemaHash, fitTransform, type TransformArtifact } from '../features/transform.ts';
import type { SplitName } from '../training-run.ts';
import type { SplitRow } from './split.ts';

/** The fitted transform and the hash that names what its vectors mean. */
export interface FittedTransform {
  transform: TransformArtifact;
  featureSchemaHash: string;
}

/**
 * Fits the transform on the training split of `splits` (the other splits are not read). A split
 * the transform cannot be fitted on (a feature with no value to impute from) is InvalidInput.
 */
export function fitOnTraining(
  spec: FeatureSpec,
  splits: Readonly<Record<SplitName, readonly SplitRow[]>>,
): FittedTransform {
  let transform: TransformArtifact;
  try {
    transform = fitTransform(
      spec,
      splits.train.map((r) => r.row),
    );
  } catch (err) {
    if (err instanceof FitError) throw new PlatformError(errorNames.invalidInput, err.message);
    throw err;
  }
  return { transform, featureSchemaHash: featureSchemaHash(spec, transform) };
}
