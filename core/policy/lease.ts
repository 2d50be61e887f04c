/**
 * The retraining lease: one training run per model at a time, whoever starts it (an operator, the
 * schedule, a drift alarm). A run takes the lease first and gives it up at its end; a lease its run
 * never gave up (the run crashed or was stopped) frees itself after the model's
 * `retraining.leaseMinutes`. This module builds the lease and the audit records of taking it; the
 * conditional write that makes taking it exclusive is the LeasePort's.
 */
import type { ActionRecord, Lease } from '../registry/model.ts';
import type { TriggerFields } from './action.ts';

/** The name of the lease a training run holds. */
export const TRAINING_LEASE = 'training';

/** The training lease `holder` asks for at `now`, held for `minutes` unless released. */
export function trainingLease(
  model: string,
  holder: string,
  cause: string,
  now: Date,
  minutes: number,
): Lease {
  if (!Number.isFinite(minutes) || minutes <= 0) {
    throw new Error(`trainingLease minutes: must be a positive number, got ${minutes}`);
  }
  return {
    model,
    name: TRAINING_LEASE,
    holder,
    cause,
    since: now.toISOString(),
    until: new Date(now.getTime() + minutes * 60_000).toISOString(),
  };
}

/**
 * The audit record of a training start: `started` when the lease was taken, `refused` (with the
 * run that holds it) when another run has it.
 */
export function retrainRecord(
  trigger: TriggerFields,
  cause: string,
  execution: string,
  held?: Lease,
): ActionRecord {
  return {
    kind: 'retrain',
    outcome: held ? 'refused' : 'started',
    cause,
    trigger: trigger.trigger,
    ...(trigger.alarm !== undefined ? { alarm: trigger.alarm } : {}),
    execution,
    ...(held
      ? {
          note: `not run: ${held.holder} holds the training lease since ${held.since} (until ${held.until}; ${held.cause})`,
        }
      : {}),
  };
}
