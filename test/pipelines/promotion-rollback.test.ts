import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  creditJson,
  demoCsv,
  freshModel,
  givenCandidate,
  givenProduction,
  type TrainingInputs,
} from '../support/pipeline-fixtures.ts';
import { predictEvent, sampleRows, shiftedCredit } from '../support/requests.ts';
import { shuffledLabels, startTestTwin, type TestTwin } from '../support/twin.ts';
import { until } from '../support/until.ts';

// Each test has a model of its own (see test/support/pipeline-fixtures.ts), so it passes alone and in any order.
describe('promotion and rollback state machines, run locally from the synthesized ASL', () => {
  let t: TestTwin;
  beforeAll(async () => {
    t = await startTestTwin();
  });
  afterEach(() => {
    t.twin.waitMs = {};
  });
  afterAll(async () => t.twin.stop());

  it('fails the rollback when there is no production version', async () => {
    const model = freshModel();
    const run = await t.twin.execute('rollback', { model });
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('RollbackFailed');
    expect(run.taskError).toMatchObject({ state: 'DecideRollback', error: 'NoPreviousVersion' });
  });

  it('promotes a candidate that passes the guardrail', async () => {
    const model = freshModel();
    const v1 = await givenCandidate(t, model);
    const run = await t.twin.execute('promotion', { model, version: v1 });
    expect(run.status).toBe('SUCCEEDED');
    expect(run.output).toMatchObject({ model, version: v1, previous: null });
    expect((await t.registry.getAlias(model))?.current).toBe(v1);
    const v = await t.registry.requireVersion(model, v1);
    expect(v.status).toBe('Production');
    expect(v.decision?.approved).toBe(true);
  });

  it('fails the rollback of the first production version: there is nothing to go back to', async () => {
    const model = freshModel();
    await givenProduction(t, model);
    const run = await t.twin.execute('rollback', { model });
    expect(run.taskError?.error).toBe('NoPreviousVersion');
    expect((await t.registry.getAlias(model))?.current).toBe(1);
  });

  it('refuses a candidate below the AUC floor, records why, and leaves production alone', async () => {
    const model = freshModel();
    await givenProduction(t, model);
    const bad = await givenCandidate(t, model, { csv: shuffledLabels(demoCsv) });
    const run = await t.twin.execute('promotion', { model, version: bad });
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('GuardrailRefused');
    const v = await t.registry.requireVersion(model, bad);
    expect(v.status).toBe('Rejected');
    expect(v.decision?.approved).toBe(false);
    expect(v.decision?.reasons[0]).toMatch(/^validation AUC 0\.\d{4} < min 0\.7000$/);
    expect((await t.registry.getAlias(model))?.current).toBe(1);
    expect(t.twin.notifications.at(-1)?.subject).toBe('Promotion refused');
  });

  it('fails a promotion of a version that does not exist', async () => {
    const run = await t.twin.execute('promotion', { model: freshModel(), version: 99 });
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('PromotionFailed');
    expect(run.taskError).toMatchObject({ state: 'CompareWithIncumbent', error: 'VersionNotFound' });
  });

  it('rolls back to the previous production version in one execution', async () => {
    const model = freshModel();
    await givenProduction(t, model);
    const v2 = await givenCandidate(t, model, { seed: 7 });
    expect((await t.twin.execute('promotion', { model, version: v2 })).status).toBe('SUCCEEDED');
    expect((await t.registry.getAlias(model))?.current).toBe(v2);
    const run = await t.twin.execute('rollback', { model, reason: 'test' });
    expect(run.status).toBe('SUCCEEDED');
    expect(run.output).toMatchObject({
      outcome: 'done',
      version: 1,
      from: v2,
      reason: 'test',
      trigger: 'operator',
    });
    expect((await t.registry.getAlias(model))?.current).toBe(1);
    expect((await t.registry.requireVersion(model, v2)).status).toBe('RolledBack');
    expect((await t.registry.requireVersion(model, 1)).status).toBe('Production');
    expect(t.twin.notifications.at(-1)?.message).toContain(
      `rolled back from version ${v2} to version 1: test`,
    );
  });

  describe('guardrail refusals against the incumbent, recorded with their evidence', () => {
    const base = creditJson;
    /** A model with version 1 in production and a candidate trained from `inputs`. */
    async function candidate(inputs: TrainingInputs): Promise<{ model: string; version: number }> {
      const model = freshModel();
      await givenProduction(t, model);
      return { model, version: await givenCandidate(t, model, inputs) };
    }
    async function refusedFor({ model, version }: { model: string; version: number }): Promise<string[]> {
      const run = await t.twin.execute('promotion', { model, version });
      expect(run.status).toBe('FAILED');
      expect(run.error).toBe('GuardrailRefused');
      const [record] = await t.registry.listEvidence(model, version);
      expect(record?.approved).toBe(false);
      expect(record?.incumbent).toBe(1);
      expect(record?.checks.some((c) => !c.passed)).toBe(true);
      expect((await t.registry.getAlias(model))?.current).toBe(1);
      return record!.reasons;
    }

    it('refuses a candidate worse than the incumbent on the same rows', async () => {
      const weak = await candidate({
        definition: {
          ...base,
          training: { ...base.training, hyperparameters: { num_round: 3, max_depth: 1, eta: 0.3 } },
        },
      });
      const reasons = await refusedFor(weak);
      expect(reasons.join('\n')).toMatch(
        /validation AUC 0\.\d{4} vs incumbent v1 0\.\d{4}: drop 0\.\d{4} > max 0\.0200/,
      );
    });

    it('refuses a candidate whose slice drops beyond the bound even when it is no worse overall', async () => {
      const strict = await candidate({
        definition: {
          ...base,
          guardrail: { ...base.guardrail, maxAucDrop: 0.05, maxSliceAucDrop: 0, minSliceSize: 30 },
        },
        seed: 7,
      });
      const reasons = await refusedFor(strict);
      expect(reasons.join('\n')).toMatch(
        /slice "[^"]+" group "[^"]+" \(\d+ rows\): AUC 0\.\d{4} vs incumbent v1 0\.\d{4}: drop 0\.\d{4} > max 0\.0000/,
      );
      expect(reasons.join('\n')).not.toMatch(/^validation AUC .* drop .* > max/m);
    });

    it('refuses a candidate with a leaky feature that alone predicts the label', async () => {
      const lines = demoCsv.trimEnd().split('\n');
      const leaky = `${lines[0]},"Collections"\n${lines
        .slice(1)
        .map((l) => `${l},${l.startsWith('"bad"') ? 1 : 0}`)
        .join('\n')}\n`;
      const version = await candidate({
        definition: {
          ...base,
          spec: { ...base.spec, features: [...base.spec.features, { name: 'Collections', type: 'numeric' }] },
        },
        csv: leaky,
      });
      const reasons = await refusedFor(version);
      expect(reasons.join('\n')).toMatch(/Collections/);
    });
  });

  it('lets exactly one of two racing promotions win; the other fails with AliasConflict and production is the winner', async () => {
    const model = freshModel();
    await givenProduction(t, model);
    const a = await givenCandidate(t, model, { seed: 7 });
    const b = await givenCandidate(t, model, { seed: 7 });
    const runs = await Promise.all([
      t.twin.execute('promotion', { model, version: a }),
      t.twin.execute('promotion', { model, version: b }),
    ]);
    const won = runs.filter((r) => r.status === 'SUCCEEDED');
    const lost = runs.filter((r) => r.status === 'FAILED');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    // The loser meets the winner at its canary or at the alias, whichever it reaches first.
    expect(lost[0]!.taskError?.error).toBe('AliasConflict');
    expect(['StartCanary', 'SetProductionAlias']).toContain(lost[0]!.taskError?.state);
    const winner = (won[0]!.output as { version: number }).version;
    expect((await t.registry.getAlias(model))?.current).toBe(winner);
    expect((await t.registry.requireVersion(model, winner)).status).toBe('Production');
  });

  it('marks the candidate Failed and tells operators when its evaluation fails', async () => {
    const model = freshModel();
    const version = await givenCandidate(t, model);
    const v = await t.registry.requireVersion(model, version);
    // A lost artifact: the comparison cannot score the candidate.
    await t.lake.put(v.artifacts.modelJson, 'not a model');
    const run = await t.twin.execute('promotion', { model, version });
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('PromotionFailed');
    expect(run.taskError).toMatchObject({ state: 'CompareWithIncumbent', error: 'ArtifactInvalid' });
    expect((await t.registry.requireVersion(model, version)).status).toBe('Failed');
    expect(t.twin.notifications.at(-1)).toMatchObject({ subject: 'Promotion failed' });
    expect(t.twin.notifications.at(-1)?.message).toContain(`version ${version} failed with ArtifactInvalid`);
  });

  it('rolls a canary back when its served scores drift from the incumbent, and the incumbent keeps serving', async () => {
    const shifted = shiftedCredit({
      canary: { weight: 0.5, bakeSeconds: 1, minSamples: 20, maxScorePsi: 0.1, maxBakes: 100 },
    });
    const model = freshModel();
    await givenProduction(t, model);
    const candidateVersion = await givenCandidate(t, model, { definition: shifted });
    const incumbent = (await t.registry.getAlias(model))!.current;
    // Short bakes, repeated until both versions have served enough predictions, however slow the machine.
    t.twin.waitMs.Bake = 500;
    const promotion = t.twin.execute('promotion', { model, version: candidateVersion });
    for (let i = 0; i < 600 && !(await t.registry.getAlias(model))?.canary; i++)
      await new Promise((r) => setTimeout(r, 50));
    if (!(await t.registry.getAlias(model))?.canary) {
      const r = await promotion;
      const decision = (await t.registry.requireVersion(model, candidateVersion)).decision;
      throw new Error(
        `no canary: ${JSON.stringify({ status: r.status, error: r.error, task: r.taskError, decision })}`,
      );
    }
    expect((await t.registry.getAlias(model))?.canary).toMatchObject({
      version: candidateVersion,
      weight: 0.5,
    });
    const instances = sampleRows(20);
    const served = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const res = (await t.twin.invoke(t.twin.apiFunctionArn(), predictEvent(instances, model))) as {
        statusCode: number;
        body: string;
      };
      expect(res.statusCode).toBe(200);
      served.add(JSON.parse(res.body).modelVersion);
    }
    expect(served).toEqual(new Set([String(incumbent), String(candidateVersion)]));
    const run = await promotion;
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('CanaryRolledBack');
    const alias = await t.registry.getAlias(model);
    expect(alias?.current).toBe(incumbent);
    expect(alias?.canary).toBeUndefined();
    expect((await t.registry.requireVersion(model, candidateVersion)).status).toBe('RolledBack');
    expect(t.twin.notifications.at(-1)?.subject).toBe('Canary rolled back');
    // The drift is among the reasons; on a loaded machine the canary may also be judged slower.
    expect(t.twin.notifications.at(-1)?.message).toMatch(
      new RegExp(
        `version ${candidateVersion} was rolled back \\((?:[^()]*\\([^()]*\\)[^()]*; )?served scores of v${candidateVersion} drift from v${incumbent}'s: PSI \\d\\.\\d{4} > max 0\\.1000`,
      ),
    );
  });

  it('rolls back a candidate whose shadow disagrees with production beyond minAgreement, before it answers anyone', async () => {
    const shifted = shiftedCredit({
      shadow: { bakeSeconds: 1, minSamples: 20, maxBakes: 100, minAgreement: 0.95 },
    });
    const model = freshModel();
    await givenProduction(t, model);
    const candidateVersion = await givenCandidate(t, model, { definition: shifted });
    const incumbent = (await t.registry.getAlias(model))!.current;
    t.twin.waitMs.ShadowBake = 300;
    const promotion = t.twin.execute('promotion', { model, version: candidateVersion });
    await until(async () => (await t.registry.getAlias(model))?.shadow !== undefined, 'the shadow to start');
    const instances = sampleRows(20);
    for (let i = 0; i < 5; i++) {
      const res = (await t.twin.invoke(t.twin.apiFunctionArn(), predictEvent(instances, model))) as {
        statusCode: number;
        body: string;
      };
      expect(res.statusCode).toBe(200);
      expect(JSON.parse(res.body).modelVersion).toBe(String(incumbent));
    }
    const run = await promotion;
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('ShadowDisagreed');
    expect(run.states).not.toContain('StartCanary');
    expect((await t.registry.getAlias(model))?.current).toBe(incumbent);
    expect((await t.registry.getAlias(model))?.shadow).toBeUndefined();
    expect((await t.registry.requireVersion(model, candidateVersion)).status).toBe('RolledBack');
    expect(t.twin.notifications.at(-1)?.subject).toBe('Shadow refused');
    expect(t.twin.notifications.at(-1)?.message).toMatch(
      new RegExp(
        `shadow v${candidateVersion} vs production v${incumbent}: labels agree on \\d+\\.\\d% of \\d+ predictions.*below min agreement 95\\.0%`,
      ),
    );
  });

  it('bakes again while traffic is too low to judge, then follows lowTraffic: rollback', async () => {
    const base = creditJson;
    const quiet = {
      ...base,
      guardrail: { ...base.guardrail, maxAucDrop: 0.05, maxLogLossIncrease: 5, maxSliceAucDrop: 0.5 },
      promotion: {
        approval: 'manual',
        canary: { weight: 0.5, bakeSeconds: 1, minSamples: 20, maxBakes: 3, lowTraffic: 'rollback' },
      },
    };
    const model = freshModel();
    await givenProduction(t, model);
    const candidateVersion = await givenCandidate(t, model, { definition: quiet, seed: 7 });
    const incumbent = (await t.registry.getAlias(model))!.current;
    const run = await t.twin.execute('promotion', { model, version: candidateVersion });
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('CanaryRolledBack');
    expect(run.states.filter((s) => s === 'CheckCanary')).toHaveLength(3);
    expect((await t.registry.getAlias(model))?.current).toBe(incumbent);
    expect((await t.registry.requireVersion(model, candidateVersion)).status).toBe('RolledBack');
    expect(t.twin.notifications.at(-1)?.message).toContain(
      'too few predictions to compare after 3 bakes (canary 0, incumbent 0; at least 20 each): lowTraffic is rollback',
    );
  });
});
