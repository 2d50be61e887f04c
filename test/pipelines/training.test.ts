import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { storeGolden } from '../../cli/golden.ts';
import { lineage } from '../../cli/print.ts';
import type { Evidence } from '../../core/policy/guardrail.ts';
import { systemClock } from '../../core/ports.ts';
import type { PrepareOutput } from '../../core/training-run.ts';
import { compareModels } from '../../lambdas/compare-models/core.ts';
import {
  creditJson,
  definitionOf,
  demoCsv,
  freshModel,
  givenProduction,
  ingestAs,
} from '../support/pipeline-fixtures.ts';
import { startTestTwin, type TestTwin } from '../support/twin.ts';

// Each test has a model of its own (see test/support/pipeline-fixtures.ts), so it passes alone and in any order.
describe('training state machine, run locally from the synthesized ASL', () => {
  let t: TestTwin;
  beforeAll(async () => {
    t = await startTestTwin();
  });
  afterAll(async () => t.twin.stop());

  it('fails in PrepareFeatures when no data was ingested, and notifies operators', async () => {
    const model = freshModel();
    const run = await t.twin.execute('training', { model });
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('TrainingFailed');
    expect(run.taskError).toMatchObject({ state: 'PrepareFeatures', error: 'NoRawData' });
    expect(t.twin.notifications.at(-1)?.message).toContain(
      `Training of model ${model} failed with NoRawData`,
    );
  });

  it('fails when too many rows are invalid, and quarantines each with its reason', async () => {
    const lines = demoCsv.trimEnd().split('\n');
    const broken = lines.map((l, i) => (i > 0 && i % 10 === 0 ? l.replace(/^"(good|bad)"/, '"maybe"') : l));
    const model = freshModel();
    await ingestAs(t, model, { csv: `${broken.join('\n')}\n` });
    const run = await t.twin.execute('training', { model });
    expect(run.status).toBe('FAILED');
    expect(run.taskError?.error).toBe('TooManyInvalidRows');
    expect(run.taskError?.cause).toContain('445 of 4454 rows (10.0%) are invalid');
    const keys = await t.lake.list(`quarantine/${model}/`);
    expect(keys).toHaveLength(1);
    const rows = (await t.lake.getText(keys[0]!))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows).toHaveLength(445);
    expect(rows[0]).toMatchObject({
      line: 11,
      reasons: ['Status label must be "bad" or "good", got "maybe"'],
    });
  });

  it('trains, evaluates and registers a candidate with its lineage', async () => {
    // The deployed model, ingested without a definition so that training takes the deployed one:
    // no other test of this file uses its partition.
    await t.ingestText('credit', demoCsv);
    const run = await t.twin.execute('training', { model: 'credit', seed: 42 });
    expect(run.status).toBe('SUCCEEDED');
    const out = run.output as {
      version: number;
      status: string;
      metrics: { auc: number };
      counts: Record<string, number>;
    };
    expect(out).toMatchObject({ version: 1, status: 'Candidate' });
    expect(out.counts).toMatchObject({
      rows: 4454,
      quarantined: 0,
      train: 3124,
      validation: 890,
      golden: 440,
    });
    expect(out.metrics.auc).toBeGreaterThan(0.75);
    const v = await t.registry.requireVersion('credit', 1);
    expect(v.instanceType).toBe('ml.g5.xlarge');
    expect(v.trainingImage).toMatch(/sagemaker-xgboost:1\.7-1$/);
    expect(v.seed).toBe(42);
    expect(v.dataManifestHash).toMatch(/^[0-9a-f]{64}$/);
    expect(v.codeSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(v.featureCodeSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(v.definition.name).toBe('credit');
    expect(v.metrics.golden?.rows).toBe(440);
    expect(v.golden).toEqual({ source: 'split', fraction: 0.1 });
    const model = JSON.parse(await t.lake.getText(v.artifacts.modelJson));
    expect(model.learner.objective.name).toBe('binary:logistic');
  });

  it('reproduces the model byte for byte from the same data and seed, and not from another seed or snapshot', async () => {
    const model = freshModel();
    const modelOf = async (seed: number) => {
      const run = await t.twin.execute('training', { model, seed });
      expect(run.status).toBe('SUCCEEDED');
      const v = await t.registry.requireVersion(model, (run.output as { version: number }).version);
      return { bytes: await t.lake.getText(v.artifacts.modelJson), manifest: v.dataManifestHash };
    };
    await ingestAs(t, model);
    const first = await modelOf(42);
    const again = await modelOf(42);
    expect(again.manifest).toBe(first.manifest);
    expect(again.bytes).toBe(first.bytes);
    const otherSeed = await modelOf(7);
    expect(otherSeed.bytes).not.toBe(first.bytes);
    await ingestAs(t, model, { csv: `${demoCsv.trimEnd().split('\n').slice(0, 4000).join('\n')}\n` });
    const otherSnapshot = await modelOf(42);
    expect(otherSnapshot.manifest).not.toBe(first.manifest);
    expect(otherSnapshot.bytes).not.toBe(first.bytes);
  });

  it('hands the candidate to the promotion pipeline by itself when the model approval is auto', async () => {
    const model = freshModel();
    await ingestAs(t, model, { definition: { ...creditJson, promotion: { approval: 'auto' } } });
    const run = await t.twin.execute('training', { model, seed: 42 });
    expect(run.status).toBe('SUCCEEDED');
    const version = (run.output as { version: number }).version;
    const started = await t.twin.settle();
    expect(started.map((r) => [r.stateMachine, r.status, (r.input as { version: number }).version])).toEqual([
      ['promotion', 'SUCCEEDED', version],
    ]);
    expect((await t.registry.getAlias(model))?.current).toBe(version);
  });

  it('leaves the candidate for a person when the model approval is manual', async () => {
    const model = freshModel();
    await ingestAs(t, model);
    const run = await t.twin.execute('training', { model, seed: 43 });
    expect(run.status).toBe('SUCCEEDED');
    expect(await t.twin.settle()).toEqual([]);
    expect((await t.registry.requireVersion(model, (run.output as { version: number }).version)).status).toBe(
      'Candidate',
    );
  });

  it('evaluates on the golden set when the model has one, records which one, and compares both models on it', async () => {
    const model = freshModel();
    await givenProduction(t, model);
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const { goldenId } = await storeGolden(
      t.lake,
      { def: definitionOf(model), from: 'models/credit.json' },
      readFileSync('data/credit_golden.csv'),
      'credit_golden.csv',
    ).finally(() => log.mockRestore());
    await ingestAs(t, model);
    const run = await t.twin.execute('training', { model, seed: 42 });
    expect(run.status, JSON.stringify(run.taskError)).toBe('SUCCEEDED');
    const out = run.output as { version: number; counts: PrepareOutput['counts'] };
    // Every golden row is a row of the demo data (each once), so those 200 raw rows stay out of training.
    expect(out.counts.golden).toBe(200);
    expect(out.counts.goldenDuplicates).toBe(200);
    expect(out.counts.train + out.counts.validation + out.counts.goldenDuplicates).toBe(4454);
    const v = await t.registry.requireVersion(model, out.version);
    expect(v.golden).toMatchObject({ source: 'golden-set', goldenId, rows: 200 });
    expect(v.metrics.golden?.rows).toBe(200);
    expect(lineage(v, t.lake.bucket)).toContain(`golden set     ${goldenId} (200 rows, sha256 `);

    const alias = await t.registry.getAlias(model);
    expect(alias?.current).toBeDefined();
    const compared = await compareModels(
      { model, version: out.version },
      { registry: t.registry, lake: t.lake, clock: systemClock },
    );
    expect(compared.incumbent).toBe(alias!.current);
    const { evidence } = JSON.parse(await t.lake.getText(compared.evidenceKey)) as { evidence: Evidence };
    expect(evidence.candidate.golden?.rows).toBe(200);
    expect(evidence.incumbent?.golden?.rows).toBe(200);
    expect(evidence.candidate.golden?.positives).toBe(56);
    expect(evidence.incumbent?.golden?.positives).toBe(56);
  });
});
