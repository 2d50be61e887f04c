/**
 * A local stand-in for SageMaker's CreateTrainingJob (.sync): it recreates the script-mode
 * container's file layout and environment around the same training code tarball that `cdk deploy`
 * uploads, runs it with Debian's XGBoost 1.7 (the same minor version as the SageMaker XGBoost 1.7-1
 * image), and packs the model directory into `<output>/<job>/output/model.tar.gz` as SageMaker does.
 * It runs on the CPU: the instance type is recorded, and SM_NUM_GPUS is 0.
 *
 * `ResourceConfig.InstanceCount` hosts are N local processes named `algo-1` ... `algo-N` as SageMaker
 * names them, each with its own container layout, `SM_HOSTS`/`SM_CURRENT_HOST` and
 * `input/config/resourceconfig.json`. A `ShardedByS3Key` channel gives each host a share of the
 * channel's objects: sorted by key, object i goes to host i mod N (SageMaker documents only that each
 * host gets about 1/N of the objects; round-robin by key is this twin's choice). The hosts reach the
 * first host's XGBoost tracker on loopback, at a free port the twin passes as MLOPS_TRACKER_HOST and
 * MLOPS_TRACKER_PORT. The first host's model directory is the job's model; a host that fails stops the
 * others and fails the job with its host and reason.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
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
    DataSource: {
      S3DataSource: {
        S3Uri: string;
        S3DataType: string;
        S3DataDistributionType?: 'FullyReplicated' | 'ShardedByS3Key';
      };
    };
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
  const count = req.ResourceConfig.InstanceCount;
  if (!Number.isInteger(count) || count < 1) {
    throw new TrainingJobFailed(
      `ResourceConfig.InstanceCount must be a positive integer, got ${JSON.stringify(count)}`,
    );
  }
  const hosts = Array.from({ length: count }, (_, i) => `algo-${i + 1}`);
  const started = Date.now();
  const root = await mkdtemp(join(tmpdir(), `sm-${req.TrainingJobName}-`));
  try {
    const code = join(root, 'code');
    await mkdir(code, { recursive: true });
    const src = stores(getStore, submitDir);
    const tarball = join(root, 'sourcedir.tar.gz');
    await writeFile(tarball, await src.store.getBytes(src.key));
    await tar.x({ file: tarball, cwd: code });

    const trackerPort = count > 1 ? await freePort() : 0;
    const layouts = hosts.map((host) => {
      const opt = count === 1 ? root : join(root, 'hosts', host);
      return {
        host,
        opt,
        modelDir: join(opt, 'model'),
        outputDir: join(opt, 'output'),
        configDir: join(opt, 'input', 'config'),
        env: {} as Record<string, string>,
      };
    });
    for (const l of layouts) {
      await Promise.all([
        mkdir(l.modelDir, { recursive: true }),
        mkdir(join(l.outputDir, 'data'), { recursive: true }),
        mkdir(l.configDir, { recursive: true }),
      ]);
      await writeFile(
        join(l.configDir, 'resourceconfig.json'),
        JSON.stringify({ current_host: l.host, hosts, network_interface_name: 'lo' }),
      );
      l.env = {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? root,
        SM_MODEL_DIR: l.modelDir,
        SM_OUTPUT_DIR: l.outputDir,
        SM_OUTPUT_DATA_DIR: join(l.outputDir, 'data'),
        SM_INPUT_CONFIG_DIR: l.configDir,
        SM_HOSTS: JSON.stringify(hosts),
        SM_CURRENT_HOST: l.host,
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
        ...(count > 1 ? { MLOPS_TRACKER_HOST: '127.0.0.1', MLOPS_TRACKER_PORT: String(trackerPort) } : {}),
      };
    }
    for (const channel of req.InputDataConfig) {
      const source = channel.DataSource.S3DataSource;
      const distribution = source.S3DataDistributionType ?? 'FullyReplicated';
      if (distribution !== 'FullyReplicated' && distribution !== 'ShardedByS3Key') {
        throw new TrainingJobFailed(
          `Channel ${channel.ChannelName}: S3DataDistributionType must be FullyReplicated or ShardedByS3Key, got ${distribution}`,
        );
      }
      const dirs = layouts.map((l) => join(l.opt, 'input', 'data', channel.ChannelName));
      await Promise.all(dirs.map((d) => mkdir(d, { recursive: true })));
      const { store, key } = stores(getStore, source.S3Uri);
      const keys = (await store.list(key)).sort();
      if (keys.length === 0)
        throw new TrainingJobFailed(`Channel ${channel.ChannelName}: no objects under ${source.S3Uri}`);
      for (const [i, k] of keys.entries()) {
        const body = await store.getBytes(k);
        const name = k.slice(key.length).replaceAll('/', '_') || 'data';
        const to = distribution === 'ShardedByS3Key' ? [dirs[i % count]!] : dirs;
        for (const d of to) await writeFile(join(d, name), body);
      }
      layouts.forEach((l, i) => {
        l.env[`SM_CHANNEL_${channel.ChannelName.toUpperCase()}`] = dirs[i]!;
      });
    }
    const args = [join(code, program)];
    for (const [k, v] of Object.entries(hps)) if (!k.startsWith('sagemaker_')) args.push(`--${k}`, v);
    log(
      `training job ${req.TrainingJobName}: ${PYTHON} ${program} on ${count} x ${req.ResourceConfig.InstanceType} (emulated on the local CPU)`,
    );
    const failure = await runHosts(
      layouts.map((l) => ({ host: l.host, env: l.env, outputDir: l.outputDir })),
      args,
      req.StoppingCondition.MaxRuntimeInSeconds * 1000,
      count > 1 ? (host, line) => log(`[${host}] ${line}`) : (_host, line) => log(line),
    );
    if (failure) {
      const where = count > 1 ? ` on host ${failure.host}` : '';
      throw new TrainingJobFailed(
        `AlgorithmError: training job ${req.TrainingJobName} failed${where}: ${failure.reason}`,
      );
    }
    const modelDir = layouts[0]!.modelDir;
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

/** A loopback port nothing listens on now, for the first host's tracker. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

interface HostRun {
  host: string;
  env: Record<string, string>;
  outputDir: string;
}

/**
 * Runs every host's process; resolves with nothing when all exit 0, else with the first host to
 * fail and its reason (the `output/failure` file it wrote, as SageMaker's FailureReason shows it, or
 * the end of its stderr), after stopping the hosts still running: they would wait on it forever.
 */
async function runHosts(
  hosts: HostRun[],
  args: string[],
  timeoutMs: number,
  log: (host: string, line: string) => void,
): Promise<{ host: string; reason: string } | undefined> {
  const children: ChildProcess[] = [];
  let failed: { host: string; reason: string } | undefined;
  await Promise.all(
    hosts.map(async (h) => {
      const { code, stderr } = await run(
        PYTHON,
        args,
        h.env,
        timeoutMs,
        (line) => log(h.host, line),
        (c) => children.push(c),
      );
      if (code === 0 || failed) return;
      const written = await readFile(join(h.outputDir, 'failure'), 'utf8').catch(() => '');
      const reason = written.trim() || stderr.trim().split('\n').slice(-3).join(' | ') || `exit code ${code}`;
      if (failed) return;
      failed = { host: h.host, reason };
      for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    }),
  );
  return failed;
}

function run(
  cmd: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
  log: (line: string) => void,
  started: (child: ChildProcess) => void,
): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    started(child);
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
