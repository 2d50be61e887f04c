/**
 * Any CSV goes from file to a registered, evaluated model with no code: spec infer → ingest --spec →
 * train → promote → predict, all through the CLI against a running twin, for a model that is not
 * among the deployed model files.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

function run(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/mlops.js', ...args], {
      env: { ...process.env, NO_COLOR: '1' },
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ code, out }));
  });
}

/** A churn-like data set whose label depends on two of its columns, with an id and a date column. */
function churnCsv(rows: number): string {
  let s = 7;
  const rand = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  const lines = ['customer,signup,plan,monthly_spend,tenure_months,autopay,churned'];
  for (let i = 0; i < rows; i++) {
    const plan = ['basic', 'plus', 'pro'][Math.floor(rand() * 3)]!;
    const spend = Math.round(rand() * 200 * 100) / 100;
    const tenure = Math.floor(rand() * 60);
    const autopay = rand() < 0.5;
    const risk =
      (plan === 'basic' ? 0.4 : 0) + (tenure < 6 ? 0.4 : 0) + (autopay ? -0.2 : 0.1) + rand() * 0.4;
    const day = String((i % 28) + 1).padStart(2, '0');
    lines.push(
      `c${i},2024-03-${day},${plan},${rand() < 0.05 ? '' : spend},${tenure},${autopay},${risk > 0.6 ? 'yes' : 'no'}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

describe('any CSV to a served model, with no code', () => {
  let twin: ChildProcess;
  let url: string;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'any-csv-'));
    twin = spawn(
      process.execPath,
      [
        'bin/mlops.js',
        'local',
        'up',
        '--port',
        '0',
        '--assembly',
        inject('assemblyDir'),
        '--state-dir',
        join(dir, 'twin-state'),
      ],
      {
        env: { ...process.env, NO_COLOR: '1' },
      },
    );
    url = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`twin did not start:\n${out}`)), 60_000);
      twin.stdout!.on('data', (d) => {
        out += d;
        const m = out.match(/Local twin ready at (http:\/\/127\.0\.0\.1:\d+)/);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
    });
  });
  afterAll(async () => {
    const closed = new Promise((r) => twin.on('close', r));
    twin.kill('SIGINT');
    await closed;
    rmSync(dir, { recursive: true, force: true });
  });

  it('infers a spec, ingests with it, trains, promotes and serves the new model', async () => {
    const csv = join(dir, 'churn.csv');
    writeFileSync(csv, churnCsv(1500));
    const spec = join(dir, 'churn.json');
    const inferred = await run([
      'spec',
      'infer',
      csv,
      '--label',
      'churned',
      '--positive',
      'yes',
      '--out',
      spec,
    ]);
    expect(inferred.code, inferred.out).toBe(0);
    expect(inferred.out).toContain('signup: time column');
    expect(inferred.out).toMatch(/customer: skipped, looks like an identifier/);
    const def = JSON.parse(readFileSync(spec, 'utf8'));
    expect(def.name).toBe('churn');

    const ingested = await run(['ingest', csv, '--spec', spec, '--twin', url]);
    expect(ingested.code, ingested.out).toBe(0);
    const trained = await run(['train', '--model', 'churn', '--twin', url]);
    expect(trained.code, trained.out).toBe(0);
    const auc = Number(trained.out.match(/registered churn v1 \(Candidate\): AUC (\d\.\d+)/)?.[1]);
    expect(auc).toBeGreaterThan(0.75);
    const split = trained.out.match(
      /rows: 1500 read, 0 quarantined, (\d+) train \/ (\d+) validation \/ (\d+) golden/,
    );
    expect(split, trained.out).not.toBeNull();
    expect(split!.slice(1).reduce((a, b) => a + Number(b), 0)).toBe(1500);

    const promoted = await run(['promote', 'latest', '--model', 'churn', '--twin', url]);
    expect(promoted.code, promoted.out).toBe(0);
    const predicted = await run([
      'predict',
      '--model',
      'churn',
      '--twin',
      url,
      '--instances',
      '[{"plan":"basic","monthly_spend":20,"tenure_months":1,"autopay":false},{"plan":"pro","tenure_months":50,"autopay":true}]',
    ]);
    expect(predicted.code, predicted.out).toBe(0);
    const body = JSON.parse(predicted.out.slice(predicted.out.indexOf('{')));
    expect(body.modelVersion).toBe('1');
    expect(body.predictions[0].score).toBeGreaterThan(body.predictions[1].score);
    const shown = await run(['show', '1', '--model', 'churn', '--twin', url]);
    expect(shown.out).toMatch(/features\s+plan, monthly_spend, tenure_months, autopay/);
  });

  it('refuses a spec file that is not a valid definition, naming the key', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ name: 'Bad Name', spec: { version: 1 } }));
    const res = await run(['ingest', join(dir, 'churn.csv'), '--spec', bad, '--twin', url]);
    expect(res.code).toBe(1);
    expect(res.out).toContain(`Invalid model definition in ${bad}`);
    expect(res.out).toContain('name: must be lower-case letters');
  });
});
