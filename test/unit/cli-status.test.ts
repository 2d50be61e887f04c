/**
 * `mlops status` as pure functions of what the target holds: which alarms it lists and with which
 * kind, how the audit trail and the alarm history become the actions list, the production line,
 * the drift summary and the lease, and the table a person reads.
 */
import { describe, expect, it } from 'vitest';
import { visible } from '../../cli/print.ts';
import { buildStatusReport, formatStatusReport, type StatusInputs } from '../../cli/status-report.ts';
import { alarmName } from '../../contracts/alarms.ts';
import type { TwinAlarm } from '../../contracts/twin-api.ts';
import type { DriftReport } from '../../core/drift/types.ts';
import {
  ACTION_AUDIT,
  type AuditEvent,
  type Lease,
  type ProductionAlias,
} from '../../core/registry/model.ts';

const NOW = new Date('2026-12-01T12:00:00.000Z');
const minutesAgo = (m: number) => new Date(NOW.getTime() - m * 60_000).toISOString();

function twinAlarm(name: string, state: TwinAlarm['state'], history: TwinAlarm['history'] = []): TwinAlarm {
  return {
    name,
    logicalId: 'Alarm',
    state,
    since: history.at(-1)?.at ?? minutesAgo(120),
    reason: `${state} because`,
    metric: { namespace: 'Mlops/dev', name: 'M', dimensions: { Model: 'credit' }, statistic: 'Maximum' },
    periodSeconds: 60,
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
    threshold: 0.25,
    comparison: 'GreaterThanOrEqualToThreshold',
    treatMissingData: 'notBreaching',
    history,
  };
}

const alias: ProductionAlias = {
  model: 'credit',
  current: 3,
  history: [1, 2],
  updatedAt: minutesAgo(30),
  reason: 'promoted',
  canary: { version: 4, weight: 0.1, startedAt: minutesAgo(5) },
};

const audit: AuditEvent[] = [
  {
    model: 'credit',
    at: minutesAgo(31),
    action: 'AliasMoved',
    version: 3,
    detail: { from: 2, to: 3, reason: 'promoted' },
  },
  {
    model: 'credit',
    at: minutesAgo(30),
    action: 'StatusChanged',
    version: 3,
    detail: { from: 'Approved', to: 'Production' },
  },
  {
    model: 'credit',
    at: minutesAgo(20),
    action: ACTION_AUDIT,
    detail: {
      kind: 'retrain',
      outcome: 'started',
      cause: 'feature drift on Income',
      trigger: 'alarm',
      alarm: 'a1',
    },
  },
  {
    model: 'credit',
    at: minutesAgo(10),
    action: ACTION_AUDIT,
    detail: { kind: 'retrain', outcome: 'refused', cause: 'schedule rate(7 days)', trigger: 'schedule' },
  },
  // A restored version (Retired → Production) is a rollback, not a promotion.
  {
    model: 'credit',
    at: minutesAgo(8),
    action: 'StatusChanged',
    version: 2,
    detail: { from: 'Retired', to: 'Production' },
  },
  { model: 'credit', at: minutesAgo(7), action: 'VersionRegistered', version: 5, detail: {} },
];

const report: DriftReport = {
  model: 'credit',
  version: 3,
  route: 'production',
  windowStart: minutesAgo(70),
  windowEnd: minutesAgo(10),
  samples: 500,
  minSamples: 100,
  status: 'judged',
  message: 'judged 500 rows',
  thresholds: { psiWarn: 0.1, psiAlarm: 0.25, nullRateIncreaseAlarm: 0.1 },
  prediction: { psi: 0.04, js: 0.05, ks: 0.06, mean: 0.4, baselineMean: 0.38, meanShift: 0.02, level: 'ok' },
  features: [],
  summary: {
    maxFeaturePsi: 0.31,
    maxFeature: 'Income',
    maxNullRateIncrease: 0.02,
    maxUnseenShare: 0,
    level: 'alarm',
  },
  baselineKey: 'baselines/credit/s/baseline.json',
  reportKey: 'reports/drift/credit/x.json',
};

const lease: Lease = {
  model: 'credit',
  name: 'training',
  holder: 'arn:exec:1',
  cause: 'feature drift on Income',
  since: minutesAgo(20),
  until: new Date(NOW.getTime() + 3600_000).toISOString(),
};

function inputs(over: Partial<StatusInputs> = {}): StatusInputs {
  return {
    model: 'credit',
    stage: 'dev',
    now: NOW,
    alias,
    audit,
    alarms: [
      twinAlarm(alarmName('dev', 'latency', 'credit'), 'OK'),
      twinAlarm(alarmName('dev', 'feature-drift', 'credit'), 'ALARM', [
        { at: minutesAgo(60), from: 'INSUFFICIENT_DATA', to: 'OK', reason: 'fine' },
        { at: minutesAgo(21), from: 'OK', to: 'ALARM', reason: 'Threshold Crossed: 1 datapoint [0.31]' },
      ]),
      twinAlarm(alarmName('dev', 'training-failure'), 'INSUFFICIENT_DATA'),
      // Another model's and another stage's alarms, and one the platform did not name, are left out.
      twinAlarm(alarmName('dev', 'latency', 'other'), 'ALARM', [
        { at: minutesAgo(2), from: 'OK', to: 'ALARM', reason: 'x' },
      ]),
      twinAlarm(alarmName('prod', 'latency', 'credit'), 'ALARM'),
      twinAlarm('someone-elses-alarm', 'ALARM'),
    ],
    drift: report,
    lease,
    limit: 20,
    ...over,
  };
}

describe('the status report', () => {
  it('names production, the previous version, the canary and the last promotion', () => {
    const r = buildStatusReport(inputs());
    expect(r.model).toBe('credit');
    expect(r.production).toEqual({ version: 3, previous: 2, since: alias.updatedAt, reason: 'promoted' });
    expect(r.canary).toEqual({ version: 4, weight: 0.1, startedAt: minutesAgo(5) });
    expect(r.shadow).toBeNull();
    expect(r.lastPromotion).toEqual({ at: minutesAgo(30), version: 3, reason: 'promoted' });
  });

  it('without a production alias says so with nulls', () => {
    const r = buildStatusReport(inputs({ alias: undefined, audit: [], drift: undefined, lease: undefined }));
    expect(r.production).toEqual({ version: null, previous: null, since: null, reason: null });
    expect(r).toMatchObject({ canary: null, lastPromotion: null, drift: null, lease: null });
    expect(visible(formatStatusReport(r, NOW))).toContain('credit  no production version');
  });

  it("lists the model's and the stage's alarms, ALARM first, each with its kind, severity and policy", () => {
    const r = buildStatusReport(inputs());
    expect(r.alarms.map((a) => [a.kind, a.state, a.model ?? 'stage'])).toEqual([
      ['feature-drift', 'ALARM', 'credit'],
      ['training-failure', 'INSUFFICIENT_DATA', 'stage'],
      ['latency', 'OK', 'credit'],
    ]);
    expect(r.alarms[0]).toMatchObject({
      name: 'mlops-dev-credit--feature-drift',
      severity: 'ticket',
      action: 'retrain',
      since: minutesAgo(21),
    });
    expect(r.alarms.filter((a) => a.kind.includes('drift')).map((a) => a.name)).toEqual([
      'mlops-dev-credit--feature-drift',
    ]);
  });

  it('merges the recorded actions with every entry into ALARM as a notification, newest first', () => {
    const r = buildStatusReport(inputs());
    expect(r.actions).toEqual([
      {
        at: minutesAgo(10),
        kind: 'retrain',
        outcome: 'refused',
        reason: 'schedule rate(7 days)',
        trigger: 'schedule',
      },
      {
        at: minutesAgo(20),
        kind: 'retrain',
        outcome: 'started',
        reason: 'feature drift on Income',
        trigger: 'alarm',
        alarm: 'a1',
      },
      {
        at: minutesAgo(21),
        kind: 'notify',
        outcome: 'done',
        reason: 'Input (feature) drift alarm: Threshold Crossed: 1 datapoint [0.31]',
        trigger: 'alarm',
        alarm: 'mlops-dev-credit--feature-drift',
      },
    ]);
    expect(buildStatusReport(inputs({ limit: 1 })).actions.map((a) => a.at)).toEqual([minutesAgo(10)]);
  });

  it('summarizes the latest drift report and tells a held lease from an expired one', () => {
    const r = buildStatusReport(inputs());
    expect(r.drift).toMatchObject({
      at: report.windowEnd,
      version: 3,
      samples: 500,
      level: 'alarm',
      predictionPsi: 0.04,
      maxFeature: 'Income',
      maxFeaturePsi: 0.31,
    });
    expect(r.lease).toEqual({ ...lease, expired: false });
    const stale = buildStatusReport(inputs({ lease: { ...lease, until: minutesAgo(1) } }));
    expect(stale.lease?.expired).toBe(true);
  });

  it('a drift report that judged nothing carries its message and no level', () => {
    const r = buildStatusReport(
      inputs({
        drift: {
          ...report,
          status: 'insufficient-samples',
          samples: 12,
          message: '12 rows, below 100: nothing judged',
          summary: undefined,
          prediction: undefined,
        } as DriftReport,
      }),
    );
    expect(r.drift).toMatchObject({ status: 'insufficient-samples', samples: 12 });
    expect(r.drift).not.toHaveProperty('level');
    expect(visible(formatStatusReport(r, NOW))).toContain('12 samples: 12 rows, below 100: nothing judged');
  });
});

describe('the status table', () => {
  const text = visible(formatStatusReport(buildStatusReport(inputs()), NOW));

  it('starts with production, previous, since when and why, then canary, promotion, drift and lease', () => {
    const lines = text.split('\n');
    expect(lines[0]).toBe(
      'credit  production v3, previous v2 — since 2026-12-01 11:30:00 (30m ago): promoted',
    );
    expect(lines[1]).toBe('  canary     v4 at 10% since 2026-12-01 11:55:00 (5m ago)');
    expect(lines[2]).toBe('  promoted   v3 2026-12-01 11:30:00 (30m ago): promoted');
    expect(lines[3]).toContain('drift      window to 2026-12-01 11:50:00 (10m ago), v3, 500 samples: alarm;');
    expect(lines[3]).toContain('max feature PSI 0.310 (Income)');
    expect(lines[4]).toBe(
      '  retraining held by arn:exec:1 since 2026-12-01 11:40:00 (20m ago), until 2026-12-01 13:00:00 (in 1h): feature drift on Income',
    );
  });

  it('aligns the alarm and action tables by column', () => {
    const alarmRows = text.split('\n').filter((l) => l.includes('mlops-dev-'));
    expect(alarmRows).toHaveLength(3);
    const at = alarmRows.map((l) => l.indexOf('mlops-dev-'));
    expect(new Set(at).size).toBe(1);
    expect(text).toMatch(/ {2}STATE +KIND +SEVERITY +ON ALARM +SINCE +NAME/);
    expect(text).toMatch(
      / {2}ALARM +feature-drift +ticket +retrain +2026-12-01 11:39:00 \(21m ago\) +mlops-dev-credit--feature-drift/,
    );
    expect(text).toMatch(/refused +schedule +schedule rate\(7 days\)/);
  });
});
