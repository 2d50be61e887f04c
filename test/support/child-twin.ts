/**
 * A twin in a process of its own (`mlops local up` on a state directory), for tests that kill it
 * outright, and reading its executions from the control API while it runs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { inject } from 'vitest';
import type { ExecutionRecord } from '../../contracts/twin-api.ts';
import { until } from './until.ts';

/** A twin process: the process, its URL, and what it printed so far. */
export interface ChildTwin {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/** GETs `url` and parses its JSON; fails naming the URL on an error status. */
export async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

/** Starts `mlops local up` on the state directory in a process of its own; resolves with its URL once it serves. */
export function startChildTwin(stateDir: string, extra: string[] = []): Promise<ChildTwin> {
  const child = spawn(
    process.execPath,
    [
      'bin/mlops.js',
      'local',
      'up',
      '--assembly',
      inject('assemblyDir'),
      '--state-dir',
      stateDir,
      '--port',
      '0',
      ...extra,
    ],
    { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const ready = /Local twin ready at (http:\/\/\S+)/.exec(out);
      if (ready) resolve({ child, url: ready[1]!, output: () => out });
    });
    child.stderr!.on('data', (d) => (out += d));
    child.once('exit', (code) =>
      reject(new Error(`mlops local up exited with ${code} before serving:\n${out}`)),
    );
  });
}

/** Kills the twin process with SIGKILL (no chance to write anything more) and waits for it to exit. */
export async function killTwin(twin: ChildTwin): Promise<void> {
  const exited = new Promise((resolve) => twin.child.once('exit', resolve));
  twin.child.kill('SIGKILL');
  await exited;
}

/**
 * Waits until a running execution of `machine` on the twin at `url` has entered `state`; returns
 * that execution as it was then.
 */
export async function untilRunningIn(
  url: string,
  machine: ExecutionRecord['stateMachine'],
  state: string,
  timeoutMs = 120_000,
): Promise<ExecutionRecord> {
  let found: ExecutionRecord | undefined;
  let seen: ExecutionRecord[] = [];
  try {
    await until(
      async () => {
        const all = await getJson<ExecutionRecord[]>(`${url}/_twin/executions`);
        seen = all.filter((e) => e.stateMachine === machine);
        found = seen.find((e) => e.status === 'RUNNING' && e.states.includes(state));
        return found !== undefined;
      },
      `a ${machine} execution in its ${state} state`,
      timeoutMs,
    );
  } catch (err) {
    const last = seen.map((e) => `${e.status} ${e.states.join(' > ')} ${e.error ?? ''} ${e.cause ?? ''}`);
    throw new Error(`${(err as Error).message}; the ${machine} executions: ${last.join('; ') || 'none'}`);
  }
  return found!;
}
