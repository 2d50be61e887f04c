/** Where things live in the data lake. One place, so every step agrees on the layout. */
export const lakeKeys = {
  rawLatest: (model: string) => `raw/${model}/LATEST.json`,
  rawData: (model: string, ingestId: string) => `raw/${model}/${ingestId}/data.csv`,
  rawDefinition: (model: string, ingestId: string) => `raw/${model}/${ingestId}/model.json`,
  curated: (model: string, snapshotId: string) => `curated/${model}/${snapshotId}/`,
  quarantine: (model: string, snapshotId: string) => `quarantine/${model}/${snapshotId}/rows.jsonl`,
  jobArtifacts: (model: string, jobName: string) => `artifacts/${model}/jobs/${jobName}/`,
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
