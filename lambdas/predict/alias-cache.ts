/**
 * The production alias, read through for a short time to live ({@link PRODUCTION_ALIAS_TTL_MS}): a
 * warm instance reads a model's alias at most once per TTL instead of on every request. Concurrent
 * requests share one read; a failed read is not kept (the next request reads again); a model with no
 * alias is kept as such for the TTL too, so a flood of requests for it does not become a flood of
 * reads. Versions are immutable and are not cached here (the model cache keeps loaded ones).
 */
import type { ModelRegistryPort } from '../../core/ports.ts';
import type { ProductionAlias } from '../../core/registry/model.ts';

type Registry = Pick<ModelRegistryPort, 'getAlias' | 'getVersion'>;

export function cachingAliases(registry: Registry, ttlMs: number, now: () => number = Date.now): Registry {
  if (!(ttlMs >= 0)) throw new Error(`cachingAliases ttlMs: must be 0 or more, got ${ttlMs}`);
  const kept = new Map<string, { at: number; alias: Promise<ProductionAlias | undefined> }>();
  return {
    getVersion: (model, version) => registry.getVersion(model, version),
    getAlias(model, consistent) {
      const t = now();
      const entry = kept.get(model);
      if (entry && t - entry.at < ttlMs) return entry.alias;
      const alias = registry.getAlias(model, consistent);
      const fresh = { at: t, alias };
      kept.set(model, fresh);
      alias.catch(() => {
        if (kept.get(model) === fresh) kept.delete(model);
      });
      return alias;
    },
  };
}
