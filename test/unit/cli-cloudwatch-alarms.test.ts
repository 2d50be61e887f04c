/**
 * A stage's alarms read from CloudWatch become the twin's TwinAlarm shape: state and since when from
 * DescribeAlarms, state changes from DescribeAlarmHistory's JSON documents (oldest first, only the
 * alarm's own), and a metric-math alarm's returned metric. CloudWatch itself is not reachable here:
 * the paging test gives `describeStageAlarms` a client that answers from recorded pages, and checks
 * what it asked for.
 */
import {
  type AlarmHistoryItem,
  type CloudWatchClient,
  type DescribeAlarmHistoryCommand,
  DescribeAlarmsCommand,
  type MetricAlarm,
} from '@aws-sdk/client-cloudwatch';
import { describe, expect, it } from 'vitest';
import {
  describeStageAlarms,
  HISTORY_HOURS,
  toStateChange,
  toTwinAlarm,
} from '../../cli/cloudwatch-alarms.ts';

const t = (iso: string) => new Date(iso);

function stateUpdate(name: string, at: string, from: string, to: string, reason: string): AlarmHistoryItem {
  return {
    AlarmName: name,
    AlarmType: 'MetricAlarm',
    Timestamp: t(at),
    HistoryItemType: 'StateUpdate',
    HistorySummary: `Alarm updated from ${from} to ${to}`,
    HistoryData: JSON.stringify({
      version: '1.0',
      oldState: { stateValue: from, stateReason: 'before' },
      newState: { stateValue: to, stateReason: reason, stateReasonData: { threshold: 0.25 } },
    }),
  };
}

const drift: MetricAlarm = {
  AlarmName: 'mlops-dev-credit--prediction-drift',
  AlarmDescription: '[page] Prediction drift. Runbook: RUNBOOK.md#prediction-drift',
  StateValue: 'ALARM',
  StateReason: 'Threshold Crossed: 1 out of the last 1 datapoints [0.4] was >= 0.25',
  StateUpdatedTimestamp: t('2026-12-01T11:59:00Z'),
  StateTransitionedTimestamp: t('2026-12-01T11:40:00Z'),
  Namespace: 'Mlops/dev',
  MetricName: 'PredictionDrift',
  Dimensions: [{ Name: 'Model', Value: 'credit' }],
  Statistic: 'Maximum',
  Period: 60,
  EvaluationPeriods: 1,
  DatapointsToAlarm: 1,
  Threshold: 0.25,
  ComparisonOperator: 'GreaterThanOrEqualToThreshold',
  TreatMissingData: 'notBreaching',
};

describe('a CloudWatch alarm as a TwinAlarm', () => {
  it('takes the state, since when it holds (the transition, not the last update) and the metric', () => {
    const a = toTwinAlarm(drift, []);
    expect(a).toEqual({
      name: 'mlops-dev-credit--prediction-drift',
      logicalId: '',
      description: '[page] Prediction drift. Runbook: RUNBOOK.md#prediction-drift',
      state: 'ALARM',
      since: '2026-12-01T11:40:00.000Z',
      reason: 'Threshold Crossed: 1 out of the last 1 datapoints [0.4] was >= 0.25',
      metric: {
        namespace: 'Mlops/dev',
        name: 'PredictionDrift',
        dimensions: { Model: 'credit' },
        statistic: 'Maximum',
      },
      periodSeconds: 60,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      threshold: 0.25,
      comparison: 'GreaterThanOrEqualToThreshold',
      treatMissingData: 'notBreaching',
      history: [],
    });
  });

  it("keeps the alarm's own state changes, oldest first", () => {
    const a = toTwinAlarm(drift, [
      stateUpdate(drift.AlarmName!, '2026-12-01T11:40:00Z', 'OK', 'ALARM', 'crossed'),
      stateUpdate('mlops-dev-credit--latency', '2026-12-01T11:30:00Z', 'OK', 'ALARM', 'slow'),
      stateUpdate(drift.AlarmName!, '2026-12-01T11:00:00Z', 'INSUFFICIENT_DATA', 'OK', 'fine'),
      {
        AlarmName: drift.AlarmName!,
        Timestamp: t('2026-12-01T11:10:00Z'),
        HistoryItemType: 'Action',
        HistoryData: '{}',
      },
    ]);
    expect(a.history).toEqual([
      { at: '2026-12-01T11:00:00.000Z', from: 'INSUFFICIENT_DATA', to: 'OK', reason: 'fine' },
      { at: '2026-12-01T11:40:00.000Z', from: 'OK', to: 'ALARM', reason: 'crossed' },
    ]);
  });

  it('reads a metric-math alarm by the query it returns, and its period there', () => {
    const a = toTwinAlarm(
      {
        AlarmName: 'mlops-dev-credit--server-errors',
        StateValue: 'OK',
        Metrics: [
          {
            Id: 'errors',
            ReturnData: false,
            MetricStat: {
              Metric: { Namespace: 'Mlops/dev', MetricName: 'ServerErrors' },
              Period: 300,
              Stat: 'Sum',
            },
          },
          { Id: 'rate', Expression: 'errors / requests', ReturnData: true },
        ],
        EvaluationPeriods: 3,
      },
      [],
    );
    expect(a.metric).toEqual({ namespace: '', name: 'errors / requests', dimensions: {}, statistic: '' });
    expect(a).toMatchObject({
      state: 'OK',
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      treatMissingData: 'missing',
    });
  });

  it('skips history items that are not state changes or carry no document', () => {
    expect(
      toStateChange({
        HistoryItemType: 'ConfigurationUpdate',
        Timestamp: t('2026-12-01T00:00:00Z'),
        HistoryData: '{}',
      }),
    ).toBeUndefined();
    expect(
      toStateChange({
        HistoryItemType: 'StateUpdate',
        Timestamp: t('2026-12-01T00:00:00Z'),
        HistoryData: 'not json',
      }),
    ).toBeUndefined();
  });
});

describe('describeStageAlarms', () => {
  it("pages through the stage's alarms and reads one account-wide history, keeping the stage's", async () => {
    const asked: { command: string; input: Record<string, unknown> }[] = [];
    const client = {
      async send(command: DescribeAlarmsCommand | DescribeAlarmHistoryCommand) {
        asked.push({ command: command.constructor.name, input: { ...command.input } });
        if (command instanceof DescribeAlarmsCommand) {
          return command.input.NextToken
            ? { MetricAlarms: [{ ...drift, AlarmName: 'mlops-dev--training-failure', StateValue: 'OK' }] }
            : { MetricAlarms: [drift], NextToken: 'page2' };
        }
        return command.input.NextToken
          ? {
              AlarmHistoryItems: [
                stateUpdate(drift.AlarmName!, '2026-12-01T11:40:00Z', 'OK', 'ALARM', 'crossed'),
              ],
            }
          : {
              AlarmHistoryItems: [
                stateUpdate(
                  'mlops-prod-credit--prediction-drift',
                  '2026-12-01T11:50:00Z',
                  'OK',
                  'ALARM',
                  'x',
                ),
              ],
              NextToken: 'h2',
            };
      },
    } as unknown as CloudWatchClient;
    const now = new Date('2026-12-01T12:00:00Z');
    const alarms = await describeStageAlarms('dev', now, client);
    expect(alarms.map((a) => [a.name, a.state, a.history.length])).toEqual([
      ['mlops-dev-credit--prediction-drift', 'ALARM', 1],
      ['mlops-dev--training-failure', 'OK', 0],
    ]);
    expect(asked.map((a) => a.command)).toEqual([
      'DescribeAlarmsCommand',
      'DescribeAlarmsCommand',
      'DescribeAlarmHistoryCommand',
      'DescribeAlarmHistoryCommand',
    ]);
    expect(asked[0]!.input).toMatchObject({ AlarmNamePrefix: 'mlops-dev-', AlarmTypes: ['MetricAlarm'] });
    expect(asked[1]!.input).toMatchObject({ NextToken: 'page2' });
    expect(asked[2]!.input).toMatchObject({
      HistoryItemType: 'StateUpdate',
      ScanBy: 'TimestampDescending',
      StartDate: new Date(now.getTime() - HISTORY_HOURS * 3600_000),
      EndDate: now,
    });
  });
});
