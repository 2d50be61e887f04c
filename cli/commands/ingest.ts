/**
 * `mlops ingest <csv | directory>`: check a CSV (or a directory of CSVs with one header) against a
 * model's spec and put it in the lake as its next training data.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import { lakeKeys } from '../../contracts/lake.ts';
import { CsvFormatError, parseCsv } from '../../core/features/csv.ts';
import { validateRow } from '../../core/features/transform.ts';
import type { RawPart, RawPointer } from '../../core/lake.ts';
import type { ModelDefinition } from '../../core/model/definition.ts';
import { joinedPieces } from '../../core/snapshot/ranges.ts';
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

/** What one file of the data holds: its rows, how many fail the spec, and examples of why. */
interface CheckedFile {
  bytes: Buffer;
  columns: number;
  rows: number;
  invalid: number;
  examples: string[];
}

/** Reads and checks one CSV against the model's spec: rows that fail it are counted, not refused. */
function checkFile(def: ModelDefinition, file: string, name: string): CheckedFile {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new CliError(`Cannot read ${file}: ${(err as Error).message}`);
  }
  let parsed: ReturnType<typeof parseCsv>;
  try {
    parsed = parseCsv(bytes.toString('utf8'), name);
  } catch (err) {
    if (err instanceof CsvFormatError) throw new CliError(err.message);
    throw err;
  }
  const required = [def.spec.label.column, ...def.spec.features.map((f) => f.name)];
  const absent = required.filter((c) => !parsed.header.includes(c));
  if (absent.length > 0) {
    throw new CliError(
      `${name} lacks column(s) ${absent.join(', ')} that model "${def.name}" needs (header: ${parsed.header.join(', ')}).`,
    );
  }
  let invalid = parsed.malformed.length;
  const examples: string[] = parsed.malformed.slice(0, 3).map((m) => `${name} line ${m.line}: ${m.reason}`);
  for (const rec of parsed.records) {
    const res = validateRow(def.spec, rec.values, 'csv', true);
    if (!res.ok) {
      invalid++;
      if (examples.length < 3)
        examples.push(
          `${name} line ${rec.line}: ${res.errors.map((e) => `${e.field} ${e.message}`).join('; ')}`,
        );
    }
  }
  return {
    bytes,
    columns: parsed.header.length,
    rows: parsed.records.length + parsed.malformed.length,
    invalid,
    examples,
  };
}

/** The CSV files of a directory, by name; none is a usage error. */
function csvFilesOf(dir: string): string[] {
  const names = readdirSync(dir)
    .filter((n) => n.toLowerCase().endsWith('.csv') && statSync(join(dir, n)).isFile())
    .sort();
  if (names.length === 0) throw new CliError(`${dir} holds no .csv file.`);
  return names;
}

/**
 * Checks a CSV against the model's spec, then puts it in the lake's raw zone as the model's latest
 * data, with the definition beside it. Rows that fail the spec are counted and shown, not refused:
 * the prepare step quarantines them. A directory's CSVs (by name; each with the same header) are
 * the data's parts: stored one object each under one prefix, read as one file (the first whole,
 * the others without their header), one file in memory at a time.
 */
export async function ingest(
  target: Target,
  def: ModelDefinition,
  file: string,
  now = new Date(),
): Promise<IngestResult> {
  let isDir = false;
  try {
    isDir = statSync(file).isDirectory();
  } catch (err) {
    throw new CliError(`Cannot read ${file}: ${(err as Error).message}`);
  }
  const names = isDir ? csvFilesOf(file) : [basename(file)];
  const paths = isDir ? names.map((n) => join(file, n)) : [file];
  // The content hash first (one file read at a time), for the ingest id.
  const hash = createHash('sha256');
  if (isDir) {
    const files = function* () {
      for (const [i, p] of paths.entries()) yield { name: names[i]!, bytes: readFileSync(p) };
    };
    try {
      for (const piece of joinedPieces(files())) hash.update(piece);
    } catch (err) {
      throw new CliError((err as Error).message);
    }
  } else {
    hash.update(readFileSync(file));
  }
  const sha256 = hash.digest('hex');
  const ingestId = `${now.toISOString().replace(/[-:.]/g, '').slice(0, 15)}-${sha256.slice(0, 8)}`;

  let rows = 0;
  let invalid = 0;
  let columns = 0;
  const examples: string[] = [];
  const parts: RawPart[] = [];
  for (const [i, p] of paths.entries()) {
    const checked = checkFile(def, p, names[i]!);
    rows += checked.rows;
    invalid += checked.invalid;
    examples.push(...checked.examples.slice(0, 3 - examples.length));
    columns = checked.columns;
    const key = isDir ? lakeKeys.rawPart(def.name, ingestId, i) : lakeKeys.rawData(def.name, ingestId);
    if (isDir) info(`${names[i]}: ${checked.rows} rows → ${key}`);
    await target.lake.put(key, checked.bytes, 'text/csv');
    parts.push({ key, bytes: checked.bytes.length, rows: checked.rows });
  }
  const key = isDir ? lakeKeys.rawParts(def.name, ingestId) : parts[0]!.key;
  // The definition travels with the data: training builds the snapshot with it and the version keeps it.
  const definitionKey = lakeKeys.rawDefinition(def.name, ingestId);
  await target.lake.put(definitionKey, `${JSON.stringify(def, null, 2)}\n`, 'application/json');
  const pointer: RawPointer = {
    key,
    ingestId,
    sha256,
    rows,
    ingestedAt: now.toISOString(),
    definitionKey,
    ...(isDir ? { parts } : {}),
  };
  await target.lake.put(lakeKeys.rawLatest(def.name), JSON.stringify(pointer, null, 2), 'application/json');
  const files = isDir ? ` in ${parts.length} files` : '';
  info(`${rows} rows${files}, ${columns} columns → s3://${target.lake.bucket}/${key}`);
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
        .description(
          'Check a CSV (or a directory of CSVs with one header) against the model spec and put it in the lake as the next training data.',
        ),
      context,
    ),
    context,
  )
    .argument(
      '<csv>',
      'path of the CSV file (header row required), or of a directory whose .csv files (by name, each with the same header) are the data',
    )
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
