import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionRecord } from '../../contracts/twin-api.ts';
import { TRAINING_LEASE } from '../../core/policy/lease.ts';
import { ACTION_AUDIT, type ActionRecord, type Lease } from '../../core/registry/model.ts';
import { LocalStepFunctions, type TaskRunner } from '../../local/step-functions.ts';
import { aslDefinition, freshModel, ingestAs, leasesOf } from '../support/pipeline-fixtures.ts';
import { startTestTwin, type TestTwin } from '../support/twin.ts';

/** The retrain actions of a model's audit trail, oldest first. */
async function retrainActions(t: TestTwin, model: string): Promise<ActionRecord[]> {
  return (await t.registry.listAudit(model))
    .filter((e) => e.action === ACTION_AUDIT)
    .map((e) => e.detail as unknown as ActionRecord)
    .filter((a) => a.kind === 'retrain');
}

/** A lease of the model held by another run, expiring `minutes` from now (negative: expired). */
function heldLease(model: string, minutes: number): Lease {
  const now = Date.now();
  return {
    model,
    name: TRAINING_LEASE,
    holder: 'arn:aws:states:us-east-1:123456789012:execution:training:another-run',
    cause: 'scheduled: schedule rate(7 days)',
    since: new Date(now - 60_000).toISOString(),
    until: new Date(now + minutes * 60_000).toISOString(),
  };
}

// Each test has a model of its own (see test/support/pipeline-fixtures.ts), so it passes alone and in any order.
describe('the retraining lease in the training state machine, run locally from the synthesized ASL', () => {
  let t: TestTwin;
  beforeAll(async () => {
    t = await startTestTwin();
  });
  afterAll(async () => t.twin.stop());

  it('lets exactly one of two runs started together train; the other is recorded as refused, not run', async () => {
    const model = freshModel();
    await ingestAs(t, model);
    const runs = await Promise.all([
      t.twin.execute('training', { model, seed: 42, trigger: 'operator', reason: 'new data' }),
      t.twin.execute('training', {
        model,
        trigger: 'alarm',
        alarm: 'mlops-test-credit-feature-drift',
        reason: 'Threshold Crossed',
      }),
    ]);
    expect(runs.map((r) => r.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    const refused = runs.filter((r) => (r.output as { refused?: boolean }).refused === true);
    const trained = runs.filter((r) => (r.output as { version?: number }).version !== undefined);
    expect(refused).toHaveLength(1);
    expect(trained).toHaveLength(1);
    const [winner, loser] = [trained[0]!, refused[0]!];
    expect(loser.output).toEqual({
      model,
      refused: true,
      lease: expect.objectContaining({ model, name: TRAINING_LEASE, holder: winner.executionArn }),
    });
    expect(loser.states).toEqual(['AcquireLease', 'LeaseTaken?', 'Refused']);
    expect(winner.states.slice(0, 5)).toEqual([
      'AcquireLease',
      'LeaseTaken?',
      'PlanPrepare',
      'PreparePath?',
      'PrepareFeatures',
    ]);
    expect(winner.states.slice(-2)).toEqual(['ReleaseLease', 'Done']);
    // One version registered: the refused run trained nothing.
    expect((await t.registry.listVersions(model)).map((v) => v.version)).toEqual([
      (winner.output as { version: number }).version,
    ]);
    // Both starts are in the audit trail, each naming its cause and execution.
    const actions = await retrainActions(t, model);
    expect(actions).toHaveLength(2);
    expect(actions.find((a) => a.outcome === 'started')).toMatchObject({
      execution: winner.executionArn,
    });
    expect(actions.find((a) => a.outcome === 'refused')).toMatchObject({
      execution: loser.executionArn,
      note: expect.stringContaining(`not run: ${winner.executionArn} holds the training lease`),
    });
    const byTrigger = Object.fromEntries(actions.map((a) => [a.trigger, a]));
    expect(byTrigger.operator?.cause).toBe('operator: new data');
    expect(byTrigger.alarm).toMatchObject({
      cause: 'alarm mlops-test-credit-feature-drift: Threshold Crossed',
      alarm: 'mlops-test-credit-feature-drift',
    });
    // The winner gave the lease up at its end.
    expect(await leasesOf(t).get(model, TRAINING_LEASE)).toBeUndefined();
  });

  it('refuses a start while another run holds the lease, and leaves that lease alone', async () => {
    const model = freshModel();
    await ingestAs(t, model);
    const lease = heldLease(model, 60);
    expect((await leasesOf(t).acquire(lease)).acquired).toBe(true);
    const run = await t.twin.execute('training', {
      model,
      trigger: 'schedule',
      reason: 'schedule rate(7 days)',
    });
    expect(run.status).toBe('SUCCEEDED');
    expect(run.output).toEqual({ model, refused: true, lease });
    expect(run.states).not.toContain('PrepareFeatures');
    expect(await t.registry.listVersions(model)).toEqual([]);
    expect(await leasesOf(t).get(model, TRAINING_LEASE)).toEqual(lease);
    expect(await retrainActions(t, model)).toEqual([
      expect.objectContaining({
        outcome: 'refused',
        trigger: 'schedule',
        cause: 'scheduled: schedule rate(7 days)',
        execution: run.executionArn,
      }),
    ]);
  });

  it('gives the lease up when the run fails, and still fails it with TrainingFailed', async () => {
    const model = freshModel();
    // No data ingested: PrepareFeatures fails.
    const run = await t.twin.execute('training', { model });
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('TrainingFailed');
    expect(run.taskError).toMatchObject({ state: 'PrepareFeatures', error: 'NoRawData' });
    expect(run.states.slice(-3)).toEqual(['NotifyFailure', 'ReleaseLeaseAfterFailure', 'TrainingFailed']);
    expect(await leasesOf(t).get(model, TRAINING_LEASE)).toBeUndefined();
    expect(await retrainActions(t, model)).toEqual([
      expect.objectContaining({ outcome: 'started', trigger: 'operator', execution: run.executionArn }),
    ]);
    // Free again: the next start is not refused.
    const again = await t.twin.execute('training', { model });
    expect(again.taskError?.state).toBe('PrepareFeatures');
  });

  it('takes a lease whose run never gave it up once it has expired', async () => {
    const model = freshModel();
    const stale = heldLease(model, -1);
    expect((await leasesOf(t).acquire(stale)).acquired).toBe(true);
    // No data: the run fails in PrepareFeatures, which it reaches only with the lease.
    const run = await t.twin.execute('training', { model });
    expect(run.states.slice(0, 5)).toEqual([
      'AcquireLease',
      'LeaseTaken?',
      'PlanPrepare',
      'PreparePath?',
      'PrepareFeatures',
    ]);
    expect((await retrainActions(t, model)).map((a) => a.outcome)).toEqual(['started']);
    // Its own lease, released at its end; the stale one is gone with it.
    expect(await leasesOf(t).get(model, TRAINING_LEASE)).toBeUndefined();
  });

  it('fails a start with a trigger it does not know, naming the allowed ones', async () => {
    const model = freshModel();
    const run = await t.twin.execute('training', { model, trigger: 'cron' });
    expect(run.status).toBe('FAILED');
    expect(run.taskError).toMatchObject({ state: 'AcquireLease', error: 'InvalidInput' });
    expect(run.taskError?.cause).toMatch(
      /trigger must be one of operator, schedule, alarm, got \\?"cron\\?"/,
    );
  });
});

/** Runs the training ASL with each task state answered by `tasks` (by state name). */
async function runWith(tasks: Record<string, TaskRunner>, input: unknown): Promise<ExecutionRecord> {
  const arn = 'arn:aws:states:us-east-1:123456789012:stateMachine:training';
  const sfn = new LocalStepFunctions({
    machines: [
      {
        arn,
        definition: aslDefinition('training', {
          TrainingVolumeSizeGb: '30',
          TrainingMaxRuntimeSeconds: '3600',
          TrainingInstanceType: 'ml.g5.xlarge',
          PrepareMaxConcurrency: '10',
        }),
      },
    ],
    task: (_resource, state) =>
      tasks[state] ??
      (async () => {
        throw new Error(`no stub for ${state}`);
      }),
    waitMs: () => 0,
  });
  return sfn.execute(arn, input);
}

const payload = (value: unknown) => async () => ({ Payload: value });
const failing = (name: string) => async () => {
  throw Object.assign(new Error(`${name} for the test`), { name });
};

/** A run whose every step succeeds; a test overrides the steps it is about. */
const happy: Record<string, TaskRunner> = {
  AcquireLease: payload({ acquired: true, lease: {} }),
  PlanPrepare: payload({ mode: 'single' }),
  PrepareFeatures: payload({
    trainingJobName: 'job',
    hyperParameters: {},
    channels: { train: 's3://b/train', validation: 's3://b/validation' },
    resources: { instanceCount: 1, trainDistribution: 'FullyReplicated' },
    definition: { promotion: { approval: 'manual' } },
    snapshotId: 'snap',
    counts: { rows: 10 },
  }),
  Train: async () => ({
    TrainingJobName: 'job',
    ModelArtifacts: { S3ModelArtifacts: 's3://b/model.tar.gz' },
  }),
  Evaluate: payload({}),
  Register: payload({ version: 7, status: 'Candidate', metrics: { auc: 0.8 } }),
  ReleaseLease: payload({ released: true }),
  NotifyFailure: async () => ({ MessageId: 'm' }),
  ReleaseLeaseAfterFailure: payload({ released: true }),
};

describe('the training ASL when giving the lease up fails', () => {
  it('keeps the run successful, with its usual output', async () => {
    const run = await runWith({ ...happy, ReleaseLease: failing('ReleaseBroken') }, { model: 'm' });
    expect(run.status).toBe('SUCCEEDED');
    expect(run.output).toEqual({
      model: 'm',
      version: 7,
      status: 'Candidate',
      metrics: { auc: 0.8 },
      snapshotId: 'snap',
      counts: { rows: 10 },
    });
    expect(run.states.slice(-2)).toEqual(['ReleaseLease', 'Done']);
  });

  it('keeps a failed run failed with TrainingFailed', async () => {
    const run = await runWith(
      { ...happy, PrepareFeatures: failing('NoRawData'), ReleaseLeaseAfterFailure: failing('ReleaseBroken') },
      { model: 'm' },
    );
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('TrainingFailed');
    expect(run.taskError).toMatchObject({ state: 'PrepareFeatures', error: 'NoRawData' });
  });
});
