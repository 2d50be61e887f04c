/**
 * Evaluate step: unpacks the training job's model.tar.gz, checks the model against the transform it
 * was trained for, scores the frozen validation split with the TypeScript scorer (the same one that
 * serves), and stores the artifacts the version will point at. The validation scores complete the
 * snapshot's drift baseline (the prepare step wrote its features): the version's `artifacts.baseline`
 * is that object.
 */

import { lakeKeys } from '../../contracts/lake.ts';
import { checkDriftBaseline, scoreBaseline } from '../../core/drift/baseline.ts';
import { scoreHistogram } from '../../core/drift/statistics.ts';
import { errorNames, PlatformError } from '../../core/errors.ts';
import { classificationMetrics } from '../../core/evaluation/classification.ts';
import { parseS3Uri } from '../../core/lake.ts';
import type { ObjectStore } from '../../core/ports.ts';
import { loadServingModel } from '../../core/serving/load.ts';
import type { EvaluateOutput, PrepareOutput } from '../../core/training-run.ts';
import { untar } from '../shared/model-artifacts.ts';

export interface EvaluateInput {
  model: string;
  prepared: PrepareOutput;
  training: { trainingJobName: string; modelArtifacts: string };
}

/** Reads the curated CSV matrix: label first, missing values empty. */
export function parseMatrix(text: string): { labels: Uint8Array; rows: Float64Array[] } {
  const lines = text.split('\n').filter((l) => l.length > 0);
  const labels = new Uint8Array(lines.length);
  const rows = lines.map((line, i) => {
    const cells = line.split(',');
    labels[i] = Number(cells[0]);
    const row = new Float64Array(cells.length - 1);
    for (let j = 1; j < cells.length; j++) row[j - 1] = cells[j] === '' ? Number.NaN : Number(cells[j]);
    return row;
  });
  return { labels, rows };
}

export async function evaluateModel(
  input: EvaluateInput,
  deps: { lake: ObjectStore },
): Promise<EvaluateOutput> {
  const { lake } = deps;
  const def = input.prepared.definition;
  const tarball = parseS3Uri(input.training.modelArtifacts);
  if (tarball.bucket !== lake.bucket) {
    throw new PlatformError(
      errorNames.artifactInvalid,
      `Model artifacts ${input.training.modelArtifacts} are outside the lake bucket ${lake.bucket}.`,
    );
  }
  const files = await untar(await lake.getBytes(tarball.key));
  for (const required of ['model.json', 'metrics.json']) {
    if (!files.has(required)) {
      throw new PlatformError(
        errorNames.artifactInvalid,
        `${input.training.modelArtifacts} lacks ${required} (it has: ${[...files.keys()].join(', ') || 'nothing'}).`,
      );
    }
  }
  const job = input.training.trainingJobName;
  const baselineKey = input.prepared.keys.baseline;
  if (!baselineKey) {
    throw new PlatformError(
      errorNames.artifactInvalid,
      `The prepared snapshot ${input.prepared.snapshotId} names no drift baseline (prepared.keys.baseline): prepare it again.`,
    );
  }
  const artifacts = {
    modelJson: lakeKeys.jobModelJson(def.name, job),
    transform: input.prepared.keys.transform,
    baseline: baselineKey,
    modelTarball: tarball.key,
    evaluation: lakeKeys.jobEvaluation(def.name, job),
    evalRows: input.prepared.keys.evalRows,
  };
  await lake.put(artifacts.modelJson, files.get('model.json')!, 'application/json');
  const serving = await loadServingModel(lake, 0, artifacts);
  const score = async (key: string) => {
    const { labels, rows } = parseMatrix(await lake.getText(key));
    const scores = serving.model.predictBatch(rows);
    return { scores, metrics: classificationMetrics(scores, labels, def.serving.threshold) };
  };
  const validation = await score(input.prepared.keys.validation);
  const golden = input.prepared.keys.golden ? await score(input.prepared.keys.golden) : undefined;
  const metrics = validation.metrics;
  const goldenMetrics = golden?.metrics;
  const baseline = checkDriftBaseline(JSON.parse(await lake.getText(baselineKey)), baselineKey);
  const validationScores = scoreBaseline(validation.scores, job);
  await lake.put(
    baselineKey,
    `${JSON.stringify({ ...baseline, score: validationScores })}\n`,
    'application/json',
  );
  const trainingMetrics = JSON.parse(files.get('metrics.json')!.toString('utf8')) as Record<string, unknown>;
  await lake.put(
    artifacts.evaluation,
    `${JSON.stringify(
      {
        snapshotId: input.prepared.snapshotId,
        metrics,
        goldenMetrics,
        scoreHistogram: scoreHistogram(validation.scores),
        // The version's own score baseline: the snapshot's baseline.json holds the scores of the last
        // version evaluated on it, which another version on the same snapshot replaces.
        score: validationScores,
        trainingMetrics,
      },
      null,
      2,
    )}\n`,
    'application/json',
  );
  return { metrics, ...(goldenMetrics ? { goldenMetrics } : {}), trainingMetrics, artifacts };
}
