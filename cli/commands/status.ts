/**
 * `mlops status`: a model's state in one command: what serves and what served before, the last
 * promotion, every alarm of the model and its stage with its state and since when, the latest drift
 * report, the retraining lease, and what the platform did lately on its own.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { DriftReport } from '../../core/drift/types.ts';
import { TRAINING_LEASE } from '../../core/policy/lease.ts';
import {
  latestDriftReport as readLatestDriftReport,
  UnreadableDriftReport,
} from '../../lambdas/shared/drift-reports.ts';
import type { CliContext, TargetOptions } from '../context.ts';
import { CliError } from '../errors.ts';
import { checkModelName, withModel, withTarget } from '../options.ts';
import { buildStatusReport, formatStatusReport, type StatusReport } from '../status-report.ts';
import type { Target } from '../target.ts';

/** How many recent actions the status lists unless told. */
export const DEFAULT_ACTIONS = 20;

/** `--actions <n>`: a positive integer. */
export function parseActionLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError(`must be a positive integer, got "${value}"`);
  return n;
}

/** The newest drift report of a model in the target's lake, or undefined; one that is not JSON is a CliError. */
export async function latestDriftReport(target: Target, model: string): Promise<DriftReport | undefined> {
  try {
    return await readLatestDriftReport(target.lake, model);
  } catch (err) {
    if (err instanceof UnreadableDriftReport) throw new CliError(err.message);
    throw err;
  }
}

/**
 * Reads everything the status is made of from the target and builds it. Alarms that cannot be read
 * (CloudWatch refusing, a twin without the route) leave the rest of the status standing, with the
 * reason in `alarmsError`: in an incident the registry and the lease still matter.
 */
export async function readStatus(
  target: Target,
  model: string,
  opts: { stage: string; limit?: number; now?: Date },
): Promise<StatusReport> {
  const [alias, audit, alarms, drift, lease] = await Promise.all([
    target.registry.getAlias(model),
    target.registry.listAudit(model),
    target.alarms().then(
      (list) => ({ list }),
      (err: unknown) => ({ list: [], error: (err as Error).message }),
    ),
    latestDriftReport(target, model),
    target.leases.get(model, TRAINING_LEASE),
  ]);
  return buildStatusReport({
    model,
    stage: opts.stage,
    now: opts.now ?? new Date(),
    alias,
    audit,
    alarms: alarms.list,
    ...('error' in alarms ? { alarmsError: alarms.error } : {}),
    drift,
    lease,
    limit: opts.limit ?? DEFAULT_ACTIONS,
  });
}

/**
 * Prints a model's status, as a table or as JSON, and returns it. Alarms that could not be read are
 * a CliError once the rest is printed, so the command still exits non-zero.
 */
export async function status(
  target: Target,
  model: string,
  opts: { stage: string; json?: boolean; limit?: number; now?: Date },
): Promise<StatusReport> {
  const now = opts.now ?? new Date();
  const report = await readStatus(target, model, { ...opts, now });
  console.log(opts.json ? JSON.stringify(report, null, 2) : formatStatusReport(report, now));
  if (report.alarmsError) throw new CliError(`The alarms could not be read: ${report.alarmsError}`);
  return report;
}

/** Adds `mlops status`. */
export function register(program: Command, context: CliContext): void {
  withTarget(
    withModel(
      program
        .command('status')
        .description(
          'Show a model at a glance: production and previous version, last promotion, alarms, latest drift, retraining lease, recent actions.',
        ),
      context,
    ),
    context,
  )
    .option('--json', 'print one JSON object instead of the table')
    .addOption(
      new Option('--actions <n>', 'how many recent actions to list')
        .argParser(parseActionLimit)
        .default(DEFAULT_ACTIONS),
    )
    .action(async (opts: TargetOptions & { model: string; json?: boolean; actions: number }) => {
      const model = checkModelName(opts.model);
      const target = await context.target(opts);
      // Alarm names carry the stage: the one named, the one the twin was synthesized for, or the config's.
      const stage = opts.stage ?? target.stage ?? context.settings().stage;
      await status(target, model, { stage, limit: opts.actions, ...(opts.json ? { json: true } : {}) });
    });
}
