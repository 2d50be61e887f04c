/** `mlops golden set|show`: a model's golden set (see `../golden.ts`). */
import type { Command } from 'commander';
import type { CliContext, TargetOptions } from '../context.ts';
import { currentDefinition, setGolden, showGolden } from '../golden.ts';
import { checkModelName, withModel, withTarget } from '../options.ts';

/** Adds `mlops golden` and its `set` and `show` subcommands. */
export function register(program: Command, context: CliContext): void {
  const golden = program
    .command('golden')
    .description(
      'The golden set of a model: curated rows every candidate and the incumbent are scored on, the same in every retrain.',
    );
  // The model's file in models/, for a model whose data was ingested without a definition.
  const deployed = (model: string) => context.definition(model);
  withTarget(
    withModel(
      golden
        .command('set')
        .description(
          "Check every row of a CSV against the model's current definition and make it the golden set (a new version; earlier ones stay).",
        ),
      context,
    ),
    context,
  )
    .argument('<csv>', 'the curated rows: the raw data columns, label included')
    .option('--note <text>', 'why this set, recorded in its manifest')
    .action(async (csv: string, opts: TargetOptions & { model: string; note?: string }) => {
      const model = checkModelName(opts.model);
      const { lake } = await context.target(opts);
      await setGolden(lake, await currentDefinition(lake, model, deployed), csv, {
        ...(opts.note === undefined ? {} : { note: opts.note }),
      });
    });
  withTarget(
    withModel(
      golden
        .command('show')
        .description("Print the model's current golden set: id, rows per class, sha256, source, note."),
      context,
    ),
    context,
  )
    .option('--all', 'list every stored version, oldest first')
    .option(
      '--json',
      'print {"model", "bucket", "current", "manifest"} as JSON (null when there is no golden set; with --all, "sets" too)',
    )
    .action(async (opts: TargetOptions & { model: string; all?: boolean; json?: boolean }) => {
      const model = checkModelName(opts.model);
      const { lake } = await context.target(opts);
      await showGolden(lake, model, {
        ...(opts.all ? { all: true } : {}),
        ...(opts.json ? { json: true } : {}),
      });
    });
}
