/**
 * The twin's state directory: which directories a twin takes or resets, and how the executions'
 * records read back after a stop or a crash (local/twin-state.ts).
 */
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ExecutionRecord } from '../../contracts/twin-api.ts';
import {
  claimStateDir,
  ExecutionJournal,
  releaseStateDir,
  resetStateDir,
  TWIN_STOPPED_ERROR,
  TwinStateError,
} from '../../local/twin-state.ts';

function record(name: string, status: ExecutionRecord['status']): ExecutionRecord {
  return {
    executionArn: `arn:aws:states:eu-west-1:000000000000:execution:training:${name}`,
    stateMachine: 'training',
    stateMachineArn: 'arn:aws:states:eu-west-1:000000000000:stateMachine:training',
    status,
    input: { model: 'credit' },
    states: ['AcquireLease'],
    startedAt: '2026-01-01T00:00:00.000Z',
    ...(status === 'RUNNING' ? {} : { stoppedAt: '2026-01-01T00:01:00.000Z' }),
  };
}

describe("the twin's state directory", () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'mlops-state-unit-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('GIVEN a new directory WHEN a twin claims it and releases it THEN it is marked as a twin state and the claim is gone', () => {
    const dir = join(root, 'state');
    const paths = claimStateDir(dir);
    expect(existsSync(join(dir, 'twin-state.json'))).toBe(true);
    expect(readFileSync(join(dir, 'twin.pid'), 'utf8').trim()).toBe(String(process.pid));
    releaseStateDir(paths);
    expect(existsSync(join(dir, 'twin.pid'))).toBe(false);
    // Claimed again once released: a restart in the same process.
    releaseStateDir(claimStateDir(dir));
  });

  it('GIVEN a directory a live process claimed WHEN another twin claims or resets it THEN both are refused naming that process', () => {
    const dir = join(root, 'state');
    claimStateDir(dir);
    // Our parent process is alive: a twin in it would hold the directory.
    writeFileSync(join(dir, 'twin.pid'), `${process.ppid}\n`);
    expect(() => claimStateDir(dir)).toThrow(
      new RegExp(`process ${process.ppid} is using the state directory`),
    );
    expect(() => resetStateDir(dir)).toThrow(TwinStateError);
    expect(existsSync(join(dir, 'twin-state.json')), 'nothing removed').toBe(true);
  });

  it('GIVEN a directory whose twin was killed WHEN a twin claims it THEN the dead claim does not stand in its way', () => {
    const dir = join(root, 'state');
    claimStateDir(dir);
    // No process has this id (beyond Linux's pid_max).
    writeFileSync(join(dir, 'twin.pid'), '99999999\n');
    expect(() => claimStateDir(dir)).not.toThrow();
  });

  it('GIVEN a directory with files that is not a twin state WHEN it is claimed or reset THEN it is refused and left alone', () => {
    const dir = join(root, 'mine');
    mkdirSync(dir);
    writeFileSync(join(dir, 'notes.txt'), 'keep me');
    expect(() => claimStateDir(dir)).toThrow(/is not a twin's state directory/);
    expect(() => resetStateDir(dir)).toThrow(/refusing to remove it/);
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('keep me');
  });

  it('GIVEN a file as the state directory WHEN it is claimed or reset THEN it is refused, saying it is a file', () => {
    const file = join(root, 'a-file');
    writeFileSync(file, 'x');
    expect(() => claimStateDir(file)).toThrow(/is a file, not a directory/);
    expect(() => resetStateDir(file)).toThrow(/is a file, not a directory/);
    expect(readFileSync(file, 'utf8')).toBe('x');
  });

  it('GIVEN a twin state WHEN it is reset THEN the directory is gone', () => {
    const dir = join(root, 'state');
    releaseStateDir(claimStateDir(dir));
    writeFileSync(join(dir, 'executions.jsonl'), '');
    resetStateDir(dir);
    expect(existsSync(dir)).toBe(false);
    expect(() => resetStateDir(join(root, 'never-made'))).not.toThrow();
  });
});

describe('the executions journal', () => {
  let file: string;
  beforeEach(() => {
    file = join(mkdtempSync(join(tmpdir(), 'mlops-journal-unit-')), 'executions.jsonl');
  });

  it('GIVEN lines written as executions started and ended, and a torn last line WHEN read back THEN each execution is its last record, in start order, and the running one FAILED as cut off', () => {
    const journal = new ExecutionJournal(file);
    journal.write(record('a', 'RUNNING'));
    journal.write(record('b', 'RUNNING'));
    journal.write(record('a', 'SUCCEEDED'));
    appendFileSync(file, '{"executionArn":"arn:aws:states:eu-west-1:0:execution:training:c","sta');

    const now = new Date('2026-01-02T00:00:00.000Z');
    const records = new ExecutionJournal(file).load(now);
    expect(records.map((r) => [r.executionArn.split(':').pop(), r.status, r.error])).toEqual([
      ['a', 'SUCCEEDED', undefined],
      ['b', 'FAILED', TWIN_STOPPED_ERROR],
    ]);
    expect(records[1]!.cause).toMatch(/twin stopped while this execution was running/);
    expect(records[1]!.stoppedAt).toBe(now.toISOString());
    expect(records[1]!.states, 'what it did before the stop is kept').toEqual(['AcquireLease']);
    // The file now holds exactly those records, so a second start reads the same.
    expect(new ExecutionJournal(file).load()).toEqual(records);
  });

  it('GIVEN a journal closed by a stop with an execution running WHEN written to after THEN the stop stands: FAILED, and later lines are not taken', () => {
    const journal = new ExecutionJournal(file);
    const running = record('d', 'RUNNING');
    journal.write(running);
    journal.close([running], new Date('2026-01-03T00:00:00.000Z'));
    journal.write({ ...running, status: 'FAILED', error: 'Error', cause: 'connection refused' });
    const [read] = new ExecutionJournal(file).load();
    expect(read).toMatchObject({
      status: 'FAILED',
      error: TWIN_STOPPED_ERROR,
      stoppedAt: '2026-01-03T00:00:00.000Z',
    });
  });

  it('GIVEN a journal whose directory was removed under the twin WHEN an execution is written THEN nothing throws', () => {
    const journal = new ExecutionJournal(file);
    rmSync(dirname(file), { recursive: true, force: true });
    expect(() => journal.write(record('e', 'RUNNING'))).not.toThrow();
    expect(existsSync(file)).toBe(false);
  });

  it('GIVEN no journal yet WHEN read THEN there is no execution', () => {
    expect(new ExecutionJournal(file).load()).toEqual([]);
  });
});
