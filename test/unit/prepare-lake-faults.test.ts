/**
 * The prepare step when a lake write fails: the manifest, which marks a snapshot complete, is written
 * only after every other object of the snapshot and its drift baseline, and S3 out of reach (no answer,
 * or a 5xx) is `LakeUnavailable` while any other error passes through as it was.
 */
import { describe, expect, it } from 'vitest';
import { trainingJobPrefix } from '../../contracts/names.ts';
import type { ObjectStore } from '../../core/ports.ts';
import { prepareFeatures } from '../../lambdas/prepare-features/core.ts';
import { isLakeUnavailable } from '../../lambdas/prepare-features/lake.ts';
import { credit } from '../support/fixtures.ts';
import { ingestCsv, prepareEnv } from '../support/ingest.ts';
import { demoCsv } from '../support/pipeline-fixtures.ts';

const env = { ...prepareEnv, trainingJobPrefix: trainingJobPrefix('test') };

/** An in-memory lake whose writes to keys matching `failing` throw `error` once {@link arm}ed. */
function lakeWithFault(
  failing: RegExp,
  error: () => Error,
): { lake: ObjectStore; arm(): void; keys(): string[] } {
  const objects = new Map<string, Uint8Array>();
  let armed = false;
  const lake: ObjectStore = {
    bucket: 'lake',
    async getBytes(key) {
      const body = objects.get(key);
      if (!body)
        throw Object.assign(new Error(`no ${key}`), {
          name: 'NoSuchKey',
          $metadata: { httpStatusCode: 404 },
        });
      return body;
    },
    async getText(key) {
      return Buffer.from(await lake.getBytes(key)).toString('utf8');
    },
    async tryGetText(key) {
      const body = objects.get(key);
      return body ? Buffer.from(body).toString('utf8') : undefined;
    },
    async put(key, body) {
      if (armed && failing.test(key)) throw error();
      objects.set(key, typeof body === 'string' ? Buffer.from(body) : body);
    },
    async list(prefix) {
      return [...objects.keys()].filter((k) => k.startsWith(prefix)).sort();
    },
  };
  return {
    lake,
    arm: () => {
      armed = true;
    },
    keys: () => [...objects.keys()],
  };
}

const connectionReset = () =>
  Object.assign(new Error('socket hang up'), { name: 'Error', code: 'ECONNRESET' });

describe('prepare step with a failing lake', () => {
  it.each([
    ['the training split', /\/train\/part-00000\.csv$/],
    ['the drift baseline', /^baselines\//],
  ])(
    'writes no manifest when writing %s fails, and names the failure LakeUnavailable',
    async (_what, failing) => {
      const store = lakeWithFault(failing, connectionReset);
      await ingestCsv(store.lake, credit.name, demoCsv, credit);
      store.arm();
      const run = prepareFeatures({ model: credit.name }, () => undefined, {
        lake: store.lake,
        clock: { now: () => new Date('2025-01-01T00:00:00Z') },
        env,
      });
      await expect(run).rejects.toMatchObject({
        name: 'LakeUnavailable',
        message: expect.stringMatching(/could not be reached while writing .*: Error: socket hang up/),
      });
      const keys = store.keys();
      // The snapshot's other objects are written beside the failing one; the manifest is not.
      expect(keys.filter((k) => k.startsWith(`curated/${credit.name}/`)).length).toBeGreaterThanOrEqual(5);
      expect(keys.filter((k) => k.endsWith('manifest.json'))).toEqual([]);
    },
  );

  it('passes an error that is not S3 out of reach through unchanged (access denied)', async () => {
    const denied = () =>
      Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    const store = lakeWithFault(/manifest\.json$/, denied);
    await ingestCsv(store.lake, credit.name, demoCsv, credit);
    store.arm();
    await expect(
      prepareFeatures({ model: credit.name }, () => undefined, {
        lake: store.lake,
        clock: { now: () => new Date('2025-01-01T00:00:00Z') },
        env,
      }),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
  });

  it.each([
    [{ name: 'Error', code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:9' }, true],
    [{ name: 'TimeoutError', message: 'Connection timed out after 1000 ms' }, true],
    [
      {
        name: 'ServiceUnavailable',
        message: 'Please reduce your request rate.',
        $metadata: { httpStatusCode: 503 },
      },
      true,
    ],
    [
      {
        name: 'InternalError',
        message: 'We encountered an internal error.',
        $metadata: { httpStatusCode: 500 },
      },
      true,
    ],
    [
      { name: 'NoSuchKey', message: 'The specified key does not exist.', $metadata: { httpStatusCode: 404 } },
      false,
    ],
    [{ name: 'AccessDenied', message: 'Access Denied', $metadata: { httpStatusCode: 403 } }, false],
    [{ name: 'SyntaxError', message: 'Unexpected token' }, false],
  ])('classifies %o as S3 out of reach: %s', (shape, expected) => {
    expect(isLakeUnavailable(Object.assign(new Error(shape.message), shape))).toBe(expected);
  });
});
