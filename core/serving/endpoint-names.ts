/**
 * The names the pipelines give SageMaker resources: endpoints per model, models per version, and
 * endpoint configs named by their content.
 */
import { createHash } from 'node:crypto';
import type { VariantSpec } from '../ports.ts';

const MAX_NAME = 63;

/** A SageMaker resource name (at most 63 of [a-zA-Z0-9-]); long names keep a hash of the whole. */
export function sagemakerName(...parts: (string | number)[]): string {
  const full = parts.join('-');
  if (full.length <= MAX_NAME) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 8);
  return `${full.slice(0, MAX_NAME - 9).replace(/-+$/, '')}-${hash}`;
}

export const endpointNames = {
  endpoint: (prefix: string, model: string) => sagemakerName(prefix, model),
  model: (prefix: string, model: string, version: number) => sagemakerName(prefix, model, `v${version}`),
  /** Configs are named by their content, so asking twice for the same variants reuses one. */
  config: (
    prefix: string,
    model: string,
    variants: readonly VariantSpec[],
    instance: { type: string; count: number },
  ) =>
    sagemakerName(
      prefix,
      model,
      createHash('sha256').update(JSON.stringify({ variants, instance })).digest('hex').slice(0, 10),
    ),
};
