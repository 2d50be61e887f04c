import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { alarmPolicySchema } from '../../core/model/policies.ts';
import {
  decideRollback,
  healthyTargets,
  parseRollbackRequest,
  type RollbackFacts,
  type RollbackRequest,
} from '../../core/policy/rollback.ts';
import type { ProductionAlias, VersionStatus } from '../../core/registry/model.ts';

const NOW = new Date('2026-12-01T12:00:00Z');
const HOUR = 3_600_000;
const WINDOW = alarmPolicySchema.parse({}).guardWindowHours;

function hoursAgo(h: number): string {
  return new Date(NOW.getTime() - h * HOUR).toISOString();
}

/** Production v4 promoted an hour ago over v1..v3 (all Retired), unless a test changes one thing. */
function facts(
  partial: Partial<Omit<RollbackFacts, 'alias'>> & { alias?: Partial<ProductionAlias> } = {},
): RollbackFacts {
  const { alias, ...rest } = partial;
  return {
    alias: {
      model: 'credit',
      current: 4,
      history: [1, 2, 3],
      updatedAt: hoursAgo(1),
      promotedAt: hoursAgo(1),
      ...alias,
    },
    statuses: new Map<number, VersionStatus>([
      [1, 'Retired'],
      [2, 'Retired'],
      [3, 'Retired'],
      [4, 'Production'],
    ]),
    guardWindowHours: WINDOW,
    now: NOW,
    ...rest,
  };
}

/** The error `fn` throws (a test failure when it throws none). */
function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error, none was thrown');
}

const alarm: RollbackRequest = {
  model: 'credit',
  trigger: 'alarm',
  alarm: 'mlops-test-credit-prediction-drift',
  reason: 'Threshold Crossed: 1 datapoint [0.4] >= 0.25',
};
const operator: RollbackRequest = { model: 'credit', trigger: 'operator', reason: 'bad scores' };

describe('parseRollbackRequest', () => {
  it('reads an operator request by default, keeping the reason and the target', () => {
    expect(parseRollbackRequest({ model: 'credit', reason: ' bad ', to: 2 })).toEqual({
      model: 'credit',
      trigger: 'operator',
      reason: 'bad',
      to: 2,
    });
    expect(parseRollbackRequest({ model: 'credit', to: null, alarm: null })).toEqual({
      model: 'credit',
      trigger: 'operator',
    });
  });

  it('reads the alarm input the EventBridge rule sends', () => {
    expect(
      parseRollbackRequest({ model: 'credit', trigger: 'alarm', alarm: 'a', reason: 'Threshold Crossed' }),
    ).toEqual({ model: 'credit', trigger: 'alarm', alarm: 'a', reason: 'Threshold Crossed' });
  });

  it('fails on a trigger a rollback does not take, naming the allowed ones', () => {
    expect(() => parseRollbackRequest({ model: 'credit', trigger: 'schedule' })).toThrow(
      'trigger must be one of operator, alarm, got "schedule"',
    );
  });

  it('fails on a target that is not a version number, and on a target for an alarm', () => {
    expect(() => parseRollbackRequest({ model: 'credit', to: '2' })).toThrow(
      'to must be a version number (a positive whole number), got "2"',
    );
    expect(() => parseRollbackRequest({ model: 'credit', to: 1.5 })).toThrow(/got 1\.5/);
    expect(() => parseRollbackRequest({ model: 'credit', trigger: 'alarm', to: 1 })).toThrow(
      /to is for operator rollbacks/,
    );
  });

  it('fails without a model, and on a reason that is not text', () => {
    expect(() => parseRollbackRequest({ reason: 'x' })).toThrow(/the input needs "model"/);
    expect(() => parseRollbackRequest({ model: 'credit', reason: 3 })).toThrow(
      'reason must be a string, got 3',
    );
  });
});

describe('decideRollback on an alarm', () => {
  it('rolls a version promoted inside its guard window back to the last Retired version', () => {
    const d = decideRollback(alarm, facts());
    expect(d).toMatchObject({ outcome: 'rollback', from: 4, target: 3, history: [1, 2] });
    expect(d.cause).toBe(`alarm ${alarm.alarm}: ${alarm.reason}`);
    expect(d.note).toContain('inside its 24 h guard window: rolled back to v3');
  });

  it('passes over history entries that were rolled back, failed or are gone', () => {
    const statuses = new Map<number, VersionStatus>([
      [1, 'Retired'],
      [2, 'RolledBack'],
      [4, 'Production'],
    ]);
    const d = decideRollback(alarm, facts({ statuses }));
    expect(d).toMatchObject({ outcome: 'rollback', target: 1, history: [] });
    expect(d.note).toContain('passed over v3 missing, v2 RolledBack');
  });

  it('skips a version promoted before its guard window, saying when', () => {
    const d = decideRollback(alarm, facts({ alias: { promotedAt: hoursAgo(30) } }));
    expect(d).toMatchObject({ outcome: 'skipped', from: 4 });
    expect(d.note).toBe(`v4 was promoted at ${hoursAgo(30)} (30.0 h ago), outside its 24 h guard window`);
  });

  it('counts the window edge as inside, and follows the window of the version in production', () => {
    expect(decideRollback(alarm, facts({ alias: { promotedAt: hoursAgo(WINDOW) } })).outcome).toBe(
      'rollback',
    );
    expect(decideRollback(alarm, facts({ guardWindowHours: 0.5 })).outcome).toBe('skipped');
    expect(decideRollback(alarm, facts({ guardWindowHours: 0 })).outcome).toBe('skipped');
  });

  it('skips a version that a rollback restored: automatic rollback only undoes a promotion', () => {
    const d = decideRollback(alarm, facts({ alias: { promotedAt: undefined, restoredAt: hoursAgo(0.1) } }));
    expect(d.outcome).toBe('skipped');
    expect(d.note).toContain('restored by a rollback');
  });

  it('reads an alias written before promotedAt by its last move, a rollback by its reason', () => {
    const legacy = { promotedAt: undefined, updatedAt: hoursAgo(2) };
    expect(decideRollback(alarm, facts({ alias: legacy })).outcome).toBe('rollback');
    expect(decideRollback(alarm, facts({ alias: { ...legacy, reason: 'rollback: drift' } })).outcome).toBe(
      'skipped',
    );
    expect(decideRollback(alarm, facts({ alias: { ...legacy, updatedAt: hoursAgo(48) } })).outcome).toBe(
      'skipped',
    );
  });

  it('skips a version whose definition predates guard windows', () => {
    const d = decideRollback(alarm, facts({ guardWindowHours: undefined }));
    expect(d.outcome).toBe('skipped');
    expect(d.note).toContain('sets no guard window');
  });

  it('pages when no earlier version served healthily, naming what it passed over', () => {
    const statuses = new Map<number, VersionStatus>([
      [1, 'RolledBack'],
      [2, 'Failed'],
      [4, 'Production'],
    ]);
    const d = decideRollback(alarm, facts({ statuses }));
    expect(d).toMatchObject({ outcome: 'paged', from: 4 });
    expect(d.note).toContain('no earlier version served healthily (v3 missing, v2 Failed, v1 RolledBack)');
    const first = decideRollback(alarm, facts({ alias: { history: [] } }));
    expect(first.outcome).toBe('paged');
    expect(first.note).toContain('it is the first production version');
  });
});

describe('decideRollback on an operator request', () => {
  it('goes back to the last healthy version whatever the guard window', () => {
    const d = decideRollback(operator, facts({ alias: { promotedAt: hoursAgo(1000) } }));
    expect(d).toMatchObject({
      outcome: 'rollback',
      target: 3,
      history: [1, 2],
      cause: 'operator: bad scores',
    });
  });

  it('goes back to the version it names, dropping the later history', () => {
    expect(decideRollback({ ...operator, to: 1 }, facts())).toMatchObject({
      outcome: 'rollback',
      target: 1,
      history: [],
    });
  });

  it('fails on a version it cannot go back to, saying why and naming the allowed ones', () => {
    const statuses = new Map<number, VersionStatus>([
      [1, 'Retired'],
      [2, 'RolledBack'],
      [3, 'Retired'],
      [4, 'Production'],
    ]);
    expect(() => decideRollback({ ...operator, to: 2 }, facts({ statuses }))).toThrow(
      'Model "credit" cannot go back to version 2: it is RolledBack, and only a Retired version serves again. Versions it can go back to: 3, 1.',
    );
    expect(() => decideRollback({ ...operator, to: 4 }, facts({ statuses }))).toThrow(
      /version 4: it is the version in production\. Versions it can go back to: 3, 1\./,
    );
    expect(() => decideRollback({ ...operator, to: 9 }, facts({ statuses }))).toThrow(
      /version 9: it never served in production/,
    );
    expect(errorOf(() => decideRollback({ ...operator, to: 9 }, facts({ statuses }))).name).toBe(
      'InvalidInput',
    );
  });

  it('fails with NoPreviousVersion when there is nothing to go back to', () => {
    const first = () => decideRollback(operator, facts({ alias: { current: 1, history: [] } }));
    expect(first).toThrow(
      'Model "credit" version 1 is the first production version; there is nothing to roll back to.',
    );
    const none = () =>
      decideRollback(operator, facts({ statuses: new Map<number, VersionStatus>([[4, 'Production']]) }));
    expect(none).toThrow(
      /none of its earlier production versions is Retired \(v3 missing, v2 missing, v1 missing\)/,
    );
    expect(errorOf(none).name).toBe('NoPreviousVersion');
  });
});

const statusArb = fc.constantFrom<VersionStatus>('Retired', 'RolledBack', 'Failed', 'Production', 'Approved');

/** An alias over versions 1..n with random history (repeats allowed), statuses and promotion age. */
const scenario = fc
  .record({
    history: fc.array(fc.integer({ min: 1, max: 8 }), { maxLength: 10 }),
    statuses: fc.array(statusArb, { minLength: 9, maxLength: 9 }),
    missing: fc.array(fc.boolean(), { minLength: 9, maxLength: 9 }),
    ageHours: fc.double({ min: -1, max: 100, noNaN: true }),
    window: fc.option(fc.double({ min: 0, max: 72, noNaN: true }), { nil: undefined }),
    restored: fc.boolean(),
  })
  .map((s): RollbackFacts => {
    const statuses = new Map<number, VersionStatus>();
    for (let v = 1; v <= 9; v++) if (!s.missing[v - 1]) statuses.set(v, s.statuses[v - 1]!);
    statuses.set(9, 'Production');
    return {
      alias: {
        model: 'credit',
        current: 9,
        history: s.history,
        updatedAt: hoursAgo(s.ageHours),
        ...(s.restored ? { restoredAt: hoursAgo(s.ageHours) } : { promotedAt: hoursAgo(s.ageHours) }),
      },
      statuses,
      guardWindowHours: s.window,
      now: NOW,
    };
  });

describe('decideRollback properties', () => {
  it('moves only to the latest Retired version of the history, keeping the history before it', () => {
    fc.assert(
      fc.property(scenario, fc.constantFrom(alarm, operator), (f, request) => {
        let d: ReturnType<typeof decideRollback>;
        try {
          d = decideRollback(request, f);
        } catch {
          // Only an operator request fails, and only when nothing is Retired.
          expect(request.trigger).toBe('operator');
          expect(healthyTargets(f.alias, f.statuses)).toEqual([]);
          return;
        }
        if (d.outcome !== 'rollback') return;
        expect(f.statuses.get(d.target)).toBe('Retired');
        expect(d.target).not.toBe(f.alias.current);
        const index = f.alias.history.lastIndexOf(d.target);
        expect(index).toBeGreaterThanOrEqual(0);
        expect(d.history).toEqual(f.alias.history.slice(0, index));
        // Nothing later in the history could have served instead.
        for (const later of f.alias.history.slice(index + 1))
          expect(f.statuses.get(later)).not.toBe('Retired');
      }),
    );
  });

  it('acts on an alarm exactly when a promotion is inside its window and a healthy version exists', () => {
    fc.assert(
      fc.property(scenario, (f) => {
        const d = decideRollback(alarm, f);
        const age = NOW.getTime() - Date.parse(f.alias.promotedAt ?? f.alias.restoredAt!);
        const inside =
          f.guardWindowHours !== undefined && !f.alias.restoredAt && age <= f.guardWindowHours * HOUR;
        const healthy = healthyTargets(f.alias, f.statuses).length > 0;
        expect(d.outcome).toBe(!inside ? 'skipped' : healthy ? 'rollback' : 'paged');
        expect(d.from).toBe(f.alias.current);
      }),
    );
  });

  it('never skips or pages an operator: it moves or fails', () => {
    fc.assert(
      fc.property(scenario, (f) => {
        const healthy = healthyTargets(f.alias, f.statuses);
        if (healthy.length === 0) expect(() => decideRollback(operator, f)).toThrow();
        else expect(decideRollback(operator, f)).toMatchObject({ outcome: 'rollback', target: healthy[0] });
      }),
    );
  });
});
