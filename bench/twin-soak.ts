/**
 * The twin under a sustained, fixed rate: does it hold it without an error, log every answered
 * prediction, and keep its resident memory flat?
 *
 *   npx tsx bench/twin-soak.ts [--duration 60] [--rate 800] [--connections 32] [--state-dir <dir> | --in-memory]   (--help)
 *   npm run bench:twin-soak -- [options]
 *
 * 1. Boots the twin in this process as `mlops local up` does: with a state directory (dynalite's
 *    tables on disk, s3rver's buckets in files, the execution journal) and its monitoring on (alarms
 *    evaluated, rules' schedules run). Without `--state-dir` the directory is a new temp dir, removed
 *    at the end; a given one is kept. `--in-memory` runs without one, tables in dynalite's memory.
 * 2. Ingests the credit data, sets the golden set, trains v1 and promotes it (bench/support/twin.ts).
 * 3. autocannon (a child process) sends `POST /v1/predict` at `--rate` requests a second overall
 *    (its `overallRate`) on `--connections` connections for `--duration` seconds. The bench samples
 *    the process's resident memory (the twin, its dynalite and s3rver threads, its function
 *    workers) and V8 heap once a second.
 * 4. Checks, each printed ok or FAILED (exit code 1 if any fails):
 *    - every request a 2xx (no other status, socket error or timeout);
 *    - the rate held: 2xx ÷ duration within 5% of `--rate`;
 *    - log rows written = predictions the function counted (its `Predictions` metric), and the 2xx
 *      autocannon counted trail them by at most the connections (answered after it closed them);
 *    - memory flat: resident memory at the end at most {@link FLAT_MB} MB above the middle sample
 *      (the first half pays for JIT, pools and caches filling up; a leak keeps growing after it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchArgs, positiveInt } from './options.ts';
import {
  autocannon,
  countRows,
  cpuMicros,
  headerArgs,
  mb,
  progress,
  startBenchTwin,
} from './support/twin.ts';

/** Resident memory may grow by at most this much (MB) from the middle of the load to its end. */
const FLAT_MB = 32;

/** The share of `--rate` the served rate may fall short by. */
const RATE_TOLERANCE = 0.05;

const USAGE = `Usage: npx tsx bench/twin-soak.ts [options]   (or: npm run bench:twin-soak -- [options])

Boots the twin as \`mlops local up\` does (state directory, monitoring on) with a trained and promoted
credit model, sends POST /v1/predict at a fixed rate with autocannon, and checks: no error, the rate
held, log rows = predictions served, resident memory flat (end at most ${FLAT_MB} MB above the middle).

Options:
  --duration <s>      seconds of load (default 60)
  --rate <n>          requests a second, over all connections (default 800)
  --connections <n>   concurrent connections (default 32)
  --state-dir <dir>   the twin's state directory, kept after the run (default: a temp dir, removed)
  --in-memory         no state directory: dynalite keeps the tables in memory (as the tests' twins do)
  -h, --help          show this help`;

interface Options {
  duration: number;
  rate: number;
  connections: number;
  stateDir?: string;
  /** No state directory at all. */
  inMemory: boolean;
}

function parseOptions(argv: string[]): Options | undefined {
  const values = benchArgs(argv, {
    duration: { type: 'string' },
    rate: { type: 'string' },
    connections: { type: 'string' },
    'state-dir': { type: 'string' },
    'in-memory': { type: 'boolean' },
  });
  if (!values) return undefined;
  const stateDir = values['state-dir'];
  if (stateDir !== undefined && (typeof stateDir !== 'string' || stateDir === '')) {
    throw new Error('--state-dir needs a directory (see --help)');
  }
  if (stateDir && values['in-memory'])
    throw new Error('--state-dir and --in-memory exclude each other (see --help)');
  return {
    duration: positiveInt('duration', values.duration, 60),
    rate: positiveInt('rate', values.rate, 800),
    connections: positiveInt('connections', values.connections, 32),
    ...(stateDir ? { stateDir } : {}),
    inMemory: values['in-memory'] === true,
  };
}

/** One memory sample: seconds since the load started, resident set and V8 heap in use. */
interface Sample {
  at: number;
  rss: number;
  heapUsed: number;
}

function sampleMemory(start: number): Sample {
  const m = process.memoryUsage();
  return { at: (performance.now() - start) / 1000, rss: m.rss, heapUsed: m.heapUsed };
}

/** The sample nearest `at` seconds. */
function nearest(samples: Sample[], at: number): Sample {
  return samples.reduce((best, s) => (Math.abs(s.at - at) < Math.abs(best.at - at) ? s : best));
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  if (!opts) {
    console.log(USAGE);
    return;
  }
  const ownStateDir =
    opts.stateDir || opts.inMemory ? undefined : mkdtempSync(join(tmpdir(), 'twin-soak-state-'));
  const stateDir = opts.stateDir ?? ownStateDir;
  const loadBefore = loadavg()[0]!;
  const bench = await startBenchTwin({
    name: 'twin-soak',
    ...(stateDir ? { stateDir } : {}),
    monitoring: true,
  });
  const { def, url, headers, body, db, logTable } = bench;
  try {
    const rowsBefore = await countRows(db, logTable, def.name);
    const servedBefore = bench.served();
    global.gc?.();

    progress(
      `bench: POST /v1/predict at ${opts.rate}/s on ${opts.connections} connections for ${opts.duration} s (${stateDir ? `state in ${stateDir}` : 'state in memory'})`,
    );
    const start = performance.now();
    const samples: Sample[] = [sampleMemory(start)];
    const sampler = setInterval(() => samples.push(sampleMemory(start)), 1_000);
    const cpu = process.cpuUsage();
    let load: Awaited<ReturnType<typeof autocannon>>;
    try {
      load = await autocannon([
        '-c',
        String(opts.connections),
        '-d',
        String(opts.duration),
        '-R',
        String(opts.rate),
        '-m',
        'POST',
        ...headerArgs(headers),
        '-b',
        body,
        `${url}/v1/predict`,
      ]);
    } finally {
      clearInterval(sampler);
    }
    const cpuUs = cpuMicros(process.cpuUsage(cpu));
    samples.push(sampleMemory(start));
    const loadDuring = loadavg()[0]!;
    // Let requests answered after autocannon closed its sockets finish their log writes.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const rows = (await countRows(db, logTable, def.name)) - rowsBefore;
    const served = bench.served() - servedBefore;

    const first = samples[0]!;
    const middle = nearest(samples, opts.duration / 2);
    const last = samples[samples.length - 1]!;
    const failed = load.non2xx + load.errors + load.timeouts;
    const rate = load['2xx'] / load.duration;

    console.log(
      `Twin soak (Node ${process.version}, loopback, ${opts.rate} req/s asked on ${opts.connections} connections for ` +
        `${opts.duration} s; ${stateDir ? 'state directory' : 'state in memory'}, monitoring on; serving mode ${bench.config.serving.mode}; ` +
        `${bench.client ? 'with' : 'without'} an API key; load average ${loadBefore.toFixed(2)} before, ${loadDuring.toFixed(2)} at the end)`,
    );
    console.log('');
    console.log(
      `served: ${rate.toFixed(0)} req/s; latency p50 ${load.latency.p50} ms, p99 ${load.latency.p99} ms`,
    );
    console.log(
      `answers: 2xx ${load['2xx']}, other status ${load.non2xx}, socket errors ${load.errors}, timeouts ${load.timeouts}`,
    );
    console.log(
      `CPU of the twin's process per 2xx: ${load['2xx'] > 0 ? (cpuUs / load['2xx']).toFixed(0) : '-'} µs`,
    );
    console.log(
      `prediction-log rows written: ${rows}; predictions the function counted: ${served}; ` +
        `2xx autocannon counted: ${load['2xx']} (${rows - load['2xx']} answered after it closed its connections)`,
    );
    console.log('');
    console.log('memory      at s   resident    V8 heap');
    for (const [label, s] of [
      ['start', first],
      ['middle', middle],
      ['end', last],
    ] as const) {
      console.log(
        `${label.padEnd(8)}${s.at.toFixed(0).padStart(7)}${mb(s.rss).padStart(11)}${mb(s.heapUsed).padStart(11)}`,
      );
    }
    console.log(
      `peak resident ${mb(Math.max(...samples.map((s) => s.rss)))} over ${samples.length} samples, one a second`,
    );
    const kept = bench.twin.metrics.size();
    console.log(
      `metric points the twin keeps for its alarms: ${kept.points} in ${kept.series} series ` +
        `(at most ${bench.twin.metrics.maxPointsPerSeries} a series, for ${(bench.twin.metrics.retentionMs / 60_000).toFixed(0)} min)`,
    );
    console.log('');

    const checks: [string, boolean][] = [
      [`every request a 2xx (${failed} not)`, failed === 0],
      [
        `rate held: ${rate.toFixed(0)}/s within ${RATE_TOLERANCE * 100}% of ${opts.rate}/s`,
        rate >= opts.rate * (1 - RATE_TOLERANCE),
      ],
      [
        `log rows = predictions served (2xx, and at most ${opts.connections} in flight at the stop)`,
        rows === served && rows >= load['2xx'] && rows - load['2xx'] <= opts.connections,
      ],
      [
        `memory flat: resident ${mb(last.rss - middle.rss)} from the middle to the end (at most ${FLAT_MB} MB)`,
        last.rss - middle.rss <= FLAT_MB * 2 ** 20,
      ],
    ];
    for (const [label, ok] of checks) console.log(`check: ${label}: ${ok ? 'ok' : 'FAILED'}`);
    if (checks.some(([, ok]) => !ok)) process.exitCode = 1;
  } finally {
    await bench.stop();
    if (ownStateDir) rmSync(ownStateDir, { recursive: true, force: true });
  }
}

try {
  await main();
} catch (err) {
  process.stderr.write(`bench: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
