/**
 * Batch scoring in the twin (`mlops score-batch`: the BatchScoring state machine, a Distributed Map
 * of score-batch children, one per byte range of the input) at 1, 2 and 4 children at once, beside `mlops score` (the laptop path it
 * replaces) on the same rows, in one run on one machine.
 *
 *   npx tsx bench/batch-scoring.ts [--rows 200000] [--runs 3] [--concurrency 1,2,4] [--range-bytes 1048576]   (--help)
 *   npm run bench:batch-scoring -- [options]
 *
 * 1. Writes the input: the demo data's rows repeated to `--rows` rows, each copy's numeric cells
 *    perturbed deterministically (a seeded generator, so every run scores the same file), with 5 bad
 *    rows (an Age that is not a number) spread through it; and the same file without the bad rows,
 *    for `mlops score`, which refuses a file with any invalid row.
 * 2. For each concurrency: synthesizes the app with `batchScoring.maxConcurrency` set to it (the
 *    platform config; the ASL is the deployed one, its MaxConcurrency substituted at synth, checked
 *    here) and boots the twin in this process on one state directory kept across the twins, so the
 *    credit model is ingested, trained and promoted once, by the first twin, as `mlops demo` does.
 *    Then `--runs` jobs, each `mlops score-batch --input <file> --range-bytes <n>` (the upload to
 *    the lake, the machine's run to its summary), timed; their counts are checked (every row, the 5 bad ones
 *    quarantined).
 * 3. Memory per child: bench/support/function-probe.ts runs the score-batch bundle once in a fresh
 *    process against the twin with a real range (the input's first `--range-bytes` bytes, uploaded
 *    to the lake) and reports its peak RSS and handler time, and once with no invocation (the idle
 *    process, right after the bundle's import). In the twin the children share one worker thread of
 *    the twin's process, so their memory is not measurable there; the probe is what one Lambda
 *    instance holds for one range.
 * 4. Baseline: `mlops score --model model.json --spec models/credit.json --transform transform.json`
 *    on the clean file (the promoted version's artifacts), a child process timed from start to exit,
 *    its peak RSS read at its exit (Linux's VmHWM, by a preload module), `--runs` times; and the
 *    same command on the file's first row alone: its start and the model's load.
 *
 * Medians of the runs. The table goes to stdout, progress to stderr.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { DEMO_DATA, DEMO_GOLDEN } from '../cli/commands/demo.ts';
import { ingest } from '../cli/commands/ingest.ts';
import { promote } from '../cli/commands/promote.ts';
import { scoreBatch } from '../cli/commands/score-batch.ts';
import { train } from '../cli/commands/train.ts';
import { setGolden } from '../cli/golden.ts';
import type { Target } from '../cli/target.ts';
import { lakeKeys } from '../contracts/lake.ts';
import { parseModelDefinition } from '../core/model/definition.ts';
import { seededRandom } from '../core/random.ts';
import type { RangeInput } from '../lambdas/score-batch/core.ts';
import { type PlatformConfig, projectConfig } from '../lib/config.ts';
import { PROJECT_ROOT } from '../lib/paths.ts';
import type { LocalTwin } from '../local/twin.ts';
import { benchArgs, positiveInt } from './options.ts';
import { type Probe, probeFunction, probeIdle } from './support/function-probe.ts';
import { progress, serveTwin, stdoutToStderr } from './support/twin.ts';

const MODEL = 'credit';
/** Rows whose Age is not a number: quarantined by batch scoring. */
const BAD_ROWS = 5;

const USAGE = `Usage: npx tsx bench/batch-scoring.ts [options]   (or: npm run bench:batch-scoring -- [options])

Scores one CSV of --rows rows (the demo data repeated and perturbed, ${BAD_ROWS} bad rows) with the
BatchScoring state machine in the twin at each concurrency (children at once), --runs times each,
and with \`mlops score\` (the laptop path) on the same rows, and prints rows/s, the ratio to one child,
the peak RSS of one score-batch child on a real range (a fresh process against the twin) and of its
idle process, and the peak RSS of \`mlops score\`. Medians of the runs.

Options:
  --rows <n>            data rows in the input file (default 200000)
  --runs <n>            jobs per concurrency, and runs of the baseline (default 3)
  --concurrency <list>  children at once, comma-separated (default 1,2,4)
  --range-bytes <n>     input bytes per child (the job's rangeBytes; default 1048576, some 15,000 rows,
                        so the default file makes some 14 ranges; the platform's default is 16 MiB)
  -h, --help            show this help`;

interface Options {
  rows: number;
  runs: number;
  concurrency: number[];
  rangeBytes: number;
}

function parseOptions(argv: string[]): Options | undefined {
  const values = benchArgs(argv, {
    rows: { type: 'string' },
    runs: { type: 'string' },
    concurrency: { type: 'string' },
    'range-bytes': { type: 'string' },
  });
  if (!values) return undefined;
  const rows = positiveInt('rows', values.rows, 200_000);
  if (rows <= BAD_ROWS * 10)
    throw new Error(`--rows must be more than ${BAD_ROWS * 10}, got ${rows} (see --help)`);
  const list = values.concurrency === undefined ? '1,2,4' : String(values.concurrency);
  const concurrency = list.split(',').map((c) => positiveInt('concurrency', c.trim(), 1));
  if (concurrency.some((c) => c > 10_000) || new Set(concurrency).size !== concurrency.length) {
    throw new Error(
      `--concurrency must be distinct whole numbers from 1 to 10000, got "${list}" (see --help)`,
    );
  }
  const rangeBytes = positiveInt('range-bytes', values['range-bytes'], 1024 * 1024);
  if (rangeBytes < 256 || rangeBytes > 1024 ** 3) {
    throw new Error(`--range-bytes must be from 256 to 1073741824, got ${rangeBytes} (see --help)`);
  }
  return { rows, runs: positiveInt('runs', values.runs, 3), concurrency, rangeBytes };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The CSV's file line (1-based, the header is 1) of each bad row. */
function badLines(rows: number): Set<number> {
  return new Set(Array.from({ length: BAD_ROWS }, (_, i) => 2 + Math.floor(((i + 0.5) * rows) / BAD_ROWS)));
}

/**
 * Writes the input (with the bad rows) and the clean file (without them); returns the header and
 * the first data rows, cells by column, as the map's ItemReader reads them.
 */
function writeInputs(rows: number, input: string, clean: string): void {
  const [header, ...demo] = readFileSync(DEMO_DATA, 'utf8').trimEnd().split('\n') as [string, ...string[]];
  const columns = header.split(',').map((c) => c.replaceAll('"', ''));
  const age = columns.indexOf('Age');
  // Numeric cells (the unquoted ones) are moved by up to ±10 %, whole numbers kept non-negative.
  const next = seededRandom(12);
  const bad = badLines(rows);
  const all: string[] = [header];
  const good: string[] = [header];
  for (let i = 0; i < rows; i++) {
    const cells = demo[i % demo.length]!.split(',');
    if (i >= demo.length) {
      for (let c = 0; c < cells.length; c++) {
        const cell = cells[c]!;
        if (!/^\d+$/.test(cell)) continue;
        const n = Number(cell);
        cells[c] = String(Math.max(0, Math.round(n * (0.9 + 0.2 * next()))));
      }
    }
    if (bad.has(i + 2)) {
      cells[age] = '"old"';
      all.push(cells.join(','));
    } else {
      const line = cells.join(',');
      all.push(line);
      good.push(line);
    }
  }
  writeFileSync(input, `${all.join('\n')}\n`);
  writeFileSync(clean, `${good.join('\n')}\n`);
}

/**
 * The first range the job's plan would make of the input, uploaded to the lake under `job`: the
 * input of one map child.
 */
async function firstRange(
  target: Target,
  input: string,
  rangeBytes: number,
  version: number,
  job: string,
): Promise<RangeInput> {
  const text = readFileSync(input);
  const key = lakeKeys.scoresInput(MODEL, job);
  await target.lake.put(key, text, 'text/csv');
  const header = text.subarray(0, text.indexOf(0x0a)).toString('utf8');
  const range = { part: 0, key, size: text.length, start: 0, end: Math.min(rangeBytes, text.length) };
  return { model: MODEL, version, job, idColumn: null, header, range };
}

/** Runs `fn` with console.log and stdout sent to stderr: stdout holds the results. */
async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const restore = stdoutToStderr();
  try {
    return await fn();
  } finally {
    restore();
  }
}

/** The MaxConcurrency the twin's batch-scoring machine was synthesized with. */
function machineConcurrency(twin: LocalTwin): number {
  const found = twin.resolver.lookup(twin.stateMachineArn('batchScoring'));
  const subs = found?.stack.Resources[found.logicalId]?.Properties?.DefinitionSubstitutions as
    | Record<string, unknown>
    | undefined;
  return Number(subs?.MaxConcurrency);
}

/** Ingests the demo data, sets the golden set, trains v1 and promotes it; returns the version. */
async function trainAndPromote(target: Target): Promise<number> {
  const def = parseModelDefinition(
    JSON.parse(readFileSync(join(PROJECT_ROOT, `models/${MODEL}.json`), 'utf8')),
    `models/${MODEL}.json`,
  );
  await ingest(target, def, DEMO_DATA);
  await setGolden(target.lake, { def, from: `models/${MODEL}.json` }, DEMO_GOLDEN, { note: 'bench' });
  const v1 = await train(target, MODEL, { seed: 42, reason: 'bench' });
  const promoted = await promote(target, MODEL, v1.version);
  if (!promoted.promoted) throw new Error(`v${v1.version} was refused: ${promoted.reasons.join('; ')}`);
  return v1.version;
}

/** An artifact of the version (`s3://bucket/key` or a key of the lake) written to a file. */
async function saveArtifact(target: Target, uri: string, file: string): Promise<void> {
  const m = /^s3:\/\/[^/]+\/(.+)$/.exec(uri);
  const text = await target.lake.getText(m ? m[1]! : uri);
  writeFileSync(file, text);
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Writes the process's peak RSS (KiB) to fd 3 at its exit: Linux's VmHWM, the process's own peak
 * (getrusage's maxRSS would carry this bench's, the parent that forked it), else maxRSS.
 */
const MAX_RSS_PRELOAD = `data:text/javascript,${encodeURIComponent(
  [
    "import { readFileSync, writeSync } from 'node:fs';",
    "process.on('exit', () => {",
    '  let kb = process.resourceUsage().maxRSS;',
    "  try { kb = Number(/^VmHWM:\\s+(\\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))[1]); } catch {}",
    '  try { writeSync(3, String(kb)); } catch {}',
    '});',
  ].join('\n'),
)}`;

/** One `mlops score` run in a child process: its wall time and peak RSS. */
async function runScoreCli(args: string[]): Promise<{ wallMs: number; maxRssMb: number }> {
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [`--import=${MAX_RSS_PRELOAD}`, join(PROJECT_ROOT, 'bin/mlops.js'), 'score', ...args],
    { cwd: PROJECT_ROOT, stdio: ['ignore', 'ignore', 'pipe', 'pipe'] },
  );
  const [code, stderr, rss] = await Promise.all([
    new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', resolve);
    }),
    readAll(child.stderr!),
    readAll(child.stdio[3] as Readable),
  ]);
  const wallMs = performance.now() - started;
  if (code !== 0) throw new Error(`mlops score exited with ${code}: ${stderr.trim().slice(-2000)}`);
  return { wallMs, maxRssMb: Number(rss) / 1024 };
}

interface ConcurrencyResult {
  concurrency: number;
  wallSeconds: number[];
  children: number;
  rangeRows: number;
  child: Probe;
  idle: Probe;
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (!options) {
    console.log(USAGE);
    return;
  }
  const work = mkdtempSync(join(tmpdir(), 'bench-batch-scoring-'));
  const stateDir = join(work, 'state');
  mkdirSync(stateDir);
  const input = join(work, 'input.csv');
  const clean = join(work, 'clean.csv');
  const modelJson = join(work, 'model.json');
  const transformJson = join(work, 'transform.json');
  const results: ConcurrencyResult[] = [];
  const baseline: { wallMs: number; maxRssMb: number }[] = [];
  const startup: number[] = [];
  const base = projectConfig();
  let version = 0;
  try {
    progress(`bench: writing ${fmt(options.rows)} rows (${BAD_ROWS} bad) to ${input}`);
    writeInputs(options.rows, input, clean);
    for (const concurrency of options.concurrency) {
      progress(`bench: synthesizing with batchScoring.maxConcurrency ${concurrency}, booting the twin`);
      const config: PlatformConfig = {
        ...base,
        batchScoring: { ...base.batchScoring, maxConcurrency: concurrency },
      };
      const { twin, target, stop } = await serveTwin(config, { name: 'bench-batch-scoring', stateDir });
      try {
        const deployed = machineConcurrency(twin);
        if (deployed !== concurrency) {
          throw new Error(`The batch-scoring machine has MaxConcurrency ${deployed}, not ${concurrency}`);
        }
        if (version === 0) {
          progress('bench: ingest, golden set, train v1, promote');
          version = await quietly(() => trainAndPromote(target));
          const v = await target.registry.getVersion(MODEL, version);
          if (!v) throw new Error(`v${version} is not in the registry`);
          await saveArtifact(target, v.artifacts.modelJson, modelJson);
          await saveArtifact(target, v.artifacts.transform, transformJson);
        }
        const item = await firstRange(target, input, options.rangeBytes, version, `probe-c${concurrency}`);
        progress(`bench: probing one score-batch child (the first range) and its idle process`);
        const idle = await probeIdle(twin, 'score-batch');
        const child = await probeFunction(twin, 'score-batch', item);
        if (!child.ok)
          throw new Error(`The probed child failed: ${child.error?.name}: ${child.error?.message}`);
        const rangeRows = (child.result as { rows: number }).rows;
        const wallSeconds: number[] = [];
        let children = 0;
        for (let run = 1; run <= options.runs; run++) {
          const started = performance.now();
          const summary = await quietly(() =>
            scoreBatch(target, MODEL, { input, rangeBytes: options.rangeBytes, json: true }),
          );
          const seconds = (performance.now() - started) / 1000;
          if (summary.rows !== options.rows || summary.quarantined !== BAD_ROWS) {
            throw new Error(
              `Job ${summary.job}: ${summary.rows} rows, ${summary.quarantined} quarantined; expected ${options.rows} and ${BAD_ROWS}`,
            );
          }
          const prefix = summary.output.replace(/^s3:\/\/[^/]+\//, '');
          children = (await target.lake.list(prefix)).filter(
            (k) => /\/part-\d+\.csv$/.test(k) && !k.includes('/quarantine/'),
          ).length;
          wallSeconds.push(seconds);
          progress(
            `  concurrency ${concurrency}, run ${run}: ${seconds.toFixed(1)} s, ${fmt(options.rows / seconds)} rows/s, ${children} children`,
          );
        }
        results.push({ concurrency, wallSeconds, children, rangeRows, child, idle });
      } finally {
        await stop();
      }
    }
    const args = [
      '--model',
      modelJson,
      '--input',
      clean,
      '--spec',
      join(PROJECT_ROOT, `models/${MODEL}.json`),
    ];
    args.push('--transform', transformJson, '--output', join(work, 'scores.txt'));
    for (let run = 1; run <= options.runs; run++) {
      const r = await runScoreCli(args);
      baseline.push(r);
      progress(
        `  mlops score, run ${run}: ${(r.wallMs / 1000).toFixed(1)} s, peak RSS ${r.maxRssMb.toFixed(0)} MB`,
      );
    }
    const scored = readFileSync(join(work, 'scores.txt'), 'utf8').trimEnd().split('\n').length;
    // What the command costs before it scores anything: the same command on the file's first row.
    const oneRow = join(work, 'one-row.csv');
    writeFileSync(oneRow, readFileSync(clean, 'utf8').split('\n').slice(0, 2).join('\n').concat('\n'));
    const oneRowArgs = args.map((a) => (a === clean ? oneRow : a));
    for (let run = 1; run <= options.runs; run++) startup.push((await runScoreCli(oneRowArgs)).wallMs);
    if (scored !== options.rows - BAD_ROWS) {
      throw new Error(`mlops score wrote ${scored} scores for ${options.rows - BAD_ROWS} rows`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  const one = results.find((r) => r.concurrency === 1);
  const rate = (r: ConcurrencyResult) => options.rows / median(r.wallSeconds);
  const lines = [
    `Batch scoring in the twin: ${fmt(options.rows)} rows (${BAD_ROWS} bad, quarantined), ranges of ${fmt(options.rangeBytes)} bytes, ${options.runs} runs each, medians`,
    `machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), node ${process.version}, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} at the end`,
    '',
    '| path | children at once | rows | wall s | rows/s | ratio to 1 child | children (ranges, parts) | probed child (first range): rows, peak RSS MB (above idle), handler ms | idle child RSS MB |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...results.map(
      (r) =>
        `| score-batch (twin) | ${r.concurrency} | ${fmt(options.rows)} | ${median(r.wallSeconds).toFixed(1)} | ${fmt(rate(r))} | ${one ? (rate(r) / rate(one)).toFixed(2) : '-'} | ${r.children} | ${fmt(r.rangeRows)} rows, ${r.child.maxRssMb.toFixed(0)} (+${r.child.aboveIdleMb.toFixed(0)}), ${r.child.handlerMs.toFixed(0)} ms | ${r.idle.maxRssMb.toFixed(0)} |`,
    ),
    `| mlops score (baseline) | - | ${fmt(options.rows - BAD_ROWS)} | ${(median(baseline.map((b) => b.wallMs)) / 1000).toFixed(1)} | ${fmt(
      (options.rows - BAD_ROWS) / (median(baseline.map((b) => b.wallMs)) / 1000),
    )} | - | - | the whole file in one process: peak RSS ${median(baseline.map((b) => b.maxRssMb)).toFixed(0)} | - |`,
    '',
    `mlops score on one row (the command's start, the model's load): ${(median(startup) / 1000).toFixed(1)} s`,
    `runs (wall s): ${results.map((r) => `${r.concurrency}: ${r.wallSeconds.map((s) => s.toFixed(1)).join(', ')}`).join('; ')}; mlops score: ${baseline.map((b) => (b.wallMs / 1000).toFixed(1)).join(', ')}`,
  ];
  console.log(lines.join('\n'));
}

main().catch((err: unknown) => {
  // A bad flag is said in one line; anything else with its stack.
  const message = err instanceof Error && err.message.endsWith('(see --help)') ? err.message : undefined;
  process.stderr.write(`${message ?? (err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
