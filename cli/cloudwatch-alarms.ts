/**
 * A deployed stage's alarms, read from CloudWatch and given the shape the twin serves at
 * `GET /_twin/alarms` (TwinAlarm), so `mlops status` reads one shape from either target.
 *
 * Written by hand because CloudWatch spreads what the CLI needs over two calls: DescribeAlarms gives
 * each alarm's configuration and current state, DescribeAlarmHistory its state changes (a JSON
 * document per change). The SDK client is imported only when a stage's alarms are asked for, so the
 * commands that never read alarms do not load it.
 */
import type {
  AlarmHistoryItem,
  CloudWatchClient,
  DescribeAlarmHistoryCommandOutput,
  DescribeAlarmsCommandOutput,
  MetricAlarm,
} from '@aws-sdk/client-cloudwatch';
import type { AlarmStateValue, TwinAlarm } from '../contracts/twin-api.ts';
import { httpTimeouts } from '../lambdas/shared/adapters/aws/clients.ts';

/** How far back the state changes are read: the guard window's default and a margin. */
export const HISTORY_HOURS = 48;

/** Pages of account-wide history read at most (100 items each), so a noisy account cannot stall `status`. */
const MAX_HISTORY_PAGES = 10;

const STATES: readonly AlarmStateValue[] = ['OK', 'ALARM', 'INSUFFICIENT_DATA'];

function stateOf(value: unknown): AlarmStateValue {
  return STATES.includes(value as AlarmStateValue) ? (value as AlarmStateValue) : 'INSUFFICIENT_DATA';
}

/**
 * One state change from a `StateUpdate` history item; undefined for an item that is not one or
 * whose data CloudWatch did not fill.
 */
export function toStateChange(item: AlarmHistoryItem): TwinAlarm['history'][number] | undefined {
  if (item.HistoryItemType !== 'StateUpdate' || !item.Timestamp || !item.HistoryData) return undefined;
  let data: {
    oldState?: { stateValue?: string };
    newState?: { stateValue?: string; stateReason?: string };
  };
  try {
    data = JSON.parse(item.HistoryData) as typeof data;
  } catch {
    return undefined;
  }
  if (!data.newState?.stateValue) return undefined;
  return {
    at: item.Timestamp.toISOString(),
    from: stateOf(data.oldState?.stateValue),
    to: stateOf(data.newState.stateValue),
    reason: data.newState.stateReason ?? item.HistorySummary ?? '',
  };
}

/** The metric an alarm watches: its own metric, or the query a metric-math alarm returns. */
function metricOf(alarm: MetricAlarm): TwinAlarm['metric'] {
  const dims = (list: { Name?: string; Value?: string }[] | undefined) =>
    Object.fromEntries((list ?? []).map((d) => [d.Name ?? '', d.Value ?? '']));
  if (alarm.MetricName) {
    return {
      namespace: alarm.Namespace ?? '',
      name: alarm.MetricName,
      dimensions: dims(alarm.Dimensions),
      statistic: alarm.Statistic ?? alarm.ExtendedStatistic ?? '',
    };
  }
  const returned = alarm.Metrics?.find((q) => q.ReturnData !== false) ?? alarm.Metrics?.[0];
  const stat = returned?.MetricStat;
  if (stat?.Metric) {
    return {
      namespace: stat.Metric.Namespace ?? '',
      name: stat.Metric.MetricName ?? '',
      dimensions: dims(stat.Metric.Dimensions),
      statistic: stat.Stat ?? '',
    };
  }
  return { namespace: '', name: returned?.Expression ?? '', dimensions: {}, statistic: '' };
}

/**
 * A CloudWatch metric alarm and its state changes (any order, any alarm's: those of others are
 * left out) as a TwinAlarm. CloudWatch knows no template logical id, so `logicalId` is empty.
 */
export function toTwinAlarm(alarm: MetricAlarm, history: readonly AlarmHistoryItem[]): TwinAlarm {
  const name = alarm.AlarmName ?? '';
  const changes = history
    .filter((h) => h.AlarmName === name)
    .map(toStateChange)
    .filter((c) => c !== undefined)
    .sort((a, b) => a.at.localeCompare(b.at));
  const since = alarm.StateTransitionedTimestamp ?? alarm.StateUpdatedTimestamp;
  const period = alarm.Period ?? alarm.Metrics?.find((q) => q.ReturnData !== false)?.MetricStat?.Period ?? 0;
  return {
    name,
    logicalId: '',
    ...(alarm.AlarmDescription ? { description: alarm.AlarmDescription } : {}),
    state: stateOf(alarm.StateValue),
    since: since ? since.toISOString() : (changes.at(-1)?.at ?? ''),
    reason: alarm.StateReason ?? '',
    metric: metricOf(alarm),
    periodSeconds: period,
    evaluationPeriods: alarm.EvaluationPeriods ?? 1,
    datapointsToAlarm: alarm.DatapointsToAlarm ?? alarm.EvaluationPeriods ?? 1,
    threshold: alarm.Threshold ?? 0,
    comparison: alarm.ComparisonOperator ?? '',
    treatMissingData: alarm.TreatMissingData ?? 'missing',
    history: changes,
  };
}

/**
 * The stage's metric alarms (every alarm named `mlops-<stage>-…`) with their state changes of the
 * last {@link HISTORY_HOURS} hours. Credentials and region come from the environment.
 */
export async function describeStageAlarms(
  stage: string,
  now: Date = new Date(),
  client?: CloudWatchClient,
): Promise<TwinAlarm[]> {
  const cw = await import('@aws-sdk/client-cloudwatch');
  const cloudwatch = client ?? new cw.CloudWatchClient({ requestHandler: httpTimeouts });
  const prefix = `mlops-${stage}-`;
  const alarms: MetricAlarm[] = [];
  let token: string | undefined;
  do {
    const res: DescribeAlarmsCommandOutput = await cloudwatch.send(
      new cw.DescribeAlarmsCommand({
        AlarmNamePrefix: prefix,
        AlarmTypes: ['MetricAlarm'],
        MaxRecords: 100,
        ...(token ? { NextToken: token } : {}),
      }),
    );
    alarms.push(...(res.MetricAlarms ?? []));
    token = res.NextToken;
  } while (token);
  // One account-wide history read, newest first, rather than one call per alarm.
  const history: AlarmHistoryItem[] = [];
  token = undefined;
  let pages = 0;
  do {
    const res: DescribeAlarmHistoryCommandOutput = await cloudwatch.send(
      new cw.DescribeAlarmHistoryCommand({
        AlarmTypes: ['MetricAlarm'],
        HistoryItemType: 'StateUpdate',
        StartDate: new Date(now.getTime() - HISTORY_HOURS * 3600_000),
        EndDate: now,
        ScanBy: 'TimestampDescending',
        MaxRecords: 100,
        ...(token ? { NextToken: token } : {}),
      }),
    );
    for (const item of res.AlarmHistoryItems ?? [])
      if (item.AlarmName?.startsWith(prefix)) history.push(item);
    token = res.NextToken;
    pages++;
  } while (token && pages < MAX_HISTORY_PAGES);
  return alarms.map((a) => toTwinAlarm(a, history));
}
