import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTION_AUDIT, type ActionRecord } from '../../core/registry/model.ts';
import { freshModel, givenProduction, registryBack } from '../support/pipeline-fixtures.ts';
import { startTestTwin, type TestTwin } from '../support/twin.ts';

const ALARM = 'mlops-test-credit-prediction-drift';

/** The rollback machine's input from the alarm rule (see lib/constructs/platform-monitoring.ts). */
function alarmInput(model: string) {
  return {
    model,
    trigger: 'alarm',
    alarm: ALARM,
    reason: 'Threshold Crossed: 1 out of the last 1 datapoints [0.41] was >= the threshold (0.25).',
  };
}

/** The rollback actions of a model's audit trail, oldest first. */
async function rollbackActions(t: TestTwin, model: string): Promise<ActionRecord[]> {
  return (await t.registry.listAudit(model))
    .filter((e) => e.action === ACTION_AUDIT)
    .map((e) => e.detail as unknown as ActionRecord)
    .filter((a) => a.kind === 'rollback');
}

// Each test has a model of its own (see test/support/pipeline-fixtures.ts), so it passes alone and in any order.
describe('the rollback policy in the rollback state machine, run locally from the synthesized ASL', () => {
  let t: TestTwin;
  beforeAll(async () => {
    t = await startTestTwin();
  });
  afterAll(async () => t.twin.stop());

  it('rolls a version promoted inside its guard window back to the last Retired version, passing over a RolledBack one', async () => {
    const model = freshModel();
    const [v1, v2, v3] = (await givenProduction(t, model, { versions: 3 })) as [number, number, number];
    expect((await t.registry.getAlias(model))?.history).toEqual([v1, v2]);
    // v2 served again and was rolled back since: it stays in the history but must not serve again.
    await t.registry.transition(model, v2, 'Production');
    await t.registry.transition(model, v2, 'RolledBack');

    const run = await t.twin.execute('rollback', alarmInput(model));
    expect(run.status, JSON.stringify(run.taskError)).toBe('SUCCEEDED');
    expect(run.states.slice(0, 3)).toEqual(['DecideRollback', 'Decision?', 'SyncRollbackTarget']);
    expect(run.output).toMatchObject({
      model,
      outcome: 'done',
      version: v1,
      from: v3,
      trigger: 'alarm',
      cause: `alarm ${ALARM}: ${alarmInput(model).reason}`,
    });
    const alias = await t.registry.getAlias(model);
    expect(alias).toMatchObject({ current: v1, history: [] });
    expect(alias?.restoredAt).toBeDefined();
    expect(alias?.promotedAt).toBeUndefined();
    expect((await t.registry.requireVersion(model, v1)).status).toBe('Production');
    expect((await t.registry.requireVersion(model, v2)).status).toBe('RolledBack');
    expect((await t.registry.requireVersion(model, v3)).status).toBe('RolledBack');
    expect(await rollbackActions(t, model)).toEqual([
      expect.objectContaining({
        outcome: 'done',
        trigger: 'alarm',
        alarm: ALARM,
        execution: run.executionArn,
        from: v3,
        to: v1,
        note: expect.stringContaining(`passed over v${v2} RolledBack`),
      }),
    ]);
    expect(t.twin.notifications.at(-1)).toMatchObject({ subject: 'Model rolled back' });
    expect(t.twin.notifications.at(-1)?.message).toContain(`rolled back from version ${v3} to version ${v1}`);

    // The restored version came back by a rollback, not a promotion: the next alarm leaves it alone.
    const again = await t.twin.execute('rollback', alarmInput(model));
    expect(again.status).toBe('SUCCEEDED');
    expect(again.output).toMatchObject({ outcome: 'skipped', version: v1, from: null });
    expect((await t.registry.getAlias(model))?.current).toBe(v1);
  });

  it('skips an alarm on a version promoted before its guard window: audited and notified, production stays', async () => {
    const model = freshModel();
    const [v1, v2] = (await givenProduction(t, model, { versions: 2 })) as [number, number];
    // v2 promoted 30 hours ago: outside the default 24-hour window.
    await registryBack(t, 30).moveAlias(model, v2, { current: v2, history: [v1], reason: 'promoted' });

    const run = await t.twin.execute('rollback', alarmInput(model));
    expect(run.status, JSON.stringify(run.taskError)).toBe('SUCCEEDED');
    expect(run.output).toMatchObject({
      model,
      outcome: 'skipped',
      version: v2,
      from: null,
      trigger: 'alarm',
    });
    expect(run.states).not.toContain('RollbackAlias');
    expect((await t.registry.getAlias(model))?.current).toBe(v2);
    expect((await t.registry.requireVersion(model, v2)).status).toBe('Production');
    expect(t.twin.notifications.at(-1)?.subject).toBe('Rollback skipped');
    expect(t.twin.notifications.at(-1)?.message).toMatch(/outside its 24 h guard window/);
    expect(await rollbackActions(t, model)).toEqual([
      expect.objectContaining({ outcome: 'skipped', alarm: ALARM, execution: run.executionArn, from: v2 }),
    ]);

    // An operator is not held to the guard window.
    const byHand = await t.twin.execute('rollback', { model, trigger: 'operator', reason: 'bad scores' });
    expect(byHand.output).toMatchObject({ outcome: 'done', version: v1, from: v2, reason: 'bad scores' });
  });

  it('pages when no earlier version served healthily, and rolls nothing back', async () => {
    const model = freshModel();
    const [v1] = (await givenProduction(t, model)) as [number];
    const run = await t.twin.execute('rollback', alarmInput(model));
    expect(run.status, JSON.stringify(run.taskError)).toBe('SUCCEEDED');
    expect(run.output).toMatchObject({ model, outcome: 'paged', version: v1, from: null });
    expect(run.output as { note: string }).toMatchObject({
      note: expect.stringContaining('nothing was rolled back'),
    });
    expect(t.twin.notifications.at(-1)?.subject).toMatch(/^\[page\] /);
    expect(t.twin.notifications.at(-1)?.subject).toContain(model);
    expect((await t.registry.getAlias(model))?.current).toBe(v1);
    expect((await t.registry.requireVersion(model, v1)).status).toBe('Production');
    expect(await rollbackActions(t, model)).toEqual([
      expect.objectContaining({ outcome: 'paged', trigger: 'alarm', execution: run.executionArn }),
    ]);
  });

  it('rolls back to the version an operator names, and refuses one that cannot serve again, naming the allowed ones', async () => {
    const model = freshModel();
    const [v1, v2, v3] = (await givenProduction(t, model, { versions: 3 })) as [number, number, number];

    const refused = await t.twin.execute('rollback', { model, to: v3, reason: 'typo' });
    expect(refused.status).toBe('FAILED');
    expect(refused.error).toBe('RollbackFailed');
    expect(refused.taskError).toMatchObject({ state: 'DecideRollback', error: 'InvalidInput' });
    expect(refused.taskError?.cause).toContain(
      `cannot go back to version ${v3}: it is the version in production. Versions it can go back to: ${v2}, ${v1}.`,
    );
    expect((await t.registry.getAlias(model))?.current).toBe(v3);

    const run = await t.twin.execute('rollback', {
      model,
      trigger: 'operator',
      to: v1,
      reason: 'both later versions misprice',
    });
    expect(run.status, JSON.stringify(run.taskError)).toBe('SUCCEEDED');
    expect(run.output).toMatchObject({ outcome: 'done', version: v1, from: v3, trigger: 'operator' });
    expect(await t.registry.getAlias(model)).toMatchObject({ current: v1, history: [] });
    // v2 is passed over, not rolled back: it served healthily and stays Retired.
    expect((await t.registry.requireVersion(model, v2)).status).toBe('Retired');
    expect((await t.registry.requireVersion(model, v3)).status).toBe('RolledBack');
    expect(await rollbackActions(t, model)).toEqual([
      expect.objectContaining({
        outcome: 'done',
        trigger: 'operator',
        cause: 'operator: both later versions misprice',
        from: v3,
        to: v1,
      }),
    ]);
  });
});
