/**
 * `mlops drift`: run the drift job now for one model over the current window (the model's, or
 * `--window`) and print what it found, feature by feature: the same job, report and metrics as a
 * scheduled run.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { DriftJobResult } from '../../core/drift/types.ts';
import type { CliContext, TargetOptions } from '../context.ts';
import { driftJson, formatDriftResult } from '../drift-table.ts';
import { CliError } from '../errors.ts';
import { checkModelName, withModel, withTarget } from '../options.ts';
import type { Target } from '../target.ts';

/** The longest window a model's drift policy allows (a week), in minutes. */
export const MAX_WINDOW_MINUTES = 10_080;

/** `--window <minutes>`: a whole number of minutes, 1 to a week. */
export function parseWindow(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_WINDOW_MINUTES)
    throw new InvalidArgumentError(
      `must be a whole number of minutes from 1 to ${MAX_WINDOW_MINUTES}, got "${value}"`,
    );
  return n;
}

function noProduction(model: string): CliError {
  return new CliError(
    `Model "${model}" has no production version, so no traffic to compare with its baseline. Promote one first: \`mlops promote <version> --model ${model}\`.`,
  );
}

/**
 * Runs the drift job for the model and prints its result (a table, or JSON); a model without a
 * production version is a CliError, asked of the registry before the job runs.
 */
export async function drift(
  target: Target,
  model: string,
  opts: { windowMinutes?: number; json?: boolean } = {},
): Promise<DriftJobResult> {
  if (!(await target.registry.getAlias(model))) throw noProduction(model);
  const results = await target.runDrift({
    model,
    ...(opts.windowMinutes === undefined ? {} : { windowMinutes: opts.windowMinutes }),
  });
  const result = results.find((r) => r.model === model);
  if (!result)
    throw new CliError(
      `The drift job returned no result for "${model}" (it answered for: ${results.map((r) => r.model).join(', ') || 'no model'}).`,
    );
  if (result.status === 'no-production-model') throw noProduction(model);
  console.log(opts.json ? JSON.stringify(driftJson(result), null, 2) : formatDriftResult(result));
  return result;
}

/** Adds `mlops drift`. */
export function register(program: Command, context: CliContext): void {
  withTarget(
    withModel(
      program
        .command('drift')
        .description(
          "Run the drift job now over the current window and print each feature's drift (PSI, JS, KS, null rate, unseen categories) and the scores'.",
        ),
      context,
    ),
    context,
  )
    .addOption(
      new Option(
        '--window <minutes>',
        "minutes back from now to read (default: the model's drift window)",
      ).argParser(parseWindow),
    )
    .option('--json', "print production's report as JSON")
    .action(async (opts: TargetOptions & { model: string; window?: number; json?: boolean }) => {
      const model = checkModelName(opts.model);
      await drift(await context.target(opts), model, {
        ...(opts.window === undefined ? {} : { windowMinutes: opts.window }),
        ...(opts.json ? { json: true } : {}),
      });
    });
}
