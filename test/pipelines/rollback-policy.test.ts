import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTION_AUDIT, type ActionRecord } from '../../core/registry/model.ts';
import { LocalStepFunctions } from '../../local/step-functions.ts';
import {
  aslDefinition,
  freshModel,
  givenProduction,
  placeholderArn,
  registryBack,
} from '../support/pipeline-fixtures.ts';
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

/** The rollback ASL (and the endpoint sync it nests) with each task answered by the test; every task input recorded. */
async function runRollbackAsl(decision: Record<string, unknown>) {
  const calls: { state: string; input: unknown }[] = [];
  const answers: Record<string, (input: unknown) => unknown> = {
    DecideRollback: () => ({ Payload: decision }),
    SyncEndpoint: () => ({ Payload: { ready: true } }),
    RollbackAlias: () => ({
      Payload: {
        model: decision.model,
        version: decision.target,
        from: decision.from,
        reason: decision.reason,
        trigger: decision.trigger,
        cause: decision.cause,
        note: decision.note,
      },
    }),
    Redeploy: () => ({ Payload: {} }),
  };
  const sync = placeholderArn('EndpointSyncStateMachineArn');
  const arn = 'arn:aws:states:us-east-1:123456789012:stateMachine:rollback';
  const sfn = new LocalStepFunctions({
    machines: [
      { arn, definition: aslDefinition('rollback') },
      { arn: sync, definition: aslDefinition('endpoint-sync') },
    ],
    task: (resource, state) => async (input) => {
      calls.push({ state, input });
      if (resource === 'arn:aws:states:::sns:publish') return { MessageId: 'm' };
      const answer = answers[state];
      if (!answer) throw new Error(`no answer for ${state}`);
      return answer(input);
    },
    waitMs: () => 0,
  });
  const run = await sfn.execute(arn, { model: 'm', trigger: 'alarm', alarm: 'a', reason: 'r' });
  return { run, calls };
}

const decided = {
  model: 'm',
  trigger: 'alarm',
  alarm: 'a',
  reason: 'r',
  cause: 'alarm a: r',
  note: 'n',
  from: 3,
  message: 'the message',
};

describe('the rollback ASL follows the decision', () => {
  it('puts the decided version (not the latest history entry) on the endpoint before the alias moves to it', async () => {
    const { run, calls } = await runRollbackAsl({ ...decided, outcome: 'rollback', target: 1 });
    expect(run.status).toBe('SUCCEEDED');
    expect(calls.map((c) => c.state)).toEqual([
      'DecideRollback',
      'SyncEndpoint',
      'RollbackAlias',
      'Redeploy',
      'SyncEndpoint',
      'NotifyRollback',
    ]);
    expect(calls[0]!.input).toMatchObject({
      Payload: {
        action: 'decide',
        input: { model: 'm', trigger: 'alarm', alarm: 'a', reason: 'r' },
        execution: run.executionArn,
      },
    });
    expect(calls[1]!.input).toMatchObject({
      Payload: { model: 'm', include: [1], includePrevious: false },
    });
    expect(calls[2]!.input).toMatchObject({
      Payload: { action: 'rollback', decision: { target: 1, from: 3 }, execution: run.executionArn },
    });
    expect(calls[3]!.input).toMatchObject({ Payload: { model: 'm', version: 1 } });
    expect(run.output).toEqual({
      model: 'm',
      outcome: 'done',
      version: 1,
      from: 3,
      reason: 'r',
      trigger: 'alarm',
      cause: 'alarm a: r',
      note: 'n',
    });
  });

  it('moves nothing when the decision is skipped or paged, and tells operators (a page by its subject)', async () => {
    for (const outcome of ['skipped', 'paged'] as const) {
      const { run, calls } = await runRollbackAsl({ ...decided, outcome, target: null });
      expect(run.status).toBe('SUCCEEDED');
      expect(calls.map((c) => c.state)).toEqual([
        'DecideRollback',
        outcome === 'paged' ? 'PageOperators' : 'NotifySkipped',
      ]);
      const sns = calls[1]!.input as { Subject: string; Message: string };
      expect(sns.Message).toBe('the message');
      if (outcome === 'paged')
        expect(sns.Subject).toBe('[page] Model m has no healthy version to roll back to');
      else expect(sns.Subject).toBe('Rollback skipped');
      expect(run.output).toEqual({
        model: 'm',
        outcome,
        version: 3,
        from: null,
        reason: 'r',
        trigger: 'alarm',
        cause: 'alarm a: r',
        note: 'n',
      });
    }
  });
});
