/** `mlops promote <version>`: run the promotion pipeline (guardrail, deploy, production alias). */

import type { Command } from 'commander';
import { PRODUCTION_ALIAS_TTL_MS } from '../../contracts/serving.ts';
import type { CliContext, TargetOptions } from '../context.ts';
import { CliError, EXIT_CODES, UsageError } from '../errors.ts';
import { explainFailure, runMachine } from '../executions.ts';
import { checkModelName, withModel, withTarget } from '../options.ts';
import { bold, dim, info, ok, yellow } from '../print.ts';
import type { Target } from '../target.ts';
import { parseVersion, resolveVersion } from '../versions.ts';

/** Exit code of a promotion the guardrail refused: the command worked, the candidate did not pass. */
export const REFUSED_EXIT_CODE = EXIT_CODES.refused;

/** A forced promotion needs a reason: it is recorded with the decision. */
function checkForced(opts: { force?: boolean; reason?: string }): void {
  if (opts.force && !opts.reason?.trim())
    throw new UsageError('--force needs --reason "..." (it is recorded in the registry).');
}

/**
 * Runs the promotion pipeline for a version and prints the decision with its reasons. A refusal by
 * the guardrail is an answer (`promoted: false`); any other failure is a CliError.
 */
export async function promote(
  target: Target,
  model: string,
  version: number,
  opts: { force?: boolean; reason?: string } = {},
): Promise<{ promoted: boolean; reasons: string[] }> {
  checkForced(opts);
  const res = await runMachine(target, 'promotion', {
    model,
    version,
    ...(opts.force ? { force: true, reason: opts.reason } : {}),
  });
  const v = await target.registry.getVersion(model, version);
  const reasons = v?.decision?.reasons ?? [];
  if (res.status === 'SUCCEEDED') {
    // Warm predict instances keep the alias this long: once it has passed, every request sees it.
    await new Promise((resolve) => setTimeout(resolve, PRODUCTION_ALIAS_TTL_MS));
    ok(`${bold(`${model} v${version}`)} is in production`);
    for (const r of reasons) info(dim(`- ${r}`));
    return { promoted: true, reasons };
  }
  if (res.error === 'GuardrailRefused') {
    info(yellow(`${model} v${version} was refused by the guardrail:`));
    for (const r of reasons) info(yellow(`- ${r}`));
    return { promoted: false, reasons };
  }
  throw new CliError(`Promotion of ${model} v${version} failed: ${explainFailure(res)}`);
}

/** Adds `mlops promote`. */
export function register(program: Command, context: CliContext): void {
  withTarget(
    withModel(
      program
        .command('promote')
        .description('Run the promotion pipeline: guardrail, deploy, production alias.'),
      context,
    ),
    context,
  )
    .argument('<version>', 'version number, v<N>, or "latest"')
    .option('--force', 'promote even if the guardrail refuses (needs --reason; recorded)')
    .option('--reason <text>', 'why the promotion is forced')
    .action(
      async (version: string, opts: TargetOptions & { model: string; force?: boolean; reason?: string }) => {
        const model = checkModelName(opts.model);
        const wanted = parseVersion(version);
        checkForced(opts);
        const target = await context.target(opts);
        const res = await promote(target, model, await resolveVersion(target.registry, model, wanted), opts);
        if (!res.promoted) process.exitCode = REFUSED_EXIT_CODE;
      },
    );
}
