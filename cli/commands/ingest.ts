/** `mlops ingest <csv>`: check a CSV against a model's spec and put it in the lake as its next training data. */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { lakeKeys } from '../../contracts/lake.ts';
import { CsvFormatError, parseCsv } from '../../core/features/csv.ts';
import { validateRow } from '../../core/features/transform.ts';
import type { RawPointer } from '../../core/lake.ts';
import type { ModelDefinition } from '../../core/model/definition.ts';
import type { CliContext, TargetOptions } from '../context.ts';
import { deployedDefinition, readDefinitionFile } from '../definitions.ts';
import { CliError, UsageError } from '../errors.ts';
import { withModel, withTarget } from '../options.ts';
import { info, yellow } from '../print.ts';
import type { Target } from '../target.ts';

/** What {@link ingest} stored. */
export interface IngestResult {
  key: string;
  rows: number;
  invalid: number;
  sha256: string;
}

/**
 * Checks a CSV against the model's spec, then puts it in the lake's raw zone as the model's latest
 * data, with the definition beside it. Rows that fail the spec are counted and shown, not refused:
 * the prepare step quarantines them.
 */
export async function ingest(
  target: Target,
  def: ModelDefinition,
  file: string,
  now = new Date(),
): Promise<IngestResult> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new CliError(`Cannot read ${file}: ${(err as Error).message}`);
  }
  let parsed: ReturnType<typeof parseCsv>;
  try {
    parsed = parseCsv(bytes.toString('utf8'), basename(file));
  } catch (err) {
    if (err instanceof CsvFormatError) throw new CliError(err.message);
    throw err;
  }
  const required = [def.spec.label.column, ...def.spec.features.map((f) => f.name)];
  const absent = required.filter((c) => !parsed.header.includes(c));
  if (absent.length > 0) {
    throw new CliError(
      `${basename(file)} lacks column(s) ${absent.join(', ')} that model "${def.name}" needs (header: ${parsed.header.join(', ')}).`,
    );
  }
  let invalid = parsed.malformed.length;
  const examples: string[] = parsed.malformed.slice(0, 3).map((m) => `line ${m.line}: ${m.reason}`);
  for (const rec of parsed.records) {
    const res = validateRow(def.spec, rec.values, 'csv', true);
    if (!res.ok) {
      invalid++;
      if (examples.length < 3)
        examples.push(`line ${rec.line}: ${res.errors.map((e) => `${e.field} ${e.message}`).join('; ')}`);
    }
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const ingestId = `${now.toISOString().replace(/[-:.]/g, '').slice(0, 15)}-${sha256.slice(0, 8)}`;
  const key = lakeKeys.rawData(def.name, ingestId);
  await target.lake.put(key, bytes, 'text/csv');
  const rows = parsed.records.length + parsed.malformed.length;
  // The definition travels with the data: training builds the snapshot with it and the version keeps it.
  const definitionKey = lakeKeys.rawDefinition(def.name, ingestId);
  await target.lake.put(definitionKey, `${JSON.stringify(def, null, 2)}\n`, 'application/json');
  const pointer: RawPointer = { key, ingestId, sha256, rows, ingestedAt: now.toISOString(), definitionKey };
  await target.lake.put(lakeKeys.rawLatest(def.name), JSON.stringify(pointer, null, 2), 'application/json');
  info(`${rows} rows, ${parsed.header.length} columns → s3://${target.lake.bucket}/${key}`);
  if (invalid > 0) {
    info(yellow(`${invalid} row(s) fail the spec and will be quarantined by the prepare step, e.g.`));
    for (const e of examples) info(yellow(`  ${e}`));
  }
  return { key, rows, invalid, sha256 };
}

/** Adds `mlops ingest`. */
export function register(program: Command, context: CliContext): void {
  withTarget(
    withModel(
      program
        .command('ingest')
        .description('Check a CSV against the model spec and put it in the lake as the next training data.'),
      context,
    ),
    context,
  )
    .argument('<csv>', 'path of the CSV file (header row required)')
    .option(
      '--spec <file>',
      'model definition to ingest with (default: models/<model>.json); its name is the model',
    )
    .action(async (csv: string, opts: TargetOptions & { model: string; spec?: string }, cmd: Command) => {
      let def: ModelDefinition;
      if (opts.spec) {
        def = readDefinitionFile(opts.spec);
        if (cmd.getOptionValueSource('model') === 'cli' && opts.model !== def.name) {
          throw new UsageError(
            `--model "${opts.model}" differs from the name "${def.name}" in ${opts.spec}.`,
          );
        }
      } else {
        // The definition is stored with the data and used by its training runs: the stage's own.
        def = deployedDefinition(context, opts.model, opts.stage);
      }
      await ingest(await context.target(opts), def, csv);
    });
}
