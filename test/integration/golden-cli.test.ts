import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { register as registerGolden } from '../../cli/commands/golden.ts';
import type { CliContext } from '../../cli/context.ts';
import { CliError } from '../../cli/errors.ts';
import type { Target } from '../../cli/target.ts';
import type { GoldenManifest, GoldenPointer } from '../../core/lake.ts';
import { parseModelDefinition } from '../../core/model/definition.ts';
import { systemClock } from '../../core/ports.ts';
import { DynamoLeases } from '../../lambdas/shared/adapters/aws/dynamo-leases.ts';
import { DynamoModelRegistry } from '../../lambdas/shared/adapters/aws/dynamo-registry.ts';
import type { S3ObjectStore } from '../../lambdas/shared/adapters/aws/s3-object-store.ts';
import { projectConfig } from '../../lib/config.ts';
import { credit } from '../support/fixtures.ts';
import { ingestCsv } from '../support/ingest.ts';
import { type LocalAws, startLocalAws } from '../support/local-aws.ts';

const demo = readFileSync('data/credit_data.csv', 'utf8').trimEnd().split('\n');
const header = demo[0]!;
const csv = (lines: string[]) => `${[header, ...lines].join('\n')}\n`;

interface Run {
  stdout: string;
  error?: unknown;
}

let aws: LocalAws;
let lake: S3ObjectStore;
let dir: string;
let context: CliContext;

const file = (name: string, content: string): string => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

/** Runs `mlops golden <args>` in-process on a fresh program whose target is the s3rver lake. */
async function golden(args: string[]): Promise<Run> {
  const run: Run = { stdout: '' };
  const out = vi.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => {
    run.stdout += `${parts.join(' ')}\n`;
  });
  try {
    const program = new Command()
      .name('mlops')
      .exitOverride()
      .configureOutput({ writeOut: (s) => (run.stdout += s) });
    registerGolden(program, context);
    await program.parseAsync(['node', 'mlops', 'golden', ...args]);
  } catch (err) {
    run.error = err;
  } finally {
    out.mockRestore();
  }
  return run;
}

const goldenKeys = (model: string) => lake.list(`golden/${model}/`);
const latest = async (model: string) =>
  JSON.parse(await lake.getText(`golden/${model}/LATEST.json`)) as GoldenPointer;

beforeAll(async () => {
  aws = await startLocalAws();
  lake = await aws.createBucket('lake');
  dir = mkdtempSync(join(tmpdir(), 'mlops-golden-'));
  // The target is the s3rver lake; the golden commands use nothing else of it.
  const target: Target = {
    description: 's3rver lake',
    apiUrl: 'http://127.0.0.1:9',
    registry: new DynamoModelRegistry(aws.db, 'registry', systemClock),
    lake,
    readPredictions: async () => [],
    apiKeys: async () => {
      throw new Error('the golden commands call no prediction API');
    },
    execute: async (kind) => {
      throw new Error(`the golden commands run no state machine, yet ${kind} was started`);
    },
    leases: new DynamoLeases(aws.db, 'registry'),
    alarms: async () => {
      throw new Error('the golden commands read no alarm');
    },
    runDrift: async () => {
      throw new Error('the golden commands run no drift job');
    },
  };
  // Only credit has a file in models/ here, whatever else the repository's models/ holds.
  const config = { ...projectConfig(), models: [credit] };
  context = {
    config: () => config,
    settings: () => config,
    definition: (name) => config.models.find((m) => m.name === name),
    modelNames: () => config.models.map((m) => m.name),
    twinUrl: 'http://127.0.0.1:9',
    twinPort: 0,
    target: async () => target,
  };
});
afterAll(async () => {
  await aws.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('mlops golden set / show (in-process, against s3rver)', () => {
  const good = csv(demo.slice(1, 41));
  const other = csv(demo.slice(41, 81));

  it('refuses a file with a bad row, naming line, column and reason, and writes nothing', async () => {
    const lines = demo.slice(1, 41);
    lines[1] = lines[1]!.replace(',58,"widow"', ',"fifty","widow"'); // Age, line 3
    lines[3] = lines[3]!.replace(/^"good"/, '"maybe"'); // label, line 5
    lines[5] = lines[5]!.split(',').slice(0, 13).join(','); // ragged, line 7
    const res = await golden(['set', file('bad.csv', csv(lines)), '--note', 'never stored']);
    expect(res.error).toBeInstanceOf(CliError);
    const message = (res.error as CliError).message;
    expect(message).toContain(
      'bad.csv is refused as the golden set of "credit": 3 of 40 rows do not validate',
    );
    expect(message).toContain('line 3, column Age: must be a finite number, got "fifty"');
    expect(message).toContain('line 5, column Status: label must be "bad" or "good", got "maybe"');
    expect(message).toContain('line 7: expected 14 fields, got 13');
    expect(message).toContain('Nothing was stored');
    expect(await goldenKeys('credit')).toEqual([]);
  });

  it('lists the first five problems and counts the rest', async () => {
    const lines = demo.slice(1, 41).map((l, i) => (i < 8 ? l.replace(/^"(good|bad)"/, '""') : l));
    const message = ((await golden(['set', file('unlabelled.csv', csv(lines))])).error as Error).message;
    expect(message).toContain('8 of 40 rows do not validate');
    expect(message.match(/^ {2}line \d+, column Status/gm)).toHaveLength(5);
    expect(message).toContain('… and 3 more problem(s)');
  });

  it.each([
    ['a single row', csv(demo.slice(1, 2)), 'it has 1 row(s)'],
    [
      'rows of one class',
      csv(demo.slice(1, 40).filter((l) => l.startsWith('"good"'))),
      'all of class "good"',
    ],
    [
      'a missing label column',
      `${header.replace('"Status",', '')}\n${demo[1]!.replace(/^"good",/, '')}\n`,
      'lacks column(s) Status',
    ],
  ])('refuses %s', async (_case, content, reason) => {
    const res = await golden(['set', file('small.csv', content)]);
    expect(res.error).toBeInstanceOf(CliError);
    expect((res.error as Error).message).toContain(reason);
    expect(await goldenKeys('credit')).toEqual([]);
  });

  it('stores a good file with its manifest and points LATEST at it; the same file again gives the same id and changes nothing', async () => {
    const path = file('credit_golden.csv', good);
    const first = await golden(['set', path, '--note', 'reviewed hard cases']);
    expect(first.error).toBeUndefined();
    const pointer = await latest('credit');
    expect(pointer.goldenId).toMatch(/^g-[0-9a-f]{12}$/);
    expect(first.stdout).toContain(`golden set of credit is now ${pointer.goldenId}`);
    expect(await lake.getText(pointer.key)).toBe(good);
    const manifest = JSON.parse(await lake.getText(pointer.manifestKey)) as GoldenManifest;
    const bad = demo.slice(1, 41).filter((l) => l.startsWith('"bad"')).length;
    expect(manifest).toMatchObject({
      model: 'credit',
      goldenId: pointer.goldenId,
      sha256: pointer.sha256,
      rows: 40,
      classes: { bad, good: 40 - bad },
      source: 'credit_golden.csv',
      note: 'reviewed hard cases',
    });
    expect(pointer.goldenId).toBe(`g-${manifest.sha256.slice(0, 12)}`);
    const keys = await goldenKeys('credit');
    expect(keys).toHaveLength(3);

    const second = await golden(['set', path, '--note', 'another note']);
    expect(second.error).toBeUndefined();
    expect(second.stdout).toContain(
      `${pointer.goldenId} is already the golden set of credit; nothing changed`,
    );
    expect(await latest('credit')).toEqual(pointer);
    expect(await goldenKeys('credit')).toEqual(keys);
    expect(JSON.parse(await lake.getText(pointer.manifestKey)).note).toBe('reviewed hard cases');
  });

  it('keeps every version: a new file is a new id, and setting an earlier file points back at it', async () => {
    const before = await latest('credit');
    const res = await golden(['set', file('next.csv', other)]);
    expect(res.error).toBeUndefined();
    const next = await latest('credit');
    expect(next.goldenId).not.toBe(before.goldenId);
    expect(res.stdout).toContain(`(was ${before.goldenId})`);
    expect((await goldenKeys('credit')).filter((k) => k.endsWith('/manifest.json'))).toHaveLength(2);

    const shown = await golden(['show']);
    expect(shown.stdout).toMatch(new RegExp(`golden set\\s+${next.goldenId} \\(current since`));
    expect(shown.stdout).toMatch(/source\s+next\.csv/);
    const all = await golden(['show', '--all']);
    expect(all.stdout).toContain('2 golden set(s)');
    expect(all.stdout).toMatch(new RegExp(`${next.goldenId} \\*`));
    expect(all.stdout).toMatch(new RegExp(`${before.goldenId}\\s+\\d{4}-`));

    await golden(['set', file('credit_golden.csv', good)]);
    expect((await latest('credit')).goldenId).toBe(before.goldenId);
    expect((await goldenKeys('credit')).filter((k) => k.endsWith('/manifest.json'))).toHaveLength(2);
  });

  it('checks against the definition ingested with the latest data, for a model without a file in models/', async () => {
    const loans = parseModelDefinition({ ...credit, name: 'loans' }, 'loans');
    const missing = await golden(['set', file('loans.csv', good), '--model', 'loans']);
    expect((missing.error as Error).message).toContain('Model "loans" has no definition');
    await ingestCsv(lake, 'loans', csv(demo.slice(1, 200)), loans);
    const res = await golden(['set', file('loans.csv', good), '--model', 'loans']);
    expect(res.error).toBeUndefined();
    expect(res.stdout).toContain('every row valid against the definition ingested with the latest data');
    expect((await latest('loans')).rows).toBe(40);
  });

  it('says so when a model has no golden set', async () => {
    const res = await golden(['show', '--model', 'nothing']);
    expect(res.stdout).toContain('nothing has no golden set');
  });

  it('has --help on each command', async () => {
    const set = await golden(['set', '--help']);
    expect(set.stdout).toContain('Usage: mlops golden set [options] <csv>');
    expect(set.stdout).toContain('--note <text>');
    const show = await golden(['show', '--help']);
    expect(show.stdout).toContain('--all');
  });
});

describe('mlops golden set as a child process', () => {
  let server: Server;
  let url: string;
  let cliLake: S3ObjectStore;

  beforeAll(async () => {
    // Answers the twin's discovery endpoints only; the lake behind it is the s3rver bucket.
    server = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/_twin/health') return res.end('{"ok":true}');
      if (req.url === '/_twin/info')
        return res.end(
          JSON.stringify({
            apiUrl: '',
            region: 'us-east-1',
            endpoints: { s3: aws.s3Endpoint, dynamodb: aws.dynamoEndpoint },
            outputs: { LakeBucketName: 'cli', RegistryTableName: 'registry', PredictionLogTableName: 'log' },
          }),
        );
      res.statusCode = 404;
      res.end('{}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    cliLake = await aws.createBucket('cli');
  });
  afterAll(async () => new Promise<void>((r) => server.close(() => r())));

  function mlops(args: string[]): Promise<{ code: number | null; out: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, ['bin/mlops.js', ...args, '--twin', url], {
        env: { ...process.env, NO_COLOR: '1' },
      });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.on('close', (code) => resolve({ code, out }));
    });
  }

  it('exits non-zero on a bad row and zero on a good file', async () => {
    const lines = demo.slice(1, 41);
    lines[2] = lines[2]!.replace(',36,', ',"x",'); // Time, line 4
    const bad = await mlops(['golden', 'set', file('bad-child.csv', csv(lines))]);
    expect(bad.code, bad.out).toBe(1);
    expect(bad.out).toContain('line 4, column Time: must be a finite number, got "x"');
    expect(await cliLake.list('golden/')).toEqual([]);
    const good = await mlops(['golden', 'set', 'data/credit_golden.csv', '--note', 'demo']);
    expect(good.code, good.out).toBe(0);
    expect(good.out).toMatch(/200 rows \(bad 56, good 144\)/);
    const pointer = JSON.parse(await cliLake.getText('golden/credit/LATEST.json')) as GoldenPointer;
    expect(pointer.rows).toBe(200);
    expect(await cliLake.getText(pointer.key)).toBe(readFileSync('data/credit_golden.csv', 'utf8'));
  });
});
