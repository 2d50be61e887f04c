/**
 * The twin on a state directory, across restarts: a model trained and promoted in one twin serves
 * from the next one started on the same directory, with the same lineage, and the prediction log
 * keeps its rows, whether the first twin was stopped or killed outright (`kill -9` of the process
 * running `mlops local up`). An execution the kill cut off is listed as failed, never as running,
 * and the training lease it held is free again. A client's API key keeps working across restarts,
 * and a key the templates no longer define is dropped from the state directory.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DEMO_DATA } from '../../cli/commands/demo.ts';
import { ingest } from '../../cli/commands/ingest.ts';
import { promote } from '../../cli/commands/promote.ts';
import { train, trainingInput } from '../../cli/commands/train.ts';
import { type RunningTwin, startTwin } from '../../cli/start-twin.ts';
import { type Target, twinTarget } from '../../cli/target.ts';
import type { ExecutionRecord, TwinApiKey } from '../../contracts/twin-api.ts';
import { TRAINING_LEASE } from '../../core/policy/lease.ts';
import type { ModelVersion } from '../../core/registry/model.ts';
import { projectConfig } from '../../lib/config.ts';
import { TWIN_STOPPED_ERROR } from '../../local/twin-state.ts';
import { getJson, startChildTwin } from '../support/child-twin.ts';
import { sampleRows } from '../support/requests.ts';
import { startTestTwin } from '../support/twin.ts';
import { until } from '../support/until.ts';

const MODEL = 'credit';
const config = projectConfig('test');
const instances = sampleRows(20);

/** The value of the API key of the twin's first client. */
async function clientKey(url: string): Promise<string> {
  const [client] = await getJson<TwinApiKey[]>(`${url}/_twin/keys`);
  return client!.key;
}

/** Asks the model at `url` to score the instances, sending `key` as the API key. */
function postPredict(url: string, key: string): Promise<Response> {
  return fetch(`${url}/v1/models/${MODEL}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': key },
    body: JSON.stringify({ instances }),
  });
}

/**
 * Asks the twin at `url` to score the instances, with `key` or the key the twin lists for its
 * client; returns the answer's version and scores.
 */
async function predict(
  url: string,
  key?: string,
): Promise<{ version: string; predictions: unknown; requestId: string }> {
  const res = await postPredict(url, key ?? (await clientKey(url)));
  const body = (await res.json()) as { modelVersion: string; predictions: unknown; requestId: string };
  expect(res.status, JSON.stringify(body)).toBe(200);
  return { version: body.modelVersion, predictions: body.predictions, requestId: body.requestId };
}

/** The request ids of the model's rows in the prediction log since `from`. */
async function loggedRequests(target: Target, from: Date): Promise<Set<string>> {
  const rows = await target.readPredictions(MODEL, from, new Date(Date.now() + 60_000));
  return new Set(rows.map((r) => r.requestId));
}

describe('the twin on a state directory', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'mlops-twin-state-'));
  const since = new Date(Date.now() - 60_000);
  let twin: RunningTwin | undefined;
  let child: ChildProcess | undefined;
  let version: number;
  let lineage: ModelVersion;
  let served: { version: string; predictions: unknown; requestId: string };
  /** The API key the client had from the first twin. */
  let key: string;
  const keysFile = join(stateDir, 'api-keys.json');

  const start = () =>
    startTwin({ host: '127.0.0.1', port: 0, config, assemblyDir: inject('assemblyDir'), stateDir });

  beforeAll(async () => {
    twin = await start();
    const target = await twinTarget(twin.url);
    await ingest(target, config.models.find((m) => m.name === MODEL)!, DEMO_DATA);
    ({ version } = await train(target, MODEL, { seed: 42 }));
    expect((await promote(target, MODEL, version)).promoted).toBe(true);
    lineage = (await target.registry.getVersion(MODEL, version))!;
    key = await clientKey(twin.url);
    served = await predict(twin.url, key);
    expect(served.version).toBe(String(version));
    await until(
      async () => (await loggedRequests(target, since)).has(served.requestId),
      'the prediction in the log',
    );
  }, 240_000);

  afterAll(async () => {
    child?.kill('SIGKILL');
    await twin?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('GIVEN a model trained and promoted WHEN the twin stops and another starts on its state directory THEN the same version serves with its lineage, the log keeps its rows and the client key still works', async () => {
    await twin!.stop();
    twin = undefined;
    expect(existsSync(join(stateDir, 'tables')), 'the tables stay on disk after a stop').toBe(true);
    expect(statSync(keysFile).mode & 0o777, 'the key values are readable by their owner only').toBe(0o600);
    // A key an earlier version of the templates defined, which they no longer do.
    const kept = JSON.parse(readFileSync(keysFile, 'utf8')) as { keys: { id: string; value: string }[] };
    expect(kept.keys.map((k) => k.value)).toEqual([key]);
    const gone = { id: 'retiredkey0', name: 'mlops-test--client-retired', value: 'R'.repeat(40) };
    writeFileSync(keysFile, JSON.stringify({ keys: [...kept.keys, gone] }));

    twin = await start();
    const target = await twinTarget(twin.url);
    expect(await target.registry.getVersion(MODEL, version)).toEqual(lineage);
    expect((await target.registry.getAlias(MODEL))?.current).toBe(version);
    expect(await clientKey(twin.url), "the client's key is the one it had").toBe(key);
    const again = await predict(twin.url, key);
    expect(again.version).toBe(String(version));
    expect(again.predictions).toEqual(served.predictions);
    expect(await loggedRequests(target, since)).toContain(served.requestId);
    const executions = await getJson<ExecutionRecord[]>(`${twin.url}/_twin/executions`);
    expect(
      executions
        .filter((e) => e.stateMachine === 'training' || e.stateMachine === 'promotion')
        .map((e) => e.status),
      'the earlier executions, listed as they ended',
    ).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(twin.resumed.executions).toBe(executions.length);
    // The retired key is refused and no longer kept.
    expect((await postPredict(twin.url, gone.value)).status).toBe(403);
    const keptAfter = JSON.parse(readFileSync(keysFile, 'utf8')) as { keys: { id: string }[] };
    expect(keptAfter.keys.map((k) => k.id)).not.toContain(gone.id);
    expect(keptAfter.keys).toHaveLength(1);
    await twin.stop();
    twin = undefined;
  }, 120_000);

  it('GIVEN a twin process serving and training on the state directory WHEN it is killed with SIGKILL and a twin starts on it again THEN the version serves with its lineage, the log keeps every row, and the cut-off execution is FAILED', async () => {
    const running = await startChildTwin(stateDir);
    child = running.child;
    const killed = await twinTarget(running.url);
    // A row the killed process wrote, and a training it was running.
    const last = await predict(running.url, key);
    expect(last.version).toBe(String(version));
    await until(async () => (await loggedRequests(killed, since)).has(last.requestId), 'the row in the log');
    void killed.execute('training', trainingInput(MODEL, { seed: 7 })).catch(() => {});
    let training: ExecutionRecord | undefined;
    await until(
      async () => {
        const all = await getJson<ExecutionRecord[]>(`${running.url}/_twin/executions`);
        training = all.find((e) => e.status === 'RUNNING' && e.stateMachine === 'training');
        return training?.states.includes('Train') ?? false;
      },
      'a training execution in its Train state',
      60_000,
    );
    expect((await killed.leases.get(MODEL, TRAINING_LEASE))?.holder).toBe(training!.executionArn);
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    child = undefined;

    twin = await start();
    const target = await twinTarget(twin.url);
    expect(await target.registry.getVersion(MODEL, version)).toEqual(lineage);
    expect((await target.registry.getAlias(MODEL))?.current).toBe(version);
    const again = await predict(twin.url, key);
    expect(again.version).toBe(String(version));
    expect(again.predictions).toEqual(served.predictions);
    const logged = await loggedRequests(target, since);
    expect(logged).toContain(served.requestId);
    expect(logged).toContain(last.requestId);

    const executions = await getJson<ExecutionRecord[]>(`${twin.url}/_twin/executions`);
    expect(
      executions.filter((e) => e.status === 'RUNNING'),
      'no execution left running',
    ).toEqual([]);
    const cutOff = executions.filter((e) => e.error === TWIN_STOPPED_ERROR);
    expect(cutOff.map((e) => [e.stateMachine, e.status, (e.input as { seed?: number }).seed])).toEqual([
      ['training', 'FAILED', 7],
    ]);
    expect(cutOff[0]!.cause).toMatch(/twin stopped while this execution was running/);
    expect(twin.resumed.cutOff).toBe(1);
    expect(
      await target.leases.get(MODEL, TRAINING_LEASE),
      'the training lease the cut-off execution held is free',
    ).toBeUndefined();
  }, 180_000);

  it('GIVEN `mlops local up --reset` on a twin state WHEN it is interrupted (Ctrl-C) THEN it started empty, and it stops cleanly: exit 0, the state directory released', async () => {
    await twin?.stop();
    twin = undefined;
    const running = await startChildTwin(stateDir, ['--reset']);
    child = running.child;
    expect(running.output()).toContain(`removed the twin's state in ${stateDir}`);
    const target = await twinTarget(running.url);
    expect(await target.registry.getVersion(MODEL, version), 'no version after a reset').toBeUndefined();
    expect(await clientKey(running.url), 'new key values after a reset').not.toBe(key);
    expect((await postPredict(running.url, key)).status).toBe(403);
    expect(await getJson<ExecutionRecord[]>(`${running.url}/_twin/executions`)).toEqual([]);

    const exited = new Promise<number | null>((resolve) => child!.once('exit', resolve));
    child.kill('SIGINT');
    expect(await exited, running.output()).toBe(0);
    child = undefined;
    expect(running.output()).toMatch(/stopping the twin[\s\S]*\n\s*stopped\n/);
    expect(existsSync(join(stateDir, 'twin.pid')), 'the state directory is released').toBe(false);
    expect(existsSync(join(stateDir, 'twin-state.json'))).toBe(true);
  }, 120_000);
});

describe('the twin without a state directory', () => {
  it('GIVEN a twin a library caller starts without a state directory WHEN it stops THEN its working directory is gone and the next twin starts empty', async () => {
    const first = await startTestTwin();
    const workDir = dirname(first.twin.logs.logFile);
    expect(first.twin.stateDirectory).toBeUndefined();
    expect(await first.registry.allocateVersion(MODEL)).toBe(1);
    expect(existsSync(workDir)).toBe(true);
    await first.twin.stop();
    expect(existsSync(workDir), 'the temporary working directory is removed').toBe(false);

    const second = await startTestTwin();
    try {
      expect(await second.registry.allocateVersion(MODEL), 'the registry starts empty').toBe(1);
      const values = (t: typeof first) => t.twin.apiKeys.keys().map((k) => k.value);
      expect(values(second)).toHaveLength(1);
      expect(values(second), 'new key values at each start').not.toEqual(values(first));
      expect(second.twin.executions).toEqual([]);
    } finally {
      await second.twin.stop();
    }
  });
});
