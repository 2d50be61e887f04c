/**
 * Final step of the promotion pipeline: points the production alias at the approved version. The
 * alias moves by a conditional write first, so of two racing promotions only one gets this far.
 */
import { errorNames, PlatformError } from '../shared/errors.ts';
import type { ModelRegistry } from '../shared/registry/registry.ts';

export interface SetAliasInput {
  model: string;
  version: number;
}

export interface SetAliasOutput {
  model: string;
  version: number;
  previous: number | null;
}

export async function setAlias(
  input: SetAliasInput,
  deps: { registry: ModelRegistry },
): Promise<SetAliasOutput> {
  const v = await deps.registry.requireVersion(input.model, input.version);
  if (v.status !== 'Approved') {
    throw new PlatformError(
      errorNames.invalidTransition,
      `Model "${input.model}" version ${input.version} is ${v.status}; only an Approved version can go to production.`,
    );
  }
  const alias = await deps.registry.getAlias(input.model);
  await deps.registry.moveAlias(input.model, alias?.current, {
    current: input.version,
    history: alias ? [...alias.history, alias.current] : [],
    reason: 'promoted',
  });
  await deps.registry.transition(input.model, input.version, 'Production');
  if (alias) await deps.registry.transition(input.model, alias.current, 'Retired');
  return { model: input.model, version: input.version, previous: alias?.current ?? null };
}
