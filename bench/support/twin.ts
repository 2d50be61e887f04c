/**
 * What the twin's load benchmarks share: a twin booted in the bench's own process with a trained and
 * promoted credit model, autocannon run as a child process, and the counts the benchmarks check the
 * load against (prediction-log rows, the function's `Predictions` metric).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { DEMO_DATA, DEMO_GOLDEN } from '../../cli/commands/demo.ts';
import { ingest } from '../../cli/commands/ingest.ts';
import { promote } from '../../cli/commands/promote.ts';
import { train } from '../../cli/commands/train.ts';
import { setGolden } from '../../cli/golden.ts';
import { type Target, twinTarget } from '../../cli/target.ts';
import { metricNamespace } from '../../contracts/metrics.ts';
import { stackOutputs } from '../../contracts/outputs.ts';
import { type ModelDefinition, parseModelDefinition } from '../../core/model/definition.ts';
import { type PlatformConfig, projectConfig } from '../../lib/config.ts';
import { PROJECT_ROOT } from '../../lib/paths.ts';
import { synthesize } from '../../lib/synth.ts';
import { createTwinServer } from '../../local/server.ts';
import { LocalTwin } from '../../local/twin.ts';
import { applicant } from '../../test/support/requests.ts';

/** Writes a progress line to stderr (stdout holds a bench's results). */
export function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** What a bench reads of autocannon's `--json` result. */
export interface LoadResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number };
  '2xx': number;
  non2xx: number;
  errors: number;
  timeouts: number;
  duration: number;
}

/** Runs autocannon in a child process (so that it does not share the twin's event loop) and returns its JSON result. */
export function autocannon(args: string[]): Promise<LoadResult> {
  const bin = createRequire(import.meta.url).resolve('autocannon/autocannon.js');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => {
      out += t;
    });
    child.stderr.setEncoding('utf8').on('data', (t: string) => {
      err += t;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`autocannon exited with ${code}: ${err.trim()}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()!) as LoadResult);
      } catch {
        reject(new Error(`autocannon printed no JSON result: ${out.slice(0, 500)} ${err.slice(0, 500)}`));
      }
    });
  });
}

/** autocannon's `-H name=value` arguments of a header set. */
export function headerArgs(headers: Record<string, string>): string[] {
  return Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}=${v}`]);
}

/** Items of a model in the prediction log (a Scan's count, page by page). */
export async function countRows(db: DynamoDBClient, table: string, model: string): Promise<number> {
  let count = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const page = await db.send(
      new ScanCommand({
        TableName: table,
        Select: 'COUNT',
        FilterExpression: '#m = :m',
        ExpressionAttributeNames: { '#m': 'model' },
        ExpressionAttributeValues: { ':m': { S: model } },
        ...(start ? { ExclusiveStartKey: start as never } : {}),
      }),
    );
    count += page.Count ?? 0;
    start = page.LastEvaluatedKey;
  } while (start);
  return count;
}

/** User and system CPU time of a `process.cpuUsage` difference, in µs. */
export const cpuMicros = (usage: NodeJS.CpuUsage) => usage.user + usage.system;

/** Bytes as whole MB. */
export const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;

export interface BenchTwinOptions {
  /** A name for the temp directories. */
  name: string;
  /** Keeps the twin's state (dynalite's tables on disk, buckets, executions) here, as `mlops local up --state-dir` does. */
  stateDir?: string;
  /** Evaluates the alarms and runs the rules' schedules, as `mlops local up` does. */
  monitoring?: boolean;
}

/** A twin serving a promoted credit model on a loopback port, and what a bench sends it. */
export interface BenchTwin {
  twin: LocalTwin;
  config: PlatformConfig;
  def: ModelDefinition;
  url: string;
  /** The headers of a predict request: content type and the first client's API key, when the twin has keys. */
  headers: Record<string, string>;
  /** The client whose key is sent, if any. */
  client?: string;
  /** A predict request's body: the README's applicant, one instance. */
  body: string;
  /** A DynamoDB client of the twin's dynalite. */
  db: DynamoDBClient;
  /** The prediction log's table name. */
  logTable: string;
  /** The predictions the function counted so far (its `Predictions` metric, model dimension only). */
  served(): number;
  /** Stops the server and the twin, and removes the assembly. */
  stop(): Promise<void>;
}

/**
 * Synthesizes the app (the project's config, default stage, one client whose usage plan lets a
 * load through), boots the twin in this process with its API on a loopback port, as
 * `mlops local up` does, then ingests the credit data, sets the golden set, trains v1 and promotes
 * it, as `mlops demo` does, and warms the predict path up with 50 requests.
 */
/** A twin booted in this process with its API on a loopback port, as `mlops local up` boots one. */
export interface ServedTwin {
  twin: LocalTwin;
  url: string;
  /** The CLI's target of it. */
  target: Target;
  /** Stops the server and the twin, and removes the assembly. */
  stop(): Promise<void>;
}

/** Synthesizes the app with `config` into a temp directory and serves a twin of it (see {@link ServedTwin}). */
export async function serveTwin(
  config: PlatformConfig,
  opts: { name: string; stateDir?: string; monitoring?: boolean },
): Promise<ServedTwin> {
  const assemblyDir = mkdtempSync(join(tmpdir(), `${opts.name}-assembly-`));
  progress('bench: synthesizing the app');
  synthesize(assemblyDir, config);
  const twin = new LocalTwin({
    assemblyDir,
    log: (line) => progress(`  twin: ${line}`),
    ...(opts.stateDir ? { stateDir: opts.stateDir } : {}),
    ...(opts.monitoring ? { monitoring: true } : {}),
  });
  let server: ReturnType<typeof createTwinServer> | undefined;
  const stop = async () => {
    if (server) {
      server.closeAllConnections();
      await new Promise((resolve) => server!.close(resolve));
    }
    await twin.stop();
    rmSync(assemblyDir, { recursive: true, force: true });
  };
  try {
    await twin.start();
    server = createTwinServer(twin);
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return { twin, url, target: await twinTarget(url), stop };
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
}

/**
 * Sends what the CLI's steps print to stdout (console.log and its progress lines) to stderr, so a
 * bench's stdout holds its results; returns the function that puts stdout back.
 */
export function stdoutToStderr(): () => void {
  const log = console.log;
  const write = process.stdout.write;
  console.log = (...args: unknown[]) => progress(args.map(String).join(' '));
  process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
  return () => {
    console.log = log;
    process.stdout.write = write;
  };
}

export async function startBenchTwin(opts: BenchTwinOptions): Promise<BenchTwin> {
  // The default plan (50 requests/s) would answer most of a load 429 in the twin as API Gateway would.
  const config: PlatformConfig = {
    ...projectConfig(),
    clients: [{ name: 'bench', rateLimit: 100_000, burstLimit: 10_000 }],
  };
  const served = await serveTwin(config, opts);
  const { twin, url, target, stop } = served;
  const restore = stdoutToStderr();
  try {
    progress(`bench: twin at ${url}; ingest, golden set, train v1, promote`);
    const def = parseModelDefinition(
      JSON.parse(readFileSync(join(PROJECT_ROOT, 'models/credit.json'), 'utf8')),
      'models/credit.json',
    );
    await ingest(target, def, DEMO_DATA);
    await setGolden(target.lake, { def, from: `models/${def.name}.json` }, DEMO_GOLDEN, { note: 'bench' });
    const v1 = await train(target, def.name, { seed: 42, reason: 'bench' });
    const promoted = await promote(target, def.name, v1.version);
    if (!promoted.promoted) throw new Error(`v${v1.version} was refused: ${promoted.reasons.join('; ')}`);
    restore();

    const keys = await fetch(`${url}/_twin/keys`);
    const keyList = keys.ok ? ((await keys.json()) as { client: string; key: string }[]) : [];
    const apiKey = keyList[0]?.key;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      ...(apiKey ? { 'x-api-key': apiKey } : {}),
    };
    const body = JSON.stringify({ instances: [applicant] });
    progress(`bench: warming up (${apiKey ? `API key of client ${keyList[0]!.client}` : 'no API key'})`);
    for (let i = 0; i < 50; i++) {
      const res = await fetch(`${url}/v1/predict`, { method: 'POST', headers, body });
      if (res.status !== 200) throw new Error(`warm-up predict answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    }
    const namespace = metricNamespace(config.stage);
    return {
      twin,
      config,
      def,
      url,
      headers,
      ...(apiKey ? { client: keyList[0]!.client } : {}),
      body,
      db: new DynamoDBClient({ ...twin.clientTarget(), endpoint: twin.endpoints.dynamodb }),
      logTable: twin.resolver.output(stackOutputs.predictionLogTableName)!,
      served: () =>
        twin.metrics
          .values(
            { namespace, name: 'Predictions', dimensions: { Model: def.name } },
            Number.NEGATIVE_INFINITY,
            Number.POSITIVE_INFINITY,
          )
          .reduce((sum, v) => sum + v, 0),
      stop,
    };
  } catch (err) {
    restore();
    await stop().catch(() => {});
    throw err;
  }
}
