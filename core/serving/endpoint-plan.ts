/**
 * What a model's SageMaker endpoint should look like, derived from the registry's production alias:
 * one production variant per model version (`v<N>`, so `InvokedProductionVariant` names the version
 * on every response). Production takes the traffic the canary does not; the canary takes its
 * weight; the version production replaced stays as a zero-weight variant for the warm window, so a
 * rollback inside the window is a weight shift rather than a redeploy; a version about to be used
 * (an approved candidate on its way to production, a rollback target before the alias moves) is
 * added at weight 0. Everything else leaves the endpoint at the next sync: a scheduled sync, a
 * promotion or a rollback.
 */
import type { ProductionAlias } from '../registry/model.ts';

export interface PlannedVariant {
  version: number;
  weight: number;
}

export const variantName = (version: number): string => `v${version}`;

export function planVariants(
  alias: ProductionAlias | undefined,
  opts: { now: Date; warmMinutes: number; include?: readonly number[]; approved?: readonly number[] },
): PlannedVariant[] {
  const weights = new Map<number, number>();
  if (alias) {
    const canary = alias.canary;
    weights.set(alias.current, canary ? 1 - canary.weight : 1);
    if (canary) weights.set(canary.version, canary.weight);
    const previous = alias.history.at(-1);
    const movedMs = Date.parse(alias.updatedAt);
    if (previous !== undefined && opts.now.getTime() - movedMs < opts.warmMinutes * 60_000) {
      if (!weights.has(previous)) weights.set(previous, 0);
    }
  }
  for (const v of [...(opts.include ?? []), ...(opts.approved ?? [])]) if (!weights.has(v)) weights.set(v, 0);
  // An endpoint needs some traffic somewhere; with no production yet, the first version takes it all.
  if (weights.size > 0 && [...weights.values()].every((w) => w === 0)) {
    const first = Math.min(...weights.keys());
    weights.set(first, 1);
  }
  return [...weights.entries()]
    .sort(([a], [b]) => a - b)
    .map(([version, weight]) => ({ version, weight: Math.round(weight * 1e6) / 1e6 }));
}

/** Whether the variants in service are the planned ones with the planned weights. */
export function matchesPlan(
  inService: readonly { name: string; weight: number }[],
  plan: readonly PlannedVariant[],
): boolean {
  if (inService.length !== plan.length) return false;
  const byName = new Map(inService.map((v) => [v.name, v.weight]));
  return plan.every((p) => {
    const w = byName.get(variantName(p.version));
    return w !== undefined && Math.abs(w - p.weight) < 1e-6;
  });
}
