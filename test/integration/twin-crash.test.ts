/**
 * `kill -9` of the twin where a crash would hurt, then a twin started again on the same state
 * directory: while a training registers its version, and while a promotion moves production
 * (after the alias moved, before the endpoint followed). After each restart: no version in
 * Production without its artifacts in the lake, the alias points at a registered version that is
 * the one Production version, no canary or shadow is left beside it, the cut-off execution is
 * FAILED (TwinStopped), the training lease is free, and a new training and promotion succeed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DEMO_DATA } from '../../cli/commands/demo.ts';
import { ingest } from '../../cli/commands/ingest.ts';
import { promote } from '../../cli/commands/promote.ts';
import { train, trainingInput } from '../../cli/commands/train.ts';
import { type RunningTwin, startTwin } from '../../cli/start-twin.ts';
import { type Target, twinTarget } from '../../cli/target.ts';
import type { ExecutionRecord, TwinApiKey } from '../../contracts/twin-api.ts';
import { TRAINING_LEASE } from '../../core/policy/lease.ts';
import { projectConfig } from '../../lib/config.ts';
import { TWIN_STOPPED_ERROR } from '../../local/twin-state.ts';
import { type ChildTwin, getJson, killTwin, startChildTwin, untilRunningIn } from '../support/child-twin.ts';
import { sampleRows } from '../support/requests.ts';

const MODEL = 'credit';
const config = projectConfig('test');

/** The keys in the lake of a version's artifacts, from their `s3://bucket/key` (or bare key) form. */
function artifactKeys(artifacts: Record<string, string | undefined>): string[] {
  return Object.values(artifacts)
    .filter((a): a is string => typeof a === 'string')
    .map((a) => a.replace(/^s3:\/\/[^/]+\//, ''));
}

/**
 * The invariants a crash must not break: exactly one Production version, the one the alias points
 * at, registered, with every artifact in the lake; each version in the alias history registered;
 * no execution left RUNNING; the training lease free. Returns the production version.
 */
async function assertConsistent(target: Target, url: string): Promise<number> {
  const alias = await target.registry.getAlias(MODEL);
  expect(alias, 'a production alias').toBeDefined();
  const versions = await target.registry.listVersions(MODEL);
  const production = versions.filter((v) => v.status === 'Production');
  expect(
    production.map((v) => v.version),
    'exactly one Production version: the alias',
  ).toEqual([alias!.current]);
  expect(alias!.canary, 'no canary left on the alias by a cut-off promotion').toBeUndefined();
  expect(alias!.shadow, 'no shadow left on the alias by a cut-off promotion').toBeUndefined();
  for (const v of [alias!.current, ...alias!.history]) {
    expect(
      await target.registry.getVersion(MODEL, v),
      `version ${v} the alias names is registered`,
    ).toBeDefined();
  }
  const keys = new Set(await target.lake.list(''));
  for (const v of production) {
    for (const key of artifactKeys(v.artifacts)) {
      expect(keys.has(key), `v${v.version}'s artifact ${key} in the lake`).toBe(true);
    }
  }
  const executions = await getJson<ExecutionRecord[]>(`${url}/_twin/executions`);
  expect(
    executions.filter((e) => e.status === 'RUNNING'),
    'no execution left running',
  ).toEqual([]);
  expect(await target.leases.get(MODEL, TRAINING_LEASE), 'the training lease is free').toBeUndefined();
  return alias!.current;
}

/** Scores a few rows through the prediction API; returns the version that answered. */
async function predictVersion(url: string): Promise<string> {
  const [client] = await getJson<TwinApiKey[]>(`${url}/_twin/keys`);
  const res = await fetch(`${url}/v1/models/${MODEL}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': client!.key },
    body: JSON.stringify({ instances: sampleRows(5) }),
  });
  const body = (await res.json()) as { modelVersion: string };
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body.modelVersion;
}

/** The executions the kill cut off, as the restarted twin lists them. */
async function cutOff(url: string): Promise<ExecutionRecord[]> {
  const executions = await getJson<ExecutionRecord[]>(`${url}/_twin/executions`);
  return executions.filter((e) => e.error === TWIN_STOPPED_ERROR);
}

describe('kill -9 of the twin during training and promotion', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'mlops-twin-crash-'));
  let child: ChildTwin | undefined;
  let twin: RunningTwin | undefined;
  /** The version in production before the kills. */
  let first: number;

  beforeAll(async () => {
    child = await startChildTwin(stateDir);
    const target = await twinTarget(child.url);
    await ingest(target, config.models.find((m) => m.name === MODEL)!, DEMO_DATA);
    ({ version: first } = await train(target, MODEL, { seed: 42 }));
    expect((await promote(target, MODEL, first)).promoted).toBe(true);
  }, 300_000);

  afterAll(async () => {
    if (child) await killTwin(child);
    await twin?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('GIVEN a training in its Register step WHEN the twin is killed with SIGKILL and started again THEN production is untouched and consistent, the training is FAILED (TwinStopped), and its version, if registered, has its artifacts', async () => {
    const running = child!;
    const target = await twinTarget(running.url);
    void target.execute('training', trainingInput(MODEL, { seed: 7 })).catch(() => {});
    const training = await untilRunningIn(running.url, 'training', 'Register');
    await killTwin(running);
    child = undefined;

    child = await startChildTwin(stateDir);
    const restarted = await twinTarget(child.url);
    expect(await assertConsistent(restarted, child.url)).toBe(first);
    expect(await predictVersion(child.url)).toBe(String(first));
    const failed = await cutOff(child.url);
    expect(failed.map((e) => [e.executionArn, e.status])).toEqual([[training.executionArn, 'FAILED']]);
    // A version the cut-off training registered is a complete record: its artifacts are in the lake.
    const keys = new Set(await restarted.lake.list(''));
    for (const v of await restarted.registry.listVersions(MODEL)) {
      for (const key of artifactKeys(v.artifacts)) expect(keys.has(key), `v${v.version}: ${key}`).toBe(true);
    }
  }, 240_000);

  /**
   * Trains a version on the running child twin, starts its (forced) promotion, kills the twin when
   * `cut` resolves, and starts the twin again: the child if `next` is 'child', else in this process.
   */
  async function promoteAndKill(
    seed: number,
    cut: (url: string, target: Target, version: number) => Promise<ExecutionRecord>,
    next: 'child' | 'in-process',
  ): Promise<{ version: number; before: number; promotion: ExecutionRecord; target: Target; url: string }> {
    const running = child!;
    const target = await twinTarget(running.url);
    const before = (await target.registry.getAlias(MODEL))!.current;
    const { version } = await train(target, MODEL, { seed });
    void target
      .execute('promotion', { model: MODEL, version, force: true, reason: 'crash test' })
      .catch(() => {});
    const promotion = await cut(running.url, target, version);
    await killTwin(running);
    child = undefined;
    if (next === 'child') {
      child = await startChildTwin(stateDir);
      return { version, before, promotion, target: await twinTarget(child.url), url: child.url };
    }
    twin = await startTwin({
      host: '127.0.0.1',
      port: 0,
      config,
      assemblyDir: inject('assemblyDir'),
      stateDir,
    });
    return { version, before, promotion, target: await twinTarget(twin.url), url: twin.url };
  }

  /** The promotion's record on the restarted twin: FAILED, cut off by the stop. */
  async function expectCutOff(url: string, promotion: ExecutionRecord): Promise<void> {
    const [record] = (await cutOff(url)).filter((e) => e.executionArn === promotion.executionArn);
    expect(record?.status, 'the promotion the kill cut off is FAILED (TwinStopped)').toBe('FAILED');
  }

  it('GIVEN a promotion entering SetProductionAlias WHEN the twin is killed with SIGKILL and started again THEN one Production version (the old or the new one), the alias, with its artifacts; the promotion is FAILED (TwinStopped); it serves', async () => {
    const { version, before, promotion, target, url } = await promoteAndKill(
      8,
      (u) => untilRunningIn(u, 'promotion', 'SetProductionAlias'),
      'child',
    );
    const production = await assertConsistent(target, url);
    await expectCutOff(url, promotion);
    console.log(
      `twin crash: killed on entering SetProductionAlias; production v${production} (v${before} before, v${version} promoted)`,
    );
    // Before the alias moved, production stays and the candidate is still Approved; after, the candidate is production and the old one Retired.
    expect([before, version]).toContain(production);
    const other = production === version ? before : version;
    expect((await target.registry.requireVersion(MODEL, other)).status).toBe(
      production === version ? 'Retired' : 'Approved',
    );
    expect(await predictVersion(url)).toBe(String(production));
  }, 300_000);

  it('GIVEN a promotion that has just moved the production alias WHEN the twin is killed with SIGKILL before the endpoint follows and started again THEN the new version is the one Production version, with its artifacts, the old one Retired; the promotion is FAILED (TwinStopped); it serves; a new training and promotion succeed', async () => {
    const { version, before, promotion, target, url } = await promoteAndKill(
      9,
      async (u, t, v) => {
        const record = await untilRunningIn(u, 'promotion', 'SetProductionAlias');
        // As fast as the registry answers: the kill lands right after the alias write.
        const deadline = Date.now() + 60_000;
        while ((await t.registry.getAlias(MODEL))?.current !== v) {
          if (Date.now() > deadline) throw new Error(`the alias never moved to v${v}`);
        }
        return record;
      },
      'in-process',
    );
    expect(await assertConsistent(target, url)).toBe(version);
    expect((await target.registry.requireVersion(MODEL, before)).status).toBe('Retired');
    await expectCutOff(url, promotion);
    expect(await predictVersion(url)).toBe(String(version));

    // A new run succeeds on the restarted twin.
    const { version: next } = await train(target, MODEL, { seed: 10 });
    expect((await promote(target, MODEL, next, { force: true, reason: 'after the crash' })).promoted).toBe(
      true,
    );
    expect(await assertConsistent(target, url)).toBe(next);
    expect(await predictVersion(url)).toBe(String(next));
  }, 300_000);
});
