/**
 * The CLI for scripts: every read command's `--json` as a child process of `bin/mlops.ts`, whose
 * stdout must be one JSON document and nothing else; the exit codes; and a broken file under
 * `models/`, which fails only the commands that read it.
 *
 * The registry and the lake are real dynalite and s3rver. The twin's discovery and key routes and
 * the prediction API are answered by a small server speaking their contract (contracts/twin-api.ts);
 * `test/e2e/any-csv.test.ts` sends `predict --instances` to the real twin.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { register as registerIngest } from '../../cli/commands/ingest.ts';
import { register as registerModels } from '../../cli/commands/models.ts';
import { register as registerStatus } from '../../cli/commands/status.ts';
import { createContext } from '../../cli/context.ts';
import { CliError, EXIT_CODES } from '../../cli/errors.ts';
import { lakeKeys } from '../../contracts/lake.ts';
import type { TwinApiKey } from '../../contracts/twin-api.ts';
import type { GoldenManifest, GoldenPointer } from '../../core/lake.ts';
import { systemClock } from '../../core/ports.ts';
import type { ModelVersion } from '../../core/registry/model.ts';
import { DynamoModelRegistry } from '../../lambdas/shared/adapters/aws/dynamo-registry.ts';
import type { S3ObjectStore } from '../../lambdas/shared/adapters/aws/s3-object-store.ts';
import { credit } from '../support/fixtures.ts';
import { type LocalAws, standInTwinInfo, startLocalAws } from '../support/local-aws.ts';

let aws: LocalAws;
let lake: S3ObjectStore;
let registry: DynamoModelRegistry;
let server: Server;
let url: string;
let dir: string;

const KEYS: TwinApiKey[] = [{ client: 'default', key: 'k'.repeat(40) }];
/** What the prediction route received, and what it answers. */
const api: { received: { key: string | undefined; body: unknown }[]; status: number } = {
  received: [],
  status: 200,
};

function version(n: number): ModelVersion {
  return {
    model: 'credit',
    version: n,
    status: 'Candidate',
    createdAt: new Date().toISOString(),
    featureSchemaHash: 'h',
    dataManifestHash: `manifest-${n}`,
    snapshotId: 's',
    trainingJobName: `job-${n}`,
    trainingImage: 'img',
    instanceType: 'ml.g5.xlarge',
    seed: 7,
    codeSha256: 'c',
    featureCodeSha256: 'f',
    definition: credit,
    hyperParameters: { max_depth: '4' },
    metrics: { validation: { auc: 0.8, logloss: 0.4, accuracy: 0.8, rows: 10 } },
    artifacts: { modelJson: 'm', transform: 't', baseline: 'b', modelTarball: 'x', evaluation: 'e' },
  };
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `mlops <args>` as a child process, as `bin/mlops.js` runs it (through tsx). */
function mlops(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bin/mlops.ts', ...args], {
      env: { ...process.env, NO_COLOR: '1', MLOPS_TWIN_URL: url, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The whole of stdout as one JSON document: throws if anything else was printed there. */
function json<T = Record<string, unknown>>(run: Run): T {
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as T;
}

beforeAll(async () => {
  aws = await startLocalAws();
  await aws.createTable('registry');
  lake = await aws.createBucket('lake');
  registry = new DynamoModelRegistry(aws.db, 'registry', systemClock);
  dir = mkdtempSync(join(tmpdir(), 'mlops-cli-json-'));

  // v1 promoted, then v2 promoted over it: production v2, rollback target v1.
  for (const n of [1, 2]) {
    await registry.putVersion(version(n));
    await registry.transition('credit', n, 'Approved');
    const alias = await registry.getAlias('credit');
    await registry.moveAlias('credit', alias?.current, {
      current: n,
      history: alias ? [...alias.history, alias.current] : [],
      reason: 'promoted',
    });
    await registry.transition('credit', n, 'Production');
    if (alias) await registry.transition('credit', alias.current, 'Retired');
  }
  const manifest = { goldenId: 'g1', model: 'credit', rows: 2 } as unknown as GoldenManifest;
  const pointer: GoldenPointer = {
    goldenId: 'g1',
    key: 'golden/credit/g1/rows.csv',
    manifestKey: 'golden/credit/g1/manifest.json',
    sha256: 'abc',
    rows: 2,
    setAt: new Date().toISOString(),
  };
  await lake.put(pointer.manifestKey, JSON.stringify(manifest));
  await lake.put(lakeKeys.goldenLatest('credit'), JSON.stringify(pointer));

  server = createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/_twin/health') return send(200, { ok: true });
    if (req.url === '/_twin/info') return send(200, standInTwinInfo(aws, url));
    if (req.url === '/_twin/keys') return send(200, KEYS);
    if (req.url === '/_twin/alarms') return send(200, []);
    if (req.url === '/v1/predict' && req.method === 'POST') {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        api.received.push({ key: req.headers['x-api-key'] as string | undefined, body: JSON.parse(body) });
        if (api.status !== 200) return send(api.status, { message: 'Forbidden' });
        send(200, { predictions: [{ score: 0.25, label: 'good' }], modelVersion: '2', requestId: 'r' });
      });
      return;
    }
    send(404, { error: 'NotFound', message: `No route for ${req.method} ${req.url}` });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  await aws.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('--json on every read command: one JSON document on stdout, nothing else', () => {
  it('GIVEN v2 promoted over v1 WHEN `models --json` THEN it prints production, the rollback target and every version', async () => {
    const out = json<{ model: string; production: number; rollbackTarget: number; versions: ModelVersion[] }>(
      await mlops(['models', '--json']),
    );
    expect(out.model).toBe('credit');
    expect(out.production).toBe(2);
    expect(out.rollbackTarget).toBe(1);
    expect(out.versions.map((v) => [v.version, v.status])).toEqual([
      [1, 'Retired'],
      [2, 'Production'],
    ]);
  });

  it('GIVEN a version WHEN `show 1 --json` THEN it prints its lineage as the registry holds it', async () => {
    const out = json<{ version: ModelVersion; bucket: string; evidence: unknown[]; rollout: unknown[] }>(
      await mlops(['show', '1', '--json']),
    );
    expect(out.version.version).toBe(1);
    expect(out.version.dataManifestHash).toBe('manifest-1');
    expect(out.version.hyperParameters).toEqual({ max_depth: '4' });
    expect(out.bucket).toBe('lake');
    expect(out.evidence).toEqual([]);
    // StatusChanged audit rows written by the transitions.
    expect(Array.isArray(out.rollout)).toBe(true);
  });

  it('GIVEN a golden set WHEN `golden show --json` THEN it prints the pointer and the manifest; a model without one gives nulls', async () => {
    const out = json<{ current: GoldenPointer; manifest: { goldenId: string } }>(
      await mlops(['golden', 'show', '--json']),
    );
    expect(out.current.goldenId).toBe('g1');
    expect(out.manifest.goldenId).toBe('g1');
    const all = json<{ sets: unknown[] }>(await mlops(['golden', 'show', '--all', '--json']));
    expect(all.sets).toHaveLength(1);
    const none = json(await mlops(['golden', 'show', '--model', 'nothing', '--json']));
    expect(none).toEqual({ model: 'nothing', bucket: 'lake', current: null, manifest: null });
  });

  it('GIVEN the twin keys WHEN `keys --json` and `status --json` THEN each prints JSON alone', async () => {
    expect(json(await mlops(['keys', '--json']))).toEqual([{ client: 'default', key: 'k'.repeat(40) }]);
    const status = json<{ model: string; production: { version: number } }>(
      await mlops(['status', '--json']),
    );
    expect(status.model).toBe('credit');
    expect(status.production.version).toBe(2);
  });

  it("GIVEN an instance WHEN `predict --instances … --json` THEN it prints the API's status and body, sent with the first client's key", async () => {
    api.received = [];
    api.status = 200;
    const out = json<{ status: number; body: { modelVersion: string } }>(
      await mlops(['predict', '--instances', '{"Age":30}', '--json']),
    );
    expect(out).toEqual({
      status: 200,
      body: { predictions: [{ score: 0.25, label: 'good' }], modelVersion: '2', requestId: 'r' },
    });
    expect(api.received).toEqual([{ key: 'k'.repeat(40), body: { instances: [{ Age: 30 }] } }]);
  });

  it('GIVEN the API refuses WHEN `predict --json` THEN it still prints JSON, and exits 1', async () => {
    api.status = 403;
    const run = await mlops(['predict', '--instances', '[{"Age":30}]', '--json']);
    api.status = 200;
    expect(run.code).toBe(EXIT_CODES.failed);
    expect(JSON.parse(run.stdout)).toEqual({ status: 403, body: { message: 'Forbidden' } });
  });
});

describe('exit codes', () => {
  it('GIVEN a wrong command line WHEN run THEN it exits 2 with the message on stderr and nothing on stdout', async () => {
    for (const args of [
      ['models', '--bogus'],
      ['show'],
      ['models', '--model', 'Bad'],
      ['predict', '--json', '{"Age":30}'],
      ['status', '--actions', '0'],
      [],
    ]) {
      const run = await mlops(args);
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(EXIT_CODES.usage);
      expect(run.stdout, args.join(' ')).toBe('');
      expect(run.stderr).not.toMatch(/^\s+at /m);
    }
  });

  it('GIVEN no twin and no stage WHEN a read command runs THEN it exits 1 with one line and no stack', async () => {
    const run = await mlops(['models', '--json'], { MLOPS_TWIN_URL: 'http://127.0.0.1:9' });
    expect(run.code).toBe(EXIT_CODES.failed);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim()).toBe(
      '✗ No local twin answers at http://127.0.0.1:9. Start one with `npm start`, or pass --stage <name> to act on a deployed stage.',
    );
  });

  it('GIVEN --help WHEN run THEN it exits 0', async () => {
    const run = await mlops(['show', '--help']);
    expect(run.code).toBe(EXIT_CODES.ok);
    expect(run.stdout).toContain('--json');
  });
});

describe('a broken file under models/', () => {
  let models: string;
  beforeAll(() => {
    models = join(dir, 'models');
    mkdirSync(models);
    copyFileSync('models/credit.json', join(models, 'credit.json'));
    writeFileSync(join(models, 'churn.json'), '{"name": "churn", ');
    writeFileSync(
      join(models, 'fraud.json'),
      JSON.stringify({ name: 'fraud', spec: { version: 1, label: { column: 'y' }, features: [] } }),
    );
  });

  const context = () => createContext({ MLOPS_TWIN_URL: url }, { modelsDir: models });

  /** Runs `mlops <args>` in-process with the models directory above, as bin/mlops.ts would. */
  async function run(args: string[]): Promise<{ stdout: string; error?: unknown }> {
    const out = { stdout: '' } as { stdout: string; error?: unknown };
    const log = vi.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => {
      out.stdout += `${parts.join(' ')}\n`;
    });
    try {
      const program = new Command().name('mlops').exitOverride();
      const ctx = context();
      for (const register of [registerModels, registerStatus, registerIngest]) register(program, ctx);
      await program.parseAsync(['node', 'mlops', ...args]);
    } catch (err) {
      out.error = err;
    } finally {
      log.mockRestore();
    }
    return out;
  }

  it('GIVEN churn.json is not JSON WHEN commands that do not read it run THEN they work', async () => {
    const models = await run(['models', '--json']);
    expect(models.error).toBeUndefined();
    expect(JSON.parse(models.stdout).production).toBe(2);
    const status = await run(['status', '--json']);
    expect(status.error).toBeUndefined();
    expect(context().definition('credit')?.name).toBe('credit');
  });

  it('GIVEN churn.json is not JSON WHEN a command reads it THEN a CliError names the file', async () => {
    const ingest = await run(['ingest', 'data/credit_data.csv', '--model', 'churn']);
    expect(ingest.error).toBeInstanceOf(CliError);
    expect((ingest.error as CliError).message).toMatch(/^Model file models\/churn\.json is not valid JSON: /);
    expect((ingest.error as CliError).exitCode).toBe(EXIT_CODES.failed);
  });

  it('GIVEN fraud.json misses keys WHEN it is read THEN the CliError names the file and each key', () => {
    let error: unknown;
    try {
      context().definition('fraud');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(CliError);
    const message = (error as CliError).message;
    expect(message).toContain('Invalid model definition in models/fraud.json');
    expect(message).toContain('spec.label.positive');
  });

  it('GIVEN broken files WHEN the whole config is asked for (synthesis) THEN it is a CliError naming the first', () => {
    expect(() => context().config()).toThrow(CliError);
    expect(() => context().config()).toThrow('models/churn.json is not valid JSON');
  });

  it('GIVEN a model with no file WHEN a command needs its definition THEN it exits 2 listing the files there', async () => {
    const ingest = await run(['ingest', 'data/credit_data.csv', '--model', 'nosuch']);
    expect((ingest.error as CliError).exitCode).toBe(EXIT_CODES.usage);
    expect((ingest.error as CliError).message).toBe(
      'Unknown model "nosuch". Models are the files in models/: churn, credit, fraud.',
    );
  });
});
