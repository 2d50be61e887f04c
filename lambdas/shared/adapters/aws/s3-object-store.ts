/** The {@link ObjectStore} port on an S3 bucket: reads, writes and listings. */
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import type { ObjectStore } from '../../../../core/ports.ts';
import { S3ObjectReader } from './s3-object-reader.ts';

export class S3ObjectStore extends S3ObjectReader implements ObjectStore {
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
