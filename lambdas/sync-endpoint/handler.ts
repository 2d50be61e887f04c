import { systemClock } from '../../core/ports.ts';
import { endpointControl, registry } from '../shared/deps.ts';
import { requireEnv } from '../shared/env.ts';
import { endpointPrefix, servingMode } from '../shared/serving-settings.ts';
import { taskHandler } from '../shared/task-handler.ts';
import { type SyncDeps, type SyncInput, syncEndpoint } from './core.ts';

function settings(): SyncDeps['settings'] {
  if (servingMode() === 'lambda') return { mode: 'lambda' };
  const kmsKeyId = process.env.ENDPOINT_KMS_KEY_ARN;
  return {
    mode: 'endpoint',
    prefix: endpointPrefix(),
    instanceType: requireEnv('ENDPOINT_INSTANCE_TYPE'),
    instanceCount: Number(requireEnv('ENDPOINT_INSTANCE_COUNT')),
    warmMinutes: Number(requireEnv('ENDPOINT_WARM_MINUTES')),
    image: requireEnv('INFERENCE_IMAGE_URI'),
    executionRoleArn: requireEnv('MODEL_EXECUTION_ROLE_ARN'),
    lakeBucket: requireEnv('LAKE_BUCKET'),
    maxAttempts: Number(process.env.ENDPOINT_MAX_CHECKS ?? '60'),
    checkSeconds: Number(process.env.ENDPOINT_CHECK_SECONDS ?? '30'),
    ...(kmsKeyId ? { kmsKeyId } : {}),
  };
}

// Read once per function instance: the environment does not change between invocations.
const syncSettings = settings();

export const handler = taskHandler((input: SyncInput) =>
  syncEndpoint(input, {
    registry: registry(),
    endpoints: endpointControl(),
    clock: systemClock,
    settings: syncSettings,
  }),
);
