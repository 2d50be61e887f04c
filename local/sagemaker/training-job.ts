/**
 * A local stand-in for SageMaker's CreateTrainingJob (.sync): it recreates the script-mode
 * container's file layout and environment around the same training code tarball that `cdk deploy`
 * uploads, runs it with Debian's XGBoost 1.7 (the same minor version as the SageMaker XGBoost 1.7-1
 * image), and packs the model directory into `<output>/<job>/output/model.tar.gz` as SageMaker does.
 * It runs on the CPU: the instance type is recorded, and SM_NUM_GPUS is 0.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { parseS3Uri } from '../../core/lake.ts';
import type { ObjectStore } from '../../core/ports.ts';

export const PYTHON = process.env.MLOPS_PYTHON ?? '/usr/bin/python3';

export interface CreateTrainingJobRequest {
  TrainingJobName: string;
  AlgorithmSpecification: { TrainingImage: string; TrainingInputMode: string };
  RoleArn: string;
  HyperParameters: Record<string, string>;
  InputDataConfig: {
    ChannelName: string;
    DataSource: { S3DataSource: { S3Uri: string; S3DataType: string } };
  }[];
  OutputDataConfig: { S3OutputPath: string };
  ResourceConfig: { InstanceType: string; InstanceCount: number; VolumeSizeInGB: number };
  StoppingCondition: { MaxRuntimeInSeconds: number };
}

export interface TrainingJobDescription {
  TrainingJobName: string;
  TrainingJobStatus: 'Completed';
  ModelArtifacts: { S3ModelArtifacts: string };
  ResourceConfig: CreateTrainingJobRequest['ResourceConfig'];
  HyperParameters: Record<string, string>;
  TrainingTimeInSeconds: number;
}

/** The error a failed `.sync` training task raises in Step Functions. */
export class TrainingJobFailed extends Error {
  override name = 'States.TaskFailed';
}

const IMAGE_PATTERN = /\/sagemaker-xgboost:1\.7-1(-[a-z0-9]+)?$/;

function stores(getStore: (bucket: string) => ObjectStore, uri: string) {
  const { bucket, key } = parseS3Uri(uri);
  return { store: getStore(bucket), key };
}

export async function runTrainingJob(
  req: CreateTrainingJobRequest,
  getStore: (bucket: string) => ObjectStore,
  log: (line: string) => void = () => {},
): Promise<TrainingJobDescription> {
  if (!IMAGE_PATTERN.test(req.AlgorithmSpecification.TrainingImage)) {
    throw new TrainingJobFailed(
      `The local twin emulates only the SageMaker XGBoost 1.7-1 image; got ${req.AlgorithmSpecification.TrainingImage}`,
    );
  }
  const hps = req.HyperParameters ?? {};
  const program = JSON.parse(hps.sagemaker_program ?? '""') as string;
  const submitDir = JSON.parse(hps.sagemaker_submit_directory ?? '""') as string;
  if (!program || !submitDir) {
    throw new TrainingJobFailed(
      'Script mode needs the sagemaker_program and sagemaker_submit_directory hyperparameters',
    );
  }
  const started = Date.now();
  const root = await mkdtemp(join(tmpdir(), `sm-${req.TrainingJobName}-`));
  try {
    const code = join(root, 'code');
    const modelDir = join(root, 'model');
    const outputData = join(root, 'output', 'data');
    await Promise.all([
      mkdir(code, { recursive: true }),
      mkdir(modelDir, { recursive: true }),
      mkdir(outputData, { recursive: true }),
    ]);
    const src = stores(getStore, submitDir);
    const tarball = join(root, 'sourcedir.tar.gz');
    await writeFile(tarball, await src.store.getBytes(src.key));
    await tar.x({ file: tarball, cwd: code });

    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? root,
      SM_MODEL_DIR: modelDir,
      SM_OUTPUT_DATA_DIR: outputData,
      SM_NUM_GPUS: '0',
      SM_CURRENT_INSTANCE_TYPE: req.ResourceConfig.InstanceType,
      SM_CHANNELS: JSON.stringify(req.InputDataConfig.map((c) => c.ChannelName)),
      SM_HPS: JSON.stringify(
        Object.fromEntries(Object.entries(hps).filter(([k]) => !k.startsWith('sagemaker_'))),
      ),
      PYTHONDONTWRITEBYTECODE: '1',
      // Idle OpenMP threads sleep instead of spinning: on a busy two-core machine spinning made
      // training several times slower. The model bytes do not depend on it.
      OMP_WAIT_POLICY: 'PASSIVE',
    };
    for (const channel of req.InputDataConfig) {
      const dir = join(root, 'input', 'data', channel.ChannelName);
      await mkdir(dir, { recursive: true });
      const { store, key } = stores(getStore, channel.DataSource.S3DataSource.S3Uri);
      const keys = await store.list(key);
      if (keys.length === 0)
        throw new TrainingJobFailed(
          `Channel ${channel.ChannelName}: no objects under ${channel.DataSource.S3DataSource.S3Uri}`,
        );
      for (const k of keys)
        await writeFile(
          join(dir, k.slice(key.length).replaceAll('/', '_') || 'data'),
          await store.getBytes(k),
        );
      env[`SM_CHANNEL_${channel.ChannelName.toUpperCase()}`] = dir;
    }
    const args = [join(code, program)];
    for (const [k, v] of Object.entries(hps)) if (!k.startsWith('sagemaker_')) args.push(`--${k}`, v);
    log(
      `training job ${req.TrainingJobName}: ${PYTHON} ${program} on ${req.ResourceConfig.InstanceType} (emulated on the local CPU)`,
    );
    const { code: exit, stderr } = await run(
      PYTHON,
      args,
      env,
      req.StoppingCondition.MaxRuntimeInSeconds * 1000,
      log,
    );
    if (exit !== 0) {
      const reason = stderr.trim().split('\n').slice(-3).join(' | ') || `exit code ${exit}`;
      throw new TrainingJobFailed(`AlgorithmError: training job ${req.TrainingJobName} failed: ${reason}`);
    }
    const files = (await readdir(modelDir)).sort();
    const packed = join(root, 'model.tar.gz');
    await tar.c({ gzip: true, file: packed, cwd: modelDir, portable: true }, files);
    const out = stores(
      getStore,
      `${req.OutputDataConfig.S3OutputPath.replace(/\/?$/, '/')}${req.TrainingJobName}/output/model.tar.gz`,
    );
    await out.store.put(out.key, await readFile(packed), 'application/gzip');
    return {
      TrainingJobName: req.TrainingJobName,
      TrainingJobStatus: 'Completed',
      ModelArtifacts: { S3ModelArtifacts: `s3://${out.store.bucket}/${out.key}` },
      ResourceConfig: req.ResourceConfig,
      HyperParameters: hps,
      TrainingTimeInSeconds: Math.round((Date.now() - started) / 1000),
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

function run(
  cmd: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
  log: (line: string) => void,
): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      for (const line of d.split('\n')) if (line.trim()) log(line);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', (err) =>
      reject(
        new TrainingJobFailed(
          `Cannot run ${cmd}: ${err.message}. Install Debian's XGBoost: apt-get install -y python3-xgboost`,
        ),
      ),
    );
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stderr });
    });
  });
}
