/** A model version ready to serve: its scorer model and its fitted transform. */
import type { TransformArtifact } from '../features/transform.ts';
import type { XgbModel } from '../scorer/xgboost.ts';

export interface ServingModel {
  version: number;
  model: XgbModel;
  transform: TransformArtifact;
}
