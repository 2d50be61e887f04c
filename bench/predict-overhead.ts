/**
 * The warm predict handler's own cost per request, model and I/O excluded, beside a bare middy
 * handler measured in the same run.
 *
 *   npx tsx bench/predict-overhead.ts [--requests 20000] [--repeats 15] [--instances 1] [--source]   (--help)
 *   npm run bench:predict -- [options]
 *
 * The two handlers (`bench/predict-overhead-handlers.ts`): ours is the predict function's middy chain
 * around `handlePredict` with in-memory ports (the production alias answered from memory, the model
 * cache already warm, a constant-score runtime, a log that drops the rows, the real logger and
 * metric emitter writing to a sink that drops the lines); everything else runs as in the function:
 * parsing, routing, validation against the spec, the feature transform, the log rows, the metrics'
 * EMF documents, the answer's JSON. Bare is a middy handler that parses the body and answers JSON.
 * Both are built into one bundle with the functions' esbuild settings (ESM, minified: the code as a
 * function runs it), unless `--source` times them as `tsx` compiles them.
 *
 * Each request is one proxy event with its own request id (the README's example applicant), each
 * awaited before the next, as one warm instance serves them. The two paths alternate, after a
 * warm-up; every figure is the median over the repeats of (time of the repeat / requests), in wall
 * time and in the process's CPU time. Overhead = ours' median minus bare's median, per request; the
 * target is judged on wall time. The table goes to stdout, progress to stderr.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import * as esbuild from 'esbuild';
import { PROJECT_ROOT } from '../lib/paths.ts';
import { applicant } from '../test/support/requests.ts';
import { functionBuildOptions } from './function-bundle.ts';
import { benchArgs, positiveInt } from './options.ts';
import type { buildHandlers as BuildHandlers } from './predict-overhead-handlers.ts';

/** The predict handler's own time per request may exceed the bare handler's by this much (µs). */
const TARGET_US = 5;

const USAGE = `Usage: npx tsx bench/predict-overhead.ts [options]   (or: npm run bench:predict -- [options])

Times the warm predict handler (its middy chain around handlePredict, in-memory ports, a constant-score
runtime, a log that drops rows) per request beside a bare middy handler that parses the body and
answers JSON, in the same process. Overhead = our median minus the bare median. Target: <= ${TARGET_US} µs.

Options:
  --requests <n>   requests per repeat (default 20000)
  --repeats <n>    timed repeats of each path; medians are reported (default 15)
  --instances <n>  instances per request (default 1)
  --source         time the handlers as tsx compiles them from source (default: bundled with the
                   functions' esbuild settings, as a function runs them)
  -h, --help       show this help`;

interface Options {
  requests: number;
  repeats: number;
  instances: number;
  /** Time the handlers as tsx compiles them from source instead of bundled. */
  source: boolean;
}

function parseOptions(argv: string[]): Options | undefined {
  const values = benchArgs(argv, {
    requests: { type: 'string' },
    repeats: { type: 'string' },
    instances: { type: 'string' },
    source: { type: 'boolean' },
  });
  if (!values) return undefined;
  return {
    requests: positiveInt('requests', values.requests, 20_000),
    repeats: positiveInt('repeats', values.repeats, 15),
    instances: positiveInt('instances', values.instances, 1),
    source: values.source === true,
  };
}

function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const context = {
  callbackWaitsForEmptyEventLoop: false,
  functionName: 'mlops-bench-predict',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:mlops-bench-predict',
  memoryLimitInMB: '1024',
  awsRequestId: 'bench',
  logGroupName: '/aws/lambda/mlops-bench-predict',
  logStreamName: 'bench',
  getRemainingTimeInMillis: () => 10_000,
  done: () => {},
  fail: () => {},
  succeed: () => {},
} as Context;

/** A proxy event as API Gateway sends it for `POST /v1/predict`. */
function event(body: string, requestId: string): APIGatewayProxyEvent {
  return {
    httpMethod: 'POST',
    path: '/v1/predict',
    resource: '/v1/predict',
    pathParameters: null,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    headers: { 'content-type': 'application/json', 'x-api-key': 'bench' },
    multiValueHeaders: {},
    body,
    isBase64Encoded: false,
    requestContext: { requestId } as APIGatewayProxyEvent['requestContext'],
  };
}

/** The handlers' factory: bundled with the functions' esbuild settings, or from source. */
async function loadHandlers(source: boolean): Promise<typeof BuildHandlers> {
  const entry = join(PROJECT_ROOT, 'bench/predict-overhead-handlers.ts');
  if (source)
    return ((await import(pathToFileURL(entry).href)) as { buildHandlers: typeof BuildHandlers })
      .buildHandlers;
  progress("bench: bundling the handlers (esbuild, the functions' settings)");
  const dir = mkdtempSync(join(tmpdir(), 'predict-overhead-'));
  try {
    const outfile = join(dir, 'handlers.mjs');
    await esbuild.build({ ...functionBuildOptions, entryPoints: [entry], outfile });
    return ((await import(pathToFileURL(outfile).href)) as { buildHandlers: typeof BuildHandlers })
      .buildHandlers;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let sink = 0;

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  if (!opts) {
    console.log(USAGE);
    return;
  }
  const handlers = await loadHandlers(opts.source);
  progress('bench: fitting the credit transform');
  const { ours, bare, logged } = await handlers(
    readFileSync(join(PROJECT_ROOT, 'models/credit.json'), 'utf8'),
    readFileSync(join(PROJECT_ROOT, 'data/credit_data.csv'), 'utf8'),
  );

  const body = JSON.stringify({ instances: Array.from({ length: opts.instances }, () => applicant) });
  const events = Array.from({ length: opts.requests }, (_, i) => event(body, `bench-${i}`));
  const first = await ours(events[0]!, context);
  if (first.statusCode !== 200)
    throw new Error(`the predict handler answered ${first.statusCode}: ${first.body}`);

  const run = async (handler: typeof ours): Promise<void> => {
    for (let i = 0; i < events.length; i++) {
      const res = await handler(events[i]!, context);
      sink += res.statusCode;
    }
  };
  progress('bench: warming up');
  for (let i = 0; i < 3; i++) {
    await run(ours);
    await run(bare);
  }
  const wall = { ours: [] as number[], bare: [] as number[] };
  const cpu = { ours: [] as number[], bare: [] as number[] };
  for (let rep = 0; rep < opts.repeats; rep++) {
    progress(`bench: repeat ${rep + 1} of ${opts.repeats}`);
    const order = rep % 2 === 0 ? (['ours', 'bare'] as const) : (['bare', 'ours'] as const);
    for (const path of order) {
      const startCpu = process.cpuUsage();
      const start = performance.now();
      await run(path === 'ours' ? ours : bare);
      wall[path].push(((performance.now() - start) * 1000) / opts.requests);
      const used = process.cpuUsage(startCpu);
      cpu[path].push((used.user + used.system) / opts.requests);
    }
  }

  const w = { ours: median(wall.ours), bare: median(wall.bare) };
  const c = { ours: median(cpu.ours), bare: median(cpu.bare) };
  const cols = (cells: string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(58) : cell.padStart(10)))
      .join('  ')
      .trimEnd();
  console.log(
    `Warm predict handler (Node ${process.version}): ${opts.requests} requests of ${opts.instances} instance(s) per repeat, ` +
      `medians of ${opts.repeats} repeats, µs per request`,
  );
  console.log(cols(['', 'wall µs', 'ratio', 'CPU µs', 'ratio']));
  console.log(
    cols(['bare middy: parse the body, answer JSON', w.bare.toFixed(2), '1.00x', c.bare.toFixed(2), '1.00x']),
  );
  console.log(
    cols([
      'ours: predict middy chain + handlePredict (model, I/O out)',
      w.ours.toFixed(2),
      `${(w.ours / w.bare).toFixed(2)}x`,
      c.ours.toFixed(2),
      `${(c.ours / c.bare).toFixed(2)}x`,
    ]),
  );
  const overhead = w.ours - w.bare;
  console.log(cols(['overhead (ours - bare)', overhead.toFixed(2), '', (c.ours - c.bare).toFixed(2)]));
  console.log('');
  const met = overhead <= TARGET_US;
  console.log(`target: overhead <= ${TARGET_US} µs per request (wall): ${met ? 'met' : 'MISSED'}`);
  if (!met) process.exitCode = 1;
  progress(`bench: done (${logged()} rows taken by the log, ${sink > 0 ? 'ok' : 'no work'})`);
}

try {
  await main();
} catch (err) {
  process.stderr.write(`bench: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
