/** `mlops rollback`: put a model's previous production version back, in one move. */
import type { Command } from 'commander';
import type { CliContext, TargetOptions } from '../context.ts';
import { CliError } from '../errors.ts';
import { explainFailure, runMachine } from '../executions.ts';
import { checkModelName, withModel, withTarget } from '../options.ts';
import { bold, ok } from '../print.ts';
import type { Target } from '../target.ts';

/** Runs the rollback pipeline and prints the move; a failed run is a CliError. */
export async function rollback(
  target: Target,
  model: string,
  reason?: string,
): Promise<{ version: number; from: number }> {
  const res = await runMachine(target, 'rollback', { model, ...(reason ? { reason } : {}) });
  if (res.status !== 'SUCCEEDED') throw new CliError(`Rollback of "${model}" failed: ${explainFailure(res)}`);
  const out = res.output as { version: number; from: number };
  ok(`${bold(model)} rolled back from v${out.from} to ${bold(`v${out.version}`)}`);
  return out;
}

/** Adds `mlops rollback`. */
export function register(program: Command, context: CliContext): void {
  withTarget(
    withModel(
      program.command('rollback').description('Put the previous production version back, in one move.'),
      context,
    ),
    context,
  )
    .option('--reason <text>', 'why (recorded in the registry and sent to operators)')
    .action(async (opts: TargetOptions & { model: string; reason?: string }) => {
      const model = checkModelName(opts.model);
      await rollback(await context.target(opts), model, opts.reason);
    });
}
