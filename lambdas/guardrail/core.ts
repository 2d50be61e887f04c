/**
 * Guardrail step of the promotion pipeline: decides on the evidence the comparison step wrote
 * (candidate and incumbent on the same frozen rows) with the policy in the candidate's definition,
 * records the decision with every check as an immutable evidence item, and moves the version to
 * Approved or Rejected. A forced promotion is approved whatever the checks say, and recorded as such.
 */
import { errorNames, PlatformError } from '../../core/errors.ts';
import { decide, type Evidence } from '../../core/policy/guardrail.ts';
import type { Clock, ModelRegistryPort, ObjectStore } from '../../core/ports.ts';
import type { GuardrailDecision } from '../../core/registry/model.ts';

export interface GuardrailInput {
  model: string;
  version: number;
  force?: boolean;
  reason?: string;
  /** Output of the comparison step. */
  comparison: { value: { evidenceKey: string; incumbent: number | null; incumbentNote?: string } };
}

export interface GuardrailOutput {
  model: string;
  version: number;
  approved: boolean;
  reasons: string[];
}

export async function runGuardrail(
  input: GuardrailInput,
  deps: { registry: ModelRegistryPort; lake: ObjectStore; clock: Clock },
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
  const { evidenceKey, incumbentNote } = input.comparison.value;
  const { evidence } = JSON.parse(await deps.lake.getText(evidenceKey)) as { evidence: Evidence };
  const verdict = decide(candidate.definition.guardrail, evidence);
  const approved = verdict.approved || Boolean(input.force);
  const decidedAt = deps.clock.now().toISOString();
  const reasons = [
    ...verdict.reasons,
    ...(incumbentNote ? [incumbentNote] : []),
    ...(input.force && !verdict.approved ? [`forced past the guardrail: ${input.reason!.trim()}`] : []),
  ];
  const forced = input.force ? { reason: input.reason!.trim() } : undefined;
  await deps.registry.putEvidence({
    model: input.model,
    version: input.version,
    decidedAt,
    approved,
    incumbent: evidence.incumbent?.version ?? null,
    checks: verdict.checks,
    reasons,
    evidenceKey,
    ...(forced ? { forced } : {}),
  });
  const decision: GuardrailDecision = { approved, reasons, decidedAt, ...(forced ? { forced } : {}) };
  await deps.registry.transition(input.model, input.version, approved ? 'Approved' : 'Rejected', {
    decision,
    ...(forced ? { reason: `forced: ${forced.reason}` } : {}),
  });
  return { model: input.model, version: input.version, approved, reasons };
}
