/** Prediction requests for pipeline tests: demo rows as a client sends them, as API Gateway events. */
import { readFileSync } from 'node:fs';
import { parseModelDefinition } from '../../core/model/definition.ts';

const demoCsv = readFileSync('data/credit_data.csv', 'utf8');
let requestCounter = 0;

/** The first `n` rows of the demo data as JSON instances (the label left out, empty cells absent). */
export function sampleRows(n: number): Record<string, unknown>[] {
  const def = parseModelDefinition(JSON.parse(readFileSync('models/credit.json', 'utf8')), 'credit');
  const [header, ...lines] = demoCsv.trimEnd().split('\n') as [string, ...string[]];
  const cols = header.split(',').map((c) => c.replaceAll('"', ''));
  return lines.slice(0, n).map((line) => {
    const cells = line.split(',').map((c) => c.replaceAll('"', ''));
    const out: Record<string, unknown> = {};
    for (const f of def.spec.features) {
      const v = cells[cols.indexOf(f.name)]!;
      if (v !== '') out[f.name] = f.type === 'numeric' ? Number(v) : v;
    }
    return out;
  });
}

/**
 * A prediction request as API Gateway proxies it, with a fresh request id (which decides a canary's
 * share): `POST /v1/models/<model>/predict`, or `POST /v1/predict` (the default model) without one.
 */
export function predictEvent(instances: unknown[], model?: string) {
  return {
    httpMethod: 'POST',
    path: model ? `/v1/models/${model}/predict` : '/v1/predict',
    resource: model ? '/v1/models/{model}/predict' : '/v1/predict',
    pathParameters: model ? { model } : null,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ instances }),
    isBase64Encoded: false,
    requestContext: { requestId: `pipeline-test-${requestCounter++}` },
  };
}

/**
 * The credit definition with the positive class weighted eightfold (the ranking, so AUC, stays;
 * every score rises) and a guardrail loose enough to let it through: a candidate that only
 * serving-time checks can catch.
 */
export function shiftedCredit(promotion: Record<string, unknown>) {
  const base = JSON.parse(readFileSync('models/credit.json', 'utf8'));
  return parseModelDefinition(
    {
      ...base,
      training: {
        ...base.training,
        hyperparameters: { ...base.training.hyperparameters, scale_pos_weight: 8 },
      },
      guardrail: {
        ...base.guardrail,
        maxAucDrop: 0.05,
        maxLogLossIncrease: 5,
        maxSliceAucDrop: 0.5,
        maxPositiveRateGap: 1,
        maxTprGap: 1,
      },
      promotion: { approval: 'manual', ...promotion },
    },
    'shifted definition',
  );
}

/** One credit applicant, every feature present: the README's example request. */
export const applicant = {
  Seniority: 9,
  Home: 'rent',
  Time: 60,
  Age: 30,
  Marital: 'married',
  Records: 'no',
  Job: 'freelance',
  Expenses: 73,
  Income: 129,
  Assets: 0,
  Debt: 0,
  Amount: 800,
  Price: 846,
};
