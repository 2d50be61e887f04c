/**
 * The rollback state machine's two steps, in one function (they share their ports and bundle):
 *
 * - `decide` reads the production alias, the status of every version in its history and the guard
 *   window of the version in production (its own definition's `alarms.guardWindowHours`), and
 *   applies the rollback policy (core/policy/rollback.ts). A decision that leaves production alone
 *   (skipped, paged) is audited here, with the message operators get.
 * - `rollback` makes the decided move: the alias goes to the decided version in one conditional
 *   write on the version the decision saw, which also makes the replaced version RolledBack and the
 *   restored one Production; the action is audited as done.
 *
 * Invoked with only `{model, reason?}` (no action), it decides and moves in one call, as an
 * operator rollback to the last version that served healthily.
 */
import { errorNames, PlatformError } from '../../core/errors.ts';
import type { ActionTrigger } from '../../core/policy/action.ts';
import { decideRollback, parseRollbackRequest, type RollbackDecision } from '../../core/policy/rollback.ts';
import type { Clock, ModelRegistryPort } from '../../core/ports.ts';
import { ACTION_AUDIT, type ActionRecord, type VersionStatus } from '../../core/registry/model.ts';

export interface RollbackDeps {
  registry: Pick<ModelRegistryPort, 'getAlias' | 'getVersion' | 'moveAlias' | 'audit'>;
  clock: Clock;
}

/** The decision step's input: the state machine's input as it came, and the execution deciding. */
export interface DecideInput {
  action: 'decide';
  input: unknown;
  execution?: string;
}

/** What was decided; the state machine branches on `outcome` and moves to `target`. */
export interface DecisionOutput {
  model: string;
  outcome: RollbackDecision['outcome'];
  trigger: ActionTrigger;
  alarm: string | null;
  /** The request's reason, or what stands for it when none was given. */
  reason: string;
  /** What started it, as the audit trail says it. */
  cause: string;
  /** Why the policy decided as it did. */
  note: string;
  /** The version in production when the decision was taken. */
  from: number;
  /** The version to move back to (outcome `rollback`), else null. */
  target: number | null;
  /** What operators are told. */
  message: string;
}

/** The move step's input: the decision (or, called alone, just the model and a reason). */
export interface MoveInput {
  action?: 'rollback';
  decision?: DecisionOutput;
  model?: string;
  reason?: string;
  execution?: string;
}

export interface RollbackOutput {
  model: string;
  /** The version in production now. */
  version: number;
  /** The version rolled back. */
  from: number;
  reason: string;
  trigger: ActionTrigger;
  cause: string;
  note: string;
}

function record(
  decision: Pick<DecisionOutput, 'trigger' | 'alarm' | 'cause' | 'note' | 'from'>,
  outcome: ActionRecord['outcome'],
  execution: string | undefined,
  to?: number,
): ActionRecord {
  return {
    kind: 'rollback',
    outcome,
    cause: decision.cause,
    trigger: decision.trigger,
    ...(decision.alarm !== null ? { alarm: decision.alarm } : {}),
    ...(execution ? { execution } : {}),
    note: decision.note,
    from: decision.from,
    ...(to !== undefined ? { to } : {}),
  };
}

function messageOf(model: string, d: RollbackDecision): string {
  switch (d.outcome) {
    case 'rollback':
      return `Model ${model}: ${d.cause}. Rolling back: ${d.note}.`;
    case 'skipped':
      return `Model ${model} was not rolled back: ${d.cause}. ${d.note}. Production stays on version ${d.from}; the alarm's own notification and its runbook section say what to look at.`;
    case 'paged':
      return `Model ${model} needs a person: ${d.cause}. ${d.note}. Production stays on version ${d.from}; follow the alarm's runbook section, then promote a fixed version or retrain.`;
  }
}

/** Decides a rollback request; audits the decisions that leave production alone. */
export async function decide(input: DecideInput, deps: RollbackDeps): Promise<DecisionOutput> {
  const request = parseRollbackRequest(input.input);
  const alias = await deps.registry.getAlias(request.model);
  if (!alias) {
    throw new PlatformError(
      errorNames.noPreviousVersion,
      `Model "${request.model}" has no production version to roll back.`,
    );
  }
  const versions = [...new Set([alias.current, ...alias.history])];
  const found = await Promise.all(versions.map((v) => deps.registry.getVersion(request.model, v)));
  const statuses = new Map<number, VersionStatus>();
  for (const v of found) if (v) statuses.set(v.version, v.status);
  const current = found[0];
  const decision = decideRollback(request, {
    alias,
    statuses,
    // Versions registered before alarm policies existed have none in their definition.
    guardWindowHours: current?.definition.alarms?.guardWindowHours,
    now: deps.clock.now(),
  });
  const out: DecisionOutput = {
    model: request.model,
    outcome: decision.outcome,
    trigger: request.trigger,
    alarm: request.alarm ?? null,
    reason:
      request.reason ??
      (request.trigger === 'alarm' ? `alarm ${request.alarm ?? '(unnamed)'}` : 'operator rollback'),
    cause: decision.cause,
    note: decision.note,
    from: decision.from,
    target: decision.outcome === 'rollback' ? decision.target : null,
    message: messageOf(request.model, decision),
  };
  if (decision.outcome !== 'rollback') {
    await deps.registry.audit({
      model: request.model,
      action: ACTION_AUDIT,
      version: decision.from,
      detail: { ...record(out, decision.outcome, input.execution) },
    });
  }
  return out;
}

/** Moves production to the decided version, in one conditional write on the version the decision saw. */
export async function rollback(input: MoveInput, deps: RollbackDeps): Promise<RollbackOutput> {
  const decision =
    input.decision ??
    (await decide(
      { action: 'decide', input: { model: input.model, reason: input.reason }, execution: input.execution },
      deps,
    ));
  const { model, from, target, reason } = decision;
  if (decision.outcome !== 'rollback' || target === null) {
    throw new PlatformError(
      errorNames.invalidInput,
      `The rollback of model "${model}" was decided ${decision.outcome}; there is nothing to move (${decision.note}).`,
    );
  }
  const alias = await deps.registry.getAlias(model);
  const index = alias?.history.lastIndexOf(target) ?? -1;
  if (!alias || alias.current !== from || index < 0) {
    throw new PlatformError(
      errorNames.aliasConflict,
      `The production alias of "${model}" changed after the rollback from version ${from} to ${target} was decided ` +
        `(production is now ${alias ? `version ${alias.current}` : 'gone'}); check \`mlops models\` and retry.`,
    );
  }
  await deps.registry.moveAlias(model, from, {
    current: target,
    history: alias.history.slice(0, index),
    reason: `rollback: ${reason}`,
    restored: true,
    statuses: [
      { version: from, to: 'RolledBack', reason },
      { version: target, to: 'Production', reason: `restored by rollback: ${reason}` },
    ],
  });
  await deps.registry.audit({
    model,
    action: ACTION_AUDIT,
    version: target,
    detail: { ...record(decision, 'done', input.execution, target) },
  });
  return {
    model,
    version: target,
    from,
    reason,
    trigger: decision.trigger,
    cause: decision.cause,
    note: decision.note,
  };
}

/** Runs the step the input's `action` names (no action: decide and move in one call). */
export async function rollbackTask(
  input: DecideInput | MoveInput,
  deps: RollbackDeps,
): Promise<DecisionOutput | RollbackOutput> {
  if (input.action === 'decide') return decide(input, deps);
  if (input.action === undefined || input.action === 'rollback') return rollback(input, deps);
  throw new PlatformError(
    errorNames.invalidInput,
    `action must be decide or rollback, got ${JSON.stringify((input as { action?: unknown }).action)}`,
  );
}
