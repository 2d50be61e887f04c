/** Where things live in the data lake. One place, so every step agrees on the layout. */
import { errorNames, PlatformError } from './errors.ts';
import { type ModelDefinition, parseModelDefinition } from './features/spec.ts';
import type { ObjectStore } from './ports.ts';

export const lakeKeys = {
  rawLatest: (model: string) => `raw/${model}/LATEST.json`,
  rawData: (model: string, ingestId: string) => `raw/${model}/${ingestId}/data.csv`,
  rawDefinition: (model: string, ingestId: string) => `raw/${model}/${ingestId}/model.json`,
  curated: (model: string, snapshotId: string) => `curated/${model}/${snapshotId}/`,
  quarantine: (model: string, snapshotId: string) => `quarantine/${model}/${snapshotId}/rows.jsonl`,
  jobArtifacts: (model: string, jobName: string) => `artifacts/${model}/jobs/${jobName}/`,
  golden: (model: string) => `golden/${model}/`,
  goldenLatest: (model: string) => `golden/${model}/LATEST.json`,
  goldenRows: (model: string, goldenId: string) => `golden/${model}/${goldenId}/rows.csv`,
  goldenManifest: (model: string, goldenId: string) => `golden/${model}/${goldenId}/manifest.json`,
} as const;

/** Pointer written by ingest: which raw object the next training run reads. */
export interface RawPointer {
  key: string;
  ingestId: string;
  sha256: string;
  rows: number;
  ingestedAt: string;
  /** The model definition the data was ingested with; training uses it. Absent: the deployed one. */
  definitionKey?: string;
}

/**
 * A golden set as stored beside its rows. Golden sets are write-once: the id follows from the
 * content, so a new file is a new version and the earlier ones stay.
 */
export interface GoldenManifest {
  model: string;
  /** `g-` and the first 12 hex digits of the CSV's sha256. */
  goldenId: string;
  /** sha256 of the CSV bytes as given. */
  sha256: string;
  rows: number;
  /** Rows per label value, e.g. `{bad: 56, good: 144}`. */
  classes: Record<string, number>;
  columns: string[];
  createdAt: string;
  /** Name of the file the set was made from. */
  source: string;
  note?: string;
}

/** `golden/<model>/LATEST.json`: the golden set the next training run evaluates on. */
export interface GoldenPointer {
  goldenId: string;
  key: string;
  manifestKey: string;
  sha256: string;
  rows: number;
  setAt: string;
}

/** Where a snapshot's golden rows came from: a stored golden set, or a hash/random/time split of the raw rows. */
export type GoldenLineage =
  | { source: 'golden-set'; goldenId: string; sha256: string; rows: number }
  | { source: 'split'; fraction: number };

/**
 * The definition ingested with the raw data a pointer names (undefined when it carries none: the
 * deployed `models/<name>.json` applies). A stored definition that no longer parses is InvalidInput.
 */
export async function ingestedDefinition(
  lake: ObjectStore,
  pointer: RawPointer,
): Promise<ModelDefinition | undefined> {
  if (!pointer.definitionKey) return undefined;
  try {
    return parseModelDefinition(
      JSON.parse(await lake.getText(pointer.definitionKey)),
      `s3://${lake.bucket}/${pointer.definitionKey}`,
    );
  } catch (err) {
    throw new PlatformError(errorNames.invalidInput, (err as Error).message);
  }
}
