/**
 * The twin's monitoring: the templates' alarms evaluated on a timer (local/alarms.ts), their state
 * changes sent to their SNS actions and, as `CloudWatch Alarm State Change` events, through the
 * templates' EventBridge rules (local/events.ts) to their targets; and the scheduled rules (and
 * EventBridge Scheduler schedules) firing on time (local/schedules.ts). Everything runs in real time: an evaluation looks at the metrics of
 * the last periods before now.
 *
 * What the twin does not emulate is listed by logical id in {@link TwinMonitoring.summary}, and
 * `local up` prints it; a rule whose event pattern uses an operator the twin does not match stops
 * the start, naming it, rather than never firing.
 */
import { randomUUID } from 'node:crypto';
import type { AlarmStateValue, NotEmulated, TwinMonitoringSummary } from '../contracts/twin-api.ts';
import {
  type AlarmDefinition,
  type AlarmStateChange,
  actionsFor,
  alarmNotification,
  alarmStateChangeEvent,
  isEmulated,
  LocalAlarms,
  type NotEmulatedAlarm,
  readAlarm,
} from './alarms.ts';
import type { MetricStore } from './cloudwatch.ts';
import {
  checkPattern,
  checkTarget,
  type EventRule,
  LocalEventBus,
  type RuleTarget,
  readRule,
  readSchedulerSchedule,
} from './events.ts';
import { LocalSchedules, parseSchedule, type Schedule, scheduledEvent } from './schedules.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION, type Resolver } from './template.ts';

/** How the monitoring reaches the twin's services for alarm actions and rule targets. */
export interface MonitoringServices {
  isStateMachine(arn: string): boolean;
  isFunction(arn: string): boolean;
  /** Starts an execution and returns at once (settle() waits for it). */
  startExecution(arn: string, input: unknown): void;
  /** Invokes a function asynchronously (settle() waits for it). */
  invokeAsync(arn: string, input: unknown): void;
  /** Publishes to an SNS topic; `shown` is what the twin prints in the message's place. */
  publish(topicArn: string, message: string, subject?: string, shown?: string): void;
}

export interface MonitoringOptions {
  resolver: Resolver;
  metrics: MetricStore;
  services: MonitoringServices;
  /**
   * Time between alarm evaluations, in ms.
   * @default 5000
   */
  tickMs?: number;
  log?: (line: string) => void;
}

/** The metrics the twin records for the AWS services it emulates; an alarm on another AWS one sees no data. */
export const TWIN_AWS_METRICS: Record<string, readonly string[]> = {
  'AWS/Lambda': ['Invocations', 'Errors', 'Duration'],
  'AWS/States': ['ExecutionsStarted', 'ExecutionsSucceeded', 'ExecutionsFailed', 'ExecutionTime'],
  'AWS/ApiGateway': ['Count', '4XXError', '5XXError', 'Latency'],
};

/** How much longer than the longest alarm range points are kept, and the least they are kept. */
const RETENTION_MARGIN_MS = 15 * 60_000;
const MIN_RETENTION_MS = 60 * 60_000;

const isTopic = (arn: string) => arn.startsWith('arn:aws:sns:');

export class TwinMonitoring {
  readonly alarms: LocalAlarms;
  readonly bus: LocalEventBus;
  readonly schedules: LocalSchedules;
  private readonly tickMs: number;
  private readonly log: (line: string) => void;
  private readonly notEmulated: { rules: NotEmulated[]; schedules: NotEmulated[] } = {
    rules: [],
    schedules: [],
  };
  private readonly emulatedRules: string[] = [];
  private readonly emulatedSchedules: string[] = [];
  private readonly warnings: string[] = [];
  /** Rules whose pattern the twin cannot match: starting the monitoring fails naming them. */
  private readonly patternErrors: string[] = [];
  private timer?: NodeJS.Timeout;

  constructor(private readonly options: MonitoringOptions) {
    this.tickMs = options.tickMs ?? 5000;
    this.log = options.log ?? (() => {});
    const { resolver } = options;

    const alarms: (AlarmDefinition | NotEmulatedAlarm)[] = [];
    for (const stack of resolver.stacks) {
      for (const [logicalId, res] of Object.entries(stack.Resources)) {
        if (res.Type !== 'AWS::CloudWatch::Alarm') continue;
        let alarm: AlarmDefinition | NotEmulatedAlarm;
        try {
          const props = resolver.resolve(res.Properties ?? {}, stack) as Record<string, unknown>;
          alarm = readAlarm(logicalId, resolver.ref(stack, logicalId), resolver.arn(stack, logicalId), props);
        } catch (err) {
          // A property the resolver cannot resolve: the alarm is listed, not evaluated.
          alarm = {
            logicalId,
            name: logicalId,
            arn: '',
            actionsEnabled: false,
            alarmActions: [],
            okActions: [],
            insufficientDataActions: [],
            reason: (err as Error).message,
          };
        }
        alarms.push(alarm);
      }
    }
    for (const alarm of alarms) {
      const actions = [...alarm.alarmActions, ...alarm.okActions, ...alarm.insufficientDataActions];
      for (const action of actions.filter((a) => !isTopic(a))) {
        this.warnings.push(`alarm ${alarm.logicalId}: action ${action} is not emulated (SNS topics are)`);
      }
      if (isEmulated(alarm)) {
        const known = TWIN_AWS_METRICS[alarm.metric.namespace];
        if (alarm.metric.namespace.startsWith('AWS/') && !known?.includes(alarm.metric.name)) {
          this.warnings.push(
            `alarm ${alarm.logicalId}: the twin does not record ${alarm.metric.namespace} ${alarm.metric.name}; it sees missing data`,
          );
        }
      }
    }
    this.alarms = new LocalAlarms(alarms, options.metrics, (change) => this.onAlarmChange(change));
    options.metrics.retentionMs = Math.max(
      options.metrics.retentionMs,
      MIN_RETENTION_MS,
      this.alarms.longestRangeMs() + RETENTION_MARGIN_MS,
    );

    const patternRules: EventRule[] = [];
    const scheduled: { rule: EventRule; schedule: Schedule }[] = [];
    for (const stack of resolver.stacks) {
      for (const [logicalId, res] of Object.entries(stack.Resources)) {
        if (res.Type !== 'AWS::Events::Rule') continue;
        const list =
          res.Properties?.ScheduleExpression !== undefined
            ? this.notEmulated.schedules
            : this.notEmulated.rules;
        let rule: EventRule;
        try {
          const props = resolver.resolve(res.Properties ?? {}, stack) as Record<string, unknown>;
          rule = readRule(logicalId, resolver.ref(stack, logicalId), resolver.arn(stack, logicalId), props);
        } catch (err) {
          list.push({ logicalId, reason: (err as Error).message });
          continue;
        }
        this.addRule(rule, list, patternRules, scheduled);
      }
    }
    // EventBridge Scheduler's schedules run as scheduled rules with their one target.
    for (const stack of resolver.stacks) {
      for (const [logicalId, res] of Object.entries(stack.Resources)) {
        if (res.Type !== 'AWS::Scheduler::Schedule') continue;
        try {
          const props = resolver.resolve(res.Properties ?? {}, stack) as Record<string, unknown>;
          const name =
            props.Name === undefined ? resolver.physicalName(stack, logicalId) : String(props.Name);
          const group = props.GroupName === undefined ? 'default' : String(props.GroupName);
          const arn = `arn:aws:scheduler:${LOCAL_REGION}:${LOCAL_ACCOUNT}:schedule/${group}/${name}`;
          this.addRule(
            readSchedulerSchedule(logicalId, name, arn, props),
            this.notEmulated.schedules,
            patternRules,
            scheduled,
          );
        } catch (err) {
          this.notEmulated.schedules.push({ logicalId, reason: (err as Error).message });
        }
      }
    }
    this.bus = new LocalEventBus(
      patternRules.filter((r) => r.enabled),
      (target, input, rule) => this.deliver(target, input, rule),
      (message) => this.log(`[events] ${message}`),
    );
    this.schedules = new LocalSchedules(scheduled, (rule, at) => {
      this.log(`[schedule] ${rule.logicalId} (${rule.schedule}) fired`);
      this.bus.send(rule, scheduledEvent(rule, at, LOCAL_REGION, LOCAL_ACCOUNT));
    });
  }

  /** Sorts a rule into the emulated pattern rules and schedules, or the not emulated ones. */
  private addRule(
    rule: EventRule,
    list: NotEmulated[],
    patternRules: EventRule[],
    scheduled: { rule: EventRule; schedule: Schedule }[],
  ): void {
    const { logicalId } = rule;
    if (rule.eventBusName !== undefined && rule.eventBusName !== 'default') {
      list.push({
        logicalId,
        reason: `on event bus ${rule.eventBusName} (the twin has the default bus only)`,
      });
      return;
    }
    const broken = rule.targets.flatMap((t) => {
      try {
        checkTarget(t);
        return [];
      } catch (err) {
        return [(err as Error).message];
      }
    });
    if (broken.length > 0) {
      list.push({ logicalId, reason: broken.join('; ') });
      return;
    }
    for (const t of rule.targets.filter((t) => !this.deliverable(t.arn))) {
      this.warnings.push(
        `rule ${logicalId}: target ${t.id} (${t.arn}) is not emulated (the twin starts state machines, invokes functions and publishes to SNS topics)`,
      );
    }
    if (rule.schedule !== undefined) {
      try {
        scheduled.push({ rule, schedule: parseSchedule(rule.schedule) });
        this.emulatedSchedules.push(logicalId);
      } catch (err) {
        list.push({ logicalId, reason: (err as Error).message });
      }
    }
    if (rule.pattern !== undefined) {
      try {
        checkPattern(rule.pattern);
        patternRules.push(rule);
        this.emulatedRules.push(logicalId);
      } catch (err) {
        const reason = (err as Error).message;
        this.notEmulated.rules.push({ logicalId, reason });
        this.patternErrors.push(`rule ${logicalId}: ${reason}`);
      }
    }
  }

  /** Whether alarms are being evaluated and schedules fire. */
  get running(): boolean {
    return this.timer !== undefined;
  }

  /** Starts evaluating alarms every tick and arms the schedules; fails naming a pattern the twin cannot match. */
  start(): void {
    if (this.patternErrors.length > 0) {
      throw new Error(
        `The twin cannot emulate every EventBridge rule of the templates:\n  - ${this.patternErrors.join('\n  - ')}`,
      );
    }
    if (this.timer) return;
    this.timer = setInterval(() => this.evaluate(), this.tickMs);
    // The twin's server keeps a process alive; its monitoring alone does not.
    this.timer.unref();
    this.schedules.startAt();
  }

  /** Stops the evaluations and the schedules. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.schedules.stop();
  }

  /** Evaluates every alarm now (the timer does this every tick); returns the state changes. */
  evaluate(now: number = Date.now()): AlarmStateChange[] {
    this.options.metrics.prune(now);
    return this.alarms.evaluate(now);
  }

  /** CloudWatch's SetAlarmState: sets an alarm's state until its next evaluation; actions and events follow. */
  setAlarmState(name: string, state: AlarmStateValue, reason: string): AlarmStateChange | undefined {
    return this.alarms.setState(name, state, reason);
  }

  /** What is emulated and what is not, by logical id. */
  summary(): TwinMonitoringSummary {
    const alarms = this.alarms.list();
    return {
      running: this.running,
      alarms: {
        emulated: alarms.filter(isEmulated).map((a) => a.logicalId),
        notEmulated: alarms
          .filter((a): a is NotEmulatedAlarm => !isEmulated(a))
          .map((a) => ({ logicalId: a.logicalId, reason: a.reason })),
      },
      rules: { emulated: [...this.emulatedRules], notEmulated: [...this.notEmulated.rules] },
      schedules: { emulated: [...this.emulatedSchedules], notEmulated: [...this.notEmulated.schedules] },
      warnings: [...this.warnings],
    };
  }

  /** Whether the twin runs a state machine of this ARN (a rule can start it). */
  isStateMachine(arn: string): boolean {
    return this.options.services.isStateMachine(arn);
  }

  /** Whether the twin runs a function of this ARN (a rule can invoke it). */
  isFunction(arn: string): boolean {
    return this.options.services.isFunction(arn);
  }

  private deliverable(arn: string): boolean {
    const { services } = this.options;
    return services.isStateMachine(arn) || services.isFunction(arn) || isTopic(arn);
  }

  private deliver(target: RuleTarget, input: unknown, rule: EventRule): void {
    const { services } = this.options;
    if (services.isStateMachine(target.arn)) {
      this.log(`[rule] ${rule.logicalId} → starts ${target.arn.slice(target.arn.lastIndexOf(':') + 1)}`);
      services.startExecution(target.arn, input);
    } else if (services.isFunction(target.arn)) {
      this.log(`[rule] ${rule.logicalId} → invokes ${target.arn.slice(target.arn.lastIndexOf(':') + 1)}`);
      services.invokeAsync(target.arn, input);
    } else if (isTopic(target.arn)) {
      services.publish(target.arn, typeof input === 'string' ? input : JSON.stringify(input));
    } else {
      this.log(
        `[rule] ${rule.logicalId}: target ${target.id} (${target.arn}) is not emulated; not delivered`,
      );
    }
  }

  private onAlarmChange(change: AlarmStateChange): void {
    const { alarm } = change;
    // Entering or leaving ALARM is news; the rest (every alarm leaving INSUFFICIENT_DATA at start) is in the history.
    if (change.from === 'ALARM' || change.to === 'ALARM')
      this.log(`[alarm] ${alarm.name}: ${change.from} → ${change.to} (${change.reason})`);
    const actions = actionsFor(alarm, change.to);
    if (actions.length > 0) {
      const { subject, message } = alarmNotification(change, LOCAL_REGION, LOCAL_ACCOUNT);
      for (const action of actions.filter(isTopic))
        this.options.services.publish(action, message, subject, change.reason);
    }
    this.bus.put(alarmStateChangeEvent(change, LOCAL_REGION, LOCAL_ACCOUNT, randomUUID()));
  }
}
