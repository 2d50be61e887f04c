/**
 * Guardrail step of the promotion pipeline: decides whether a candidate may reach production and
 * records the decision, with every reason, on the version. A forced promotion is recorded as such.
 */
import { errorNames, PlatformError } from '../shared/errors.ts';
import type { Clock } from '../shared/ports.ts';
import type { GuardrailDecision, ModelRegistry } from '../shared/registry/registry.ts';

export interface GuardrailInput {
  model: string;
  version: number;
  force?: boolean;
  reason?: string;
}

export interface GuardrailOutput {
  model: string;
  version: number;
  approved: boolean;
  reasons: string[];
}

export async function runGuardrail(
  input: GuardrailInput,
  deps: { registry: ModelRegistry; clock: Clock },
): Promise<GuardrailOutput> {
  if (input.force && !input.reason?.trim()) {
    throw new PlatformError(
      errorNames.invalidInput,
      'A forced promotion needs a reason: pass --reason "...".',
    );
  }
  const candidate = await deps.registry.requireVersion(input.model, input.version);
  if (candidate.status !== 'Candidate') {
    throw new PlatformError(
      errorNames.invalidTransition,
      `Model "${input.model}" version ${input.version} is ${candidate.status}; only a Candidate can be promoted.`,
    );
  }
  const def = candidate.definition;
  const failures: string[] = [];
  const notes: string[] = [];
  const auc = candidate.metrics.validation.auc;
  const floor = def.guardrail.minAuc;
  if (!(auc >= floor))
    failures.push(`validation AUC ${auc.toFixed(4)} is below the floor ${floor.toFixed(4)}`);
  else notes.push(`validation AUC ${auc.toFixed(4)} meets the floor ${floor.toFixed(4)}`);
  const alias = await deps.registry.getAlias(input.model);
  if (alias) {
    const incumbent = await deps.registry.getVersion(input.model, alias.current);
    if (incumbent) {
      notes.push(
        `incumbent v${incumbent.version} validation AUC ${incumbent.metrics.validation.auc.toFixed(4)} (on its own snapshot)`,
      );
    }
  }
  const approved = failures.length === 0 || Boolean(input.force);
  const decision: GuardrailDecision = {
    approved,
    reasons: [...failures, ...notes],
    decidedAt: deps.clock.now().toISOString(),
    ...(input.force ? { forced: { reason: input.reason!.trim() } } : {}),
  };
  await deps.registry.transition(input.model, input.version, approved ? 'Approved' : 'Rejected', {
    decision,
    ...(input.force ? { reason: `forced: ${input.reason}` } : {}),
  });
  return { model: input.model, version: input.version, approved, reasons: decision.reasons };
}
