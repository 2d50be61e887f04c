import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type BuiltBundle, buildFunction, packageBytes } from '../../bench/function-bundle.ts';
import { credit } from '../support/fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'predict-bundle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The build constants the construct sets: the serving mode and the deployed definitions. */
const build = (mode: 'lambda' | 'endpoint'): Promise<BuiltBundle> =>
  buildFunction('predict', join(dir, `${mode}.mjs`), {
    __MLOPS_SERVING_MODE__: JSON.stringify(mode),
    __MLOPS_MODELS_B64__: JSON.stringify(Buffer.from(JSON.stringify([credit])).toString('base64')),
  });

describe('the predict bundle (esbuild metafile)', () => {
  it('leaves the SageMaker runtime client out in serving mode lambda and has it in mode endpoint', async () => {
    // Act
    const [lambda, endpoint] = await Promise.all([build('lambda'), build('endpoint')]);
    // Assess: the build constant, not the environment, decides what is bundled.
    expect(packageBytes(lambda, '@aws-sdk/client-sagemaker-runtime')).toBe(0);
    expect(packageBytes(endpoint, '@aws-sdk/client-sagemaker-runtime')).toBeGreaterThan(0);
    expect(endpoint.bytes).toBeGreaterThan(lambda.bytes);
  });

  it('holds none of what predict does not call: the SageMaker control plane, tar, zod, Powertools', async () => {
    const lambda = await build('lambda');
    for (const pkg of [
      '@aws-sdk/client-sagemaker',
      'tar',
      '@aws-lambda-powertools/logger',
      '@aws-lambda-powertools/metrics',
    ]) {
      expect({ pkg, bytes: packageBytes(lambda, pkg) }).toEqual({ pkg, bytes: 0 });
    }
    // No zod at all: neither the model definition schemas nor the environment schemas (env.ts).
    expect(packageBytes(lambda, 'zod')).toBe(0);
    // Reading the registry and writing the log: not the registry's writes, not the log's reads.
    const modules = [...lambda.inputs.keys()];
    for (const adapter of ['dynamo-registry.ts', 'dynamo-prediction-log-reader.ts', 's3-object-store.ts']) {
      expect(modules.filter((p) => p.endsWith(`adapters/aws/${adapter}`))).toEqual([]);
    }
    expect(modules.some((p) => p.endsWith('lib-dynamodb/dist-es/commands/UpdateCommand.js'))).toBe(false);
    expect(modules.some((p) => p.endsWith('adapters/aws/dynamo-prediction-log-writer.ts'))).toBe(true);
  });
});
