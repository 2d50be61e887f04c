/**
 * Routing, pure: which version answers a request for a model, from its production alias and the
 * request id. A running canary answers its share of requests, chosen by request id so that a
 * retried request lands on the same version; the others go to production, and while a shadow runs
 * it scores a copy of each of those without answering.
 */
import type { ProductionAlias } from '../../core/registry/model.ts';

/** Where one request goes. */
export interface Route {
  /** The version that answers. */
  version: number;
  /** Whether it answers as production or as the running canary (the log row says which). */
  route: 'production' | 'canary';
  /** The version that scores a copy of the request without answering, if a shadow runs. */
  shadowVersion?: number;
}

/** A request id's place in [0, 1) (FNV-1a), for splitting traffic. */
export function shareOf(requestId: string): number {
  let h = 2166136261;
  for (let i = 0; i < requestId.length; i++) h = Math.imul(h ^ requestId.charCodeAt(i), 16777619) >>> 0;
  return h / 2 ** 32;
}

/** Routes one request by its id. */
export function routeRequest(
  alias: Pick<ProductionAlias, 'current' | 'canary' | 'shadow'>,
  requestId: string,
): Route {
  if (alias.canary !== undefined && shareOf(requestId) < alias.canary.weight) {
    return { version: alias.canary.version, route: 'canary' };
  }
  return alias.shadow
    ? { version: alias.current, route: 'production', shadowVersion: alias.shadow.version }
    : { version: alias.current, route: 'production' };
}
