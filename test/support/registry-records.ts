/** Version records for tests of the registry on dynalite: the fields a trained version has, none of them read. */
import type { ModelVersion } from '../../core/registry/model.ts';
import { credit } from './fixtures.ts';

/** A Candidate version `n` of `model`, as register-model would write it. */
export function versionRecord(model: string, n: number): ModelVersion {
  return {
    model,
    version: n,
    status: 'Candidate',
    createdAt: new Date().toISOString(),
    featureSchemaHash: 'h',
    dataManifestHash: 'd',
    snapshotId: 's',
    trainingJobName: `job-${n}`,
    trainingImage: 'img',
    instanceType: 'ml.g5.xlarge',
    seed: 1,
    codeSha256: 'c',
    featureCodeSha256: 'f',
    definition: credit,
    hyperParameters: {},
    metrics: { validation: { auc: 0.8, logloss: 0.4, accuracy: 0.8, rows: 10 } },
    artifacts: { modelJson: 'm', transform: 't', baseline: 'b', modelTarball: 'x', evaluation: 'e' },
  };
}
