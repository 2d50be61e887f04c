/**
 * The baseline through the training pipeline's steps, with an in-memory lake: the prepare step writes
 * the snapshot's baseline from the training split and returns its key, the evaluate step adds the
 * validation scores to it, and the registered version points at it.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { afterAll, describe, expect, it } from 'vitest';
import { lakeKeys } from '../../contracts/lake.ts';
import { trainingJobPrefix } from '../../contracts/names.ts';
import { checkDriftBaseline } from '../../core/drift/baseline.ts';
import type { TransformArtifact } from '../../core/features/transform.ts';
import type { ModelRegistryPort, ObjectStore } from '../../core/ports.ts';
import type { ModelVersion } from '../../core/registry/model.ts';
import { evaluateModel } from '../../lambdas/evaluate-model/core.ts';
import { prepareFeatures } from '../../lambdas/prepare-features/core.ts';
import { registerModel } from '../../lambdas/register-model/core.ts';
import { credit, stumpModel } from '../support/fixtures.ts';
import { ingestCsv, prepareEnv } from '../support/ingest.ts';

class MemoryLake implements ObjectStore {
  readonly bucket = 'lake';
  readonly objects = new Map<string, Uint8Array>();
  async getBytes(key: string): Promise<Uint8Array> {
    const body = this.objects.get(key);
    if (!body) throw Object.assign(new Error(`${key} does not exist`), { name: 'NoSuchKey' });
    return body;
  }
  async getText(key: string): Promise<string> {
    return Buffer.from(await this.getBytes(key)).toString('utf8');
  }
  async tryGetText(key: string): Promise<string | undefined> {
    return this.objects.has(key) ? this.getText(key) : undefined;
  }
  async put(key: string, body: string | Uint8Array): Promise<void> {
    this.objects.set(key, typeof body === 'string' ? Buffer.from(body) : body);
  }
  async list(prefix: string): Promise<string[]> {
    return [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
  }
}

const env = { ...prepareEnv, trainingJobPrefix: trainingJobPrefix('test') };
const clock = { now: () => new Date('2026-02-01T10:00:00.000Z') };
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A training job's output as SageMaker packs it: a one-tree model on the first column, and metrics. */
async function trainedTarball(lake: MemoryLake, transform: TransformArtifact, job: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'drift-lineage-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'model.json'), stumpModel(transform.columns.length, 0, 5, 1, -1));
  writeFileSync(join(dir, 'metrics.json'), JSON.stringify({ validation: { auc: 0.7 } }));
  await tar.c({ gzip: true, file: join(dir, 'model.tar.gz'), cwd: dir, portable: true }, [
    'model.json',
    'metrics.json',
  ]);
  const key = `artifacts/credit/jobs/${job}/output/model.tar.gz`;
  await lake.put(key, readFileSync(join(dir, 'model.tar.gz')));
  return `s3://${lake.bucket}/${key}`;
}

describe('the drift baseline through prepare, evaluate and register', () => {
  it('is written by prepare from the training split, completed by evaluate and recorded by register', async () => {
    // Prepare
    const lake = new MemoryLake();
    await ingestCsv(lake, 'credit', readFileSync('data/credit_data.csv', 'utf8'), credit);
    // Act: prepare
    const prepared = await prepareFeatures({ model: 'credit' }, () => undefined, { lake, clock, env });
    // Assess: the baseline of the training split, without scores
    expect(prepared.keys.baseline).toBe(lakeKeys.baseline('credit', prepared.snapshotId));
    const written = checkDriftBaseline(JSON.parse(await lake.getText(prepared.keys.baseline)), 'baseline');
    expect(written).toMatchObject({
      model: 'credit',
      snapshotId: prepared.snapshotId,
      featureSchemaHash: prepared.featureSchemaHash,
      createdAt: '2026-02-01T10:00:00.000Z',
      rows: prepared.counts.train,
    });
    expect(written.score).toBeUndefined();
    expect(written.features.map((f) => f.feature)).toEqual(credit.spec.features.map((f) => f.name));
    const transform = JSON.parse(await lake.getText(prepared.keys.transform)) as TransformArtifact;
    const home = written.features.find((f) => f.feature === 'Home')!;
    expect(home.type === 'categorical' && home.categories).toEqual(transform.features.Home!.vocabulary);

    // Act: evaluate
    const job = `${prepared.trainingJobName}`;
    const training = { trainingJobName: job, modelArtifacts: await trainedTarball(lake, transform, job) };
    const evaluation = await evaluateModel({ model: 'credit', prepared, training }, { lake });
    // Assess: the same object, now with the validation scores; no copy of train.py's baseline
    expect(evaluation.artifacts.baseline).toBe(prepared.keys.baseline);
    const completed = checkDriftBaseline(JSON.parse(await lake.getText(prepared.keys.baseline)), 'baseline');
    expect(completed.features).toEqual(written.features);
    expect(completed.score).toMatchObject({ trainingJobName: job, rows: prepared.counts.validation });
    expect(completed.score!.counts.reduce((a, b) => a + b, 0)).toBe(prepared.counts.validation);
    expect(completed.score!.mean).toBeGreaterThan(0);
    expect(completed.score!.mean).toBeLessThan(1);
    // The one baseline is the snapshot's: nothing is copied beside the job's artifacts any more.
    expect(
      (await lake.list(lakeKeys.jobArtifacts('credit', job))).filter((k) => k.endsWith('baseline.json')),
    ).toEqual([]);

    // Act: register
    let stored: ModelVersion | undefined;
    const registry = {
      allocateVersion: async () => 7,
      putVersion: async (v: ModelVersion) => {
        stored = v;
      },
    } as unknown as ModelRegistryPort;
    await registerModel(
      { model: 'credit', prepared, training, evaluation, instanceType: 'ml.m5.large' },
      { registry, clock },
    );
    // Assess
    expect(stored!.artifacts.baseline).toBe(lakeKeys.baseline('credit', prepared.snapshotId));

    // Act: the same snapshot prepared again (a retraining run on unchanged data)
    const again = await prepareFeatures({ model: 'credit' }, () => undefined, { lake, clock, env });
    // Assess: same snapshot, same features, and the scores of the version that points at it are kept
    expect(again.keys.baseline).toBe(prepared.keys.baseline);
    expect(JSON.parse(await lake.getText(again.keys.baseline))).toEqual(completed);
  });

  it('refuses to evaluate a snapshot prepared without a baseline, naming the key', async () => {
    const lake = new MemoryLake();
    await ingestCsv(lake, 'credit', readFileSync('data/credit_data.csv', 'utf8'), credit);
    const prepared = await prepareFeatures({ model: 'credit' }, () => undefined, { lake, clock, env });
    const transform = JSON.parse(await lake.getText(prepared.keys.transform)) as TransformArtifact;
    const training = { trainingJobName: 'j', modelArtifacts: await trainedTarball(lake, transform, 'j') };
    const { baseline: _dropped, ...keys } = prepared.keys;
    await expect(
      evaluateModel(
        { model: 'credit', prepared: { ...prepared, keys: keys as typeof prepared.keys }, training },
        { lake },
      ),
    ).rejects.toThrow(/names no drift baseline \(prepared\.keys\.baseline\)/);
  });
});
