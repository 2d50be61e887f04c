/**
 * Failure path of the promotion pipeline: a candidate whose evaluation, decision or deployment
 * failed is marked Failed, with the error, so it cannot be promoted by mistake later. A candidate
 * that only lost a race for the alias keeps its status: its evidence is sound, production moved.
 */
import type { ModelRegistryPort } from '../../core/ports.ts';

export interface MarkFailedInput {
  model: string;
  version: number;
  error?: { Error?: string; Cause?: string };
}

export interface MarkFailedOutput {
  marked: boolean;
  note: string;
}

export async function markFailed(
  input: MarkFailedInput,
  deps: { registry: ModelRegistryPort },
): Promise<MarkFailedOutput> {
  const error = input.error?.Error ?? 'Error';
  if (error === 'AliasConflict')
    return { marked: false, note: 'lost a race for the production alias; status unchanged' };
  const v = await deps.registry.getVersion(input.model, input.version);
  if (!v) return { marked: false, note: `model "${input.model}" has no version ${input.version}` };
  if (v.status !== 'Candidate' && v.status !== 'Approved') {
    return { marked: false, note: `version ${input.version} is ${v.status}; status unchanged` };
  }
  let cause = input.error?.Cause ?? '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: string };
    if (parsed.errorMessage) cause = parsed.errorMessage;
  } catch {
    // Not JSON: keep the cause as it came.
  }
  await deps.registry.transition(input.model, input.version, 'Failed', {
    reason: `${error}: ${cause}`.slice(0, 1000),
  });
  return { marked: true, note: `version ${input.version} marked Failed (${error})` };
}
