/**
 * The twin's prediction API under load, beside the rate dynalite alone takes PutItem requests at, in
 * one run on one machine.
 *
 *   npx tsx bench/twin-load.ts [--duration 20] [--connections 32]   (--help)
 *   npm run bench:twin-load -- [options]
 *
 * 1. Synthesizes the app (the project's config, default stage) and boots the twin in this process,
 *    its API on a loopback port, as `mlops local up` does.
 * 2. Ingests the credit data, sets the golden set, trains v1 and promotes it, as `mlops demo` does.
 * 3. Twin: autocannon (a child process, so that it does not share the twin's event loop) sends
 *    `POST /v1/predict` with the README's applicant (one instance) on `--connections` connections
 *    for `--duration` seconds, with the first API key of `GET /_twin/keys` when the twin has that
 *    route. Reported: requests/s, latency p50 and p99, 2xx and other answers, and the CPU time this
 *    process spent (all its threads: the API, the function instances, dynalite) per 2xx answer,
 *    which the machine's other load does not inflate as it does the rates.
 * 4. Baseline: autocannon the same way straight at the twin's dynalite, PutItem of an item copied
 *    from a row the predict function logged (same table, same size; a unique key per request,
 *    autocannon's `[<id>]`), with a well-formed SigV4 Authorization header (dynalite checks its
 *    form, not its signature). Reported the same way; its CPU time is dynalite's.
 * 5. Checks: the prediction-log rows of the model written during the run (a Scan's count, before and
 *    after) against the 2xx answers autocannon counted and against the predictions the function
 *    counted (its `Predictions` metric, which the twin collects): rows = predictions served; a
 *    request answered after autocannon closed its connection at the end is logged but not counted
 *    by autocannon, so 2xx may trail by at most the connections. The twin's resident memory (this
 *    process: the twin, its dynalite and s3rver, its function workers) before and after the load.
 *
 * The ratio twin / dynalite is judged against 0.8. The table goes to stdout, progress to stderr.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { benchArgs, positiveInt } from './options.ts';
import {
  autocannon,
  countRows,
  cpuMicros,
  headerArgs,
  type LoadResult,
  mb,
  progress,
  startBenchTwin,
} from './support/twin.ts';

/** The twin's throughput must reach this share of dynalite's raw PutItem rate. */
const TARGET_RATIO = 0.8;

const USAGE = `Usage: npx tsx bench/twin-load.ts [options]   (or: npm run bench:twin-load -- [options])

Boots the twin in this process with a trained and promoted credit model, loads POST /v1/predict with
autocannon, then loads the twin's dynalite with raw PutItem requests the same way, and prints both
rates (target: the twin at >= ${TARGET_RATIO}x dynalite), latencies, the log rows against the 2xx answers,
and the twin's resident memory before and after.

Options:
  --duration <s>      seconds of load on each side (default 20)
  --connections <n>   concurrent connections (default 32)
  --profile <file>    write a CPU profile (.cpuprofile) of the twin's main thread during its load
  -h, --help          show this help`;

interface Options {
  duration: number;
  connections: number;
  /** Writes a CPU profile of the twin's main thread during its load to this file. */
  profile?: string;
}

function parseOptions(argv: string[]): Options | undefined {
  const values = benchArgs(argv, {
    duration: { type: 'string' },
    connections: { type: 'string' },
    profile: { type: 'string' },
  });
  if (!values) return undefined;
  return {
    duration: positiveInt('duration', values.duration, 20),
    connections: positiveInt('connections', values.connections, 32),
    ...(typeof values.profile === 'string' && values.profile ? { profile: values.profile } : {}),
  };
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  if (!opts) {
    console.log(USAGE);
    return;
  }
  const bench = await startBenchTwin({ name: 'twin-load' });
  const { twin, config, def, url, headers, body, db, logTable: table } = bench;
  const apiKey = headers['x-api-key'];
  try {
    const rowsBefore = await countRows(db, table, def.name);
    const servedBefore = bench.served();
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;

    progress(`bench: twin: POST /v1/predict, ${opts.connections} connections, ${opts.duration} s`);
    const profiler = opts.profile ? new Session() : undefined;
    if (profiler) {
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.start');
    }
    const twinCpu = process.cpuUsage();
    const twinLoad = await autocannon([
      '-c',
      String(opts.connections),
      '-d',
      String(opts.duration),
      '-m',
      'POST',
      ...headerArgs(headers),
      '-b',
      body,
      `${url}/v1/predict`,
    ]);
    const twinCpuUs = cpuMicros(process.cpuUsage(twinCpu));
    if (profiler && opts.profile) {
      const { profile } = await profiler.post('Profiler.stop');
      writeFileSync(opts.profile, JSON.stringify(profile));
      profiler.disconnect();
      progress(`bench: CPU profile of the twin's load in ${opts.profile}`);
    }
    // Let requests answered after autocannon closed its sockets finish their log writes.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const rssAfter = process.memoryUsage().rss;
    const rowsDuring = (await countRows(db, table, def.name)) - rowsBefore;
    const servedDuring = bench.served() - servedBefore;

    // The baseline's item: a row the predict function wrote, under another model and a unique key.
    const sample = await db.send(
      new ScanCommand({
        TableName: table,
        Limit: 1,
        FilterExpression: '#m = :m',
        ExpressionAttributeNames: { '#m': 'model' },
        ExpressionAttributeValues: { ':m': { S: def.name } },
      }),
    );
    let item = sample.Items?.[0];
    for (let start = sample.LastEvaluatedKey; !item && start; ) {
      const page = await db.send(
        new ScanCommand({
          TableName: table,
          Limit: 100,
          ExclusiveStartKey: start,
          FilterExpression: '#m = :m',
          ExpressionAttributeNames: { '#m': 'model' },
          ExpressionAttributeValues: { ':m': { S: def.name } },
        }),
      );
      item = page.Items?.[0];
      start = page.LastEvaluatedKey;
    }
    if (!item) throw new Error('no prediction-log row to copy for the baseline');
    const putItem = {
      TableName: table,
      Item: {
        ...item,
        pk: { S: 'dynalite-baseline#[<id>]' },
        sk: { S: `${item.sk?.S ?? ''}#[<id>]` },
        model: { S: 'dynalite-baseline' },
      },
    };
    const date = new Date().toISOString().replace(/[-:]/g, '').slice(0, 15);
    const auth =
      `AWS4-HMAC-SHA256 Credential=${twin.clientTarget().credentials?.accessKeyId ?? 'local'}/${date.slice(0, 8)}/us-east-1/dynamodb/aws4_request, ` +
      `SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=${'0'.repeat(64)}`;
    const check = await fetch(twin.endpoints.dynamodb, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'DynamoDB_20120810.PutItem',
        'x-amz-date': `${date}Z`,
        authorization: auth,
      },
      body: JSON.stringify(putItem).replaceAll('[<id>]', 'check'),
    });
    if (check.status !== 200)
      throw new Error(`dynalite refused the baseline's PutItem: ${check.status} ${await check.text()}`);
    progress(`bench: baseline: dynalite PutItem, ${opts.connections} connections, ${opts.duration} s`);
    const baseCpu = process.cpuUsage();
    const baseLoad = await autocannon([
      '-c',
      String(opts.connections),
      '-d',
      String(opts.duration),
      '-m',
      'POST',
      '-I',
      ...headerArgs({
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'DynamoDB_20120810.PutItem',
        'x-amz-date': `${date}Z`,
        authorization: auth,
      }),
      '-b',
      JSON.stringify(putItem),
      twin.endpoints.dynamodb,
    ]);
    const baseCpuUs = cpuMicros(process.cpuUsage(baseCpu));

    const cols = (cells: string[]) =>
      cells
        .map((c, i) => (i === 0 ? c.padEnd(44) : c.padStart(11)))
        .join('  ')
        .trimEnd();
    const line = (label: string, r: LoadResult, cpuUs: number) =>
      cols([
        label,
        // Answered requests a second: a 4xx, 5xx or error is not throughput.
        (r['2xx'] / r.duration).toFixed(0),
        r.latency.p50.toFixed(1),
        r.latency.p99.toFixed(1),
        String(r['2xx']),
        String(r.non2xx + r.errors + r.timeouts),
        r['2xx'] > 0 ? (cpuUs / r['2xx']).toFixed(0) : '-',
      ]);
    const ratio = twinLoad['2xx'] / twinLoad.duration / (baseLoad['2xx'] / baseLoad.duration);
    console.log(
      `Twin under load (Node ${process.version}, loopback, ${opts.connections} connections, ${opts.duration} s each; ` +
        `serving mode ${config.serving.mode}; ${apiKey ? 'with' : 'without'} an API key)`,
    );
    console.log(cols(['', 'req/s', 'p50 ms', 'p99 ms', '2xx', 'other/err', 'CPU µs/2xx']));
    console.log(line('twin: POST /v1/predict (1 instance)', twinLoad, twinCpuUs));
    console.log(line('baseline: dynalite PutItem of a log row', baseLoad, baseCpuUs));
    console.log(cols(['ratio twin / dynalite', `${ratio.toFixed(2)}x`]));
    console.log('');
    console.log(
      `prediction-log rows written during the load: ${rowsDuring}; predictions the function counted: ${servedDuring}; ` +
        `2xx autocannon counted: ${twinLoad['2xx']} (${rowsDuring - twinLoad['2xx']} answered after it closed its connections)`,
    );
    console.log(`twin resident memory: ${mb(rssBefore)} before the load, ${mb(rssAfter)} after`);
    console.log('');
    const rowsOk =
      rowsDuring === servedDuring &&
      rowsDuring >= twinLoad['2xx'] &&
      rowsDuring - twinLoad['2xx'] <= opts.connections;
    const clean = twinLoad.non2xx + twinLoad.errors + twinLoad.timeouts === 0;
    const met = ratio >= TARGET_RATIO && clean;
    console.log(
      `target: twin >= ${TARGET_RATIO}x dynalite's PutItem rate, every request a 2xx: ${met ? 'met' : 'MISSED'}`,
    );
    console.log(
      `check: log rows = predictions served (2xx, and at most ${opts.connections} in flight at the stop): ${rowsOk ? 'ok' : 'FAILED'}`,
    );
    if (!met || !rowsOk) process.exitCode = 1;
  } finally {
    await bench.stop();
  }
}

try {
  await main();
} catch (err) {
  process.stderr.write(`bench: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
