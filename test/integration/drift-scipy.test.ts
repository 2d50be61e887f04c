/**
 * The drift statistics against SciPy (Debian's python3-scipy, run by /usr/bin/python3): the binned
 * KS statistic against `scipy.stats.ks_2samp`, the Jensen–Shannon distance against
 * `scipy.spatial.distance.jensenshannon(base=2)`, and the PSI against SciPy's relative entropy.
 *
 * Python bins the raw values itself (`numpy.searchsorted(edges, x, side="left")`, the bin rule
 * `(-inf, e0], (e0, e1], ...`), so the bin rule is checked too. Binned KS is compared with
 * `ks_2samp` on the samples' bin indices: two samples that take one value per bin have empirical
 * CDFs that are steps at those values, and ks_2samp's statistic (the largest gap of the two
 * right-continuous CDFs over the pooled values) is then the largest gap of the cumulative bin
 * shares, which is what `binnedKs` computes; it also equals the largest gap of the raw samples'
 * CDFs evaluated at the bin edges. PSI is the symmetrised Kullback–Leibler divergence of the
 * floored shares, `sum(rel_entr(a, e) + rel_entr(e, a))`.
 *
 * Without SciPy the suite fails (it never skips): install it with `apt-get install -y python3-scipy`.
 */
import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { DriftAccumulator } from '../../core/drift/accumulator.ts';
import { buildBaseline } from '../../core/drift/baseline.ts';
import { BinLayout, numericBin, quantileEdges } from '../../core/drift/bins.ts';
import { judgeDrift } from '../../core/drift/judge.ts';
import { binnedKs, jsDistance, PSI_FLOOR, psi } from '../../core/drift/statistics.ts';
import type { NumericFeatureBaseline } from '../../core/drift/types.ts';
import { type CleanRow, fitTransform } from '../../core/features/transform.ts';
import { seededRandom } from '../../core/random.ts';
import { credit, creditRows } from '../support/fixtures.ts';

const PYTHON = '/usr/bin/python3';
const INSTALL = 'apt-get install -y python3-scipy';

const SCRIPT = `
import json, sys
import numpy as np
from scipy.spatial.distance import jensenshannon
from scipy.special import rel_entr
from scipy.stats import ks_2samp

cases = json.load(sys.stdin)
out = {"ks": [], "js": [], "psi": []}
for c in cases["ks"]:
    a, b, edges = (np.asarray(c[k], dtype=np.float64) for k in ("a", "b", "edges"))
    ia = np.searchsorted(edges, a, side="left")
    ib = np.searchsorted(edges, b, side="left")
    gaps = np.abs(np.searchsorted(np.sort(a), edges, side="right") / len(a)
                  - np.searchsorted(np.sort(b), edges, side="right") / len(b))
    out["ks"].append({
        "binned": float(ks_2samp(ia, ib).statistic),
        "at_edges": float(gaps.max()) if len(edges) else 0.0,
        "raw": float(ks_2samp(a, b).statistic),
        "counts_a": np.bincount(ia, minlength=len(edges) + 1).tolist(),
        "counts_b": np.bincount(ib, minlength=len(edges) + 1).tolist(),
    })
for c in cases["js"]:
    out["js"].append(float(jensenshannon(np.asarray(c["p"], dtype=np.float64), np.asarray(c["q"], dtype=np.float64), base=2)))
for c in cases["psi"]:
    e = np.maximum(np.asarray(c["e"], dtype=np.float64) / sum(c["e"]), c["floor"])
    a = np.maximum(np.asarray(c["a"], dtype=np.float64) / sum(c["a"]), c["floor"])
    out["psi"].append(float(np.sum(rel_entr(a, e) + rel_entr(e, a))))
json.dump(out, sys.stdout)
`;

interface KsCase {
  a: number[];
  b: number[];
  edges: number[];
}
interface SciPyResults {
  ks: { binned: number; at_edges: number; raw: number; counts_a: number[]; counts_b: number[] }[];
  js: number[];
  psi: number[];
}

/** Fails, with the command that installs it, unless /usr/bin/python3 can import SciPy. */
function requireSciPy(): void {
  const probe = spawnSync(PYTHON, ['-c', 'import numpy, scipy.stats, scipy.spatial, scipy.special'], {
    encoding: 'utf8',
  });
  if (probe.error) {
    throw new Error(
      `${PYTHON} could not run (${probe.error.message}): install Python and SciPy with ${INSTALL}`,
    );
  }
  if (probe.status !== 0) {
    throw new Error(`SciPy is missing for ${PYTHON}; these checks need it: ${INSTALL}\n${probe.stderr}`);
  }
}

/** Runs the cases through SciPy. */
function scipy(cases: {
  ks: KsCase[];
  js: { p: number[]; q: number[] }[];
  psi: { e: number[]; a: number[] }[];
}) {
  const run = spawnSync(PYTHON, ['-c', SCRIPT], {
    input: JSON.stringify({ ...cases, psi: cases.psi.map((c) => ({ ...c, floor: PSI_FLOOR })) }),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.status !== 0 || run.error) {
    throw new Error(
      `The SciPy reference script failed (${run.error?.message ?? `exit ${run.status}`}):\n${run.stderr}`,
    );
  }
  return JSON.parse(run.stdout) as SciPyResults;
}

/** Normal draws by Box–Muller, from a seed. */
function normals(n: number, seed: number, mean = 0, sd = 1): number[] {
  const rand = seededRandom(seed);
  return Array.from({ length: n }, () => {
    const u = 1 - rand();
    const v = rand();
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  });
}

function histogram(values: readonly number[], edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const v of values) counts[numericBin(edges, v)]!++;
  return counts;
}

const deciles = (values: readonly number[], bins = 10) =>
  quantileEdges(
    [...values].sort((x, y) => x - y),
    bins,
  );

const base = normals(2000, 1);
const ksCases: KsCase[] = [
  { a: base, b: base, edges: deciles(base) },
  { a: base, b: normals(1500, 2, 0.3, 1.2), edges: deciles(base) },
  { a: base, b: normals(800, 3, -0.1), edges: deciles(base, 20) },
  { a: base, b: normals(500, 4, 100), edges: deciles(base) },
  // Integer values: many ties at the cut points, so the edges collapse.
  { a: base.map((x) => Math.round(x * 2)), b: normals(700, 5, 0.5).map((x) => Math.round(x * 2)), edges: [] },
];
ksCases[4]!.edges = deciles(ksCases[4]!.a);

const jsCases = [
  { p: [10, 20, 30, 40], q: [10, 20, 30, 40] },
  { p: [100, 100, 100, 100], q: [10, 20, 30, 40] },
  { p: [5, 0, 3, 0, 2], q: [0, 4, 1, 6, 0] },
  { p: [10, 0], q: [0, 10] },
  { p: [1, 0], q: [1, 1] },
];
const psiCases = [
  { e: [100, 100, 100, 100], a: [10, 20, 30, 40] },
  { e: [10, 20, 30, 20, 10, 5, 3, 1, 1, 0], a: [0, 0, 0, 0, 0, 5, 10, 30, 30, 25] },
  { e: [3, 7], a: [3, 7] },
];

describe('drift statistics against SciPy', () => {
  let ref: SciPyResults;
  // The credit data's incomes: training rows against half of them scaled by 1.5.
  const rows = creditRows();
  const train = rows.filter((_, i) => i % 2 === 0);
  const served = rows
    .filter((_, i) => i % 2 === 1)
    .map(
      (r, i): CleanRow => ({
        ...r,
        Income: typeof r.Income === 'number' && i % 2 === 0 ? r.Income * 1.5 : (r.Income ?? null),
      }),
    );
  const baseline = buildBaseline({
    model: 'credit',
    snapshotId: 's',
    featureSchemaHash: 'h',
    createdAt: 'now',
    spec: credit.spec,
    transform: fitTransform(credit.spec, train),
    rows: train,
    quantileBins: 10,
  });
  const income = baseline.features.find((f) => f.feature === 'Income') as NumericFeatureBaseline;
  const incomes = (rs: readonly CleanRow[]) =>
    rs.map((r) => r.Income).filter((v): v is number => typeof v === 'number');

  beforeAll(() => {
    requireSciPy();
    ref = scipy({
      ks: [...ksCases, { a: incomes(train), b: incomes(served), edges: income.edges }],
      js: jsCases,
      psi: psiCases,
    });
  });

  it('bins values as numpy.searchsorted(edges, x, side="left") does', () => {
    ksCases.forEach((c, i) => {
      expect(histogram(c.a, c.edges), `case ${i}`).toEqual(ref.ks[i]!.counts_a);
      expect(histogram(c.b, c.edges), `case ${i}`).toEqual(ref.ks[i]!.counts_b);
    });
  });

  it('binned KS equals ks_2samp on the bin indices and the raw CDFs gap at the edges, and is at most the raw KS', () => {
    ksCases.forEach((c, i) => {
      const ours = binnedKs(histogram(c.a, c.edges), histogram(c.b, c.edges));
      const r = ref.ks[i]!;
      expect(ours, `case ${i}`).toBeCloseTo(r.binned, 12);
      expect(ours, `case ${i}`).toBeCloseTo(r.at_edges, 12);
      expect(ours, `case ${i}`).toBeLessThanOrEqual(r.raw + 1e-12);
    });
    expect(ref.ks[0]!.binned).toBe(0);
    // All of a far-away sample lands in the top bin, which holds a tenth of the baseline: on the
    // bins the gap is 0.9 where the raw samples' is 1.
    expect(ref.ks[3]!.raw).toBe(1);
    expect(ref.ks[3]!.binned).toBeCloseTo(0.9, 12);
    expect(ref.ks[1]!.binned).toBeGreaterThan(0.05);
  });

  it('Jensen–Shannon distance equals scipy.spatial.distance.jensenshannon(p, q, base=2)', () => {
    jsCases.forEach((c, i) => {
      expect(jsDistance(c.p, c.q), `case ${i}`).toBeCloseTo(ref.js[i]!, 12);
    });
    expect(ref.js[3]).toBeCloseTo(1, 12);
  });

  it('PSI equals the symmetrised relative entropy of the floored shares', () => {
    psiCases.forEach((c, i) => {
      expect(psi(c.e, c.a), `case ${i}`).toBeCloseTo(ref.psi[i]!, 10);
    });
  });

  it("the drift report's KS and JS for a feature are SciPy's on the baseline's bins", () => {
    const counts = new DriftAccumulator(new BinLayout(baseline.features));
    for (const row of served) counts.add(row, 0.5);
    const report = judgeDrift(baseline, counts, credit.drift, {
      model: 'credit',
      version: 1,
      route: 'production',
      windowStart: 'a',
      windowEnd: 'b',
      baselineKey: 'k',
      reportKey: 'r',
    });
    const r = ref.ks[ksCases.length]!;
    expect(income.counts).toEqual(r.counts_a);
    const result = report.features.find((f) => f.feature === 'Income')!;
    expect(result.ks).toBeCloseTo(r.binned, 12);
    expect(result.ks).toBeGreaterThan(0.05);
    const js = scipy({ ks: [], js: [{ p: r.counts_a, q: r.counts_b }], psi: [] }).js[0]!;
    expect(result.js).toBeCloseTo(js, 12);
  });
});
