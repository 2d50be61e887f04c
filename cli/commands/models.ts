/** `mlops models`: a model's versions, their status and the production alias. */
import type { Command } from 'commander';
import type { CliContext, TargetOptions } from '../context.ts';
import { checkModelName, withModel, withTarget } from '../options.ts';
import { bold, versionTable } from '../print.ts';
import type { Target } from '../target.ts';

/** Prints the production alias and a table of the model's versions. */
export async function listModels(target: Target, model: string): Promise<void> {
  const [versions, alias] = await Promise.all([
    target.registry.listVersions(model),
    target.registry.getAlias(model),
  ]);
  console.log(
    `${bold(model)}: ${alias ? `production v${alias.current}` : 'no production version'}${alias?.history.length ? `, rollback target v${alias.history.at(-1)}` : ''}`,
  );
  if (versions.length === 0) console.log('  no versions yet');
  else console.log(versionTable(versions, alias));
}

/** Adds `mlops models`. */
export function register(program: Command, context: CliContext): void {
  withTarget(
    withModel(
      program
        .command('models')
        .description('List the versions of a model, its status and the production alias.'),
      context,
    ),
    context,
  ).action(async (opts: TargetOptions & { model: string }) => {
    const model = checkModelName(opts.model);
    await listModels(await context.target(opts), model);
  });
}
