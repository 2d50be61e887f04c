/**
 * Rollback step: moves the production alias back to the version that served before, in one
 * conditional write, and marks the version it replaces RolledBack.
 */
import { errorNames, PlatformError } from '../../core/errors.ts';
import type { ModelRegistryPort } from '../../core/ports.ts';

export interface RollbackInput {
  model: string;
  reason?: string;
}

export interface RollbackOutput {
  model: string;
  version: number;
  from: number;
  reason: string;
}

export async function rollback(
  input: RollbackInput,
  deps: { registry: ModelRegistryPort },
): Promise<RollbackOutput> {
  const alias = await deps.registry.getAlias(input.model);
  if (!alias) {
    throw new PlatformError(
      errorNames.noPreviousVersion,
      `Model "${input.model}" has no production version to roll back.`,
    );
  }
  const target = alias.history.at(-1);
  if (target === undefined) {
    throw new PlatformError(
      errorNames.noPreviousVersion,
      `Model "${input.model}" version ${alias.current} is the first production version; there is nothing to roll back to.`,
    );
  }
  const reason = input.reason?.trim() || 'operator rollback';
  await deps.registry.moveAlias(input.model, alias.current, {
    current: target,
    history: alias.history.slice(0, -1),
    reason: `rollback: ${reason}`,
  });
  await deps.registry.transition(input.model, alias.current, 'RolledBack', { reason });
  await deps.registry.transition(input.model, target, 'Production', {
    reason: `restored by rollback: ${reason}`,
  });
  return { model: input.model, version: target, from: alias.current, reason };
}
