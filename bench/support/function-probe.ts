/**
 * The memory and time of ONE invocation of a platform function, measured in a process of its own.
 *
 * The twin runs each function in a worker thread of the twin's process (local/functions.ts), so its
 * memory cannot be told apart from the twin's. A probe runs the same deployed bundle, with exactly
 * the environment the twin's instance of it has (its template's variables, what the Lambda runtime
 * sets, the running twin's endpoints, so it reads and writes the twin's lake and tables), in a fresh
 * Node process (bench/support/function-probe-child.mjs), invokes its handler once with an event and
 * reports the handler's result or error, the handler's time (not the process's start nor the
 * bundle's import) and the process's peak resident memory: what one Lambda instance serving that
 * event would need, give or take the runtime's own share. Each probe is a cold instance: whatever
 * the handler caches (a loaded model version, clients) is loaded within its time and memory.
 *
 * `probeIdle` is the same process that imports the bundle and invokes nothing: the memory a child
 * holds before its event costs anything, so a figure can be quoted as total and as above idle.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { LocalTwin } from '../../local/twin.ts';

/** What one probe saw. */
export interface Probe {
  /** The function's physical name. */
  function: string;
  /** Whether the handler answered (false: it threw, or its bundle failed to load). */
  ok: boolean;
  /** The handler's result, when it answered. */
  result?: unknown;
  /** The error's name and message, when it threw (or its import did: `init` is then true). */
  error?: { name: string; message: string };
  init?: boolean;
  /** The handler's own time in ms (from its call to its answer); 0 for an idle probe. */
  handlerMs: number;
  /** The bundle's import time in ms. */
  importMs: number;
  /** The process's peak resident set (VmHWM on Linux, see function-probe-child.mjs) right after the import, in MB. */
  idleRssMb: number;
  /** The heap in use right after the import, in MB. */
  idleHeapMb: number;
  /** The process's peak resident set at the end, in MB. */
  maxRssMb: number;
  /** `maxRssMb - idleRssMb`: what the invocation itself added to the peak. */
  aboveIdleMb: number;
  /** The largest heap in use seen by a 5 ms sampler (a lower bound: a synchronous stretch is not sampled inside). */
  heapUsedPeakMb: number;
  /** The process's wall time in ms, start to exit. */
  processMs: number;
  /** The last 8 KB of what the function wrote to stdout and stderr (its log lines). */
  output: string;
}

export interface ProbeOptions {
  /** Import the bundle and invoke nothing (see {@link probeIdle}). */
  idle?: boolean;
  /** Kills the process after this many ms; default: the function's timeout plus 30 s. */
  killAfterMs?: number;
}

const CHILD = fileURLToPath(new URL('./function-probe-child.mjs', import.meta.url));
const OUTPUT_TAIL = 8192;

/**
 * A function by its `lambdas/` directory (its Powertools service name, e.g. `score-batch`), ARN,
 * physical name or logical id, and the environment the twin's instance of it has.
 */
function launch(twin: LocalTwin, key: string) {
  const arn = twin.functionArnByService(key);
  return twin.functionLaunch(arn ?? key);
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Invokes a function once with `event` in a fresh Node process against the running twin, and
 * returns what the handler answered and the process's time and memory. A handler's error is a
 * probe with `ok: false`, not a rejection; the promise rejects only when the process gives no report
 * (it crashed or was killed).
 */
export async function probeFunction(
  twin: LocalTwin,
  key: string,
  event: unknown,
  opts: ProbeOptions = {},
): Promise<Probe> {
  const { fn, env } = launch(twin, key);
  const job = {
    entry: pathToFileURL(fn.entry).href,
    handlerExport: fn.handler.slice(fn.handler.lastIndexOf('.') + 1),
    handler: fn.handler,
    functionName: fn.name,
    functionArn: fn.arn,
    memoryMb: fn.memoryMb,
    timeoutMs: fn.timeoutSeconds * 1000,
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
    requestId: randomUUID(),
    idle: opts.idle === true,
  };
  const started = performance.now();
  const child = spawn(process.execPath, [CHILD, JSON.stringify(job)], {
    env,
    cwd: fn.dir,
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const reportText = readAll(child.stdio[3] as Readable);
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
  const killAfter = opts.killAfterMs ?? fn.timeoutSeconds * 1000 + 30_000;
  const timer = setTimeout(() => child.kill('SIGKILL'), killAfter);
  // An idle probe's child closes its stdin without reading it.
  child.stdin!.on('error', () => {});
  child.stdin!.end(JSON.stringify(event ?? null));
  let code: number | null;
  let text: string;
  try {
    [code, text] = await Promise.all([exited, reportText]);
  } finally {
    clearTimeout(timer);
  }
  const processMs = performance.now() - started;
  if (text === '') {
    throw new Error(
      `The probe of ${fn.name} ended (code ${code}) without a report: ${output.slice(-2000) || 'no output'}`,
    );
  }
  const r = JSON.parse(text) as {
    ok: boolean;
    init?: boolean;
    value?: unknown;
    error?: { name: string; message: string };
    handlerMs?: number;
    importMs: number;
    idleRssMb?: number;
    idleHeapMb?: number;
    maxRssMb?: number;
    heapUsedPeakMb?: number;
  };
  const maxRssMb = r.maxRssMb ?? 0;
  const idleRssMb = r.idleRssMb ?? maxRssMb;
  return {
    function: fn.name,
    ok: r.ok,
    ...(r.ok && !opts.idle ? { result: r.value } : {}),
    ...(r.error ? { error: r.error } : {}),
    ...(r.init ? { init: true } : {}),
    handlerMs: r.handlerMs ?? 0,
    importMs: r.importMs,
    idleRssMb,
    idleHeapMb: r.idleHeapMb ?? 0,
    maxRssMb,
    aboveIdleMb: maxRssMb - idleRssMb,
    heapUsedPeakMb: r.heapUsedPeakMb ?? 0,
    processMs,
    output,
  };
}

/** The baseline of a function's probes: a fresh process that imports its bundle and invokes nothing. */
export function probeIdle(twin: LocalTwin, key: string): Promise<Probe> {
  return probeFunction(twin, key, null, { idle: true });
}
