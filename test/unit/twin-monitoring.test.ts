/**
 * The twin's monitoring wired from a template held in memory (no synthesis, no servers): alarm
 * names and ARNs resolved as on AWS, an alarm's state change published to its topic and put through
 * the rule that references it by `Fn::GetAtt Arn` to its state machine target with the rendered
 * input, what is not emulated listed by logical id, and a pattern operator the twin cannot match
 * refusing the start.
 */
import { describe, expect, it } from 'vitest';
import { MetricStore } from '../../local/cloudwatch.ts';
import { readSchedulerSchedule } from '../../local/events.ts';
import { TwinMonitoring } from '../../local/monitoring.ts';
import { type CfnResource, Resolver } from '../../local/template.ts';

const MACHINE = 'arn:aws:states:us-east-1:000000000000:stateMachine:mlops-test-rollback';
const TOPIC = 'arn:aws:sns:us-east-1:000000000000:stack-topic';

/** The resources CDK synthesizes for an alarm with a rollback rule, a schedule and their neighbours. */
function resources(more: Record<string, CfnResource> = {}): Record<string, CfnResource> {
  return {
    Topic: { Type: 'AWS::SNS::Topic' },
    Fn: { Type: 'AWS::Lambda::Function', Properties: {} },
    Alarm: {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmName: { 'Fn::Join': ['', ['mlops-test-credit--', 'server-errors']] },
        AlarmActions: [{ Ref: 'Topic' }],
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Dimensions: [{ Name: 'Model', Value: 'credit' }],
        EvaluationPeriods: 1,
        MetricName: 'ServerErrors',
        Namespace: 'Mlops/test',
        Period: 60,
        Statistic: 'Average',
        Threshold: 0.5,
        TreatMissingData: 'notBreaching',
      },
    },
    MathAlarm: {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 1,
        Threshold: 1,
        Metrics: [{ Id: 'e', Expression: 'a+b', ReturnData: true }],
      },
    },
    Rule: {
      Type: 'AWS::Events::Rule',
      Properties: {
        EventPattern: {
          source: ['aws.cloudwatch'],
          'detail-type': ['CloudWatch Alarm State Change'],
          resources: [{ 'Fn::GetAtt': ['Alarm', 'Arn'] }],
          detail: { state: { value: ['ALARM'] } },
        },
        State: 'ENABLED',
        Targets: [
          {
            Id: 'Target0',
            Arn: MACHINE,
            InputTransformer: {
              InputPathsMap: { 'detail-alarmName': '$.detail.alarmName' },
              InputTemplate: '{"model":"credit","trigger":"alarm","alarm":<detail-alarmName>,"ref":"x"}',
            },
          },
        ],
      },
    },
    Schedule: {
      Type: 'AWS::Events::Rule',
      Properties: {
        ScheduleExpression: 'cron(0 0 L * ? *)',
        State: 'ENABLED',
        Targets: [{ Id: 'Target0', Arn: { 'Fn::GetAtt': ['Fn', 'Arn'] } }],
      },
    },
    ...more,
  };
}

function setup(more: Record<string, CfnResource> = {}) {
  const resolver = new Resolver({
    dir: '',
    fileAssets: [],
    stacks: [{ stackName: 'stack', templateFile: '', Resources: resources(more) }],
  });
  const metrics = new MetricStore();
  const calls: unknown[][] = [];
  const monitoring = new TwinMonitoring({
    resolver,
    metrics,
    tickMs: 60_000,
    services: {
      isStateMachine: (arn) => arn === MACHINE,
      isFunction: (arn) => arn.includes(':function:'),
      startExecution: (arn, input) => calls.push(['start', arn, input]),
      invokeAsync: (arn, input) => calls.push(['invoke', arn, input]),
      publish: (topic, message, subject) => calls.push(['publish', topic, subject, JSON.parse(message)]),
    },
  });
  return { resolver, metrics, calls, monitoring };
}

describe('TwinMonitoring', () => {
  it('resolves an alarm to its AlarmName and ARN, as CloudWatch names them', () => {
    const { resolver, monitoring } = setup();
    const stack = resolver.stacks[0]!;

    expect(resolver.resolve({ Ref: 'Alarm' }, stack)).toBe('mlops-test-credit--server-errors');
    expect(resolver.resolve({ 'Fn::GetAtt': ['Alarm', 'Arn'] }, stack)).toBe(
      'arn:aws:cloudwatch:us-east-1:000000000000:alarm:mlops-test-credit--server-errors',
    );
    expect(resolver.arn(stack, 'Rule')).toBe('arn:aws:events:us-east-1:000000000000:rule/stack-rule');
    expect(monitoring.alarms.describe().map((a) => [a.logicalId, a.name, a.state])).toEqual([
      ['Alarm', 'mlops-test-credit--server-errors', 'INSUFFICIENT_DATA'],
      ['MathAlarm', 'stack-mathalarm', 'INSUFFICIENT_DATA'],
    ]);
  });

  it('lists what it emulates and, by logical id, what it does not', () => {
    expect(setup().monitoring.summary()).toEqual({
      running: false,
      alarms: {
        emulated: ['Alarm'],
        notEmulated: [{ logicalId: 'MathAlarm', reason: 'metric math ("a+b")' }],
      },
      rules: { emulated: ['Rule'], notEmulated: [] },
      schedules: {
        emulated: [],
        notEmulated: [
          {
            logicalId: 'Schedule',
            reason: 'cron(0 0 L * ? *): "L" in the day-of-month field is not emulated by the twin',
          },
        ],
      },
      warnings: [],
    });
  });

  it("publishes an alarm's change to its topic and starts the rule's state machine with the rendered input", () => {
    const { metrics, calls, monitoring } = setup();
    const now = Date.UTC(2026, 11, 1, 12, 0, 0);
    const dims = { Model: 'credit' };
    for (const value of [1, 1, 0]) {
      metrics.put({
        namespace: 'Mlops/test',
        name: 'ServerErrors',
        value,
        unit: 'Count',
        dimensions: dims,
        timestamp: now - 5000,
      });
    }

    const changes = monitoring.evaluate(now);

    expect(changes.map((c) => [c.from, c.to])).toEqual([['INSUFFICIENT_DATA', 'ALARM']]);
    expect(calls).toEqual([
      [
        'publish',
        TOPIC,
        'ALARM: "mlops-test-credit--server-errors" in US East (N. Virginia)',
        expect.objectContaining({ AlarmName: 'mlops-test-credit--server-errors', NewStateValue: 'ALARM' }),
      ],
      [
        'start',
        MACHINE,
        { model: 'credit', trigger: 'alarm', alarm: 'mlops-test-credit--server-errors', ref: 'x' },
      ],
    ]);
    expect(monitoring.bus.log.at(-1)?.matched).toEqual(['Rule']);
  });

  it('sends an OK state change to no target of a rule on ALARM', () => {
    const { calls, monitoring } = setup();

    monitoring.setAlarmState('mlops-test-credit--server-errors', 'OK', 'checked by hand');

    expect(calls).toEqual([]);
    expect(monitoring.bus.log.at(-1)?.matched).toEqual([]);
  });

  it('refuses to start with a rule whose pattern uses an operator it does not match, naming both', () => {
    const { monitoring } = setup({
      Cidr: {
        Type: 'AWS::Events::Rule',
        Properties: { EventPattern: { detail: { ip: [{ cidr: '10.0.0.0/8' }] } }, Targets: [] },
      },
    });

    expect(() => monitoring.start()).toThrow(
      /rule Cidr: the event pattern operator "cidr" at detail\.ip is not emulated/,
    );
    expect(monitoring.running).toBe(false);
  });

  it('warns of an alarm on an AWS metric the twin does not record, and of a target it cannot reach', () => {
    const { monitoring } = setup({
      Throttles: {
        Type: 'AWS::CloudWatch::Alarm',
        Properties: {
          ComparisonOperator: 'GreaterThanThreshold',
          EvaluationPeriods: 1,
          Threshold: 1,
          MetricName: 'Throttles',
          Namespace: 'AWS/Lambda',
          Period: 60,
          Statistic: 'Sum',
        },
      },
      Queue: {
        Type: 'AWS::Events::Rule',
        Properties: {
          EventPattern: { source: ['x'] },
          Targets: [{ Id: 'Q', Arn: 'arn:aws:sqs:us-east-1:0:q' }],
        },
      },
    });

    expect(monitoring.summary().warnings).toEqual([
      'alarm Throttles: the twin does not record AWS/Lambda Throttles; it sees missing data',
      'rule Queue: target Q (arn:aws:sqs:us-east-1:0:q) is not emulated (the twin starts state machines, invokes functions and publishes to SNS topics)',
    ]);
  });

  it('runs an EventBridge Scheduler schedule as a scheduled rule, and lists one in another time zone as not emulated', () => {
    const { monitoring } = setup({
      Retrain: {
        Type: 'AWS::Scheduler::Schedule',
        Properties: {
          ScheduleExpression: 'rate(7 days)',
          FlexibleTimeWindow: { Mode: 'OFF' },
          Target: { Arn: MACHINE, RoleArn: 'r', Input: '{"model":"credit","trigger":"schedule"}' },
        },
      },
      Paris: {
        Type: 'AWS::Scheduler::Schedule',
        Properties: {
          ScheduleExpression: 'cron(0 3 * * ? *)',
          ScheduleExpressionTimezone: 'Europe/Paris',
          FlexibleTimeWindow: { Mode: 'OFF' },
          Target: { Arn: MACHINE, RoleArn: 'r' },
        },
      },
    });

    const summary = monitoring.summary();
    expect(summary.schedules.emulated).toEqual(['Retrain']);
    expect(summary.schedules.notEmulated).toContainEqual({
      logicalId: 'Paris',
      reason: 'its time zone Europe/Paris is not emulated by the twin (UTC is)',
    });
    expect(monitoring.schedules.describe().find((s) => s.logicalId === 'Retrain')).toMatchObject({
      rule: 'stack-retrain',
      expression: 'rate(7 days)',
      enabled: true,
      targets: [MACHINE],
    });
    expect(
      readSchedulerSchedule('S', 's', 'arn', { ScheduleExpression: 'rate(1 day)', Target: { Arn: 'a' } })
        .targets,
    ).toEqual([{ id: 'Target', arn: 'a', input: '{}' }]);
  });
});
