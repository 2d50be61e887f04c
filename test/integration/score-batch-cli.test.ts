/**
 * `mlops score-batch` against a lake in s3rver. The state machine itself cannot run here (the
 * twin's run is test/pipelines/batch-scoring.test.ts), so the target's `execute` stands in for it:
 * it records the execution input it is given and answers with a finished job's summary.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { newJobId, parseS3Uri, scoreBatch } from '../../cli/commands/score-batch.ts';
import { CliError, UsageError } from '../../cli/errors.ts';
import type { ExecutionResult, Target } from '../../cli/target.ts';
import { lakeKeys } from '../../contracts/lake.ts';
import type { S3ObjectStore } from '../../lambdas/shared/adapters/aws/s3-object-store.ts';
import { type LocalAws, startLocalAws } from '../support/local-aws.ts';

let aws: LocalAws;
let lake: S3ObjectStore;
let dir: string;
const started: { kind: string; input: Record<string, unknown> }[] = [];
let answer: (input: Record<string, unknown>) => ExecutionResult;

/** The parts of a Target a batch job uses: the lake, and execute standing in for the machine. */
function target(): Target {
  return {
    lake,
    execute: async (kind: string, input: unknown) => {
      started.push({ kind, input: input as Record<string, unknown> });
      return answer(input as Record<string, unknown>);
    },
  } as unknown as Target;
}

beforeAll(async () => {
  aws = await startLocalAws();
  lake = await aws.createBucket('lake');
  dir = mkdtempSync(join(tmpdir(), 'mlops-score-batch-cli-'));
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await aws.stop();
});

describe('mlops score-batch', () => {
  it('uploads a local file to the job input key, starts the machine with it, and prints the summary as JSON', async () => {
    const file = join(dir, 'rows.csv');
    writeFileSync(file, 'Seniority,Home\n1,rent\n');
    answer = (input) => ({
      status: 'SUCCEEDED',
      output: {
        job: input.job,
        model: 'credit',
        version: 4,
        rows: 1,
        scored: 1,
        quarantined: 0,
        output: `s3://lake/scores/credit/${String(input.job)}/`,
        durationSeconds: 3,
      },
    });
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    let printed: string;
    try {
      await scoreBatch(target(), 'credit', { input: file, json: true });
      printed = log.mock.calls.map((c) => String(c[0])).join('\n');
    } finally {
      log.mockRestore();
    }
    const run = started.at(-1)!;
    const job = String(run.input.job);
    expect(run).toEqual({
      kind: 'batchScoring',
      input: {
        model: 'credit',
        job,
        version: null,
        input: { bucket: 'lake', key: lakeKeys.scoresInput('credit', job) },
        idColumn: null,
      },
    });
    expect(await lake.getText(lakeKeys.scoresInput('credit', job))).toBe('Seniority,Home\n1,rent\n');
    // Only the documented keys, on stdout, as one JSON document.
    expect(JSON.parse(printed)).toEqual({
      job,
      model: 'credit',
      version: 4,
      rows: 1,
      scored: 1,
      quarantined: 0,
      output: `s3://lake/scores/credit/${job}/`,
    });
  });

  it('passes an s3:// input and a version through without uploading, and names a failed run', async () => {
    answer = () => ({ status: 'FAILED', error: 'InvalidInput', cause: 'The input lacks column(s) Income' });
    const err = await scoreBatch(target(), 'credit', {
      input: 's3://lake/raw/credit/x/data.csv',
      version: 2,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as Error).message).toMatch(
      /Batch scoring job .* of "credit" failed: InvalidInput — The input lacks column\(s\) Income/,
    );
    expect(started.at(-1)!.input).toMatchObject({
      version: 2,
      input: { bucket: 'lake', key: 'raw/credit/x/data.csv' },
    });
  });

  it('refuses an s3 URI without a key and a file that cannot be read', async () => {
    await expect(scoreBatch(target(), 'credit', { input: 's3://lake' })).rejects.toBeInstanceOf(UsageError);
    await expect(scoreBatch(target(), 'credit', { input: join(dir, 'absent.csv') })).rejects.toThrow(
      /Cannot read --input .*absent\.csv/,
    );
  });

  it('makes job ids a key and an execution input accept', () => {
    expect(newJobId(new Date('2026-01-02T03:04:05.678Z'))).toMatch(/^20260102T030405-[0-9a-f]{6}$/);
    expect(parseS3Uri('s3://b/k/x.csv')).toEqual({ bucket: 'b', key: 'k/x.csv' });
    expect(parseS3Uri('/tmp/x.csv')).toBeUndefined();
  });
});
