/**
 * `mlops rollback`: put a version that served before back in production, in one move, with the
 * operator's reason on record. The rollback state machine decides and acts, as it does for an
 * alarm: without `--to` it goes back to the last version that served healthily; when there is none
 * it pages instead, and says so.
 */

import { type Command, InvalidArgumentError, Option } from 'commander';
import { PRODUCTION_ALIAS_TTL_MS } from '../../contracts/serving.ts';
import type { CliContext, TargetOptions } from '../context.ts';
import { CliError, EXIT_CODES, UsageError } from '../errors.ts';
import { explainFailure, runMachine } from '../executions.ts';
import { checkModelName, withModel, withTarget } from '../options.ts';
import { bold, info, ok, yellow } from '../print.ts';
import type { Target } from '../target.ts';

/** Exit code of a rollback the state machine declined (skipped or paged): it ran, nothing moved. */
export const NOT_ROLLED_BACK_EXIT_CODE = EXIT_CODES.refused;

/** What the rollback state machine did. */
export type RollbackResult =
  | { outcome: 'done'; model: string; version: number; from: number; reason: string }
  | { outcome: 'skipped' | 'paged'; model: string; reason: string };

/** `--to <version>`: `3` or `v3`. */
export function parseTo(value: string): number {
  const n = Number(value.replace(/^v/, ''));
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError(`must be a version number such as 3 or v3, got "${value}"`);
  return n;
}

/** The reason, trimmed; missing or blank is a CliError (it is recorded with the move and sent to operators). */
export function checkReason(reason: string | undefined): string {
  const trimmed = reason?.trim();
  if (!trimmed)
    throw new UsageError(
      '--reason "..." is required and must not be blank: it is recorded with the rollback and sent to operators.',
    );
  return trimmed;
}

/** The first sentence the machine's output gives for not moving. */
function whyNot(out: Record<string, unknown>): string {
  for (const key of ['message', 'reason', 'cause'] as const) {
    const v = out[key];
    if (typeof v === 'string' && v.trim()) return v;
  }
  return 'the state machine gave no reason';
}

/** The machine's output as a result; an output without `outcome` is a move (as before the policy). */
export function rollbackResult(model: string, output: unknown): RollbackResult {
  const out = (output ?? {}) as Record<string, unknown>;
  const outcome = out.outcome ?? 'done';
  if (outcome === 'skipped' || outcome === 'paged') return { outcome, model, reason: whyNot(out) };
  if (outcome !== 'done' || typeof out.version !== 'number' || typeof out.from !== 'number')
    throw new CliError(
      `The rollback of "${model}" ended with an output this CLI does not know: ${JSON.stringify(output)}`,
    );
  return {
    outcome: 'done',
    model,
    version: out.version,
    from: out.from,
    reason: typeof out.reason === 'string' ? out.reason : '',
  };
}

/**
 * Runs the rollback state machine as an operator and prints the move, or why nothing moved; a failed
 * run is a CliError.
 */
export async function rollback(
  target: Target,
  model: string,
  opts: { reason: string; to?: number },
): Promise<RollbackResult> {
  const reason = checkReason(opts.reason);
  const res = await runMachine(target, 'rollback', {
    model,
    reason,
    ...(opts.to === undefined ? {} : { to: opts.to }),
    trigger: 'operator',
  });
  if (res.status !== 'SUCCEEDED') throw new CliError(`Rollback of "${model}" failed: ${explainFailure(res)}`);
  const result = rollbackResult(model, res.output);
  // Warm predict instances keep the alias this long: once it has passed, every request sees it.
  if (result.outcome === 'done') await new Promise((resolve) => setTimeout(resolve, PRODUCTION_ALIAS_TTL_MS));
  if (result.outcome === 'done')
    ok(`${bold(model)} rolled back from v${result.from} to ${bold(`v${result.version}`)}`);
  else if (result.outcome === 'paged')
    info(
      yellow(
        `${model} was not rolled back: no version to go back to, so the operators were paged. ${result.reason}`,
      ),
    );
  else info(yellow(`${model} was not rolled back (skipped): ${result.reason}`));
  return result;
}

/** Adds `mlops rollback`. */
export function register(program: Command, context: CliContext): void {
  withTarget(
    withModel(
      program
        .command('rollback')
        .description(
          'Put a version that served before back in production, in one move: --to <version>, or the last one that served healthily.',
        ),
      context,
    ),
    context,
  )
    .addOption(
      new Option('--to <version>', 'the version to restore (one that served and was retired)').argParser(
        parseTo,
      ),
    )
    .option('--reason <text>', 'why (required; recorded in the registry and sent to operators)')
    .action(async (opts: TargetOptions & { model: string; reason?: string; to?: number }) => {
      const model = checkModelName(opts.model);
      const reason = checkReason(opts.reason);
      const result = await rollback(await context.target(opts), model, {
        reason,
        ...(opts.to === undefined ? {} : { to: opts.to }),
      });
      if (result.outcome !== 'done') process.exitCode = NOT_ROLLED_BACK_EXIT_CODE;
    });
}
