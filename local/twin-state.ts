/**
 * A twin's state directory: what a twin keeps across a stop, a crash or `kill -9`, so that the next
 * twin started on it carries on. Its layout:
 *
 *   twin-state.json   marks the directory as a twin's (so `--reset` never wipes anything else)
 *   twin.pid          the process of the twin using it, while one does
 *   tables/           dynalite's LevelDB files: the registry, the leases, the prediction log
 *   s3/buckets/       s3rver's buckets: the lake, the artifacts, the assets
 *   executions.jsonl  every execution's record, a line each time one starts or ends
 *   functions.log     the functions' output
 *   api-keys.json     the API key values the twin issued (mode 0600), so clients keep their keys
 *
 * The executions file is appended to, never rewritten while a twin runs, so a killed twin leaves
 * at most a torn last line, which the next start skips. An execution whose last line says RUNNING
 * was cut off by the stop: the next start records it as FAILED, with a cause saying so.
 */
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import type { ExecutionRecord } from '../contracts/twin-api.ts';

const MARKER = 'twin-state.json';
const PID_FILE = 'twin.pid';

/** The error an execution cut off by a stop of the twin fails with. */
export const TWIN_STOPPED_ERROR = 'TwinStopped';

/** A state directory the twin cannot use (held by another twin, or not a twin's); the message says why. */
export class TwinStateError extends Error {
  override readonly name = 'TwinStateError';
}

/** Where each part of a twin's state lives inside its state directory. */
export interface TwinStatePaths {
  readonly dir: string;
  readonly tables: string;
  readonly buckets: string;
  readonly executions: string;
  readonly logFile: string;
  readonly apiKeys: string;
}

/** Where the parts of the state in `dir` live; refuses a `dir` that is a file. */
export function statePaths(dir: string): TwinStatePaths {
  const root = resolve(dir);
  checkIsDirectory(root);
  return {
    dir: root,
    tables: join(root, 'tables'),
    buckets: join(root, 's3'),
    executions: join(root, 'executions.jsonl'),
    logFile: join(root, 'functions.log'),
    apiKeys: join(root, 'api-keys.json'),
  };
}

/** Refuses a path that exists and is not a directory. */
function checkIsDirectory(root: string): void {
  if (existsSync(root) && !statSync(root).isDirectory()) {
    throw new TwinStateError(
      `the state directory ${root} is a file, not a directory; pass a --state-dir that is a directory or does not exist yet.`,
    );
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: a process of another user holds that id, which is alive.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The process of the twin using `dir`, when one is alive. */
function holder(dir: string): number | undefined {
  const file = join(dir, PID_FILE);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
}

/**
 * Removes a state directory and everything in it, refusing a directory that holds files and is not
 * a twin's, or that a running twin uses.
 */
export function resetStateDir(dir: string): void {
  const root = resolve(dir);
  if (!existsSync(root)) return;
  checkIsDirectory(root);
  if (readdirSync(root).length > 0 && !existsSync(join(root, MARKER))) {
    throw new TwinStateError(
      `${root} is not a twin's state directory (it has no ${MARKER}); refusing to remove it. Pass a --state-dir the twin made, or an empty or new one.`,
    );
  }
  const pid = holder(root);
  if (pid !== undefined) {
    throw new TwinStateError(
      `the twin in process ${pid} is using ${root}; stop it before resetting its state.`,
    );
  }
  rmSync(root, { recursive: true, force: true });
}

/**
 * Takes a state directory for this process (creating it when missing): refuses one another live
 * twin uses, or a directory with files that is not a twin's. Returns where its parts live.
 */
export function claimStateDir(dir: string): TwinStatePaths {
  const paths = statePaths(dir);
  mkdirSync(paths.dir, { recursive: true });
  const marker = join(paths.dir, MARKER);
  if (!existsSync(marker)) {
    if (readdirSync(paths.dir).length > 0) {
      throw new TwinStateError(
        `${paths.dir} is not a twin's state directory (it has no ${MARKER}) and is not empty; pass a new or empty --state-dir.`,
      );
    }
    writeFileSync(marker, `${JSON.stringify({ createdAt: new Date().toISOString() }, null, 2)}\n`);
  }
  const pid = holder(paths.dir);
  if (pid !== undefined) {
    throw new TwinStateError(
      `the twin in process ${pid} is using the state directory ${paths.dir}; stop it, or pass another --state-dir.`,
    );
  }
  writeFileSync(join(paths.dir, PID_FILE), `${process.pid}\n`);
  return paths;
}

/** Gives a state directory up (the twin using it stopped). */
export function releaseStateDir(paths: TwinStatePaths): void {
  const file = join(paths.dir, PID_FILE);
  if (existsSync(file) && readFileSync(file, 'utf8').trim() === String(process.pid)) rmSync(file);
}

/** An API key value a twin issued, by the key's id and name in the templates. */
export interface KeptApiKey {
  id: string;
  name: string;
  value: string;
}

const isKeptKey = (k: unknown): k is KeptApiKey =>
  typeof k === 'object' &&
  k !== null &&
  ['id', 'name', 'value'].every((f) => typeof (k as Record<string, unknown>)[f] === 'string');

/**
 * The API key values earlier twins issued on this state directory (none when there is no file).
 * Refuses a file that is not what {@link keepApiKeys} writes, naming it.
 */
export function readKeptApiKeys(file: string): KeptApiKey[] {
  if (!existsSync(file)) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new TwinStateError(
      `${file} is not JSON (${(err as Error).message}); remove it to have the twin issue new API key values, or start with --reset.`,
    );
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || !keys.every(isKeptKey)) {
    throw new TwinStateError(
      `${file} does not hold {"keys": [{"id", "name", "value"}, ...]}; remove it to have the twin issue new API key values, or start with --reset.`,
    );
  }
  return keys;
}

/**
 * Keeps exactly these API key values in the state directory, readable by this user only. The file
 * is written beside its place and renamed into it, so a twin killed meanwhile leaves the old file
 * or the new one, never a torn one.
 */
export function keepApiKeys(file: string, keys: readonly KeptApiKey[]): void {
  const staged = `${file}.${process.pid}.new`;
  rmSync(staged, { force: true });
  const kept = keys.map(({ id, name, value }) => ({ id, name, value }));
  writeFileSync(staged, `${JSON.stringify({ keys: kept }, null, 2)}\n`, { mode: 0o600 });
  renameSync(staged, file);
}

/** Marks a record cut off by a stop of the twin as failed. */
export function failAsStopped(record: ExecutionRecord, at: string, found: string): ExecutionRecord {
  return {
    ...record,
    status: 'FAILED',
    error: TWIN_STOPPED_ERROR,
    cause: `The twin stopped while this execution was running, ${found}; it did not finish. Start it again if it is still needed.`,
    stoppedAt: at,
  };
}

/** The executions' records of a state directory, kept as they start and end. */
export class ExecutionJournal {
  private closed = false;

  constructor(private readonly file: string) {}

  /**
   * The records of earlier twins, in the order they started; those still running when their twin
   * stopped are marked failed. Rewrites the file with exactly these records.
   */
  load(now: Date = new Date()): ExecutionRecord[] {
    if (!existsSync(this.file)) return [];
    const byArn = new Map<string, ExecutionRecord>();
    for (const line of readFileSync(this.file, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      let record: ExecutionRecord;
      try {
        record = JSON.parse(line) as ExecutionRecord;
      } catch {
        // A line torn by a killed twin: the record before it stands.
        continue;
      }
      if (typeof record?.executionArn === 'string') byArn.set(record.executionArn, record);
    }
    const at = now.toISOString();
    const records = [...byArn.values()].map((r) =>
      r.status === 'RUNNING'
        ? failAsStopped(r, at, `found unfinished when the twin started again at ${at}`)
        : r,
    );
    const staged = `${this.file}.new`;
    writeFileSync(staged, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
    renameSync(staged, this.file);
    return records;
  }

  /**
   * Appends a record as it is now (a start or an end); nothing once the journal is closed. A journal
   * whose directory was removed under the running twin takes no more lines instead of failing the
   * execution it records.
   */
  write(record: ExecutionRecord): void {
    if (this.closed) return;
    try {
      appendFileSync(this.file, `${JSON.stringify(record)}\n`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.closed = true;
    }
  }

  /** Records the executions still running as cut off by this stop, and takes no more lines. */
  close(running: readonly ExecutionRecord[], now: Date = new Date()): void {
    const at = now.toISOString();
    for (const r of running) this.write(failAsStopped(r, at, `at ${at}`));
    this.closed = true;
  }
}
