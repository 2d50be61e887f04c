/**
 * Prepare step of the training pipeline: reads the raw data and the model's golden set, builds the
 * curated snapshot from them with the pure steps of core/snapshot (validate and quarantine, split,
 * fit, manifest), writes it to the lake, and returns the training request for it. When the model
 * has a golden set (`golden/<model>/LATEST.json`), its rows are the golden split and raw rows
 * identical to one of them are kept out of training and validation. It also writes the snapshot's
 * drift baseline (the training split in the drift job's bins, core/drift/baseline.ts), which the
 * evaluate step completes with the trained model's validation scores. The manifest is written last:
 * a snapshot with a manifest is complete. S3 out of reach fails the step with `LakeUnavailable`
 * (./lake.ts).
 */

import { lakeKeys } from '../../contracts/lake.ts';
import { buildBaseline, looksLikeDriftBaseline } from '../../core/drift/baseline.ts';
import type { DriftBaseline } from '../../core/drift/types.ts';
import { errorNames, PlatformError } from '../../core/errors.ts';
import { type GoldenPointer, type RawPointer, rawObjects } from '../../core/lake.ts';
import type { ModelDefinition } from '../../core/model/definition.ts';
import type { Clock, ObjectStore } from '../../core/ports.ts';
import { fitOnTraining } from '../../core/snapshot/fit.ts';
import { checkGoldenSet, type GoldenSet, goldenLineage } from '../../core/snapshot/golden-set.ts';
import { buildSnapshot, type SnapshotKeys, snapshotIdOf } from '../../core/snapshot/manifest.ts';
import { joinedPieces, type RawFile } from '../../core/snapshot/ranges.ts';
import { splitSnapshot } from '../../core/snapshot/split.ts';
import { trainingRequest } from '../../core/snapshot/training-request.ts';
import {
  checkInvalidFraction,
  parseDataCsv,
  quarantineJsonl,
  validateRows,
} from '../../core/snapshot/validate.ts';
import type { PrepareOutput } from '../../core/training-run.ts';
import { ingestedDefinition } from '../shared/ingested-definition.ts';
import { guardedLake } from './lake.ts';
import { checkTrainParts } from './train-parts.ts';

/** The step's input from the state machine. */
export interface PrepareInput {
  model: string;
  /** Overrides the model's configured seed (split and training). */
  seed?: number;
}

/** What the step takes from its function's environment. */
export interface PrepareEnv {
  trainingSourceUri: string;
  trainingCodeSha256: string;
  featureCodeSha256: string;
  trainingImageUri: string;
  /** The stage's prefix of every training job name (`mlops-<stage>--`). */
  trainingJobPrefix: string;
}

/** The raw data's pointer and the definition to build the snapshot with. */
export async function readIngested(
  lake: ObjectStore,
  model: string,
  deployed: (model: string) => ModelDefinition | undefined,
): Promise<{ pointer: RawPointer; def: ModelDefinition }> {
  const pointerText = await lake.tryGetText(lakeKeys.rawLatest(model));
  if (!pointerText) {
    throw new PlatformError(
      errorNames.noRawData,
      `No data ingested for model "${model}": run \`mlops ingest <csv> --model ${model}\` first.`,
    );
  }
  const pointer = JSON.parse(pointerText) as RawPointer;
  const def = (await ingestedDefinition(lake, pointer)) ?? deployed(model);
  if (!def) {
    throw new PlatformError(
      errorNames.unknownModel,
      `Model "${model}" has no definition: ingest its data with --spec <model.json>.`,
    );
  }
  if (def.name !== model) {
    throw new PlatformError(
      errorNames.invalidInput,
      `The data ingested for "${model}" carries the definition of "${def.name}".`,
    );
  }
  return { pointer, def };
}

/** The raw data as one text: its object, or its objects joined (core/snapshot/ranges.ts). */
export async function readRaw(lake: ObjectStore, pointer: RawPointer): Promise<string> {
  if (!pointer.parts) return Buffer.from(await lake.getBytes(pointer.key)).toString('utf8');
  const files: RawFile[] = [];
  for (const key of rawObjects(pointer))
    files.push({ name: `s3://${lake.bucket}/${key}`, bytes: await lake.getBytes(key) });
  return Buffer.concat([...joinedPieces(files)]).toString('utf8');
}

export function seedOf(input: PrepareInput, def: ModelDefinition): number {
  const seed = input.seed ?? def.training.seed;
  if (!Number.isInteger(seed) || seed < 0) {
    throw new PlatformError(
      errorNames.invalidInput,
      `seed must be a non-negative integer, got ${JSON.stringify(input.seed)}`,
    );
  }
  return seed;
}

/** The model's current golden set, checked, or undefined when it has none. */
export async function readGoldenSet(lake: ObjectStore, def: ModelDefinition): Promise<GoldenSet | undefined> {
  const pointerKey = lakeKeys.goldenLatest(def.name);
  const pointerText = await lake.tryGetText(pointerKey);
  if (pointerText === undefined) return undefined;
  const pointer = JSON.parse(pointerText) as GoldenPointer;
  const bytes = await lake.getBytes(pointer.key).catch((err: unknown) => {
    if ((err as { name?: string }).name === 'NoSuchKey') return undefined;
    throw err;
  });
  return checkGoldenSet(def, { bucket: lake.bucket, pointerKey, pointer, bytes });
}

export function snapshotKeys(model: string, snapshotId: string): SnapshotKeys {
  return {
    train: lakeKeys.curatedSplitPart(model, snapshotId, 'train'),
    validation: lakeKeys.curatedSplitPart(model, snapshotId, 'validation'),
    golden: lakeKeys.curatedSplitPart(model, snapshotId, 'golden'),
    evalRows: lakeKeys.curatedEvalRows(model, snapshotId),
    transform: lakeKeys.curatedTransform(model, snapshotId),
    definition: lakeKeys.curatedDefinition(model, snapshotId),
    manifest: lakeKeys.curatedManifest(model, snapshotId),
  };
}

/**
 * Writes the snapshot's drift baseline. A baseline already there with the same feature counts keeps
 * its `score`: those are the validation scores of a version trained on this snapshot before, which
 * may still be serving, and the score names its training job, so the drift job uses it only for that
 * version (until this run's evaluate step writes its own).
 */
export async function writeBaseline(lake: ObjectStore, key: string, baseline: DriftBaseline): Promise<void> {
  const existing = await lake.tryGetText(key);
  let score: DriftBaseline['score'];
  if (existing !== undefined) {
    try {
      const parsed = JSON.parse(existing) as Partial<DriftBaseline>;
      if (
        looksLikeDriftBaseline(parsed) &&
        JSON.stringify(parsed.features) === JSON.stringify(baseline.features)
      ) {
        score = parsed.score;
      }
    } catch {
      // Not JSON: replaced below.
    }
  }
  await lake.put(key, `${JSON.stringify(score ? { ...baseline, score } : baseline)}\n`, 'application/json');
}

/**
 * Builds and writes the curated snapshot of a model's latest raw data and returns the training
 * request for it. Bad rows are written to quarantine before the invalid-fraction rule can fail the
 * run, so the evidence is there either way.
 */
export async function prepareFeatures(
  input: PrepareInput,
  deployed: (model: string) => ModelDefinition | undefined,
  deps: { lake: ObjectStore; clock: Clock; env: PrepareEnv },
): Promise<PrepareOutput> {
  const { clock, env } = deps;
  const lake = guardedLake(deps.lake);
  const { pointer, def } = await readIngested(lake, input.model, deployed);
  const seed = seedOf(input, def);
  const goldenSet = await readGoldenSet(lake, def);
  const raw = await readRaw(lake, pointer);
  const rows = validateRows(def, parseDataCsv(raw, `s3://${lake.bucket}/${pointer.key}`));
  const snapshotId = snapshotIdOf(def, pointer.sha256, seed, goldenSet?.pointer.goldenId);

  let quarantineKey: string | undefined;
  if (rows.quarantined.length > 0) {
    quarantineKey = lakeKeys.quarantine(def.name, snapshotId);
    await lake.put(quarantineKey, quarantineJsonl(rows.quarantined), 'application/x-ndjson');
  }
  checkInvalidFraction(rows, def.training.maxInvalidFraction, `s3://${lake.bucket}/${quarantineKey}`);

  // The training channel reads the whole prefix: parts of an earlier two-pass run of this snapshot
  // must not be there (./two-pass.ts).
  await checkTrainParts(lake, lakeKeys.curatedSplit(def.name, snapshotId, 'train'), [
    lakeKeys.curatedSplitPart(def.name, snapshotId, 'train'),
  ]);
  const { splits, goldenDuplicates } = splitSnapshot(def, rows.valid, seed, goldenSet?.rows);
  const fitted = fitOnTraining(def.spec, splits);
  const golden = goldenLineage(def, goldenSet);
  const keys = snapshotKeys(def.name, snapshotId);
  const now = clock.now();
  const counts = {
    rows: rows.total,
    valid: rows.valid.length,
    quarantined: rows.quarantined.length,
    goldenDuplicates,
  };
  const snapshot = buildSnapshot({
    def,
    snapshotId,
    seed,
    source: { sha256: pointer.sha256, key: pointer.key },
    splits,
    fitted,
    golden,
    counts,
    keys,
    createdAt: now,
  });
  // The manifest marks the snapshot complete: it is written once every other object of the snapshot
  // (and its drift baseline) is stored, so a run cut off by a failed write leaves no manifest.
  const manifestObject = snapshot.objects.find((o) => o.key === keys.manifest)!;
  await Promise.all(
    snapshot.objects.filter((o) => o !== manifestObject).map((o) => lake.put(o.key, o.body, o.contentType)),
  );
  const baselineKey = lakeKeys.baseline(def.name, snapshotId);
  await writeBaseline(
    lake,
    baselineKey,
    buildBaseline({
      model: def.name,
      snapshotId,
      featureSchemaHash: fitted.featureSchemaHash,
      createdAt: now.toISOString(),
      spec: def.spec,
      transform: fitted.transform,
      rows: splits.train.map((r) => r.row),
      quantileBins: def.drift.quantileBins,
    }),
  );
  await lake.put(manifestObject.key, manifestObject.body, manifestObject.contentType);

  return preparedOutput({
    def,
    snapshotId,
    seed,
    at: now,
    env,
    bucket: lake.bucket,
    dataManifestHash: snapshot.dataManifestHash,
    featureSchemaHash: fitted.featureSchemaHash,
    baselineKey,
    hasGolden: snapshot.manifest.files.golden !== undefined,
    quarantineKey,
    counts: {
      rows: rows.total,
      valid: rows.valid.length,
      quarantined: rows.quarantined.length,
      train: splits.train.length,
      validation: splits.validation.length,
      golden: splits.golden.length,
      goldenDuplicates,
    },
    golden,
  });
}

/** What the step's output is made of, however the snapshot was built. */
export interface PreparedOutputInput {
  def: ModelDefinition;
  snapshotId: string;
  seed: number;
  at: Date;
  env: PrepareEnv;
  bucket: string;
  dataManifestHash: string;
  featureSchemaHash: string;
  baselineKey: string;
  hasGolden: boolean;
  quarantineKey: string | undefined;
  counts: PrepareOutput['counts'];
  golden: PrepareOutput['golden'];
}

/** The step's output: the snapshot's keys and counts and the training request for it. */
export function preparedOutput(o: PreparedOutputInput): PrepareOutput {
  const { def, snapshotId, env } = o;
  const keys = snapshotKeys(def.name, snapshotId);
  const request = trainingRequest({
    def,
    snapshotId,
    seed: o.seed,
    at: o.at,
    jobPrefix: env.trainingJobPrefix,
    sourceUri: env.trainingSourceUri,
    bucket: o.bucket,
    channelPrefixes: {
      train: lakeKeys.curatedSplit(def.name, snapshotId, 'train'),
      validation: lakeKeys.curatedSplit(def.name, snapshotId, 'validation'),
    },
  });
  return {
    model: def.name,
    definition: def,
    snapshotId,
    dataManifestHash: o.dataManifestHash,
    featureSchemaHash: o.featureSchemaHash,
    seed: o.seed,
    ...request,
    keys: {
      manifest: keys.manifest,
      transform: keys.transform,
      validation: keys.validation,
      evalRows: keys.evalRows,
      baseline: o.baselineKey,
      ...(o.hasGolden ? { golden: keys.golden } : {}),
      ...(o.quarantineKey ? { quarantine: o.quarantineKey } : {}),
    },
    counts: o.counts,
    codeSha256: env.trainingCodeSha256,
    featureCodeSha256: env.featureCodeSha256,
    trainingImage: env.trainingImageUri,
    golden: o.golden,
  };
}
