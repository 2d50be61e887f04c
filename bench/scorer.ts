/**
 * Benchmarks the TypeScript XGBoost scorer against XGBoost itself on the same models and rows.
 *
 * Run with `npx tsx bench/scorer.ts [--rows N] [--repeats N]` (`--help` lists every option). It
 * trains depth-6 models with Debian's XGBoost through /usr/bin/python3 and bench/xgb_helper.py, then
 * times, for each model, the TS batch and single-row paths here and XGBoost's batch and single-row
 * predictions inside the Python process. Every figure is the median of the repeats. The tables go to
 * stdout and progress to stderr; BENCHMARKS.md records a run.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { seededRandom } from '../core/random.ts';
import { loadXgbModel, type XgbModel } from '../core/scorer/xgboost.ts';
import { positiveInt } from './options.ts';

// Debian's python3-xgboost is only importable by the system interpreter; a pyenv python3 earlier on
// PATH would not find it.
const PYTHON = '/usr/bin/python3';
const HELPER = join(dirname(fileURLToPath(import.meta.url)), 'xgb_helper.py');

const NUM_FEATURES = 20;
const DEPTH = 6;
const TREE_COUNTS = [100, 300, 500];
const MISSING_FRACTION = 0.1;
/** A timed TS single-row pass is repeated until it lasts this long, so timer resolution does not matter. */
const MIN_SINGLE_PASS_MS = 200;

const BATCH_TARGET = 1.5;
const SINGLE_TARGET = 10;

const USAGE = `Usage: npx tsx bench/scorer.ts [options]

Trains depth-${DEPTH} XGBoost models with ${TREE_COUNTS.join(', ')} trees on a synthetic data set
(${NUM_FEATURES} features, ~${MISSING_FRACTION * 100}% missing) with ${PYTHON}, then compares the
TypeScript scorer with XGBoost on the same rows: batch ns per tree-row, single-row µs per row.

Options:
  --rows <n>         rows scored in the batch measurements (default 100000)
  --repeats <n>      timed repeats per measurement; medians are reported (default 7)
  --train-rows <n>   rows the models are trained on (default 20000)
  --single-rows <n>  rows scored one at a time in the single-row measurements (default 2000)
  --out <dir>        where the data and the models' model.json files are written
                     (default: a new directory under ${tmpdir()})
  -h, --help         show this help`;

interface Options {
  rows: number;
  repeats: number;
  trainRows: number;
  singleRows: number;
  out: string;
}

const FLAGS = {
  rows: { type: 'string' },
  repeats: { type: 'string' },
  'train-rows': { type: 'string' },
  'single-rows': { type: 'string' },
  out: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function parseFlags(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: FLAGS, strict: true }).values;
  } catch (err) {
    throw new Error(`${(err as Error).message} (see --help)`);
  }
}

function parseOptions(argv: string[]): Options | undefined {
  const values = parseFlags(argv);
  if (values.help) return undefined;
  const rows = positiveInt('rows', values.rows, 100_000);
  const singleRows = positiveInt('single-rows', values['single-rows'], 2000);
  if (singleRows > rows) {
    throw new Error(
      `--single-rows (${singleRows}) cannot exceed --rows (${rows}): single rows are taken from the batch rows`,
    );
  }
  return {
    rows,
    repeats: positiveInt('repeats', values.repeats, 7),
    trainRows: positiveInt('train-rows', values['train-rows'], 20_000),
    singleRows,
    out: resolve(values.out ?? mkdtempSync(join(tmpdir(), 'mlops-bench-'))),
  };
}

function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

/**
 * Rows of a binary classification problem with interactions and thresholds, so the trees use their
 * full depth, features on different scales (some integer-valued), and missing cells.
 */
function syntheticData(count: number, seed: number): { x: Float64Array; y: Float64Array } {
  const rand = seededRandom(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const x = new Float64Array(count * NUM_FEATURES);
  const y = new Float64Array(count);
  const row = new Float64Array(NUM_FEATURES);
  for (let r = 0; r < count; r++) {
    for (let f = 0; f < NUM_FEATURES; f++) {
      const kind = f % 4;
      row[f] =
        kind === 0
          ? normal()
          : kind === 1
            ? 100 * rand()
            : kind === 2
              ? Math.floor(rand() * 8)
              : normal() * 1e3;
    }
    const margin =
      1.1 * row[0]! -
      0.9 * row[4]! +
      0.02 * (row[1]! - 50) +
      (row[2]! > 3 ? 0.7 : -0.4) +
      (0.5 * row[8]! * row[3]!) / 1e3 +
      (row[5]! > 70 && row[6]! < 4 ? 1.2 : 0) +
      0.3 * Math.sin(row[12]!) +
      (0.4 * row[11]!) / 1e3 -
      0.8 * Math.abs(row[16]!) +
      0.01 * row[9]! -
      0.3;
    y[r] = rand() < 1 / (1 + Math.exp(-margin)) ? 1 : 0;
    for (let f = 0; f < NUM_FEATURES; f++) {
      x[r * NUM_FEATURES + f] = rand() < MISSING_FRACTION ? Number.NaN : row[f]!;
    }
  }
  return { x, y };
}

function writeFloat64(path: string, values: Float64Array): void {
  // Little-endian on every platform Node runs on, which is what the helper reads ("<f8").
  writeFileSync(path, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
}

function readFloat64(path: string): Float64Array {
  const bytes = readFileSync(path);
  return new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

function python<T>(args: string[]): T {
  const run = spawnSync(PYTHON, [HELPER, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 16 * 1024 * 1024,
  });
  if (run.error) {
    throw new Error(
      `Cannot run ${PYTHON}: ${run.error.message}. Install Debian's XGBoost: sudo apt-get install -y python3-xgboost`,
    );
  }
  if (run.status !== 0) {
    throw new Error(`${PYTHON} ${HELPER} ${args[0]} exited ${run.status}; its error is above`);
  }
  return JSON.parse(run.stdout) as T;
}

interface XgbTimings {
  xgboost: string;
  trees: number;
  rows: number;
  single_rows: number;
  default_threads: number;
  batch_inplace_ns_per_tree_row_1: number;
  batch_dmatrix_ns_per_tree_row_1: number;
  batch_inplace_ns_per_tree_row_default: number;
  batch_dmatrix_ns_per_tree_row_default: number;
  single_dmatrix_us_per_row: number;
  single_inplace_us_per_row: number;
}

interface TsTimings {
  matrixNsPerTreeRow: number;
  batchNsPerTreeRow: number;
  oneUsPerRow: number;
  matrixPredictions: Float64Array;
  onePredictions: Float64Array;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Median wall time of `repeats` runs, in milliseconds. */
function timeMs(repeats: number, run: () => void): number {
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    run();
    times.push(performance.now() - start);
  }
  return median(times);
}

// Keeps the optimiser from treating a timed call as dead code.
let sink = 0;

function timeTs(model: XgbModel, x: Float64Array, opts: Options): TsTimings {
  const nf = model.numFeatures;
  const rows = x.length / nf;
  const trees = model.numTrees;
  const rowViews = Array.from({ length: rows }, (_, r) => x.subarray(r * nf, (r + 1) * nf));
  const single = rowViews.slice(0, opts.singleRows);

  // Warm-up: one full pass of each path lets V8 optimise the walk before anything is timed.
  const matrixPredictions = model.predictMatrix(x);
  sink += model.predictBatch(rowViews)[0]!;
  const onePredictions = new Float64Array(single.length);
  const onePass = () => {
    for (let r = 0; r < single.length; r++) onePredictions[r] = model.predictOne(single[r]!);
    sink += onePredictions[0]!;
  };
  const warmStart = performance.now();
  onePass();
  onePass();
  const passMs = Math.max((performance.now() - warmStart) / 2, 1e-3);
  const passes = Math.max(1, Math.ceil(MIN_SINGLE_PASS_MS / passMs));

  const matrixMs = timeMs(opts.repeats, () => {
    sink += model.predictMatrix(x)[0]!;
  });
  const batchMs = timeMs(opts.repeats, () => {
    sink += model.predictBatch(rowViews)[0]!;
  });
  const oneMs = timeMs(opts.repeats, () => {
    for (let p = 0; p < passes; p++) onePass();
  });
  return {
    matrixNsPerTreeRow: (matrixMs * 1e6) / (rows * trees),
    batchNsPerTreeRow: (batchMs * 1e6) / (rows * trees),
    oneUsPerRow: (oneMs * 1e3) / (passes * single.length),
    matrixPredictions,
    onePredictions,
  };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>, count = a.length): number {
  let max = 0;
  for (let i = 0; i < count; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    // A NaN on either side must not vanish into the maximum.
    if (!(d <= max)) max = d;
  }
  return max;
}

// Ratios are rounded against the TS scorer: a batch ratio up, a single-row speed-up down.
const ceilTo = (v: number, digits: number) => Math.ceil(v * 10 ** digits) / 10 ** digits;
const floorTo = (v: number, digits: number) => Math.floor(v * 10 ** digits) / 10 ** digits;

interface Line {
  ours: string;
  oursValue: number;
  base: string;
  baseValue: number;
  ratio: string;
  target: string;
}

function renderTable(title: string, sections: { heading: string; lines: Line[] }[]): string {
  const row = (l: Line) => [
    `${l.ours} vs ${l.base}`,
    l.oursValue.toFixed(2),
    l.baseValue.toFixed(2),
    l.ratio,
    l.target,
  ];
  const cells = sections.flatMap((s) => s.lines.map(row));
  const header = ['TS vs XGBoost', 'TS', 'XGBoost', 'ratio', 'target'];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const fmt = (c: string[]) =>
    c
      .map((v, i) => (i === 1 || i === 2 ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = [title, `  ${fmt(header)}`];
  for (const s of sections) {
    out.push(`  ${s.heading}`);
    for (const l of s.lines) {
      out.push(`    ${fmt(row(l))}`);
    }
  }
  return out.join('\n');
}

interface Verdict {
  trees: number;
  batch: { matrixRatio: number; batchRatio: number; met: boolean; against: string };
  single: { speedup: number; met: boolean; inplaceSpeedup: number };
  agreement: number;
}

function report(ts: TsTimings, xgb: XgbTimings, agreement: { matrix: number; one: number }, opts: Options) {
  const threads = `${xgb.default_threads} threads (default)`;
  const batchLine = (
    ours: string,
    oursValue: number,
    base: string,
    baseValue: number,
    targeted: boolean,
  ): Line => {
    const ratio = oursValue / baseValue;
    return {
      ours,
      oursValue,
      base,
      baseValue,
      ratio: `${ceilTo(ratio, 2).toFixed(2)}×`,
      target: targeted ? `≤ ${BATCH_TARGET}× ${ratio <= BATCH_TARGET ? 'met' : 'MISSED'}` : '',
    };
  };
  const batch: Line[] = [];
  for (const [ours, oursValue] of [
    ['predictMatrix', ts.matrixNsPerTreeRow],
    ['predictBatch', ts.batchNsPerTreeRow],
  ] as const) {
    batch.push(
      batchLine(ours, oursValue, 'inplace_predict, 1 thread', xgb.batch_inplace_ns_per_tree_row_1, true),
      batchLine(ours, oursValue, 'predict(DMatrix), 1 thread', xgb.batch_dmatrix_ns_per_tree_row_1, true),
      batchLine(
        ours,
        oursValue,
        `inplace_predict, ${threads}`,
        xgb.batch_inplace_ns_per_tree_row_default,
        false,
      ),
      batchLine(
        ours,
        oursValue,
        `predict(DMatrix), ${threads}`,
        xgb.batch_dmatrix_ns_per_tree_row_default,
        false,
      ),
    );
  }
  const usPerRow = (ns: number) => (ns * xgb.trees) / 1e3;
  const batchRow: Line[] = [
    batchLine(
      'predictMatrix',
      usPerRow(ts.matrixNsPerTreeRow),
      'inplace_predict, 1 thread',
      usPerRow(xgb.batch_inplace_ns_per_tree_row_1),
      false,
    ),
    batchLine(
      'predictBatch',
      usPerRow(ts.batchNsPerTreeRow),
      'inplace_predict, 1 thread',
      usPerRow(xgb.batch_inplace_ns_per_tree_row_1),
      false,
    ),
  ];
  const singleLine = (base: string, baseValue: number): Line => {
    const speedup = baseValue / ts.oneUsPerRow;
    return {
      ours: 'predictOne',
      oursValue: ts.oneUsPerRow,
      base,
      baseValue,
      ratio: `${floorTo(speedup, 1).toFixed(1)}× faster`,
      target: `≥ ${SINGLE_TARGET}× ${speedup >= SINGLE_TARGET ? 'met' : 'MISSED'}`,
    };
  };
  const single = [
    singleLine(`DMatrix(1 row) + predict, ${threads}`, xgb.single_dmatrix_us_per_row),
    singleLine(`inplace_predict(1 row), ${threads}`, xgb.single_inplace_us_per_row),
  ];
  const title =
    `== ${xgb.trees} trees, depth ${DEPTH}, ${NUM_FEATURES} features: ${xgb.rows} batch rows, ` +
    `${xgb.single_rows} single rows, median of ${opts.repeats} ==`;
  console.log(
    renderTable(title, [
      { heading: 'batch, ns per tree-row (ratio TS ÷ XGBoost, rounded up)', lines: batch },
      { heading: 'batch, µs per row', lines: batchRow },
      { heading: 'single row, µs per row (ratio XGBoost ÷ TS, rounded down)', lines: single },
    ]),
  );
  console.log(
    `  agreement with XGBoost inplace_predict: max |diff| ${agreement.matrix.toExponential(2)} (predictMatrix, ` +
      `${xgb.rows} rows), ${agreement.one.toExponential(2)} (predictOne, ${xgb.single_rows} rows)\n`,
  );

  // The verdict is against the faster of the two native 1-thread figures, and both TS batch paths must meet it.
  const native1 = Math.min(xgb.batch_inplace_ns_per_tree_row_1, xgb.batch_dmatrix_ns_per_tree_row_1);
  const matrixRatio = ts.matrixNsPerTreeRow / native1;
  const batchRatio = ts.batchNsPerTreeRow / native1;
  return {
    trees: xgb.trees,
    batch: {
      matrixRatio,
      batchRatio,
      met: Math.max(matrixRatio, batchRatio) <= BATCH_TARGET,
      against:
        native1 === xgb.batch_inplace_ns_per_tree_row_1
          ? 'inplace_predict, 1 thread'
          : 'predict(DMatrix), 1 thread',
    },
    single: {
      speedup: xgb.single_dmatrix_us_per_row / ts.oneUsPerRow,
      met: xgb.single_dmatrix_us_per_row / ts.oneUsPerRow >= SINGLE_TARGET,
      inplaceSpeedup: xgb.single_inplace_us_per_row / ts.oneUsPerRow,
    },
    agreement: Math.max(agreement.matrix, agreement.one),
  } satisfies Verdict;
}

function main(): void {
  const opts = parseOptions(process.argv.slice(2));
  if (!opts) {
    console.log(USAGE);
    return;
  }
  mkdirSync(opts.out, { recursive: true });
  progress(`bench: writing data and models to ${opts.out}`);

  progress(`bench: generating ${opts.trainRows} training rows and ${opts.rows} bench rows`);
  const trainData = syntheticData(opts.trainRows, 1);
  const benchData = syntheticData(opts.rows, 2);
  const paths = {
    trainX: join(opts.out, 'train-x.f64'),
    trainY: join(opts.out, 'train-y.f64'),
    benchX: join(opts.out, 'bench-x.f64'),
  };
  writeFloat64(paths.trainX, trainData.x);
  writeFloat64(paths.trainY, trainData.y);
  writeFloat64(paths.benchX, benchData.x);

  progress(`bench: training depth-${DEPTH} models with ${TREE_COUNTS.join(', ')} trees (${PYTHON})`);
  const trained = python<{ xgboost: string; models: string[] }>([
    'train',
    '--x',
    paths.trainX,
    '--y',
    paths.trainY,
    '--features',
    String(NUM_FEATURES),
    '--depth',
    String(DEPTH),
    '--trees',
    TREE_COUNTS.join(','),
    '--out',
    opts.out,
  ]);

  console.log(
    `TS scorer (Node ${process.version}) vs XGBoost ${trained.xgboost} (${PYTHON}); ` +
      `medians of ${opts.repeats} repeats; lower ns/µs is faster`,
  );
  console.log('');
  const verdicts: Verdict[] = [];
  for (const modelPath of trained.models) {
    const model = loadXgbModel(readFileSync(modelPath, 'utf8'));
    const predictionsPath = join(dirname(modelPath), 'xgboost-predictions.f64');
    progress(`bench: ${model.numTrees} trees: timing XGBoost (batch 1 thread and default, single row)`);
    const xgb = python<XgbTimings>([
      'bench',
      '--model',
      modelPath,
      '--x',
      paths.benchX,
      '--features',
      String(NUM_FEATURES),
      '--repeats',
      String(opts.repeats),
      '--single-rows',
      String(opts.singleRows),
      '--predictions',
      predictionsPath,
    ]);
    progress(
      `bench: ${model.numTrees} trees: timing the TS scorer (predictMatrix, predictBatch, predictOne)`,
    );
    const ts = timeTs(model, benchData.x, opts);
    const reference = readFloat64(predictionsPath);
    verdicts.push(
      report(
        ts,
        xgb,
        {
          matrix: maxAbsDiff(ts.matrixPredictions, reference),
          one: maxAbsDiff(ts.onePredictions, reference, ts.onePredictions.length),
        },
        opts,
      ),
    );
  }

  console.log('targets');
  for (const v of verdicts) {
    console.log(
      `  ${String(v.trees).padStart(3)} trees: batch ${v.batch.met ? 'met' : 'MISSED'} ` +
        `(predictMatrix ${ceilTo(v.batch.matrixRatio, 2).toFixed(2)}×, predictBatch ${ceilTo(v.batch.batchRatio, 2).toFixed(2)}× ` +
        `the faster 1-thread native, ${v.batch.against}); ` +
        `single row ${v.single.met ? 'met' : 'MISSED'} (${floorTo(v.single.speedup, 1).toFixed(1)}× faster than ` +
        `DMatrix + predict, ${floorTo(v.single.inplaceSpeedup, 1).toFixed(1)}× than inplace_predict); ` +
        `max |diff| ${v.agreement.toExponential(2)}`,
    );
  }
  if (sink === Number.MIN_VALUE) progress('');
}

try {
  main();
} catch (err) {
  process.stderr.write(`bench: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
