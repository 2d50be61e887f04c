/**
 * `kill -9` of the twin where a crash would hurt, then a twin started again on the same state
 * directory: while a training registers its version, and while a promotion moves production
 * (after the alias moved, before the endpoint followed). After each restart: no version in
 * Production without its artifacts in the lake, the alias points at a registered version that is
 * the one Production version, the cut-off execution is FAILED (TwinStopped), the training lease is
 * free, and a new training and promotion succeed.
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

  it('GIVEN a promotion that moved the production alias and is syncing the endpoint WHEN the twin is killed with SIGKILL and started again THEN one Production version, the alias, with its artifacts; the promotion is FAILED (TwinStopped); it serves; a new training and promotion succeed', async () => {
    const running = child!;
    const target = await twinTarget(running.url);
    const { version: second } = await train(target, MODEL, { seed: 8 });
    void target
      .execute('promotion', { model: MODEL, version: second, force: true, reason: 'crash test' })
      .catch(() => {});
    const promotion = await untilRunningIn(running.url, 'promotion', 'SyncProductionWeights');
    await killTwin(running);
    child = undefined;

    twin = await startTwin({
      host: '127.0.0.1',
      port: 0,
      config,
      assemblyDir: inject('assemblyDir'),
      stateDir,
    });
    const restarted = await twinTarget(twin.url);
    const production = await assertConsistent(restarted, twin.url);
    expect(production, 'the alias moved before the kill').toBe(second);
    expect((await restarted.registry.requireVersion(MODEL, first)).status).toBe('Retired');
    const failed = await cutOff(twin.url);
    expect(failed.map((e) => [e.executionArn, e.status])).toContainEqual([promotion.executionArn, 'FAILED']);
    expect(await predictVersion(twin.url)).toBe(String(second));

    // A new run succeeds on the restarted twin.
    const { version: third } = await train(restarted, MODEL, { seed: 9 });
    expect(
      (await promote(restarted, MODEL, third, { force: true, reason: 'after the crash' })).promoted,
    ).toBe(true);
    expect(await assertConsistent(restarted, twin.url)).toBe(third);
    expect(await predictVersion(twin.url)).toBe(String(third));
  }, 300_000);
});
