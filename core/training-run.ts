/**
 * What the training pipeline's steps hand each other: the prepared snapshot (prepare → training job
 * → evaluate → register) and the evaluation of the trained model (evaluate → register). The state
 * machine carries these between functions, so each side reads the same shape.
 */
import type { Metrics } from './evaluation/classification.ts';
import type { GoldenLineage } from './lake.ts';
import type { ModelDefinition } from './model/definition.ts';
import type { ModelVersion } from './registry/model.ts';

/** A snapshot's splits: the model trains on `train`, and is judged on `validation` and `golden`. */
export type SplitName = 'train' | 'validation' | 'golden';

/** The prepare step's result: the snapshot it wrote and the training request for it. */
export interface PrepareOutput {
  model: string;
  /** The definition the snapshot was built with; the version keeps it, and serving uses it. */
  definition: ModelDefinition;
  snapshotId: string;
  dataManifestHash: string;
  featureSchemaHash: string;
  seed: number;
  /** Starts with the stage's prefix (contracts/names.ts), which the training grants are scoped by. */
  trainingJobName: string;
  hyperParameters: Record<string, string>;
  channels: { train: string; validation: string };
  /** The training job's instance count, and how the train channel is spread over the instances. */
  resources: { instanceCount: number; trainDistribution: 'FullyReplicated' | 'ShardedByS3Key' };
  keys: {
    manifest: string;
    transform: string;
    validation: string;
    evalRows: string;
    /** The snapshot's drift baseline (`baselines/<model>/<snapshot>/baseline.json`), without `score` until evaluated. */
    baseline: string;
    golden?: string;
    quarantine?: string;
  };
  counts: {
    rows: number;
    valid: number;
    quarantined: number;
    train: number;
    validation: number;
    golden: number;
    /** Valid raw rows left out of train and validation because they repeat a golden-set row. */
    goldenDuplicates: number;
  };
  codeSha256: string;
  featureCodeSha256: string;
  trainingImage: string;
  /** Where the golden rows came from: the model's golden set, or a split of the raw rows. */
  golden: GoldenLineage;
}

/** The evaluate step's result: the trained model's metrics and artifacts. */
export interface EvaluateOutput {
  metrics: Metrics;
  /** Metrics on the golden split, when the snapshot has one. */
  goldenMetrics?: Metrics;
  trainingMetrics: Record<string, unknown>;
  artifacts: ModelVersion['artifacts'];
}
