/**
 * The prepare step's lake, with S3 being unreachable told apart from every other failure: a request
 * that got no answer (connection refused or reset, a timeout) or a 5xx after the SDK's own retries
 * fails the step with `LakeUnavailable`, naming the operation and the key, so the run's failure says
 * what happened and that a rerun is the remedy. Any other error (a missing key, access denied) passes
 * through unchanged.
 */
import { errorNames, PlatformError } from '../../core/errors.ts';
import type { ObjectStore, RangedObjectStore } from '../../core/ports.ts';

/** What an AWS SDK error carries of the answer it got, if any. */
interface SdkErrorShape {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
}

/**
 * Whether an error of a lake call means S3 could not be reached or could not serve: no HTTP answer at
 * all (a network error has no status) or a 5xx (InternalError, ServiceUnavailable, SlowDown).
 */
export function isLakeUnavailable(err: unknown): boolean {
  if (err instanceof PlatformError || typeof err !== 'object' || err === null) return false;
  const e = err as SdkErrorShape;
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined) return status >= 500;
  // No answer: the SDK's network and timeout errors.
  return (
    e.name === 'TimeoutError' ||
    e.name === 'RequestTimeout' ||
    (typeof e.code === 'string' &&
      /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN)$/.test(e.code)) ||
    /socket hang up|ECONNREFUSED|ECONNRESET|EPIPE/i.test(e.message ?? '')
  );
}

/** `lake` whose calls fail with `LakeUnavailable` when S3 cannot be reached (see {@link isLakeUnavailable}). */
export function guardedLake(lake: RangedObjectStore): RangedObjectStore;
export function guardedLake(lake: ObjectStore): ObjectStore;
export function guardedLake(lake: ObjectStore | RangedObjectStore): ObjectStore | RangedObjectStore {
  const guard = async <T>(doing: string, key: string, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (err) {
      if (!isLakeUnavailable(err)) throw err;
      const e = err as SdkErrorShape;
      throw new PlatformError(
        errorNames.lakeUnavailable,
        `The lake (s3://${lake.bucket}) could not be reached while ${doing} ${key}: ${e.name ?? 'Error'}: ${e.message ?? String(err)}. ` +
          'No snapshot was marked complete (its manifest is written last); run the training again once S3 answers.',
      );
    }
  };
  const guarded: ObjectStore = {
    bucket: lake.bucket,
    getBytes: (key) => guard('reading', key, () => lake.getBytes(key)),
    getText: (key) => guard('reading', key, () => lake.getText(key)),
    tryGetText: (key) => guard('reading', key, () => lake.tryGetText(key)),
    put: (key, body, contentType) => guard('writing', key, () => lake.put(key, body, contentType)),
    list: (prefix) => guard('listing', prefix, () => lake.list(prefix)),
  };
  if (!('getRange' in lake)) return guarded;
  return {
    ...guarded,
    size: (key) => guard('reading the size of', key, () => lake.size(key)),
    getRange: (key, start, end) =>
      guard('reading', `${key} (bytes ${start}-${end})`, () => lake.getRange(key, start, end)),
  };
}
