/**
 * S3 on loopback for the twin and the integration tests: s3rver, with its filesystem store made
 * safe to read while it writes.
 *
 * s3rver 3.7 rewrites an object's file in place (`createWriteStream` truncates it first) and
 * answers the PUT before the file is complete (for a streamed body, when its hashing transform
 * finishes, not the file), so a GET soon after an overwrite, or during another one, can read an
 * empty or partial object, or the new bytes with the old size. Here every object, its MD5 and its
 * metadata are written to files outside the buckets and renamed into place once complete (outside,
 * because s3rver's listing stats each name it reads under a bucket, and a staged file renamed away
 * in between would fail it), and a read opens the object once and takes its size from that open
 * file. The renames of one write and the open-and-read of one read each run synchronously, in the
 * one process that runs s3rver, so a reader sees one whole version, old or new, never a mix.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  createWriteStream,
  fstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  type Stats,
} from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import S3rver from 's3rver';

/** A running local S3. */
export interface LocalS3 {
  /** `http://<address>:<port>` */
  endpoint: string;
  /** Stops the server; removes every object it stored unless they are in a `directory` given at start. */
  close(): Promise<void>;
}

export interface LocalS3Options {
  /** @default '127.0.0.1' */
  address?: string;
  /**
   * A directory to keep the buckets in (created if missing), where they outlast the server: the
   * next start on it serves the same buckets and objects.
   * @default a temporary directory, removed on close
   */
  directory?: string;
}

/** Starts s3rver on an ephemeral loopback port, storing objects in a directory of its own. */
export async function startLocalS3(options: LocalS3Options = {}): Promise<LocalS3> {
  const address = options.address ?? '127.0.0.1';
  const root = options.directory ?? mkdtempSync(join(tmpdir(), 'mlops-s3-'));
  const buckets = join(root, 'buckets');
  const writes = join(root, 'writes');
  // A write cut off by a killed process leaves its staged files; none of them is an object yet.
  rmSync(writes, { recursive: true, force: true });
  mkdirSync(buckets, { recursive: true });
  mkdirSync(writes);
  const server = new S3rver({ port: 0, address, silent: true, directory: buckets });
  makeReadAfterWriteSafe(server, writes);
  const { port } = (await server.run()) as AddressInfo;
  return {
    endpoint: `http://${address}:${port}`,
    async close() {
      await server.close();
      if (!options.directory) rmSync(root, { recursive: true, force: true });
    },
  };
}

/** What s3rver's controllers hand the store and read back from it (`lib/models/object.js`). */
interface S3ObjectLike {
  bucket: string;
  key: string;
  content: Buffer | Readable | null;
  metadata: Record<string, string | number>;
  range?: { start: number; end: number };
}

type S3ObjectClass = {
  new (
    bucket: string,
    key: string,
    content: Readable | null,
    metadata: Record<string, string | number | undefined>,
  ): S3ObjectLike;
  ALLOWED_METADATA: string[];
};

/** The part of s3rver's `FilesystemStore` this module reads or replaces. */
interface FilesystemStore {
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  getMetadata(bucket: string, key: string): Promise<Record<string, string | number>>;
  getObject(
    bucket: string,
    key: string,
    options?: { start?: number; end?: number },
  ): Promise<S3ObjectLike | null>;
  putObject(object: S3ObjectLike): Promise<{ size: number; md5: string }>;
  copyObject(
    srcBucket: string,
    srcKey: string,
    destBucket: string,
    destKey: string,
    replacementMetadata?: Record<string, string>,
  ): Promise<Record<string, string | number>>;
  putPart(
    bucket: string,
    uploadId: string,
    partNumber: number,
    content: Readable,
  ): Promise<{ size: number; md5: string }>;
}

// s3rver ships CommonJS and no types; its object model is what its controllers expect back.
const S3Object = createRequire(import.meta.url)('s3rver/lib/models/object.js') as S3ObjectClass;

/** One version of an object, pinned by an open descriptor: its size, MD5 and metadata belong to it. */
interface Snapshot {
  fd: number;
  stat: Stats;
  stored: Record<string, string> | undefined;
  md5: string | undefined;
}

function readIfPresent(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function md5OfDescriptor(fd: number): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream('', { fd, start: 0, autoClose: false })) hash.update(chunk);
  return hash.digest('hex');
}

/**
 * Replaces the object reads and writes of a not yet started s3rver's store (see the module
 * comment); `writesDir` holds the files being written and must be on the store's filesystem,
 * outside its directory.
 */
export function makeReadAfterWriteSafe(server: S3rver, writesDir: string): void {
  const store = (server as unknown as { store: FilesystemStore }).store;
  const paths = (bucket: string, key: string) => ({
    object: store.getResourcePath(bucket, key, 'object'),
    md5: store.getResourcePath(bucket, key, 'object.md5'),
    metadata: store.getResourcePath(bucket, key, 'metadata.json'),
  });

  /** Synchronous, so that no write's renames can fall between its steps. */
  function snapshot(bucket: string, key: string): Snapshot | undefined {
    const p = paths(bucket, key);
    let fd: number;
    try {
      fd = openSync(p.object, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      const metadata = readIfPresent(p.metadata);
      return {
        fd,
        stat: fstatSync(fd),
        stored: metadata ? (JSON.parse(metadata.toString('utf8')) as Record<string, string>) : undefined,
        md5: readIfPresent(p.md5)?.toString('utf8'),
      };
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  /** The metadata s3rver answers with, as its own `getMetadata` builds it, for the pinned version. */
  async function metadataOf(s: Snapshot): Promise<Record<string, string | number>> {
    // s3rver writes no MD5 file for some copies; it computes the ETag on first read then.
    const md5 = s.md5 ?? (await md5OfDescriptor(s.fd));
    return {
      ...s.stored,
      etag: JSON.stringify(md5),
      'last-modified': s.stat.mtime.toUTCString(),
      'content-length': s.stat.size,
    };
  }

  /** The metadata s3rver keeps for an object: the allowed headers and the user's `x-amz-meta-*`. */
  function storable(metadata: Record<string, string | number>): Record<string, string | number> {
    return Object.fromEntries(
      Object.entries(metadata).filter(
        ([k]) => S3Object.ALLOWED_METADATA.includes(k) || k.startsWith('x-amz-meta-'),
      ),
    );
  }

  async function putObject(object: S3ObjectLike): Promise<{ size: number; md5: string }> {
    const target = paths(object.bucket, object.key);
    const staged = join(writesDir, randomUUID());
    const files = { object: staged, md5: `${staged}.md5`, metadata: `${staged}.json` };
    try {
      const hash = createHash('md5');
      let size = 0;
      if (Buffer.isBuffer(object.content)) {
        hash.update(object.content);
        size = object.content.length;
        await writeFile(files.object, object.content);
      } else if (object.content) {
        const measure = new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            hash.update(chunk);
            size += chunk.length;
            callback(null, chunk);
          },
        });
        // Resolves once the file stream has finished: every byte is in the file.
        await pipeline(object.content, measure, createWriteStream(files.object));
      } else {
        await writeFile(files.object, '');
      }
      const md5 = hash.digest('hex');
      await Promise.all([
        writeFile(files.md5, md5),
        writeFile(files.metadata, JSON.stringify(storable(object.metadata), null, 2)),
      ]);
      // Synchronous, so that no read's snapshot can fall between the renames.
      mkdirSync(dirname(target.object), { recursive: true });
      renameSync(files.metadata, target.metadata);
      renameSync(files.md5, target.md5);
      renameSync(files.object, target.object);
      return { size, md5 };
    } catch (err) {
      await Promise.all(Object.values(files).map((f) => rm(f, { force: true })));
      throw err;
    }
  }

  async function getObject(
    bucket: string,
    key: string,
    options?: { start?: number; end?: number },
  ): Promise<S3ObjectLike | null> {
    const s = snapshot(bucket, key);
    if (!s) return null;
    let metadata: Record<string, string | number>;
    try {
      metadata = await metadataOf(s);
    } catch (err) {
      closeSync(s.fd);
      throw err;
    }
    const lastByte = Math.max(0, s.stat.size - 1);
    const range = {
      start: options?.start ?? 0,
      end: Math.min(options?.end ?? Number.POSITIVE_INFINITY, lastByte),
    };
    const ranged = options !== undefined && (options.start !== undefined || options.end !== undefined);
    let content: Readable | null = null;
    if (range.start < 0 || range.end < range.start) closeSync(s.fd);
    else content = createReadStream('', { fd: s.fd, start: range.start, end: range.end });
    const object = new S3Object(bucket, key, content, metadata);
    if (ranged) object.range = range;
    return object;
  }

  async function getMetadata(bucket: string, key: string): Promise<Record<string, string | number>> {
    const s = snapshot(bucket, key);
    if (!s) {
      // s3rver's callers expect a missing object to throw ENOENT here.
      throw Object.assign(new Error(`ENOENT: no object ${bucket}/${key}`), { code: 'ENOENT' });
    }
    try {
      return await metadataOf(s);
    } finally {
      closeSync(s.fd);
    }
  }

  async function copyObject(
    srcBucket: string,
    srcKey: string,
    destBucket: string,
    destKey: string,
    replacementMetadata?: Record<string, string>,
  ): Promise<Record<string, string | number>> {
    const source = await getObject(srcBucket, srcKey);
    if (!source) {
      throw Object.assign(new Error(`ENOENT: no object ${srcBucket}/${srcKey}`), { code: 'ENOENT' });
    }
    await putObject({
      bucket: destBucket,
      key: destKey,
      content: source.content,
      metadata: replacementMetadata ?? source.metadata,
    });
    return getMetadata(destBucket, destKey);
  }

  async function putPart(
    bucket: string,
    uploadId: string,
    partNumber: number,
    content: Readable,
  ): Promise<{ size: number; md5: string }> {
    const partPath = join(store.getResourcePath(bucket, undefined, 'uploads'), uploadId, String(partNumber));
    await mkdir(dirname(partPath), { recursive: true });
    const hash = createHash('md5');
    let size = 0;
    const measure = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        size += chunk.length;
        callback(null, chunk);
      },
    });
    // The completing request reads the parts back: answer once the part's file is complete.
    await pipeline(content, measure, createWriteStream(partPath));
    const md5 = hash.digest('hex');
    await writeFile(`${partPath}.md5`, md5);
    return { size, md5 };
  }

  Object.assign(store, { putObject, getObject, getMetadata, copyObject, putPart });
}
