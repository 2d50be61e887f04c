/**
 * `mlops score-batch`: score every row of a CSV on the target's batch-scoring state machine (a
 * Distributed Map over byte ranges of the input, `pipelines/batch-scoring.asl.json`) with a version's own definition,
 * transform and scorer. A local file is first uploaded to the job's input key in the lake; an
 * `s3://` URI is read where it is. The run's progress is shown while it runs; `--json` prints the
 * job's summary as JSON on stdout, the progress going to stderr.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import type { BatchScoringSummary } from '../../contracts/batch-scoring.ts';
import { lakeKeys } from '../../contracts/lake.ts';
import type { CliContext, TargetOptions } from '../context.ts';
import { CliError, UsageError } from '../errors.ts';
import { explainFailure, runMachine } from '../executions.ts';
import { checkModelName, withModel, withTarget } from '../options.ts';
import { bold, info, ok } from '../print.ts';
import type { Target } from '../target.ts';

/** What `--json` prints of a finished job. */
export type BatchScoringOutput = Omit<BatchScoringSummary, 'durationSeconds'>;

/** Options of one job. */
export interface ScoreBatchOptions {
  /** An `s3://bucket/key` URI, or a local CSV file with a header row. */
  input: string;
  /** The version to score with; absent: production's. */
  version?: number;
  /** A column carried into each part as the row's id. */
  idColumn?: string;
  /** Input bytes per child of the map; absent: the state machine's default (16 MiB). */
  rangeBytes?: number;
  json?: boolean;
}

/** A new job id: the UTC time to the second and a random suffix, e.g. `20260102T030405-1a2b3c`. */
export function newJobId(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').slice(0, 15);
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

/** Splits an `s3://bucket/key` URI, or returns undefined for anything else. */
export function parseS3Uri(uri: string): { bucket: string; key: string } | undefined {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  return m ? { bucket: m[1]!, key: m[2]! } : undefined;
}

function parseRangeBytes(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 256 || n > 1024 ** 3) {
    throw new UsageError(`--range-bytes must be a whole number from 256 to 1073741824, got "${value}".`);
  }
  return n;
}

function parseVersion(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`--version must be a version number, got "${value}".`);
  return n;
}

/** Runs a batch-scoring job to the end and returns its summary; a failed run is a CliError. */
export async function scoreBatch(
  target: Target,
  model: string,
  opts: ScoreBatchOptions,
): Promise<BatchScoringOutput> {
  const job = newJobId();
  let input = parseS3Uri(opts.input);
  if (input === undefined) {
    if (opts.input.startsWith('s3://')) {
      throw new UsageError(`--input ${opts.input} is not an s3://bucket/key URI.`);
    }
    let body: Buffer;
    try {
      body = readFileSync(opts.input);
    } catch (err) {
      throw new CliError(`Cannot read --input ${opts.input}: ${(err as Error).message}`);
    }
    const key = lakeKeys.scoresInput(model, job);
    await target.lake.put(key, body, 'text/csv');
    input = { bucket: target.lake.bucket, key };
    if (!opts.json) info(`uploaded ${opts.input} to s3://${input.bucket}/${key}`);
  }
  const res = await runMachine(
    target,
    'batchScoring',
    {
      model,
      job,
      version: opts.version ?? null,
      input,
      idColumn: opts.idColumn ?? null,
      ...(opts.rangeBytes === undefined ? {} : { rangeBytes: opts.rangeBytes }),
    },
    opts.json ? { stream: process.stderr, plain: true } : {},
  );
  if (res.status !== 'SUCCEEDED') {
    throw new CliError(`Batch scoring job ${job} of "${model}" failed: ${explainFailure(res)}`);
  }
  const out = res.output as BatchScoringSummary;
  const summary: BatchScoringOutput = {
    job: out.job,
    model: out.model,
    version: out.version,
    rows: out.rows,
    scored: out.scored,
    quarantined: out.quarantined,
    output: out.output,
  };
  if (opts.json) {
    console.log(JSON.stringify(summary, null, 2));
  } else {
    ok(
      `job ${bold(job)}: ${summary.scored} of ${summary.rows} rows scored with ${model} v${summary.version}, ${summary.quarantined} quarantined`,
    );
    info(`parts: ${summary.output}`);
  }
  return summary;
}

/** Adds `mlops score-batch`. */
export function register(program: Command, context: CliContext): void {
  withTarget(
    withModel(
      program
        .command('score-batch')
        .description(
          "Score every row of a CSV on the batch-scoring state machine with a version's own definition; parts go to scores/<model>/<job>/.",
        ),
      context,
    ),
    context,
  )
    .requiredOption(
      '--input <s3 uri|file>',
      'an s3://bucket/key CSV, or a local CSV file to upload; a header row first',
    )
    .addOption(
      new Option('--version <n>', 'the version to score with (default: production)').argParser(parseVersion),
    )
    .option(
      '--id-column <name>',
      "a column carried into each part as the row id (default: the version's spec.idColumn, if any)",
    )
    .addOption(
      new Option(
        '--range-bytes <n>',
        'bytes of the input each child of the map scores (default: 16 MiB)',
      ).argParser(parseRangeBytes),
    )
    .option('--json', 'print {"job","model","version","rows","scored","quarantined","output"} as JSON')
    .action(
      async (
        opts: TargetOptions & {
          model: string;
          input: string;
          version?: number;
          idColumn?: string;
          rangeBytes?: number;
          json?: boolean;
        },
      ) => {
        const model = checkModelName(opts.model);
        const target = await context.target(opts);
        await scoreBatch(target, model, {
          input: opts.input,
          ...(opts.version === undefined ? {} : { version: opts.version }),
          ...(opts.idColumn === undefined ? {} : { idColumn: opts.idColumn }),
          ...(opts.rangeBytes === undefined ? {} : { rangeBytes: opts.rangeBytes }),
          ...(opts.json ? { json: true } : {}),
        });
      },
    );
}
