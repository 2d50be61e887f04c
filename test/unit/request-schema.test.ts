import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseModelDefinition } from '../../core/model/definition.ts';
import {
  DRAFT4,
  LOG_MAGNITUDE_LIMIT,
  LOG_MIN_MAGNITUDE,
  MAX_CATEGORY_LENGTH,
  requestSchema,
} from '../../core/serving/request-schema.ts';
import { parseRequest, validateInstances } from '../../lambdas/predict/request.ts';
import { draft04, validationErrorString } from '../../local/gateway-validation.ts';
import { credit } from '../support/fixtures.ts';
import { applicant } from '../support/requests.ts';

/** A model with every kind of feature and missing-value policy, three instances per request at most. */
const mixed = parseModelDefinition(
  {
    name: 'mixed',
    spec: {
      version: 1,
      label: { column: 'y', positive: 'yes', negative: 'no' },
      features: [
        { name: 'amount', type: 'numeric', transforms: ['log1p'] },
        { name: 'score', type: 'numeric', missing: 'reject' },
        { name: 'rate', type: 'numeric', missing: { impute: 'median' } },
        { name: 'city', type: 'categorical' },
        { name: 'tier', type: 'categorical', missing: 'reject' },
        { name: 'member', type: 'boolean' },
      ],
    },
    serving: { maxInstancesPerRequest: 3 },
  },
  'the mixed test model',
);

const compile = (def: Parameters<typeof requestSchema>[0]) => draft04().compile(requestSchema(def));

describe('requestSchema', () => {
  it('GIVEN the credit model WHEN generated THEN a draft-4 object of 1 to maxInstancesPerRequest instances, nothing else', () => {
    const schema = requestSchema(credit);
    expect(schema).toMatchObject({
      $schema: DRAFT4,
      type: 'object',
      additionalProperties: false,
      required: ['instances'],
      properties: {
        instances: { type: 'array', minItems: 1, maxItems: credit.serving.maxInstancesPerRequest },
      },
    });
    const item = (schema.properties as { instances: { items: Record<string, unknown> } }).instances.items;
    expect(item).toMatchObject({ type: 'object', additionalProperties: false });
    expect(Object.keys(item.properties as object)).toEqual(credit.spec.features.map((f) => f.name));
    expect(item).not.toHaveProperty('required');
    expect(item.anyOf).toHaveLength(credit.spec.features.length);
  });

  it('GIVEN each kind of feature WHEN generated THEN its type, bounds and nullability', () => {
    const props = (
      requestSchema(mixed).properties as {
        instances: { items: { properties: Record<string, Record<string, unknown>>; required: string[] } };
      }
    ).instances.items;
    expect(props.required).toEqual(['score', 'tier']);
    expect(props.properties.amount).toMatchObject({
      type: ['number', 'null'],
      minimum: -1,
      exclusiveMinimum: true,
      maximum: LOG_MAGNITUDE_LIMIT,
      exclusiveMaximum: true,
    });
    expect(props.properties.score).toMatchObject({ type: 'number', minimum: -LOG_MAGNITUDE_LIMIT });
    expect(props.properties.rate).toMatchObject({ type: ['number', 'null'] });
    expect(props.properties.city).toEqual(
      expect.objectContaining({ type: ['string', 'null'], maxLength: MAX_CATEGORY_LENGTH }),
    );
    expect(props.properties.tier).toMatchObject({ type: 'string' });
    expect(props.properties.member).toMatchObject({ type: ['boolean', 'null'] });
  });

  it('GIVEN numbers at the edges of what the log stores WHEN validated THEN exactly the storable ones pass', () => {
    const validate = compile(credit);
    const accepts = (Income: unknown) => validate({ instances: [{ ...applicant, Income }] });
    for (const ok of [0, -0, LOG_MIN_MAGNITUDE, -LOG_MIN_MAGNITUDE, 9.99e125, -9.99e125, 1e20, null])
      expect(accepts(ok), String(ok)).toBe(true);
    for (const bad of [1e126, -1e126, 9e-131, -5e-324, Number.POSITIVE_INFINITY, Number.NaN, '12', true])
      expect(accepts(bad), String(bad)).toBe(false);
  });

  it('GIVEN refused bodies WHEN validated THEN the error string names the field and the problem', () => {
    const validate = compile(credit);
    const message = (body: unknown) => {
      expect(validate(body)).toBe(false);
      return validationErrorString(validate.errors);
    };
    expect(message({ instances: [{ ...applicant, Status: 'good' }] })).toBe(
      '[instances/0: unknown field "Status"]',
    );
    expect(message({ rows: [] })).toContain('missing required field "instances"');
    expect(message({ instances: [{ ...applicant, Age: 'forty' }] })).toContain(
      'instances/0/Age: must be number',
    );
    expect(message({ instances: [{ ...applicant, Age: 1e-200 }] })).toMatch(
      /^\[instances\/0\/Age: does not match "Age: a number, 0 or of magnitude from 1e-130/,
    );
    expect(message({ instances: [{}] })).toMatch(/^\[instances\/0: does not match "One instance/);
    expect(message({ instances: [{ ...applicant, Home: 'x'.repeat(257) }] })).toContain(
      'instances/0/Home: must NOT have more than 256 characters',
    );
    expect(message({ instances: Array.from({ length: 101 }, () => applicant) })).toContain(
      'instances: must NOT have more than 100 items',
    );
  });
});

/** The function's verdict on a body: both steps, with the version's limit as the deployed one. */
function functionAccepts(def: typeof mixed, text: string): boolean {
  const parsed = parseRequest(
    { method: 'POST', headers: { 'content-type': 'application/json' }, body: text, isBase64Encoded: false },
    { maxInstances: def.serving.maxInstancesPerRequest },
  );
  return parsed.ok && validateInstances(def.spec, parsed.instances, def.serving.maxInstancesPerRequest).ok;
}

/** Whether any string in a parsed body holds a lone surrogate (the function-only check). */
function hasLoneSurrogate(value: unknown): boolean {
  if (typeof value === 'string') return /\p{Cs}/u.test(value);
  if (Array.isArray(value)) return value.some(hasLoneSurrogate);
  if (value && typeof value === 'object')
    return Object.entries(value).some(([k, v]) => hasLoneSurrogate(k) || hasLoneSurrogate(v));
  return false;
}

const edgeNumbers = [
  0,
  -0,
  1,
  -1,
  -0.999999,
  -1.000001,
  LOG_MIN_MAGNITUDE,
  -LOG_MIN_MAGNITUDE,
  9.99e-131,
  5e-324,
  9.999999999999999e125,
  1e126,
  -1e126,
  Number.MAX_VALUE,
  2 ** 53 + 2,
];
const anyNumber = fc.oneof(
  fc.constantFrom(...edgeNumbers),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
);
const anyString = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.constantFrom('\ud800', 'a\udc00b', '\ud83d\ude00', ''),
  fc
    .array(fc.constantFrom('a', '😀', 'é'), {
      minLength: MAX_CATEGORY_LENGTH - 2,
      maxLength: MAX_CATEGORY_LENGTH + 2,
    })
    .map((cs) => cs.join('')),
);
const junk = fc.oneof(
  anyNumber,
  anyString,
  fc.boolean(),
  fc.constant(null),
  fc.constant([1, 'a']),
  fc.constant({ nested: { deeper: [] } }),
);

/** Values that every feature of the type takes (a log1p one included), so that many instances pass. */
const plain = {
  numeric: fc.oneof(
    fc.integer({ min: 0, max: 1_000_000 }),
    fc.integer({ min: 0, max: 1e9 }).map((n) => n / 1000),
  ),
  categorical: fc.string({ maxLength: 12 }),
  boolean: fc.boolean(),
};

function valueFor(type: 'numeric' | 'categorical' | 'boolean') {
  const typed = type === 'numeric' ? anyNumber : type === 'categorical' ? anyString : fc.boolean();
  return fc.oneof(
    { weight: 60, arbitrary: plain[type] },
    { weight: 4, arbitrary: typed },
    { weight: 2, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: junk },
  );
}

/** An instance: some of the features with values of their type (mostly) or junk, sometimes an unknown field. */
function instance(def: typeof mixed) {
  const fields = Object.fromEntries(def.spec.features.map((f) => [f.name, valueFor(f.type)]));
  return fc
    .tuple(
      fc.oneof(
        { weight: 3, arbitrary: fc.record(fields) },
        { weight: 1, arbitrary: fc.record(fields, { requiredKeys: [] }) },
      ),
      fc.oneof(
        { weight: 15, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: fc.tuple(fc.constantFrom('extra', 'y', 'Amount', 'constructor'), junk) },
      ),
    )
    .map(([rec, extra]) => (extra ? { ...rec, [extra[0]]: extra[1] } : rec));
}

function body(def: typeof mixed) {
  const item = fc.oneof({ weight: 30, arbitrary: instance(def) }, { weight: 1, arbitrary: junk });
  const max = def.serving.maxInstancesPerRequest;
  const instances = fc.oneof(
    { weight: 8, arbitrary: fc.array(item, { minLength: 1, maxLength: 3 }) },
    { weight: 1, arbitrary: fc.constant([]) },
    // At the limit and one over it: the same instance repeated, as a client's loop would send it.
    { weight: 1, arbitrary: fc.tuple(item, fc.constantFrom(max, max + 1)).map(([x, n]) => Array(n).fill(x)) },
  );
  return fc.oneof(
    { weight: 10, arbitrary: instances.map((instances) => ({ instances }) as unknown) },
    {
      weight: 1,
      arbitrary: fc.tuple(instances, junk).map(([instances, x]) => ({ instances, x }) as unknown),
    },
    { weight: 1, arbitrary: junk },
  );
}

describe('the request schema and the function agree', () => {
  for (const def of [mixed, credit]) {
    it(`GIVEN generated bodies for ${def.name} WHEN the schema and the function judge them THEN they agree, but for lone surrogates that only the function refuses`, () => {
      const validate = compile(def);
      let accepted = 0;
      let refused = 0;
      fc.assert(
        fc.property(body(def), (value) => {
          const text = JSON.stringify(value);
          const parsed = JSON.parse(text) as unknown;
          const bySchema = validate(parsed);
          const byFunction = functionAccepts(def, text);
          if (byFunction) accepted += 1;
          else refused += 1;
          if (hasLoneSurrogate(parsed)) {
            // The function's own check: a lone surrogate could not be logged as sent.
            if (!bySchema) expect(byFunction).toBe(false);
            return;
          }
          expect(byFunction, `${text}\nschema: ${validationErrorString(validate.errors)}`).toBe(bySchema);
        }),
        { numRuns: 3000, seed: 20261201 },
      );
      // Both verdicts occur often enough for the agreement to mean something.
      expect(accepted).toBeGreaterThan(100);
      expect(refused).toBeGreaterThan(100);
    });
  }
});
