import { describe, expect, it } from 'vitest';
import { ANONYMOUS_CLIENT } from '../../contracts/metrics.ts';
import { clientOf, parseClientKeys } from '../../lambdas/predict/clients.ts';

describe('the client of a request, from CLIENT_KEYS', () => {
  it('GIVEN CLIENT_KEYS with two keys WHEN a request carries one of their ids THEN it is that key’s client', () => {
    const keys = parseClientKeys('a1b2c3=web,d4e5f6=batch-jobs');
    expect(clientOf(keys, 'a1b2c3')).toBe('web');
    expect(clientOf(keys, 'd4e5f6')).toBe('batch-jobs');
  });

  it('GIVEN no key, an unknown key id or no CLIENT_KEYS WHEN the client is looked up THEN it is anonymous', () => {
    const keys = parseClientKeys('a1b2c3=web');
    expect(clientOf(keys, undefined)).toBe(ANONYMOUS_CLIENT);
    expect(clientOf(keys, null)).toBe(ANONYMOUS_CLIENT);
    expect(clientOf(keys, '')).toBe(ANONYMOUS_CLIENT);
    expect(clientOf(keys, 'zzz')).toBe(ANONYMOUS_CLIENT);
    expect(clientOf(parseClientKeys(undefined), 'a1b2c3')).toBe(ANONYMOUS_CLIENT);
  });

  it('GIVEN a malformed CLIENT_KEYS entry WHEN parsed at cold start THEN the error names the entry', () => {
    expect(() => parseClientKeys('a1b2c3=web,oops')).toThrow(
      'Function predict: CLIENT_KEYS entry "oops" is not <apiKeyId>=<client>.',
    );
    expect(() => parseClientKeys('=web')).toThrow('CLIENT_KEYS entry "=web"');
    expect(() => parseClientKeys('a1=')).toThrow('CLIENT_KEYS entry "a1="');
  });
});
