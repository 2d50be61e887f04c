/**
 * The twin's control API on loopback, as the CLI and the twin's server both see it: what
 * `GET /_twin/info` answers, and the execution records and events `POST /_twin/executions`
 * streams. Types only, so the CLI can speak to a twin without loading the twin.
 */
/** `GET /_twin/info`: where the twin listens, and the stack outputs it resolved. */
export interface TwinInfo {
  apiUrl: string;
  /** The stage the twin's assembly was synthesized for (its alarm names carry it). */
  stage?: string;
  region: string;
  /** The loopback endpoints of the emulated services. */
  endpoints: { s3: string; dynamodb: string; sagemaker: string };
  outputs: Record<string, string | undefined>;
}

/** One event of an execution as it runs (a state entered, failed, ...). */
export interface ExecutionEvent {
  type: string;
  state?: string;
  error?: string;
  cause?: string;
}

/** An execution, while it runs and once it has ended. */
export interface ExecutionRecord {
  executionArn: string;
  /**
   * The state machine: what an operator calls it (`training`, `promotion`, `rollback`), or, for one
   * that only other executions start, its name.
   */
  stateMachine: string;
  stateMachineArn: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED';
  input: unknown;
  output?: unknown;
  /** The execution's error and cause when it failed. */
  error?: string;
  cause?: string;
  /** The first task error that led there; a failed child execution's own task error when there is one. */
  taskError?: { state: string; error: string; cause: string };
  /** The states entered, in order; a child's (`startExecution.sync`) follow the task state that ran it. */
  states: string[];
  startedAt: string;
  stoppedAt?: string;
  /**
   * When each state the execution entered (its own, not a child execution's) was entered and left,
   * in the order entered; a distributed Map's entry sums up its child executions. One entry per
   * state entered, as `states` has; absent on records of twins that did not keep them.
   */
  timings?: StateTiming[];
}

/** When one state of an execution was entered and left. */
export interface StateTiming {
  state: string;
  enteredAt: string;
  /** When it was left, successfully or not; absent while it runs. */
  exitedAt?: string;
  /** A distributed Map's child executions. */
  map?: MapRunTiming;
}

/**
 * A distributed Map's child executions summed up: their count and durations (from each child's
 * start to its end, not counting the time it waited for a free slot under MaxConcurrency), and the
 * input of one of them, so that one child can be run again alone.
 */
export interface MapRunTiming {
  children: number;
  failedChildren: number;
  /** Child durations in ms: their sum, median, shortest and longest. */
  childMs: { total: number; median: number; min: number; max: number };
  /** The input of the middle child (index ⌊(children - 1) / 2⌋ in item order); at most 256 KiB, Step Functions' limit on an input. */
  middleChildInput?: unknown;
}

/** A message the state machines published to the operators' topic. */
export interface Notification {
  at: string;
  topicArn: string;
  subject?: string;
  message: string;
}

/** An alarm's state, as CloudWatch names it. */
export type AlarmStateValue = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

/**
 * `GET /_twin/alarms`: every `AWS::CloudWatch::Alarm` of the templates as the twin evaluates it, with
 * the same fields the CLI reads from CloudWatch's DescribeAlarms and DescribeAlarmHistory on AWS.
 */
export interface TwinAlarm {
  /** The alarm's name (`AlarmName`). */
  name: string;
  logicalId: string;
  description?: string;
  state: AlarmStateValue;
  /** When the alarm entered its state (ISO instant). */
  since: string;
  /** Why, in CloudWatch's words (the datapoints and the threshold). */
  reason: string;
  /** The metric it watches. */
  metric: { namespace: string; name: string; dimensions: Record<string, string>; statistic: string };
  periodSeconds: number;
  evaluationPeriods: number;
  datapointsToAlarm: number;
  threshold: number;
  comparison: string;
  treatMissingData: string;
  /** State changes, oldest first. */
  history: { at: string; from: AlarmStateValue; to: AlarmStateValue; reason: string }[];
  /**
   * Set when the twin does not evaluate the alarm (metric math, an anomaly band, ...): why. Such an
   * alarm stays INSUFFICIENT_DATA unless set otherwise, and its metric fields are empty.
   */
  notEmulated?: string;
}

/** `GET /_twin/schedules`: the rules with a schedule expression, and when each next fires. */
export interface TwinSchedule {
  rule: string;
  expression: string;
  enabled: boolean;
  nextAt?: string;
  lastAt?: string;
  /** The rule's logical id in its template. */
  logicalId?: string;
  description?: string;
  /** The ARNs of the rule's targets. */
  targets?: string[];
}

/** A resource of the templates the twin's monitoring does not emulate, and why. */
export interface NotEmulated {
  logicalId: string;
  reason: string;
}

/**
 * What the twin's monitoring (alarm evaluation, EventBridge rules, schedules) emulates of the
 * templates, by logical id, and what it does not; `GET /_twin/monitoring`.
 */
export interface TwinMonitoringSummary {
  /** Whether alarms are evaluated and schedules fire (the twin's `monitoring` option). */
  running: boolean;
  alarms: { emulated: string[]; notEmulated: NotEmulated[] };
  /** Rules with an event pattern. */
  rules: { emulated: string[]; notEmulated: NotEmulated[] };
  /** Rules with a schedule expression. */
  schedules: { emulated: string[]; notEmulated: NotEmulated[] };
  /** Things that run but may not behave as on AWS (an alarm on a metric the twin does not record, ...). */
  warnings: string[];
}

/** `GET /_twin/keys`: the API key the twin issued to each client of the config; clients send it as `x-api-key`. */
export interface TwinApiKey {
  client: string;
  key: string;
}
