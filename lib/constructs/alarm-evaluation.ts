/**
 * How each kind of alarm (`contracts/alarms.ts`) is evaluated: the period its statistic is computed
 * over, how many of how many periods must breach (M of N), and what a period without a datapoint
 * means. Written kind by kind, because each answer depends on how and when the kind's metric is
 * emitted; kept apart from the monitoring construct so that the table reads as one policy, and the
 * construct test holds the synthesized alarms to it.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { AlarmKind } from '../../contracts/alarms.ts';

/** The evaluation of one alarm. */
export interface AlarmEvaluation {
  /** The period of the alarm's statistic. */
  readonly period: Duration;
  /** M: breaching periods that put the alarm in ALARM. */
  readonly datapointsToAlarm: number;
  /** N: the periods looked at. */
  readonly evaluationPeriods: number;
  /** What a period without a datapoint counts as. */
  readonly treatMissingData: cloudwatch.TreatMissingData;
}

/** What an evaluation depends on besides its kind. */
export interface AlarmEvaluationContext {
  /**
   * Minutes between drift job runs: the model's own for its drift alarms, the shortest of all models'
   * for the drift job's errors.
   */
  readonly driftScheduleMinutes: number;
  /** Short settings for the twin and demos: every alarm 60 s, 1 of 1. */
  readonly fast: boolean;
}

const { IGNORE, NOT_BREACHING, BREACHING } = cloudwatch.TreatMissingData;

/** CloudWatch refuses an alarm whose periods span more than a day. */
const MAX_SPAN_MINUTES = 1440;

const minutes = (m: number, datapointsToAlarm: number, evaluationPeriods: number) => ({
  period: Duration.minutes(m),
  datapointsToAlarm,
  evaluationPeriods,
});

/** The evaluation of an alarm of `kind`. */
export function alarmEvaluation(kind: AlarmKind, context: AlarmEvaluationContext): AlarmEvaluation {
  const missing = treatMissingData[kind];
  if (context.fast) return { ...minutes(1, 1, 1), treatMissingData: missing };
  const drift = context.driftScheduleMinutes;
  if (!Number.isInteger(drift) || drift < 1 || drift > MAX_SPAN_MINUTES) {
    throw new Error(`alarmEvaluation driftScheduleMinutes: must be 1 to 1440 whole minutes, got ${drift}`);
  }
  switch (kind) {
    // One datapoint per drift run, each already a judgment over the model's whole window (and only
    // made above minSamples): one breaching run is the evidence, and the period is the run interval.
    case 'prediction-drift':
    case 'feature-drift':
    case 'null-rate':
      return { ...minutes(drift, 1, 1), treatMissingData: missing };
    // Per-request signals are noisy minute by minute: three bad minutes out of five is an incident,
    // one slow or failed burst is not; five minutes keeps a rollback within minutes of the cause.
    case 'server-errors':
    case 'latency':
    case 'api-server-errors':
      return { ...minutes(1, 3, 5), treatMissingData: missing };
    // A failed scoring is never noise: one period at the budget pages. Five minutes, because the
    // budget is a count and a low-traffic model needs time to reach it.
    case 'model-errors':
      return { ...minutes(5, 1, 1), treatMissingData: missing };
    // A client sending bad requests for ten of fifteen minutes is worth a ticket; one bad batch is not.
    case 'invalid-requests':
      return { ...minutes(5, 2, 3), treatMissingData: missing };
    // Fifteen minutes of silence from a model that is expected to be busy.
    case 'no-traffic':
      return { ...minutes(5, 3, 3), treatMissingData: missing };
    // Each of these means requests are being refused (or the log lost rows) right now, and nothing
    // recovers without a person: the first minute is enough.
    case 'feature-schema':
    case 'log-write-failures':
      return { ...minutes(1, 1, 1), treatMissingData: missing };
    // Training runs are rare and each failure is its own event.
    case 'training-failure':
      return { ...minutes(5, 1, 1), treatMissingData: missing };
    // A run that fails once (a throttled read) is measured again at the next run; failing two runs of
    // three means drift is not being measured. Capped so the three periods stay within a day.
    case 'drift-job-errors':
      return { ...minutes(Math.min(drift, MAX_SPAN_MINUTES / 3), 2, 3), treatMissingData: missing };
  }
}

/**
 * What a period without a datapoint means, per kind:
 * - drift kinds `IGNORE`: the drift job emits nothing for a window below `minSamples` (or when it did
 *   not run, which `drift-job-errors` watches). No datapoint is no evidence either way, so the alarm
 *   keeps its state: a drifting model does not turn OK overnight for lack of traffic, and a run that
 *   lands late in the next period does not flap the alarm (and start its action again);
 * - request kinds `NOT_BREACHING`: the predict function emits on every answer, so a period without a
 *   datapoint is a period without requests, which answered no 5xx, was slow for no one and refused
 *   no one;
 * - count kinds (schema, log writes, model errors, training, drift job errors) `NOT_BREACHING`: the
 *   metric exists only when the failure happens, so missing is the healthy case;
 * - `no-traffic` `BREACHING`: silence is exactly what it watches.
 */
export const treatMissingData: Readonly<Record<AlarmKind, cloudwatch.TreatMissingData>> = {
  'prediction-drift': IGNORE,
  'feature-drift': IGNORE,
  'null-rate': IGNORE,
  'server-errors': NOT_BREACHING,
  latency: NOT_BREACHING,
  'model-errors': NOT_BREACHING,
  'invalid-requests': NOT_BREACHING,
  'no-traffic': BREACHING,
  'feature-schema': NOT_BREACHING,
  'log-write-failures': NOT_BREACHING,
  'training-failure': NOT_BREACHING,
  'drift-job-errors': NOT_BREACHING,
  'api-server-errors': NOT_BREACHING,
};
