/**
 * The first and last step of every training run: take the model's training lease, so one run per
 * model trains at a time whoever starts it, and give it up at the run's end. Taking it records the
 * run in the audit trail as started, or, when another run holds the lease, as refused (the state
 * machine then ends without training).
 */
import { errorNames, PlatformError } from '../../core/errors.ts';
import { actionCause, modelOf, parseTrigger } from '../../core/policy/action.ts';
import { retrainRecord, TRAINING_LEASE, trainingLease } from '../../core/policy/lease.ts';
import type { Clock, LeasePort, ModelRegistryPort } from '../../core/ports.ts';
import { ACTION_AUDIT, type Lease } from '../../core/registry/model.ts';

export interface LeaseDeps {
  leases: LeasePort;
  registry: Pick<ModelRegistryPort, 'audit'>;
  clock: Clock;
  /** How long a model's lease lasts if its run never gives it up. */
  leaseMinutes: (model: string) => number;
}

/** Take the lease for the training state machine's input, on behalf of execution `holder`. */
export interface AcquireInput {
  action: 'acquire';
  /** The training state machine's input: `{model, seed?, trigger?, alarm?, reason?}`. */
  input: unknown;
  /** The execution that will hold the lease. */
  holder: string;
}

/** Give the lease up, if `holder` still has it. */
export interface ReleaseInput {
  action: 'release';
  input: unknown;
  holder: string;
}

export type AcquireOutput = { acquired: true; lease: Lease } | { acquired: false; lease: Lease };

export interface ReleaseOutput {
  model: string;
  /** False when the lease had already expired and been taken by another run, or was never taken. */
  released: boolean;
}

export async function acquire(input: AcquireInput, deps: LeaseDeps): Promise<AcquireOutput> {
  const model = modelOf(input.input);
  const trigger = parseTrigger(input.input, ['operator', 'schedule', 'alarm']);
  const cause = actionCause(trigger);
  const wanted = trainingLease(model, input.holder, cause, deps.clock.now(), deps.leaseMinutes(model));
  const taken = await deps.leases.acquire(wanted);
  const held = taken.acquired ? undefined : taken.held;
  await deps.registry.audit({
    model,
    action: ACTION_AUDIT,
    detail: { ...retrainRecord(trigger, cause, input.holder, held) },
  });
  return held ? { acquired: false, lease: held } : { acquired: true, lease: wanted };
}

export async function release(input: ReleaseInput, deps: Pick<LeaseDeps, 'leases'>): Promise<ReleaseOutput> {
  const model = modelOf(input.input);
  return { model, released: await deps.leases.release(model, TRAINING_LEASE, input.holder) };
}

/** Runs the step the input's `action` names. */
export async function leaseTask(
  input: AcquireInput | ReleaseInput,
  deps: LeaseDeps,
): Promise<AcquireOutput | ReleaseOutput> {
  switch (input.action) {
    case 'acquire':
      return acquire(input, deps);
    case 'release':
      return release(input, deps);
    default:
      throw new PlatformError(
        errorNames.invalidInput,
        `action must be acquire or release, got ${JSON.stringify((input as { action?: unknown }).action)}`,
      );
  }
}
