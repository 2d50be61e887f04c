/** `mlops models`: a model's versions, their status and the production alias. */
import type { Command } from 'commander';
import type { ModelVersion, ProductionAlias } from '../../core/registry/model.ts';
import type { CliContext, TargetOptions } from '../context.ts';
import { checkModelName, withModel, withTarget } from '../options.ts';
import { bold, versionTable } from '../print.ts';
import type { Target } from '../target.ts';

/** What `mlops models --json` prints. */
export interface ModelsJson {
  model: string;
  /** The production version, or null. */
  production: number | null;
  /** The version a rollback would restore, or null. */
  rollbackTarget: number | null;
  /** The registry's production alias as stored (canary, shadow, history), or null. */
  alias: ProductionAlias | null;
  /** Every registered version, oldest first. */
  versions: ModelVersion[];
}

/** Reads the model's versions and alias from the registry. */
export async function readModels(target: Target, model: string): Promise<ModelsJson> {
  const [versions, alias] = await Promise.all([
    target.registry.listVersions(model),
    target.registry.getAlias(model),
  ]);
  return {
    model,
    production: alias?.current ?? null,
    rollbackTarget: alias?.history.at(-1) ?? null,
    alias: alias ?? null,
    versions: [...versions].sort((a, b) => a.version - b.version),
  };
}

/** Prints the production alias and a table of the model's versions, or all of it as JSON. */
export async function listModels(
  target: Target,
  model: string,
  opts: { json?: boolean } = {},
): Promise<void> {
  const read = await readModels(target, model);
  if (opts.json) {
    console.log(JSON.stringify(read, null, 2));
    return;
  }
  console.log(
    `${bold(model)}: ${read.production !== null ? `production v${read.production}` : 'no production version'}${read.rollbackTarget !== null ? `, rollback target v${read.rollbackTarget}` : ''}`,
  );
  if (read.versions.length === 0) console.log('  no versions yet');
  else console.log(versionTable(read.versions, read.alias ?? undefined));
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
  )
    .option(
      '--json',
      'print {"model", "production", "rollbackTarget", "alias", "versions": [...]} as JSON (versions as the registry holds them)',
    )
    .action(async (opts: TargetOptions & { model: string; json?: boolean }) => {
      const model = checkModelName(opts.model);
      await listModels(await context.target(opts), model, opts.json ? { json: true } : {});
    });
}
