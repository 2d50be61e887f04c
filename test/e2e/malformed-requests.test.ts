/**
 * Malformed prediction requests, over HTTP to a running twin: whatever a client sends wrong is
 * answered 4xx with a message that names the problem (the field, or what is wrong with the body),
 * never a 5xx, and a good request is still served afterwards. Most are refused by the twin's
 * emulation of API Gateway's request validation (from the template's request models); the rest
 * (content types, methods, lone surrogates, sizes, unknown models) by the predict function.
 */
import { Agent, request } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TwinApiKey } from '../../contracts/twin-api.ts';
import { MAX_CATEGORY_LENGTH } from '../../core/serving/request-schema.ts';
import { MAX_BODY_BYTES } from '../../lambdas/predict/request.ts';
import { credit } from '../support/fixtures.ts';
import { givenProduction } from '../support/pipeline-fixtures.ts';
import { applicant } from '../support/requests.ts';
import { serveTwin, startTestTwin, type TestTwin } from '../support/twin.ts';

/** One request and what its refusal's message must name. */
interface Malformed {
  kind: string;
  method: string;
  path: string;
  contentType?: string;
  body: string;
  /** The message names this (case-insensitive). */
  names: RegExp;
}

const numeric = credit.spec.features.filter((f) => f.type === 'numeric').map((f) => f.name);
const categorical = credit.spec.features.filter((f) => f.type === 'categorical').map((f) => f.name);
const features = credit.spec.features.map((f) => f.name);
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** The message names the field, as the gateway (`instances/0/Age`) or the function (`instances[0].Age`) writes it. */
const fieldOf = (field: string) => new RegExp(`instances(/|\\[)0(/|\\]\\.)${esc(field)}\\b`);
const routes = ['/v1/predict', '/v1/models/credit/predict'];
const route = fc.constantFrom(...routes);
const good = JSON.stringify(applicant);

/** `{"instances":[<applicant with field set to raw JSON text>]}`. */
function withField(field: string, rawValue: string): string {
  const rest = JSON.stringify({ ...applicant, [field]: undefined }).slice(1, -1);
  return `{"instances":[{${rest}${rest ? ',' : ''}${JSON.stringify(field)}:${rawValue}}]}`;
}

const post = (kind: string, body: string, names: RegExp) =>
  route.map(
    (path): Malformed => ({ kind, method: 'POST', path, contentType: 'application/json', body, names }),
  );

/** Numbers that are not JSON, or that JSON parsers read as no finite storable number. */
const badNumberTokens = fc.constantFrom(
  'NaN',
  '-NaN',
  'Infinity',
  '-Infinity',
  '+Infinity',
  'inf',
  'nan',
  '1e999',
  '-1e999',
  '1e126',
  '-1e126',
  '1e-131',
  '-5e-324',
  '1e-400',
  '+1',
  '0x10',
  '.5',
  '1.',
  '01',
  '1_000',
  '--1',
);
const stringsForNumbers = fc.constantFrom('"NaN"', '"Infinity"', '"12"', '"1e5"', '" 3 "', '""', '"-0"');

const malformed: fc.Arbitrary<Malformed> = fc.oneof(
  // Wrong types, each feature.
  fc
    .tuple(fc.constantFrom(...numeric), fc.constantFrom('true', '[]', '{}', '[1]', '{"v":1}', '"x"'))
    .chain(([f, v]) => post('wrong type (numeric)', withField(f, v), fieldOf(f))),
  fc
    .tuple(fc.constantFrom(...categorical), fc.constantFrom('1', 'true', '[]', '{}', '0.5', '["rent"]'))
    .chain(([f, v]) => post('wrong type (categorical)', withField(f, v), fieldOf(f))),
  // Strings for numbers, NaN and Infinity however spelled, numbers beyond what the log stores.
  fc
    .tuple(fc.constantFrom(...numeric), stringsForNumbers)
    .chain(([f, v]) => post('string for a number', withField(f, v), fieldOf(f))),
  fc
    .tuple(fc.constantFrom(...numeric), badNumberTokens)
    .chain(([f, v]) =>
      post('bad number', withField(f, v), new RegExp(`${fieldOf(f).source}|not valid JSON|the number`)),
    ),
  fc
    .tuple(
      fc.constantFrom(...numeric),
      fc.double({ min: 1e126, noDefaultInfinity: true, noNaN: true }),
      fc.boolean(),
    )
    .chain(([f, v, neg]) => post('huge number', withField(f, String(neg ? -v : v)), fieldOf(f))),
  fc
    .tuple(
      fc.constantFrom(...numeric),
      fc.double({ min: Number.MIN_VALUE, max: 9.99e-131, noNaN: true }),
      fc.integer({ min: 131, max: 2000 }),
    )
    .chain(([f, v, exp]) =>
      fc
        .constantFrom(String(v), `1e-${exp}`)
        .chain((t) => post('tiny number', withField(f, t), new RegExp(`${fieldOf(f).source}|the number`))),
    ),
  // Missing and extra fields.
  fc
    .constantFrom(
      '{}',
      '{"instances":[]}',
      '{"instances":null}',
      '{"instances":{}}',
      '{"rows":[{"Age":1}]}',
      '{"instances":[{}]}',
      '{"instances":[{"Age":null}]}',
    )
    .chain((b) => post('missing', b, /instances/)),
  fc
    .tuple(fc.string({ minLength: 1, maxLength: 12 }), fc.boolean())
    .filter(([k]) => !features.includes(k) && k !== 'instances')
    .chain(([k, top]) =>
      post(
        'extra field',
        top ? `{"instances":[${good}],${JSON.stringify(k)}:1}` : withField(k, '"x"'),
        new RegExp(esc(k)),
      ),
    ),
  post('label sent', withField('Status', '"good"'), /Status/),
  // Unicode: lone surrogates (as escapes), categories too long in code points, unicode field names.
  fc
    .tuple(
      fc.constantFrom(...categorical),
      fc.constantFrom('\\ud800', 'a\\udc00', '\\udbff\\u0041', 'x\\ud83d'),
    )
    .chain(([f, s]) =>
      post('lone surrogate', withField(f, `"${s}"`), new RegExp(`${fieldOf(f).source}.*well-formed`)),
    ),
  fc
    .tuple(fc.constantFrom(...categorical), fc.constantFrom('é', '😀', 'a', '中'))
    .chain(([f, c]) =>
      post('long category', withField(f, JSON.stringify(c.repeat(MAX_CATEGORY_LENGTH + 1))), fieldOf(f)),
    ),
  fc
    .constantFrom('Âge', 'Age\u0301', '😀', '\ud800', 'A\u0000ge')
    .chain((k) => post('unicode field', withField(k, '30'), /unknown field|not a feature/)),
  // Nested junk.
  fc.tuple(fc.integer({ min: 1, max: 3000 }), fc.constantFrom('[', '{"a":')).chain(([depth, open]) => {
    const close = open === '[' ? ']' : '}';
    const deep = `${open.repeat(depth)}1${close.repeat(depth)}`;
    return fc
      .constantFrom(`{"instances":${deep}}`, `{"instances":[${deep}]}`, withField('Age', deep), deep)
      .chain((b) => post('nested junk', b, /instances|body/));
  }),
  fc
    .constantFrom(
      '',
      ' ',
      'null',
      'true',
      '"instances"',
      '[{"Age":1}]',
      '{"instances":[1,2,3]}',
      '{"instances":"[]"}',
      '{"instances":[{"Age":1}]',
      '{"instances":[{"Age":1}]}}',
      '\u0000',
      '{"instances":[{"Age":1,}]}',
    )
    .chain((b) => post('not a request', b, /instances|body|JSON/)),
  // Too many instances, bodies over the function's limit and over Lambda's payload limit.
  fc
    .integer({ min: credit.serving.maxInstancesPerRequest + 1, max: 400 })
    .chain((n) =>
      post(
        'too many instances',
        `{"instances":[${Array(n).fill(good).join(',')}]}`,
        /more than 100 items|at most 100/,
      ),
    ),
  // Wrong content types, and no content type.
  fc
    .tuple(
      fc.constantFrom(
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/jsonx',
        'application/xml',
        'text/json',
        '*/*',
      ),
      route,
    )
    .map(
      ([contentType, path]): Malformed => ({
        kind: 'wrong content type',
        method: 'POST',
        path,
        contentType,
        body: `{"instances":[${good}]}`,
        names: /Content-Type/,
      }),
    ),
  route.map(
    (path): Malformed => ({
      kind: 'no content type',
      method: 'POST',
      path,
      body: `{"instances":[${good}]}`,
      names: /Content-Type/,
    }),
  ),
  // Wrong methods (HEAD is answered without a body, so it has no message to read).
  fc.tuple(fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'), route).map(
    ([method, path]): Malformed => ({
      kind: 'wrong method',
      method,
      path,
      contentType: 'application/json',
      body: method === 'GET' || method === 'OPTIONS' ? '' : `{"instances":[${good}]}`,
      names: new RegExp(`POST.*${method}`),
    }),
  ),
  // A model the stage does not deploy.
  fc
    .stringMatching(/^[a-z][a-z0-9-]{0,20}$/)
    .filter((m) => m !== 'credit')
    .map(
      (m): Malformed => ({
        kind: 'unknown model',
        method: 'POST',
        path: `/v1/models/${m}/predict`,
        contentType: 'application/json',
        body: `{"instances":[${good}]}`,
        names: new RegExp(`"${m}"`),
      }),
    ),
);

/** A few large bodies: whitespace past the function's 1 MiB limit, and past Lambda's 6 MB. */
const oversized: Malformed[] = [
  ...Array.from({ length: 6 }, (_, i) => ({
    kind: 'over 1 MiB',
    method: 'POST',
    path: routes[i % 2]!,
    contentType: 'application/json',
    body: `{"instances":[${good}]${' '.repeat(MAX_BODY_BYTES + i * 1000)}}`,
    names: /bytes; at most/,
  })),
  ...Array.from({ length: 2 }, (_, i) => ({
    kind: 'over 6 MB',
    method: 'POST',
    path: routes[i % 2]!,
    contentType: 'application/json',
    body: `{"instances":[${good}]${' '.repeat(7 * 1024 * 1024)}}`,
    names: /payload too large/,
  })),
];

const agent = new Agent({ keepAlive: true, maxSockets: 16 });
/** A client's API key, from the twin: without one API Gateway answers 403 before validating anything. */
let apiKey = '';

interface Outcome {
  request: Malformed;
  status: number;
  message: string;
}

/** Sends a request as given: node's http client adds no content type of its own, as fetch would. */
function send(url: string, r: Malformed): Promise<Outcome> {
  const headers: Record<string, string> = { 'x-api-key': apiKey };
  if (r.contentType) headers['content-type'] = r.contentType;
  // Framed for every method: node sends a DELETE's body unframed unless told its length.
  const body = r.method === 'GET' ? undefined : Buffer.from(r.body);
  if (body) headers['content-length'] = String(body.length);
  return new Promise((resolve, reject) => {
    const req = request(`${url}${r.path}`, { method: r.method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let message: string;
        try {
          message = String((JSON.parse(text) as { message?: unknown }).message ?? '');
        } catch {
          message = `(not JSON) ${text.slice(0, 200)}`;
        }
        resolve({ request: r, status: res.statusCode ?? 0, message });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Sends every request with at most `concurrency` in flight. */
async function sendAll(url: string, requests: readonly Malformed[], concurrency: number): Promise<Outcome[]> {
  const outcomes: Outcome[] = new Array(requests.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests.length) {
        const i = next++;
        outcomes[i] = await send(url, requests[i]!);
      }
    }),
  );
  return outcomes;
}

const predictGood = (url: string, path: string) =>
  fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
    body: JSON.stringify({ instances: [applicant] }),
  });

describe('malformed prediction requests, sent to a running twin', () => {
  let t: TestTwin;
  let server: { url: string; close(): Promise<void> };

  beforeAll(async () => {
    t = await startTestTwin();
    await givenProduction(t, 'credit');
    server = await serveTwin(t.twin);
    const [client] = (await (await fetch(`${server.url}/_twin/keys`)).json()) as TwinApiKey[];
    apiKey = client!.key;
  });

  afterAll(async () => {
    agent.destroy();
    await server?.close();
    await t?.twin.stop();
  });

  it('GIVEN a good request WHEN sent to either route THEN 200, the premise of the rest', async () => {
    for (const path of routes) expect((await predictGood(server.url, path)).status, path).toBe(200);
  });

  it("GIVEN a body the request model refuses WHEN sent THEN API Gateway's BAD_REQUEST_BODY answer from the template: JSON naming the field and the request", async () => {
    const res = await fetch(`${server.url}/v1/models/credit/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
      body: withField('Age', '"forty"'),
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/json');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toEqual({
      error: 'InvalidRequest',
      message: '[instances/0/Age: must be number,null]',
      requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
  });

  it('GIVEN 10,000 generated malformed requests WHEN sent THEN every one is a 4xx naming its problem, none a 5xx, and a good request is still 200', async () => {
    const requests = [...fc.sample(malformed, { numRuns: 10_000, seed: 20261201 }), ...oversized];
    const started = Date.now();
    const outcomes = await sendAll(server.url, requests, 16);
    const elapsed = Date.now() - started;

    const serverErrors = outcomes.filter((o) => o.status >= 500);
    const notClientErrors = outcomes.filter((o) => o.status < 400 || o.status >= 500);
    const unnamed = outcomes.filter((o) => o.status < 500 && !o.request.names.test(o.message));
    const show = (os: Outcome[]) =>
      os
        .slice(0, 5)
        .map(
          (o) =>
            `${o.request.kind} ${o.request.method} ${o.request.path} ${o.request.body.slice(0, 160)} → ${o.status} ${o.message.slice(0, 200)}`,
        )
        .join('\n');
    expect(serverErrors, show(serverErrors)).toHaveLength(0);
    expect(notClientErrors, show(notClientErrors)).toHaveLength(0);
    expect(unnamed, show(unnamed)).toHaveLength(0);
    expect(outcomes.length).toBeGreaterThanOrEqual(10_000);
    // Every kind of malformation was sent.
    const kinds = new Set(outcomes.map((o) => o.request.kind));
    expect(kinds.size).toBeGreaterThanOrEqual(20);
    console.log(`${outcomes.length} malformed requests answered in ${elapsed} ms`);
    // Each malformation is refused where it should be, with the status that says why.
    const statuses: Record<string, number[]> = {};
    for (const o of outcomes) {
      const seen = statuses[o.request.kind] ?? [];
      if (!seen.includes(o.status)) seen.push(o.status);
      statuses[o.request.kind] = seen;
    }
    expect(statuses).toEqual({
      ...Object.fromEntries([...kinds].map((k) => [k, [400]])),
      'wrong content type': [415],
      'no content type': [415],
      'wrong method': [405],
      'unknown model': [404],
      'over 1 MiB': [413],
      'over 6 MB': [413],
    });

    for (const path of routes) expect((await predictGood(server.url, path)).status, path).toBe(200);
  }, 180_000);
});
