/**
 * A curated snapshot's content: its files (a feature matrix per split, the raw evaluation rows, the
 * fitted transform, the definition), each with its content hash, and the manifest listing them.
 * The manifest's hash is the data version a model records: it covers every file's key and content,
 * so the same data, definition and seed give the same hash, and any other change another one.
 */

import { sha256Hex } from '../features/golden.ts';
import type { FeatureSpec } from '../features/spec.ts';
import {
  TRANSFORM_CODE_VERSION,
  type TransformArtifact,
  transformRow,
  vectorToCsv,
} from '../features/transform.ts';
import type { GoldenLineage } from '../lake.ts';
import type { ModelDefinition } from '../model/definition.ts';
import type { SplitName } from '../training-run.ts';
import type { FittedTransform } from './fit.ts';
import type { SplitRow, Splits } from './split.ts';

/**
 * The snapshot's id: a hash of what decides its content (the raw file's sha256, the spec, the split
 * settings, the seed, the transform code version and the golden set's id, when there is one).
 */
export function snapshotIdOf(
  def: Pick<ModelDefinition, 'spec' | 'training'>,
  sourceSha256: string,
  seed: number,
  goldenId?: string,
): string {
  return sha256Hex(
    JSON.stringify([
      sourceSha256,
      def.spec,
      def.training.split,
      seed,
      def.training.validationFraction,
      def.training.goldenFraction,
      TRANSFORM_CODE_VERSION,
      // Only with a golden set, so snapshots without one keep the ids they had.
      ...(goldenId === undefined ? [] : [goldenId]),
    ]),
  ).slice(0, 16);
}

/** A split's feature matrix as XGBoost reads it: one CSV line per row, the label first. */
export function featureMatrixCsv(
  spec: FeatureSpec,
  transform: TransformArtifact,
  rows: readonly Pick<SplitRow, 'row' | 'label'>[],
): string {
  return `${rows.map((r) => vectorToCsv(r.label, transformRow(spec, transform, r.row))).join('\n')}\n`;
}

/**
 * The frozen evaluation rows as raw values (validation, then golden), so that any model (the
 * incumbent too, with its own definition and transform) can be scored on exactly these rows.
 */
export function evalRowsJsonl(splits: Pick<Splits<SplitRow>, 'validation' | 'golden'>): string {
  return `${(['validation', 'golden'] as const)
    .flatMap((split) =>
      splits[split].map((r) => JSON.stringify({ split, line: r.line, label: r.label, row: r.row })),
    )
    .join('\n')}\n`;
}

/** Where each of a snapshot's objects goes (the keys of contracts/lake.ts). */
export type SnapshotKeys = Record<SplitName | 'evalRows' | 'transform' | 'definition' | 'manifest', string>;

/** A file the manifest lists: its key and the sha256 of its content. */
export interface SnapshotFile {
  key: string;
  sha256: string;
}

/** A split's feature matrix, as the manifest lists it. */
export interface SplitFile extends SnapshotFile {
  rows: number;
}

/** What the data manifest hash covers. */
export interface DataManifest {
  model: string;
  snapshotId: string;
  source: { sha256: string };
  split: ModelDefinition['training']['split'];
  seed: number;
  /** The golden fraction only when golden rows are split off the raw rows. */
  fractions: { validation: number; golden?: number };
  golden: GoldenLineage;
  featureSchemaHash: string;
  columns: string[];
  files: {
    train: SplitFile;
    validation: SplitFile;
    /** Absent when the snapshot has no golden row. */
    golden?: SplitFile;
    evalRows: SnapshotFile;
    transform: SnapshotFile;
    definition: SnapshotFile;
  };
  counts: { rows: number; valid: number; quarantined: number; goldenDuplicates: number };
}

/** An object to write to the lake. */
export interface SnapshotObject {
  key: string;
  body: string;
  contentType: string;
}

/** What a snapshot is built from. */
export interface SnapshotInput {
  /** The definition the snapshot is built with; the snapshot keeps a copy. */
  def: ModelDefinition;
  snapshotId: string;
  seed: number;
  /** The raw file: its content hash (in the manifest's hash) and its key (beside it). */
  source: { sha256: string; key: string };
  splits: Splits<SplitRow>;
  fitted: FittedTransform;
  golden: GoldenLineage;
  counts: DataManifest['counts'];
  keys: SnapshotKeys;
  /** Recorded beside the manifest, outside its hash. */
  createdAt: Date;
}

/** A built snapshot: its objects to write (the manifest last), its manifest and the manifest's hash. */
export interface Snapshot {
  objects: SnapshotObject[];
  manifest: DataManifest;
  dataManifestHash: string;
}

/** What a manifest is built from: the snapshot's settings and its files' keys and hashes. */
export type ManifestInput = Pick<
  SnapshotInput,
  'def' | 'snapshotId' | 'seed' | 'source' | 'fitted' | 'golden' | 'counts' | 'createdAt'
> & { files: DataManifest['files'] };

/**
 * A snapshot's manifest, its hash (the data version) and the manifest object's JSON, from the hashes
 * of its files: however the files were written (one function, or parts by the two-pass prepare), the
 * same files give the same data version.
 */
export function manifestOf(input: ManifestInput): {
  manifest: DataManifest;
  dataManifestHash: string;
  manifestJson: string;
} {
  const { def } = input;
  const manifest: DataManifest = {
    model: def.name,
    snapshotId: input.snapshotId,
    source: { sha256: input.source.sha256 },
    split: def.training.split,
    seed: input.seed,
    fractions:
      input.golden.source === 'golden-set'
        ? { validation: def.training.validationFraction }
        : { validation: def.training.validationFraction, golden: def.training.goldenFraction },
    golden: input.golden,
    featureSchemaHash: input.fitted.featureSchemaHash,
    columns: input.fitted.transform.columns,
    files: input.files,
    // Spelt out, so the hash does not depend on the order the caller built the counts in.
    counts: {
      rows: input.counts.rows,
      valid: input.counts.valid,
      quarantined: input.counts.quarantined,
      goldenDuplicates: input.counts.goldenDuplicates,
    },
  };
  const dataManifestHash = sha256Hex(JSON.stringify(manifest));
  // The hash covers content only; where the raw file was ingested and when are recorded beside it.
  const manifestJson = `${JSON.stringify(
    { ...manifest, dataManifestHash, sourceKey: input.source.key, createdAt: input.createdAt.toISOString() },
    null,
    2,
  )}\n`;
  return { manifest, dataManifestHash, manifestJson };
}

/** Builds every object of a snapshot and its manifest, whose hash is the data version. */
export function buildSnapshot(input: SnapshotInput): Snapshot {
  const { def, splits, keys } = input;
  const { transform } = input.fitted;
  const matrix = (split: SplitName) => featureMatrixCsv(def.spec, transform, splits[split]);
  const bodies = {
    train: matrix('train'),
    validation: matrix('validation'),
    golden: matrix('golden'),
    evalRows: evalRowsJsonl(splits),
    transform: `${JSON.stringify(transform, null, 2)}\n`,
    definition: `${JSON.stringify(def, null, 2)}\n`,
  };
  const file = (name: keyof typeof bodies): SnapshotFile => ({
    key: keys[name],
    sha256: sha256Hex(bodies[name]),
  });
  const splitFile = (name: SplitName): SplitFile => ({ ...file(name), rows: splits[name].length });
  const hasGolden = splits.golden.length > 0;
  const { manifest, dataManifestHash, manifestJson } = manifestOf({
    ...input,
    files: {
      train: splitFile('train'),
      validation: splitFile('validation'),
      ...(hasGolden ? { golden: splitFile('golden') } : {}),
      evalRows: file('evalRows'),
      transform: file('transform'),
      definition: file('definition'),
    },
  });
  const object = (name: keyof typeof bodies, contentType: string): SnapshotObject => ({
    key: keys[name],
    body: bodies[name],
    contentType,
  });
  return {
    objects: [
      object('train', 'text/csv'),
      object('validation', 'text/csv'),
      ...(hasGolden ? [object('golden', 'text/csv')] : []),
      object('evalRows', 'application/x-ndjson'),
      object('transform', 'application/json'),
      object('definition', 'application/json'),
      { key: keys.manifest, body: manifestJson, contentType: 'application/json' },
    ],
    manifest,
    dataManifestHash,
  };
}
