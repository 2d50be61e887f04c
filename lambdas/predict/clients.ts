/**
 * Which API client sent a request: API Gateway puts the id of the key a request carried in
 * `requestContext.identity.apiKeyId`, and the construct gives the function every client's key id
 * in `CLIENT_KEYS` (`<keyId>=<client>,...`). A request with no key, or one the function does not
 * know (a direct invocation, a key added outside the templates), is the anonymous client's.
 */
import { ANONYMOUS_CLIENT } from '../../contracts/metrics.ts';

/** Client names by API key id. */
export type ClientKeys = ReadonlyMap<string, string>;

/** Parses `CLIENT_KEYS`; an entry without `=` or with an empty side is an error naming it. */
export function parseClientKeys(text: string | undefined): ClientKeys {
  const keys = new Map<string, string>();
  if (!text) return keys;
  for (const entry of text.split(',')) {
    const eq = entry.indexOf('=');
    if (eq <= 0 || eq === entry.length - 1) {
      throw new Error(
        `Function predict: CLIENT_KEYS entry "${entry}" is not <apiKeyId>=<client>. The function's construct sets it (contracts/env.ts).`,
      );
    }
    keys.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return keys;
}

/** The client of a request's API key id, or {@link ANONYMOUS_CLIENT}. */
export function clientOf(keys: ClientKeys, apiKeyId: string | null | undefined): string {
  return (apiKeyId && keys.get(apiKeyId)) || ANONYMOUS_CLIENT;
}
