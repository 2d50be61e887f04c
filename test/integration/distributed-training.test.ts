/**
 * Training across several instances: the local SageMaker runs one train.py process per host on the
 * demo data's real prepare output (s3rver), the hosts train one model with XGBoost's collective, and
 * the model is judged by the TypeScript scorer on the validation split.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainingJobPrefix } from '../../contracts/names.ts';
import { auc } from '../../core/evaluation/classification.ts';
import { systemClock } from '../../core/ports.ts';
import { loadXgbModel } from '../../core/scorer/xgboost.ts';
import type { PrepareOutput } from '../../core/training-run.ts';
import { prepareFeatures } from '../../lambdas/prepare-features/core.ts';
import type { S3ObjectStore } from '../../lambdas/shared/adapters/aws/s3-object-store.ts';
import {
  type CreateTrainingJobRequest,
  PYTHON,
  runTrainingJob,
  TrainingJobFailed,
} from '../../local/sagemaker/training-job.ts';
import { credit } from '../support/fixtures.ts';
import { ingestCsv, prepareEnv } from '../support/ingest.ts';
import { type LocalAws, startLocalAws } from '../support/local-aws.ts';

const hasXgboost = spawnSync(PYTHON, ['-c', 'import xgboost'], { stdio: 'ignore' }).status === 0;
const TRAIN_SCRIPT = resolve('pipelines/training/train.py');
const IMAGE = '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1';

interface Job {
  name: string;
  train: string;
  instances: number;
  distribution?: 'FullyReplicated' | 'ShardedByS3Key';
}

interface Model {
  files: Map<string, Buffer>;
  metrics: {
    rows: { train: number; validation: number };
    train: { auc: number; logloss: number };
    validation: { auc: number };
    hosts?: number;
  };
}

describe.skipIf(!hasXgboost)(`training on several instances (${PYTHON}'s XGBoost, s3rver)`, () => {
  let aws: LocalAws;
  let lake: S3ObjectStore;
  let prepared: PrepareOutput;
  let work: string;
  let trainLines: string[];
  let validation: { labels: number[]; rows: number[][] };
  const logs: string[] = [];
  let twoHosts: Model | undefined;

  const getStore = (bucket: string) => {
    if (bucket !== lake.bucket) throw new Error(`no bucket ${bucket} in this test`);
    return lake;
  };

  function request(job: Job): CreateTrainingJobRequest {
    return {
      TrainingJobName: job.name,
      AlgorithmSpecification: { TrainingImage: IMAGE, TrainingInputMode: 'File' },
      RoleArn: 'arn:aws:iam::000000000000:role/training',
      HyperParameters: prepared.hyperParameters,
      InputDataConfig: [
        {
          ChannelName: 'train',
          DataSource: {
            S3DataSource: {
              S3Uri: `s3://lake/${job.train}`,
              S3DataType: 'S3Prefix',
              S3DataDistributionType: job.distribution ?? 'FullyReplicated',
            },
          },
        },
        {
          ChannelName: 'validation',
          DataSource: {
            S3DataSource: {
              S3Uri: prepared.channels.validation,
              S3DataType: 'S3Prefix',
              S3DataDistributionType: 'FullyReplicated',
            },
          },
        },
      ],
      OutputDataConfig: { S3OutputPath: 's3://lake/jobs/' },
      ResourceConfig: { InstanceType: 'ml.m5.xlarge', InstanceCount: job.instances, VolumeSizeInGB: 5 },
      StoppingCondition: { MaxRuntimeInSeconds: 300 },
    };
  }

  async function trainJob(job: Job): Promise<Model> {
    const description = await runTrainingJob(request(job), getStore, (line) => logs.push(line));
    expect(description.ResourceConfig.InstanceCount).toBe(job.instances);
    const dir = join(work, job.name);
    mkdirSync(dir, { recursive: true });
    const tarball = join(dir, 'model.tar.gz');
    writeFileSync(tarball, await lake.getBytes(`jobs/${job.name}/output/model.tar.gz`));
    await tar.x({ file: tarball, cwd: dir });
    const files = new Map(
      ['xgboost-model', 'model.json', 'metrics.json'].map((f) => [f, readFileSync(join(dir, f))]),
    );
    return { files, metrics: JSON.parse(files.get('metrics.json')!.toString('utf8')) };
  }

  /** The validation AUC of a model, scored by the TypeScript scorer, not by train.py. */
  function validationAuc(model: Model): number {
    const xgb = loadXgbModel(model.files.get('model.json')!.toString('utf8'));
    return auc(xgb.predictBatch(validation.rows), validation.labels);
  }

  const parse = (lines: string[]) => ({
    labels: lines.map((l) => Number(l.split(',')[0])),
    rows: lines.map((l) =>
      l
        .split(',')
        .slice(1)
        .map((v) => (v === '' ? Number.NaN : Number(v))),
    ),
  });

  beforeAll(async () => {
    aws = await startLocalAws();
    lake = await aws.createBucket('lake');
    work = mkdtempSync(join(tmpdir(), 'distributed-training-'));
    // The code tarball `cdk deploy` uploads: train.py at its root.
    const tarball = join(work, 'sourcedir.tar.gz');
    await tar.c({ gzip: true, file: tarball, cwd: resolve('pipelines/training'), portable: true }, [
      'train.py',
    ]);
    const env = {
      ...prepareEnv,
      trainingSourceUri: 's3://lake/code/sourcedir.tar.gz',
      trainingJobPrefix: trainingJobPrefix('test'),
    };
    await lake.put('code/sourcedir.tar.gz', readFileSync(tarball), 'application/gzip');
    await ingestCsv(lake, credit.name, readFileSync('data/credit_data.csv', 'utf8'), credit);
    prepared = await prepareFeatures({ model: credit.name }, () => undefined, {
      lake,
      clock: systemClock,
      env,
    });
    const prefix = (uri: string) => uri.replace(/^s3:\/\/lake\//, '');
    const trainKeys = await lake.list(prefix(prepared.channels.train));
    const validationKeys = await lake.list(prefix(prepared.channels.validation));
    // Today's prepare writes each split as one part file.
    expect(trainKeys).toHaveLength(1);
    expect(validationKeys).toHaveLength(1);
    trainLines = (await lake.getText(trainKeys[0]!)).trimEnd().split('\n');
    validation = parse((await lake.getText(validationKeys[0]!)).trimEnd().split('\n'));
    // The same train split as two part files, for two hosts to share by key.
    const half = Math.ceil(trainLines.length / 2);
    await lake.put('parts/train/part-00000.csv', `${trainLines.slice(0, half).join('\n')}\n`, 'text/csv');
    await lake.put('parts/train/part-00001.csv', `${trainLines.slice(half).join('\n')}\n`, 'text/csv');
  }, 180_000);

  afterAll(async () => {
    await aws?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('one instance writes the same model bytes as train.py run without any host settings', async () => {
    const one = await trainJob({
      name: 'one-instance',
      train: prefix(prepared.channels.train),
      instances: 1,
    });
    expect(one.metrics.hosts).toBeUndefined();

    // train.py as it ran before it knew about hosts: no SM_HOSTS, no resourceconfig.json.
    const dir = join(work, 'direct');
    mkdirSync(join(dir, 'train'), { recursive: true });
    mkdirSync(join(dir, 'validation'), { recursive: true });
    writeFileSync(join(dir, 'train', 'part-00000.csv'), `${trainLines.join('\n')}\n`);
    writeFileSync(
      join(dir, 'validation', 'part-00000.csv'),
      await lake.getText((await lake.list(prefix(prepared.channels.validation)))[0]!),
    );
    const run = spawnSync(PYTHON, [TRAIN_SCRIPT], {
      env: {
        PATH: process.env.PATH,
        SM_CHANNEL_TRAIN: join(dir, 'train'),
        SM_CHANNEL_VALIDATION: join(dir, 'validation'),
        SM_MODEL_DIR: join(dir, 'model'),
        SM_INPUT_CONFIG_DIR: join(dir, 'no-config'),
        SM_NUM_GPUS: '0',
        SM_HPS: JSON.stringify(
          Object.fromEntries(
            Object.entries(prepared.hyperParameters).filter(([k]) => !k.startsWith('sagemaker_')),
          ),
        ),
      },
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(run.status, run.stderr).toBe(0);
    expect(readFileSync(join(dir, 'model', 'xgboost-model')).equals(one.files.get('xgboost-model')!)).toBe(
      true,
    );
    expect(readFileSync(join(dir, 'model', 'model.json')).equals(one.files.get('model.json')!)).toBe(true);
  });

  it("two instances, each on its shard of the train split, give a model whose validation AUC is within 0.005 of one instance's", async () => {
    const one = await trainJob({ name: 'parts-one', train: 'parts/train/', instances: 1 });
    logs.length = 0;
    const two = await trainJob({
      name: 'parts-two',
      train: 'parts/train/',
      instances: 2,
      distribution: 'ShardedByS3Key',
    });
    // Each host trained on one part file, and together on every train row.
    const half = Math.ceil(trainLines.length / 2);
    expect(logs).toContain(
      `[algo-2] [train] host algo-2 trained on ${trainLines.length - half} rows of ${trainLines.length}; the first host writes the model`,
    );
    expect(logs.some((l) => l.startsWith(`[algo-1] [train] rows=${half} `))).toBe(true);
    expect(two.metrics.hosts).toBe(2);
    expect(two.metrics.rows).toEqual(one.metrics.rows);
    // A different model (the trees were grown from two shards' sketches), judged on the same rows.
    expect(two.files.get('model.json')!.equals(one.files.get('model.json')!)).toBe(false);
    const aucOne = validationAuc(one);
    const aucTwo = validationAuc(two);
    console.log(`validation AUC: 1 instance ${aucOne.toFixed(5)}, 2 instances ${aucTwo.toFixed(5)}`);
    expect(aucOne).toBeGreaterThan(0.75);
    expect(Math.abs(aucTwo - aucOne)).toBeLessThan(0.005);
    // train.py's own figures for the first host's model agree with the scorer's: validation AUC on
    // the whole (replicated) split, and train AUC summed over both hosts' shards.
    expect(two.metrics.validation.auc).toBeCloseTo(aucTwo, 6);
    const train = parse(trainLines);
    const trainAuc = auc(
      loadXgbModel(two.files.get('model.json')!.toString('utf8')).predictBatch(train.rows),
      train.labels,
    );
    expect(Math.abs(two.metrics.train.auc - trainAuc)).toBeLessThan(1e-4);
    twoHosts = two;
  });

  it("trains the same two-host model from SageMaker's resourceconfig.json alone, byte for byte", async () => {
    expect(twoHosts, 'the two-instance test runs first').toBeDefined();
    const dir = join(work, 'config-only');
    const hosts = ['algo-1', 'algo-2'];
    const port = await new Promise<number>((resolvePort) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as AddressInfo;
        server.close(() => resolvePort(port));
      });
    });
    const validationText = await lake.getText((await lake.list(prefix(prepared.channels.validation)))[0]!);
    const half = Math.ceil(trainLines.length / 2);
    const shards = [trainLines.slice(0, half), trainLines.slice(half)];
    const runs = hosts.map((host, i) => {
      const opt = join(dir, host);
      for (const d of ['train', 'validation', 'config']) mkdirSync(join(opt, d), { recursive: true });
      writeFileSync(join(opt, 'train', `part-0000${i}.csv`), `${shards[i]!.join('\n')}\n`);
      writeFileSync(join(opt, 'validation', 'part-00000.csv'), validationText);
      writeFileSync(
        join(opt, 'config', 'resourceconfig.json'),
        JSON.stringify({ current_host: host, hosts }),
      );
      return runPython([TRAIN_SCRIPT], {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        SM_CHANNEL_TRAIN: join(opt, 'train'),
        SM_CHANNEL_VALIDATION: join(opt, 'validation'),
        SM_MODEL_DIR: join(opt, 'model'),
        SM_INPUT_CONFIG_DIR: join(opt, 'config'),
        SM_NUM_GPUS: '0',
        SM_HPS: JSON.stringify(
          Object.fromEntries(
            Object.entries(prepared.hyperParameters).filter(([k]) => !k.startsWith('sagemaker_')),
          ),
        ),
        MLOPS_TRACKER_HOST: '127.0.0.1',
        MLOPS_TRACKER_PORT: String(port),
        // As the twin sets it: spinning OpenMP threads of two processes on two cores are very slow.
        OMP_WAIT_POLICY: 'PASSIVE',
      });
    });
    const results = await Promise.all(runs);
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    expect(
      readFileSync(join(dir, 'algo-1', 'model', 'xgboost-model')).equals(
        twoHosts!.files.get('xgboost-model')!,
      ),
    ).toBe(true);
    // Only the first host writes the model.
    expect(existsSync(join(dir, 'algo-2', 'model'))).toBe(false);
  });

  it('names the problem with the host settings', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ SM_HOSTS: 'algo-1' }, /SM_HOSTS is not valid JSON/],
      [{ SM_HOSTS: '[]', SM_CURRENT_HOST: 'algo-1' }, /SM_HOSTS must list the job's host names/],
      [{ SM_HOSTS: '["algo-1","algo-1"]', SM_CURRENT_HOST: 'algo-1' }, /SM_HOSTS names a host twice/],
      [{ SM_HOSTS: '["algo-1","algo-2"]' }, /SM_CURRENT_HOST is not set/],
      [
        { SM_HOSTS: '["algo-1","algo-2"]', SM_CURRENT_HOST: 'algo-3' },
        /the current host 'algo-3' is not one of the hosts/,
      ],
      [
        { SM_HOSTS: '["algo-1","algo-2"]', SM_CURRENT_HOST: 'algo-2', MLOPS_TRACKER_PORT: 'x' },
        /MLOPS_TRACKER_PORT must be a port number, got 'x'/,
      ],
    ];
    const dir = join(work, 'settings');
    mkdirSync(join(dir, 'train'), { recursive: true });
    writeFileSync(join(dir, 'train', 'part-00000.csv'), `${trainLines.slice(0, 50).join('\n')}\n`);
    for (const [env, message] of cases) {
      const run = spawnSync(PYTHON, [TRAIN_SCRIPT], {
        env: {
          PATH: process.env.PATH,
          SM_CHANNEL_TRAIN: join(dir, 'train'),
          SM_CHANNEL_VALIDATION: join(dir, 'train'),
          SM_MODEL_DIR: join(dir, 'model'),
          ...env,
        },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(run.status, JSON.stringify(env)).toBe(2);
      expect(run.stderr.trim()).toMatch(new RegExp(`^\\[train\\] error: .*${message.source}`));
    }
  });

  it('fails the job naming the host and its error when a host has no shard, without waiting on it', async () => {
    const started = Date.now();
    const error = await trainJob({
      name: 'no-shard',
      train: prefix(prepared.channels.train),
      instances: 2,
      distribution: 'ShardedByS3Key',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TrainingJobFailed);
    expect((error as Error).message).toMatch(
      /^AlgorithmError: training job no-shard failed on host algo-2: host algo-2 has no \*\.csv files in its shard of the train channel .* at least 2 part files$/,
    );
    expect(Date.now() - started).toBeLessThan(60_000);
  });

  it('fails the job naming the host whose shard holds a bad row', async () => {
    await lake.put('bad/train/part-00000.csv', `${trainLines.slice(0, 500).join('\n')}\n`, 'text/csv');
    const bad = trainLines[500]!.split(',');
    bad[2] = 'oops';
    await lake.put(
      'bad/train/part-00001.csv',
      `${[bad.join(','), ...trainLines.slice(501, 1000)].join('\n')}\n`,
      'text/csv',
    );
    const error = await trainJob({
      name: 'bad-shard',
      train: 'bad/train/',
      instances: 2,
      distribution: 'ShardedByS3Key',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TrainingJobFailed);
    expect((error as Error).message).toMatch(
      /failed on host algo-2: .*part-00001\.csv:1: column 3 is not a number: 'oops'$/,
    );
  });

  it('refuses an instance count that is not a positive integer', async () => {
    await expect(
      runTrainingJob(request({ name: 'zero', train: 'parts/train/', instances: 0 }), getStore),
    ).rejects.toThrow('ResourceConfig.InstanceCount must be a positive integer, got 0');
  });
});

function runPython(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(PYTHON, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolveRun({ code, stderr });
    });
  });
}

function prefix(uri: string): string {
  return uri.replace(/^s3:\/\/lake\//, '');
}
