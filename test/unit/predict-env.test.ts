import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { envKeys, parseFunctionEnv } from '../../contracts/env.ts';
import { parsePredictEnv } from '../../lambdas/predict/env.ts';

const valid = {
  MLOPS_STAGE: 'dev',
  POWERTOOLS_SERVICE_NAME: 'predict',
  POWERTOOLS_METRICS_NAMESPACE: 'Mlops/dev',
  LAKE_BUCKET: 'lake',
  REGISTRY_TABLE: 'registry',
  PREDICTION_LOG_TABLE: 'log',
  PREDICTION_LOG_TTL_DAYS: '90',
  PREDICTION_LOG_SHARDS: '4',
  DEFAULT_MODEL: 'credit',
  MODEL_NAMES: 'credit,churn',
  SERVING_MODE: 'lambda',
  IDEMPOTENCY_TABLE: 'idempotency',
};

/** Values that probe every rule's edges: absent, empty, blank, numbers of every kind, lists, modes. */
const probe = fc.constantFrom(
  undefined,
  '',
  ' ',
  'x',
  '0',
  '1',
  '-1',
  '1.5',
  '-1.5',
  '1e3',
  ' 7 ',
  '0x10',
  'Infinity',
  'NaN',
  '9007199254740991',
  '9007199254740993',
  ',',
  'a,,b',
  'credit, churn',
  'lambda',
  'endpoint',
  'Lambda',
);

function outcome(parse: () => unknown): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: parse() };
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
}

describe('parsePredictEnv', () => {
  it('parses a valid environment as the contract does, keeping only its variables', () => {
    const source = { ...valid, NODE_OPTIONS: '', ENDPOINT_PREFIX: 'mlops-dev', PATH: '/usr/bin' };
    expect(parsePredictEnv(source)).toEqual(parseFunctionEnv('predict', source));
    expect(parsePredictEnv(source)).toEqual({
      ...valid,
      NODE_OPTIONS: '',
      ENDPOINT_PREFIX: 'mlops-dev',
      PREDICTION_LOG_TTL_DAYS: 90,
      PREDICTION_LOG_SHARDS: 4,
      MODEL_NAMES: ['credit', 'churn'],
    });
  });

  it('accepts and refuses exactly what the contract does, with the same value or the same message', () => {
    const keys = envKeys('predict');
    // Prepare: from a valid environment, change a few variables to probe values (absent included).
    const environments = fc.dictionary(fc.constantFrom(...keys), probe, { maxKeys: 4 }).map((changes) => {
      const env: Record<string, string | undefined> = { ...valid, ...changes };
      for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
      return env;
    });
    fc.assert(
      fc.property(environments, (env) => {
        // Act
        const ours = outcome(() => parsePredictEnv(env));
        const contract = outcome(() => parseFunctionEnv('predict', env));
        // Assess
        expect(ours).toEqual(contract);
      }),
      { numRuns: 2000 },
    );
  });

  it('names every missing and malformed variable in one error', () => {
    const { MLOPS_STAGE: _stage, ...rest } = valid;
    expect(() => parsePredictEnv({ ...rest, SERVING_MODE: 'Lambda', PREDICTION_LOG_TTL_DAYS: '0' })).toThrow(
      'Function predict: MLOPS_STAGE is not set; PREDICTION_LOG_TTL_DAYS="0" is invalid (expected a positive whole number); SERVING_MODE="Lambda" is invalid (expected lambda or endpoint).',
    );
  });
});
