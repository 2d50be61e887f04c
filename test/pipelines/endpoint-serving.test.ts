/**
 * Serving mode `endpoint`, run locally: the app synthesized with SageMaker endpoint serving, its
 * promotion and rollback pipelines run from the synthesized ASL against the twin's local endpoint
 * service, and the predict function invoking the variant of the version it routes to.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PRODUCTION_ALIAS_TTL_MS } from '../../contracts/serving.ts';
import { buildConfig, loadModels } from '../../lib/config.ts';
import { MODELS_DIR } from '../../lib/paths.ts';
import { synthesize } from '../../lib/synth.ts';
import type { LocalTwin } from '../../local/twin.ts';
import { creditJson, freshModel, givenCandidate, givenProduction } from '../support/pipeline-fixtures.ts';
import { predictEvent, sampleRows } from '../support/requests.ts';
import { startTestTwin, type TestTwin } from '../support/twin.ts';
import { until } from '../support/until.ts';

/** The endpoint the pipelines create for a model in stage `endpoint`. */
const endpointOf = (model: string) => `mlops-endpoint-${model}`;

// Each test has a model of its own, so an endpoint of its own (see test/support/pipeline-fixtures.ts):
// it passes alone and in any order.
describe('serving mode endpoint: one variant per version, canary by variant weights, verified', () => {
  let dir: string;
  let t: TestTwin;
  let twin: LocalTwin;
  const base = creditJson;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mlops-endpoint-assembly-'));
    synthesize(
      dir,
      buildConfig({ stage: 'endpoint', serving: { mode: 'endpoint' } }, loadModels(MODELS_DIR)),
    );
    t = await startTestTwin(dir);
    twin = t.twin;
  }, 240_000);
  afterEach(() => {
    if (twin) twin.waitMs = {};
  });
  afterAll(async () => {
    await twin?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function predict(
    model: string,
    n = 20,
  ): Promise<{ status: number; version: string; variant: string }> {
    const res = (await twin.invoke(twin.apiFunctionArn(), predictEvent(sampleRows(n), model))) as {
      statusCode: number;
      body: string;
      headers: Record<string, string>;
    };
    return {
      status: res.statusCode,
      version: JSON.parse(res.body).modelVersion,
      variant: res.headers['x-model-variant'] ?? '',
    };
  }

  /** A canary at 50% with short bakes, judged once both sides served 20 predictions. */
  const halfCanary = (more: Record<string, unknown> = {}) => ({
    ...base,
    promotion: {
      approval: 'manual',
      canary: {
        weight: 0.5,
        bakeSeconds: 1,
        minSamples: 20,
        maxBakes: 100,
        maxScorePsi: 1,
        latencySlackMs: 5000,
        ...more,
      },
    },
  });

  const weights = (model: string) =>
    Object.fromEntries(
      twin.sagemaker
        .describe(endpointOf(model))
        .ProductionVariants.map((v) => [v.VariantName, v.CurrentWeight]),
    );

  it('creates the endpoint with the first version as its only variant, and serves through it', async () => {
    const model = freshModel();
    const v1 = await givenCandidate(t, model);
    const run = await twin.execute('promotion', { model, version: v1 });
    expect(run.status, JSON.stringify(run.taskError)).toBe('SUCCEEDED');
    // The pipeline waited for the endpoint and verified it: in service with exactly the planned variant.
    expect(run.states).toContain('WaitForEndpoint');
    expect(twin.sagemaker.describe(endpointOf(model)).EndpointStatus).toBe('InService');
    expect(weights(model)).toEqual({ v1: 1 });
    const res = await predict(model);
    expect(res).toEqual({ status: 200, version: '1', variant: 'v1' });
    expect(twin.sagemaker.variantStats(endpointOf(model)).v1).toMatchObject({
      invocations: 1,
      rows: 20,
      errors: 0,
    });
  });

  it('runs the canary as a second variant with the canary weight, steps it up, then shifts all traffic and keeps the incumbent warm', async () => {
    const model = freshModel();
    await givenProduction(t, model);
    const v2 = await givenCandidate(t, model, { definition: halfCanary({ steps: 2 }), seed: 7 });
    twin.waitMs.Bake = 300;
    const promotion = twin.execute('promotion', { model, version: v2 });
    // The canary weight is on the endpoint, verified, before the bake starts.
    await until(() => weights(model).v2 === 0.5, 'the canary weight on the endpoint');
    expect(weights(model)).toEqual({ v1: 0.5, v2: 0.5 });
    const served = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const res = await predict(model);
      expect(res.status).toBe(200);
      expect(res.variant).toBe(`v${res.version}`);
      served.add(res.variant);
    }
    const run = await promotion;
    expect(run.status, JSON.stringify(run.taskError)).toBe('SUCCEEDED');
    expect(served).toEqual(new Set(['v1', 'v2']));
    const stats = twin.sagemaker.variantStats(endpointOf(model));
    expect(stats.v2!.invocations).toBeGreaterThan(0);
    expect(stats.v1!.invocations).toBeGreaterThan(1);
    // Healthy at 50%, the canary stepped to 75% (verified on the endpoint) before taking all traffic.
    expect(run.states.filter((x) => x === 'StepCanary')).toHaveLength(1);
    const steps = (await t.registry.listAudit(model)).filter((e) => e.action === 'CanaryStepped');
    expect(steps.map((e) => e.detail.weight)).toEqual([0.75]);
    // v1 stays deployed at weight 0 for the warm window, so a rollback is a weight shift.
    expect(weights(model)).toEqual({ v1: 0, v2: 1 });
    expect((await t.registry.getAlias(model))?.current).toBe(v2);
    // The warm predict instance that served the canary keeps the alias it read for its time to live.
    await new Promise((resolve) => setTimeout(resolve, PRODUCTION_ALIAS_TTL_MS + 100));
    expect(await predict(model)).toEqual({ status: 200, version: '2', variant: 'v2' });
  });

  it('rolls back inside the warm window without waiting for a deploy, then takes the bad version off the endpoint', async () => {
    // v2 promoted after v1 through a canary: v1 stays deployed at weight 0 for the warm window.
    const model = freshModel();
    await givenProduction(t, model, { versions: 2 });
    const run = await twin.execute('rollback', { model, reason: 'test' });
    expect(run.status, JSON.stringify(run.taskError)).toBe('SUCCEEDED');
    // v1 was still deployed: the endpoint was already ready for the alias to move back (the nested
    // endpoint sync called once, no wait, no redeploy).
    const beforeAlias = run.states.slice(0, run.states.indexOf('RollbackAlias'));
    expect(beforeAlias).toEqual([
      'DecideRollback',
      'Decision?',
      'SyncRollbackTarget',
      'SyncEndpoint',
      'EndpointReady?',
      'InService',
      'RollbackTargetReady?',
    ]);
    // Afterwards the rolled-back version leaves the endpoint.
    expect(weights(model)).toEqual({ v1: 1 });
    expect(await predict(model)).toEqual({ status: 200, version: '1', variant: 'v1' });
  });

  it('rolls back a canary whose variant fails, takes its variant off the endpoint, and production keeps serving', async () => {
    const model = freshModel();
    await givenProduction(t, model);
    const canary = await givenCandidate(t, model, { definition: halfCanary(), seed: 7 });
    twin.waitMs.Bake = 300;
    const promotion = twin.execute('promotion', { model, version: canary });
    await until(() => weights(model)[`v${canary}`] === 0.5, 'the canary weight on the endpoint');
    twin.sagemaker.injectFault(endpointOf(model), `v${canary}`, 'error');
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await predict(model)).status);
    const run = await promotion;
    expect(statuses).toContain(503);
    expect(statuses).toContain(200);
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('CanaryRolledBack');
    expect(twin.notifications.at(-1)?.message).toMatch(
      new RegExp(`v${canary} failed \\d+ of \\d+ predictions`),
    );
    expect(twin.sagemaker.variantStats(endpointOf(model))[`v${canary}`]!.errors).toBeGreaterThan(0);
    expect(Object.keys(weights(model))).not.toContain(`v${canary}`);
    expect(weights(model).v1).toBe(1);
    expect((await t.registry.requireVersion(model, canary)).status).toBe('RolledBack');
    // The function's instance keeps the alias it read during the canary for up to its TTL.
    await new Promise((resolve) => setTimeout(resolve, PRODUCTION_ALIAS_TTL_MS + 100));
    expect((await predict(model)).status).toBe(200);
  });

  it('shadows production before going live: the candidate scores copies on its own variant, answers nobody, and the agreement is recorded', async () => {
    const model = freshModel();
    await givenProduction(t, model);
    const production = (await t.registry.getAlias(model))!.current;
    const v = await givenCandidate(t, model, {
      definition: {
        ...base,
        promotion: {
          approval: 'manual',
          canary: { weight: 0 },
          shadow: { bakeSeconds: 1, minSamples: 20, maxBakes: 100 },
        },
      },
      seed: 7,
    });
    twin.waitMs.ShadowBake = 300;
    const promotion = twin.execute('promotion', { model, version: v });
    await until(async () => (await t.registry.getAlias(model))?.shadow !== undefined, 'the shadow to start');
    expect((await t.registry.getAlias(model))?.shadow?.version).toBe(v);
    // One request of 20 instances: production answers it, and the shadow's 20 copies are enough to judge.
    expect(await predict(model)).toEqual({
      status: 200,
      version: String(production),
      variant: `v${production}`,
    });
    const run = await promotion;
    expect(run.status, JSON.stringify(run.taskError)).toBe('SUCCEEDED');
    expect(run.states).toContain('CheckShadow');
    // The shadow's scores came from its own (zero-weight) variant.
    expect(twin.sagemaker.variantStats(endpointOf(model))[`v${v}`]!.invocations).toBeGreaterThan(0);
    const ended = (await t.registry.listAudit(model)).find(
      (e) => e.action === 'ShadowEnded' && e.version === v,
    );
    expect(ended?.detail).toMatchObject({ verdict: 'agree', shadowErrors: 0 });
    expect(ended?.detail.pairs as number).toBeGreaterThanOrEqual(20);
    expect(ended?.detail.agreement as number).toBeGreaterThan(0.8);
    expect(ended?.detail.summary as string).toMatch(/labels agree on \d+\.\d% of \d+ predictions/);
    expect((await t.registry.getAlias(model))?.current).toBe(v);
  });

  it('fails a candidate whose variant cannot go into service, leaves the endpoint as it was, and tells operators', async () => {
    const model = freshModel();
    await givenProduction(t, model);
    const production = (await t.registry.getAlias(model))!.current;
    const before = twin.sagemaker.describe(endpointOf(model)).EndpointConfigName;
    const v = await givenCandidate(t, model, { seed: 7 });
    const version = await t.registry.requireVersion(model, v);
    // The serving container could not load this model: SageMaker rolls the update back.
    await t.lake.put(version.artifacts.modelTarball, 'not a model tarball');
    const run = await twin.execute('promotion', { model, version: v });
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('PromotionFailed');
    expect(run.taskError).toMatchObject({ state: 'SyncEndpoint', error: 'EndpointFailed' });
    expect(run.states).toContain('CleanUpEndpoint');
    expect((await t.registry.requireVersion(model, v)).status).toBe('Failed');
    expect((await t.registry.getAlias(model))?.current).toBe(production);
    expect(twin.sagemaker.describe(endpointOf(model)).EndpointConfigName).toBe(before);
    expect(twin.notifications.at(-1)?.subject).toBe('Promotion failed');
    expect(twin.notifications.at(-1)?.message).toMatch(
      /failed with EndpointFailed: .*rolled back the update/,
    );
    expect(await predict(model)).toEqual({
      status: 200,
      version: String(production),
      variant: `v${production}`,
    });
  });
});
