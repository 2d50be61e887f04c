import { describe, expect, it } from 'vitest';
import { parseFunctionEnv } from '../../contracts/env.ts';
import { syncSettings } from '../../lambdas/sync-endpoint/settings.ts';

const common = {
  MLOPS_STAGE: 'dev',
  POWERTOOLS_SERVICE_NAME: 'sync-endpoint',
  POWERTOOLS_METRICS_NAMESPACE: 'Mlops/dev',
  REGISTRY_TABLE: 'registry',
};

const endpoint = {
  ...common,
  SERVING_MODE: 'endpoint',
  ENDPOINT_PREFIX: 'mlops-dev',
  ENDPOINT_INSTANCE_TYPE: 'ml.m5.large',
  ENDPOINT_INSTANCE_COUNT: '2',
  ENDPOINT_WARM_MINUTES: '0',
  INFERENCE_IMAGE_URI: 'image',
  MODEL_EXECUTION_ROLE_ARN: 'arn:aws:iam::1:role/model',
  LAKE_BUCKET: 'lake',
};

describe('syncSettings', () => {
  it('needs nothing more in serving mode lambda', () => {
    expect(syncSettings(parseFunctionEnv('sync-endpoint', { ...common, SERVING_MODE: 'lambda' }))).toEqual({
      mode: 'lambda',
    });
  });

  it('reads the endpoint settings, with default check counts and no key unless one is set', () => {
    expect(syncSettings(parseFunctionEnv('sync-endpoint', endpoint))).toEqual({
      mode: 'endpoint',
      prefix: 'mlops-dev',
      instanceType: 'ml.m5.large',
      instanceCount: 2,
      warmMinutes: 0,
      image: 'image',
      executionRoleArn: 'arn:aws:iam::1:role/model',
      lakeBucket: 'lake',
      maxAttempts: 60,
      checkSeconds: 30,
    });
    const withKey = parseFunctionEnv('sync-endpoint', {
      ...endpoint,
      ENDPOINT_KMS_KEY_ARN: 'arn:aws:kms:key',
      ENDPOINT_MAX_CHECKS: '5',
      ENDPOINT_CHECK_SECONDS: '10',
    });
    expect(syncSettings(withKey)).toMatchObject({
      kmsKeyId: 'arn:aws:kms:key',
      maxAttempts: 5,
      checkSeconds: 10,
    });
  });

  it('fails in serving mode endpoint naming every setting that is missing', () => {
    const { ENDPOINT_INSTANCE_TYPE: _type, LAKE_BUCKET: _lake, ...partial } = endpoint;
    expect(() => syncSettings(parseFunctionEnv('sync-endpoint', partial))).toThrow(
      'Function sync-endpoint: ENDPOINT_INSTANCE_TYPE, LAKE_BUCKET are not set, and serving mode endpoint needs them.',
    );
  });
});
