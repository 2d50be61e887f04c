import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { lakeKeys } from '../../contracts/lake.ts';
import type { CleanRow } from '../../core/features/transform.ts';
import { parseModelDefinition } from '../../core/model/definition.ts';
import { fitOnTraining } from '../../core/snapshot/fit.ts';
import {
  buildSnapshot,
  evalRowsJsonl,
  featureMatrixCsv,
  type SnapshotInput,
  type SnapshotKeys,
  snapshotIdOf,
} from '../../core/snapshot/manifest.ts';
import type { SplitRow } from '../../core/snapshot/split.ts';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** A definition written out here, so that the pinned hashes below change only with the snapshot code. */
const def = parseModelDefinition(
  {
    name: 'tiny',
    spec: {
      version: 1,
      label: { column: 'y', positive: 'yes', negative: 'no' },
      features: [
        { name: 'a', type: 'numeric', missing: { impute: 'median' } },
        { name: 'c', type: 'categorical', minCount: 1 },
      ],
    },
    training: { seed: 42, split: 'hash', validationFraction: 0.2, goldenFraction: 0.1 },
  },
  'tiny',
);
const row = (line: number, a: number | null, c: string, label: 0 | 1): SplitRow => ({
  line,
  row: { a, c } as CleanRow,
  label,
});
const splits = {
  train: [row(2, 1, 'x', 0), row(3, 5, 'y', 1), row(5, null, 'x', 1)],
  validation: [row(4, 2, 'z', 0)],
  golden: [row(6, 9, 'y', 1)],
};
const source = { sha256: 'a'.repeat(64), key: 'raw/tiny/i1/data.csv' };
const snapshotId = snapshotIdOf(def, source.sha256, 42);
const keysOf = (id: string): SnapshotKeys => ({
  train: lakeKeys.curatedSplitPart('tiny', id, 'train'),
  validation: lakeKeys.curatedSplitPart('tiny', id, 'validation'),
  golden: lakeKeys.curatedSplitPart('tiny', id, 'golden'),
  evalRows: lakeKeys.curatedEvalRows('tiny', id),
  transform: lakeKeys.curatedTransform('tiny', id),
  definition: lakeKeys.curatedDefinition('tiny', id),
  manifest: lakeKeys.curatedManifest('tiny', id),
});
const input = (over: Partial<SnapshotInput> = {}): SnapshotInput => ({
  def,
  snapshotId,
  seed: 42,
  source,
  splits,
  fitted: fitOnTraining(def.spec, splits),
  golden: { source: 'split', fraction: 0.1 },
  counts: { rows: 6, valid: 5, quarantined: 1, goldenDuplicates: 0 },
  keys: keysOf(snapshotId),
  createdAt: new Date('2026-01-02T03:04:05.000Z'),
  ...over,
});

describe('snapshotIdOf', () => {
  it('is 16 hex digits that follow from the source, the definition, the seed and the golden set', () => {
    // Pinned: a snapshot built before keeps its id (and its lake prefix).
    expect(snapshotId).toBe('462f40a36b26c75a');
    expect(snapshotIdOf(def, source.sha256, 42)).toBe(snapshotId);
    expect(snapshotIdOf(def, source.sha256, 43)).not.toBe(snapshotId);
    expect(snapshotIdOf(def, 'b'.repeat(64), 42)).not.toBe(snapshotId);
    expect(snapshotIdOf(def, source.sha256, 42, 'g-000000000000')).not.toBe(snapshotId);
    const other = parseModelDefinition(
      { ...def, training: { ...def.training, validationFraction: 0.3 } },
      'x',
    );
    expect(snapshotIdOf(other, source.sha256, 42)).not.toBe(snapshotId);
  });
});

describe('snapshot files', () => {
  it('writes a feature matrix with the label first, imputed values filled in and other missing values empty', () => {
    const { transform } = fitOnTraining(def.spec, splits);
    expect(transform.columns).toEqual(['a', 'c=x', 'c=y', 'c=__other__']);
    const rows = [row(9, null, 'q', 1), { line: 10, row: { a: 5, c: null }, label: 0 as const }];
    expect(featureMatrixCsv(def.spec, transform, rows)).toBe('1,3,0,0,1\n0,5,,,\n');
  });

  it('keeps validation then golden rows raw, with their split and line', () => {
    expect(
      evalRowsJsonl(splits)
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([
      { split: 'validation', line: 4, label: 0, row: { a: 2, c: 'z' } },
      { split: 'golden', line: 6, label: 1, row: { a: 9, c: 'y' } },
    ]);
  });
});

describe('buildSnapshot', () => {
  const built = buildSnapshot(input());

  it('lists every object with the sha256 of its body and writes the manifest last', () => {
    const keys = keysOf(snapshotId);
    expect(built.objects.map((o) => [o.key, o.contentType])).toEqual([
      [keys.train, 'text/csv'],
      [keys.validation, 'text/csv'],
      [keys.golden, 'text/csv'],
      [keys.evalRows, 'application/x-ndjson'],
      [keys.transform, 'application/json'],
      [keys.definition, 'application/json'],
      [keys.manifest, 'application/json'],
    ]);
    const body = (key: string) => built.objects.find((o) => o.key === key)!.body;
    for (const f of Object.values(built.manifest.files)) expect(f.sha256).toBe(sha256(body(f.key)));
    expect(built.manifest.files.train.rows).toBe(3);
    expect(built.manifest.files.golden?.rows).toBe(1);
    expect(JSON.parse(body(keys.definition))).toEqual(JSON.parse(JSON.stringify(def)));
  });

  it('hashes the manifest as the data version and records the source key and the time beside it', () => {
    // Pinned: the same snapshot, definition and seed give the data version they always gave. The
    // definition is part of the snapshot, so a definition that gains settings (the drift, alarm and
    // retraining policies, with their defaults) gives a new one.
    expect(built.dataManifestHash).toBe('8773c192ca98f13a88367777f01b801f100d34a79599bb7d1a70a32aed154770');
    expect(built.dataManifestHash).toBe(sha256(JSON.stringify(built.manifest)));
    const document = JSON.parse(built.objects.at(-1)!.body);
    expect(document).toEqual({
      ...built.manifest,
      dataManifestHash: built.dataManifestHash,
      sourceKey: source.key,
      createdAt: '2026-01-02T03:04:05.000Z',
    });
    expect(built.manifest.fractions).toEqual({ validation: 0.2, golden: 0.1 });
  });

  it('gives the same data version whenever and from wherever the same data is built', () => {
    const again = buildSnapshot(
      input({
        createdAt: new Date('2030-01-01T00:00:00Z'),
        source: { ...source, key: 'raw/tiny/i2/data.csv' },
        counts: { goldenDuplicates: 0, quarantined: 1, valid: 5, rows: 6 },
      }),
    );
    expect(again.dataManifestHash).toBe(built.dataManifestHash);
  });

  it('gives another data version for another seed, key, row or golden lineage', () => {
    const moved = buildSnapshot(input({ keys: { ...keysOf(snapshotId), transform: 'elsewhere.json' } }));
    const reseeded = buildSnapshot(input({ seed: 7 }));
    const changed = buildSnapshot(input({ splits: { ...splits, validation: [row(4, 3, 'z', 0)] } }));
    const goldenSet = buildSnapshot(
      input({ golden: { source: 'golden-set', goldenId: 'g-1', sha256: 'b'.repeat(64), rows: 1 } }),
    );
    const hashes = [built, moved, reseeded, changed, goldenSet].map((s) => s.dataManifestHash);
    expect(new Set(hashes).size).toBe(5);
    expect(goldenSet.manifest.fractions).toEqual({ validation: 0.2 });
  });

  it('has no golden file when the snapshot has no golden row', () => {
    const none = buildSnapshot(input({ splits: { ...splits, golden: [] } }));
    expect(none.manifest.files.golden).toBeUndefined();
    expect(none.objects.map((o) => o.key)).not.toContain(keysOf(snapshotId).golden);
    expect(none.objects).toHaveLength(6);
  });
});
