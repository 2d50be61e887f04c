/**
 * A model's golden set: the curated rows every candidate and the incumbent are scored on, the same
 * from one retrain to the next. Setting one checks every row of a CSV against the model's current
 * definition and stores it as a new write-once version under `golden/<model>/`; showing prints the
 * current one (or every version). The `mlops golden` verb is `commands/golden.ts`.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { lakeKeys } from '../contracts/lake.ts';
import { CsvFormatError, parseCsv } from '../core/features/csv.ts';
import { checkGoldenRows, formatProblems, goldenIdFor, sha256Hex } from '../core/features/golden.ts';
import type { GoldenManifest, GoldenPointer, RawPointer } from '../core/lake.ts';
import type { ModelDefinition } from '../core/model/definition.ts';
import type { ObjectStore } from '../core/ports.ts';
import { ingestedDefinition } from '../lambdas/shared/ingested-definition.ts';
import { CliError } from './errors.ts';
import { bold, dim, info, ok, yellow } from './print.ts';

/** How many row problems a refusal lists before the count. */
const LISTED_PROBLEMS = 5;

/** The definition a model's next training run will use, and where it comes from. */
export interface CurrentDefinition {
  def: ModelDefinition;
  from: string;
}

/**
 * The definition the prepare step will build the next snapshot with: the one ingested with the
 * model's latest data, else the deployed file in models/.
 */
export async function currentDefinition(
  lake: ObjectStore,
  model: string,
  deployed: (model: string) => ModelDefinition | undefined,
): Promise<CurrentDefinition> {
  const pointerText = await lake.tryGetText(lakeKeys.rawLatest(model));
  const pointer = pointerText === undefined ? undefined : (JSON.parse(pointerText) as RawPointer);
  if (pointer?.definitionKey) {
    try {
      const def = (await ingestedDefinition(lake, pointer))!;
      return {
        def,
        from: `the definition ingested with the latest data (s3://${lake.bucket}/${pointer.definitionKey})`,
      };
    } catch (err) {
      throw new CliError((err as Error).message);
    }
  }
  const def = deployed(model);
  if (!def) {
    throw new CliError(
      `Model "${model}" has no definition: ingest its data first with \`mlops ingest <csv> --spec <model.json>\`.`,
    );
  }
  return { def, from: `models/${model}.json` };
}

export interface GoldenSetResult {
  goldenId: string;
  manifest: GoldenManifest;
  /** False when the same file was stored before: the existing version is kept as it was. */
  created: boolean;
  /** False when LATEST already pointed at this version. */
  changed: boolean;
}

function classCounts(def: ModelDefinition, labels: readonly (0 | 1)[]): Record<string, number> {
  const { positive, negative } = def.spec.label;
  const positives = labels.filter((l) => l === 1).length;
  return { [negative]: labels.length - positives, [positive]: positives };
}

function describeClasses(classes: Record<string, number>): string {
  return Object.entries(classes)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
}

/** Reads a CSV file and stores it as the model's golden set (see {@link storeGolden}). */
export async function setGolden(
  lake: ObjectStore,
  current: CurrentDefinition,
  file: string,
  opts: { note?: string; now?: Date } = {},
): Promise<GoldenSetResult> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new CliError(`Cannot read ${file}: ${(err as Error).message}`);
  }
  return storeGolden(lake, current, bytes, basename(file), opts);
}

/**
 * Checks every row of a CSV against the model's definition and stores it as the model's golden
 * set. Any invalid row refuses the whole file: nothing is written.
 */
export async function storeGolden(
  lake: ObjectStore,
  current: CurrentDefinition,
  bytes: Buffer,
  name: string,
  opts: { note?: string; now?: Date } = {},
): Promise<GoldenSetResult> {
  const { def } = current;
  let parsed: ReturnType<typeof parseCsv>;
  try {
    parsed = parseCsv(bytes.toString('utf8'), name);
  } catch (err) {
    if (err instanceof CsvFormatError) throw new CliError(err.message);
    throw err;
  }
  const refused = `${name} is refused as the golden set of "${def.name}"`;
  const check = checkGoldenRows(def.spec, parsed);
  if (check.absent.length > 0) {
    throw new CliError(
      `${refused}: it lacks column(s) ${check.absent.join(', ')} that ${current.from} needs (header: ${parsed.header.join(', ')}). Nothing was stored.`,
    );
  }
  const total = parsed.records.length + parsed.malformed.length;
  if (check.problems.length > 0) {
    const listed = formatProblems(check.problems, LISTED_PROBLEMS);
    const more = check.problems.length - listed.length;
    throw new CliError(
      [
        `${refused}: ${check.badRows} of ${total} rows do not validate against ${current.from}. A golden set is curated, so no row is dropped or quarantined; fix these and set it again. Nothing was stored.`,
        ...listed.map((l) => `  ${l}`),
        ...(more > 0 ? [`  … and ${more} more problem(s)`] : []),
      ].join('\n'),
    );
  }
  const labels = check.rows.map((r) => r.label);
  if (total < 2 || new Set(labels).size < 2) {
    throw new CliError(
      `${refused}: it has ${total} row(s)${total >= 2 ? ` all of class "${labels[0] === 1 ? def.spec.label.positive : def.spec.label.negative}"` : ''}; a golden set needs at least 2 rows and both "${def.spec.label.positive}" and "${def.spec.label.negative}" to score AUC on. Nothing was stored.`,
    );
  }

  const sha256 = sha256Hex(bytes);
  const goldenId = goldenIdFor(sha256);
  const key = lakeKeys.goldenRows(def.name, goldenId);
  const manifestKey = lakeKeys.goldenManifest(def.name, goldenId);
  const now = opts.now ?? new Date();
  info(
    `${total} rows (${describeClasses(classCounts(def, labels))}), ${parsed.header.length} columns, every row valid against ${current.from}`,
  );
  const storedText = await lake.tryGetText(manifestKey);
  let manifest: GoldenManifest;
  if (storedText !== undefined) {
    // Same bytes, same id: the stored version stays exactly as it was (write-once).
    manifest = JSON.parse(storedText) as GoldenManifest;
    info(dim(`${goldenId} is already stored (since ${manifest.createdAt}); it is kept as it was`));
    if (opts.note !== undefined && opts.note !== manifest.note) {
      info(
        yellow(`its recorded note stays ${JSON.stringify(manifest.note ?? '')}: golden sets are write-once`),
      );
    }
  } else {
    manifest = {
      model: def.name,
      goldenId,
      sha256,
      rows: total,
      classes: classCounts(def, labels),
      columns: parsed.header,
      createdAt: now.toISOString(),
      source: name,
      ...(opts.note ? { note: opts.note } : {}),
    };
    // Rows first, LATEST last: a reader never finds a pointer to a set that is not all there.
    await lake.put(key, bytes, 'text/csv');
    await lake.put(manifestKey, `${JSON.stringify(manifest, null, 2)}\n`, 'application/json');
    info(`stored s3://${lake.bucket}/${lakeKeys.golden(def.name)}${goldenId}/ (rows.csv, manifest.json)`);
  }
  const latestText = await lake.tryGetText(lakeKeys.goldenLatest(def.name));
  const latest = latestText === undefined ? undefined : (JSON.parse(latestText) as GoldenPointer);
  if (latest?.goldenId === goldenId) {
    ok(`${bold(goldenId)} is already the golden set of ${bold(def.name)}; nothing changed`);
    return { goldenId, manifest, created: storedText === undefined, changed: false };
  }
  const pointer: GoldenPointer = {
    goldenId,
    key,
    manifestKey,
    sha256,
    rows: total,
    setAt: now.toISOString(),
  };
  await lake.put(
    lakeKeys.goldenLatest(def.name),
    `${JSON.stringify(pointer, null, 2)}\n`,
    'application/json',
  );
  ok(
    `golden set of ${bold(def.name)} is now ${bold(goldenId)}${latest ? ` (was ${latest.goldenId})` : ''}: the next training run evaluates on it`,
  );
  return { goldenId, manifest, created: storedText === undefined, changed: true };
}

/** Every stored golden set of a model, oldest first. */
export async function listGoldenSets(lake: ObjectStore, model: string): Promise<GoldenManifest[]> {
  const keys = (await lake.list(lakeKeys.golden(model))).filter((k) => k.endsWith('/manifest.json'));
  const manifests = await Promise.all(
    keys.map(async (k) => JSON.parse(await lake.getText(k)) as GoldenManifest),
  );
  return manifests.sort(
    (a, b) => a.createdAt.localeCompare(b.createdAt) || a.goldenId.localeCompare(b.goldenId),
  );
}

/** What `mlops golden show --json` prints. */
export interface GoldenShowJson {
  model: string;
  /** The lake bucket the keys are in. */
  bucket: string;
  /** The pointer to the current golden set, or null when the model has none. */
  current: GoldenPointer | null;
  /** The current set's manifest, or null. */
  manifest: GoldenManifest | null;
  /** With `--all`: every stored version, oldest first. */
  sets?: GoldenManifest[];
}

/** Prints the model's current golden set (or, with `all`, every version); returns the current one. */
export async function showGolden(
  lake: ObjectStore,
  model: string,
  opts: { all?: boolean; json?: boolean } = {},
): Promise<GoldenManifest | undefined> {
  const latestText = await lake.tryGetText(lakeKeys.goldenLatest(model));
  const latest = latestText === undefined ? undefined : (JSON.parse(latestText) as GoldenPointer);
  if (opts.json) {
    const manifest = latest
      ? (JSON.parse(await lake.getText(latest.manifestKey)) as GoldenManifest)
      : undefined;
    const json: GoldenShowJson = {
      model,
      bucket: lake.bucket,
      current: latest ?? null,
      manifest: manifest ?? null,
      ...(opts.all ? { sets: await listGoldenSets(lake, model) } : {}),
    };
    console.log(JSON.stringify(json, null, 2));
    return manifest;
  }
  if (opts.all) {
    const sets = await listGoldenSets(lake, model);
    if (sets.length === 0) {
      console.log(`${bold(model)} has no golden set`);
      return undefined;
    }
    const rows = [['ID', 'CREATED', 'ROWS', 'CLASSES', 'SOURCE', 'NOTE']];
    for (const m of sets) {
      rows.push([
        `${m.goldenId}${m.goldenId === latest?.goldenId ? ' *' : ''}`,
        m.createdAt.replace('T', ' ').slice(0, 19),
        String(m.rows),
        describeClasses(m.classes),
        m.source,
        m.note ?? '',
      ]);
    }
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    console.log(`${bold(model)}: ${sets.length} golden set(s), * is current`);
    console.log(
      rows
        .map((r) =>
          r
            .map((c, i) => c.padEnd(widths[i]!))
            .join('  ')
            .trimEnd(),
        )
        .join('\n'),
    );
    return sets.find((m) => m.goldenId === latest?.goldenId);
  }
  if (!latest) {
    console.log(
      `${bold(model)} has no golden set: each snapshot holds out golden rows from its raw data (training.goldenFraction). Set one with \`mlops golden set <csv> --model ${model}\`.`,
    );
    return undefined;
  }
  const m = JSON.parse(await lake.getText(latest.manifestKey)) as GoldenManifest;
  console.log(
    [
      `model          ${m.model}`,
      `golden set     ${m.goldenId} (current since ${latest.setAt})`,
      `rows           ${m.rows} (${describeClasses(m.classes)})`,
      `sha256         ${m.sha256}`,
      `created        ${m.createdAt}`,
      `source         ${m.source}`,
      ...(m.note ? [`note           ${m.note}`] : []),
      `columns        ${m.columns.join(', ')}`,
      `stored         s3://${lake.bucket}/${latest.key}`,
    ].join('\n'),
  );
  return m;
}
