/** Small, fully specified fixtures: the credit model definition, a fitted transform and a hand-built XGBoost model. */
import { readFileSync } from 'node:fs';
import { parseCsv } from '../../core/features/csv.ts';
import {
  type CleanRow,
  featureSchemaHash,
  fitTransform,
  type TransformArtifact,
  validateRow,
} from '../../core/features/transform.ts';
import { type ModelDefinition, parseModelDefinition } from '../../core/model/definition.ts';
import type { ObjectStore } from '../../core/ports.ts';
import type { ModelVersion } from '../../core/registry/model.ts';

export const credit: ModelDefinition = parseModelDefinition(
  JSON.parse(readFileSync('models/credit.json', 'utf8')),
  'models/credit.json',
);

export function creditRows(limit = Number.POSITIVE_INFINITY): CleanRow[] {
  const { records } = parseCsv(readFileSync('data/credit_data.csv', 'utf8'));
  const rows: CleanRow[] = [];
  for (const r of records.slice(0, limit)) {
    const res = validateRow(credit.spec, r.values, 'csv', true);
    if (res.ok) rows.push(res.row);
  }
  return rows;
}

/**
 * An XGBoost JSON model with one tree: `column < threshold` → leftLeaf, else rightLeaf; missing goes left.
 * With base_score 0.5 the probability is sigmoid(leaf).
 */
export function stumpModel(
  numFeatures: number,
  column: number,
  threshold: number,
  leftLeaf: number,
  rightLeaf: number,
): string {
  return JSON.stringify({
    learner: {
      learner_model_param: {
        base_score: '5E-1',
        num_class: '0',
        num_feature: String(numFeatures),
        num_target: '1',
      },
      objective: { name: 'binary:logistic', reg_loss_param: { scale_pos_weight: '1' } },
      gradient_booster: {
        name: 'gbtree',
        model: {
          gbtree_model_param: { num_trees: '1', num_parallel_tree: '1' },
          tree_info: [0],
          trees: [
            {
              id: 0,
              left_children: [1, -1, -1],
              right_children: [2, -1, -1],
              split_indices: [column, 0, 0],
              split_conditions: [threshold, leftLeaf, rightLeaf],
              default_left: [1, 0, 0],
              split_type: [0, 0, 0],
              tree_param: { num_feature: String(numFeatures), num_nodes: '3', size_leaf_vector: '1' },
            },
          ],
        },
      },
    },
    version: [1, 7, 4],
  });
}

export interface SeededVersion {
  version: ModelVersion;
  transform: TransformArtifact;
}

/** Puts a servable version's artifacts in the lake and returns its registry record (status Candidate). */
export async function seedVersion(
  lake: ObjectStore,
  n: number,
  opts: { leftLeaf?: number; rightLeaf?: number; schemaHash?: string } = {},
): Promise<SeededVersion> {
  const transform = fitTransform(credit.spec, creditRows(500));
  const column = transform.columns.indexOf('Seniority');
  const prefix = `artifacts/credit/jobs/test-${n}/`;
  await lake.put(
    `${prefix}model.json`,
    stumpModel(transform.columns.length, column, 5, opts.leftLeaf ?? 1, opts.rightLeaf ?? -1),
  );
  await lake.put(`${prefix}transform.json`, JSON.stringify(transform));
  await lake.put(
    `${prefix}evaluation.json`,
    JSON.stringify({ scoreHistogram: [0, 0, 100, 0, 0, 0, 0, 100, 0, 0] }),
  );
  const version: ModelVersion = {
    model: 'credit',
    version: n,
    status: 'Candidate',
    createdAt: new Date().toISOString(),
    featureSchemaHash: opts.schemaHash ?? featureSchemaHash(credit.spec, transform),
    dataManifestHash: 'manifest',
    snapshotId: 'snapshot',
    trainingJobName: `test-${n}`,
    trainingImage: 'image',
    instanceType: 'ml.g5.xlarge',
    seed: 42,
    codeSha256: 'code',
    featureCodeSha256: 'features',
    definition: credit,
    hyperParameters: {},
    metrics: { validation: { auc: 0.8, logloss: 0.45, accuracy: 0.78, rows: 100 } },
    artifacts: {
      modelJson: `${prefix}model.json`,
      transform: `${prefix}transform.json`,
      baseline: `${prefix}baseline.json`,
      modelTarball: `${prefix}model.tar.gz`,
      evaluation: `${prefix}evaluation.json`,
    },
  };
  return { version, transform };
}
