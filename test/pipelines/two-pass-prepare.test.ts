/**
 * The training pipeline's two-pass prepare in the twin: an assembly synthesized with
 * `prepareDistributedAboveRows: 0` sends the demo data through PlanPrepare -> PrepareStats (a
 * Distributed Map over the raw CSV) -> ReduceStats -> TransformParts (a second Map) -> FinishPrepare,
 * and the run trains and registers as the single-function path does, on the same data version and
 * the same curated files as the default assembly's single PrepareFeatures.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lakeKeys } from '../../contracts/lake.ts';
import type { ObjectStore } from '../../core/ports.ts';
import { demoCsv, freshModel, ingestAs } from '../support/pipeline-fixtures.ts';
import { startTestTwin, type TestTwin } from '../support/twin.ts';

/** The app synthesized with every model's data prepared in two passes. */
async function synthesizeTwoPass(): Promise<string> {
  const [{ synthesize }, { buildConfig, loadModels, readCdkJsonContext }, { MODELS_DIR }] = await Promise.all(
    [import('../../lib/synth.ts'), import('../../lib/config.ts'), import('../../lib/paths.ts')],
  );
  const raw = {
    ...((readCdkJsonContext().mlops as Record<string, unknown>) ?? {}),
    stage: 'test',
    prepareDistributedAboveRows: 0,
  };
  return synthesize(
    mkdtempSync(join(tmpdir(), 'mlops-test-two-pass-')),
    buildConfig(raw, loadModels(MODELS_DIR)),
  );
}

/** The snapshot's files (the training split as its parts joined in key order), raw key left out. */
async function snapshotFiles(lake: ObjectStore, model: string, snapshotId: string) {
  const prefix = lakeKeys.curated(model, snapshotId);
  const keys = (await lake.list(prefix)).filter((k) => !/\/(stats|stage|train|plan)\//.test(k));
  const files: Record<string, string> = {};
  for (const k of keys.sort()) {
    files[k] = (await lake.getText(k)).replace(/"(sourceKey|createdAt)": "[^"]+"/g, '"$1": "-"');
  }
  let train = '';
  for (const k of (await lake.list(`${prefix}train/`)).sort()) train += await lake.getText(k);
  return { files, train, trainParts: (await lake.list(`${prefix}train/`)).length };
}

describe('two-pass prepare in the training pipeline (twin)', () => {
  let single: TestTwin;
  let twoPass: TestTwin;

  beforeAll(async () => {
    single = await startTestTwin();
    twoPass = await startTestTwin(await synthesizeTwoPass());
  }, 240_000);
  afterAll(async () => {
    await twoPass?.twin.stop();
    await single?.twin.stop();
  });

  it('trains on the same data version and files as the single function, through two Distributed Maps', async () => {
    const model = freshModel();
    await ingestAs(single, model, { csv: demoCsv });
    await ingestAs(twoPass, model, { csv: demoCsv });

    const one = await single.twin.execute('training', { model, seed: 42 });
    expect(one.status, JSON.stringify(one.taskError)).toBe('SUCCEEDED');
    const two = await twoPass.twin.execute('training', { model, seed: 42, prepareRangeBytes: 50_000 });
    expect(two.status, JSON.stringify(two.taskError)).toBe('SUCCEEDED');

    expect(one.states).toContain('PrepareFeatures');
    expect(one.states).not.toContain('PrepareStats');
    for (const s of [
      'PlanPrepare',
      'PrepareStats',
      'ReduceStats',
      'TransformParts',
      'FinishPrepare',
      'Train',
    ]) {
      expect(two.states, s).toContain(s);
    }
    expect(two.states).not.toContain('PrepareFeatures');

    const a = one.output as { snapshotId: string; dataManifestHash: string; version: number };
    const b = two.output as typeof a;
    expect(b.version).toBe(1);
    expect(b.snapshotId).toBe(a.snapshotId);
    const [va] = await single.registry.listVersions(model);
    const [vb] = await twoPass.registry.listVersions(model);
    expect(vb!.dataManifestHash).toBe(va!.dataManifestHash);

    const fa = await snapshotFiles(single.lake, model, a.snapshotId);
    const fb = await snapshotFiles(twoPass.lake, model, b.snapshotId);
    expect(fb.files).toEqual(fa.files);
    expect(fb.train).toBe(fa.train);
    expect(fa.trainParts).toBe(1);
    // The demo file in ranges of 50,000 bytes.
    expect(fb.trainParts).toBe(Math.ceil(Buffer.byteLength(demoCsv) / 50_000));
  }, 600_000);
});
