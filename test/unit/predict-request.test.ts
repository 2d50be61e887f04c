import { describe, expect, it } from 'vitest';
import { MAX_CATEGORY_LENGTH } from '../../core/serving/request-schema.ts';
import {
  codePointLength,
  deployedLimits,
  MAX_BODY_BYTES,
  modelInPath,
  parseRequest,
  validateInstances,
} from '../../lambdas/predict/request.ts';
import { credit } from '../support/fixtures.ts';
import { applicant } from '../support/requests.ts';

function request(
  body: string | null,
  headers: Record<string, string> = { 'Content-Type': 'application/json' },
) {
  return { method: 'POST', headers, body, isBase64Encoded: false };
}

describe('parseRequest', () => {
  it('accepts a JSON object holding a non-empty instances array, whatever the header name case', () => {
    // Prepare
    const instances = [applicant, { ...applicant, Age: 41 }];
    // Act
    const parsed = parseRequest(
      request(JSON.stringify({ instances }), { 'CONTENT-type': 'application/json; charset=utf-8' }),
    );
    // Assess
    expect(parsed).toEqual({ ok: true, instances });
  });

  it('decodes a base64 body as API Gateway passes binary payloads', () => {
    const body = Buffer.from(JSON.stringify({ instances: [applicant] })).toString('base64');
    const parsed = parseRequest({ ...request(body), isBase64Encoded: true });
    expect(parsed).toEqual({ ok: true, instances: [applicant] });
  });

  it('refuses another method with 405 before reading anything else', () => {
    const parsed = parseRequest({ ...request('not json', {}), method: 'GET' });
    expect(parsed).toEqual({
      ok: false,
      refusal: { status: 405, error: 'MethodNotAllowed', message: 'Use POST, not GET.' },
    });
  });

  it('refuses a missing or non-JSON content type with 415 naming what was sent', () => {
    const none = parseRequest(request('{}', {}));
    const text = parseRequest(request('{}', { 'content-type': 'text/plain' }));
    const lookalike = parseRequest(request('{}', { 'content-type': 'application/jsonx' }));
    expect(none).toMatchObject({
      ok: false,
      refusal: {
        status: 415,
        error: 'UnsupportedMediaType',
        message: 'Content-Type must be application/json, got none.',
      },
    });
    expect(text).toMatchObject({
      ok: false,
      refusal: { status: 415, message: expect.stringContaining('"text/plain"') },
    });
    expect(lookalike).toMatchObject({ ok: false, refusal: { status: 415 } });
  });

  it.each([
    ['{"instances": [', /^The body is not valid JSON: /],
    ['', /^The body is not valid JSON: /],
    ['[1, 2]', /^The body must be a JSON object/],
    ['null', /^The body must be a JSON object/],
    ['{"rows": []}', /^"instances" must be an array of objects/],
    ['{"instances": {}}', /^"instances" must be an array of objects/],
    ['{"instances": []}', /^"instances" is empty/],
    ['{"instances": [{}], "model": "x", "debug": true}', /^Unknown top-level field\(s\): model, debug\.$/],
  ])('refuses %j with 400: %s', (body, message) => {
    const parsed = parseRequest(request(body));
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.refusal.status).toBe(400);
    expect(parsed.refusal.error).toBe('InvalidRequest');
    expect(parsed.refusal.message).toMatch(message);
  });

  it('refuses a null body as invalid JSON', () => {
    expect(parseRequest(request(null))).toMatchObject({ ok: false, refusal: { status: 400 } });
  });

  it('GIVEN more instances than the deployed limit WHEN parsed THEN 413 PayloadTooLarge naming both counts', () => {
    const body = JSON.stringify({ instances: [applicant, applicant, applicant] });
    expect(parseRequest(request(body), { maxInstances: 2 })).toEqual({
      ok: false,
      refusal: {
        status: 413,
        error: 'PayloadTooLarge',
        message: '"instances" has 3 items; at most 2 are allowed per request.',
      },
    });
    expect(parseRequest(request(body), { maxInstances: 3 }).ok).toBe(true);
  });

  it('GIVEN a body over the byte limit WHEN parsed THEN 413 before it is parsed, naming its size', () => {
    const body = `{"instances": [${' '.repeat(MAX_BODY_BYTES)}]}`;
    const parsed = parseRequest(request(body));
    expect(parsed).toMatchObject({
      ok: false,
      refusal: {
        status: 413,
        error: 'PayloadTooLarge',
        message: `The body is ${MAX_BODY_BYTES + 17} bytes; at most ${MAX_BODY_BYTES} are accepted.`,
      },
    });
  });

  it("GIVEN the deployed models WHEN their limits are read THEN a deployed model has its definition's, another none", async () => {
    expect(await deployedLimits('credit')).toEqual({ maxInstances: credit.serving.maxInstancesPerRequest });
    expect(await deployedLimits('no-such-model')).toEqual({});
  });
});

describe('validateInstances', () => {
  it('returns one clean row per instance, in order', () => {
    const result = validateInstances(credit.spec, [applicant, { ...applicant, Seniority: 2 }], 10);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.rows.map((r) => r.Seniority)).toEqual([9, 2]);
  });

  it('refuses more instances than the version allows with 413, naming both counts', () => {
    const result = validateInstances(credit.spec, [applicant, applicant, applicant], 2);
    expect(result).toEqual({
      ok: false,
      refusal: {
        status: 413,
        error: 'PayloadTooLarge',
        message: '"instances" has 3 items; at most 2 are allowed per request.',
      },
    });
  });

  it('lists every problem of every instance and names the first in the message', () => {
    const result = validateInstances(
      credit.spec,
      [applicant, { ...applicant, Age: 'forty' }, 'not an object', [1]],
      10,
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.refusal.message).toBe(
      'instances[1].Age must be a finite number, got "forty" (and 2 more problem(s)).',
    );
    expect(result.refusal.details).toEqual([
      { instance: 1, field: 'Age', message: 'must be a finite number, got "forty"' },
      { instance: 2, field: '(instance)', message: 'must be a JSON object of feature fields' },
      { instance: 3, field: '(instance)', message: 'must be a JSON object of feature fields' },
    ]);
  });

  it('names a single problem without a count', () => {
    const result = validateInstances(credit.spec, [{ ...applicant, Home: 42 }], 10);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.refusal.message).toMatch(/^instances\[0\]\.Home .*\.$/);
    expect(result.refusal.message).not.toContain('more problem');
  });

  it('scores and keeps every finite number the log can store, beyond 2^53 and down to 1E-130 included', () => {
    const values = [1e20, -1e20, 9.99999999999999e125, -9.99999999999999e125, 1e-130, -1e-130, 0, -0];
    const result = validateInstances(
      credit.spec,
      values.map((Income) => ({ ...applicant, Income })),
      10,
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.rows.map((r) => r.Income)).toEqual(values);
  });

  it('refuses a number the prediction log cannot store, naming the field, the value and the range', () => {
    const result = validateInstances(
      credit.spec,
      [
        { ...applicant, Age: -1e308 },
        { ...applicant, Income: 1e126 },
        { ...applicant, Debt: 5e-324 },
      ],
      10,
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.refusal.status).toBe(400);
    expect(result.refusal.details).toEqual([
      {
        instance: 0,
        field: 'Age',
        message: 'is -1e+308, larger in magnitude than the prediction log stores (at most 9.99E+125)',
      },
      {
        instance: 1,
        field: 'Income',
        message: 'is 1e+126, larger in magnitude than the prediction log stores (at most 9.99E+125)',
      },
      {
        instance: 2,
        field: 'Debt',
        message: 'is 5e-324, smaller in magnitude than the prediction log stores (at least 1E-130, or 0)',
      },
    ]);
  });

  it("refuses an instance with none of the model's features, and names them", () => {
    const result = validateInstances(credit.spec, [applicant, {}, { Unknown: 1, Age: null }], 10);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.refusal.message).toMatch(
      /^instances\[1\]\.\(instance\) has none of the model's features \(Seniority, Home, /,
    );
    expect(result.refusal.details?.map((d) => d.instance)).toEqual([1, 2]);
  });

  it('GIVEN a category longer than the limit in code points WHEN validated THEN refused naming the field and the length', () => {
    const atLimit = '😀'.repeat(MAX_CATEGORY_LENGTH);
    expect(atLimit.length).toBe(2 * MAX_CATEGORY_LENGTH);
    expect(codePointLength(atLimit)).toBe(MAX_CATEGORY_LENGTH);
    expect(validateInstances(credit.spec, [{ ...applicant, Home: atLimit }], 10).ok).toBe(true);
    const result = validateInstances(credit.spec, [{ ...applicant, Home: `${atLimit}x` }], 10);
    expect(result).toMatchObject({
      ok: false,
      refusal: {
        status: 400,
        message: `instances[0].Home is ${MAX_CATEGORY_LENGTH + 1} characters long; a category is at most ${MAX_CATEGORY_LENGTH}.`,
      },
    });
  });

  it('GIVEN a lone surrogate in a category WHEN validated THEN refused as not well-formed Unicode', () => {
    const parsed = parseRequest(request('{"instances": [{"Home": "rent\\ud800", "Age": 30}]}'));
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const result = validateInstances(credit.spec, parsed.instances, 10);
    expect(result).toMatchObject({
      ok: false,
      refusal: {
        status: 400,
        message: expect.stringMatching(/^instances\[0\]\.Home is not well-formed Unicode/),
      },
    });
    // A surrogate pair is one well-formed code point.
    expect(validateInstances(credit.spec, [{ ...applicant, Home: '\ud83d\ude00' }], 10).ok).toBe(true);
  });

  it('GIVEN a field that is not a feature WHEN validated THEN refused naming it', () => {
    const result = validateInstances(credit.spec, [{ ...applicant, Status: 'good' }], 10);
    expect(result).toMatchObject({
      ok: false,
      refusal: { status: 400, message: 'instances[0].Status is not a feature of this model.' },
    });
  });

  it('GIVEN a literal model route WHEN its path is read THEN the model it names, none for the default route', () => {
    expect(modelInPath('/v1/models/credit/predict')).toBe('credit');
    expect(modelInPath('/base/v1/models/churn-2/predict/')).toBe('churn-2');
    expect(modelInPath('/v1/models/a%20b/predict')).toBe('a b');
    expect(modelInPath('/v1/predict')).toBeUndefined();
  });

  it('GIVEN a non-zero number that a JSON parser reads as 0 WHEN parsed THEN 400 naming it, a string or a zero left alone', () => {
    const tiny = parseRequest(request('{"instances": [{"Age": 30, "Income": -1e-400}]}'));
    expect(tiny).toMatchObject({
      ok: false,
      refusal: {
        status: 400,
        message: expect.stringMatching(/^The body holds the number -1e-400: non-zero/),
      },
    });
    const long = parseRequest(request(`{"instances": [{"Age": 0.${'0'.repeat(400)}1}]}`));
    expect(long).toMatchObject({ ok: false, refusal: { message: expect.stringContaining('0.0000') } });
    expect(parseRequest(request('{"instances": [{"Home": "1e-400", "Age": 0e-5, "Debt": 1e-130}]}')).ok).toBe(
      true,
    );
  });
});
