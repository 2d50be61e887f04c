/**
 * The endpoint sync's settings, from its parsed environment. In serving mode `lambda` there is
 * nothing to configure; in mode `endpoint` the variables that the schema leaves optional (because
 * the `lambda` mode lacks them) are required, and a missing one is named.
 */
import type { FunctionEnv } from '../../contracts/env.ts';
import type { SyncDeps } from './core.ts';

/** Checks used when the environment leaves them out. */
const DEFAULT_MAX_CHECKS = 60;
/** Seconds between checks when the environment leaves them out. */
const DEFAULT_CHECK_SECONDS = 30;

export function syncSettings(env: FunctionEnv<'sync-endpoint'>): SyncDeps['settings'] {
  if (env.SERVING_MODE === 'lambda') return { mode: 'lambda' };
  const required = {
    ENDPOINT_PREFIX: env.ENDPOINT_PREFIX,
    ENDPOINT_INSTANCE_TYPE: env.ENDPOINT_INSTANCE_TYPE,
    ENDPOINT_INSTANCE_COUNT: env.ENDPOINT_INSTANCE_COUNT,
    ENDPOINT_WARM_MINUTES: env.ENDPOINT_WARM_MINUTES,
    INFERENCE_IMAGE_URI: env.INFERENCE_IMAGE_URI,
    MODEL_EXECUTION_ROLE_ARN: env.MODEL_EXECUTION_ROLE_ARN,
    LAKE_BUCKET: env.LAKE_BUCKET,
  };
  const missing = Object.entries(required)
    .filter(([, value]) => value === undefined)
    .map(([key]) => key);
  if (missing.length > 0) {
    throw new Error(
      `Function sync-endpoint: ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not set, and serving mode endpoint needs ${missing.length > 1 ? 'them' : 'it'}. The function's construct sets them (contracts/env.ts).`,
    );
  }
  return {
    mode: 'endpoint',
    prefix: required.ENDPOINT_PREFIX!,
    instanceType: required.ENDPOINT_INSTANCE_TYPE!,
    instanceCount: required.ENDPOINT_INSTANCE_COUNT!,
    warmMinutes: required.ENDPOINT_WARM_MINUTES!,
    image: required.INFERENCE_IMAGE_URI!,
    executionRoleArn: required.MODEL_EXECUTION_ROLE_ARN!,
    lakeBucket: required.LAKE_BUCKET!,
    maxAttempts: env.ENDPOINT_MAX_CHECKS ?? DEFAULT_MAX_CHECKS,
    checkSeconds: env.ENDPOINT_CHECK_SECONDS ?? DEFAULT_CHECK_SECONDS,
    ...(env.ENDPOINT_KMS_KEY_ARN ? { kmsKeyId: env.ENDPOINT_KMS_KEY_ARN } : {}),
  };
}
