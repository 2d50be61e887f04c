/**
 * One invocation of a function's bundle in a process of its own, for bench/support/function-probe.ts:
 * the process's environment is exactly the function's (set by the parent), its argument the job (the
 * bundle and the context's fields), its stdin the event, read after the bundle's import so that the
 * idle figure is the import's alone; its fd 3 takes the report: the handler's result or error, the
 * handler's time, and the process's memory (peak RSS after the import and at the end, sampled heap).
 *
 * Plain JavaScript: it starts as a fresh Node, without the TypeScript loader the benches run with.
 */
import { readFileSync, writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/**
 * The process's peak resident set in MB. On Linux, `VmHWM` of /proc/self/status: the peak of this
 * process's own memory since its exec. Not `process.resourceUsage().maxRSS`: Linux carries a
 * process's maxRSS over its exec, so a child forked from a large parent (a benchmark that holds a
 * big file) reports at least the parent's resident set. Elsewhere, maxRSS (in KiB).
 */
function maxRssMb() {
  try {
    const hwm = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (hwm) return Number(hwm[1]) / 1024;
  } catch {
    // Not Linux.
  }
  return process.resourceUsage().maxRSS / 1024;
}
const mb = (bytes) => bytes / 2 ** 20;

function describeError(err) {
  if (typeof err !== 'object' || err === null) return { name: 'Error', message: String(err) };
  return {
    name: typeof err.name === 'string' ? err.name : 'Error',
    message: typeof err.message === 'string' ? err.message : String(err),
  };
}

let reported = false;
function report(body) {
  if (reported) return;
  reported = true;
  const text = JSON.stringify(body);
  const buf = Buffer.from(text, 'utf8');
  let off = 0;
  while (off < buf.length) off += writeSync(3, buf, off, buf.length - off);
  // A handler's SDK clients keep sockets open: the process ends here, as a Lambda invocation ends
  // when its handler answers.
  process.exit(0);
}

async function readEvent() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

const job = JSON.parse(process.argv[2]);

// Lambda's Node runtime honours NODE_OPTIONS, and so does this process (it is in the function's
// environment): nothing to apply by hand.

let heapPeak = process.memoryUsage().heapUsed;
const sample = () => {
  const used = process.memoryUsage().heapUsed;
  if (used > heapPeak) heapPeak = used;
};

const importStart = performance.now();
let handler;
try {
  const mod = await import(job.entry);
  handler = mod[job.handlerExport];
  if (typeof handler !== 'function') {
    const err = new Error(`${job.handler} is undefined or not exported`);
    err.name = 'Runtime.HandlerNotFound';
    throw err;
  }
} catch (err) {
  report({ ok: false, init: true, error: describeError(err), importMs: performance.now() - importStart });
}
const importMs = performance.now() - importStart;
sample();
const idleRssMb = maxRssMb();
const idleHeapMb = mb(process.memoryUsage().heapUsed);

if (job.idle) {
  process.stdin.destroy();
  report({
    ok: true,
    idle: true,
    importMs,
    idleRssMb,
    idleHeapMb,
    maxRssMb: maxRssMb(),
    heapUsedPeakMb: mb(heapPeak),
  });
}

// The event is what the runtime hands the handler: parsing it is part of the invocation's memory.
const event = await readEvent();
const deadline = Date.now() + job.timeoutMs;
const context = {
  callbackWaitsForEmptyEventLoop: true,
  functionName: job.functionName,
  functionVersion: '$LATEST',
  invokedFunctionArn: job.functionArn,
  memoryLimitInMB: String(job.memoryMb),
  awsRequestId: job.requestId,
  logGroupName: job.logGroupName,
  logStreamName: job.logStreamName,
  getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  done: () => {},
  fail: () => {},
  succeed: () => {},
};

// The heap is sampled whenever the event loop turns (a CPU-bound stretch of the handler is not
// sampled inside); the RSS peak is the kernel's, exact.
const sampler = setInterval(sample, 5);
const finish = (outcome) => {
  const handlerMs = performance.now() - started;
  clearInterval(sampler);
  sample();
  report({
    ...outcome,
    handlerMs,
    importMs,
    idleRssMb,
    idleHeapMb,
    maxRssMb: maxRssMb(),
    heapUsedPeakMb: mb(heapPeak),
  });
};
process.on('uncaughtException', (err) => finish({ ok: false, error: describeError(err) }));
process.on('unhandledRejection', (err) => finish({ ok: false, error: describeError(err) }));
const started = performance.now();
try {
  const value = await handler(event, context);
  finish({ ok: true, value: value === undefined ? null : value });
} catch (err) {
  finish({ ok: false, error: describeError(err) });
}
