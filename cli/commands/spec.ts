/** `mlops spec infer <csv>`: write a starting model definition for a CSV with a binary label. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { MODELS_DIR } from '../../lib/paths.ts';
import { CliError } from '../errors.ts';
import { dim, info } from '../print.ts';
import { inferDefinition } from '../spec-infer.ts';

interface InferOptions {
  label: string;
  positive?: string;
  name?: string;
  out?: string;
  force?: boolean;
}

/** Adds `mlops spec` and its `infer` subcommand. */
export function register(program: Command): void {
  const spec = program
    .command('spec')
    .description('Model definitions: the feature spec and settings of a model.');
  spec
    .command('infer')
    .description(
      'Write a starting model definition for a CSV with a binary label; review it, then ingest with --spec.',
    )
    .argument('<csv>', 'path of the CSV file (header row required)')
    .requiredOption('--label <column>', 'the label column (two distinct values)')
    .option('--positive <value>', 'the positive class (default: the rarer value)')
    .option('--name <name>', 'model name (default: from the file name)')
    .option('-o, --out <file>', 'where to write the definition (default: models/<name>.json)')
    .option('--force', 'overwrite an existing file')
    .action((csv: string, opts: InferOptions) => {
      let text: string;
      try {
        text = readFileSync(csv, 'utf8');
      } catch (err) {
        throw new CliError(`Cannot read ${csv}: ${(err as Error).message}`);
      }
      const { definition, notes } = inferDefinition(text, {
        label: opts.label,
        source: csv,
        ...(opts.positive === undefined ? {} : { positive: opts.positive }),
        ...(opts.name === undefined ? {} : { name: opts.name }),
      });
      const out = opts.out ?? join(MODELS_DIR, `${definition.name}.json`);
      if (existsSync(out) && !opts.force)
        throw new CliError(`${out} exists; pass --force to overwrite it or --out <file>.`);
      writeFileSync(out, `${JSON.stringify(definition, null, 2)}\n`);
      for (const n of notes) info(dim(n));
      info(`wrote ${out}: model "${definition.name}", ${definition.spec.features.length} features`);
      info(`next: npx mlops ingest ${csv} --spec ${out} && npx mlops train --model ${definition.name}`);
    });
}
