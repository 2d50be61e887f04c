/**
 * What the lake's documents hold: the raw pointer ingest writes, golden-set manifests and pointers,
 * a snapshot's golden lineage. Where they live is contracts/lake.ts.
 */

/** Pointer written by ingest: which raw data the next training run reads. */
export interface RawPointer {
  /** The raw object; for data in several objects, the prefix that holds them. */
  key: string;
  ingestId: string;
  /**
   * The data's content hash. For data in several objects, the hash of the one file they make: the
   * first object whole, then each later one without its header line (every object has the same
   * header), each ended by a line feed.
   */
  sha256: string;
  rows: number;
  ingestedAt: string;
  /** The model definition the data was ingested with; training uses it. Absent: the deployed one. */
  definitionKey?: string;
  /** The objects of data ingested as several files, in order; absent for one object (`key`). */
  parts?: RawPart[];
}

/** One object of raw data ingested as several files. */
export interface RawPart {
  key: string;
  /** Its size in bytes. */
  bytes: number;
  /** Its data rows. */
  rows: number;
}

/** The objects raw data is in, in order. */
export function rawObjects(pointer: RawPointer): string[] {
  return pointer.parts ? pointer.parts.map((p) => p.key) : [pointer.key];
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

/** Splits `s3://bucket/key` into its parts. */
export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri);
  if (!m) throw new Error(`Not an S3 URI: "${uri}" (expected s3://bucket/key).`);
  return { bucket: m[1]!, key: m[2]! };
}
