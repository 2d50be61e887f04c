/**
 * `mlops rollback` and `mlops train` as the operator sees them: the options they refuse, the input
 * they give the state machines (trigger `operator`), and how they read each outcome of the machines
 * (a move, a skip, a page, a refusal by the training lease).
 */
import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { checkReason, parseTo, rollbackResult } from '../../cli/commands/rollback.ts';
import { heldLease, trainingInput } from '../../cli/commands/train.ts';
import { CliError } from '../../cli/errors.ts';

describe('rollback options', () => {
  it('--to takes 3 or v3, and refuses anything else naming the value', () => {
    expect(parseTo('3')).toBe(3);
    expect(parseTo('v12')).toBe(12);
    for (const bad of ['0', '-1', '1.5', 'x', 'v', '']) {
      expect(() => parseTo(bad)).toThrow(InvalidArgumentError);
      expect(() => parseTo(bad)).toThrow(`got "${bad}"`);
    }
  });

  it('--reason is required and not blank', () => {
    expect(checkReason('  latency after v4  ')).toBe('latency after v4');
    for (const bad of [undefined, '', '   ']) {
      expect(() => checkReason(bad)).toThrow(CliError);
      expect(() => checkReason(bad)).toThrow('--reason "..." is required and must not be blank');
    }
  });
});

describe("the rollback machine's outcome", () => {
  it('a move names the version restored and the one replaced', () => {
    expect(
      rollbackResult('credit', { model: 'credit', outcome: 'done', version: 1, from: 2, reason: 'r' }),
    ).toEqual({
      outcome: 'done',
      model: 'credit',
      version: 1,
      from: 2,
      reason: 'r',
    });
    // The output of a machine that predates the policy has no outcome: it is a move.
    expect(rollbackResult('credit', { model: 'credit', version: 1, from: 2, reason: 'r' }).outcome).toBe(
      'done',
    );
  });

  it('a skip or a page carries the sentence the machine gives', () => {
    expect(
      rollbackResult('credit', {
        outcome: 'skipped',
        reason: 'v2 was promoted 30 h ago, outside the 24 h guard window',
      }),
    ).toEqual({
      outcome: 'skipped',
      model: 'credit',
      reason: 'v2 was promoted 30 h ago, outside the 24 h guard window',
    });
    expect(
      rollbackResult('credit', { outcome: 'paged', message: 'no version served healthily before v1' }),
    ).toMatchObject({
      outcome: 'paged',
      reason: 'no version served healthily before v1',
    });
  });

  it('an output it cannot read is a CliError quoting it', () => {
    expect(() => rollbackResult('credit', { outcome: 'done' })).toThrow(
      'an output this CLI does not know: {"outcome":"done"}',
    );
    expect(() => rollbackResult('credit', { outcome: 'exploded', version: 1, from: 2 })).toThrow(CliError);
  });
});

describe('train', () => {
  it('asks the training machine as the operator, with the seed and the reason when given', () => {
    expect(trainingInput('credit')).toEqual({ model: 'credit', trigger: 'operator' });
    expect(trainingInput('credit', { seed: 7, reason: ' new data ' })).toEqual({
      model: 'credit',
      seed: 7,
      trigger: 'operator',
      reason: 'new data',
    });
  });

  it('names the holder of the lease, since and until when, and why', () => {
    const lines = heldLease(
      {
        model: 'credit',
        name: 'training',
        holder: 'arn:aws:states:us-east-1:1:execution:training:abc',
        cause: 'Input (feature) drift alarm mlops-dev-credit--feature-drift',
        since: '2026-12-01T11:50:00.000Z',
        until: '2026-12-01T15:50:00.000Z',
      },
      new Date('2026-12-01T12:00:00.000Z'),
    );
    expect(lines).toEqual([
      'held by arn:aws:states:us-east-1:1:execution:training:abc',
      'since   2026-12-01 11:50:00 (10m ago)',
      'until   2026-12-01 15:50:00 (in 3h 50m) (then it frees itself, should that run never release it)',
      'cause   Input (feature) drift alarm mlops-dev-credit--feature-drift',
    ]);
  });
});
