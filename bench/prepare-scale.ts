/**
 * The prepare step at scale: synthetic raw data of growing size prepared in the twin by the
 * training state machine's two passes over Distributed Map, beside the single-function prepare on
 * the same data, in one run on one machine.
 *
 *   npx tsx bench/prepare-scale.ts [--sizes 100000,1000000,5000000]   (--help)
 *   npm run bench:prepare-scale -- [options]
 *
 * 1. Synthesizes the app with the project's config plus the synthetic model
 *    (bench/support/synthetic.ts: 20 columns, hash split) and `prepareDistributedAboveRows: 0`, so
 *    every run takes the two passes, and boots the twin in this process, its API on a loopback port.
 * 2. For each size: writes the synthetic CSV to a temp file (streamed, seeded) and puts it in the lake
 *    as the model's latest data. Up to `INGEST_MAX_BYTES` that is `mlops ingest` (cli/commands/ingest.ts);
 *    above, ingest cannot read the file (it holds it as one string and parses every row in memory,
 *    and V8 caps a string at 512 MiB), so the bench stores the same object, definition and pointer
 *    itself, without checking the rows (the prepare step quarantines bad ones either way).
 * 3. Runs the training machine and reads the prepare from the execution's state timings
 *    (ExecutionRecord.timings): wall time from PlanPrepare's entry to Train's, each step's time,
 *    and for each Map its children (count, median duration; a child's time is its own, not its wait
 *    for a slot). The training and evaluation that follow run (small settings) and are not counted;
 *    the twin has no StopExecution.
 * 4. Probes (bench/support/function-probe.ts), each one invocation of the prepare function's bundle
 *    in a fresh process against the running twin: the middle child of pass 1 and of pass 2 with the
 *    input that child had in the run (time alone, peak RSS), the single-function prepare on the
 *    whole data (the PrepareFeatures state's event: what `prepareDistributedAboveRows` above the
 *    row count would run; with the model's seed + 1, so it writes a snapshot of its own: the hash
 *    split does not depend on the seed, and the function refuses a train prefix holding the two
 *    passes' parts), and an idle process that imported the bundle (the floor under all three).
 *
 * The tables go to stdout, progress to stderr. Temp files and the twin's state are removed at the end.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ingest } from '../cli/commands/ingest.ts';
import { trainingInput } from '../cli/commands/train.ts';
import type { twinTarget } from '../cli/target.ts';
import { lakeKeys } from '../contracts/lake.ts';
import type { ExecutionRecord, StateTiming } from '../contracts/twin-api.ts';
import type { RawPointer } from '../core/lake.ts';
import type { ModelDefinition } from '../core/model/definition.ts';
import { type PlatformConfig, projectConfig } from '../lib/config.ts';
import { PROJECT_ROOT } from '../lib/paths.ts';
import type { LocalTwin } from '../local/twin.ts';
import { benchArgs, positiveInt } from './options.ts';
import { type Probe, probeFunction, probeIdle } from './support/function-probe.ts';
import { SYNTHETIC_MODEL, syntheticDefinition, writeSyntheticCsv } from './support/synthetic.ts';
import { progress, type ServedTwin, serveTwin, stdoutToStderr } from './support/twin.ts';

/** Files above this are stored by the bench rather than by `ingest` (see the header, step 2). */
const INGEST_MAX_BYTES = 200 * 2 ** 20;
/** The prepare function's service name (its `lambdas/` directory). */
const PREPARE = 'prepare-features';
/** The longest a probe may take before it is killed. */
const PROBE_KILL_MS = 30 * 60_000;

const USAGE = `Usage: npx tsx bench/prepare-scale.ts [options]   (or: npm run bench:prepare-scale -- [options])

Boots the twin in this process with a synthetic model, and for each size writes synthetic raw data
(20 columns), ingests it, runs the training machine (prepare in two passes over Distributed Map) and
reports the prepare's wall time, rows/s, children and time per child from the execution's timings;
then probes, each in a fresh process, one pass-1 child, one pass-2 child and the single-function
prepare on the same data (time and peak resident memory).

Options:
  --sizes <n,n,...>   data rows per run, comma-separated (default 100000,1000000,5000000)
  --seed <n>          seed of the synthetic data (default 7)
  --single-max-rows <n>
                      probe the single-function prepare only up to this many rows (default
                      1000000: it holds the whole file, parsed, and took over 4 GB at 1M rows)
  --concurrency <n>   the Maps' MaxConcurrency in the twin (prepareMaxConcurrency; default 1: the
                      twin runs a function's concurrent invocations in one worker thread, one V8
                      heap, so n children's memory adds up there)
  --range-mib <n>     raw MiB per child of the two passes (the run's prepareRangeBytes; default:
                      the platform's)
  -h, --help          show this help`;

interface Options {
  sizes: number[];
  seed: number;
  /** The training run's `prepareRangeBytes`, when given. */
  rangeBytes?: number;
  /** Above this many rows the single-function prepare is not probed. */
  singleMaxRows: number;
  /** The Maps' MaxConcurrency in the twin. */
  concurrency: number;
}

function parseOptions(argv: string[]): Options | undefined {
  const values = benchArgs(argv, {
    sizes: { type: 'string' },
    seed: { type: 'string' },
    'range-mib': { type: 'string' },
    'single-max-rows': { type: 'string' },
    concurrency: { type: 'string' },
  });
  if (!values) return undefined;
  const sizesText = typeof values.sizes === 'string' ? values.sizes : '100000,1000000,5000000';
  const sizes = sizesText.split(',').map((t) => {
    const n = Number(t.trim());
    if (t.trim() === '' || !Number.isInteger(n) || n < 1000 || n > 50_000_000)
      throw new Error(
        `--sizes must be whole numbers from 1000 to 50000000, comma-separated, got "${sizesText}" (see --help)`,
      );
    return n;
  });
  const seedText = values.seed;
  const seed = seedText === undefined ? 7 : Number(seedText);
  if (typeof seedText === 'string' && (!Number.isInteger(seed) || seed < 0))
    throw new Error(`--seed must be a whole number ≥ 0, got "${seedText}" (see --help)`);
  const rangeMib = values['range-mib'];
  return {
    sizes,
    seed,
    singleMaxRows: positiveInt('single-max-rows', values['single-max-rows'], 1_000_000),
    concurrency: positiveInt('concurrency', values.concurrency, 1),
    ...(rangeMib === undefined ? {} : { rangeBytes: positiveInt('range-mib', rangeMib, 64) * 2 ** 20 }),
  };
}

/** One step of the prepare, from the execution's timings. */
interface Step {
  state: string;
  ms: number;
  children?: number;
  medianChildMs?: number;
  maxChildMs?: number;
  middleChildInput?: unknown;
}

/** What one size measured. */
interface SizeResult {
  rows: number;
  bytes: number;
  stored: 'ingest' | 'bench';
  path: string;
  prepareMs: number;
  steps: Step[];
  pass1?: Step;
  pass2?: Step;
  probe1?: Probe | string;
  probe2?: Probe | string;
  single?: Probe | string;
  idle?: Probe | string;
  /** The whole execution (prepare, training, evaluation, registration), for the record. */
  executionMs: number;
  status: string;
}

const ms = (a: string, b: string) => Date.parse(b) - Date.parse(a);

/** The prepare's steps: every state from PlanPrepare's entry up to Train's (not included). */
function prepareSteps(timings: readonly StateTiming[]): { steps: Step[]; wallMs: number } {
  const start = timings.findIndex((t) => t.state === 'PlanPrepare');
  const train = timings.findIndex((t) => t.state === 'Train');
  if (start < 0 || train < 0)
    throw new Error(
      `the execution did not reach Train after PlanPrepare (states: ${timings.map((t) => t.state).join(', ')})`,
    );
  const steps = timings.slice(start, train).map((t) => ({
    state: t.state,
    ms: ms(t.enteredAt, t.exitedAt ?? t.enteredAt),
    ...(t.map
      ? {
          children: t.map.children,
          medianChildMs: t.map.childMs.median,
          maxChildMs: t.map.childMs.max,
          middleChildInput: t.map.middleChildInput,
        }
      : {}),
  }));
  return { steps, wallMs: ms(timings[start]!.enteredAt, timings[train]!.enteredAt) };
}

/**
 * The event the prepare function got for a Map child's input: the child's first state must hand it
 * its whole input (`Payload.$: "$"`), which the bench checks in the deployed ASL.
 */
function childEvent(definition: Record<string, unknown>, mapState: string, input: unknown): unknown {
  const map = (definition.States as Record<string, { ItemProcessor?: Record<string, unknown> }>)[mapState];
  const processor = map?.ItemProcessor as
    | { StartAt: string; States: Record<string, { Parameters?: Record<string, unknown> }> }
    | undefined;
  const first = processor?.States[processor.StartAt];
  if (first?.Parameters?.['Payload.$'] !== '$')
    throw new Error(
      `${mapState}'s child does not pass its whole input to the function (Payload.$ "$"): the bench cannot replay it`,
    );
  return input;
}

/** Puts the file in the lake as `mlops ingest` does (same keys, definition and pointer), without reading its rows. */
async function storeRaw(
  target: Awaited<ReturnType<typeof twinTarget>>,
  def: ModelDefinition,
  file: string,
): Promise<void> {
  const bytes = readFileSync(file);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  let rows = -1; // the header
  for (let at = bytes.indexOf(10); at >= 0; at = bytes.indexOf(10, at + 1)) rows++;
  const now = new Date();
  const ingestId = `${now.toISOString().replace(/[-:.]/g, '').slice(0, 15)}-${sha256.slice(0, 8)}`;
  const key = lakeKeys.rawData(def.name, ingestId);
  await target.lake.put(key, bytes, 'text/csv');
  const definitionKey = lakeKeys.rawDefinition(def.name, ingestId);
  await target.lake.put(definitionKey, `${JSON.stringify(def, null, 2)}\n`, 'application/json');
  const pointer: RawPointer = { key, ingestId, sha256, rows, ingestedAt: now.toISOString(), definitionKey };
  await target.lake.put(lakeKeys.rawLatest(def.name), JSON.stringify(pointer, null, 2), 'application/json');
}

async function probe(label: string, run: () => Promise<Probe>): Promise<Probe | string> {
  progress(`bench: probe ${label}`);
  try {
    const p = await run();
    progress(
      `  ${p.ok ? 'ok' : `failed: ${p.error?.name}: ${p.error?.message.slice(0, 200)}`}; handler ${(p.handlerMs / 1000).toFixed(1)} s, peak RSS ${p.maxRssMb.toFixed(0)} MB`,
    );
    return p;
  } catch (err) {
    const message = (err as Error).message;
    progress(`  no report: ${message.slice(0, 400)}`);
    // V8's own words when it ran out of heap, else the first line.
    const fatal = /FATAL ERROR: [^\n]*/.exec(message)?.[0];
    return `crashed: ${(fatal ?? message.split('\n')[0]!).slice(0, 160)}`;
  }
}

async function runSize(
  twin: LocalTwin,
  target: Awaited<ReturnType<typeof twinTarget>>,
  def: ModelDefinition,
  definition: Record<string, unknown>,
  dir: string,
  rows: number,
  opts: Options,
): Promise<SizeResult> {
  const file = join(dir, `synthetic-${rows}.csv`);
  progress(`bench: ${rows} rows: writing ${file}`);
  const written = writeSyntheticCsv(file, rows, { seed: opts.seed });
  progress(`  ${(written.bytes / 2 ** 20).toFixed(1)} MB, ${written.invalidRows} invalid rows`);
  const stored = written.bytes <= INGEST_MAX_BYTES ? 'ingest' : 'bench';
  progress(`bench: storing it in the lake (${stored === 'ingest' ? 'mlops ingest' : 'as ingest would'})`);
  if (stored === 'ingest') await ingest(target, def, file);
  else await storeRaw(target, def, file);
  rmSync(file, { force: true });

  progress('bench: training run');
  const states: string[] = [];
  const record: ExecutionRecord = await twin.execute(
    'training',
    {
      ...trainingInput(def.name, { reason: 'prepare-scale bench' }),
      ...(opts.rangeBytes === undefined ? {} : { prepareRangeBytes: opts.rangeBytes }),
    },
    (e) => {
      if (e.type === 'StateEntered' && e.state && !states.includes(e.state)) {
        states.push(e.state);
        progress(`  → ${e.state}`);
      }
    },
  );
  progress(`  ${record.status}${record.error ? `: ${record.error}: ${record.cause?.slice(0, 300)}` : ''}`);
  const { steps, wallMs } = prepareSteps(record.timings ?? []);
  const maps = steps.filter((s) => s.children !== undefined);
  const plan = (record.timings ?? []).find((t) => t.state === 'PlanPrepare');
  const path = maps.length > 0 ? 'two passes' : 'single function';
  const result: SizeResult = {
    rows,
    bytes: written.bytes,
    stored,
    path,
    prepareMs: wallMs,
    steps,
    ...(maps[0] ? { pass1: maps[0] } : {}),
    ...(maps[1] ? { pass2: maps[1] } : {}),
    executionMs: ms(record.startedAt, record.stoppedAt ?? record.startedAt),
    status: record.status,
  };
  if (!plan) throw new Error('no PlanPrepare in the timings');
  progress(
    `bench: prepare ${s(wallMs)} s (${Math.round(rows / (wallMs / 1000))} rows/s): ${steps
      .map((st) =>
        st.children === undefined
          ? `${st.state} ${s2(st.ms)}`
          : `${st.state} ${s2(st.ms)} (${st.children} children, median ${s2(st.medianChildMs)})`,
      )
      .join(', ')}`,
  );

  // The probes replay against the data as the run left it (the same snapshot, the same run).
  const probeOpts = { killAfterMs: PROBE_KILL_MS };
  if (result.pass1?.middleChildInput !== undefined)
    result.probe1 = await probe(`pass 1 child (${result.pass1.state})`, () =>
      probeFunction(
        twin,
        PREPARE,
        childEvent(definition, result.pass1!.state, result.pass1!.middleChildInput),
        probeOpts,
      ),
    );
  if (result.pass2?.middleChildInput !== undefined)
    result.probe2 = await probe(`pass 2 child (${result.pass2.state})`, () =>
      probeFunction(
        twin,
        PREPARE,
        childEvent(definition, result.pass2!.state, result.pass2!.middleChildInput),
        probeOpts,
      ),
    );
  // Another seed: the same rows in the same splits (the hash split ignores the seed) under another
  // snapshot id, since the single function refuses a train prefix holding parts it did not write.
  if (rows <= opts.singleMaxRows)
    result.single = await probe('single-function prepare on the whole data', () =>
      probeFunction(twin, PREPARE, { model: def.name, seed: def.training.seed + 1 }, probeOpts),
    );
  else {
    // Its memory grows with the data (several GB at 1M rows): on a shared machine, not run beyond.
    result.single = `not run (above --single-max-rows ${opts.singleMaxRows})`;
    progress(`bench: single-function prepare ${result.single}`);
  }
  result.idle = await probe('idle (bundle imported, nothing invoked)', () => probeIdle(twin, PREPARE));
  return result;
}

const s = (msValue: number | undefined) => (msValue === undefined ? '-' : (msValue / 1000).toFixed(1));
const s2 = (msValue: number | undefined) => (msValue === undefined ? '-' : (msValue / 1000).toFixed(2));
const rss = (p: Probe | string | undefined) =>
  p === undefined
    ? '-'
    : typeof p === 'string'
      ? p
      : p.ok
        ? p.maxRssMb.toFixed(0)
        : `failed (${p.error?.name})`;
const alone = (p: Probe | string | undefined) =>
  p === undefined || typeof p === 'string' || !p.ok ? '-' : s2(p.handlerMs);

function printTables(results: readonly SizeResult[]): void {
  const out: string[] = [];
  out.push(
    '| rows | input MB | path | prepare wall s | rows/s | children (pass 1 / 2) | median s per child in the twin (1 / 2) | one child alone s (1 / 2) | child peak RSS MB (1 / 2) | single-function prepare s | its peak RSS MB | idle RSS MB |',
    '|---:|---:|---|---:|---:|---|---|---|---|---:|---:|---:|',
  );
  for (const r of results) {
    const single = r.single;
    const singleS =
      single === undefined
        ? '-'
        : typeof single === 'string'
          ? single
          : single.ok
            ? s(single.handlerMs)
            : `failed after ${s(single.handlerMs)} s: ${single.error?.name}`;
    out.push(
      `| ${r.rows.toLocaleString('en-US')} | ${(r.bytes / 2 ** 20).toFixed(1)} | ${r.path} | ${s(r.prepareMs)} | ${Math.round(r.rows / (r.prepareMs / 1000)).toLocaleString('en-US')} | ${r.pass1?.children ?? '-'} / ${r.pass2?.children ?? '-'} | ${s2(r.pass1?.medianChildMs)} / ${s2(r.pass2?.medianChildMs)} | ${alone(r.probe1)} / ${alone(r.probe2)} | ${rss(r.probe1)} / ${rss(r.probe2)} | ${singleS} | ${rss(single)} | ${rss(r.idle)} |`,
    );
  }
  out.push('', 'Steps of the prepare (s; a Map: its wall time, children, median and longest child):', '');
  for (const r of results) {
    out.push(
      `- ${r.rows.toLocaleString('en-US')} rows: ${r.steps
        .map((st) =>
          st.children === undefined
            ? `${st.state} ${s2(st.ms)}`
            : `${st.state} ${s2(st.ms)} (${st.children} children, median ${s2(st.medianChildMs)}, max ${s2(st.maxChildMs)})`,
        )
        .join(
          ', ',
        )}; whole execution ${s(r.executionMs)} s (${r.status}); raw data stored by ${r.stored === 'ingest' ? 'mlops ingest' : 'the bench'}`,
    );
  }
  const flat = results.filter((r) => typeof r.probe1 === 'object' && r.probe1.ok);
  if (flat.length > 1) {
    const first = flat[0]!;
    const last = flat[flat.length - 1]!;
    const grow = (a: Probe | string | undefined, b: Probe | string | undefined) =>
      typeof a === 'object' && typeof b === 'object' && a.ok && b.ok
        ? `${(b.maxRssMb / a.maxRssMb).toFixed(2)}x`
        : '-';
    out.push(
      '',
      `From ${first.rows.toLocaleString('en-US')} to ${last.rows.toLocaleString('en-US')} rows (${(last.rows / first.rows).toFixed(0)}x the data): pass-1 child peak RSS ${grow(first.probe1, last.probe1)}, pass-2 child ${grow(first.probe2, last.probe2)}, single function ${grow(first.single, last.single)}.`,
    );
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

async function main(): Promise<void> {
  let opts: Options | undefined;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  if (!opts) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const def = syntheticDefinition();
  const base = projectConfig();
  const config: PlatformConfig = {
    ...base,
    models: [...base.models.filter((m) => m.name !== SYNTHETIC_MODEL), def],
    prepareDistributedAboveRows: 0,
    prepareMaxConcurrency: opts.concurrency,
  };
  const dir = mkdtempSync(join(tmpdir(), 'prepare-scale-'));
  // The CLI's steps print to stdout; during the runs that goes to stderr, so stdout holds the tables.
  const restore = stdoutToStderr();
  const results: SizeResult[] = [];
  let served: ServedTwin | undefined;
  try {
    served = await serveTwin(config, { name: 'prepare-scale' });
    const { twin, target } = served;
    // The ASL as written; its definition substitutions (`${...}`) do not matter to childEvent.
    const asl = JSON.parse(
      readFileSync(join(PROJECT_ROOT, 'pipelines/training.asl.json'), 'utf8').replace(/\$\{\w+\}/g, '0'),
    ) as Record<string, unknown>;
    for (const rows of opts.sizes) {
      results.push(await runSize(twin, target, def, asl, dir, rows, opts));
    }
  } finally {
    restore();
    await served?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  printTables(results);
}

await main();
