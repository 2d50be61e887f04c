import { describe, expect, it } from 'vitest';
import { actionCause, parseTrigger } from '../../core/policy/action.ts';
import { retrainRecord, TRAINING_LEASE, trainingLease } from '../../core/policy/lease.ts';

const NOW = new Date('2026-12-01T12:00:00Z');

describe('action triggers and causes', () => {
  it('defaults the trigger to operator and names each cause by what started it', () => {
    expect(parseTrigger({ model: 'credit' }, ['operator', 'schedule', 'alarm'])).toEqual({
      trigger: 'operator',
    });
    expect(actionCause({ trigger: 'operator', reason: 'new data' })).toBe('operator: new data');
    expect(actionCause({ trigger: 'operator' })).toBe('operator: no reason given');
    expect(actionCause({ trigger: 'schedule', reason: 'schedule rate(7 days)' })).toBe(
      'scheduled: schedule rate(7 days)',
    );
    expect(actionCause({ trigger: 'alarm', alarm: 'drift', reason: 'Threshold Crossed' })).toBe(
      'alarm drift: Threshold Crossed',
    );
  });

  it('fails on an unknown trigger and on an alarm name that is not text', () => {
    expect(() => parseTrigger({ trigger: 'cron' }, ['operator', 'schedule', 'alarm'])).toThrow(
      'trigger must be one of operator, schedule, alarm, got "cron"',
    );
    expect(() => parseTrigger({ trigger: 'alarm', alarm: 1 }, ['alarm'])).toThrow(
      'alarm must be a string, got 1',
    );
  });

  it('keeps at most 1000 characters of a reason', () => {
    expect(parseTrigger({ reason: 'x'.repeat(5000) }, ['operator']).reason).toHaveLength(1000);
  });
});

describe('the training lease', () => {
  it('lasts the given minutes from now and names its holder and cause', () => {
    expect(trainingLease('credit', 'exec-1', 'operator: x', NOW, 240)).toEqual({
      model: 'credit',
      name: TRAINING_LEASE,
      holder: 'exec-1',
      cause: 'operator: x',
      since: '2026-12-01T12:00:00.000Z',
      until: '2026-12-01T16:00:00.000Z',
    });
    expect(() => trainingLease('credit', 'exec-1', 'x', NOW, 0)).toThrow(/must be a positive number, got 0/);
  });

  it('records a start as started, or as refused naming the run that holds the lease', () => {
    const trigger = { trigger: 'alarm' as const, alarm: 'drift', reason: 'PSI' };
    expect(retrainRecord(trigger, 'alarm drift: PSI', 'exec-2')).toEqual({
      kind: 'retrain',
      outcome: 'started',
      cause: 'alarm drift: PSI',
      trigger: 'alarm',
      alarm: 'drift',
      execution: 'exec-2',
    });
    const held = trainingLease('credit', 'exec-1', 'scheduled: weekly', NOW, 60);
    expect(retrainRecord(trigger, 'alarm drift: PSI', 'exec-2', held)).toMatchObject({
      outcome: 'refused',
      execution: 'exec-2',
      note: 'not run: exec-1 holds the training lease since 2026-12-01T12:00:00.000Z (until 2026-12-01T13:00:00.000Z; scheduled: weekly)',
    });
  });
});
