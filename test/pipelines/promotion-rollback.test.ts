import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shuffledLabels, startTestTwin, type TestTwin } from '../support/twin.ts';

const demoCsv = readFileSync('data/credit_data.csv', 'utf8');

async function trainVersion(t: TestTwin, seed: number): Promise<number> {
  const run = await t.twin.execute('training', { model: 'credit', seed });
  expect(run.status, JSON.stringify(run.taskError)).toBe('SUCCEEDED');
  return (run.output as { version: number }).version;
}

describe('promotion and rollback state machines, run locally from the synthesized ASL', () => {
  let t: TestTwin;
  beforeAll(async () => {
    t = await startTestTwin();
    await t.ingestText('credit', demoCsv);
  });
  afterAll(async () => t.twin.stop());

  it('fails the rollback when there is no production version', async () => {
    const run = await t.twin.execute('rollback', { model: 'credit' });
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('RollbackFailed');
    expect(run.taskError).toMatchObject({ state: 'RollbackAlias', error: 'NoPreviousVersion' });
  });

  it('promotes a candidate that passes the guardrail', async () => {
    const v1 = await trainVersion(t, 42);
    const run = await t.twin.execute('promotion', { model: 'credit', version: v1 });
    expect(run.status).toBe('SUCCEEDED');
    expect(run.output).toMatchObject({ model: 'credit', version: v1, previous: null });
    expect((await t.registry.getAlias('credit'))?.current).toBe(v1);
    const v = await t.registry.requireVersion('credit', v1);
    expect(v.status).toBe('Production');
    expect(v.decision?.approved).toBe(true);
  });

  it('fails the rollback of the first production version: there is nothing to go back to', async () => {
    const run = await t.twin.execute('rollback', { model: 'credit' });
    expect(run.taskError?.error).toBe('NoPreviousVersion');
    expect((await t.registry.getAlias('credit'))?.current).toBe(1);
  });

  it('refuses a candidate below the AUC floor, records why, and leaves production alone', async () => {
    await t.ingestText('credit', shuffledLabels(demoCsv));
    const bad = await trainVersion(t, 42);
    await t.ingestText('credit', demoCsv);
    const run = await t.twin.execute('promotion', { model: 'credit', version: bad });
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('GuardrailRefused');
    const v = await t.registry.requireVersion('credit', bad);
    expect(v.status).toBe('Rejected');
    expect(v.decision?.approved).toBe(false);
    expect(v.decision?.reasons[0]).toMatch(/^validation AUC 0\.\d{4} is below the floor 0\.7000$/);
    expect((await t.registry.getAlias('credit'))?.current).toBe(1);
    expect(t.twin.notifications.at(-1)?.subject).toBe('Promotion refused');
  });

  it('fails a promotion of a version that does not exist', async () => {
    const run = await t.twin.execute('promotion', { model: 'credit', version: 99 });
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('PromotionFailed');
    expect(run.taskError).toMatchObject({ state: 'Guardrail', error: 'VersionNotFound' });
  });

  it('rolls back to the previous production version in one execution', async () => {
    const v2 = await trainVersion(t, 7);
    expect((await t.twin.execute('promotion', { model: 'credit', version: v2 })).status).toBe('SUCCEEDED');
    expect((await t.registry.getAlias('credit'))?.current).toBe(v2);
    const run = await t.twin.execute('rollback', { model: 'credit', reason: 'test' });
    expect(run.status).toBe('SUCCEEDED');
    expect(run.output).toMatchObject({ version: 1, from: v2, reason: 'test' });
    expect((await t.registry.getAlias('credit'))?.current).toBe(1);
    expect((await t.registry.requireVersion('credit', v2)).status).toBe('RolledBack');
    expect((await t.registry.requireVersion('credit', 1)).status).toBe('Production');
    expect(t.twin.notifications.at(-1)?.message).toContain(
      `rolled back from version ${v2} to version 1: test`,
    );
  });
});
