/**
 * Loading a version for serving: its XGBoost JSON model and its fitted transform, read through the
 * object store port and checked against each other.
 */
import { errorNames, PlatformError } from '../errors.ts';
import type { TransformArtifact } from '../features/transform.ts';
import type { ObjectStore } from '../ports.ts';
import { loadXgbModel, type XgbModel } from '../scorer/xgboost.ts';
import type { ServingModel } from './model.ts';

/** Loads and checks a version's model and transform: the scorer must accept the model and the widths must agree. */
export async function loadServingModel(
  lake: Pick<ObjectStore, 'getText'>,
  version: number,
  keys: { modelJson: string; transform: string },
): Promise<ServingModel> {
  const [modelText, transformText] = await Promise.all([
    lake.getText(keys.modelJson),
    lake.getText(keys.transform),
  ]);
  let model: XgbModel;
  try {
    model = loadXgbModel(modelText);
  } catch (err) {
    throw new PlatformError(
      errorNames.artifactInvalid,
      `Model version ${version}: ${(err as Error).message}`,
    );
  }
  const transform = JSON.parse(transformText) as TransformArtifact;
  if (model.numFeatures !== transform.columns.length) {
    throw new PlatformError(
      errorNames.artifactInvalid,
      `Model version ${version} expects ${model.numFeatures} features but its transform produces ${transform.columns.length}.`,
    );
  }
  return { version, model, transform };
}
