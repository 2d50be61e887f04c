/**
 * The rollback policy: whether a rollback request acts, and to which version.
 *
 * - An alarm rolls production back only while the version in production is inside its guard window
 *   (`alarms.guardWindowHours` of its definition, counted from its promotion); outside it, or when a
 *   rollback (not a promotion) put the version there, the alarm is left to the people it notifies
 *   (`skipped`). A version that has served for a while, or that was itself the way back, is not
 *   what a fresh alarm is most likely about.
 * - The target is the last version that served healthily: the latest Retired version in the
 *   alias history. RolledBack and Failed versions never serve again, and a history entry whose
 *   version is no longer Retired (or no longer exists) is passed over. With no such version an alarm
 *   pages a person (`paged`) and nothing moves.
 * - An operator's request has no guard window; `to` picks the target, and must be a Retired version
 *   of the history. An operator request that cannot act is an error that says why, not a page.
 *
 * Pure: the function that applies it reads the alias and the statuses and writes the outcome.
 */
import { errorNames, PlatformError } from '../errors.ts';
import type { ProductionAlias, VersionStatus } from '../registry/model.ts';
import { type ActionTrigger, actionCause, modelOf, parseTrigger, type TriggerFields } from './action.ts';

/** The triggers a rollback accepts. */
export const ROLLBACK_TRIGGERS: readonly ActionTrigger[] = ['operator', 'alarm'];

/** A rollback request: the rollback state machine's input, checked. */
export interface RollbackRequest extends TriggerFields {
  model: string;
  /** The version to go back to (operator requests only). */
  to?: number;
}

/** The facts a decision needs, read from the registry. */
export interface RollbackFacts {
  alias: ProductionAlias;
  /** The status of each version in the alias history (a missing one was never registered or is gone). */
  statuses: ReadonlyMap<number, VersionStatus>;
  /**
   * The guard window of the version in production, in hours (its definition's
   * `alarms.guardWindowHours`); undefined when its definition predates alarm policies.
   */
  guardWindowHours: number | undefined;
  now: Date;
}

interface Decided {
  /** The version in production when the decision was taken. */
  from: number;
  /** What started it, as the audit trail says it. */
  cause: string;
  /** Why the policy decided as it did. */
  note: string;
}

/** The outcome: move production back to `target`, or leave it and notify (skipped) or page (paged). */
export type RollbackDecision =
  | (Decided & {
      outcome: 'rollback';
      target: number;
      /** The alias history once the target serves: the entries before it. */
      history: number[];
    })
  | (Decided & { outcome: 'skipped' | 'paged' });

function invalid(message: string): PlatformError {
  return new PlatformError(errorNames.invalidInput, message);
}

/** Checks the rollback state machine's input; bad input is InvalidInput naming the field and value. */
export function parseRollbackRequest(raw: unknown): RollbackRequest {
  const model = modelOf(raw);
  const trigger = parseTrigger(raw, ROLLBACK_TRIGGERS);
  const rawTo = (raw as { to?: unknown }).to;
  let to: number | undefined;
  if (rawTo !== undefined && rawTo !== null) {
    if (typeof rawTo !== 'number' || !Number.isInteger(rawTo) || rawTo < 1) {
      throw invalid(`to must be a version number (a positive whole number), got ${JSON.stringify(rawTo)}`);
    }
    if (trigger.trigger !== 'operator') {
      throw invalid(
        `to is for operator rollbacks; an ${trigger.trigger} rollback goes to the last healthy version`,
      );
    }
    to = rawTo;
  }
  return { model, ...trigger, ...(to !== undefined ? { to } : {}) };
}

/** The Retired versions of the history (the current one aside), most recent first: the versions that may serve again. */
export function healthyTargets(
  alias: ProductionAlias,
  statuses: ReadonlyMap<number, VersionStatus>,
): number[] {
  const seen = new Set<number>();
  const out: number[] = [];
  for (let i = alias.history.length - 1; i >= 0; i--) {
    const v = alias.history[i]!;
    if (v === alias.current || seen.has(v)) continue;
    seen.add(v);
    if (statuses.get(v) === 'Retired') out.push(v);
  }
  return out;
}

/** The history entries passed over on the way to the target, with their statuses, for the note. */
function passedOver(alias: ProductionAlias, statuses: ReadonlyMap<number, VersionStatus>, target?: number) {
  const out: string[] = [];
  for (let i = alias.history.length - 1; i >= 0; i--) {
    const v = alias.history[i]!;
    if (v === target) break;
    if (v !== alias.current && statuses.get(v) !== 'Retired')
      out.push(`v${v} ${statuses.get(v) ?? 'missing'}`);
  }
  return out;
}

/** When and how the version in production got there. */
export function arrival(alias: ProductionAlias): { at: string; restored: boolean } {
  if (alias.restoredAt) return { at: alias.restoredAt, restored: true };
  if (alias.promotedAt) return { at: alias.promotedAt, restored: false };
  // Aliases written before the two were recorded: the last move, a rollback's by its reason.
  return { at: alias.updatedAt, restored: alias.reason?.startsWith('rollback:') ?? false };
}

function hours(ms: number): string {
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

function rollbackTo(alias: ProductionAlias, target: number, base: Decided): RollbackDecision {
  const index = alias.history.lastIndexOf(target);
  return {
    ...base,
    outcome: 'rollback',
    target,
    history: alias.history.slice(0, index),
  };
}

/** Decides a rollback request against the registry's facts (see the module comment). */
export function decideRollback(request: RollbackRequest, facts: RollbackFacts): RollbackDecision {
  const { alias, statuses } = facts;
  const from = alias.current;
  const cause = actionCause(request);
  const targets = healthyTargets(alias, statuses);

  if (request.trigger === 'operator') {
    if (request.to !== undefined) {
      if (!targets.includes(request.to)) {
        const what =
          request.to === from
            ? 'it is the version in production'
            : alias.history.includes(request.to)
              ? `it is ${statuses.get(request.to) ?? 'no longer registered'}, and only a Retired version serves again`
              : 'it never served in production';
        throw invalid(
          `Model "${request.model}" cannot go back to version ${request.to}: ${what}. ` +
            `Versions it can go back to: ${targets.length ? targets.join(', ') : 'none'}.`,
        );
      }
      return rollbackTo(alias, request.to, {
        from,
        cause,
        note: `v${from} rolled back to v${request.to}, as asked`,
      });
    }
    const target = targets[0];
    if (target === undefined) {
      throw new PlatformError(
        errorNames.noPreviousVersion,
        alias.history.length === 0
          ? `Model "${request.model}" version ${from} is the first production version; there is nothing to roll back to.`
          : `Model "${request.model}" has no version to roll back to: none of its earlier production versions is Retired (${passedOver(alias, statuses).join(', ')}).`,
      );
    }
    const skipped = passedOver(alias, statuses, target);
    return rollbackTo(alias, target, {
      from,
      cause,
      note: `v${from} rolled back to v${target}, the last version that served healthily${
        skipped.length ? ` (passed over ${skipped.join(', ')})` : ''
      }`,
    });
  }

  const base = { from, cause };
  if (facts.guardWindowHours === undefined) {
    return {
      ...base,
      outcome: 'skipped',
      note: `v${from}'s definition sets no guard window (it predates alarm policies): automatic rollback does not act on it`,
    };
  }
  const came = arrival(alias);
  if (came.restored) {
    return {
      ...base,
      outcome: 'skipped',
      note: `v${from} was restored by a rollback at ${came.at}, not promoted: automatic rollback only undoes a promotion`,
    };
  }
  const age = facts.now.getTime() - Date.parse(came.at);
  if (!(age <= facts.guardWindowHours * 3_600_000)) {
    return {
      ...base,
      outcome: 'skipped',
      note: `v${from} was promoted at ${came.at} (${hours(age)} ago), outside its ${facts.guardWindowHours} h guard window`,
    };
  }
  const target = targets[0];
  if (target === undefined) {
    const skipped = passedOver(alias, statuses);
    return {
      ...base,
      outcome: 'paged',
      note: `v${from} was promoted ${hours(Math.max(age, 0))} ago, inside its ${facts.guardWindowHours} h guard window, but no earlier version served healthily${
        skipped.length ? ` (${skipped.join(', ')})` : ' (it is the first production version)'
      }: nothing was rolled back`,
    };
  }
  const skipped = passedOver(alias, statuses, target);
  return rollbackTo(alias, target, {
    ...base,
    note: `v${from} was promoted ${hours(Math.max(age, 0))} ago, inside its ${facts.guardWindowHours} h guard window: rolled back to v${target}, the last version that served healthily${
      skipped.length ? ` (passed over ${skipped.join(', ')})` : ''
    }`,
  });
}
