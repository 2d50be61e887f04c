/** Register step: gives the evaluated model the next version number and records its full lineage, write-once. */

import type { Clock, ModelRegistryPort } from '../../core/ports.ts';
import type { ModelVersion } from '../../core/registry/model.ts';
import type { EvaluateOutput, PrepareOutput } from '../../core/training-run.ts';

export interface RegisterInput {
  model: string;
  prepared: PrepareOutput;
  training: { trainingJobName: string; modelArtifacts: string };
  evaluation: EvaluateOutput;
  instanceType: string;
}

export interface RegisterOutput {
  model: string;
  version: number;
  status: ModelVersion['status'];
  metrics: ModelVersion['metrics']['validation'];
}

export async function registerModel(
  input: RegisterInput,
  deps: { registry: ModelRegistryPort; clock: Clock },
): Promise<RegisterOutput> {
  const version = await deps.registry.allocateVersion(input.model);
  const record: ModelVersion = {
    model: input.model,
    version,
    status: 'Candidate',
    createdAt: deps.clock.now().toISOString(),
    featureSchemaHash: input.prepared.featureSchemaHash,
    dataManifestHash: input.prepared.dataManifestHash,
    golden: input.prepared.golden,
    snapshotId: input.prepared.snapshotId,
    trainingJobName: input.training.trainingJobName,
    trainingImage: input.prepared.trainingImage,
    instanceType: input.instanceType,
    seed: input.prepared.seed,
    codeSha256: input.prepared.codeSha256,
    featureCodeSha256: input.prepared.featureCodeSha256,
    definition: input.prepared.definition,
    hyperParameters: input.prepared.hyperParameters,
    metrics: {
      validation: input.evaluation.metrics,
      ...(input.evaluation.goldenMetrics ? { golden: input.evaluation.goldenMetrics } : {}),
      training: input.evaluation.trainingMetrics,
    },
    artifacts: input.evaluation.artifacts,
  };
  await deps.registry.putVersion(record);
  return { model: input.model, version, status: record.status, metrics: record.metrics.validation };
}
