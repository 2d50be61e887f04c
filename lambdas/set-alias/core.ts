/**
 * Final step of the promotion pipeline: points the production alias at the approved version. The
 * alias moves by a conditional write first, so of two racing promotions only one gets this far.
 */
import { errorNames, PlatformError } from '../../core/errors.ts';
import type { ModelRegistryPort } from '../../core/ports.ts';

export interface SetAliasInput {
  model: string;
  version: number;
  /**
   * The production version the candidate was compared with (null: none). The alias moves only
   * from it, so a decision taken against one incumbent cannot replace another, and of two racing
   * promotions compared with the same incumbent exactly one wins.
   */
  expectedCurrent?: number | null;
}

export interface SetAliasOutput {
  model: string;
  version: number;
  previous: number | null;
}

export async function setAlias(
  input: SetAliasInput,
  deps: { registry: ModelRegistryPort },
): Promise<SetAliasOutput> {
  const v = await deps.registry.requireVersion(input.model, input.version);
  if (v.status !== 'Approved') {
    throw new PlatformError(
      errorNames.invalidTransition,
      `Model "${input.model}" version ${input.version} is ${v.status}; only an Approved version can go to production.`,
    );
  }
  const alias = await deps.registry.getAlias(input.model);
  const expected =
    input.expectedCurrent === undefined ? alias?.current : (input.expectedCurrent ?? undefined);
  if (alias?.current !== expected) {
    throw new PlatformError(
      errorNames.aliasConflict,
      `Production of "${input.model}" moved to v${alias?.current} after version ${input.version} was compared with ${
        expected === undefined ? 'no production version' : `v${expected}`
      }; promote it again to compare it with the new incumbent.`,
    );
  }
  // One write: the alias, the new version's Production and the replaced one's Retired.
  await deps.registry.moveAlias(input.model, expected, {
    current: input.version,
    history: alias ? [...alias.history, alias.current] : [],
    reason: 'promoted',
    statuses: [
      { version: input.version, to: 'Production' },
      ...(alias ? [{ version: alias.current, to: 'Retired' as const }] : []),
    ],
  });
  return { model: input.model, version: input.version, previous: alias?.current ?? null };
}
