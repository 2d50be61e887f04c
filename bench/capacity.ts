/**
 * The capacity plan for a target prediction rate, derived on paper from what is measured here:
 * - the prediction-log item one served instance writes (the predict core's row for the README's
 *   applicant, through the log writer the function uses, sized by DynamoDB's rules);
 * - the bytes of log and EMF lines the function writes per request (the same core, its real logger
 *   and metric emitter writing to a counting sink);
 * - the warm handler's time per request (`bench/predict-overhead.ts` measures it; see BENCHMARKS.md).
 * The rest are AWS's published quotas and us-east-1 prices, written out below with their source,
 * and one assumption that cannot be measured without an account: the function's average duration
 * in Lambda, which the DynamoDB write dominates (`--duration-ms`).
 *
 * Usage: npx tsx bench/capacity.ts [--rate 50000] [--instances 1] [--duration-ms 20] [--memory-mb 1024]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { DynamoPredictionLogWriter } from '../lambdas/shared/adapters/aws/dynamo-prediction-log-writer.ts';
import { DEFAULT_LOG_SHARDS } from '../lambdas/shared/adapters/aws/prediction-log-keys.ts';
import { PROJECT_ROOT } from '../lib/paths.ts';
import { applicant } from '../test/support/requests.ts';
import { benchArgs } from './options.ts';
import { buildHandlers } from './predict-overhead-handlers.ts';

const USAGE =
  'Usage: npx tsx bench/capacity.ts [--rate <predictions/s>] [--instances <per request>] [--duration-ms <average Lambda duration>] [--memory-mb <predict memory>]';

/** A flag's value as a positive number (not only whole: a duration may be 12.5 ms). */
function positive(name: string, raw: string | boolean | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (typeof raw !== 'string' || !Number.isFinite(n) || n <= 0) {
    throw new Error(`--${name} must be a positive number, got "${String(raw)}" (see --help)`);
  }
  return n;
}

/** A DynamoDB attribute value's size in bytes, by the rules DynamoDB bills and limits items by. */
export function attributeSize(value: unknown): number {
  if (value === null || value === undefined || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (typeof value === 'number') {
    // About one byte per two significant digits, plus one.
    const digits = String(Math.abs(value))
      .replace(/e.*$/i, '')
      .replace('.', '')
      .replace(/^0+/, '')
      .replace(/0+$/, '');
    return Math.ceil(Math.max(digits.length, 1) / 2) + 1;
  }
  if (Array.isArray(value)) return 3 + value.reduce((s: number, v) => s + 1 + attributeSize(v), 0);
  if (typeof value === 'object') {
    return (
      3 +
      Object.entries(value as Record<string, unknown>).reduce(
        (s, [k, v]) => s + 1 + Buffer.byteLength(k, 'utf8') + attributeSize(v),
        0,
      )
    );
  }
  throw new Error(`no DynamoDB size rule for ${typeof value}`);
}

/** An item's size: each top-level attribute's name and value. */
export function itemSize(item: Record<string, unknown>): number {
  return Object.entries(item).reduce((s, [k, v]) => s + Buffer.byteLength(k, 'utf8') + attributeSize(v), 0);
}

async function main(): Promise<void> {
  const values = benchArgs(process.argv.slice(2), {
    rate: { type: 'string' },
    instances: { type: 'string' },
    'duration-ms': { type: 'string' },
    'memory-mb': { type: 'string' },
  });
  if (!values) {
    console.log(USAGE);
    return;
  }
  const rate = positive('rate', values.rate, 50_000);
  const perRequest = positive('instances', values.instances, 1);
  const durationMs = positive('duration-ms', values['duration-ms'], 20);
  const memoryGb = positive('memory-mb', values['memory-mb'], 1024) / 1024;

  // One request of `perRequest` instances through the predict core, as the function runs it.
  let stdoutBytes = 0;
  const sink = {
    stdout: (line: string) => {
      stdoutBytes += Buffer.byteLength(line, 'utf8') + 1;
    },
    stderr: (line: string) => {
      stdoutBytes += Buffer.byteLength(line, 'utf8') + 1;
    },
  };
  const { ours, rows } = await buildHandlers(
    readFileSync(join(PROJECT_ROOT, 'models', 'credit.json'), 'utf8'),
    readFileSync(join(PROJECT_ROOT, 'data', 'credit_data.csv'), 'utf8'),
    sink,
  );
  const event = {
    httpMethod: 'POST',
    path: '/v1/predict',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ instances: Array.from({ length: perRequest }, () => applicant) }),
    isBase64Encoded: false,
    pathParameters: null,
    requestContext: { requestId: '6f0c1f8e-1a2b-4c3d-9e8f-0a1b2c3d4e5f' },
  } as unknown as APIGatewayProxyEvent;
  const context = {
    awsRequestId: 'a',
    functionName: 'predict',
    getRemainingTimeInMillis: () => 10_000,
  } as unknown as Context;
  const answer = await ours(event, context);
  if (answer.statusCode !== 200)
    throw new Error(`the request was answered ${answer.statusCode}: ${answer.body}`);
  const linesPerRequest = stdoutBytes;

  // The items the function's log writer sends for that request.
  const items: Record<string, unknown>[] = [];
  const capture = {
    send: async (command: {
      input: { RequestItems: Record<string, { PutRequest: { Item: Record<string, unknown> } }[]> };
    }) => {
      for (const batch of Object.values(command.input.RequestItems))
        for (const r of batch) items.push(r.PutRequest.Item);
      return {};
    },
  };
  await new DynamoPredictionLogWriter(capture as never, 'log', 90).write(rows());
  const rowBytes = Math.max(...items.map(itemSize));
  const wcuPerRow = Math.ceil(rowBytes / 1024);

  const requests = rate / perRequest;
  const concurrency = requests * (durationMs / 1000);
  const logWcu = rate * wcuPerRow;
  const shards = Math.ceil(logWcu / 1000 / 0.8);
  const perHour = (perSecond: number) => perSecond * 3600;
  // us-east-1 prices (AWS's pricing pages): API Gateway REST per million requests by monthly tier;
  // Lambda arm64 per GB-second and per million requests; DynamoDB on-demand per million write and
  // read request units; CloudWatch Logs ingestion per GB.
  const monthRequests = requests * 3600 * 730;
  const tiers: [number, number][] = [
    [333e6, 3.5],
    [667e6, 2.8],
    [19e9, 2.38],
    [Number.POSITIVE_INFINITY, 1.51],
  ];
  let left = monthRequests;
  let apiMonth = 0;
  for (const [size, price] of tiers) {
    const n = Math.min(left, size);
    apiMonth += (n / 1e6) * price;
    left -= n;
    if (left <= 0) break;
  }
  const apiHour = apiMonth / 730;
  const lambdaRequestsHour = (perHour(requests) / 1e6) * 0.2;
  const lambdaComputeHour = perHour(requests) * (durationMs / 1000) * memoryGb * 0.0000133334;
  const logWritesHour = (perHour(logWcu) / 1e6) * 0.625;
  // Lambda writes START, END and REPORT lines per invocation (about 330 bytes together).
  const logBytesPerRequest = linesPerRequest + 330;
  const logsHour = ((perHour(requests) * logBytesPerRequest) / 1024 ** 3) * 0.5;
  // API Gateway's access log: one JSON line per request in the standard fields (about 350 bytes),
  // into the same CloudWatch Logs ingestion price; X-Ray records the stage's default sample (the first
  // request each second and 5% of the rest) at $5 per million traces.
  const accessLogsHour = ((perHour(requests) * 350) / 1024 ** 3) * 0.5;
  const xrayHour = ((perHour(requests) * 0.05) / 1e6) * 5;
  const total =
    apiHour + lambdaRequestsHour + lambdaComputeHour + logWritesHour + logsHour + accessLogsHour + xrayHour;

  const f = (n: number, d = 0) =>
    n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  console.log(`Capacity plan for ${f(rate)} predictions/s, ${perRequest} instance(s) per request`);
  console.log('\nMeasured here');
  console.log(
    `  prediction-log item per instance: ${rowBytes} bytes -> ${wcuPerRow} write unit(s) (1 per started KB)`,
  );
  console.log(`  log and EMF lines per request:    ${linesPerRequest} bytes`);
  console.log('\nDerived');
  console.log(`  requests/s              = ${f(rate)} / ${perRequest} = ${f(requests)}`);
  console.log(
    `  Lambda concurrency      = ${f(requests)} x ${durationMs / 1000} s = ${f(concurrency)} (assumed average duration ${durationMs} ms)`,
  );
  console.log(`  log write units/s       = ${f(rate)} x ${wcuPerRow} = ${f(logWcu)}`);
  console.log(
    `  log shards per model    = ceil(${f(logWcu)} / 1,000 per partition / 0.8 headroom) = ${shards} (config predictionLogShards; default ${DEFAULT_LOG_SHARDS})`,
  );
  console.log('\nCost per hour (us-east-1)');
  console.log(
    `  API Gateway REST        $${f(apiHour, 2)}  (${f(monthRequests / 1e9, 1)} B requests a month over the tiers $3.50/2.80/2.38/1.51 per M, / 730 h)`,
  );
  console.log(
    `  Lambda requests         $${f(lambdaRequestsHour, 2)}  (${f(perHour(requests) / 1e6)} M x $0.20/M)`,
  );
  console.log(
    `  Lambda compute (arm64)  $${f(lambdaComputeHour, 2)}  (${f(perHour(requests) / 1e6)} M x ${durationMs / 1000} s x ${memoryGb} GB x $0.0000133334)`,
  );
  console.log(
    `  DynamoDB log writes     $${f(logWritesHour, 2)}  (${f(perHour(logWcu) / 1e6)} M WRU x $0.625/M)`,
  );
  console.log(
    `  CloudWatch Logs         $${f(logsHour, 2)}  (${f(perHour(requests) / 1e6)} M x ${logBytesPerRequest} B = ${f((perHour(requests) * logBytesPerRequest) / 1024 ** 3)} GB x $0.50)`,
  );
  console.log(
    `  API access logs         $${f(accessLogsHour, 2)}  (${f(perHour(requests) / 1e6)} M x ~350 B = ${f((perHour(requests) * 350) / 1024 ** 3)} GB x $0.50)`,
  );
  console.log(
    `  X-Ray (5% sampled)      $${f(xrayHour, 2)}  (${f((perHour(requests) * 0.05) / 1e6)} M traces x $5/M)`,
  );
  console.log(`  total                   $${f(total, 2)}`);
}

try {
  await main();
} catch (err) {
  process.stderr.write(`bench: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
