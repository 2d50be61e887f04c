/**
 * A key per client, in the twin: the app synthesized with three clients, the twin issuing a key for
 * each from the templates and checking it as API Gateway does (403 without a valid `x-api-key`, the
 * usage plan's throttle and quota as 429s), the predict function naming the client on its log rows
 * and metrics, and `mlops keys` printing the twin's keys.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_DIMENSION, MODEL_DIMENSION } from '../../contracts/metrics.ts';
import { stackOutputs } from '../../contracts/outputs.ts';
import type { TwinApiKey } from '../../contracts/twin-api.ts';
import { makeDocumentClient } from '../../lambdas/shared/adapters/aws/clients.ts';
import { DynamoPredictionLogReader } from '../../lambdas/shared/adapters/aws/dynamo-prediction-log-reader.ts';
import { buildConfig, loadModels } from '../../lib/config.ts';
import { MODELS_DIR } from '../../lib/paths.ts';
import { synthesize } from '../../lib/synth.ts';
import type { MetricPoint } from '../../local/cloudwatch.ts';
import { seedVersion } from '../support/fixtures.ts';
import { applicant } from '../support/requests.ts';
import { serveTwin, startTestTwin, type TestTwin } from '../support/twin.ts';

const CLIENTS = [
  { name: 'web', rateLimit: 50, burstLimit: 100 },
  // Two requests at once, then one every 100 s: the third in a row is throttled.
  { name: 'slow', rateLimit: 0.01, burstLimit: 2 },
  { name: 'metered', rateLimit: 50, burstLimit: 100, quota: { limit: 2, period: 'DAY' } },
];

function cli(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/mlops.js', ...args], {
      env: { ...process.env, NO_COLOR: '1' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

describe('a key per client in the twin', () => {
  let dir: string;
  let t: TestTwin;
  let server: Awaited<ReturnType<typeof serveTwin>>;
  let keys: TwinApiKey[];
  const keyOf = (client: string) => keys.find((k) => k.client === client)!.key;
  const post = (headers: Record<string, string>, path = '/v1/predict') =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ instances: [applicant] }),
    });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mlops-keys-assembly-'));
    synthesize(dir, buildConfig({ stage: 'keys', clients: CLIENTS }, loadModels(MODELS_DIR)));
    t = await startTestTwin(dir);
    server = await serveTwin(t.twin);
    const { version } = await seedVersion(t.lake, 1);
    await t.registry.putVersion({ ...version, status: 'Approved' });
    await t.registry.moveAlias('credit', undefined, { current: 1, history: [] });
    keys = (await (await fetch(`${server.url}/_twin/keys`)).json()) as TwinApiKey[];
  }, 240_000);
  afterAll(async () => {
    await server?.close();
    await t?.twin.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('GIVEN three clients in the config WHEN the twin starts THEN GET /_twin/keys lists one random 40-character key for each', () => {
    expect(keys.map((k) => k.client)).toEqual(['web', 'slow', 'metered']);
    for (const { key } of keys) expect(key).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(new Set(keys.map((k) => k.key)).size).toBe(3);
  });

  it('GIVEN a method that requires a key WHEN called without x-api-key or with a wrong one THEN it is 403 {"message":"Forbidden"} and the function never runs', async () => {
    const invocations = () =>
      t.twin.metrics.all().filter((p) => p.namespace === 'AWS/Lambda' && p.name === 'Invocations').length;
    const before = invocations();
    const attempts: Record<string, string>[] = [
      {},
      { 'x-api-key': 'not-a-key' },
      { 'x-api-key': `${keyOf('web')}x` },
    ];
    for (const headers of attempts) {
      const res = await post(headers);
      expect(res.status).toBe(403);
      expect(await res.json()).toEqual({ message: 'Forbidden' });
    }
    const routed = await post({}, '/v1/models/credit/predict');
    expect(routed.status).toBe(403);
    expect(invocations()).toBe(before);
  });

  it("GIVEN each client's key WHEN it calls the API THEN the answer is 200, its log row names the client, and its metrics carry [Model] and [Model, Client]", async () => {
    const reader = new DynamoPredictionLogReader(
      makeDocumentClient(t.twin.clientTarget()),
      t.twin.resolver.output(stackOutputs.predictionLogTableName)!,
    );
    const from = new Date(Date.now() - 60_000);
    const requestIds: Record<string, string> = {};
    for (const client of ['web', 'slow', 'metered']) {
      const res = await post({ 'x-api-key': keyOf(client) });
      const body = (await res.json()) as { requestId: string };
      expect(res.status, JSON.stringify(body)).toBe(200);
      requestIds[client] = body.requestId;
    }
    const rows = await reader.readWindow('credit', from, new Date(Date.now() + 60_000));
    for (const [client, requestId] of Object.entries(requestIds)) {
      expect(rows.filter((r) => r.requestId === requestId).map((r) => r.client)).toEqual([client]);
    }

    const metrics = (await (await fetch(`${server.url}/_twin/metrics`)).json()) as MetricPoint[];
    const predictions = metrics.filter((m) => m.name === 'Predictions' && m.namespace === 'Mlops/keys');
    for (const client of ['web', 'slow', 'metered']) {
      expect(
        predictions.filter(
          (m) =>
            m.dimensions[CLIENT_DIMENSION] === client &&
            Object.keys(m.dimensions).length === 2 &&
            m.dimensions[MODEL_DIMENSION] === 'credit',
        ),
        `Predictions under [Model, Client=${client}]`,
      ).toHaveLength(1);
    }
    // The alarms' series, [Model] alone, has every one of them.
    expect(
      predictions.filter((m) => Object.keys(m.dimensions).length === 1 && m.dimensions.Model === 'credit'),
    ).toHaveLength(3);
  });

  it("GIVEN the key ids the twin gives requests WHEN the predict function's CLIENT_KEYS is read THEN it maps each to its client", async () => {
    const env = await t.twin.functionEnvironment(t.twin.apiFunctionArn());
    const entries = env.CLIENT_KEYS!.split(',').map((e) => e.split('='));
    expect(entries.map(([, client]) => client)).toEqual(['web', 'slow', 'metered']);
    for (const [id] of entries) expect(id).toMatch(/^mlops-keys-serving-/);
  });

  it("GIVEN a usage plan's burst and quota WHEN a client exceeds them THEN the twin answers 429 as API Gateway does", async () => {
    // slow used one of its two tokens above; the next goes through, the one after is throttled.
    expect((await post({ 'x-api-key': keyOf('slow') })).status).toBe(200);
    const throttled = await post({ 'x-api-key': keyOf('slow') });
    expect(throttled.status).toBe(429);
    expect(await throttled.json()).toEqual({ message: 'Too Many Requests' });
    // metered used one of its two requests of the day above.
    expect((await post({ 'x-api-key': keyOf('metered') })).status).toBe(200);
    const over = await post({ 'x-api-key': keyOf('metered') });
    expect(over.status).toBe(429);
    expect(await over.json()).toEqual({ message: 'Limit Exceeded' });
    // Another client is not affected.
    expect((await post({ 'x-api-key': keyOf('web') })).status).toBe(200);
  });

  it('GIVEN the twin WHEN `mlops keys --json` runs THEN it prints [{client, key}] for every client, and --client names the known ones when it is not one', async () => {
    const all = await cli(['keys', '--json', '--twin', server.url]);
    expect(all.code, all.err).toBe(0);
    expect(JSON.parse(all.out)).toEqual(keys.map(({ client, key }) => ({ client, key })));

    const one = await cli(['keys', '--json', '--client', 'metered', '--twin', server.url]);
    expect(one.code, one.err).toBe(0);
    expect(JSON.parse(one.out)).toEqual([{ client: 'metered', key: keyOf('metered') }]);

    const unknown = await cli(['keys', '--client', 'mobile', '--twin', server.url]);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('--client "mobile" is not a client of the local twin at');
    expect(unknown.err).toContain('its clients: web, slow, metered');
  });

  it("GIVEN the twin WHEN `mlops predict --client web` runs THEN it sends web's key and gets a 200", async () => {
    const res = await cli([
      'predict',
      '--client',
      'web',
      '--instances',
      JSON.stringify(applicant),
      '--twin',
      server.url,
    ]);
    expect(res.code, res.err + res.out).toBe(0);
    expect(res.out).toContain('HTTP 200');
  });
});
