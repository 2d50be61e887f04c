/**
 * The lake's layout: its zones (key prefixes inside the one lake bucket) and the key of every object
 * the platform reads or writes. The data-lake construct grants by zone, the functions, the CLI and
 * the twin build keys here, so a zone that nothing writes, or a key spelled two ways, cannot hide.
 */

/** The lake's zones, each a key prefix. */
export const lakeZones = {
  /** Data as it arrived, with the definition it was ingested with. */
  raw: 'raw/',
  /** Rows that failed validation, kept as evidence. */
  quarantine: 'quarantine/',
  /** Validated, versioned snapshots: `curated/<model>/<snapshot>/`. */
  curated: 'curated/',
  /** Golden sets every candidate is scored on. */
  golden: 'golden/',
  /** Training outputs, model artifacts and promotion evidence. */
  artifacts: 'artifacts/',
  /** Training baseline statistics for the drift job: `baselines/<model>/<snapshot>/baseline.json`. */
  baselines: 'baselines/',
  /** Reports the platform writes, such as the drift job's: `reports/drift/<model>/<window end>.json`. */
  reports: 'reports/',
  /** Batch scoring's inputs (files uploaded to score) and outputs: `scores/<model>/<job>/`. */
  scores: 'scores/',
} as const;

/** Name of a lake zone. */
export type LakeZone = keyof typeof lakeZones;

const { raw, quarantine, curated, golden, artifacts, baselines, reports, scores } = lakeZones;

/** A part's number, zero-padded so that parts list in order. */
const partName = (part: number) => String(part).padStart(10, '0');

/** The curated snapshot's files, relative to its prefix. */
const snapshot = (model: string, snapshotId: string) => `${curated}${model}/${snapshotId}/`;

/** The key of every object in the lake, by what it holds. */
export const lakeKeys = {
  rawLatest: (model: string) => `${raw}${model}/LATEST.json`,
  rawData: (model: string, ingestId: string) => `${raw}${model}/${ingestId}/data.csv`,
  /** The prefix of data ingested as several files, and each file's key under it. */
  rawParts: (model: string, ingestId: string) => `${raw}${model}/${ingestId}/data/`,
  rawPart: (model: string, ingestId: string, n: number) =>
    `${raw}${model}/${ingestId}/data/part-${String(n).padStart(5, '0')}.csv`,
  rawDefinition: (model: string, ingestId: string) => `${raw}${model}/${ingestId}/model.json`,
  quarantine: (model: string, snapshotId: string) => `${quarantine}${model}/${snapshotId}/rows.jsonl`,
  /** A snapshot's prefix; its files follow. */
  curated: snapshot,
  /** A split's feature matrix (the label first): a SageMaker channel reads the split's prefix. */
  curatedSplit: (model: string, snapshotId: string, split: 'train' | 'validation' | 'golden') =>
    `${snapshot(model, snapshotId)}${split}/`,
  curatedSplitPart: (model: string, snapshotId: string, split: 'train' | 'validation' | 'golden') =>
    `${snapshot(model, snapshotId)}${split}/part-00000.csv`,
  /** The validation and golden rows, raw (JSONL), for scoring any version on the same rows. */
  curatedEvalRows: (model: string, snapshotId: string) => `${snapshot(model, snapshotId)}eval/rows.jsonl`,
  curatedTransform: (model: string, snapshotId: string) => `${snapshot(model, snapshotId)}transform.json`,
  curatedDefinition: (model: string, snapshotId: string) => `${snapshot(model, snapshotId)}model.json`,
  curatedManifest: (model: string, snapshotId: string) => `${snapshot(model, snapshotId)}manifest.json`,
  /** Where a training job's outputs and the files derived from them live. */
  jobArtifacts: (model: string, jobName: string) => `${artifacts}${model}/jobs/${jobName}/`,
  jobModelJson: (model: string, jobName: string) => `${artifacts}${model}/jobs/${jobName}/model.json`,
  jobEvaluation: (model: string, jobName: string) => `${artifacts}${model}/jobs/${jobName}/evaluation.json`,
  /** A guardrail decision's full evidence (`decidedAt` as an ISO instant). */
  evidence: (model: string, version: number, decidedAt: string) =>
    `${artifacts}${model}/evidence/v${version}-${decidedAt.replace(/[-:.]/g, '')}.json`,
  /** A snapshot's drift baseline, built from its training split with the fitted transform. */
  baseline: (model: string, snapshotId: string) => `${baselines}${model}/${snapshotId}/baseline.json`,
  /** A drift report, by the end of its window (an ISO instant, written without `:` and `.`). */
  driftReport: (model: string, windowEnd: string) =>
    `${reports}drift/${model}/${windowEnd.replace(/[:.]/g, '')}.json`,
  driftReports: (model: string) => `${reports}drift/${model}/`,
  golden: (model: string) => `${golden}${model}/`,
  goldenLatest: (model: string) => `${golden}${model}/LATEST.json`,
  goldenRows: (model: string, goldenId: string) => `${golden}${model}/${goldenId}/rows.csv`,
  goldenManifest: (model: string, goldenId: string) => `${golden}${model}/${goldenId}/manifest.json`,
  /** A batch-scoring job's outputs: its parts, quarantine parts and the Distributed Map's results. */
  scoresJob: (model: string, job: string) => `${scores}${model}/${job}/`,
  scoresPart: (model: string, job: string, part: number) =>
    `${scores}${model}/${job}/part-${partName(part)}.csv`,
  /** The byte ranges of a job's input, one per child: the map's items. */
  scoresRanges: (model: string, job: string) => `${scores}${model}/${job}/ranges.json`,
  scoresQuarantinePart: (model: string, job: string, part: number) =>
    `${scores}${model}/${job}/quarantine/part-${partName(part)}.csv`,
  /** Where batch scoring's Distributed Map writes its results (`<prefix>/<map run>/manifest.json`). */
  scoresMapResults: `${scores}_map-results`,
  /** A local file uploaded to be scored by a job. */
  scoresInput: (model: string, job: string) => `${scores}${model}/${job}/input/data.csv`,
} as const;
