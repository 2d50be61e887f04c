/**
 * The twin's CloudWatch alarms, as pure parts with explicit times: statistics, M-of-N evaluation
 * with each missing-data treatment (the rows of CloudWatch's documentation tables), the reading of
 * alarm resources as CDK synthesizes them, and a store-backed alarm evaluated at chosen instants.
 */
import { describe, expect, it } from 'vitest';
import type { AlarmStateValue } from '../../contracts/twin-api.ts';
import {
  type AlarmDefinition,
  type AlarmStateChange,
  alarmNotification,
  alarmStateChangeEvent,
  evaluateDatapoints,
  isEmulated,
  LocalAlarms,
  type MissingDataTreatment,
  readAlarm,
} from '../../local/alarms.ts';
import { computeStatistic, MetricStore, parseStatistic } from '../../local/cloudwatch.ts';

describe('statistics', () => {
  const values = [4, 1, 3, 2, 10];

  it.each([
    ['SampleCount', 5],
    ['Sum', 20],
    ['Average', 4],
    ['Minimum', 1],
    ['Maximum', 10],
    ['p50', 3],
    ['p80', 4],
    ['p99', 10],
    ['p0', 1],
  ])('computes %s', (name, expected) => {
    expect(computeStatistic(values, parseStatistic(name)!)).toBe(expected);
  });

  it('gives no datapoint for a period without values', () => {
    expect(computeStatistic([], { kind: 'Sum' })).toBeUndefined();
    expect(computeStatistic([], { kind: 'SampleCount' })).toBeUndefined();
  });

  it('computes the maximum of more values than a call takes arguments', () => {
    const many = Array.from({ length: 300_000 }, (_, i) => i);
    expect(computeStatistic(many, { kind: 'Maximum' })).toBe(299_999);
  });

  it('does not parse statistics CloudWatch has but the twin does not compute', () => {
    expect(parseStatistic('tm90')).toBeUndefined();
    expect(parseStatistic('p101')).toBeUndefined();
    expect(parseStatistic('sum')).toBeUndefined();
    expect(parseStatistic('p99.9')).toEqual({ kind: 'percentile', p: 99.9 });
  });
});

/** A documentation row: 0 not breaching, X breaching, - missing (oldest first). */
function row(text: string): (number | undefined)[] {
  return text.split(' ').map((c) => (c === '-' ? undefined : c === 'X' ? 10 : 0));
}

function rule(n: number, m: number, treat: MissingDataTreatment) {
  return {
    evaluationPeriods: n,
    datapointsToAlarm: m,
    threshold: 5,
    comparison: 'GreaterThanOrEqualToThreshold' as const,
    treatMissingData: treat,
  };
}

const TREATMENTS: MissingDataTreatment[] = ['missing', 'ignore', 'breaching', 'notBreaching'];

describe('evaluateDatapoints (CloudWatch documentation, 5 datapoints retrieved)', () => {
  // "How alarm state is evaluated when data is missing", 3 of 3. `keep` is the current state
  // retained. The row "X - - - -" (ALARM with missing) is the one documented case the twin does not follow.
  it.each([
    ['0 - X - X', ['OK', 'OK', 'OK', 'OK']],
    ['0 - - - -', ['OK', 'OK', 'OK', 'OK']],
    ['- - - - -', ['INSUFFICIENT_DATA', 'keep', 'ALARM', 'OK']],
    ['0 X X - X', ['ALARM', 'ALARM', 'ALARM', 'ALARM']],
    ['- - - - X', ['INSUFFICIENT_DATA', 'keep', 'ALARM', 'OK']],
  ])('3 of 3: %s', (points, expected) => {
    for (const [i, treat] of TREATMENTS.entries()) {
      for (const current of ['OK', 'ALARM'] as AlarmStateValue[]) {
        const want = expected[i] === 'keep' ? current : expected[i];
        expect(
          evaluateDatapoints(row(points), rule(3, 3, treat), current).state,
          `${treat} from ${current}`,
        ).toBe(want);
      }
    }
  });

  it.each([
    ['0 - X - X', ['ALARM', 'ALARM', 'ALARM', 'ALARM']],
    ['0 0 X 0 X', ['ALARM', 'ALARM', 'ALARM', 'ALARM']],
    ['0 - X - -', ['OK', 'OK', 'ALARM', 'OK']],
    ['- - - - 0', ['OK', 'OK', 'ALARM', 'OK']],
    ['- - - - X', ['INSUFFICIENT_DATA', 'keep', 'ALARM', 'OK']],
  ])('2 of 3: %s', (points, expected) => {
    for (const [i, treat] of TREATMENTS.entries()) {
      const want = expected[i] === 'keep' ? 'INSUFFICIENT_DATA' : expected[i];
      expect(evaluateDatapoints(row(points), rule(3, 2, treat), 'INSUFFICIENT_DATA').state, treat).toBe(want);
    }
  });

  it('evaluates the most recent N real datapoints when the range has enough', () => {
    const e = evaluateDatapoints(row('X X 0 - 0'), rule(2, 2, 'breaching'), 'OK');

    expect(e).toEqual({ state: 'OK', evaluated: [2, 4], breaching: 0, filled: 0 });
  });

  it('fills as few missing datapoints as needed', () => {
    const e = evaluateDatapoints(row('- - - X -'), rule(3, 3, 'breaching'), 'OK');

    expect(e).toEqual({ state: 'ALARM', evaluated: [3], breaching: 3, filled: 2 });
  });

  it.each([
    ['GreaterThanThreshold', 5, 'OK'],
    ['GreaterThanThreshold', 6, 'ALARM'],
    ['GreaterThanOrEqualToThreshold', 5, 'ALARM'],
    ['LessThanThreshold', 5, 'OK'],
    ['LessThanThreshold', 4, 'ALARM'],
    ['LessThanOrEqualToThreshold', 5, 'ALARM'],
  ] as const)('compares with %s (value %d against 5)', (comparison, value, state) => {
    const e = evaluateDatapoints([value], { ...rule(1, 1, 'missing'), comparison }, 'INSUFFICIENT_DATA');

    expect(e.state).toBe(state);
  });
});

/** An alarm's template properties as CDK synthesizes them (resolved). */
function props(more: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    AlarmName: 'mlops-test-credit--server-errors',
    AlarmDescription: '[page] 5xx rate',
    AlarmActions: ['arn:aws:sns:us-east-1:000000000000:ops'],
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    Dimensions: [{ Name: 'Model', Value: 'credit' }],
    EvaluationPeriods: 3,
    DatapointsToAlarm: 2,
    MetricName: 'ServerErrors',
    Namespace: 'Mlops/test',
    Period: 60,
    Statistic: 'Average',
    Threshold: 0.05,
    TreatMissingData: 'notBreaching',
    Unit: 'Count',
    ...more,
  };
}

const ARN = 'arn:aws:cloudwatch:us-east-1:000000000000:alarm:mlops-test-credit--server-errors';

describe('readAlarm', () => {
  it('reads a single-metric alarm', () => {
    const alarm = readAlarm('A', 'mlops-test-credit--server-errors', ARN, props());

    expect(alarm).toMatchObject({
      name: 'mlops-test-credit--server-errors',
      metric: {
        namespace: 'Mlops/test',
        name: 'ServerErrors',
        dimensions: { Model: 'credit' },
        unit: 'Count',
      },
      statistic: 'Average',
      extended: false,
      periodSeconds: 60,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      threshold: 0.05,
      treatMissingData: 'notBreaching',
      actionsEnabled: true,
      alarmActions: ['arn:aws:sns:us-east-1:000000000000:ops'],
    });
  });

  it('reads a percentile, and defaults DatapointsToAlarm to EvaluationPeriods and missing data to missing', () => {
    const { Statistic: _, DatapointsToAlarm: __, TreatMissingData: ___, ...rest } = props();
    const alarm = readAlarm('A', 'n', ARN, { ...rest, ExtendedStatistic: 'p99' });

    expect(alarm).toMatchObject({
      statistic: 'p99',
      extended: true,
      datapointsToAlarm: 3,
      treatMissingData: 'missing',
    });
  });

  it('reads the one-metric Metrics form CDK writes for a labelled metric', () => {
    const {
      MetricName: _,
      Namespace: __,
      Dimensions: ___,
      Period: ____,
      Statistic: _____,
      ...rest
    } = props();
    const alarm = readAlarm('A', 'n', ARN, {
      ...rest,
      Metrics: [
        {
          Id: 'm1',
          Label: '5xx',
          ReturnData: true,
          MetricStat: {
            Metric: {
              Namespace: 'Mlops/test',
              MetricName: 'ServerErrors',
              Dimensions: [{ Name: 'Model', Value: 'credit' }],
            },
            Period: 120,
            Stat: 'p90',
          },
        },
      ],
    });

    expect(alarm).toMatchObject({ metric: { name: 'ServerErrors' }, statistic: 'p90', periodSeconds: 120 });
  });

  it.each([
    [
      { Metrics: [{ Id: 'e', Expression: 'a/b', ReturnData: true }], MetricName: undefined },
      /metric math \("a\/b"\)/,
    ],
    [{ Statistic: undefined, ExtendedStatistic: 'tm90' }, /statistic tm90/],
    [{ ComparisonOperator: 'LessThanLowerOrGreaterThanUpperThreshold' }, /comparison operator LessThanLower/],
    [{ ThresholdMetricId: 'ad1' }, /anomaly detection band/],
    [{ DatapointsToAlarm: 4 }, /DatapointsToAlarm 4/],
  ])('lists an alarm it does not evaluate, saying why (%j)', (more, reason) => {
    const alarm = readAlarm('A', 'n', ARN, props(more));

    expect(isEmulated(alarm)).toBe(false);
    expect((alarm as { reason: string }).reason).toMatch(reason);
  });
});

describe('LocalAlarms over a metric store, at explicit instants', () => {
  const t0 = Date.UTC(2026, 11, 1, 12, 0, 0);
  const definition = readAlarm(
    'ServerErrorsAlarm',
    'mlops-test-credit--server-errors',
    ARN,
    props(),
  ) as AlarmDefinition;

  function setup(treat: MissingDataTreatment = 'notBreaching') {
    const store = new MetricStore();
    const changes: AlarmStateChange[] = [];
    const alarms = new LocalAlarms(
      [{ ...definition, treatMissingData: treat }],
      store,
      (c) => changes.push(c),
      new Date(t0),
    );
    const put = (value: number, at: number) =>
      store.put({
        namespace: 'Mlops/test',
        name: 'ServerErrors',
        value,
        unit: 'Count',
        dimensions: { Model: 'credit' },
        timestamp: at,
      });
    return { store, changes, alarms, put };
  }

  it('starts in INSUFFICIENT_DATA and goes to ALARM when 2 of the last 3 periods breach', () => {
    const { alarms, changes, put } = setup();
    expect(alarms.describe()[0]).toMatchObject({
      state: 'INSUFFICIENT_DATA',
      reason: 'Unchecked: Initial alarm creation',
    });

    put(0, t0 + 10_000);
    put(1, t0 + 70_000);
    put(0, t0 + 80_000); // the second period's average is 0.5
    put(1, t0 + 130_000);
    alarms.evaluate(t0 + 180_000);

    expect(changes.map((c) => [c.from, c.to])).toEqual([['INSUFFICIENT_DATA', 'ALARM']]);
    expect(changes[0]!.reason).toBe(
      'Threshold Crossed: 2 out of the last 3 datapoints [1.0 (01/12/26 12:02:00), 0.5 (01/12/26 12:01:00), 0.0 (01/12/26 12:00:00)] were greater than or equal to the threshold (0.05) (minimum 2 datapoints for INSUFFICIENT_DATA -> ALARM transition).',
    );
    expect(alarms.describe()[0]).toMatchObject({
      state: 'ALARM',
      since: new Date(t0 + 180_000).toISOString(),
    });
  });

  it('ignores points of another dimension set or unit, as CloudWatch does', () => {
    const { alarms, changes, store } = setup('missing');
    const base = { namespace: 'Mlops/test', name: 'ServerErrors', value: 1, timestamp: t0 + 1000 };
    store.put({ ...base, unit: 'Count', dimensions: { Model: 'credit', Variant: 'canary' } });
    store.put({ ...base, unit: 'None', dimensions: { Model: 'credit' } });

    alarms.evaluate(t0 + 60_000);

    expect(changes).toEqual([]);
    expect(alarms.describe()[0]!.state).toBe('INSUFFICIENT_DATA');
  });

  it('stays in ALARM on the last real datapoints after the metric stops, then goes OK once they leave the range', () => {
    const { alarms, changes, put } = setup();
    put(1, t0 + 1000);
    put(1, t0 + 61_000);
    put(1, t0 + 121_000);
    alarms.evaluate(t0 + 180_000);
    expect(alarms.describe()[0]!.state).toBe('ALARM');

    alarms.evaluate(t0 + 300_000); // 2 periods later: the three real ones are still in the 5-period range
    expect(alarms.describe()[0]!.state).toBe('ALARM');
    alarms.evaluate(t0 + 420_000); // one left: 1 breaching + 2 filled not breaching
    expect(changes.map((c) => c.to)).toEqual(['ALARM', 'OK']);
    expect(changes[1]!.reason).toMatch(/2 missing datapoints were treated as \[NonBreaching\]/);
  });

  it('sets a state with SetAlarmState until the next evaluation', () => {
    const { alarms, changes } = setup();

    alarms.setState('mlops-test-credit--server-errors', 'ALARM', 'testing the rule');
    alarms.evaluate(t0 + 60_000);

    expect(changes.map((c) => [c.from, c.to, c.reason])).toEqual([
      ['INSUFFICIENT_DATA', 'ALARM', 'testing the rule'],
      [
        'ALARM',
        'OK',
        'Threshold Crossed: no datapoints were received for 3 periods and 3 missing datapoints were treated as [NonBreaching].',
      ],
    ]);
    expect(alarms.describe()[0]!.history.map((h) => h.to)).toEqual(['ALARM', 'OK']);
    expect(() => alarms.setState('nobody', 'OK', 'x')).toThrow(/no alarm named "nobody"/);
  });

  it('keeps points for the longest evaluation range', () => {
    expect(setup().alarms.longestRangeMs()).toBe(5 * 60_000);
  });
});

describe('what an alarm state change sends', () => {
  const alarm = readAlarm('A', 'mlops-test-credit--server-errors', ARN, props()) as AlarmDefinition;
  const change: AlarmStateChange = {
    alarm,
    from: 'OK',
    to: 'ALARM',
    reason: 'Threshold Crossed: …',
    reasonData: '{"version":"1.0"}',
    at: new Date(Date.UTC(2026, 11, 1, 12, 3, 0)),
    previous: { reason: 'before', at: new Date(Date.UTC(2026, 11, 1, 12, 0, 0)) },
  };

  it("publishes CloudWatch's alarm message to SNS", () => {
    const { subject, message } = alarmNotification(change, 'us-east-1', '000000000000');

    expect(subject).toBe('ALARM: "mlops-test-credit--server-errors" in US East (N. Virginia)');
    expect(JSON.parse(message)).toMatchObject({
      AlarmName: 'mlops-test-credit--server-errors',
      AlarmDescription: '[page] 5xx rate',
      NewStateValue: 'ALARM',
      OldStateValue: 'OK',
      NewStateReason: 'Threshold Crossed: …',
      StateChangeTime: '2026-12-01T12:03:00.000+0000',
      AlarmArn: ARN,
      Trigger: {
        MetricName: 'ServerErrors',
        Namespace: 'Mlops/test',
        StatisticType: 'Statistic',
        Statistic: 'AVERAGE',
        Dimensions: [{ name: 'Model', value: 'credit' }],
        Period: 60,
        EvaluationPeriods: 3,
        DatapointsToAlarm: 2,
        Threshold: 0.05,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      },
    });
  });

  it('sends a CloudWatch Alarm State Change event', () => {
    const event = alarmStateChangeEvent(change, 'us-east-1', '000000000000', 'id-1');

    expect(event).toEqual({
      version: '0',
      id: 'id-1',
      'detail-type': 'CloudWatch Alarm State Change',
      source: 'aws.cloudwatch',
      account: '000000000000',
      time: '2026-12-01T12:03:00Z',
      region: 'us-east-1',
      resources: [ARN],
      detail: {
        alarmName: 'mlops-test-credit--server-errors',
        state: {
          value: 'ALARM',
          reason: 'Threshold Crossed: …',
          reasonData: '{"version":"1.0"}',
          timestamp: '2026-12-01T12:03:00.000+0000',
        },
        previousState: { value: 'OK', reason: 'before', timestamp: '2026-12-01T12:00:00.000+0000' },
        configuration: {
          description: '[page] 5xx rate',
          metrics: [
            {
              id: 'm1',
              metricStat: {
                metric: { namespace: 'Mlops/test', name: 'ServerErrors', dimensions: { Model: 'credit' } },
                period: 60,
                stat: 'Average',
                unit: 'Count',
              },
              returnData: true,
            },
          ],
        },
      },
    });
  });
});

describe('MetricStore', () => {
  it('drops points older than its retention and keeps a bounded number per series', () => {
    const store = new MetricStore({ retentionMs: 60_000, maxPointsPerSeries: 3 });
    const p = (value: number, timestamp: number) => ({
      namespace: 'N',
      name: 'M',
      value,
      unit: 'Count',
      dimensions: {},
      timestamp,
    });
    for (let i = 0; i < 5; i++) store.put(p(i, 1000 * i));
    expect(store.all().map((x) => x.value)).toEqual([2, 3, 4]);

    store.put(p(9, 100_000));
    store.prune(100_000);

    expect(store.all().map((x) => x.value)).toEqual([9]);
    expect(store.values({ namespace: 'N', name: 'M', dimensions: {} }, 0, 200_000)).toEqual([9]);
  });

  it('GIVEN many more points than a series keeps WHEN they are put and pruned THEN the newest are kept in order and a query sees only its time range', () => {
    const retentionMs = 60_000;
    const store = new MetricStore({ retentionMs, maxPointsPerSeries: 100 });
    const q = { namespace: 'N', name: 'M', dimensions: { Model: 'credit' } };
    // Recent timestamps, so that the prune the store runs every 1,000 puts keeps them.
    const t0 = Date.now();
    for (let i = 0; i < 10_000; i++) {
      store.put({ ...q, value: i, unit: 'Count', timestamp: t0 + i });
    }
    expect(store.all().map((x) => x.value)).toEqual(Array.from({ length: 100 }, (_, i) => 9_900 + i));
    // A point that arrives late, behind newer ones, is kept until a prune passes its time.
    store.put({ ...q, value: -1, unit: 'Count', timestamp: t0 + 9_950 });
    store.prune(t0 + 9_950 + retentionMs);
    expect(store.values(q, t0, t0 + 20_000)).toEqual([
      ...Array.from({ length: 50 }, (_, i) => 9_950 + i),
      -1,
    ]);
    expect(store.values(q, t0 + 9_990, t0 + 9_995)).toEqual([9_990, 9_991, 9_992, 9_993, 9_994]);
    store.prune(t0 + 20_000 + retentionMs);
    expect(store.all()).toEqual([]);
  });

  it('drops values that are not numbers', () => {
    const store = new MetricStore();
    store.put({ namespace: 'N', name: 'M', value: Number('x'), unit: 'None', dimensions: {}, timestamp: 1 });

    expect(store.all()).toEqual([]);
  });
});
