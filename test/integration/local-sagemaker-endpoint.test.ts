import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DeleteEndpointCommand,
  DescribeEndpointCommand,
  type DescribeEndpointCommandOutput,
  DescribeEndpointConfigCommand,
  DescribeModelCommand,
  ListEndpointsCommand,
  ListModelsCommand,
  SageMakerClient,
  UpdateEndpointCommand,
  UpdateEndpointWeightsAndCapacitiesCommand,
} from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../core/random.ts';
import { loadXgbModel } from '../../core/scorer/xgboost.ts';
import { httpTimeouts } from '../../lambdas/shared/adapters/aws/clients.ts';
import { S3ObjectStore } from '../../lambdas/shared/adapters/aws/s3-object-store.ts';
import { LocalSageMakerEndpoints } from '../../local/sagemaker/index.ts';
import { stumpModel } from '../support/fixtures.ts';
import { type LocalAws, startLocalAws } from '../support/local-aws.ts';

// Debian's python3-xgboost is only visible to the system interpreter. Without it the models are
// hand-built one-tree XGBoost JSON models, so the endpoint is still exercised end to end.
const PYTHON = '/usr/bin/python3';
const hasXgboost = spawnSync(PYTHON, ['-c', 'import xgboost'], { stdio: 'ignore' }).status === 0;

const NUM_FEATURES = 6;
const BUCKET = 'models';
/** Long enough that a loaded machine still sees Creating / Updating between two calls. */
const TRANSITION_MS = 1_000;
const IMAGE = '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1';
const ROLE = 'arn:aws:iam::000000000000:role/sagemaker-execution';

/** Two boosters trained by XGBoost on the same synthetic rows; each saved as JSON and in XGBoost's binary format. */
function trainModels(dir: string): { a: string; b: string; aBinary: Buffer } {
  const script = [
    'import sys, numpy as np, xgboost as xgb',
    'out = sys.argv[1]',
    'rng = np.random.default_rng(7)',
    `x = rng.normal(size=(500, ${NUM_FEATURES}))`,
    'x[rng.random(x.shape) < 0.1] = np.nan',
    'y = (np.nan_to_num(x[:, 0]) - 0.7 * np.nan_to_num(x[:, 1]) + rng.normal(scale=0.5, size=500) > 0).astype(int)',
    'd = xgb.DMatrix(x, label=y, missing=np.nan)',
    "for name, depth, rounds in (('a', 3, 20), ('b', 2, 8)):",
    "    b = xgb.train({'objective': 'binary:logistic', 'max_depth': depth, 'eta': 0.3, 'seed': 1}, d, num_boost_round=rounds)",
    "    b.save_model(f'{out}/{name}.json')",
    "    b.save_model(f'{out}/{name}-xgboost-model')",
  ].join('\n');
  const run = spawnSync(PYTHON, ['-c', script, dir], { encoding: 'utf8', timeout: 120_000 });
  if (run.status !== 0) throw new Error(`training the test models failed:\n${run.stderr}`);
  return {
    a: readFileSync(join(dir, 'a.json'), 'utf8'),
    b: readFileSync(join(dir, 'b.json'), 'utf8'),
    aBinary: readFileSync(join(dir, 'a-xgboost-model')),
  };
}

/** A gzipped tarball holding the given files, as SageMaker's model.tar.gz. */
async function pack(dir: string, name: string, files: Record<string, string | Buffer>): Promise<Buffer> {
  const root = join(dir, name);
  mkdirSync(root, { recursive: true });
  for (const [file, body] of Object.entries(files)) writeFileSync(join(root, file), body);
  const out = join(dir, `${name}.tar.gz`);
  await tar.c({ gzip: true, file: out, cwd: root, portable: true }, Object.keys(files));
  return readFileSync(out);
}

/** Rows with features on different scales and about one missing cell in six. */
function sampleRows(count: number, seed: number): number[][] {
  const rand = seededRandom(seed);
  return Array.from({ length: count }, () =>
    Array.from({ length: NUM_FEATURES }, (_, j) =>
      rand() < 0.15 ? Number.NaN : (rand() - 0.5) * 4 * (j + 1),
    ),
  );
}

function toCsv(rows: number[][]): string {
  return `${rows.map((r) => r.map((v) => (Number.isNaN(v) ? '' : String(v))).join(',')).join('\n')}\n`;
}

async function caught(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (err) {
    return err as Error & Record<string, unknown>;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

describe('LocalSageMakerEndpoints through the AWS SDK clients', () => {
  let dir: string;
  let aws: LocalAws;
  let twin: LocalSageMakerEndpoints;
  let sm: SageMakerClient;
  let runtime: SageMakerRuntimeClient;
  let modelA: string;
  let modelB: string;
  const rows = sampleRows(25, 20240611);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sm-endpoint-'));
    const trained = hasXgboost
      ? trainModels(dir)
      : {
          a: stumpModel(NUM_FEATURES, 0, 0.25, -0.8, 1.1),
          b: stumpModel(NUM_FEATURES, 1, -0.5, 0.4, -0.6),
          aBinary: Buffer.from([0x00, 0x01, 0x02, 0x03]),
        };
    modelA = trained.a;
    modelB = trained.b;
    aws = await startLocalAws();
    const store = await aws.createBucket(BUCKET);
    await store.put(
      'a/model.tar.gz',
      await pack(dir, 'a', { 'model.json': modelA, 'xgboost-model': trained.aBinary }),
    );
    // Only `xgboost-model`, saved as JSON: the endpoint falls back to it.
    await store.put('b/model.tar.gz', await pack(dir, 'b', { 'xgboost-model': modelB }));
    // Only the binary model: the TypeScript scorer cannot serve it.
    await store.put(
      'binary-only/model.tar.gz',
      await pack(dir, 'binary', { 'xgboost-model': trained.aBinary }),
    );
    await store.put('garbage/model.tar.gz', Buffer.from('this is not a tarball'));

    twin = new LocalSageMakerEndpoints({
      getStore: (bucket) => new S3ObjectStore(aws.s3, bucket),
      transitionMs: TRANSITION_MS,
      random: seededRandom(42),
    });
    const endpoint = await twin.start();
    const config = {
      region: 'us-east-1',
      endpoint,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      requestHandler: httpTimeouts,
    };
    sm = new SageMakerClient(config);
    runtime = new SageMakerRuntimeClient(config);
    for (const [name, key] of [
      ['model-a', 'a'],
      ['model-b', 'b'],
      ['binary-only', 'binary-only'],
      ['garbage', 'garbage'],
    ] as const) {
      await sm.send(
        new CreateModelCommand({
          ModelName: name,
          PrimaryContainer: { Image: IMAGE, ModelDataUrl: `s3://${BUCKET}/${key}/model.tar.gz` },
          ExecutionRoleArn: ROLE,
        }),
      );
    }
  });

  afterAll(async () => {
    sm?.destroy();
    runtime?.destroy();
    await twin?.stop();
    await aws?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function createConfig(name: string, variants: { name: string; model: string; weight: number }[]) {
    await sm.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: name,
        ProductionVariants: variants.map((v) => ({
          VariantName: v.name,
          ModelName: v.model,
          InitialInstanceCount: 1,
          InstanceType: 'ml.m5.large',
          InitialVariantWeight: v.weight,
        })),
      }),
    );
  }

  /** Polls DescribeEndpoint until the status is not `from` any more; returns every status seen. */
  async function waitWhile(
    name: string,
    from: string,
  ): Promise<{ seen: string[]; last: DescribeEndpointCommandOutput }> {
    const seen: string[] = [];
    const deadline = Date.now() + 10_000;
    for (;;) {
      const last = await sm.send(new DescribeEndpointCommand({ EndpointName: name }));
      if (seen.at(-1) !== last.EndpointStatus) seen.push(last.EndpointStatus!);
      if (last.EndpointStatus !== from) return { seen, last };
      if (Date.now() > deadline) throw new Error(`endpoint ${name} stayed ${from} for 10 s`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async function deploy(endpoint: string, variants: { name: string; model: string; weight: number }[]) {
    await createConfig(`${endpoint}-config`, variants);
    await sm.send(
      new CreateEndpointCommand({ EndpointName: endpoint, EndpointConfigName: `${endpoint}-config` }),
    );
    const { last } = await waitWhile(endpoint, 'Creating');
    expect(last.EndpointStatus).toBe('InService');
  }

  async function invoke(endpoint: string, body: string, targetVariant?: string) {
    const out = await runtime.send(
      new InvokeEndpointCommand({
        EndpointName: endpoint,
        ContentType: 'text/csv',
        Accept: 'application/json',
        Body: body,
        TargetVariant: targetVariant,
      }),
    );
    const parsed = JSON.parse(new TextDecoder().decode(out.Body)) as { scores: number[] };
    return { variant: out.InvokedProductionVariant, contentType: out.ContentType, scores: parsed.scores };
  }

  it('creates a model, a configuration and an endpoint that goes from Creating to InService', async () => {
    const model = await sm.send(new DescribeModelCommand({ ModelName: 'model-a' }));
    expect(model.ModelArn).toBe('arn:aws:sagemaker:us-east-1:000000000000:model/model-a');
    expect(model.PrimaryContainer?.ModelDataUrl).toBe(`s3://${BUCKET}/a/model.tar.gz`);
    expect(model.CreationTime).toBeInstanceOf(Date);

    await createConfig('First-Config', [{ name: 'AllTraffic', model: 'model-a', weight: 1 }]);
    const config = await sm.send(new DescribeEndpointConfigCommand({ EndpointConfigName: 'First-Config' }));
    expect(config.EndpointConfigArn).toBe(
      'arn:aws:sagemaker:us-east-1:000000000000:endpoint-config/first-config',
    );
    expect(
      config.ProductionVariants?.map((v) => [v.VariantName, v.ModelName, v.InitialVariantWeight]),
    ).toEqual([['AllTraffic', 'model-a', 1]]);

    const created = await sm.send(
      new CreateEndpointCommand({ EndpointName: 'First', EndpointConfigName: 'First-Config' }),
    );
    expect(created.EndpointArn).toBe('arn:aws:sagemaker:us-east-1:000000000000:endpoint/first');
    const creating = await caught(invoke('First', toCsv(rows)));
    expect(creating.name).toBe('ValidationError');
    expect(creating.message).toMatch(/not in service: it is Creating/);

    const { seen, last } = await waitWhile('First', 'Creating');
    expect(seen).toEqual(['Creating', 'InService']);
    expect(last.EndpointConfigName).toBe('First-Config');
    expect(last.CreationTime).toBeInstanceOf(Date);
    expect(last.LastModifiedTime!.getTime()).toBeGreaterThanOrEqual(last.CreationTime!.getTime());
    expect(Math.abs(last.CreationTime!.getTime() - Date.now())).toBeLessThan(60_000);
    expect(last.ProductionVariants).toEqual([
      {
        VariantName: 'AllTraffic',
        CurrentWeight: 1,
        DesiredWeight: 1,
        CurrentInstanceCount: 1,
        DesiredInstanceCount: 1,
      },
    ]);
    expect(twin.endpoints()).toContain('First');
    expect(twin.describe('First').EndpointStatus).toBe('InService');

    const listed = await sm.send(new ListEndpointsCommand({ NameContains: 'firs' }));
    expect(listed.Endpoints?.map((e) => [e.EndpointName, e.EndpointStatus])).toEqual([
      ['First', 'InService'],
    ]);
  });

  it('scores CSV rows exactly as the TypeScript scorer does, missing cells included', async () => {
    expect(rows.some((r) => r.some(Number.isNaN))).toBe(true);
    const expected = Array.from(loadXgbModel(modelA).predictBatch(rows));

    const out = await invoke('First', toCsv(rows));

    expect(out.variant).toBe('AllTraffic');
    expect(out.contentType).toBe('application/json');
    expect(out.scores).toEqual(expected);
    expect(new Set(out.scores).size).toBeGreaterThan(1);
    const stats = twin.variantStats('First')['AllTraffic']!;
    expect(stats.rows).toBeGreaterThanOrEqual(rows.length);
    expect(stats.latencyMs.length).toBe(stats.invocations);
  });

  it('loads xgboost-model when it is JSON and there is no model.json', async () => {
    await deploy('Fallback', [{ name: 'B', model: 'model-b', weight: 1 }]);
    const out = await invoke('Fallback', toCsv(rows));
    expect(out.scores).toEqual(Array.from(loadXgbModel(modelB).predictBatch(rows)));
    expect(out.scores).not.toEqual(Array.from(loadXgbModel(modelA).predictBatch(rows)));
  });

  it('splits traffic by variant weight and reports the variant that answered', async () => {
    await deploy('Split', [
      { name: 'Major', model: 'model-a', weight: 0.9 },
      { name: 'Minor', model: 'model-b', weight: 0.1 },
    ]);
    const scoresA = Array.from(loadXgbModel(modelA).predictBatch(rows.slice(0, 2)));
    const scoresB = Array.from(loadXgbModel(modelB).predictBatch(rows.slice(0, 2)));
    const counts: Record<string, number> = {};
    for (let i = 0; i < 400; i++) {
      const out = await invoke('Split', toCsv(rows.slice(0, 2)));
      counts[out.variant!] = (counts[out.variant!] ?? 0) + 1;
      // The header names the variant whose model produced the scores.
      expect(out.scores).toEqual(out.variant === 'Major' ? scoresA : scoresB);
    }
    expect(Object.keys(counts).sort()).toEqual(['Major', 'Minor']);
    expect(counts['Major']).toBeGreaterThan(330);
    expect(counts['Major']).toBeLessThan(390);
    const stats = twin.variantStats('Split');
    expect(stats['Major']!.invocations).toBe(counts['Major']);
    expect(stats['Minor']!.invocations).toBe(counts['Minor']);
    expect(stats['Minor']!.rows).toBe(2 * counts['Minor']!);
  });

  it('routes to the TargetVariant and refuses a variant the endpoint does not have', async () => {
    for (let i = 0; i < 10; i++) expect((await invoke('Split', toCsv(rows), 'Minor')).variant).toBe('Minor');

    const err = await caught(invoke('Split', toCsv(rows), 'Nope'));
    expect(err.name).toBe('ValidationError');
    expect((err.$metadata as { httpStatusCode: number }).httpStatusCode).toBe(400);
    expect(err.message).toContain('"Nope"');
    expect(err.message).toContain('Major, Minor');
  });

  it('applies new weights once the weight update is InService', async () => {
    await deploy('Weights', [
      { name: 'A', model: 'model-a', weight: 1 },
      { name: 'B', model: 'model-b', weight: 1 },
    ]);
    await sm.send(
      new UpdateEndpointWeightsAndCapacitiesCommand({
        EndpointName: 'Weights',
        DesiredWeightsAndCapacities: [{ VariantName: 'A', DesiredWeight: 0 }],
      }),
    );
    const updating = await sm.send(new DescribeEndpointCommand({ EndpointName: 'Weights' }));
    expect(updating.EndpointStatus).toBe('Updating');
    expect(updating.ProductionVariants?.find((v) => v.VariantName === 'A')).toMatchObject({
      CurrentWeight: 1,
      DesiredWeight: 0,
    });
    const busy = await caught(
      sm.send(
        new UpdateEndpointWeightsAndCapacitiesCommand({
          EndpointName: 'Weights',
          DesiredWeightsAndCapacities: [{ VariantName: 'B', DesiredWeight: 2 }],
        }),
      ),
    );
    expect(busy.name).toBe('ValidationException');
    expect(busy.message).toContain('in-progress');

    const { last } = await waitWhile('Weights', 'Updating');
    expect(last.EndpointStatus).toBe('InService');
    expect(last.ProductionVariants?.map((v) => [v.VariantName, v.CurrentWeight, v.DesiredWeight])).toEqual([
      ['A', 0, 0],
      ['B', 1, 1],
    ]);
    for (let i = 0; i < 20; i++) expect((await invoke('Weights', toCsv(rows))).variant).toBe('B');

    const unknown = await caught(
      sm.send(
        new UpdateEndpointWeightsAndCapacitiesCommand({
          EndpointName: 'Weights',
          DesiredWeightsAndCapacities: [{ VariantName: 'C', DesiredWeight: 1 }],
        }),
      ),
    );
    expect(unknown.name).toBe('ValidationException');
    expect(unknown.message).toContain('"C"');

    await sm.send(
      new UpdateEndpointWeightsAndCapacitiesCommand({
        EndpointName: 'Weights',
        DesiredWeightsAndCapacities: [{ VariantName: 'B', DesiredWeight: 0 }],
      }),
    );
    await waitWhile('Weights', 'Updating');
    const allZero = await caught(invoke('Weights', toCsv(rows)));
    expect(allZero.name).toBe('ValidationError');
    expect(allZero.message).toMatch(/no production variant with a weight above zero/);
    expect((await invoke('Weights', toCsv(rows), 'A')).variant).toBe('A');
  });

  it('swaps variants with UpdateEndpoint while the old ones serve until the new ones are InService', async () => {
    await deploy('Swap', [{ name: 'Blue', model: 'model-a', weight: 1 }]);
    await createConfig('Swap-config-2', [{ name: 'Green', model: 'model-b', weight: 1 }]);

    await sm.send(new UpdateEndpointCommand({ EndpointName: 'Swap', EndpointConfigName: 'Swap-config-2' }));

    const updating = await sm.send(new DescribeEndpointCommand({ EndpointName: 'Swap' }));
    expect(updating.EndpointStatus).toBe('Updating');
    expect(updating.EndpointConfigName).toBe('Swap-config');
    expect(updating.PendingDeploymentSummary?.EndpointConfigName).toBe('Swap-config-2');
    const during = await invoke('Swap', toCsv(rows));
    expect(during.variant).toBe('Blue');
    expect(during.scores).toEqual(Array.from(loadXgbModel(modelA).predictBatch(rows)));
    const again = await caught(
      sm.send(new UpdateEndpointCommand({ EndpointName: 'Swap', EndpointConfigName: 'Swap-config' })),
    );
    expect(again.name).toBe('ValidationException');

    const { seen, last } = await waitWhile('Swap', 'Updating');
    expect(seen).toEqual(['Updating', 'InService']);
    expect(last.EndpointConfigName).toBe('Swap-config-2');
    expect(last.ProductionVariants?.map((v) => v.VariantName)).toEqual(['Green']);
    expect(last.FailureReason).toBeUndefined();
    const after = await invoke('Swap', toCsv(rows));
    expect(after.variant).toBe('Green');
    expect(after.scores).toEqual(Array.from(loadXgbModel(modelB).predictBatch(rows)));
    expect(Object.keys(twin.variantStats('Swap')).sort()).toEqual(['Blue', 'Green']);
  });

  it('rolls back an update whose model cannot be loaded, and keeps serving the old configuration', async () => {
    await deploy('Rollback', [{ name: 'Stable', model: 'model-a', weight: 1 }]);
    await createConfig('Rollback-broken', [{ name: 'Broken', model: 'binary-only', weight: 1 }]);

    await sm.send(
      new UpdateEndpointCommand({ EndpointName: 'Rollback', EndpointConfigName: 'Rollback-broken' }),
    );
    const { seen, last } = await waitWhile('Rollback', 'Updating');

    expect(seen).toEqual(['Updating', 'InService']);
    expect(last.EndpointConfigName).toBe('Rollback-config');
    expect(last.FailureReason).toContain('production variant Broken');
    expect(last.FailureReason).toContain('holds no XGBoost JSON model');
    expect(last.FailureReason).toContain('xgboost-model');
    expect(last.ProductionVariants?.map((v) => v.VariantName)).toEqual(['Stable']);
    const out = await invoke('Rollback', toCsv(rows));
    expect(out.variant).toBe('Stable');
    expect(out.scores).toEqual(Array.from(loadXgbModel(modelA).predictBatch(rows)));
  });

  it('fails an endpoint whose model data is not a model tarball', async () => {
    await createConfig('Doomed-config', [{ name: 'AllTraffic', model: 'garbage', weight: 1 }]);
    await sm.send(new CreateEndpointCommand({ EndpointName: 'Doomed', EndpointConfigName: 'Doomed-config' }));

    const { seen, last } = await waitWhile('Doomed', 'Creating');

    expect(seen).toEqual(['Creating', 'Failed']);
    expect(last.FailureReason).toContain(`s3://${BUCKET}/garbage/model.tar.gz`);
    const invoked = await caught(invoke('Doomed', toCsv(rows)));
    expect(invoked.name).toBe('ValidationError');
    expect(invoked.message).toContain('Failed');
    const update = await caught(
      sm.send(new UpdateEndpointCommand({ EndpointName: 'Doomed', EndpointConfigName: 'First-Config' })),
    );
    expect(update.name).toBe('ValidationException');
    expect(update.message).toContain('failed endpoint');
  });

  it('answers a missing endpoint as SageMaker does, on both planes', async () => {
    const described = await caught(sm.send(new DescribeEndpointCommand({ EndpointName: 'missing' })));
    expect(described.name).toBe('ValidationException');
    expect(described.message).toBe('Could not find endpoint "missing".');
    expect((described.$metadata as { httpStatusCode: number }).httpStatusCode).toBe(400);
    expect((described.$metadata as { requestId?: string }).requestId).toMatch(/^[0-9a-f-]{36}$/);

    const invoked = await caught(invoke('missing', toCsv(rows)));
    expect(invoked.name).toBe('ValidationError');
    expect(invoked.message).toBe('Endpoint missing of account 000000000000 not found.');
  });

  it('refuses a content type other than text/csv', async () => {
    const err = await caught(
      runtime.send(
        new InvokeEndpointCommand({
          EndpointName: 'First',
          ContentType: 'application/json',
          Body: '[[1,2]]',
        }),
      ),
    );
    expect(err.name).toBe('ValidationError');
    expect(err.message).toContain('"application/json"');
    expect(err.message).toContain('text/csv');
  });

  it('answers rows of the wrong width or with a non-number as a ModelError naming the row', async () => {
    const before = twin.variantStats('First')['AllTraffic']!;
    const good = toCsv(rows.slice(0, 1)).trim();
    const narrow = await caught(invoke('First', `${good}\n1,2,3,4,5\n`));
    expect(narrow.name).toBe('ModelError');
    expect((narrow.$metadata as { httpStatusCode: number }).httpStatusCode).toBe(424);
    expect(narrow.OriginalStatusCode).toBe(400);
    expect(narrow.message).toContain(`Row 2 has 5 values but the model expects ${NUM_FEATURES} features`);

    const word = await caught(invoke('First', `1,2,abc,4,5,6\n`));
    expect(word.name).toBe('ModelError');
    expect(word.OriginalMessage).toMatch(/^Row 1, column 3: "abc" is not a number/);

    const after = twin.variantStats('First')['AllTraffic']!;
    expect(after.errors - before.errors).toBe(2);
    expect(after.rows).toBe(before.rows);
  });

  it('refuses duplicate names, configurations of missing models and repeated variant names', async () => {
    const model = await caught(
      sm.send(
        new CreateModelCommand({
          ModelName: 'model-a',
          PrimaryContainer: { Image: IMAGE, ModelDataUrl: `s3://${BUCKET}/a/model.tar.gz` },
          ExecutionRoleArn: ROLE,
        }),
      ),
    );
    expect(model.name).toBe('ValidationException');
    expect(model.message).toContain('Cannot create already existing model');

    const config = await caught(createConfig('First-Config', [{ name: 'X', model: 'model-a', weight: 1 }]));
    expect(config.name).toBe('ValidationException');
    expect(config.message).toContain('already existing endpoint configuration');

    const endpoint = await caught(
      sm.send(new CreateEndpointCommand({ EndpointName: 'First', EndpointConfigName: 'First-Config' })),
    );
    expect(endpoint.name).toBe('ValidationException');
    expect(endpoint.message).toContain('Cannot create already existing endpoint');

    const missingModel = await caught(
      createConfig('Orphan', [{ name: 'X', model: 'no-such-model', weight: 1 }]),
    );
    expect(missingModel.message).toContain('Could not find model');
    expect(missingModel.message).toContain('no-such-model');

    const twice = await caught(
      createConfig('Twice', [
        { name: 'X', model: 'model-a', weight: 1 },
        { name: 'X', model: 'model-b', weight: 1 },
      ]),
    );
    expect(twice.message).toContain('"X" twice');

    const negative = await caught(createConfig('Negative', [{ name: 'X', model: 'model-a', weight: -1 }]));
    expect(negative.name).toBe('ValidationException');
    expect(negative.message).toContain('initialVariantWeight');

    const badName = await caught(
      sm.send(new CreateEndpointCommand({ EndpointName: 'bad_name', EndpointConfigName: 'First-Config' })),
    );
    expect(badName.message).toContain("Value 'bad_name' at 'endpointName'");

    const unknownOperation = await caught(sm.send(new ListModelsCommand({})));
    expect(unknownOperation.name).toBe('UnknownOperationException');
    expect(unknownOperation.message).toContain('SageMaker.ListModels');
  });

  it('counts an injected fault as a model error on that variant only', async () => {
    twin.injectFault('Split', 'Minor', 'error');
    const before = twin.variantStats('Split');

    const err = await caught(invoke('Split', toCsv(rows), 'Minor'));
    const healthy = await invoke('Split', toCsv(rows), 'Major');

    expect(err.name).toBe('ModelError');
    expect(err.OriginalStatusCode).toBe(500);
    expect(healthy.variant).toBe('Major');
    const after = twin.variantStats('Split');
    expect(after['Minor']!.errors - before['Minor']!.errors).toBe(1);
    expect(after['Minor']!.invocations - before['Minor']!.invocations).toBe(1);
    expect(after['Major']!.errors).toBe(before['Major']!.errors);

    twin.injectFault('Split', 'Minor', null);
    expect((await invoke('Split', toCsv(rows), 'Minor')).variant).toBe('Minor');
    expect(() => twin.injectFault('Split', 'Nope', 'error')).toThrow(/Major, Minor/);
  });

  it('deletes an endpoint', async () => {
    await sm.send(new DeleteEndpointCommand({ EndpointName: 'Fallback' }));

    expect(twin.endpoints()).not.toContain('Fallback');
    const err = await caught(sm.send(new DescribeEndpointCommand({ EndpointName: 'Fallback' })));
    expect(err.name).toBe('ValidationException');
    expect((await caught(invoke('Fallback', toCsv(rows)))).name).toBe('ValidationError');
  });
});
