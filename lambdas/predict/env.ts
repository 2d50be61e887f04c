/**
 * The predict function's environment, parsed at cold start by the rules of its schema in
 * `contracts/env.ts`, without zod.
 *
 * Why not `parseFunctionEnv('predict')`: importing zod/mini and the contract's schemas costs the
 * predict bundle about 22 KB and its cold import 4-5 ms (measured in fresh node processes; see
 * BENCHMARKS.md), about half of what predict adds to the bundle that only constructs its SDK
 * clients, against a budget of 1.15x that bundle for both. The shape comes from the contract's
 * type, so a variable added there fails to compile here; `test/unit/predict-env.test.ts` holds the
 * rules and the error message equal to the contract's on generated environments.
 */
import type { FunctionEnv } from '../../contracts/env.ts';

/** The parsed environment of the predict function. */
export type PredictEnv = FunctionEnv<'predict'>;

type Source = Record<string, string | undefined>;
type Rule<T> = (value: string) => { ok: true; value: T } | { ok: false; expected: string };

const nonEmpty: Rule<string> = (value) =>
  value.length > 0 ? { ok: true, value } : { ok: false, expected: 'expected a non-empty string' };

const positiveWhole: Rule<number> = (value) => {
  // As zod's coerce: Number() of the text, then a safe integer above zero.
  const n = Number(value);
  return Number.isSafeInteger(n) && n > 0
    ? { ok: true, value: n }
    : { ok: false, expected: 'expected a positive whole number' };
};

const servingMode: Rule<'lambda' | 'endpoint'> = (value) =>
  value === 'lambda' || value === 'endpoint'
    ? { ok: true, value }
    : { ok: false, expected: 'expected lambda or endpoint' };

const nameList: Rule<string[]> = (value) => {
  const checked = nonEmpty(value);
  return checked.ok ? { ok: true, value: value.split(',').filter((x) => x.length > 0) } : checked;
};

const anyString: Rule<string> = (value) => ({ ok: true, value });

/** The rules in the contract's key order (its error message lists problems in that order). */
const rules = [
  ['MLOPS_STAGE', nonEmpty, 'required'],
  ['POWERTOOLS_SERVICE_NAME', nonEmpty, 'required'],
  ['POWERTOOLS_METRICS_NAMESPACE', nonEmpty, 'required'],
  ['NODE_OPTIONS', anyString, 'optional'],
  ['LAKE_BUCKET', nonEmpty, 'required'],
  ['REGISTRY_TABLE', nonEmpty, 'required'],
  ['PREDICTION_LOG_TABLE', nonEmpty, 'required'],
  ['PREDICTION_LOG_TTL_DAYS', positiveWhole, 'required'],
  ['PREDICTION_LOG_SHARDS', positiveWhole, 'required'],
  ['DEFAULT_MODEL', nonEmpty, 'required'],
  ['MODEL_NAMES', nameList, 'required'],
  ['SERVING_MODE', servingMode, 'required'],
  ['ENDPOINT_PREFIX', nonEmpty, 'optional'],
  ['CLIENT_KEYS', nonEmpty, 'optional'],
  ['IDEMPOTENCY_TABLE', nonEmpty, 'required'],
  ['IDEMPOTENCY_TTL_SECONDS', positiveWhole, 'optional'],
  ['SHADOW_FUNCTION', nonEmpty, 'optional'],
] as const satisfies readonly (readonly [keyof PredictEnv, Rule<unknown>, 'required' | 'optional'])[];

// Compiles only while every variable of the contract has a rule above.
const everyVariableHasARule: Record<Exclude<keyof PredictEnv, (typeof rules)[number][0]>, never> = {};
void everyVariableHasARule;

/**
 * Parses the predict function's environment, or throws one error naming every missing or
 * malformed variable, worded as `parseFunctionEnv` words it.
 */
export function parsePredictEnv(source: Source = process.env): PredictEnv {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, rule, presence] of rules) {
    const raw = source[key];
    if (raw === undefined) {
      if (presence === 'required') problems.push(`${key} is not set`);
      continue;
    }
    const checked = rule(raw);
    if (checked.ok) out[key] = checked.value;
    else problems.push(`${key}=${JSON.stringify(raw)} is invalid (${checked.expected})`);
  }
  if (problems.length > 0) {
    throw new Error(
      `Function predict: ${problems.join('; ')}. The function's construct sets its environment (contracts/env.ts).`,
    );
  }
  return out as PredictEnv;
}
