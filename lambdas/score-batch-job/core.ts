/**
 * The two ends of a batch-scoring job (`pipelines/batch-scoring.asl.json`): `resolve` picks the
 * version that scores (the one asked for, which must exist, or production's), and `finish` sums
 * what the map's children returned, read from the Distributed Map's ResultWriter files, and records
 * the job (version, counts, duration) in the registry's audit trail.
 */
import type { BatchScoringSummary } from '../../contracts/batch-scoring.ts';
import { lakeKeys } from '../../contracts/lake.ts';
import { errorNames, PlatformError } from '../../core/errors.ts';
import type { ModelRegistryPort, ObjectStore } from '../../core/ports.ts';

/** The audit action of a finished batch-scoring job. */
export const BATCH_SCORING_ACTION = 'BatchScoring';

export interface ResolveInput {
  task: 'resolve';
  model: string;
  /** A version number; absent or null: the production version. */
  version?: number | string | null;
  /** The column naming each row in the output; absent or null: the version's `spec.idColumn`, if any. */
  idColumn?: string | null;
}

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
  lake: Pick<ObjectStore, 'getText' | 'bucket'>;
  clock: { now(): Date };
}

const invalid = (message: string) => new PlatformError(errorNames.invalidInput, message);

/**
 * The version that scores: the one asked for (it must be in the registry), else production's; and the
 * id column: the one asked for, else the one the version's spec names.
 */
export async function resolveVersion(input: ResolveInput, deps: JobDeps): Promise<Resolved> {
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
  if (input?.task === 'resolve') return resolveVersion(input, deps);
  if (input?.task === 'finish') return finishJob(input, deps);
  throw invalid(
    `task must be "resolve" or "finish", got ${JSON.stringify((input as { task?: unknown })?.task)}.`,
  );
}
