/**
 * The drift job's histogram state: per feature, the window's values counted in the baseline's bins
 * plus the nulls, and the scores counted in the score bins with their sum. One pass over the rows,
 * memory in the number of bins only (typed arrays, O(features x bins) whatever the row count),
 * and mergeable: counting two parts of a window apart and merging gives the counts of one pass over
 * the whole (the log's pages, or shards read in parallel, can be counted separately).
 *
 * A value is read as the feature transform reads it (core/features/transform.ts `transformRow`),
 * so a bin holds what the model saw: a numeric feature counts a finite number in its bin and
 * anything else (null, absent, a non-number) as missing; a categorical feature counts `String(v)`
 * in its category's bin, or in "other" (the last bin) when the vocabulary lacks it.
 */
import { type BinGrid, type BinLayout, numericBin } from './bins.ts';
import { SCORE_BINS, scoreBin } from './statistics.ts';

export class DriftAccumulator {
  /** Every feature's bin counts, one after another as the layout places them. */
  readonly counts: Float64Array;
  /** Rows without a value, per feature (layout order). */
  readonly nulls: Float64Array;
  /** Scores per score bin (`SCORE_BIN_EDGES`). */
  readonly scoreCounts: Float64Array;
  /** Rows added. */
  rows = 0;
  /** Sum of the scores added. */
  scoreSum = 0;

  // The layout's fields, unpacked once into arrays the hot loops index by number.
  private readonly names: string[];
  private readonly numeric: Uint8Array;
  private readonly offsets: Int32Array;
  private readonly edges: Float64Array[];
  private readonly grids: (BinGrid | undefined)[];
  /** Each categorical feature's bins by category, as a prototype-less object (a faster read than a Map). */
  private readonly vocabularies: Record<string, number>[];
  private readonly other: Int32Array;

  constructor(readonly layout: BinLayout) {
    const { features } = layout;
    this.counts = new Float64Array(layout.size);
    this.nulls = new Float64Array(features.length);
    this.scoreCounts = new Float64Array(SCORE_BINS);
    this.names = features.map((f) => f.feature);
    this.numeric = Uint8Array.from(features, (f) => (f.type === 'numeric' ? 1 : 0));
    this.offsets = Int32Array.from(features, (f) => f.offset);
    this.edges = features.map((f) => f.edges);
    this.grids = features.map((f) => f.grid);
    this.vocabularies = features.map((f) => {
      const bins = Object.create(null) as Record<string, number>;
      for (const [category, at] of f.index) bins[category] = at;
      return bins;
    });
    this.other = Int32Array.from(features, (f) => f.width - 1);
  }

  /** Counts one scored row: its logged feature values and its score (see {@link addBatch}). */
  add(features: Readonly<Record<string, unknown>>, score: number): void {
    this.addBatch([features], [score]);
  }

  /**
   * Counts a batch of scored rows (a page of the log). It reads a feature at a time across the
   * batch, so each inner loop reads one property name from row after row and knows its feature's
   * kind and bins before it starts; with the bins' lookup grids, this counted about 1.4 times as
   * many values per second as a row-at-a-time pass (BENCHMARKS.md, drift).
   */
  addBatch(rows: readonly Readonly<Record<string, unknown>>[], scores: ArrayLike<number>): void {
    const { names, numeric, offsets, counts, nulls, edges, grids, vocabularies, other } = this;
    const n = rows.length;
    if (scores.length !== n) throw new RangeError(`addBatch: ${n} rows but ${scores.length} scores`);
    for (let f = 0; f < names.length; f++) {
      const name = names[f]!;
      const base = offsets[f]!;
      let missing = 0;
      if (numeric[f] === 1) {
        const cuts = edges[f]!;
        const grid = grids[f];
        const k = cuts.length;
        if (grid === undefined) {
          for (let r = 0; r < n; r++) {
            const value = rows[r]![name];
            // `value - value === 0` holds for finite numbers only (NaN and the infinities give NaN).
            if (typeof value === 'number' && value - value === 0) counts[base + numericBin(cuts, value)]!++;
            else missing++;
          }
        } else {
          // gridBin, inlined: the grid's fields stay in registers across the batch.
          const { lo, hi, scale, table } = grid;
          for (let r = 0; r < n; r++) {
            const value = rows[r]![name];
            if (typeof value !== 'number' || value - value !== 0) {
              missing++;
              continue;
            }
            let bin: number;
            if (!(value > lo)) bin = 0;
            else if (value > hi) bin = k;
            else {
              bin = table[((value - lo) * scale) | 0]!;
              while (bin < k && cuts[bin]! < value) bin++;
            }
            counts[base + bin]!++;
          }
        }
      } else {
        const vocabulary = vocabularies[f]!;
        const otherBin = base + other[f]!;
        for (let r = 0; r < n; r++) {
          const value = rows[r]![name];
          if (value === null || value === undefined) {
            missing++;
            continue;
          }
          const at = vocabulary[typeof value === 'string' ? value : String(value)];
          counts[at === undefined ? otherBin : base + at]!++;
        }
      }
      nulls[f]! += missing;
    }
    const scoreCounts = this.scoreCounts;
    let sum = 0;
    for (let r = 0; r < n; r++) {
      const score = scores[r]!;
      scoreCounts[scoreBin(score)]!++;
      sum += score;
    }
    this.scoreSum += sum;
    this.rows += n;
  }

  /** Adds another accumulator's counts (over the same bins) to this one's; returns this. */
  merge(other: DriftAccumulator): this {
    if (!this.layout.sameAs(other.layout)) {
      throw new Error(
        `Cannot merge drift counts over different bins: [${this.names.join(', ')}] and [${other.names.join(', ')}] ` +
          'were built from different baselines.',
      );
    }
    addInto(this.counts, other.counts);
    addInto(this.nulls, other.nulls);
    addInto(this.scoreCounts, other.scoreCounts);
    this.rows += other.rows;
    this.scoreSum += other.scoreSum;
    return this;
  }

  /** A feature's bin counts (a view, not a copy), by its place in the layout. */
  featureCounts(f: number): Float64Array {
    const { offset, width } = this.layout.features[f]!;
    return this.counts.subarray(offset, offset + width);
  }
}

function addInto(target: Float64Array, source: Float64Array): void {
  for (let i = 0; i < target.length; i++) target[i]! += source[i]!;
}
