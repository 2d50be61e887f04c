/**
 * Pass 2 of the two-pass prepare: a chunk of raw rows and the transform the reduce fitted in, the
 * chunk's part of each split's feature matrix out (and its part of the evaluation rows). Rows keep
 * their line order within a part, so the parts of a split concatenated in chunk order are the split's
 * file as the single-function prepare writes it (./manifest.ts `featureMatrixCsv`, `evalRowsJsonl`).
 */

import { transformRow, vectorToCsv } from '../features/transform.ts';
import type { ModelDefinition } from '../model/definition.ts';
import type { SplitName } from '../training-run.ts';
import { type ChunkSplitOptions, type RawChunk, readChunk } from './chunk.ts';
import type { FittedTransform } from './fit.ts';

/** One chunk's share of the snapshot's files. */
export interface ChunkParts {
  /** Per split, the chunk's rows as feature-matrix CSV lines, each ended by a newline ('' for none). */
  splits: Record<SplitName, string>;
  /** The chunk's validation and golden rows as evaluation-row JSON lines, each ended by a newline. */
  evalRows: Record<'validation' | 'golden', string>;
}

/**
 * Transforms one chunk's rows with the fitted transform, each row into its split's part. The chunk is
 * read and split exactly as pass 1 read it (./chunk.ts), so a row lands where pass 1 counted it.
 */
export function transformChunk(
  def: Pick<ModelDefinition, 'name' | 'spec' | 'training'>,
  chunk: RawChunk,
  fitted: FittedTransform,
  options: ChunkSplitOptions,
): ChunkParts {
  const read = readChunk(def, chunk, options);
  const lines: Record<SplitName, string[]> = { train: [], validation: [], golden: [] };
  const evalLines: Record<'validation' | 'golden', string[]> = { validation: [], golden: [] };
  for (const r of read.rows) {
    lines[r.split].push(`${vectorToCsv(r.label, transformRow(def.spec, fitted.transform, r.row))}\n`);
    if (r.split !== 'train') {
      evalLines[r.split].push(
        `${JSON.stringify({ split: r.split, line: r.line, label: r.label, row: r.row })}\n`,
      );
    }
  }
  return {
    splits: {
      train: lines.train.join(''),
      validation: lines.validation.join(''),
      golden: lines.golden.join(''),
    },
    evalRows: { validation: evalLines.validation.join(''), golden: evalLines.golden.join('') },
  };
}
