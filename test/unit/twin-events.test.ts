/**
 * The twin's EventBridge: event patterns (exact values, nesting, arrays, and each operator),
 * the operators it refuses by name, target input (Input, InputPath, InputTransformer in the forms
 * CDK's RuleTargetInput writes them), and a bus delivering to the targets of matched rules only.
 */
import { describe, expect, it } from 'vitest';
import {
  checkPattern,
  checkTarget,
  type EventRule,
  LocalEventBus,
  matchPattern,
  readPath,
  readRule,
  targetInput,
} from '../../local/events.ts';

const ALARM_ARN = 'arn:aws:cloudwatch:us-east-1:000000000000:alarm:mlops-test-credit--prediction-drift';

/** A state change event as the twin sends it (the fields patterns read). */
function alarmEvent(value = 'ALARM', alarmName = 'mlops-test-credit--prediction-drift') {
  return {
    version: '0',
    id: 'e1',
    'detail-type': 'CloudWatch Alarm State Change',
    source: 'aws.cloudwatch',
    account: '000000000000',
    time: '2026-12-01T12:00:00Z',
    region: 'us-east-1',
    resources: [ALARM_ARN],
    detail: {
      alarmName,
      state: {
        value,
        reason: 'Threshold Crossed: "quoted" \\ text',
        timestamp: '2026-12-01T12:00:00.000+0000',
      },
      previousState: { value: 'OK', reason: 'fine' },
      configuration: { metrics: [{ id: 'm1' }] },
      count: 7,
    },
  };
}

describe('matchPattern', () => {
  const rollbackPattern = {
    source: ['aws.cloudwatch'],
    'detail-type': ['CloudWatch Alarm State Change'],
    resources: [ALARM_ARN],
    detail: { state: { value: ['ALARM'] } },
  };

  it('matches the rule pattern CDK writes for an alarm entering ALARM', () => {
    expect(matchPattern(rollbackPattern, alarmEvent())).toBe(true);
  });

  it('does not match another state, another alarm or a missing field', () => {
    expect(matchPattern(rollbackPattern, alarmEvent('OK'))).toBe(false);
    expect(matchPattern(rollbackPattern, { ...alarmEvent(), resources: ['arn:other'] })).toBe(false);
    expect(matchPattern({ detail: { nothing: ['x'] } }, alarmEvent())).toBe(false);
    expect(matchPattern({ detail: { alarmName: { nested: ['x'] } } }, alarmEvent())).toBe(false);
  });

  it('matches when one element of an array field matches, and any of several values', () => {
    expect(matchPattern({ resources: ['arn:a', ALARM_ARN] }, alarmEvent())).toBe(true);
    expect(matchPattern({ detail: { state: { value: ['OK', 'ALARM'] } } }, alarmEvent())).toBe(true);
  });

  it.each([
    [{ prefix: 'mlops-test-' }, true],
    [{ prefix: 'mlops-prod-' }, false],
    [{ prefix: { 'equals-ignore-case': 'MLOPS-TEST' } }, true],
    [{ suffix: '--prediction-drift' }, true],
    [{ suffix: '--latency' }, false],
    [{ 'anything-but': ['x', 'y'] }, true],
    [{ 'anything-but': 'mlops-test-credit--prediction-drift' }, false],
    [{ 'anything-but': { prefix: 'mlops-prod' } }, true],
    [{ 'anything-but': { suffix: 'drift' } }, false],
    [{ 'equals-ignore-case': 'MLOPS-TEST-CREDIT--PREDICTION-DRIFT' }, true],
    [{ wildcard: 'mlops-*--*-drift' }, true],
    [{ wildcard: 'mlops-*--latency' }, false],
    [{ exists: true }, true],
  ])('matches alarmName against %j: %s', (matcher, expected) => {
    expect(matchPattern({ detail: { alarmName: [matcher] } }, alarmEvent())).toBe(expected);
  });

  it.each([
    [['>', 5], true],
    [['>', 5, '<=', 7], true],
    [['<', 7], false],
    [['=', 7], true],
    [['>=', 8], false],
  ])('matches a number against numeric %j: %s', (range, expected) => {
    expect(matchPattern({ detail: { count: [{ numeric: range }] } }, alarmEvent())).toBe(expected);
  });

  it('matches exists: false only when the field is absent', () => {
    expect(matchPattern({ detail: { missing: [{ exists: false }] } }, alarmEvent())).toBe(true);
    expect(matchPattern({ detail: { alarmName: [{ exists: false }] } }, alarmEvent())).toBe(false);
    expect(matchPattern({ detail: { missing: [{ exists: true }] } }, alarmEvent())).toBe(false);
  });

  it('matches $or alternatives', () => {
    const pattern = { detail: { $or: [{ alarmName: ['nobody'] }, { state: { value: ['ALARM'] } }] } };

    expect(matchPattern(pattern, alarmEvent())).toBe(true);
    expect(matchPattern(pattern, alarmEvent('OK'))).toBe(false);
  });
});

describe('checkPattern', () => {
  it('accepts every operator it matches', () => {
    expect(() =>
      checkPattern({
        source: ['aws.cloudwatch'],
        detail: {
          a: [{ prefix: 'x' }, { suffix: 'y' }, { 'anything-but': ['z'] }, { 'equals-ignore-case': 'q' }],
          b: [{ numeric: ['>', 0, '<', 1] }, { exists: true }, { wildcard: 'a*' }],
          $or: [{ c: ['1'] }, { d: [2] }],
        },
      }),
    ).not.toThrow();
  });

  it('refuses an operator it does not match, naming it and its field', () => {
    expect(() => checkPattern({ detail: { ip: [{ cidr: '10.0.0.0/24' }] } })).toThrow(
      /operator "cidr" at detail\.ip is not emulated by the twin/,
    );
    expect(() => checkPattern({ detail: { a: [{ 'anything-but': { wildcard: 'x*' } }] } })).toThrow(
      /anything-but at detail\.a: the operator "wildcard"/,
    );
    expect(() => checkPattern({ detail: { n: [{ numeric: ['>>', 1] }] } })).toThrow(/numeric at detail\.n/);
    expect(() => checkPattern({ source: 'aws.cloudwatch' })).toThrow(/field source holds "aws.cloudwatch"/);
  });
});

describe('target input', () => {
  const rule = { name: 'rollback-rule', arn: 'arn:aws:events:us-east-1:000000000000:rule/rollback-rule' };
  const event = alarmEvent();

  it('is the event when the target sets nothing', () => {
    expect(targetInput({ id: 'T', arn: 'arn' }, event, rule)).toBe(event);
  });

  it('is the constant Input, parsed', () => {
    expect(
      targetInput({ id: 'T', arn: 'arn', input: '{"model":"credit","windowMinutes":10}' }, event, rule),
    ).toEqual({
      model: 'credit',
      windowMinutes: 10,
    });
  });

  it('is the value at InputPath', () => {
    expect(targetInput({ id: 'T', arn: 'arn', inputPath: '$.detail.state' }, event, rule)).toEqual(
      event.detail.state,
    );
    expect(readPath(event, "$.detail.configuration.metrics[0]['id']")).toBe('m1');
    expect(readPath(event, '$.detail-type')).toBe('CloudWatch Alarm State Change');
    expect(readPath(event, '$.detail.nothing.deeper')).toBeUndefined();
  });

  it('renders the template CDK writes for RuleTargetInput.fromObject with EventField.fromPath', () => {
    const target = {
      id: 'Target0',
      arn: 'arn',
      inputTransformer: {
        inputPathsMap: {
          'detail-alarmName': '$.detail.alarmName',
          'detail-state-reason': '$.detail.state.reason',
        },
        inputTemplate:
          '{"model":"credit","trigger":"alarm","alarm":<detail-alarmName>,"reason":<detail-state-reason>}',
      },
    };

    expect(targetInput(target, event, rule)).toEqual({
      model: 'credit',
      trigger: 'alarm',
      alarm: 'mlops-test-credit--prediction-drift',
      reason: 'Threshold Crossed: "quoted" \\ text',
    });
  });

  it('renders placeholders inside a JSON string as their text (CDK fromText), and reserved variables', () => {
    const target = {
      id: 'T',
      arn: 'arn',
      inputTransformer: {
        inputPathsMap: {
          name: '$.detail.alarmName',
          reason: '$.detail.state.reason',
          count: '$.detail.count',
        },
        inputTemplate: '"Alarm <name> (<count>): <reason> by <aws.events.rule-name>"',
      },
    };

    expect(targetInput(target, event, rule)).toBe(
      'Alarm mlops-test-credit--prediction-drift (7): Threshold Crossed: "quoted" \\ text by rollback-rule',
    );
  });

  it('renders a plain-text template as text, and a missing path as null in JSON', () => {
    const text = {
      id: 'T',
      arn: 'arn',
      inputTransformer: { inputPathsMap: { s: '$.detail.state.value' }, inputTemplate: 'state <s> now' },
    };
    const json = {
      id: 'T',
      arn: 'arn',
      inputTransformer: {
        inputPathsMap: { x: '$.nothing' },
        inputTemplate: '{"x":<x>,"e":<aws.events.event>}',
      },
    };

    expect(targetInput(text, event, rule)).toBe('state ALARM now');
    expect(targetInput(json, event, rule)).toEqual({ x: null, e: event });
  });

  it('refuses an Input that is not JSON and a path it does not read', () => {
    expect(() => checkTarget({ id: 'T', arn: 'arn', input: '{model' })).toThrow(
      /target T: its Input is not JSON/,
    );
    expect(() => checkTarget({ id: 'T', arn: 'arn', inputPath: '$.detail.*' })).toThrow(
      /not a JSONPath the twin reads/,
    );
  });
});

describe('LocalEventBus', () => {
  const pattern = { source: ['aws.cloudwatch'], detail: { state: { value: ['ALARM'] } } };
  const rules: EventRule[] = [
    readRule('Rollback', 'rollback', 'arn:rule/rollback', {
      EventPattern: pattern,
      State: 'ENABLED',
      Targets: [{ Id: 'T0', Arn: 'arn:sm', Input: '{"model":"credit"}' }],
    }),
    readRule('Other', 'other', 'arn:rule/other', {
      EventPattern: { source: ['aws.other'] },
      Targets: [{ Id: 'T0', Arn: 'arn:fn' }],
    }),
  ];

  it('delivers an event to the targets of the rules it matches, and logs it', () => {
    const delivered: [string, unknown][] = [];
    const bus = new LocalEventBus(
      rules,
      (t, input) => delivered.push([t.arn, input]),
      () => {},
    );

    const matched = bus.put(alarmEvent());
    bus.put(alarmEvent('OK'));

    expect(matched.map((r) => r.logicalId)).toEqual(['Rollback']);
    expect(delivered).toEqual([['arn:sm', { model: 'credit' }]]);
    expect(bus.log.map((e) => e.matched)).toEqual([['Rollback'], []]);
  });

  it('reports a target that fails and goes on with the next', () => {
    const errors: string[] = [];
    const rule = readRule('Two', 'two', 'arn:rule/two', {
      EventPattern: pattern,
      Targets: [
        { Id: 'Bad', Arn: 'arn:bad' },
        { Id: 'Good', Arn: 'arn:good' },
      ],
    });
    const delivered: string[] = [];
    const bus = new LocalEventBus(
      [rule],
      (t) => {
        if (t.id === 'Bad') throw new Error('no such machine');
        delivered.push(t.id);
      },
      (m) => errors.push(m),
    );

    bus.put(alarmEvent());

    expect(delivered).toEqual(['Good']);
    expect(errors).toEqual(['rule Two target Bad: no such machine']);
  });

  it('reads a rule as the template gives it', () => {
    expect(
      readRule('R', 'r', 'arn:r', {
        Description: 'd',
        State: 'DISABLED',
        ScheduleExpression: 'rate(1 minute)',
        Targets: [
          { Id: 'T', Arn: 'arn:t', InputTransformer: { InputPathsMap: { a: '$.a' }, InputTemplate: '<a>' } },
        ],
      }),
    ).toEqual({
      logicalId: 'R',
      name: 'r',
      arn: 'arn:r',
      description: 'd',
      enabled: false,
      schedule: 'rate(1 minute)',
      targets: [
        { id: 'T', arn: 'arn:t', inputTransformer: { inputPathsMap: { a: '$.a' }, inputTemplate: '<a>' } },
      ],
    });
  });
});
