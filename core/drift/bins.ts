/**
 * The bins a feature's values are counted in: numeric quantile cut points fixed on the training
 * split, and categorical vocabularies with one "other" bin. The baseline builder counts the
 * training split with these functions and the drift job counts served values with the same ones,
 * so a value lands in the same bin on both sides.
 */
import { quantile } from '../features/transform.ts';
import type { FeatureBaseline } from './types.ts';

/**
 * Interior cut points at the `1/bins, 2/bins, ...` quantiles of `sorted` (ascending), with
 * numpy's default (linear) interpolation, repeated cut points dropped: at most `bins - 1` edges,
 * strictly ascending, the same for the same values in any order. Empty for no values.
 */
export function quantileEdges(sorted: readonly number[], bins: number): number[] {
  if (!Number.isInteger(bins) || bins < 2) {
    throw new RangeError(`quantile bins must be a whole number of at least 2, got ${bins}`);
  }
  const edges: number[] = [];
  if (sorted.length === 0) return edges;
  for (let i = 1; i < bins; i++) {
    // + 0 folds -0 into 0, so JSON and the comparisons below see one zero.
    const edge = quantile(sorted, i / bins) + 0;
    if (edges.length === 0 || edge > edges[edges.length - 1]!) edges.push(edge);
  }
  return edges;
}

/** Up to this many edges a value's bin is counted by a linear scan; above, by binary search. */
const LINEAR_EDGES = 16;

/**
 * A numeric value's bin among `edges` (ascending): `(-inf, e0]` is 0, `(e0, e1]` is 1, ...,
 * `(e[k-1], +inf)` is `k` — the number of edges below the value. For the usual few edges (deciles:
 * 9) it adds up the comparisons without a branch, which measured nearly twice as fast as a binary
 * search's unpredictable branches on random values (BENCHMARKS.md, drift); for many edges it
 * searches.
 */
export function numericBin(edges: ArrayLike<number>, value: number): number {
  const n = edges.length;
  if (n <= LINEAR_EDGES) {
    let below = 0;
    for (let i = 0; i < n; i++) below += +(edges[i]! < value);
    return below;
  }
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Cells of a numeric feature's lookup grid, spread evenly between its first and last edge. */
const GRID_CELLS = 512;

/**
 * A lookup table that places a value among a feature's edges in one read and, mostly, one compare:
 * the span from the first to the last edge cut into equal cells, each cell holding the number of
 * edges that lie in earlier cells. A value's cell gives a lower bound on its bin; the edges in its own
 * cell (usually none) are then stepped over. It counts what {@link numericBin} counts (property-tested).
 */
export interface BinGrid {
  readonly lo: number;
  readonly hi: number;
  /** Cells per unit of value. */
  readonly scale: number;
  /** Per cell, the edges in earlier cells. */
  readonly table: Uint8Array;
}

/** The cell of `value` (first edge < value <= last edge) in a grid from `lo` at `scale`. */
function cellOf(value: number, lo: number, scale: number): number {
  return ((value - lo) * scale) | 0;
}

/**
 * A grid for `edges`, or undefined when one would not help or could not be exact: fewer than two
 * edges, more bins than a byte counts, or a span so narrow that its scale is not finite.
 */
export function binGrid(edges: Float64Array): BinGrid | undefined {
  const k = edges.length;
  if (k < 2 || k > 255) return undefined;
  const lo = edges[0]!;
  const hi = edges[k - 1]!;
  const scale = GRID_CELLS / (hi - lo);
  if (!Number.isFinite(scale) || scale <= 0) return undefined;
  // Counted with the same arithmetic as a value's cell: as the cell is monotone in the value, an edge
  // in an earlier cell is below every value of this one, and an edge in a later cell above it.
  const table = new Uint8Array(GRID_CELLS + 1);
  let below = 0;
  for (let c = 0; c <= GRID_CELLS; c++) {
    while (below < k && cellOf(edges[below]!, lo, scale) < c) below++;
    table[c] = below;
  }
  return { lo, hi, scale, table };
}

/** {@link numericBin} through a feature's grid: the same bin, found faster. */
export function gridBin(edges: Float64Array, grid: BinGrid, value: number): number {
  if (!(value > grid.lo)) return 0;
  const k = edges.length;
  if (value > grid.hi) return k;
  let bin = grid.table[cellOf(value, grid.lo, grid.scale)]!;
  while (bin < k && edges[bin]! < value) bin++;
  return bin;
}

/** How one feature's values are counted. */
export interface FeatureBins {
  readonly feature: string;
  readonly type: 'numeric' | 'categorical';
  /** Where the feature's bins start in the flat count array. */
  readonly offset: number;
  /** Number of bins: `edges.length + 1`, or `categories.length + 1` (the last is "other"). */
  readonly width: number;
  /** Numeric: the cut points. */
  readonly edges: Float64Array;
  /** Numeric, with two edges or more: the lookup grid over them. */
  readonly grid?: BinGrid;
  /** Categorical: each category's bin. */
  readonly index: ReadonlyMap<string, number>;
}

/**
 * The bins of every feature of a baseline, laid out one after the other in one flat array of
 * counts (`offset`, `width`): what an accumulator counts in and what the judge reads back.
 */
export class BinLayout {
  readonly features: readonly FeatureBins[];
  /** Bins of all features together. */
  readonly size: number;

  constructor(baselines: readonly FeatureBaseline[]) {
    let offset = 0;
    this.features = baselines.map((b) => {
      const edges = Float64Array.from(b.type === 'numeric' ? b.edges : []);
      const grid = b.type === 'numeric' ? binGrid(edges) : undefined;
      const bins: FeatureBins =
        b.type === 'numeric'
          ? {
              feature: b.feature,
              type: 'numeric',
              offset,
              width: b.edges.length + 1,
              edges,
              ...(grid ? { grid } : {}),
              index: new Map(),
            }
          : {
              feature: b.feature,
              type: 'categorical',
              offset,
              width: b.categories.length + 1,
              edges: new Float64Array(0),
              index: new Map(b.categories.map((c, i) => [c, i])),
            };
      offset += bins.width;
      return bins;
    });
    this.size = offset;
  }

  /** Whether counts laid out by `other` can be added to counts laid out by this one. */
  sameAs(other: BinLayout): boolean {
    if (other === this) return true;
    if (other.features.length !== this.features.length) return false;
    return this.features.every((f, i) => {
      const g = other.features[i]!;
      if (f.feature !== g.feature || f.type !== g.type || f.width !== g.width) return false;
      if (f.type === 'numeric') return f.edges.every((e, j) => e === g.edges[j]);
      for (const [c, at] of f.index) if (g.index.get(c) !== at) return false;
      return true;
    });
  }
}
