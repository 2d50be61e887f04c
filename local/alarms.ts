/**
 * CloudWatch alarms in the twin: each `AWS::CloudWatch::Alarm` of the templates, evaluated against
 * the twin's metrics ({@link MetricStore}) as CloudWatch evaluates it, in real time.
 *
 * Written here because no library evaluates CloudWatch alarms offline. What it follows is
 * CloudWatch's documented behaviour ("Using Amazon CloudWatch alarms", "How alarm state is evaluated
 * when data is missing"):
 * - a datapoint is the alarm's statistic over one period; the periods slide with the clock (the last
 *   period ends at the moment of evaluation; CloudWatch aligns them to the minute, which only shifts
 *   a datapoint's edges);
 * - the evaluation range reaches {@link EVALUATION_RANGE_EXTRA_PERIODS} periods further back than the
 *   alarm's EvaluationPeriods (CloudWatch retrieves "a higher number of data points"; the twin takes
 *   the 5-for-3 of the documentation's examples). With at least N real datapoints in the range, the
 *   most recent N are evaluated and the missing-data setting plays no part; with fewer, the missing
 *   ones are filled with the setting (`breaching`, `notBreaching`), as few as possible; `missing` and
 *   `ignore` evaluate the real ones alone: ALARM when M of them breach, OK when one does not, else
 *   INSUFFICIENT_DATA (`missing`) or the current state (`ignore`). One documented case differs: a
 *   lone breaching datapoint at the far end of the range, with `missing`, gives ALARM on AWS and
 *   INSUFFICIENT_DATA here;
 * - M of N: ALARM when at least DatapointsToAlarm of the evaluated datapoints breach, else OK;
 * - a new alarm starts in INSUFFICIENT_DATA; actions run on state changes only, when ActionsEnabled;
 * - SetAlarmState sets a state until the next evaluation, actions included.
 * Not emulated, and said so by logical id: metric math (`Metrics` with an expression), anomaly
 * detection bands, the band comparison operators, statistics other than SampleCount, Sum, Average,
 * Minimum, Maximum and percentiles (pNN), and EvaluateLowSampleCountPercentile (percentiles are
 * always evaluated).
 */
import type { AlarmStateValue, TwinAlarm } from '../contracts/twin-api.ts';
import {
  computeStatistic,
  type MetricQuery,
  type MetricStore,
  parseStatistic,
  type Statistic,
} from './cloudwatch.ts';

/** The comparison operators the twin evaluates, with CloudWatch's words for them in state reasons. */
export const COMPARISONS = {
  GreaterThanOrEqualToThreshold: {
    test: (v: number, t: number) => v >= t,
    words: 'greater than or equal to',
  },
  GreaterThanThreshold: { test: (v: number, t: number) => v > t, words: 'greater than' },
  LessThanThreshold: { test: (v: number, t: number) => v < t, words: 'less than' },
  LessThanOrEqualToThreshold: { test: (v: number, t: number) => v <= t, words: 'less than or equal to' },
} as const;

export type ComparisonOperator = keyof typeof COMPARISONS;

/** CloudWatch's TreatMissingData values. */
export const MISSING_DATA_TREATMENTS = ['missing', 'notBreaching', 'breaching', 'ignore'] as const;
export type MissingDataTreatment = (typeof MISSING_DATA_TREATMENTS)[number];

/** How many periods beyond EvaluationPeriods an evaluation looks back for real datapoints. */
export const EVALUATION_RANGE_EXTRA_PERIODS = 2;

/** An alarm's evaluation settings. */
export interface AlarmRule {
  periodSeconds: number;
  evaluationPeriods: number;
  datapointsToAlarm: number;
  threshold: number;
  comparison: ComparisonOperator;
  treatMissingData: MissingDataTreatment;
}

/** What every alarm of the templates has, emulated or not. */
export interface AlarmInfo {
  logicalId: string;
  name: string;
  arn: string;
  description?: string;
  actionsEnabled: boolean;
  alarmActions: string[];
  okActions: string[];
  insufficientDataActions: string[];
}

/** An alarm the twin evaluates. */
export interface AlarmDefinition extends AlarmInfo, AlarmRule {
  metric: MetricQuery;
  /** The statistic as the template names it (`Sum`, `p99`). */
  statistic: string;
  stat: Statistic;
  /** Whether the template gives it as ExtendedStatistic (a percentile). */
  extended: boolean;
}

/** An alarm of the templates the twin does not evaluate, and why. */
export interface NotEmulatedAlarm extends AlarmInfo {
  reason: string;
}

export function isEmulated(alarm: AlarmDefinition | NotEmulatedAlarm): alarm is AlarmDefinition {
  return !('reason' in alarm);
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);

function dimensionsOf(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const d of Array.isArray(v) ? v : []) {
    const { Name, Value } = d as { Name: unknown; Value: unknown };
    out[String(Name)] = String(Value);
  }
  return out;
}

/**
 * An alarm from its resolved template properties; a {@link NotEmulatedAlarm} naming what the twin
 * does not evaluate. `name` and `arn` are the ones the resolver gives it.
 */
export function readAlarm(
  logicalId: string,
  name: string,
  arn: string,
  props: Record<string, unknown>,
): AlarmDefinition | NotEmulatedAlarm {
  const info: AlarmInfo = {
    logicalId,
    name,
    arn,
    ...(typeof props.AlarmDescription === 'string' ? { description: props.AlarmDescription } : {}),
    actionsEnabled: props.ActionsEnabled !== false && props.ActionsEnabled !== 'false',
    alarmActions: strings(props.AlarmActions),
    okActions: strings(props.OKActions),
    insufficientDataActions: strings(props.InsufficientDataActions),
  };
  const not = (reason: string): NotEmulatedAlarm => ({ ...info, reason });

  let metric: MetricQuery;
  let statistic: string;
  let extended = false;
  let periodSeconds: number;
  if (props.Metrics !== undefined) {
    const metrics = (Array.isArray(props.Metrics) ? props.Metrics : []) as Record<string, unknown>[];
    const expressions = metrics.filter((m) => m.Expression !== undefined);
    if (expressions.length > 0) {
      return not(`metric math (${expressions.map((m) => `"${String(m.Expression)}"`).join(', ')})`);
    }
    const returned = metrics.filter((m) => m.ReturnData !== false);
    const stat = returned[0]?.MetricStat as
      | {
          Metric: { Namespace: string; MetricName: string; Dimensions?: unknown };
          Period: number;
          Stat: string;
          Unit?: string;
        }
      | undefined;
    if (returned.length !== 1 || !stat) return not('Metrics without exactly one returned MetricStat');
    metric = {
      namespace: String(stat.Metric.Namespace),
      name: String(stat.Metric.MetricName),
      dimensions: dimensionsOf(stat.Metric.Dimensions),
      ...(stat.Unit !== undefined ? { unit: String(stat.Unit) } : {}),
    };
    statistic = String(stat.Stat);
    extended = statistic.startsWith('p');
    periodSeconds = Number(stat.Period);
  } else {
    metric = {
      namespace: String(props.Namespace),
      name: String(props.MetricName),
      dimensions: dimensionsOf(props.Dimensions),
      ...(props.Unit !== undefined ? { unit: String(props.Unit) } : {}),
    };
    extended = props.ExtendedStatistic !== undefined;
    statistic = String(props.ExtendedStatistic ?? props.Statistic);
    periodSeconds = Number(props.Period);
  }
  if (props.ThresholdMetricId !== undefined) return not('an anomaly detection band (ThresholdMetricId)');
  const comparison = String(props.ComparisonOperator);
  if (!Object.hasOwn(COMPARISONS, comparison)) {
    return not(
      `comparison operator ${comparison} (the twin evaluates ${Object.keys(COMPARISONS).join(', ')})`,
    );
  }
  const stat = parseStatistic(statistic);
  if (!stat) {
    return not(
      `statistic ${statistic} (the twin computes SampleCount, Sum, Average, Minimum, Maximum and pNN)`,
    );
  }
  const treat = String(props.TreatMissingData ?? 'missing');
  if (!(MISSING_DATA_TREATMENTS as readonly string[]).includes(treat))
    return not(`TreatMissingData ${treat} (CloudWatch knows ${MISSING_DATA_TREATMENTS.join(', ')})`);
  const evaluationPeriods = Number(props.EvaluationPeriods);
  const datapointsToAlarm = Number(props.DatapointsToAlarm ?? evaluationPeriods);
  const threshold = Number(props.Threshold);
  if (!(Number.isInteger(evaluationPeriods) && evaluationPeriods >= 1))
    return not(`EvaluationPeriods ${String(props.EvaluationPeriods)} is not a positive integer`);
  if (
    !(Number.isInteger(datapointsToAlarm) && datapointsToAlarm >= 1 && datapointsToAlarm <= evaluationPeriods)
  )
    return not(`DatapointsToAlarm ${String(props.DatapointsToAlarm)} is not 1 to EvaluationPeriods`);
  if (!(periodSeconds > 0)) return not(`Period ${String(periodSeconds)} is not a positive number of seconds`);
  if (!Number.isFinite(threshold)) return not(`Threshold ${String(props.Threshold)} is not a number`);
  return {
    ...info,
    metric,
    statistic,
    stat,
    extended,
    periodSeconds,
    evaluationPeriods,
    datapointsToAlarm,
    threshold,
    comparison: comparison as ComparisonOperator,
    treatMissingData: treat as MissingDataTreatment,
  };
}

/** The outcome of one evaluation. */
export interface Evaluation {
  state: AlarmStateValue;
  /** Indexes (into the datapoints given) of the real datapoints evaluated, oldest first. */
  evaluated: number[];
  /** How many of the evaluated datapoints breach (filled ones included). */
  breaching: number;
  /** Missing datapoints filled in with the missing-data setting. */
  filled: number;
}

/**
 * CloudWatch's M-of-N evaluation of one alarm over its evaluation range: `datapoints` are the
 * range's periods, oldest first, each the statistic's value or undefined when the period had no data.
 */
export function evaluateDatapoints(
  datapoints: readonly (number | undefined)[],
  rule: Pick<
    AlarmRule,
    'evaluationPeriods' | 'datapointsToAlarm' | 'threshold' | 'comparison' | 'treatMissingData'
  >,
  current: AlarmStateValue,
): Evaluation {
  const n = rule.evaluationPeriods;
  const m = rule.datapointsToAlarm;
  const breaches = (v: number) => COMPARISONS[rule.comparison].test(v, rule.threshold);
  const real = datapoints.flatMap((v, i) => (v === undefined ? [] : [i]));
  if (real.length >= n) {
    const evaluated = real.slice(-n);
    const breaching = evaluated.filter((i) => breaches(datapoints[i]!)).length;
    return { state: breaching >= m ? 'ALARM' : 'OK', evaluated, breaching, filled: 0 };
  }
  const realBreaching = real.filter((i) => breaches(datapoints[i]!)).length;
  const fill = n - real.length;
  switch (rule.treatMissingData) {
    case 'breaching': {
      const breaching = realBreaching + fill;
      return { state: breaching >= m ? 'ALARM' : 'OK', evaluated: real, breaching, filled: fill };
    }
    case 'notBreaching':
      return {
        state: realBreaching >= m ? 'ALARM' : 'OK',
        evaluated: real,
        breaching: realBreaching,
        filled: fill,
      };
    case 'missing':
    case 'ignore': {
      let state: AlarmStateValue;
      if (realBreaching >= m) state = 'ALARM';
      else if (realBreaching < real.length) state = 'OK';
      else state = rule.treatMissingData === 'missing' ? 'INSUFFICIENT_DATA' : current;
      return { state, evaluated: real, breaching: realBreaching, filled: 0 };
    }
  }
}

/** CloudWatch's timestamps in alarm messages and events: `2026-12-01T17:09:00.000+0000`. */
export function cloudWatchTime(d: Date): string {
  return d.toISOString().replace('Z', '+0000');
}

/** A datapoint's time in a state reason, as CloudWatch writes it: `01/12/26 17:09:00`. */
function reasonTime(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getUTCDate())}/${two(d.getUTCMonth() + 1)}/${two(d.getUTCFullYear() % 100)} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
}

/** A number in a state reason: CloudWatch writes whole numbers with one decimal. */
function reasonNumber(v: number): string {
  return Number.isInteger(v) ? v.toFixed(1) : String(v);
}

const plural = (n: number, one: string, many: string) => (n === 1 ? one : many);

/** The state reason CloudWatch gives for an evaluation, and its machine-readable reason data. */
export function stateReason(
  alarm: AlarmDefinition,
  evaluation: Evaluation,
  datapoints: readonly (number | undefined)[],
  periodStarts: readonly number[],
  from: AlarmStateValue,
  now: number,
): { reason: string; reasonData: string } {
  const { state, evaluated, breaching, filled } = evaluation;
  const n = alarm.evaluationPeriods;
  const words = COMPARISONS[alarm.comparison].words;
  const listed = [...evaluated]
    .reverse()
    .map((i) => `${reasonNumber(datapoints[i]!)} (${reasonTime(periodStarts[i]!)})`)
    .join(', ');
  const reasonData = JSON.stringify({
    version: '1.0',
    queryDate: cloudWatchTime(new Date(now)),
    startDate: cloudWatchTime(new Date(periodStarts[0] ?? now)),
    statistic: alarm.statistic,
    period: alarm.periodSeconds,
    recentDatapoints: evaluated.map((i) => datapoints[i]),
    threshold: alarm.threshold,
    evaluatedDatapoints: [...evaluated].reverse().map((i) => ({
      timestamp: cloudWatchTime(new Date(periodStarts[i]!)),
      value: datapoints[i],
    })),
  });
  let reason: string;
  if (state === 'INSUFFICIENT_DATA') {
    const unknown = n - evaluated.length;
    reason = `Insufficient Data: ${unknown} ${plural(unknown, 'datapoint was', 'datapoints were')} unknown.`;
  } else if (evaluated.length === 0) {
    reason = `Threshold Crossed: no datapoints were received for ${n} ${plural(n, 'period', 'periods')} and ${filled} missing ${plural(filled, 'datapoint was', 'datapoints were')} treated as [${alarm.treatMissingData === 'breaching' ? 'Breaching' : 'NonBreaching'}].`;
  } else {
    const count =
      state === 'ALARM'
        ? breaching - (alarm.treatMissingData === 'breaching' ? filled : 0)
        : evaluated.length - breaching;
    const minimum = state === 'ALARM' ? alarm.datapointsToAlarm : n - alarm.datapointsToAlarm + 1;
    reason = `Threshold Crossed: ${count} out of the last ${evaluated.length} ${plural(evaluated.length, 'datapoint', 'datapoints')} [${listed}] ${plural(count, 'was', 'were')} ${state === 'OK' ? 'not ' : ''}${words} the threshold (${reasonNumber(alarm.threshold)}) (minimum ${minimum} ${plural(minimum, 'datapoint', 'datapoints')} for ${from} -> ${state} transition).`;
    if (filled > 0) {
      reason += ` ${filled} missing ${plural(filled, 'datapoint was', 'datapoints were')} treated as [${alarm.treatMissingData === 'breaching' ? 'Breaching' : 'NonBreaching'}].`;
    }
  }
  return { reason, reasonData };
}

/** An alarm's change of state. */
export interface AlarmStateChange {
  alarm: AlarmDefinition | NotEmulatedAlarm;
  from: AlarmStateValue;
  to: AlarmStateValue;
  reason: string;
  reasonData?: string;
  at: Date;
  /** The state left: its reason and since when. */
  previous: { reason: string; reasonData?: string; at: Date };
}

interface AlarmRuntime {
  alarm: AlarmDefinition | NotEmulatedAlarm;
  state: AlarmStateValue;
  since: Date;
  reason: string;
  reasonData?: string;
  history: TwinAlarm['history'];
}

/** State changes kept per alarm (CloudWatch keeps two weeks of history). */
const HISTORY_LIMIT = 100;

/** The alarms of the templates, their states and histories. */
export class LocalAlarms {
  private readonly runtimes: AlarmRuntime[];

  constructor(
    alarms: readonly (AlarmDefinition | NotEmulatedAlarm)[],
    private readonly metrics: MetricStore,
    /** Called for every state change, after the alarm took its new state. */
    private readonly onChange: (change: AlarmStateChange) => void,
    created: Date = new Date(),
  ) {
    this.runtimes = alarms.map((alarm) => ({
      alarm,
      state: 'INSUFFICIENT_DATA',
      since: created,
      reason: isEmulated(alarm)
        ? 'Unchecked: Initial alarm creation'
        : `Not emulated by the local twin: ${alarm.reason}`,
      history: [],
    }));
  }

  /** Every alarm of the templates. */
  list(): (AlarmDefinition | NotEmulatedAlarm)[] {
    return this.runtimes.map((r) => r.alarm);
  }

  /** The longest time an evaluation looks back, in ms: how long metric points must be kept. */
  longestRangeMs(): number {
    let longest = 0;
    for (const { alarm } of this.runtimes) {
      if (isEmulated(alarm)) {
        const range = (alarm.evaluationPeriods + EVALUATION_RANGE_EXTRA_PERIODS) * alarm.periodSeconds * 1000;
        longest = Math.max(longest, range);
      }
    }
    return longest;
  }

  /** Evaluates every emulated alarm at `now`; returns the state changes, which have been handed to onChange. */
  evaluate(now: number = Date.now()): AlarmStateChange[] {
    const changes: AlarmStateChange[] = [];
    for (const rt of this.runtimes) {
      const { alarm } = rt;
      if (!isEmulated(alarm)) continue;
      const periodMs = alarm.periodSeconds * 1000;
      const range = alarm.evaluationPeriods + EVALUATION_RANGE_EXTRA_PERIODS;
      const datapoints: (number | undefined)[] = [];
      const starts: number[] = [];
      for (let k = range - 1; k >= 0; k--) {
        const end = now - k * periodMs;
        starts.push(end - periodMs);
        datapoints.push(computeStatistic(this.metrics.values(alarm.metric, end - periodMs, end), alarm.stat));
      }
      const evaluation = evaluateDatapoints(datapoints, alarm, rt.state);
      if (evaluation.state === rt.state) continue;
      const { reason, reasonData } = stateReason(alarm, evaluation, datapoints, starts, rt.state, now);
      changes.push(this.change(rt, evaluation.state, reason, new Date(now), reasonData));
    }
    return changes;
  }

  /** CloudWatch's SetAlarmState: the alarm takes the state (actions included) until its next evaluation. */
  setState(name: string, state: AlarmStateValue, reason: string): AlarmStateChange | undefined {
    const rt = this.runtimes.find((r) => r.alarm.name === name);
    if (!rt) {
      throw new Error(
        `The twin has no alarm named "${name}"; it has ${this.runtimes.map((r) => r.alarm.name).join(', ')}`,
      );
    }
    if (rt.state === state) return undefined;
    return this.change(rt, state, reason, new Date());
  }

  private change(
    rt: AlarmRuntime,
    to: AlarmStateValue,
    reason: string,
    at: Date,
    reasonData?: string,
  ): AlarmStateChange {
    const change: AlarmStateChange = {
      alarm: rt.alarm,
      from: rt.state,
      to,
      reason,
      ...(reasonData ? { reasonData } : {}),
      at,
      previous: { reason: rt.reason, ...(rt.reasonData ? { reasonData: rt.reasonData } : {}), at: rt.since },
    };
    rt.state = to;
    rt.since = at;
    rt.reason = reason;
    rt.reasonData = reasonData;
    rt.history.push({ at: at.toISOString(), from: change.from, to, reason });
    if (rt.history.length > HISTORY_LIMIT) rt.history.shift();
    this.onChange(change);
    return change;
  }

  /** Every alarm as `GET /_twin/alarms` shows it. */
  describe(): TwinAlarm[] {
    return this.runtimes.map(({ alarm, state, since, reason, history }) => {
      const base = {
        name: alarm.name,
        logicalId: alarm.logicalId,
        ...(alarm.description !== undefined ? { description: alarm.description } : {}),
        state,
        since: since.toISOString(),
        reason,
        history: [...history],
      };
      if (!isEmulated(alarm)) {
        return {
          ...base,
          metric: { namespace: '', name: '', dimensions: {}, statistic: '' },
          periodSeconds: 0,
          evaluationPeriods: 0,
          datapointsToAlarm: 0,
          threshold: 0,
          comparison: '',
          treatMissingData: '',
          notEmulated: alarm.reason,
        };
      }
      return {
        ...base,
        metric: {
          namespace: alarm.metric.namespace,
          name: alarm.metric.name,
          dimensions: { ...alarm.metric.dimensions },
          statistic: alarm.statistic,
        },
        periodSeconds: alarm.periodSeconds,
        evaluationPeriods: alarm.evaluationPeriods,
        datapointsToAlarm: alarm.datapointsToAlarm,
        threshold: alarm.threshold,
        comparison: alarm.comparison,
        treatMissingData: alarm.treatMissingData,
      };
    });
  }
}

/** Region names as CloudWatch writes them in alarm messages. */
const REGION_NAMES: Record<string, string> = { 'us-east-1': 'US East (N. Virginia)' };

/** The actions of an alarm for the state it entered. */
export function actionsFor(alarm: AlarmInfo, state: AlarmStateValue): string[] {
  if (!alarm.actionsEnabled) return [];
  if (state === 'ALARM') return alarm.alarmActions;
  if (state === 'OK') return alarm.okActions;
  return alarm.insufficientDataActions;
}

/** The SNS message CloudWatch publishes to an alarm's topics on a state change: its subject and JSON. */
export function alarmNotification(
  change: AlarmStateChange,
  region: string,
  account: string,
): { subject: string; message: string } {
  const { alarm } = change;
  const regionName = REGION_NAMES[region] ?? region;
  const trigger = isEmulated(alarm)
    ? {
        MetricName: alarm.metric.name,
        Namespace: alarm.metric.namespace,
        StatisticType: alarm.extended ? 'ExtendedStatistic' : 'Statistic',
        ...(alarm.extended
          ? { ExtendedStatistic: alarm.statistic }
          : { Statistic: alarm.statistic.toUpperCase() }),
        Unit: alarm.metric.unit ?? null,
        Dimensions: Object.entries(alarm.metric.dimensions).map(([name, value]) => ({ value, name })),
        Period: alarm.periodSeconds,
        EvaluationPeriods: alarm.evaluationPeriods,
        DatapointsToAlarm: alarm.datapointsToAlarm,
        ComparisonOperator: alarm.comparison,
        Threshold: alarm.threshold,
        TreatMissingData: alarm.treatMissingData,
        EvaluateLowSampleCountPercentile: '',
      }
    : {};
  const message = {
    AlarmName: alarm.name,
    AlarmDescription: alarm.description ?? null,
    AWSAccountId: account,
    AlarmConfigurationUpdatedTimestamp: cloudWatchTime(change.previous.at),
    NewStateValue: change.to,
    NewStateReason: change.reason,
    StateChangeTime: cloudWatchTime(change.at),
    Region: regionName,
    AlarmArn: alarm.arn,
    OldStateValue: change.from,
    OKActions: alarm.okActions,
    AlarmActions: alarm.alarmActions,
    InsufficientDataActions: alarm.insufficientDataActions,
    Trigger: trigger,
  };
  return {
    subject: `${change.to}: "${alarm.name}" in ${regionName}`,
    message: JSON.stringify(message),
  };
}

/** The `CloudWatch Alarm State Change` event CloudWatch sends to EventBridge for a state change. */
export function alarmStateChangeEvent(
  change: AlarmStateChange,
  region: string,
  account: string,
  id: string,
): Record<string, unknown> {
  const { alarm } = change;
  const state = (value: AlarmStateValue, reason: string, at: Date, reasonData?: string) => ({
    value,
    reason,
    ...(reasonData ? { reasonData } : {}),
    timestamp: cloudWatchTime(at),
  });
  return {
    version: '0',
    id,
    'detail-type': 'CloudWatch Alarm State Change',
    source: 'aws.cloudwatch',
    account,
    time: change.at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region,
    resources: [alarm.arn],
    detail: {
      alarmName: alarm.name,
      state: state(change.to, change.reason, change.at, change.reasonData),
      previousState: state(
        change.from,
        change.previous.reason,
        change.previous.at,
        change.previous.reasonData,
      ),
      configuration: {
        ...(alarm.description !== undefined ? { description: alarm.description } : {}),
        metrics: isEmulated(alarm)
          ? [
              {
                id: 'm1',
                metricStat: {
                  metric: {
                    namespace: alarm.metric.namespace,
                    name: alarm.metric.name,
                    dimensions: { ...alarm.metric.dimensions },
                  },
                  period: alarm.periodSeconds,
                  stat: alarm.statistic,
                  ...(alarm.metric.unit ? { unit: alarm.metric.unit } : {}),
                },
                returnData: true,
              },
            ]
          : [],
      },
    },
  };
}
