/**
 * Reading objects from S3. The predict function only reads a version's artifacts, so it builds this
 * alone and its bundle leaves out the writes and listings of {@link S3ObjectStore} (which extends it).
 */
import { GetObjectCommand, NoSuchKey, type S3Client } from '@aws-sdk/client-s3';
import type { ObjectStore } from '../../../../core/ports.ts';

export class S3ObjectReader implements Pick<ObjectStore, 'bucket' | 'getBytes' | 'getText' | 'tryGetText'> {
  constructor(
    protected readonly client: S3Client,
    readonly bucket: string,
  ) {}

  async getBytes(key: string): Promise<Uint8Array> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      if (!res.Body) throw new Error(`s3://${this.bucket}/${key} has no body`);
      return await res.Body.transformToByteArray();
    } catch (err) {
      throw this.missing(err, key);
    }
  }

  /** `err`, or a NoSuchKey error naming the object when it says the object does not exist. */
  protected missing(err: unknown, key: string): unknown {
    const name = (err as { name?: string }).name;
    // HeadObject's 404 carries no code in its body: the SDK names it NotFound.
    if (err instanceof NoSuchKey || name === 'NoSuchKey' || name === 'NotFound') {
      const e = new Error(`s3://${this.bucket}/${key} does not exist`);
      e.name = 'NoSuchKey';
      return e;
    }
    return err;
  }

  async getText(key: string): Promise<string> {
    return Buffer.from(await this.getBytes(key)).toString('utf8');
  }

  async tryGetText(key: string): Promise<string | undefined> {
    try {
      return await this.getText(key);
    } catch (err) {
      if ((err as { name?: string }).name === 'NoSuchKey') return undefined;
      throw err;
    }
  }
}
