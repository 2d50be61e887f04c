/** The {@link RangedObjectStore} port on an S3 bucket: reads (whole or by byte range), writes and listings. */
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import type { RangedObjectStore } from '../../../../core/ports.ts';
import { S3ObjectReader } from './s3-object-reader.ts';

export class S3ObjectStore extends S3ObjectReader implements RangedObjectStore {
  async size(key: string): Promise<number> {
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return res.ContentLength ?? 0;
    } catch (err) {
      throw this.missing(err, key);
    }
  }

  async getRange(key: string, start: number, end: number): Promise<Uint8Array> {
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start) {
      throw new RangeError(`s3://${this.bucket}/${key}: bad byte range [${start}, ${end})`);
    }
    if (end === start) return new Uint8Array(0);
    try {
      const res = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: `bytes=${start}-${end - 1}` }),
      );
      if (!res.Body) throw new Error(`s3://${this.bucket}/${key} has no body`);
      return await res.Body.transformToByteArray();
    } catch (err) {
      // A range that starts at or past the end: S3 answers 416.
      if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 416) {
        return new Uint8Array(0);
      }
      throw this.missing(err, key);
    }
  }

  async put(key: string, body: string | Uint8Array, contentType = 'application/octet-stream'): Promise<void> {
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType }),
    );
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const res = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of res.Contents ?? []) if (o.Key) keys.push(o.Key);
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  }
}
