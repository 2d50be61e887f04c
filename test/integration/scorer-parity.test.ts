import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../core/random.ts';
import { loadXgbModel } from '../../core/scorer/xgboost.ts';

// Debian's python3-xgboost (1.7, the SageMaker container's minor) is only visible to the system
// interpreter; a pyenv python3 earlier on PATH cannot import it.
const PYTHON = '/usr/bin/python3';
const TRAIN_SCRIPT = resolve('pipelines/training/train.py');
const hasXgboost = spawnSync(PYTHON, ['-c', 'import xgboost'], { stdio: 'ignore' }).status === 0;

const NUM_FEATURES = 8;

interface Row {
  label: number;
  features: number[];
}

/** Rows with a learnable label, features on different scales, an integer feature and ~10% missing cells. */
function syntheticRows(count: number, seed: number): Row[] {
  const rand = seededRandom(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  return Array.from({ length: count }, () => {
    const x = [
      normal(),
      normal(),
      normal(),
      100 * normal(),
      rand() * 1e-3,
      Math.floor(rand() * 5),
      normal() * 10,
      normal(),
    ];
    const margin = 1.2 * x[0]! - 0.8 * x[1]! + (0.6 * x[2]! * x[3]!) / 100 + 0.3 * x[5]! + 500 * x[4]! - 0.85;
    const label = rand() < 1 / (1 + Math.exp(-margin)) ? 1 : 0;
    return { label, features: x.map((v) => (rand() < 0.1 ? Number.NaN : v)) };
  });
}

function toCsv(rows: Row[]): string {
  // String(x) is the shortest text that parses back to the same double, in Python as in JS.
  return rows
    .map((r) => [r.label, ...r.features.map((v) => (Number.isNaN(v) ? '' : String(v)))].join(','))
    .join('\n');
}

interface TrainRun {
  status: number | null;
  stdout: string;
  stderr: string;
  modelDir: string;
}

interface TrainOptions {
  channels?: { train: string; validation: string };
  env?: NodeJS.ProcessEnv;
}

function train(dir: string, name: string, args: string[], options: TrainOptions = {}) {
  const channels = options.channels ?? { train: 'train', validation: 'validation' };
  const modelDir = join(dir, name, 'model');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SM_CHANNEL_TRAIN: join(dir, channels.train),
    SM_CHANNEL_VALIDATION: join(dir, channels.validation),
    SM_MODEL_DIR: modelDir,
    SM_OUTPUT_DATA_DIR: join(dir, name, 'output'),
    SM_NUM_GPUS: '0',
    ...options.env,
  };
  delete env.SM_HPS;
  const result = spawnSync(PYTHON, [TRAIN_SCRIPT, ...args], { env, encoding: 'utf8', timeout: 120_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, modelDir } satisfies TrainRun;
}

function trainOrFail(dir: string, name: string, args: string[], options: TrainOptions = {}): TrainRun {
  const run = train(dir, name, args, options);
  if (run.status !== 0) throw new Error(`train.py ${args.join(' ')} exited ${run.status}:\n${run.stderr}`);
  return run;
}

/** XGBoost's own predictions for the rows, from each model file given. */
function xgboostPredictions(dir: string, rows: number[][], modelFiles: string[]): number[][] {
  const rowsPath = join(dir, `rows-${Date.now()}.json`);
  writeFileSync(rowsPath, JSON.stringify(rows.map((r) => r.map((v) => (Number.isNaN(v) ? null : v)))));
  const script = [
    'import json, math, sys',
    'import numpy as np, xgboost as xgb',
    'rows = json.load(open(sys.argv[1]))',
    'x = np.array([[math.nan if v is None else v for v in r] for r in rows], dtype=np.float64)',
    'd = xgb.DMatrix(x, missing=np.nan)',
    'print(json.dumps([xgb.Booster(model_file=f).predict(d).astype(np.float64).tolist() for f in sys.argv[2:]]))',
  ].join('\n');
  const result = spawnSync(PYTHON, ['-c', script, rowsPath, ...modelFiles], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`XGBoost prediction failed:\n${result.stderr}`);
  return JSON.parse(result.stdout) as number[][];
}

/**
 * Rows that put a feature exactly on a split threshold, on a double just below it that rounds to it
 * in float32, and on the float32 just below: the cases where comparing in float64 would go wrong.
 */
function thresholdRows(modelJson: string, baseRows: number[][], limit: number): number[][] {
  const trees = JSON.parse(modelJson).learner.gradient_booster.model.trees as {
    left_children: number[];
    split_indices: number[];
    split_conditions: number[];
  }[];
  const rows: number[][] = [];
  const bits = new DataView(new ArrayBuffer(4));
  for (const tree of trees) {
    tree.left_children.forEach((left, node) => {
      if (left === -1 || rows.length >= limit) return;
      const feature = tree.split_indices[node]!;
      const threshold = Math.fround(tree.split_conditions[node]!);
      bits.setFloat32(0, threshold);
      bits.setInt32(0, bits.getInt32(0) + (threshold > 0 ? -1 : 1));
      const previousFloat = bits.getFloat32(0);
      const roundsUp = threshold - Math.abs(threshold) * 2 ** -26;
      for (const value of [threshold, roundsUp, previousFloat]) {
        const row = [...baseRows[rows.length % baseRows.length]!];
        row[feature] = value;
        rows.push(row);
      }
    });
  }
  return rows;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

describe.skipIf(!hasXgboost)(
  `train.py and the TypeScript scorer against XGBoost (skipped when ${PYTHON} cannot import xgboost: apt-get install python3-xgboost)`,
  () => {
    let dir: string;
    let main: TrainRun;
    let heldOut: number[][];

    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'scorer-parity-'));
      const rows = syntheticRows(2000, 20240611);
      mkdirSync(join(dir, 'train'));
      mkdirSync(join(dir, 'validation'));
      // Two training files: the channel is every *.csv in name order.
      writeFileSync(join(dir, 'train', 'part-0000.csv'), toCsv(rows.slice(0, 700)));
      writeFileSync(join(dir, 'train', 'part-0001.csv'), `${toCsv(rows.slice(700, 1400))}\n`);
      writeFileSync(join(dir, 'validation', 'data.csv'), toCsv(rows.slice(1400, 1700)));
      heldOut = rows.slice(1700).map((r) => r.features);
      main = trainOrFail(dir, 'main', ['--num_round', '50', '--max_depth', '6']);
    }, 180_000);

    afterAll(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('writes the model directory and reports progress', () => {
      for (const file of ['xgboost-model', 'model.json', 'metrics.json']) {
        expect(existsSync(join(main.modelDir, file)), file).toBe(true);
      }
      // The drift baseline is built in TypeScript by the prepare and evaluate steps (core/drift/baseline.ts).
      expect(existsSync(join(main.modelDir, 'baseline.json'))).toBe(false);
      expect(existsSync(join(dir, 'main', 'output', 'metrics.json'))).toBe(true);
      expect(main.stdout).toContain('[train] rows=1400 validation_rows=300 features=8 tree_method=hist');
      // The binary model must not be JSON: the SageMaker serving container loads XGBoost's binary format.
      expect(readFileSync(join(main.modelDir, 'xgboost-model')).subarray(0, 1).toString()).not.toBe('{');
    });

    it('records metrics better than chance', () => {
      const metrics = JSON.parse(readFileSync(join(main.modelDir, 'metrics.json'), 'utf8'));

      expect(metrics.validation.auc).toBeGreaterThan(0.5);
      expect(metrics.train.auc).toBeGreaterThan(metrics.validation.auc - 0.05);
      expect(metrics.validation.logloss).toBeGreaterThan(0);
      expect(metrics.validation.accuracy).toBeGreaterThan(0.5);
      expect(metrics.num_round).toBe(50);
      expect(metrics.best_iteration).toBe(49);
      expect(metrics.tree_method).toBe('hist');
      expect(metrics.xgboost_version).toMatch(/^\d+\.\d+/);
    });

    it('scores held-out rows, missing values and threshold edge cases as XGBoost does (within 1e-6)', () => {
      const modelText = readFileSync(join(main.modelDir, 'model.json'), 'utf8');
      const model = loadXgbModel(modelText);
      const rows = [...heldOut, ...thresholdRows(modelText, heldOut, 300)];
      const [fromJson, fromBinary] = xgboostPredictions(dir, rows, [
        join(main.modelDir, 'model.json'),
        join(main.modelDir, 'xgboost-model'),
      ]);

      const one = rows.map((row) => model.predictOne(row));
      const batch = model.predictBatch(rows);

      expect(model.numFeatures).toBe(NUM_FEATURES);
      expect(model.numTrees).toBe(50);
      expect(rows.length).toBeGreaterThan(500);
      expect(rows.some((row) => row.some(Number.isNaN))).toBe(true);
      expect(maxAbsDiff(fromBinary!, fromJson!)).toBe(0);
      expect(maxAbsDiff(one, fromJson!)).toBeLessThanOrEqual(1e-6);
      expect(maxAbsDiff(batch, fromJson!)).toBeLessThanOrEqual(1e-6);
    });

    it('trains byte-identical models from the same seed and different ones from another seed', () => {
      // Without row or column sampling the seed changes nothing, so sample to make the seed matter.
      const sampled = [
        '--num_round',
        '50',
        '--max_depth',
        '6',
        '--subsample',
        '0.8',
        '--colsample_bytree',
        '0.8',
      ];
      // One thread: the model must not depend on the thread count (SageMaker instances differ from
      // this machine), and OpenMP's spin-waiting makes multi-threaded runs crawl on a busy machine.
      const oneThread = { env: { OMP_NUM_THREADS: '1' } };
      const again = trainOrFail(dir, 'again', ['--num_round', '50', '--max_depth', '6'], oneThread);
      const seeded = trainOrFail(dir, 'seed-42', [...sampled, '--seed', '42'], oneThread);
      const seededAgain = trainOrFail(dir, 'seed-42-again', [...sampled, '--seed', '42'], oneThread);
      const otherSeed = trainOrFail(dir, 'seed-7', [...sampled, '--seed', '7'], oneThread);
      const modelJson = (run: TrainRun) => readFileSync(join(run.modelDir, 'model.json'));

      expect(modelJson(again).equals(modelJson(main))).toBe(true);
      expect(
        readFileSync(join(again.modelDir, 'xgboost-model')).equals(
          readFileSync(join(main.modelDir, 'xgboost-model')),
        ),
      ).toBe(true);
      expect(modelJson(seededAgain).equals(modelJson(seeded))).toBe(true);
      expect(modelJson(otherSeed).equals(modelJson(seeded))).toBe(false);
    }, 180_000);

    it('answers the endpoint contract (CSV vectors in, {"scores"} out) with the scores the TypeScript scorer computes', () => {
      const rows = [...heldOut.slice(0, 50), heldOut[0]!.map(() => Number.NaN)];
      const body = rows.map((r) => r.map((v) => (Number.isNaN(v) ? '' : String(v))).join(',')).join('\n');
      const script = [
        'import importlib.util, json, sys',
        'spec = importlib.util.spec_from_file_location("train", sys.argv[1])',
        'train = importlib.util.module_from_spec(spec); spec.loader.exec_module(train)',
        'model = train.model_fn(sys.argv[2])',
        'body, content_type = train.output_fn(train.predict_fn(train.input_fn(sys.stdin.read().encode(), "text/csv"), model), "application/json")',
        'print(content_type); print(body)',
      ].join('\n');
      const run = spawnSync(PYTHON, ['-c', script, TRAIN_SCRIPT, main.modelDir], {
        input: body,
        encoding: 'utf8',
      });
      expect(run.status, run.stderr).toBe(0);
      const [contentType, json] = run.stdout.trim().split('\n') as [string, string];
      expect(contentType).toBe('application/json');
      const scores = (JSON.parse(json) as { scores: number[] }).scores;
      const model = loadXgbModel(readFileSync(join(main.modelDir, 'model.json'), 'utf8'));
      const ours = model.predictBatch(rows);
      expect(scores).toHaveLength(rows.length);
      expect(Math.max(...scores.map((s, i) => Math.abs(s - ours[i]!)))).toBeLessThanOrEqual(1e-6);
      const refused = spawnSync(
        PYTHON,
        ['-c', script.replace('"text/csv"', '"application/json"'), TRAIN_SCRIPT, main.modelDir],
        {
          input: body,
          encoding: 'utf8',
        },
      );
      expect(refused.status).not.toBe(0);
      expect(refused.stderr).toContain("content type must be text/csv, got 'application/json'");
    });

    it('fails with one line naming the file and line of a bad label', () => {
      mkdirSync(join(dir, 'bad-train'));
      writeFileSync(join(dir, 'bad-train', 'a.csv'), '1,0.5,2\n0,1.5,3\n2,0.1,1\n');

      const run = train(dir, 'bad', ['--num_round', '5'], {
        channels: { train: 'bad-train', validation: 'validation' },
      });

      expect(run.status).not.toBe(0);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(/bad-train\/a\.csv:3: column 1 is the label and must be 0 or 1, got '2'/);
    });
  },
);
