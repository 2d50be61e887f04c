import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildBaseline } from '../../core/drift/baseline.ts';
import { rowIdentity } from '../../core/features/golden.ts';
import { type ModelDefinition, parseModelDefinition } from '../../core/model/definition.ts';
import { seededRandom } from '../../core/random.ts';
import { type RawChunk, readChunk } from '../../core/snapshot/chunk.ts';
import { fitOnTraining } from '../../core/snapshot/fit.ts';
import { evalRowsJsonl, featureMatrixCsv } from '../../core/snapshot/manifest.ts';
import {
  type ChunkSummary,
  EXACT_DISTINCT_LIMIT,
  mergeAll,
  mergeStats,
  type NumericStats,
  type PartialStats,
  SKETCH_RELATIVE_ACCURACY,
  sketched,
  summarizeChunk,
  weightedValues,
} from '../../core/snapshot/partial-stats.ts';
import { type ChunkParts, transformChunk } from '../../core/snapshot/pass2.ts';
import {
  baselineFromStats,
  fitFromStats,
  reduceStats,
  weightedQuantile,
} from '../../core/snapshot/reduce.ts';
import { splitSnapshot } from '../../core/snapshot/split.ts';
import { parseDataCsv, validateRows } from '../../core/snapshot/validate.ts';

const creditJson = JSON.parse(readFileSync('models/credit.json', 'utf8')) as {
  spec: { features: { name: string }[] };
};
const credit = parseModelDefinition(creditJson, 'models/credit.json');

/**
 * The demo model with every fitted statistic in use: medians, a mean, clips after a log1p and after
 * imputation, a categorical mode, and a boolean ("Records" is yes/no).
 */
const fitted = parseModelDefinition(
  {
    ...creditJson,
    spec: {
      ...creditJson.spec,
      features: creditJson.spec.features.map((f) => {
        const change: Record<string, object> = {
          Income: {
            missing: { impute: 'median' },
            transforms: ['log1p', { clip: { lower: 0.01, upper: 0.99 } }],
          },
          Assets: { missing: { impute: 'median' }, transforms: [{ clip: { lower: 0, upper: 0.9 } }] },
          Debt: { missing: { impute: 'mean' } },
          Amount: {
            transforms: [{ clip: { lower: 0.05, upper: 0.95 } }, { clip: { lower: 0.1, upper: 0.9 } }],
          },
          Price: { transforms: ['log1p'] },
          Home: { missing: { impute: 'mode' } },
          Records: { type: 'boolean', missing: { impute: 'mode' } },
        };
        return { ...f, ...(change[f.name] ?? {}) };
      }),
    },
  },
  'credit (fitted statistics)',
);

/** The demo data with three bad rows added, so quarantine is exercised too. */
const demoText = (() => {
  const lines = readFileSync('data/credit_data.csv', 'utf8').trimEnd().split('\n');
  lines.splice(100, 0, '"good",9,"rent",60,30,"married","no","freelance",73,abc,0,0,800,846');
  lines.splice(2000, 0, '"maybe",9,"rent",60,30,"married","no","freelance",73,129,0,0,800,846');
  lines.splice(3000, 0, '"good",9,"rent",60');
  return `${lines.join('\n')}\n`;
})();

/** Cuts CSV text (one row per line) into `count` chunks at row boundaries drawn from `seed`. */
function chunksOf(text: string, count: number, seed: number): RawChunk[] {
  const [header, ...rows] = text.trimEnd().split('\n');
  const rand = seededRandom(seed);
  const cuts = new Set<number>();
  while (cuts.size < count - 1) cuts.add(1 + Math.floor(rand() * (rows.length - 1)));
  const bounds = [0, ...[...cuts].sort((a, b) => a - b), rows.length];
  return bounds.slice(1).map((end, i) => ({
    text: `${header}\n${rows.slice(bounds[i], end).join('\n')}\n`,
    startLine: bounds[i]! + 2,
    source: `demo#part-${i}`,
  }));
}

const seed = 42;

/** The single-function path on the whole text (lambdas/prepare-features/core.ts, less the lake). */
function singleFunction(
  def: ModelDefinition,
  text: string,
  goldenRows?: Parameters<typeof splitSnapshot>[3],
) {
  const rows = validateRows(def, parseDataCsv(text, 'demo'));
  const { splits } = splitSnapshot(def, rows.valid, seed, goldenRows);
  const fit = fitOnTraining(def.spec, splits);
  const baseline = buildBaseline({
    model: def.name,
    snapshotId: 'snap',
    featureSchemaHash: fit.featureSchemaHash,
    createdAt: '2026-01-01T00:00:00.000Z',
    spec: def.spec,
    transform: fit.transform,
    rows: splits.train.map((r) => r.row),
    quantileBins: def.drift.quantileBins,
  });
  return { rows, splits, fit, baseline };
}

/** Both passes and the reduce over `chunks`. */
function twoPass(def: ModelDefinition, chunks: readonly RawChunk[], goldenIdentities?: ReadonlySet<string>) {
  const options = { seed, ...(goldenIdentities ? { goldenIdentities } : {}) };
  const summaries: ChunkSummary[] = chunks.map((c) => summarizeChunk(def, c, options));
  const stats = mergeAll(
    def.spec,
    summaries.map((s) => s.stats),
  );
  const { fitted: fit, baseline } = reduceStats(def, stats, {
    model: def.name,
    snapshotId: 'snap',
    createdAt: '2026-01-01T00:00:00.000Z',
  });
  const parts: ChunkParts[] = chunks.map((c) => transformChunk(def, c, fit, options));
  const joined = (pick: (p: ChunkParts) => string) => parts.map(pick).join('');
  return {
    stats,
    fit,
    baseline,
    quarantined: summaries.flatMap((s) => s.quarantined),
    files: {
      train: joined((p) => p.splits.train),
      validation: joined((p) => p.splits.validation),
      golden: joined((p) => p.splits.golden),
      evalRows: joined((p) => p.evalRows.validation) + joined((p) => p.evalRows.golden),
    },
    parts,
  };
}

/** The lines of each split, from the evaluation rows and the split files' row counts. */
function membership(run: ReturnType<typeof twoPass>) {
  const evalLines = run.files.evalRows
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as { split: string; line: number });
  return {
    validation: evalLines.filter((e) => e.split === 'validation').map((e) => e.line),
    golden: evalLines.filter((e) => e.split === 'golden').map((e) => e.line),
    trainRows: run.files.train.split('\n').length - 1,
  };
}

describe('two-pass prepare on the demo data', () => {
  for (const def of [credit, fitted]) {
    describe(def === credit ? 'models/credit.json' : 'credit with every fitted statistic', () => {
      const today = singleFunction(def, demoText);
      const runs = [1, 3, 17].map((n) => ({ n, run: twoPass(def, chunksOf(demoText, n, 7 + n)) }));

      it('gives deep-equal merged statistics, transform and baseline for 1, 3 and 17 chunks', () => {
        const [one, ...others] = runs;
        expect(one!.run.stats.splits.train).toBeGreaterThan(3000);
        for (const { run } of others) {
          expect(run.stats).toEqual(one!.run.stats);
          expect(run.fit).toEqual(one!.run.fit);
          expect(run.baseline).toEqual(one!.run.baseline);
        }
      });

      it('gives the same split membership and the same concatenated files for 1, 3 and 17 chunks', () => {
        const [one, ...others] = runs;
        expect(runs.map((r) => r.run.parts.length)).toEqual([1, 3, 17]);
        for (const { run } of others) {
          expect(membership(run)).toEqual(membership(one!.run));
          expect(run.files).toEqual(one!.run.files);
          expect(run.quarantined).toEqual(one!.run.quarantined);
        }
      });

      it('reproduces the single-function snapshot exactly (hash split, every feature kept exactly)', () => {
        const { run } = runs[2]!;
        expect(run.fit).toEqual(today.fit);
        expect(run.baseline).toEqual(today.baseline);
        for (const split of ['train', 'validation', 'golden'] as const) {
          expect(run.files[split]).toBe(
            today.splits[split].length
              ? featureMatrixCsv(def.spec, today.fit.transform, today.splits[split])
              : '',
          );
        }
        expect(run.files.evalRows).toBe(evalRowsJsonl(today.splits));
        expect(run.quarantined).toEqual(today.rows.quarantined);
        expect(run.quarantined.map((q) => q.line)).toEqual([101, 2001, 3001]);
        expect(run.stats.rows).toEqual({
          total: today.rows.total,
          valid: today.rows.valid.length,
          quarantined: 3,
          goldenDuplicates: 0,
        });
      });
    });
  }

  it('leaves copies of golden-set rows out as the single-function split does', () => {
    const golden = validateRows(
      credit,
      parseDataCsv(readFileSync('data/credit_golden.csv', 'utf8'), 'golden'),
    );
    const identities = new Set(golden.valid.map((r) => rowIdentity(credit.spec, r.row, r.label)));
    const today = singleFunction(credit, demoText, golden.valid);
    const run = twoPass(credit, chunksOf(demoText, 5, 3), identities);
    expect(run.stats.rows.goldenDuplicates).toBeGreaterThanOrEqual(200);
    expect(run.stats.splits.golden).toBe(0);
    expect(run.fit).toEqual(today.fit);
    expect(run.files.train).toBe(featureMatrixCsv(credit.spec, today.fit.transform, today.splits.train));
    expect(run.files.validation).toBe(
      featureMatrixCsv(credit.spec, today.fit.transform, today.splits.validation),
    );
  });
});

/** A CSV with a continuous numeric feature `x` (too many distinct values to keep exactly). */
function continuousCsv(rows: number, seedValue: number): string {
  const rand = seededRandom(seedValue);
  const lines = ['y,x,c'];
  for (let i = 0; i < rows; i++) {
    // Spread over six decades, with negatives, zeros and blanks among them.
    const r = rand();
    const x = r < 0.02 ? '' : r < 0.04 ? '0' : ((rand() < 0.1 ? -1 : 1) * 10 ** (rand() * 6)).toString();
    lines.push(`${rand() < 0.3 ? 'yes' : 'no'},${x},${rand() < 0.5 ? 'a' : 'b'}`);
  }
  return `${lines.join('\n')}\n`;
}

const continuous = parseModelDefinition(
  {
    name: 'cont',
    spec: {
      version: 1,
      label: { column: 'y', positive: 'yes', negative: 'no' },
      features: [
        {
          name: 'x',
          type: 'numeric',
          missing: { impute: 'mean' },
          transforms: [{ clip: { lower: 0.05, upper: 0.95 } }],
        },
        { name: 'c', type: 'categorical', minCount: 1 },
      ],
    },
    training: { seed, split: 'hash', validationFraction: 0.2, goldenFraction: 0.1 },
  },
  'cont',
);

describe('merging pass-1 statistics', () => {
  const text = continuousCsv(4000, 11);
  const [header, ...rows] = text.trimEnd().split('\n');

  it('gives deep-equal statistics for any chunking and any merge order (exact and sketched features)', () => {
    const whole = summarizeChunk(continuous, { text, startLine: 2, source: 'whole' }, { seed }).stats;
    expect((whole.features.x as NumericStats).sketch).toBeDefined();
    const demo = summarizeChunk(fitted, chunksOf(demoText, 1, 0)[0]!, { seed }).stats;
    const demoRows = demoText.trimEnd().split('\n');
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.uniqueArray(fc.integer({ min: 1, max: 3999 }), { maxLength: 12 }),
        fc.array(fc.tuple(fc.nat(), fc.nat(), fc.boolean()), { minLength: 20, maxLength: 20 }),
        (useDemo, rawCuts, picks) => {
          const [head, ...body] = useDemo ? demoRows : [header!, ...rows];
          const def = useDemo ? fitted : continuous;
          const cuts = [0, ...rawCuts.filter((c) => c < body.length).sort((a, b) => a - b), body.length];
          let parts: PartialStats[] = cuts.slice(1).map(
            (end, i) =>
              summarizeChunk(
                def,
                {
                  text: `${head}\n${body.slice(cuts[i], end).join('\n')}\n`,
                  startLine: cuts[i]! + 2,
                  source: 'p',
                },
                { seed },
              ).stats,
          );
          // Merge two parts at a time, chosen by the generated picks, each pair in either order.
          let k = 0;
          while (parts.length > 1) {
            const [i, j, swap] = picks[k++ % picks.length]!;
            const a = i % parts.length;
            const b = (a + 1 + (j % (parts.length - 1))) % parts.length;
            const merged = swap ? mergeStats(parts[b]!, parts[a]!) : mergeStats(parts[a]!, parts[b]!);
            parts = parts.filter((_, at) => at !== a && at !== b).concat([merged]);
          }
          expect(parts[0]).toEqual(useDemo ? demo : whole);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('keeps a numeric feature in buckets bounded by its value range, not its row count', () => {
    const bucketsOf = (n: number) => {
      const s = summarizeChunk(continuous, { text: continuousCsv(n, n), startLine: 2, source: 'n' }, { seed })
        .stats.features.x as NumericStats;
      expect(s.values).toBeUndefined();
      return {
        s,
        buckets: s.sketch!.positive.length + s.sketch!.negative.length,
        size: JSON.stringify(s).length,
      };
    };
    const small = bucketsOf(5_000);
    const large = bucketsOf(50_000);
    // Six decades at 1% accuracy: ln(1e6) / ln((1 + 0.01) / (1 - 0.01)) = 691 buckets per sign at most.
    const perSign =
      Math.ceil(Math.log(1e6) / Math.log((1 + SKETCH_RELATIVE_ACCURACY) / (1 - SKETCH_RELATIVE_ACCURACY))) +
      1;
    expect(large.buckets).toBeLessThanOrEqual(2 * perSign);
    expect(large.s.count).toBeGreaterThan(30_000);
    // Ten times the rows: the buckets fill in, but the stats grow far less than the rows.
    expect(large.size).toBeLessThan(small.size * 2);
    expect(large.buckets).toBeGreaterThan(small.buckets * 0.9);
  });

  it('keeps a feature exactly up to the distinct-value limit and sketches it past it', () => {
    const csv = (distinct: number) =>
      `y,x,c\n${Array.from({ length: distinct }, (_, i) => `${i % 2 ? 'yes' : 'no'},${i + 0.5},a`).join('\n')}\n`;
    const stats = (distinct: number) => {
      const all = summarizeChunk(
        { ...continuous, training: { ...continuous.training, validationFraction: 0, goldenFraction: 0 } },
        { text: csv(distinct), startLine: 2, source: 'd' },
        { seed },
      );
      return all.stats.features.x as NumericStats;
    };
    expect(stats(EXACT_DISTINCT_LIMIT).values).toHaveLength(EXACT_DISTINCT_LIMIT);
    expect(stats(EXACT_DISTINCT_LIMIT + 1).values).toBeUndefined();
    expect(stats(EXACT_DISTINCT_LIMIT + 1).sketch!.positive.length).toBeGreaterThan(100);
  });

  it('keeps the sum exactly, so the mean does not depend on the order values are added in', () => {
    const def = {
      ...continuous,
      training: { ...continuous.training, validationFraction: 0, goldenFraction: 0 },
    };
    const csv = (xs: string[]) => `y,x,c\n${xs.map((x, i) => `${i % 2 ? 'yes' : 'no'},${x},a`).join('\n')}\n`;
    const mean = (xs: string[]) =>
      fitFromStats(
        def.spec,
        summarizeChunk(def, { text: csv(xs), startLine: 2, source: 'm' }, { seed }).stats,
      ).transform.features.x!.impute;
    // Added left to right in doubles, 1e16 + 1 - 1e16 is 0; the exact sum is 1.
    expect(1e16 + 1 - 1e16).toBe(0);
    expect(mean(['1e16', '1', '-1e16'])).toBe(1 / 3);
    expect(mean(['-1e16', '1e16', '1'])).toBe(1 / 3);
    expect(mean(['0.1', '0.2', '0.3'])).toBe(0.2);
    expect(mean(['-2.5', '-2.5'])).toBe(-2.5);
    expect(mean(['5e-324', '5e-324'])).toBe(5e-324);
  });

  it('sketches quantiles within the relative accuracy of the exact ones, negatives and zeros included', () => {
    const sketchedStats = summarizeChunk(continuous, { text, startLine: 2, source: 'w' }, { seed }).stats;
    const x = sketchedStats.features.x as NumericStats;
    expect(x.sketch!.negative.length).toBeGreaterThan(0);
    expect(x.sketch!.zeros).toBeGreaterThan(0);
    // The exact training values, from the rows both passes read as training rows.
    const values = readChunk(continuous, { text, startLine: 2, source: 'w' }, { seed })
      .rows.filter((r) => r.split === 'train')
      .map((r) => r.row.x)
      .filter((v): v is number => typeof v === 'number');
    values.sort((a, b) => a - b);
    expect(values).toHaveLength(x.count);
    const sketchValues = weightedValues(x);
    expect(weightedQuantile(sketchValues, 0)).toBe(values[0]);
    expect(weightedQuantile(sketchValues, 1)).toBe(values[values.length - 1]);
    for (const q of [0.02, 0.2, 0.5, 0.8, 0.98]) {
      const exact = weightedQuantile(
        values.map((v) => [v, 1]),
        q,
      );
      expect(Math.abs(weightedQuantile(sketchValues, q) - exact)).toBeLessThanOrEqual(
        SKETCH_RELATIVE_ACCURACY * Math.abs(exact),
      );
    }
  });

  it('fails with the feature named when statistics of different specs are merged', () => {
    const a = summarizeChunk(
      continuous,
      { text: continuousCsv(50, 1), startLine: 2, source: 'a' },
      { seed },
    ).stats;
    const b = summarizeChunk(fitted, chunksOf(demoText, 1, 0)[0]!, { seed }).stats;
    expect(() => mergeStats(a, b)).toThrow(/different features: \[x, c\] and \[Seniority/);
  });
});

describe('sketched statistics on the demo data', () => {
  const exact = twoPass(fitted, chunksOf(demoText, 3, 1)).stats;
  const sketch = sketched(exact);

  it('stay within the sketch accuracy of the exact clip bounds, medians and mean', () => {
    const a = fitFromStats(fitted.spec, exact).transform.features;
    const b = fitFromStats(fitted.spec, sketch).transform.features;
    const close = (x: number, y: number) =>
      expect(Math.abs(x - y)).toBeLessThanOrEqual(SKETCH_RELATIVE_ACCURACY * Math.abs(x) + 1e-9);
    for (const name of ['Income', 'Assets', 'Debt', 'Amount', 'Price']) {
      if (typeof a[name]!.impute === 'number') close(a[name]!.impute as number, b[name]!.impute as number);
      (a[name]!.clips ?? []).forEach(([lo, hi], i) => {
        close(lo, b[name]!.clips![i]![0]);
        close(hi, b[name]!.clips![i]![1]);
      });
    }
    // The mean is exact either way: the sum is kept exactly, not sketched.
    expect(b.Debt!.impute).toBe(a.Debt!.impute);
  });

  it('prints the differences with TWO_PASS_TABLE=1', () => {
    const a = fitFromStats(fitted.spec, exact);
    const b = fitFromStats(fitted.spec, sketch);
    const header = { model: 'credit', snapshotId: 's', createdAt: 'now' };
    const edgesA = baselineFromStats(fitted, exact, a, header).features;
    const edgesB = baselineFromStats(fitted, sketch, b, header).features;
    const lines = [
      '| feature | statistic | exact (single function) | sketch | relative difference |',
      '|---|---|---|---|---|',
    ];
    const row = (f: string, what: string, x: number, y: number) =>
      lines.push(
        `| ${f} | ${what} | ${x} | ${y} | ${x === y ? '0' : (Math.abs(x - y) / Math.abs(x)).toExponential(2)} |`,
      );
    for (const f of fitted.spec.features) {
      if (f.type !== 'numeric') continue;
      const fa = a.transform.features[f.name]!;
      const fb = b.transform.features[f.name]!;
      const med = (st: PartialStats) =>
        weightedQuantile(weightedValues(st.features[f.name] as NumericStats), 0.5);
      if (typeof fa.impute === 'number')
        row(f.name, `impute ${JSON.stringify(f.missing)}`, fa.impute, fb.impute as number);
      else row(f.name, 'median', med(exact), med(sketch));
      (fa.clips ?? []).forEach(([lo, hi], i) => {
        row(f.name, `clip ${i + 1} lower`, lo, fb.clips![i]![0]);
        row(f.name, `clip ${i + 1} upper`, hi, fb.clips![i]![1]);
      });
      const ea = edgesA.find((e) => e.feature === f.name)!;
      const eb = edgesB.find((e) => e.feature === f.name)!;
      if (ea.type === 'numeric' && eb.type === 'numeric') {
        lines.push(`| ${f.name} | drift edges | ${ea.edges.join(' ')} | ${eb.edges.join(' ')} | |`);
        lines.push(`| ${f.name} | drift counts | ${ea.counts.join(' ')} | ${eb.counts.join(' ')} | |`);
      }
    }
    if (process.env.TWO_PASS_TABLE) console.log(lines.join('\n'));
    // On this data the sketch moves the medians and bounds off the data values: another schema hash.
    expect(b.featureSchemaHash).not.toBe(a.featureSchemaHash);
  });
});

describe('two-pass prepare refuses what it cannot do', () => {
  it('fails a time split, naming it', () => {
    const def = parseModelDefinition(
      {
        ...continuous,
        spec: { ...continuous.spec, timeColumn: 't' },
        training: { ...continuous.training, split: 'time' },
      },
      'time',
    );
    expect(() =>
      summarizeChunk(def, { text: 'y,x,c,t\nyes,1,a,2\n', startLine: 2, source: 's' }, { seed }),
    ).toThrow(/training.split "time" .*two-pass prepare does not do yet/);
  });

  it('fails a chunk whose start line is not a data line', () => {
    expect(() =>
      summarizeChunk(
        continuous,
        { text: continuousCsv(3, 1), startLine: 1, source: 's3://b/k#part-0' },
        { seed },
      ),
    ).toThrow(
      's3://b/k#part-0: startLine must be a whole number of at least 2 (line 1 is the header), got 1',
    );
  });

  it('fails the reduce when the training split lacks a class, as the single-function split does', () => {
    const text = `y,x,c\n${Array.from({ length: 40 }, (_, i) => `no,${i},a`).join('\n')}\n`;
    const stats = summarizeChunk(continuous, { text, startLine: 2, source: 's' }, { seed }).stats;
    expect(() =>
      reduceStats(continuous, stats, { model: 'cont', snapshotId: 's', createdAt: 'now' }),
    ).toThrow(/The training split has \d+ rows of a single class/);
  });

  it('splits random rows by a seeded hash: another seed, other rows; the same seed, the same rows', () => {
    const def = parseModelDefinition(
      { ...continuous, training: { ...continuous.training, split: 'random' } },
      'random',
    );
    const text = continuousCsv(2000, 5);
    const lines = (s: number, chunks: number) =>
      chunksOf(text, chunks, s)
        .map((c) => transformChunk(def, c, twoPassFit(def, text, s), { seed: s }).evalRows.validation)
        .join('');
    expect(lines(1, 1)).toBe(lines(1, 9));
    expect(lines(1, 1)).not.toBe(lines(2, 1));
    const validation = lines(1, 1).trimEnd().split('\n').length;
    expect(validation).toBeGreaterThan(2000 * 0.2 * 0.8);
    expect(validation).toBeLessThan(2000 * 0.2 * 1.2);
  });
});

function twoPassFit(def: ModelDefinition, text: string, s: number) {
  return fitFromStats(def.spec, summarizeChunk(def, { text, startLine: 2, source: 't' }, { seed: s }).stats);
}
