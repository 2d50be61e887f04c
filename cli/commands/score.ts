/**
 * `mlops score`: score a CSV file offline with a model's `model.json`, without a twin or an AWS
 * account (see `../score.ts`).
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CliError } from '../errors.ts';
import { type ScoreOptions, scoreFiles } from '../score.ts';

/** Adds `mlops score`. */
export function register(program: Command): void {
  program
    .command('score')
    .description(
      'Score a CSV file offline with a model.json: prints one probability per row, in input order.',
    )
    .requiredOption('--model <model.json>', "the model version's XGBoost model.json")
    .requiredOption(
      '--input <csv>',
      'rows to score; without --spec a numeric matrix with one column per model feature (empty cell: missing; a first line with no numbers in it is a header)',
    )
    .option(
      '--spec <model-definition.json>',
      'read the CSV as raw feature columns by header name, per this model definition (e.g. models/credit.json)',
    )
    .option('--transform <transform.json>', "the model version's fitted transform; required with --spec")
    .option('--output <file>', 'write the probabilities to this file instead of stdout')
    .action((opts: ScoreOptions & { output?: string }) => {
      const scores = scoreFiles(opts);
      let text = '';
      // String() gives the shortest text that reads back as the same double: full precision.
      for (const s of scores) text += `${s}\n`;
      if (opts.output === undefined) {
        process.stdout.write(text);
        return;
      }
      try {
        writeFileSync(opts.output, text);
      } catch (err) {
        throw new CliError(`Cannot write --output ${opts.output}: ${(err as Error).message}`);
      }
    });
}
