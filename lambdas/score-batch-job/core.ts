/**
 * The two ends of a batch-scoring job (`pipelines/batch-scoring.asl.json`): `resolve` picks the
 * version that scores (the one asked for, which must exist, or production's) and plans the job: it
 * reads the input's size and header and cuts it into byte ranges (core/snapshot/ranges.ts), written as
 * the map's items, `scores/<model>/<job>/ranges.json`; `finish` sums
 * what the map's children returned, read from the Distributed Map's ResultWriter files, and records
 * the job (version, counts, duration) in the registry's audit trail.
 */
import type { BatchScoringSummary } from '../../contracts/batch-scoring.ts';
import { lakeKeys, lakeZones } from '../../contracts/lake.ts';
import { errorNames, PlatformError } from '../../core/errors.ts';
import type { ModelRegistryPort, RangedObjectStore } from '../../core/ports.ts';
import { planRanges } from '../../core/snapshot/ranges.ts';
import { readHeader } from '../shared/ranged-read.ts';

/** The audit action of a finished batch-scoring job. */
export const BATCH_SCORING_ACTION = 'BatchScoring';

/** The version a job scores with, and the id column. */
export interface VersionRequest {
  model: string;
  /** A version number; absent or null: the production version. */
  version?: number | string | null;
  /** The column naming each row in the output; absent or null: the version's `spec.idColumn`, if any. */
  idColumn?: string | null;
}

/** The resolve step's input: the execution's input (see the state machine's comment). */
export interface ResolveInput {
  task: 'resolve';
  request: VersionRequest & {
    job: string;
    /** The CSV to score: in the lake, under `scores/` (an upload) or `raw/` (ingested data). */
    input: { bucket: string; key: string };
    /** Bytes of input per child; absent or null: {@link DEFAULT_RANGE_BYTES}. */
    rangeBytes?: number | null;
  };
}

/**
 * Input bytes per child unless the job says otherwise: 16 MiB is some 240,000 rows of the demo data
 * (70 bytes a row). Measured on a shared 2-core machine (`npx tsx bench/batch-scoring.ts --rows
 * 400000 --runs 1 --concurrency 1 --range-bytes 16777216`), one child in a fresh process scored such
 * a range (241,365 rows) in 10.8 s of handler time at a peak RSS of 315 MB (260 MB above the idle
 * import): well within the function's 1,024 MB and 5-minute timeout, with room for wider rows.
 */
export const DEFAULT_RANGE_BYTES = 16 * 1024 * 1024;
/** The range sizes a job may ask for. */
const RANGE_BYTES_LIMITS = [256, 1024 * 1024 * 1024] as const;

/** The version that scores, and the id column its parts carry (null: none). */
export interface Resolved {
  model: string;
  version: number;
  idColumn: string | null;
}

export interface FinishInput {
  task: 'finish';
  model: string;
  version: number;
  job: string;
  /** When the execution started (`$$.Execution.StartTime`). */
  startedAt: string;
  /** The ResultWriter's details: where its manifest is. */
  results: { ResultWriterDetails: { Bucket: string; Key: string } };
}

/** What a finished job reports (the CLI prints it with --json). */
export type JobSummary = BatchScoringSummary;

export interface JobDeps {
  registry: Pick<ModelRegistryPort, 'getVersion' | 'getAlias' | 'audit'>;
  lake: RangedObjectStore;
  clock: { now(): Date };
}

const invalid = (message: string) => new PlatformError(errorNames.invalidInput, message);

/**
 * The version that scores: the one asked for (it must be in the registry), else production's; and the
 * id column: the one asked for, else the one the version's spec names.
 */
export async function resolveVersion(input: VersionRequest, deps: JobDeps): Promise<Resolved> {
  if (typeof input.model !== 'string' || input.model === '') throw invalid('model must be a model name.');
  if (
    input.idColumn !== undefined &&
    input.idColumn !== null &&
    (typeof input.idColumn !== 'string' || input.idColumn === '')
  ) {
    throw invalid(`idColumn must be a column name or null, got ${JSON.stringify(input.idColumn)}.`);
  }
  let version: number;
  if (input.version === undefined || input.version === null || input.version === '') {
    const alias = await deps.registry.getAlias(input.model);
    if (!alias) {
      throw new PlatformError(
        errorNames.versionNotFound,
        `Model ${input.model} has no production version: name one to score with (--version).`,
      );
    }
    version = alias.current;
  } else {
    version = Number(input.version);
    if (!Number.isInteger(version) || version < 1) {
      throw invalid(`version must be a version number, got ${JSON.stringify(input.version)}.`);
    }
  }
  const record = await deps.registry.getVersion(input.model, version);
  if (!record) {
    throw new PlatformError(errorNames.versionNotFound, `Model ${input.model} has no version ${version}.`);
  }
  return {
    model: input.model,
    version,
    idColumn: input.idColumn ?? record.definition?.spec.idColumn ?? null,
  };
}

/** The resolve step's output: the version and id column, and the job's ranges. */
export interface JobPlan extends Resolved {
  /** The lake bucket and key of the JSON array of ranges: the map's ItemReader. */
  bucket: string;
  items: string;
  /** The input's header line, which every child reads its lines under. */
  header: string;
  /** How many ranges, hence children. */
  ranges: number;
  rangeBytes: number;
}

/** Resolves the version (see {@link resolveVersion}) and plans the job's ranges. */
export async function planJob(input: ResolveInput, deps: JobDeps): Promise<JobPlan> {
  const req = input.request;
  if (typeof req !== 'object' || req === null) throw invalid('request must be the execution’s input.');
  if (typeof req.job !== 'string' || !/^[A-Za-z0-9._-]+$/.test(req.job)) {
    throw invalid(`job must be letters, digits, '.', '_' or '-', got ${JSON.stringify(req.job)}.`);
  }
  const rangeBytes = req.rangeBytes ?? DEFAULT_RANGE_BYTES;
  const [least, most] = RANGE_BYTES_LIMITS;
  if (!Number.isInteger(rangeBytes) || rangeBytes < least || rangeBytes > most) {
    throw invalid(
      `rangeBytes must be a whole number from ${least} to ${most} or null, got ${JSON.stringify(req.rangeBytes)}.`,
    );
  }
  const { bucket, key } = req.input ?? {};
  if (bucket !== deps.lake.bucket || typeof key !== 'string') {
    throw invalid(
      `input must be {bucket, key} of an object in the lake (s3://${deps.lake.bucket}), got ${JSON.stringify(req.input)}.`,
    );
  }
  if (!key.startsWith(lakeZones.scores) && !key.startsWith(lakeZones.raw)) {
    throw invalid(
      `input ${key}: batch scoring reads inputs under ${lakeZones.scores} or ${lakeZones.raw} only.`,
    );
  }
  const resolved = await resolveVersion(req, deps);
  const size = await deps.lake.size(key);
  if (size === 0) throw invalid(`input s3://${bucket}/${key} is empty: it needs a header line.`);
  const header = await readHeader(deps.lake, key, size);
  const ranges = planRanges(key, size, rangeBytes);
  const items = lakeKeys.scoresRanges(req.model, req.job);
  await deps.lake.put(items, `${JSON.stringify(ranges)}\n`, 'application/json');
  return { ...resolved, bucket, items, header, ranges: ranges.length, rangeBytes };
}

/** A child's output as the ResultWriter stores it (`Output` is the JSON text of what it returned). */
interface ChildResult {
  Output?: string;
  Status?: string;
}

/** Sums the children's counts from the ResultWriter's files and records the job in the audit trail. */
export async function finishJob(input: FinishInput, deps: JobDeps): Promise<JobSummary> {
  const details = input.results?.ResultWriterDetails;
  if (!details || typeof details.Key !== 'string') {
    throw invalid('results must be the map state’s ResultWriterDetails {Bucket, Key}.');
  }
  const manifest = JSON.parse(await deps.lake.getText(details.Key)) as {
    ResultFiles?: { SUCCEEDED?: { Key: string }[]; FAILED?: { Key: string }[] };
  };
  const totals = { rows: 0, scored: 0, quarantined: 0 };
  for (const file of manifest.ResultFiles?.SUCCEEDED ?? []) {
    const results = JSON.parse(await deps.lake.getText(file.Key)) as ChildResult[];
    for (const r of results) {
      const out = JSON.parse(r.Output ?? '{}') as Partial<typeof totals>;
      totals.rows += out.rows ?? 0;
      totals.scored += out.scored ?? 0;
      totals.quarantined += out.quarantined ?? 0;
    }
  }
  const durationSeconds = Math.max(
    0,
    Math.round((deps.clock.now().getTime() - Date.parse(input.startedAt)) / 1000),
  );
  const summary: JobSummary = {
    job: input.job,
    model: input.model,
    version: input.version,
    ...totals,
    output: `s3://${deps.lake.bucket}/${lakeKeys.scoresJob(input.model, input.job)}`,
    durationSeconds: Number.isFinite(durationSeconds) ? durationSeconds : 0,
  };
  await deps.registry.audit({
    model: input.model,
    action: BATCH_SCORING_ACTION,
    version: input.version,
    detail: {
      job: summary.job,
      rows: summary.rows,
      scored: summary.scored,
      quarantined: summary.quarantined,
      output: summary.output,
      durationSeconds: summary.durationSeconds,
    },
  });
  return summary;
}

/** Runs the task the input names. */
export function jobTask(input: ResolveInput | FinishInput, deps: JobDeps): Promise<unknown> {
  if (input?.task === 'resolve') return planJob(input, deps);
  if (input?.task === 'finish') return finishJob(input, deps);
  throw invalid(
    `task must be "resolve" or "finish", got ${JSON.stringify((input as { task?: unknown })?.task)}.`,
  );
}
