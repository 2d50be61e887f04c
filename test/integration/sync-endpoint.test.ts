/**
 * The endpoint sync step through the real SageMaker SDK adapter, against the twin's local endpoint
 * service and s3rver: it creates, waits, shifts weights, swaps configs, and fails with the reason
 * when SageMaker would (a failed endpoint, a rolled-back update, too many checks).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelVersion, ProductionAlias } from '../../core/registry/model.ts';
import { httpTimeouts } from '../../lambdas/shared/adapters/aws/clients.ts';
import type { S3ObjectStore } from '../../lambdas/shared/adapters/aws/s3-object-store.ts';
import { SageMakerEndpoints } from '../../lambdas/shared/adapters/aws/sagemaker-endpoints.ts';
import { type SyncInput, type SyncOutput, syncEndpoint } from '../../lambdas/sync-endpoint/core.ts';
import { LocalSageMakerEndpoints } from '../../local/sagemaker/index.ts';
import { stumpModel } from '../support/fixtures.ts';
import { type LocalAws, startLocalAws } from '../support/local-aws.ts';

describe('sync-endpoint against the local endpoint service', () => {
  let aws: LocalAws;
  let lake: S3ObjectStore;
  let service: LocalSageMakerEndpoints;
  let endpoints: SageMakerEndpoints;
  let dir: string;
  let alias: ProductionAlias | undefined;
  const versions = new Map<
    number,
    Pick<ModelVersion, 'version' | 'status' | 'hyperParameters' | 'artifacts'>
  >();
  const settings = {
    mode: 'endpoint' as const,
    prefix: 'mlops-t',
    instanceType: 'ml.m5.large',
    instanceCount: 1,
    warmMinutes: 60,
    image: '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1',
    executionRoleArn: 'arn:aws:iam::000000000000:role/model',
    lakeBucket: 'lake',
    maxAttempts: 200,
    checkSeconds: 30,
  };
  const registry = {
    getAlias: async () => alias,
    requireVersion: async (_m: string, v: number) => {
      const found = versions.get(v);
      if (!found) throw new Error(`no v${v}`);
      return found as ModelVersion;
    },
    listVersions: async () => [...versions.values()] as ModelVersion[],
  };

  async function putVersion(version: number, modelJson: string): Promise<void> {
    const root = join(dir, `v${version}`);
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, 'model.json'), modelJson);
    await tar.c({ gzip: true, file: join(dir, `v${version}.tar.gz`), cwd: root, portable: true }, [
      'model.json',
    ]);
    const key = `artifacts/credit/v${version}/model.tar.gz`;
    await lake.put(key, readFileSync(join(dir, `v${version}.tar.gz`)));
    versions.set(version, {
      version,
      status: 'Retired',
      hyperParameters: { sagemaker_submit_directory: JSON.stringify('s3://code/sourcedir.tar.gz') },
      artifacts: { modelTarball: key } as ModelVersion['artifacts'],
    });
  }

  /** Calls the step the way the pipeline does: again after each answer, until ready. */
  async function converge(input: Omit<SyncInput, 'previous'>, maxAttempts = settings.maxAttempts) {
    const calls: SyncOutput[] = [];
    let previous: SyncInput['previous'] = null;
    for (;;) {
      const out = await syncEndpoint(
        { ...input, previous },
        { registry, endpoints, clock: { now: () => new Date() }, settings: { ...settings, maxAttempts } },
      );
      calls.push(out);
      if (out.ready) return calls;
      previous = { attempt: out.attempt, requestedConfig: out.requestedConfig };
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  const weights = () =>
    Object.fromEntries(
      service.describe('mlops-t-credit').ProductionVariants.map((v) => [v.VariantName, v.CurrentWeight]),
    );

  beforeAll(async () => {
    aws = await startLocalAws();
    lake = await aws.createBucket('lake');
    dir = mkdtempSync(join(tmpdir(), 'sync-endpoint-'));
    service = new LocalSageMakerEndpoints({ getStore: () => lake, transitionMs: 30 });
    const url = await service.start();
    endpoints = new SageMakerEndpoints(
      new SageMakerClient({
        endpoint: url,
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        requestHandler: httpTimeouts,
      }),
    );
    await putVersion(1, stumpModel(4, 0, 0.5, -1, 1));
    await putVersion(2, stumpModel(4, 1, 0.5, -0.5, 0.5));
    await putVersion(3, 'not a model');
  });
  afterAll(async () => {
    await service.stop();
    await aws.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('does nothing in the lambda serving mode', async () => {
    const out = await syncEndpoint(
      { model: 'credit', include: [1] },
      { registry, endpoints, clock: { now: () => new Date() }, settings: { ...settings, mode: 'lambda' } },
    );
    expect(out).toMatchObject({ mode: 'lambda', ready: true, action: 'none' });
    expect(service.endpoints()).toEqual([]);
  });

  it('creates the endpoint, waits while it is Creating, and is ready only once DescribeEndpoint shows the plan', async () => {
    const calls = await converge({ model: 'credit', include: [1] });
    expect(calls[0]).toMatchObject({ action: 'create', ready: false, waitSeconds: 30 });
    expect(calls.slice(1, -1).every((c) => c.action === 'wait' && c.status === 'Creating')).toBe(true);
    expect(calls.at(-1)).toMatchObject({ ready: true, action: 'none', status: 'InService' });
    expect(weights()).toEqual({ v1: 1 });
    const model = endpoints.describe('mlops-t-credit');
    expect((await model)?.configName).toMatch(/^mlops-t-credit-[0-9a-f]{10}$/);
  });

  it('adds a variant with a new config, then shifts weights in place for a canary', async () => {
    alias = { model: 'credit', current: 1, history: [], updatedAt: new Date().toISOString() };
    const added = await converge({ model: 'credit', include: [2] });
    expect(added[0]?.action).toBe('update-config');
    expect(weights()).toEqual({ v1: 1, v2: 0 });
    const config = service.describe('mlops-t-credit').EndpointConfigName;
    alias = { ...alias, canary: { version: 2, weight: 0.25, startedAt: new Date().toISOString() } };
    const shifted = await converge({ model: 'credit' });
    expect(shifted[0]?.action).toBe('update-weights');
    expect(weights()).toEqual({ v1: 0.75, v2: 0.25 });
    expect(service.describe('mlops-t-credit').EndpointConfigName).toBe(config);
  });

  it('fails with the reason when SageMaker rolls an update back, instead of asking again', async () => {
    alias = { model: 'credit', current: 1, history: [], updatedAt: new Date().toISOString() };
    await expect(converge({ model: 'credit', include: [3] })).rejects.toMatchObject({
      name: 'EndpointFailed',
      message: expect.stringMatching(/rolled back the update to mlops-t-credit-[0-9a-f]{10}: .+/),
    });
    // The previous config kept serving.
    expect(service.describe('mlops-t-credit').EndpointStatus).toBe('InService');
    expect(Object.keys(weights()).sort()).toEqual(['v1', 'v2']);
  });

  it('run on a schedule, keeps an approved candidate on its way and drops a replaced version once its warm window has passed', async () => {
    versions.get(3)!.status = 'Rejected';
    await putVersion(4, stumpModel(4, 2, 0.5, -0.2, 0.2));
    versions.get(4)!.status = 'Approved';
    // v1 replaced production v2 two hours ago: beyond the 60-minute window.
    alias = {
      model: 'credit',
      current: 2,
      history: [1],
      updatedAt: new Date(Date.now() - 2 * 3600_000).toISOString(),
    };
    const calls = await converge({ model: 'credit' });
    expect(calls[0]?.planned).toEqual([
      { version: 2, weight: 1 },
      { version: 4, weight: 0 },
    ]);
    expect(weights()).toEqual({ v2: 1, v4: 0 });
    versions.get(4)!.status = 'Failed';
  });

  it('fails once the checks run out while the endpoint is still changing', async () => {
    alias = { model: 'credit', current: 2, history: [1], updatedAt: '2000-01-01T00:00:00Z' };
    await expect(converge({ model: 'credit' }, 1)).rejects.toMatchObject({
      name: 'EndpointTimeout',
      message: expect.stringContaining('did not reach the planned variants (v2=1) in 1 checks'),
    });
  });
});
