/**
 * One instance of a Lambda function in the twin: a worker thread whose `process.env` is exactly what
 * the function has in Lambda (its template environment and what the runtime sets), running the
 * bundle `cdk deploy` uploads. The twin (local/functions.ts) sends invocations; this answers each
 * with the handler's result or error.
 *
 * Plain JavaScript: a worker thread starts without the TypeScript loader that runs the twin.
 */
import { parentPort, workerData } from 'node:worker_threads';

/** @type {{ entry: string, handlerExport: string, handler: string, functionName: string, functionArn: string, memoryMb: number, timeoutMs: number, logGroupName: string, logStreamName: string }} */
const fn = workerData;

// Lambda's Node runtime honours NODE_OPTIONS; a worker thread does not read it, so the one option
// the platform sets is applied here.
if (/(^|\s)--enable-source-maps(\s|$)/.test(process.env.NODE_OPTIONS ?? '')) {
  process.setSourceMapsEnabled(true);
}

/** @type {Promise<(event: unknown, context: unknown) => Promise<unknown>> | undefined} */
let loading;

/** Imports the bundle once (the instance's cold start). */
function load() {
  loading ??= import(fn.entry).then((mod) => {
    const handler = mod[fn.handlerExport];
    if (typeof handler !== 'function') {
      const err = new Error(`${fn.handler} is undefined or not exported`);
      err.name = 'Runtime.HandlerNotFound';
      throw err;
    }
    return handler;
  });
  return loading;
}

/** The Lambda context object of one invocation. */
function context(requestId) {
  const deadline = Date.now() + fn.timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: fn.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: fn.functionArn,
    memoryLimitInMB: String(fn.memoryMb),
    awsRequestId: requestId,
    logGroupName: fn.logGroupName,
    logStreamName: fn.logStreamName,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/**
 * An error as plain data: its name and message (which Step Functions' Retry and Catch match), its
 * stack, and any other own fields that survive JSON (e.g. a status code).
 */
function describeError(err) {
  if (typeof err !== 'object' || err === null) return { name: 'Error', message: String(err), fields: {} };
  const fields = {};
  for (const [key, value] of Object.entries(err)) {
    if (key === 'name' || key === 'message' || key === 'stack') continue;
    try {
      const json = JSON.stringify(value);
      if (json !== undefined) fields[key] = JSON.parse(json);
    } catch {
      // Not serializable: left out, as Lambda leaves it out of the error it reports.
    }
  }
  return {
    name: typeof err.name === 'string' ? err.name : 'Error',
    message: typeof err.message === 'string' ? err.message : String(err),
    stack: typeof err.stack === 'string' ? err.stack : undefined,
    fields,
  };
}

/**
 * What the function writes to stdout and stderr, held until the next message to the twin. Lambda's
 * runtime takes a function's output out of band; here it travels with the invocation's result, so
 * the log and metric lines of an invocation reach the twin before its result does, in one message
 * instead of a stream write each. Output written between invocations (a timer, a promise left
 * running) is sent at the end of the event loop's turn.
 */
const held = { stdout: [], stderr: [] };
let sendScheduled = false;

/** Replaces a stream's write with one that holds the text for the twin. */
function hold(name) {
  const stream = process[name];
  stream.write = (chunk, encoding, callback) => {
    const done = typeof encoding === 'function' ? encoding : callback;
    held[name].push(
      typeof chunk === 'string'
        ? chunk
        : Buffer.from(chunk).toString(typeof encoding === 'string' ? encoding : 'utf8'),
    );
    if (!sendScheduled) {
      sendScheduled = true;
      setImmediate(sendHeld);
    }
    if (typeof done === 'function') process.nextTick(done);
    return true;
  };
}
hold('stdout');
hold('stderr');

/** The output held so far (and forgets it), or undefined when there is none. */
function takeHeld() {
  if (held.stdout.length === 0 && held.stderr.length === 0) return undefined;
  const output = { stdout: held.stdout.join(''), stderr: held.stderr.join('') };
  held.stdout.length = 0;
  held.stderr.length = 0;
  return output;
}

function sendHeld() {
  sendScheduled = false;
  const output = takeHeld();
  if (output) parentPort.postMessage({ type: 'output', output });
}

async function invoke(message) {
  let reply;
  let handler;
  try {
    handler = await load();
  } catch (err) {
    reply = { type: 'result', id: message.id, ok: false, init: true, error: describeError(err) };
  }
  if (handler) {
    try {
      const value = await handler(message.event, context(message.requestId));
      reply = { type: 'result', id: message.id, ok: true, value };
    } catch (err) {
      reply = { type: 'result', id: message.id, ok: false, error: describeError(err) };
    }
  }
  reply.output = takeHeld();
  try {
    parentPort.postMessage(reply);
  } catch (err) {
    parentPort.postMessage({
      type: 'result',
      id: message.id,
      ok: false,
      output: reply.output,
      error: {
        name: 'Runtime.MarshalError',
        message: `Unable to marshal the response of ${fn.functionName}: ${err.message}`,
        fields: {},
      },
    });
  }
}

parentPort.on('message', (message) => {
  if (message.type === 'invoke') void invoke(message);
  if (message.type === 'environment') {
    parentPort.postMessage({ type: 'environment', id: message.id, env: { ...process.env } });
  }
});
