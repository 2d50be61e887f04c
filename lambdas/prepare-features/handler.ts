import { systemClock } from '../../core/ports.ts';
import { lakeStore } from '../shared/deps.ts';
import { requireEnv } from '../shared/env.ts';
import { findModel } from '../shared/models.ts';
import { taskHandler } from '../shared/task-handler.ts';
import { type PrepareInput, prepareFeatures } from './core.ts';

export const handler = taskHandler((input: PrepareInput) =>
  prepareFeatures(input, findModel, {
    lake: lakeStore(),
    clock: systemClock,
    env: {
      trainingSourceUri: requireEnv('TRAINING_SOURCE_URI'),
      trainingCodeSha256: requireEnv('TRAINING_CODE_SHA256'),
      featureCodeSha256: requireEnv('FEATURE_CODE_SHA256'),
      trainingImageUri: requireEnv('TRAINING_IMAGE_URI'),
    },
  }),
);
