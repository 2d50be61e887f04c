/**
 * The prediction API's internals in the twin, through the deployed bundles:
 * - the shadow hand-off: the predict function hands a shadow's copy of each request to the shadow
 *   function through Lambda's Invoke API (`InvocationType: Event`, served by the twin on loopback),
 *   and answers without waiting for the shadow's scoring;
 * - idempotent retries: an Idempotency-Key sent to the twin's API is answered once, through the
 *   idempotency table the templates declare.
 */
import { InvokeCommand, LambdaClient, ResourceNotFoundException } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackOutputs } from '../../contracts/outputs.ts';
import type { TwinApiKey } from '../../contracts/twin-api.ts';
import type { PredictionRecord } from '../../core/prediction-log.ts';
import { clientConfig, makeDocumentClient } from '../../lambdas/shared/adapters/aws/clients.ts';
import { DynamoPredictionLogReader } from '../../lambdas/shared/adapters/aws/dynamo-prediction-log-reader.ts';
import { seedVersion } from '../support/fixtures.ts';
import { applicant, predictEvent } from '../support/requests.ts';
import { serveTwin, startTestTwin, type TestTwin } from '../support/twin.ts';

/** How long the shadow takes before it starts scoring, in the test that slows it down. */
const SHADOW_DELAY_MS = 2_000;

describe('the shadow hand-off and idempotent retries through the twin', () => {
  let t: TestTwin;
  let log: DynamoPredictionLogReader;
  let predictArn: string;
  let shadowArn: string;

  beforeAll(async () => {
    t = await startTestTwin();
    const { twin, lake, registry } = t;
    for (const [n, leaves] of [
      [1, { leftLeaf: 1, rightLeaf: -1 }],
      [2, { leftLeaf: -2, rightLeaf: 2 }],
    ] as const) {
      const { version } = await seedVersion(lake, n, leaves);
      await registry.putVersion({ ...version, status: 'Approved' });
    }
    await registry.moveAlias('credit', undefined, { current: 1, history: [] });
    await registry.startShadow('credit', 1, 2);
    log = new DynamoPredictionLogReader(
      makeDocumentClient(twin.clientTarget()),
      twin.resolver.output(stackOutputs.predictionLogTableName)!,
    );
    predictArn = twin.apiFunctionArn();
    shadowArn = twin.functionArnByService('shadow')!;
  });
  afterAll(async () => t.twin.stop());

  async function rowsOf(requestId: string): Promise<PredictionRecord[]> {
    const rows: PredictionRecord[] = [];
    const now = Date.now();
    for await (const page of log.pages('credit', new Date(now - 3_600_000), new Date(now + 60_000)))
      rows.push(...page.filter((r) => r.requestId === requestId));
    return rows;
  }

  async function predict(instances: unknown[]) {
    const started = performance.now();
    const res = (await t.twin.invoke(predictArn, predictEvent(instances))) as {
      statusCode: number;
      body: string;
    };
    return { res, ms: performance.now() - started, requestId: JSON.parse(res.body).requestId as string };
  }

  it('GIVEN a model with a shadow WHEN a request is answered THEN the shadow function scores the copy with its own version and logs it with the route shadow', async () => {
    const { res, requestId } = await predict([applicant, { ...applicant, Seniority: 2 }]);
    expect(res.statusCode, res.body).toBe(200);
    expect(JSON.parse(res.body).modelVersion).toBe('1');
    await t.twin.settle();
    const rows = await rowsOf(requestId);
    expect(rows.filter((r) => r.route === 'production').map((r) => r.modelVersion)).toEqual([1, 1]);
    const shadow = rows.filter((r) => r.route === 'shadow').sort((a, b) => a.index - b.index);
    expect(shadow.map((r) => [r.index, r.modelVersion, r.variant])).toEqual([
      [0, 2, 'v2'],
      [1, 2, 'v2'],
    ]);
    // Version 2's leaves: Seniority 9 goes right (+2), 2 goes left (-2).
    expect(shadow[0]!.score).toBeCloseTo(1 / (1 + Math.exp(-2)), 6);
    expect(shadow[1]!.score).toBeCloseTo(1 / (1 + Math.exp(2)), 6);
    // The shadow ran as its own function, invoked once.
    const invocations = t.twin.metrics
      .all()
      .filter(
        (p) =>
          p.namespace === 'AWS/Lambda' &&
          p.name === 'Invocations' &&
          p.dimensions.FunctionName === shadowArn.split(':').at(-1),
      );
    expect(invocations.length).toBeGreaterThanOrEqual(1);
  });

  it('GIVEN a shadow that takes two seconds WHEN a request is answered THEN the answer does not wait for it, and the shadow rows arrive after the answer', async () => {
    // Warm predict and the shadow, so that the timed request measures neither's cold start.
    await predict([applicant]);
    await t.twin.settle();
    const invoke = t.twin.invoke.bind(t.twin);
    t.twin.invoke = async (arn, event) => {
      if (arn === shadowArn) await new Promise((r) => setTimeout(r, SHADOW_DELAY_MS));
      return invoke(arn, event);
    };
    try {
      const { res, ms, requestId } = await predict([applicant]);
      expect(res.statusCode, res.body).toBe(200);
      expect(ms).toBeLessThan(SHADOW_DELAY_MS / 2);
      const atAnswer = await rowsOf(requestId);
      expect(atAnswer.map((r) => r.route)).toEqual(['production']);
      await t.twin.settle();
      const later = await rowsOf(requestId);
      expect(later.map((r) => r.route).sort()).toEqual(['production', 'shadow']);
    } finally {
      t.twin.invoke = invoke;
    }
  });

  it("GIVEN the twin's Lambda API WHEN a function is invoked by an SDK client THEN it answers as Lambda does: the result, the function's error, or ResourceNotFoundException", async () => {
    const lambda = new LambdaClient(clientConfig('lambda', t.twin.clientTarget()));
    try {
      const refused = await lambda.send(
        new InvokeCommand({
          FunctionName: shadowArn,
          Payload: new TextEncoder().encode(JSON.stringify({ model: 'credit' })),
        }),
      );
      expect(refused.StatusCode).toBe(200);
      expect(refused.FunctionError).toBe('Unhandled');
      expect(JSON.parse(new TextDecoder().decode(refused.Payload))).toMatchObject({
        errorType: 'InvalidShadowCopy',
        errorMessage: expect.stringContaining('version'),
      });
      const queued = await lambda.send(
        new InvokeCommand({
          FunctionName: shadowArn.split(':').at(-1),
          InvocationType: 'Event',
          Payload: new TextEncoder().encode(JSON.stringify({ model: 'credit' })),
        }),
      );
      expect(queued.StatusCode).toBe(202);
      await expect(
        lambda.send(new InvokeCommand({ FunctionName: 'no-such-function', InvocationType: 'Event' })),
      ).rejects.toBeInstanceOf(ResourceNotFoundException);
    } finally {
      lambda.destroy();
    }
  });

  it("GIVEN the twin's API WHEN a request with an Idempotency-Key is retried THEN the retry gets the first answer, and one set of rows is logged", async () => {
    const api = await serveTwin(t.twin);
    try {
      const [client] = (await (await fetch(`${api.url}/_twin/keys`)).json()) as TwinApiKey[];
      const send = (body: unknown) =>
        fetch(`${api.url}/v1/predict`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'idempotency-key': 'twin-order-1',
            'x-api-key': client!.key,
          },
          body: JSON.stringify(body),
        });
      const first = await send({ instances: [applicant] });
      const firstBody = await first.text();
      expect(first.status, firstBody).toBe(200);
      const retry = await send({ instances: [applicant] });
      expect(retry.status).toBe(200);
      expect(retry.headers.get('idempotent-replayed')).toBe('true');
      expect(await retry.text()).toBe(firstBody);
      const reused = await send({ instances: [{ ...applicant, Age: 44 }] });
      expect(reused.status).toBe(422);
      expect(await reused.json()).toMatchObject({ error: 'IdempotencyKeyReused' });
      await t.twin.settle();
      const rows = await rowsOf(JSON.parse(firstBody).requestId);
      expect(rows.map((r) => r.route).sort()).toEqual(['production', 'shadow']);
    } finally {
      await api.close();
    }
  });
});
