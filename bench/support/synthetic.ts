/**
 * Synthetic raw training data for the scale benchmarks: any number of rows of 20 columns, written to
 * a file as they are made (so 5M rows never sit in memory), the same bytes for the same seed and
 * row count, and the model definition that reads them.
 *
 * Columns: `id` (the row number; the spec does not use it), `label` (`1` or `0`), 13 numeric
 * features of varied shapes (uniform, normal, log-normal, exponential, counts, a bimodal mix, a
 * heavy tail, a bounded ratio, ...; four of them leave a share of cells empty) and 5 categoricals of
 * 3, 7, 12, 25 and 50 levels with skewed frequencies. The label is drawn from a logistic model of a
 * few numerics and two categoricals, so a trained model has a signal to find. One row in
 * `badEvery` (default 10,000) is invalid (a word in a numeric cell), for the prepare step to
 * quarantine. Cells are short (integers or two decimals) to keep a row near 90 bytes.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { type ModelDefinition, parseModelDefinition } from '../../core/model/definition.ts';
import { seededRandom } from '../../core/random.ts';

/** The synthetic model's name. */
export const SYNTHETIC_MODEL = 'synthetic';

const NUMERIC = [
  'n_uniform',
  'n_normal',
  'n_lognormal',
  'n_exponential',
  'n_count',
  'n_bimodal',
  'n_heavy',
  'n_ratio',
  'n_age',
  'n_amount',
  'n_score',
  'n_small',
  'n_trend',
] as const;
/** Numeric columns with empty cells, and the share of their cells left empty. */
const MISSING: Partial<Record<(typeof NUMERIC)[number], number>> = {
  n_lognormal: 0.05,
  n_heavy: 0.02,
  n_amount: 0.1,
  n_score: 0.01,
};
const CATEGORICAL: readonly [name: string, levels: number][] = [
  ['c_3', 3],
  ['c_7', 7],
  ['c_12', 12],
  ['c_25', 25],
  ['c_50', 50],
];

/** The header: id, label, the numerics, the categoricals (20 columns). */
export const SYNTHETIC_COLUMNS: readonly string[] = [
  'id',
  'label',
  ...NUMERIC,
  ...CATEGORICAL.map(([name]) => name),
];

/** Draws one row: its cells (label first, then the numerics, then the categoricals). */
function rowMaker(seed: number) {
  const rand = seededRandom(seed);
  const normal = () => {
    // Box-Muller; 1 - u keeps the log finite.
    const u = 1 - rand();
    const v = rand();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  // A skewed pick among n levels: level k with weight 1 / (k + 1).
  const cumulative = (n: number) => {
    const w = Array.from({ length: n }, (_, k) => 1 / (k + 1));
    const total = w.reduce((s, x) => s + x, 0);
    let acc = 0;
    return w.map((x) => {
      acc += x / total;
      return acc;
    });
  };
  // A categorical's cells are a letter of its own and the level's number: `a0`, `b3`, ...
  const levels = CATEGORICAL.map(([, n], j) => ({
    prefix: String.fromCharCode(97 + j),
    cum: cumulative(n),
    n,
  }));
  const pick = (cum: number[]) => {
    const u = rand();
    let k = 0;
    while (k < cum.length - 1 && u >= cum[k]!) k++;
    return k;
  };
  const two = (x: number) => (Math.round(x * 100) / 100).toString();
  const missing = (name: (typeof NUMERIC)[number]) => rand() < (MISSING[name] ?? 0);
  return (i: number, n: number): string => {
    const uniform = rand() * 10;
    const norm = normal();
    const logn = Math.exp(normal() * 0.8 + 2);
    const expo = -Math.log(1 - rand()) * 3;
    const count = Math.floor(-Math.log(1 - rand()) * 4);
    const bimodal = rand() < 0.4 ? normal() * 0.5 - 2 : normal() * 0.7 + 2;
    const heavy = normal() / Math.max(0.05, Math.abs(normal()));
    const ratio = rand() ** 2;
    const age = 18 + Math.floor(rand() * 60);
    const amount = Math.round(Math.exp(normal() * 0.6 + 7));
    const score = 300 + Math.round(rand() * 550);
    const small = rand() * 0.01;
    const trend = i / Math.max(1, n) + normal() * 0.1;
    const cats = levels.map((l) => pick(l.cum));
    // The label's log-odds: a few numerics and two categoricals, plus noise of its own.
    const z =
      -1 +
      0.8 * norm +
      0.5 * (bimodal > 0 ? 1 : -1) +
      0.3 * (uniform - 5) -
      0.004 * (score - 575) +
      (cats[0] === 2 ? 0.7 : 0) +
      (cats[2]! < 3 ? -0.5 : 0.3);
    const label = rand() < 1 / (1 + Math.exp(-z)) ? '1' : '0';
    const cells = [
      two(uniform),
      two(norm),
      missing('n_lognormal') ? '' : two(logn),
      two(expo),
      String(count),
      two(bimodal),
      missing('n_heavy') ? '' : two(heavy),
      two(ratio),
      String(age),
      missing('n_amount') ? '' : String(amount),
      missing('n_score') ? '' : String(score),
      small.toFixed(4),
      two(trend),
    ];
    return `${i},${label},${cells.join(',')},${cats.map((k, j) => `${levels[j]!.prefix}${k}`).join(',')}`;
  };
}

/** What {@link writeSyntheticCsv} wrote. */
export interface SyntheticFile {
  path: string;
  rows: number;
  bytes: number;
  /** Rows made invalid on purpose. */
  invalidRows: number;
}

/**
 * Writes `rows` data rows and the header to `path`, 10,000 rows per write. Deterministic in
 * (`rows`, `seed`, `badEvery`).
 */
export function writeSyntheticCsv(
  path: string,
  rows: number,
  opts: { seed?: number; badEvery?: number } = {},
): SyntheticFile {
  const make = rowMaker(opts.seed ?? 7);
  const badEvery = opts.badEvery ?? 10_000;
  const fd = openSync(path, 'w');
  let bytes = 0;
  let invalidRows = 0;
  const write = (text: string) => {
    bytes += writeSync(fd, text);
  };
  try {
    write(`${SYNTHETIC_COLUMNS.join(',')}\n`);
    let chunk: string[] = [];
    for (let i = 0; i < rows; i++) {
      let line = make(i, rows);
      if (badEvery > 0 && i % badEvery === badEvery - 1) {
        // A word where n_uniform (the third cell) should be a number.
        const cells = line.split(',');
        cells[2] = 'unknown';
        line = cells.join(',');
        invalidRows++;
      }
      chunk.push(line);
      if (chunk.length === 10_000) {
        write(`${chunk.join('\n')}\n`);
        chunk = [];
      }
    }
    if (chunk.length > 0) write(`${chunk.join('\n')}\n`);
  } finally {
    closeSync(fd);
  }
  return { path, rows, bytes, invalidRows };
}

/**
 * The synthetic model's definition: every numeric and categorical column as a feature (missing
 * cells passed to XGBoost as missing), the hash split, and small training settings (10 rounds of
 * depth 3), since the scale benchmarks measure the prepare, not the training.
 */
export function syntheticDefinition(): ModelDefinition {
  return parseModelDefinition(
    {
      name: SYNTHETIC_MODEL,
      description: 'Synthetic rows for the scale benchmarks (bench/support/synthetic.ts).',
      spec: {
        version: 1,
        label: { column: 'label', positive: '1', negative: '0' },
        features: [
          ...NUMERIC.map((name) => ({
            name,
            type: 'numeric',
            ...(name === 'n_heavy' ? { transforms: [{ clip: { lower: 0.01, upper: 0.99 } }] } : {}),
            ...(name === 'n_amount' ? { transforms: ['log1p'] } : {}),
          })),
          ...CATEGORICAL.map(([name]) => ({ name, type: 'categorical' })),
        ],
        slices: [{ name: 'c3', feature: 'c_3' }],
      },
      training: {
        seed: 42,
        split: 'hash',
        validationFraction: 0.2,
        goldenFraction: 0.1,
        maxInvalidFraction: 0.05,
        hyperparameters: { num_round: 10, max_depth: 3, eta: 0.3 },
      },
      // The guardrail is not what this data is for: lenient bounds, so a run registers its candidate.
      guardrail: { minAuc: 0.5, minGoldenAuc: 0.5 },
    },
    'bench/support/synthetic.ts',
  );
}
