/** The `<version>` argument of `promote` and `show`. */
import type { ModelRegistryPort } from '../core/ports.ts';
import { CliError, UsageError } from './errors.ts';

/** A version as an operator writes it: `3`, `v3` or `latest`. */
export type VersionArgument = number | 'latest';

/** Parses a `<version>` argument; `latest` is resolved against the registry by {@link resolveVersion}. */
export function parseVersion(spec: string): VersionArgument {
  if (spec === 'latest') return 'latest';
  const n = Number(spec.replace(/^v/, ''));
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`Version must be a positive integer, "v<N>" or "latest"; got "${spec}".`);
  return n;
}

/** The version number an argument names: `latest` is the model's highest registered version. */
export async function resolveVersion(
  registry: ModelRegistryPort,
  model: string,
  version: VersionArgument,
): Promise<number> {
  if (version !== 'latest') return version;
  const versions = await registry.listVersions(model);
  if (versions.length === 0)
    throw new CliError(`Model "${model}" has no versions yet: run \`mlops train --model ${model}\`.`);
  return Math.max(...versions.map((v) => v.version));
}
