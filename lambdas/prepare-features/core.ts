/**
 * Prepare step of the training pipeline: validates the raw data against the model's spec, puts
 * bad rows in quarantine with a reason each, splits deterministically by seed, fits the transform
 * on the training split only, and writes the curated snapshot with a manifest whose hash
 * identifies the data version.
 */
import { createHash } from 'node:crypto';
import { errorNames, PlatformError } from '../shared/errors.ts';
import {
  type CleanRow,
  CsvFormatError,
  featureSchemaHash,
  fitTransform,
  type ModelDefinition,
  parseCsv,
  TRANSFORM_CODE_VERSION,
  transformRow,
  validateRow,
  vectorToCsv,
} from '../shared/features/index.ts';
import { lakeKeys, type RawPointer } from '../shared/lake.ts';
import type { Clock, ObjectStore } from '../shared/ports.ts';

export interface PrepareInput {
  model: string;
  /** Overrides the model's configured seed (split and training). */
  seed?: number;
}

export interface PrepareEnv {
  trainingSourceUri: string;
  trainingCodeSha256: string;
  trainingImageUri: string;
}

export interface PrepareOutput {
  model: string;
  snapshotId: string;
  dataManifestHash: string;
  featureSchemaHash: string;
  seed: number;
  trainingJobName: string;
  hyperParameters: Record<string, string>;
  channels: { train: string; validation: string };
  keys: { manifest: string; transform: string; validation: string; quarantine?: string };
  counts: { rows: number; valid: number; quarantined: number; train: number; validation: number };
  codeSha256: string;
  trainingImage: string;
}

interface QuarantinedRow {
  line: number;
  reasons: string[];
  raw: unknown;
}

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

/** mulberry32: a small seeded generator, so the split depends only on the seed. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function stamp(d: Date): string {
  return d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

export async function prepareFeatures(
  input: PrepareInput,
  def: ModelDefinition,
  deps: { lake: ObjectStore; clock: Clock; env: PrepareEnv },
): Promise<PrepareOutput> {
  const { lake, clock, env } = deps;
  const spec = def.spec;
  const seed = input.seed ?? def.training.seed;
  if (!Number.isInteger(seed) || seed < 0) {
    throw new PlatformError(
      errorNames.invalidInput,
      `seed must be a non-negative integer, got ${JSON.stringify(input.seed)}`,
    );
  }
  const pointerText = await lake.tryGetText(lakeKeys.rawLatest(def.name));
  if (!pointerText) {
    throw new PlatformError(
      errorNames.noRawData,
      `No data ingested for model "${def.name}": run \`mlops ingest <csv> --model ${def.name}\` first.`,
    );
  }
  const pointer = JSON.parse(pointerText) as RawPointer;
  const rawBytes = await lake.getBytes(pointer.key);
  let parsed: ReturnType<typeof parseCsv>;
  try {
    parsed = parseCsv(Buffer.from(rawBytes).toString('utf8'), `s3://${lake.bucket}/${pointer.key}`);
  } catch (err) {
    if (err instanceof CsvFormatError) throw new PlatformError(errorNames.invalidInput, err.message);
    throw err;
  }
  const required = [spec.label.column, ...spec.features.map((f) => f.name)];
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
  const valid: { row: CleanRow; label: 0 | 1 }[] = [];
  for (const rec of parsed.records) {
    const res = validateRecord(def, rec.values);
    if (res.ok) valid.push(res.value);
    else quarantined.push({ line: rec.line, reasons: res.reasons, raw: rec.values });
  }
  const total = valid.length + quarantined.length;
  const snapshotId = sha256(
    JSON.stringify([pointer.sha256, spec, seed, def.training.validationFraction, TRANSFORM_CODE_VERSION]),
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

  const order = valid.map((_, i) => i);
  const rand = seededRandom(seed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const nValidation = Math.max(1, Math.round(valid.length * def.training.validationFraction));
  const validationIdx = order.slice(0, nValidation).sort((a, b) => a - b);
  const trainIdx = order.slice(nValidation).sort((a, b) => a - b);
  if (trainIdx.length < 2) {
    throw new PlatformError(errorNames.invalidInput, `Only ${valid.length} valid rows: too few to train on.`);
  }
  const transform = fitTransform(
    spec,
    trainIdx.map((i) => valid[i]!.row),
  );
  const schemaHash = featureSchemaHash(spec, transform);
  const toCsv = (idx: number[]) =>
    `${idx.map((i) => vectorToCsv(valid[i]!.label, transformRow(spec, transform, valid[i]!.row))).join('\n')}\n`;
  const prefix = lakeKeys.curated(def.name, snapshotId);
  const trainCsv = toCsv(trainIdx);
  const validationCsv = toCsv(validationIdx);
  const transformJson = `${JSON.stringify(transform, null, 2)}\n`;
  const files = {
    train: { key: `${prefix}train/part-00000.csv`, sha256: sha256(trainCsv), rows: trainIdx.length },
    validation: {
      key: `${prefix}validation/part-00000.csv`,
      sha256: sha256(validationCsv),
      rows: validationIdx.length,
    },
    transform: { key: `${prefix}transform.json`, sha256: sha256(transformJson) },
  };
  const manifestBody = {
    model: def.name,
    snapshotId,
    source: { key: pointer.key, sha256: pointer.sha256 },
    seed,
    validationFraction: def.training.validationFraction,
    featureSchemaHash: schemaHash,
    columns: transform.columns,
    files,
    counts: { rows: total, valid: valid.length, quarantined: quarantined.length },
  };
  const dataManifestHash = sha256(JSON.stringify(manifestBody));
  const manifestKey = `${prefix}manifest.json`;
  await Promise.all([
    lake.put(files.train.key, trainCsv, 'text/csv'),
    lake.put(files.validation.key, validationCsv, 'text/csv'),
    lake.put(files.transform.key, transformJson, 'application/json'),
    lake.put(
      manifestKey,
      `${JSON.stringify({ ...manifestBody, dataManifestHash, createdAt: clock.now().toISOString() }, null, 2)}\n`,
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
      ...(quarantineKey ? { quarantine: quarantineKey } : {}),
    },
    counts: {
      rows: total,
      valid: valid.length,
      quarantined: quarantined.length,
      train: trainIdx.length,
      validation: validationIdx.length,
    },
    codeSha256: env.trainingCodeSha256,
    trainingImage: env.trainingImageUri,
  };
}

function validateRecord(
  def: ModelDefinition,
  values: Record<string, string>,
): { ok: true; value: { row: CleanRow; label: 0 | 1 } } | { ok: false; reasons: string[] } {
  const res = validateRow(def.spec, values, 'csv', true);
  if (!res.ok) return { ok: false, reasons: res.errors.map((e) => `${e.field} ${e.message}`) };
  return { ok: true, value: { row: res.row, label: res.label! } };
}
