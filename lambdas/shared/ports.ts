/** The ports the cores depend on; adapters implement them for AWS (and, through endpoints, the twin). */

export interface ObjectStore {
  readonly bucket: string;
  getBytes(key: string): Promise<Uint8Array>;
  getText(key: string): Promise<string>;
  /** Returns undefined when the key does not exist. */
  tryGetText(key: string): Promise<string | undefined>;
  put(key: string, body: string | Uint8Array, contentType?: string): Promise<void>;
  list(prefix: string): Promise<string[]>;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** Splits `s3://bucket/key` into its parts. */
export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri);
  if (!m) throw new Error(`Not an S3 URI: "${uri}" (expected s3://bucket/key).`);
  return { bucket: m[1]!, key: m[2]! };
}
