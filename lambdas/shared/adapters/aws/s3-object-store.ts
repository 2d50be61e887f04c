/**
 * The {@link RangedObjectStore} port on an S3 bucket: reads (whole or by byte range), writes (whole or
 * in parts) and listings.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { RangedObjectStore } from '../../../../core/ports.ts';
import { S3ObjectReader } from './s3-object-reader.ts';

/** Bytes per part of a multipart upload: above S3's 5 MiB minimum, and what {@link S3ObjectStore.putPieces} holds. */
const PART_BYTES = 8 * 1024 * 1024;

export class S3ObjectStore extends S3ObjectReader implements RangedObjectStore {
  /**
   * Pieces gathered into parts of {@link PART_BYTES}; an object that fits one part is a plain
   * PutObject. A failed upload is aborted, so no part is left stored (and should the abort fail too,
   * the lake's lifecycle rule removes incomplete uploads).
   */
  async putPieces(
    key: string,
    pieces: AsyncIterable<Uint8Array>,
    contentType = 'application/octet-stream',
  ): Promise<number> {
    let held: Uint8Array[] = [];
    let heldBytes = 0;
    let total = 0;
    let uploadId: string | undefined;
    const parts: { ETag: string; PartNumber: number }[] = [];
    const flush = async () => {
      uploadId ??= (
        await this.client.send(
          new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ContentType: contentType }),
        )
      ).UploadId;
      const PartNumber = parts.length + 1;
      const res = await this.client.send(
        new UploadPartCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: uploadId,
          PartNumber,
          Body: Buffer.concat(held, heldBytes),
        }),
      );
      parts.push({ ETag: res.ETag ?? '', PartNumber });
      held = [];
      heldBytes = 0;
    };
    try {
      for await (const piece of pieces) {
        held.push(piece);
        heldBytes += piece.length;
        total += piece.length;
        if (heldBytes >= PART_BYTES) await flush();
      }
      if (uploadId === undefined) {
        await this.put(key, Buffer.concat(held, heldBytes), contentType);
        return total;
      }
      if (heldBytes > 0) await flush();
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
      return total;
    } catch (err) {
      if (uploadId !== undefined) {
        await this.client
          .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }))
          .catch(() => undefined);
      }
      throw err;
    }
  }

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
