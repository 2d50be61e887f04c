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
import { type BinLayout, numericBin } from './bins.ts';
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

  // The layout's fields, unpacked once into arrays the hot loop indexes by number.
  private readonly names: string[];
  private readonly numeric: Uint8Array;
  private readonly offsets: Int32Array;
  private readonly edges: Float64Array[];
  private readonly index: ReadonlyMap<string, number>[];
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
    this.index = features.map((f) => f.index);
    this.other = Int32Array.from(features, (f) => f.width - 1);
  }

  /** Counts one scored row: its logged feature values and its score. */
  add(features: Readonly<Record<string, unknown>>, score: number): void {
    const { names, numeric, offsets, counts, nulls, edges, index, other } = this;
    for (let f = 0; f < names.length; f++) {
      const value = features[names[f]!];
      if (numeric[f] === 1) {
        // `value - value === 0` holds for finite numbers only (NaN and the infinities give NaN).
        if (typeof value === 'number' && value - value === 0) {
          counts[offsets[f]! + numericBin(edges[f]!, value)]!++;
        } else {
          nulls[f]!++;
        }
      } else if (value === null || value === undefined) {
        nulls[f]!++;
      } else {
        const at = index[f]!.get(typeof value === 'string' ? value : String(value));
        counts[offsets[f]! + (at === undefined ? other[f]! : at)]!++;
      }
    }
    this.scoreCounts[scoreBin(score)]!++;
    this.scoreSum += score;
    this.rows++;
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
