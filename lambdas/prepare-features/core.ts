/**
 * Prepare step of the training pipeline: validates the raw data against the model's spec, puts
 * bad rows in quarantine with a reason each, splits deterministically (by seed, or by the time
 * column) into train / validation / golden, fits the transform on the training split only, and
 * writes the curated snapshot with a manifest whose hash identifies the data version. When the
 * model has a golden set (`golden/<model>/LATEST.json`), its rows are the golden split and raw rows
 * identical to one of them are kept out of training and validation.
 */

import { createHash } from 'node:crypto';
import { lakeKeys } from '../../contracts/lake.ts';
import { errorNames, PlatformError } from '../../core/errors.ts';
import { CsvFormatError, parseCsv } from '../../core/features/csv.ts';
import { checkGoldenRows, formatProblems, type GoldenRow, rowIdentity } from '../../core/features/golden.ts';
import {
  type CleanRow,
  FitError,
  featureSchemaHash,
  fitTransform,
  TRANSFORM_CODE_VERSION,
  transformRow,
  validateRow,
  vectorToCsv,
} from '../../core/features/transform.ts';
import type { GoldenLineage, GoldenPointer, RawPointer } from '../../core/lake.ts';
import type { ModelDefinition } from '../../core/model/definition.ts';
import type { Clock, ObjectStore } from '../../core/ports.ts';
import { seededRandom } from '../../core/random.ts';
import type { PrepareOutput, SplitName } from '../../core/training-run.ts';
import { ingestedDefinition } from '../shared/ingested-definition.ts';

export interface PrepareInput {
  model: string;
  /** Overrides the model's configured seed (split and training). */
  seed?: number;
}

export interface PrepareEnv {
  trainingSourceUri: string;
  trainingCodeSha256: string;
  featureCodeSha256: string;
  trainingImageUri: string;
}

interface QuarantinedRow {
  line: number;
  reasons: string[];
  raw: unknown;
}

interface ValidRow {
  line: number;
  row: CleanRow;
  label: 0 | 1;
  time?: number;
  /** Where the row's content hashes to in [0, 1): its split under `split: "hash"`. */
  bucket: number;
}

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

function stamp(d: Date): string {
  return d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/** A time cell as milliseconds: a number as is, otherwise an ISO-8601 date or date-time. */
function parseTime(cell: string | undefined): number | undefined {
  if (cell === undefined || cell.trim() === '') return undefined;
  const n = Number(cell);
  if (Number.isFinite(n)) return n;
  if (!/^\d{4}-\d{2}-\d{2}/.test(cell.trim())) return undefined;
  const t = Date.parse(cell.trim());
  return Number.isFinite(t) ? t : undefined;
}

/**
 * Puts the valid rows into the three splits. `hash`: by each row's content hash, so a row lands in
 * the same split in every snapshot and with every seed (the incumbent never trained on the rows a
 * candidate is compared on); `random`: a shuffle by the seed with exact fractions; `time`: the
 * oldest rows train, the next are validation, the newest are golden.
 *
 * With `goldenSet`, the golden rows come from the model's golden set and no raw row is golden. Under
 * `hash`, the rows `goldenFraction` would have held out train instead and the validation band stays
 * where it was, so validation keeps the same rows (and stays disjoint from what an incumbent built
 * before the golden set trained on).
 */
export function splitRows(
  def: ModelDefinition,
  rows: readonly ValidRow[],
  seed: number,
  goldenSet = false,
): Record<SplitName, ValidRow[]> {
  const { validationFraction } = def.training;
  const goldenFraction = goldenSet ? 0 : def.training.goldenFraction;
  if (def.training.split === 'hash') {
    const out: Record<SplitName, ValidRow[]> = { train: [], validation: [], golden: [] };
    const band = def.training.goldenFraction;
    for (const r of rows) {
      const split =
        r.bucket < band
          ? goldenSet
            ? 'train'
            : 'golden'
          : r.bucket < band + validationFraction
            ? 'validation'
            : 'train';
      out[split].push(r);
    }
    return out;
  }
  const order = rows.map((_, i) => i);
  if (def.training.split === 'time') {
    order.sort((a, b) => rows[a]!.time! - rows[b]!.time! || rows[a]!.line - rows[b]!.line);
  } else {
    const rand = seededRandom(seed);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
  }
  const n = rows.length;
  const nValidation = Math.max(1, Math.round(n * validationFraction));
  const nGolden = goldenFraction > 0 ? Math.max(1, Math.round(n * goldenFraction)) : 0;
  const nTrain = n - nValidation - nGolden;
  const pick = (from: number, count: number) =>
    order
      .slice(from, from + count)
      .sort((a, b) => a - b)
      .map((i) => rows[i]!);
  return def.training.split === 'time'
    ? {
        train: pick(0, nTrain),
        validation: pick(nTrain, nValidation),
        golden: pick(nTrain + nValidation, nGolden),
      }
    : {
        golden: pick(0, nGolden),
        validation: pick(nGolden, nValidation),
        train: pick(nGolden + nValidation, nTrain),
      };
}

interface GoldenSet {
  pointer: GoldenPointer;
  rows: GoldenRow[];
}

/**
 * Reads the model's current golden set, if it has one, and checks every row against the definition
 * the snapshot is built with. A row that fails fails the run: a curated set is never trimmed.
 */
async function loadGoldenSet(lake: ObjectStore, def: ModelDefinition): Promise<GoldenSet | undefined> {
  const pointerText = await lake.tryGetText(lakeKeys.goldenLatest(def.name));
  if (pointerText === undefined) return undefined;
  const pointer = JSON.parse(pointerText) as GoldenPointer;
  const where = `Golden set ${pointer.goldenId} of "${def.name}" (s3://${lake.bucket}/${pointer.key})`;
  const again = `store a corrected file with \`mlops golden set <csv> --model ${def.name}\``;
  let bytes: Uint8Array;
  try {
    bytes = await lake.getBytes(pointer.key);
  } catch (err) {
    if ((err as { name?: string }).name !== 'NoSuchKey') throw err;
    throw new PlatformError(errorNames.invalidInput, `${where} does not exist; ${again}.`);
  }
  if (sha256(bytes) !== pointer.sha256) {
    throw new PlatformError(
      errorNames.invalidInput,
      `${where} does not match the sha256 ${pointer.sha256} recorded in ${lakeKeys.goldenLatest(def.name)}: golden sets are write-once; ${again}.`,
    );
  }
  let parsed: ReturnType<typeof parseCsv>;
  try {
    parsed = parseCsv(Buffer.from(bytes).toString('utf8'), where);
  } catch (err) {
    if (err instanceof CsvFormatError) throw new PlatformError(errorNames.invalidInput, err.message);
    throw err;
  }
  const check = checkGoldenRows(def.spec, parsed);
  if (check.absent.length > 0) {
    throw new PlatformError(
      errorNames.invalidInput,
      `${where} lacks column(s) ${check.absent.join(', ')} that the definition of "${def.name}" needs; ${again}.`,
    );
  }
  if (check.problems.length > 0) {
    const total = parsed.records.length + parsed.malformed.length;
    throw new PlatformError(
      errorNames.invalidInput,
      `${where} no longer validates against the definition this snapshot is built with: ${check.badRows} of ${total} rows are invalid. ${formatProblems(
        check.problems,
      ).join(' | ')}. Fix the rows or the definition; ${again}.`,
    );
  }
  if (check.rows.length < 2 || new Set(check.rows.map((r) => r.label)).size < 2) {
    throw new PlatformError(
      errorNames.invalidInput,
      `${where} has ${check.rows.length} row(s)${check.rows.length >= 2 ? ' of a single class' : ''}: a golden set needs rows of both classes; ${again}.`,
    );
  }
  return { pointer, rows: check.rows };
}

export async function prepareFeatures(
  input: PrepareInput,
  deployed: (model: string) => ModelDefinition | undefined,
  deps: { lake: ObjectStore; clock: Clock; env: PrepareEnv },
): Promise<PrepareOutput> {
  const { lake, clock, env } = deps;
  const pointerText = await lake.tryGetText(lakeKeys.rawLatest(input.model));
  if (!pointerText) {
    throw new PlatformError(
      errorNames.noRawData,
      `No data ingested for model "${input.model}": run \`mlops ingest <csv> --model ${input.model}\` first.`,
    );
  }
  const pointer = JSON.parse(pointerText) as RawPointer;
  const def = (await ingestedDefinition(lake, pointer)) ?? deployed(input.model);
  if (!def) {
    throw new PlatformError(
      errorNames.unknownModel,
      `Model "${input.model}" has no definition: ingest its data with --spec <model.json>.`,
    );
  }
  if (def.name !== input.model) {
    throw new PlatformError(
      errorNames.invalidInput,
      `The data ingested for "${input.model}" carries the definition of "${def.name}".`,
    );
  }
  const spec = def.spec;
  const seed = input.seed ?? def.training.seed;
  if (!Number.isInteger(seed) || seed < 0) {
    throw new PlatformError(
      errorNames.invalidInput,
      `seed must be a non-negative integer, got ${JSON.stringify(input.seed)}`,
    );
  }
  const goldenSet = await loadGoldenSet(lake, def);
  const rawBytes = await lake.getBytes(pointer.key);
  let parsed: ReturnType<typeof parseCsv>;
  try {
    parsed = parseCsv(Buffer.from(rawBytes).toString('utf8'), `s3://${lake.bucket}/${pointer.key}`);
  } catch (err) {
    if (err instanceof CsvFormatError) throw new PlatformError(errorNames.invalidInput, err.message);
    throw err;
  }
  const required = [
    spec.label.column,
    ...(spec.timeColumn ? [spec.timeColumn] : []),
    ...spec.features.map((f) => f.name),
  ];
  const absent = required.filter((c) => !parsed.header.includes(c));
  if (absent.length > 0) {
    throw new PlatformError(
      errorNames.invalidInput,
      `The data for "${def.name}" lacks column(s) ${absent.join(', ')} (header: ${parsed.header.join(', ')}).`,
    );
  }

  const quarantined: QuarantinedRow[] = parsed.malformed.map((m) => ({
    line: m.line,
    reasons: [m.reason],
    raw: m.raw,
  }));
  const valid: ValidRow[] = [];
  for (const rec of parsed.records) {
    const res = validateRow(spec, rec.values, 'csv', true);
    const reasons = res.ok ? [] : res.errors.map((e) => `${e.field} ${e.message}`);
    let time: number | undefined;
    if (spec.timeColumn) {
      time = parseTime(rec.values[spec.timeColumn]);
      if (time === undefined) {
        reasons.push(
          `${spec.timeColumn} must be a number or an ISO-8601 date, got "${rec.values[spec.timeColumn] ?? ''}"`,
        );
      }
    }
    if (res.ok && reasons.length === 0)
      valid.push({
        line: rec.line,
        row: res.row,
        label: res.label!,
        ...(time === undefined ? {} : { time }),
        bucket: Number.parseInt(sha256(JSON.stringify(Object.values(rec.values))).slice(0, 8), 16) / 2 ** 32,
      });
    else quarantined.push({ line: rec.line, reasons, raw: rec.values });
  }
  const total = valid.length + quarantined.length;
  const snapshotId = sha256(
    JSON.stringify([
      pointer.sha256,
      spec,
      def.training.split,
      seed,
      def.training.validationFraction,
      def.training.goldenFraction,
      TRANSFORM_CODE_VERSION,
      // Only with a golden set, so snapshots without one keep the ids they had.
      ...(goldenSet ? [goldenSet.pointer.goldenId] : []),
    ]),
  ).slice(0, 16);
  let quarantineKey: string | undefined;
  if (quarantined.length > 0) {
    quarantined.sort((a, b) => a.line - b.line);
    quarantineKey = lakeKeys.quarantine(def.name, snapshotId);
    await lake.put(
      quarantineKey,
      `${quarantined.map((q) => JSON.stringify(q)).join('\n')}\n`,
      'application/x-ndjson',
    );
  }
  const badFraction = quarantined.length / total;
  if (badFraction > def.training.maxInvalidFraction) {
    const sample = quarantined
      .slice(0, 3)
      .map((q) => `line ${q.line}: ${q.reasons.join('; ')}`)
      .join(' | ');
    throw new PlatformError(
      errorNames.tooManyInvalidRows,
      `${quarantined.length} of ${total} rows (${(badFraction * 100).toFixed(1)}%) are invalid, above the limit of ${(
        def.training.maxInvalidFraction * 100
      ).toFixed(1)}%; see s3://${lake.bucket}/${quarantineKey}. First: ${sample}`,
    );
  }

  // Leakage guard: a raw row that repeats a golden row would let the model train (or be validated)
  // on the very rows it is judged on.
  let pool = valid;
  if (goldenSet) {
    const goldenRows = new Set(goldenSet.rows.map((r) => rowIdentity(spec, r.row, r.label)));
    pool = valid.filter((r) => !goldenRows.has(rowIdentity(spec, r.row, r.label)));
  }
  const goldenDuplicates = valid.length - pool.length;
  const split = splitRows(def, pool, seed, goldenSet !== undefined);
  const splits: Record<SplitName, Pick<ValidRow, 'line' | 'row' | 'label'>[]> = {
    ...split,
    golden: goldenSet ? goldenSet.rows : split.golden,
  };
  const golden: GoldenLineage = goldenSet
    ? {
        source: 'golden-set',
        goldenId: goldenSet.pointer.goldenId,
        sha256: goldenSet.pointer.sha256,
        rows: goldenSet.rows.length,
      }
    : { source: 'split', fraction: def.training.goldenFraction };
  if (splits.validation.length === 0) {
    throw new PlatformError(
      errorNames.invalidInput,
      `No row of the ${pool.length} valid rows fell in the validation split; add data or use training.split "random".`,
    );
  }
  if (splits.train.length < 2 || new Set(splits.train.map((r) => r.label)).size < 2) {
    throw new PlatformError(
      errorNames.invalidInput,
      `The training split has ${splits.train.length} rows${splits.train.length >= 2 ? ' of a single class' : ''}: too few to train a classifier on (${valid.length} valid rows in all${goldenDuplicates > 0 ? `, ${goldenDuplicates} of them left out as copies of golden rows` : ''}).`,
    );
  }
  let transform: ReturnType<typeof fitTransform>;
  try {
    transform = fitTransform(
      spec,
      splits.train.map((r) => r.row),
    );
  } catch (err) {
    if (err instanceof FitError) throw new PlatformError(errorNames.invalidInput, err.message);
    throw err;
  }
  const schemaHash = featureSchemaHash(spec, transform);
  const toCsv = (rows: readonly Pick<ValidRow, 'row' | 'label'>[]) =>
    `${rows.map((r) => vectorToCsv(r.label, transformRow(spec, transform, r.row))).join('\n')}\n`;
  const prefix = lakeKeys.curated(def.name, snapshotId);
  const bodies = {
    train: toCsv(splits.train),
    validation: toCsv(splits.validation),
    golden: toCsv(splits.golden),
  };
  // The frozen evaluation rows as raw values, so that any model (the incumbent too, with its own
  // definition and transform) can be scored on exactly these rows.
  const evalRowsJsonl = `${(['validation', 'golden'] as const)
    .flatMap((split) =>
      splits[split].map((r) => JSON.stringify({ split, line: r.line, label: r.label, row: r.row })),
    )
    .join('\n')}\n`;
  const transformJson = `${JSON.stringify(transform, null, 2)}\n`;
  const definitionJson = `${JSON.stringify(def, null, 2)}\n`;
  const file = (name: SplitName) => ({
    key: `${prefix}${name}/part-00000.csv`,
    sha256: sha256(bodies[name]),
    rows: splits[name].length,
  });
  const files = {
    train: file('train'),
    validation: file('validation'),
    ...(splits.golden.length > 0 ? { golden: file('golden') } : {}),
    evalRows: { key: `${prefix}eval/rows.jsonl`, sha256: sha256(evalRowsJsonl) },
    transform: { key: `${prefix}transform.json`, sha256: sha256(transformJson) },
    definition: { key: `${prefix}model.json`, sha256: sha256(definitionJson) },
  };
  const manifestBody = {
    model: def.name,
    snapshotId,
    source: { sha256: pointer.sha256 },
    split: def.training.split,
    seed,
    fractions: goldenSet
      ? { validation: def.training.validationFraction }
      : { validation: def.training.validationFraction, golden: def.training.goldenFraction },
    golden,
    featureSchemaHash: schemaHash,
    columns: transform.columns,
    files,
    counts: { rows: total, valid: valid.length, quarantined: quarantined.length, goldenDuplicates },
  };
  const dataManifestHash = sha256(JSON.stringify(manifestBody));
  const manifestKey = `${prefix}manifest.json`;
  await Promise.all([
    lake.put(files.train.key, bodies.train, 'text/csv'),
    lake.put(files.validation.key, bodies.validation, 'text/csv'),
    ...(files.golden ? [lake.put(files.golden.key, bodies.golden, 'text/csv')] : []),
    lake.put(files.evalRows.key, evalRowsJsonl, 'application/x-ndjson'),
    lake.put(files.transform.key, transformJson, 'application/json'),
    lake.put(files.definition.key, definitionJson, 'application/json'),
    lake.put(
      manifestKey,
      // The hash covers content only; where the raw file was ingested and when are recorded beside it.
      `${JSON.stringify({ ...manifestBody, dataManifestHash, sourceKey: pointer.key, createdAt: clock.now().toISOString() }, null, 2)}\n`,
      'application/json',
    ),
  ]);

  const hyperParameters: Record<string, string> = {};
  for (const [k, v] of Object.entries(def.training.hyperparameters)) hyperParameters[k] = String(v);
  hyperParameters.seed = String(seed);
  hyperParameters.sagemaker_program = JSON.stringify('train.py');
  hyperParameters.sagemaker_submit_directory = JSON.stringify(env.trainingSourceUri);
  const suffix = sha256(`${clock.now().toISOString()}${Math.random()}`).slice(0, 4);
  return {
    model: def.name,
    definition: def,
    snapshotId,
    dataManifestHash,
    featureSchemaHash: schemaHash,
    seed,
    trainingJobName: `${def.name}-${snapshotId.slice(0, 8)}-${stamp(clock.now())}-${suffix}`,
    hyperParameters,
    channels: {
      train: `s3://${lake.bucket}/${prefix}train/`,
      validation: `s3://${lake.bucket}/${prefix}validation/`,
    },
    keys: {
      manifest: manifestKey,
      transform: files.transform.key,
      validation: files.validation.key,
      evalRows: files.evalRows.key,
      ...(files.golden ? { golden: files.golden.key } : {}),
      ...(quarantineKey ? { quarantine: quarantineKey } : {}),
    },
    counts: {
      rows: total,
      valid: valid.length,
      quarantined: quarantined.length,
      train: splits.train.length,
      validation: splits.validation.length,
      golden: splits.golden.length,
      goldenDuplicates,
    },
    codeSha256: env.trainingCodeSha256,
    featureCodeSha256: env.featureCodeSha256,
    trainingImage: env.trainingImageUri,
    golden,
  };
}
