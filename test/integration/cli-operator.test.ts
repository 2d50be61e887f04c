/**
 * The operator's commands, `status`, `drift`, `rollback` and `train`, run in-process through the
 * CLI's own target selection (`--twin <url>`: health check, `/_twin/info`, SDK clients on the
 * services it names) against real dynalite and s3rver holding the registry, its audit trail, a
 * training lease and drift reports in the lake.
 *
 * The twin's control routes that belong to other parts of the platform (`GET /_twin/alarms`, the
 * drift job behind `POST /_twin/invoke`, the state machines behind `POST /_twin/executions`) are
 * answered here by a small server speaking their contract (contracts/twin-api.ts): it returns the
 * alarms, drift results and execution records a test sets, and records what the CLI sent. The e2e
 * run against the real twin checks the same commands against the real routes.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Command } from 'commander';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { register as registerDrift } from '../../cli/commands/drift.ts';
import { register as registerRollback } from '../../cli/commands/rollback.ts';
import { register as registerStatus } from '../../cli/commands/status.ts';
import { register as registerTrain } from '../../cli/commands/train.ts';
import { type CliContext, createContext } from '../../cli/context.ts';
import { CliError } from '../../cli/errors.ts';
import type { StatusReport } from '../../cli/status-report.ts';
import { alarmName } from '../../contracts/alarms.ts';
import { lakeKeys } from '../../contracts/lake.ts';
import type { ExecutionRecord, TwinAlarm } from '../../contracts/twin-api.ts';
import type { DriftJobResult, DriftReport } from '../../core/drift/types.ts';
import { systemClock } from '../../core/ports.ts';
import { ACTION_AUDIT, type ActionRecord } from '../../core/registry/model.ts';
import { DynamoLeases } from '../../lambdas/shared/adapters/aws/dynamo-leases.ts';
import { DynamoModelRegistry } from '../../lambdas/shared/adapters/aws/dynamo-registry.ts';
import type { S3ObjectStore } from '../../lambdas/shared/adapters/aws/s3-object-store.ts';
import { type LocalAws, standInTwinInfo, startLocalAws } from '../support/local-aws.ts';
import { versionRecord } from '../support/registry-records.ts';

const STAGE = createContext({}).config().stage;

let aws: LocalAws;
let lake: S3ObjectStore;
let registry: DynamoModelRegistry;
let server: Server;
let url: string;
let context: CliContext;

/** What the control routes answer, set by each test. */
const twin: {
  alarms: TwinAlarm[] | { status: number; body: unknown };
  drift: DriftJobResult[] | { status: number; body: unknown };
  execution: (
    input: unknown,
  ) => Omit<ExecutionRecord, 'executionArn' | 'stateMachineArn' | 'startedAt' | 'states'>;
  invoked: { service: string; payload: unknown }[];
  executed: { stateMachine: string; input: Record<string, unknown> }[];
} = {
  alarms: [],
  drift: [],
  execution: () => ({ stateMachine: 'x', status: 'FAILED', input: {} }),
  invoked: [],
  executed: [],
};

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => resolve(body));
  });
}

/** What the promotion pipeline's last steps write: the alias moves, the version enters production. */
async function promote(n: number, previous: number | undefined): Promise<void> {
  await registry.putVersion(versionRecord('credit', n));
  await registry.transition('credit', n, 'Approved');
  const alias = await registry.getAlias('credit');
  await registry.moveAlias('credit', previous, {
    current: n,
    history: alias ? [...alias.history, alias.current] : [],
    reason: 'promoted',
  });
  await registry.transition('credit', n, 'Production');
  if (previous !== undefined) await registry.transition('credit', previous, 'Retired');
}

function report(windowEnd: string, over: Partial<DriftReport> = {}): DriftReport {
  return {
    model: 'credit',
    version: 2,
    route: 'production',
    windowStart: new Date(Date.parse(windowEnd) - 600_000).toISOString(),
    windowEnd,
    samples: 640,
    minSamples: 100,
    status: 'judged',
    message: 'judged 640 rows of v2',
    thresholds: { psiWarn: 0.1, psiAlarm: 0.25, nullRateIncreaseAlarm: 0.1 },
    prediction: {
      psi: 0.31,
      js: 0.2,
      ks: 0.25,
      mean: 0.52,
      baselineMean: 0.35,
      meanShift: 0.17,
      level: 'alarm',
    },
    features: [
      {
        feature: 'Income',
        type: 'numeric',
        samples: 600,
        psi: 1.2,
        js: 0.5,
        ks: 0.55,
        nullRate: 0.06,
        baselineNullRate: 0.085,
        level: 'alarm',
      },
    ],
    summary: {
      maxFeaturePsi: 1.2,
      maxFeature: 'Income',
      maxNullRateIncrease: 0,
      maxUnseenShare: 0,
      level: 'alarm',
    },
    baselineKey: 'baselines/credit/s/baseline.json',
    reportKey: lakeKeys.driftReport('credit', windowEnd),
    ...over,
  };
}

function alarm(name: string, state: TwinAlarm['state'], history: TwinAlarm['history']): TwinAlarm {
  return {
    name,
    logicalId: 'A',
    state,
    since: history.at(-1)?.at ?? new Date().toISOString(),
    reason: history.at(-1)?.reason ?? 'Unchecked: Initial alarm creation',
    metric: {
      namespace: `Mlops/${STAGE}`,
      name: 'PredictionDrift',
      dimensions: { Model: 'credit' },
      statistic: 'Maximum',
    },
    periodSeconds: 60,
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
    threshold: 0.25,
    comparison: 'GreaterThanOrEqualToThreshold',
    treatMissingData: 'notBreaching',
    history,
  };
}

interface Run {
  stdout: string;
  error?: unknown;
  exitCode?: number | string | undefined;
}

/** Runs `mlops <args> --twin <url>` in-process, as bin/mlops.ts would, and captures what it printed. */
async function mlops(...args: string[]): Promise<Run> {
  const run: Run = { stdout: '' };
  const out = vi.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => {
    run.stdout += `${parts.join(' ')}\n`;
  });
  process.exitCode = undefined;
  try {
    const program = new Command().name('mlops').exitOverride();
    for (const register of [registerStatus, registerDrift, registerRollback, registerTrain])
      register(program, context);
    await program.parseAsync(['node', 'mlops', ...args, '--twin', url]);
  } catch (err) {
    run.error = err;
  } finally {
    out.mockRestore();
    run.exitCode = process.exitCode;
    process.exitCode = undefined;
  }
  return run;
}

beforeAll(async () => {
  aws = await startLocalAws();
  await aws.createTable('registry');
  lake = await aws.createBucket('lake');
  registry = new DynamoModelRegistry(aws.db, 'registry', systemClock);
  server = createServer(async (req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const answer = (scripted: unknown[] | { status: number; body: unknown }) =>
      Array.isArray(scripted) ? send(200, scripted) : send(scripted.status, scripted.body);
    if (req.url === '/_twin/health') return send(200, { ok: true });
    if (req.url === '/_twin/info') return send(200, standInTwinInfo(aws, url));
    if (req.url === '/_twin/alarms' && req.method === 'GET') return answer(twin.alarms);
    if (req.url === '/_twin/invoke' && req.method === 'POST') {
      const body = JSON.parse(await readBody(req)) as { service: string; payload: unknown };
      twin.invoked.push(body);
      if (body.service !== 'drift-job')
        return send(404, {
          error: 'UnknownFunction',
          message: `No function with service name ${body.service}`,
        });
      return answer(twin.drift);
    }
    if (req.url === '/_twin/executions' && req.method === 'POST') {
      const body = JSON.parse(await readBody(req)) as {
        stateMachine: string;
        input: Record<string, unknown>;
      };
      twin.executed.push(body);
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write(`${JSON.stringify({ event: { type: 'StateEntered', state: 'Decide' } })}\n`);
      const record = {
        executionArn: 'arn:exec',
        stateMachineArn: 'arn:sm',
        startedAt: new Date().toISOString(),
        states: ['Decide'],
        ...twin.execution(body.input),
      };
      return res.end(`${JSON.stringify({ record })}\n`);
    }
    send(404, { error: 'NotFound', message: `No route for ${req.method} ${req.url}` });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  context = createContext({ MLOPS_TWIN_URL: url });
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  await aws.stop();
});

afterEach(() => {
  twin.invoked = [];
  twin.executed = [];
});

describe('mlops status', () => {
  const drifted = alarmName(STAGE, 'prediction-drift', 'credit');
  let promotedAt: string;

  beforeAll(async () => {
    await promote(1, undefined);
    await promote(2, 1);
    promotedAt = (await registry.getAlias('credit'))!.updatedAt;
    // The alarm fired, then the policy acted on it.
    const firedAt = new Date(Date.now() - 1000).toISOString();
    const action = (detail: ActionRecord) =>
      registry.audit({ model: 'credit', action: ACTION_AUDIT, detail: { ...detail } });
    await action({
      kind: 'rollback',
      outcome: 'skipped',
      cause: 'v2 promoted outside the guard window',
      trigger: 'alarm',
      alarm: drifted,
    });
    await action({
      kind: 'retrain',
      outcome: 'started',
      cause: `alarm ${drifted}`,
      trigger: 'alarm',
      execution: 'arn:exec:t1',
    });
    await new DynamoLeases(aws.db, 'registry').acquire({
      model: 'credit',
      name: 'training',
      holder: 'arn:exec:t1',
      cause: `alarm ${drifted}`,
      since: new Date().toISOString(),
      until: new Date(Date.now() + 3600_000).toISOString(),
    });
    // Two windows' reports: the status summarizes the later one.
    await lake.put(
      lakeKeys.driftReport('credit', '2026-12-01T10:00:00.000Z'),
      JSON.stringify(report('2026-12-01T10:00:00.000Z', { samples: 1 })),
    );
    await lake.put(
      lakeKeys.driftReport('credit', '2026-12-01T10:10:00.000Z'),
      JSON.stringify(report('2026-12-01T10:10:00.000Z')),
    );
    const minute = (m: number) => new Date(Date.now() - m * 60_000).toISOString();
    twin.alarms = [
      alarm(drifted, 'ALARM', [
        { at: minute(10), from: 'INSUFFICIENT_DATA', to: 'OK', reason: 'fine' },
        { at: firedAt, from: 'OK', to: 'ALARM', reason: 'Threshold Crossed: 1 datapoint [0.31] >= 0.25' },
      ]),
      alarm(alarmName(STAGE, 'latency', 'credit'), 'OK', []),
      alarm(alarmName(STAGE, 'drift-job-errors'), 'OK', []),
      alarm(alarmName(STAGE, 'latency', 'other'), 'ALARM', [
        { at: minute(1), from: 'OK', to: 'ALARM', reason: 'x' },
      ]),
    ];
  });

  it('--json: production and previous, alarms with kinds, actions, drift and lease', async () => {
    const run = await mlops('status', '--json');
    expect(run.error).toBeUndefined();
    const s = JSON.parse(run.stdout) as StatusReport;
    expect(s.model).toBe('credit');
    expect(s.production).toEqual({ version: 2, previous: 1, since: promotedAt, reason: 'promoted' });
    expect(s.lastPromotion).toMatchObject({ version: 2, reason: 'promoted' });
    expect(s.alarms.map((a) => [a.name, a.kind, a.state])).toEqual([
      [drifted, 'prediction-drift', 'ALARM'],
      [alarmName(STAGE, 'latency', 'credit'), 'latency', 'OK'],
      [alarmName(STAGE, 'drift-job-errors'), 'drift-job-errors', 'OK'],
    ]);
    expect(s.alarms[0]!.since).toBe((twin.alarms as TwinAlarm[])[0]!.since);
    expect(s.actions.map((a) => [a.kind, a.outcome, a.trigger])).toEqual([
      ['retrain', 'started', 'alarm'],
      ['rollback', 'skipped', 'alarm'],
      ['notify', 'done', 'alarm'],
    ]);
    expect(s.actions[1]!.reason).toBe('v2 promoted outside the guard window');
    expect(s.actions[2]).toMatchObject({
      alarm: drifted,
      reason: expect.stringContaining('Threshold Crossed'),
    });
    expect(s.drift).toMatchObject({
      at: '2026-12-01T10:10:00.000Z',
      samples: 640,
      level: 'alarm',
      maxFeature: 'Income',
    });
    expect(s.lease).toMatchObject({ holder: 'arn:exec:t1', name: 'training', expired: false });
  });

  it('prints a table a person reads', async () => {
    const run = await mlops('status');
    expect(run.error).toBeUndefined();
    expect(run.stdout).toMatch(/^credit {2}production v2, previous v1 — since /);
    expect(run.stdout).toContain('retraining held by arn:exec:t1 since');
    expect(run.stdout).toMatch(new RegExp(`ALARM +prediction-drift +page +rollback .* ${drifted}`));
    expect(run.stdout).toMatch(/rollback +skipped +alarm +v2 promoted outside the guard window/);
  });

  it('a model with nothing yet: no production, no alarms of its own, no drift, a free lease', async () => {
    const run = await mlops('status', '--model', 'fresh', '--json');
    const s = JSON.parse(run.stdout) as StatusReport;
    expect(s).toMatchObject({
      model: 'fresh',
      production: { version: null, previous: null },
      drift: null,
      lease: null,
      actions: [],
    });
    expect(s.alarms.map((a) => a.kind)).toEqual(['drift-job-errors']);
  });

  it("alarms the twin cannot list: the rest is printed, then a CliError with the twin's message", async () => {
    const saved = twin.alarms;
    twin.alarms = { status: 500, body: { error: 'TwinError', message: 'monitoring is off' } };
    try {
      const run = await mlops('status', '--json');
      expect(run.error).toBeInstanceOf(CliError);
      expect((run.error as Error).message).toBe(
        `The alarms could not be read: The twin at ${url} did not list its alarms: TwinError: monitoring is off`,
      );
      const s = JSON.parse(run.stdout) as StatusReport;
      expect(s).toMatchObject({ production: { version: 2 }, alarms: [], lease: { holder: 'arn:exec:t1' } });
      expect(s.alarmsError).toContain('monitoring is off');
    } finally {
      twin.alarms = saved;
    }
  });
});

describe('mlops drift', () => {
  const judged = (): DriftJobResult[] => [
    {
      model: 'credit',
      status: 'judged',
      message: 'judged',
      report: report('2026-12-01T12:00:00.000Z'),
      variants: [],
    },
  ];

  it('runs the drift job for the model over the window asked and prints the feature table', async () => {
    twin.drift = judged();
    const run = await mlops('drift', '--window', '30');
    expect(run.error).toBeUndefined();
    expect(twin.invoked).toEqual([{ service: 'drift-job', payload: { model: 'credit', windowMinutes: 30 } }]);
    expect(run.stdout).toMatch(/Income +numeric +1\.200 +0\.500 +0\.550 +6\.0% \(8\.5%\) +- +alarm/);
    expect(run.stdout).toContain('prediction: PSI 0.310');
  });

  it('--json prints the production report, without --window the job takes the model window', async () => {
    twin.drift = judged();
    const run = await mlops('drift', '--json');
    expect(twin.invoked).toEqual([{ service: 'drift-job', payload: { model: 'credit' } }]);
    const json = JSON.parse(run.stdout) as DriftReport;
    expect(json).toMatchObject({ model: 'credit', version: 2, samples: 640, prediction: { psi: 0.31 } });
    expect(json.features[0]).toMatchObject({
      feature: 'Income',
      psi: 1.2,
      js: 0.5,
      ks: 0.55,
      nullRate: 0.06,
      baselineNullRate: 0.085,
    });
  });

  it("below minSamples prints the job's message", async () => {
    const r = report('2026-12-01T12:00:00.000Z', {
      status: 'insufficient-samples',
      samples: 4,
      message: '4 rows of v2 in the window, below 100: nothing judged',
      features: [],
    });
    twin.drift = [
      { model: 'credit', status: 'insufficient-samples', message: r.message, report: r, variants: [] },
    ];
    const run = await mlops('drift');
    expect(run.error).toBeUndefined();
    expect(run.stdout).toContain('4 rows of v2 in the window, below 100: nothing judged');
    const json = JSON.parse((await mlops('drift', '--json')).stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ model: 'credit', status: 'insufficient-samples', samples: 4 });
  });

  it('a model without a production version is refused before the job runs', async () => {
    const run = await mlops('drift', '--model', 'fresh');
    expect(run.error).toBeInstanceOf(CliError);
    expect((run.error as Error).message).toContain('Model "fresh" has no production version');
    expect(twin.invoked).toEqual([]);
  });

  it("the job's failure is a CliError with its message", async () => {
    twin.drift = {
      status: 500,
      body: { error: 'TwinError', message: 'NoBaseline: v2 has no baseline.json' },
    };
    const run = await mlops('drift');
    expect((run.error as Error).message).toBe(
      'The drift job failed on the twin: TwinError: NoBaseline: v2 has no baseline.json',
    );
  });
});

describe('mlops rollback and train', () => {
  it('rollback --to --reason starts the machine as the operator and prints the move', async () => {
    twin.execution = (input) => ({
      stateMachine: 'rollback',
      status: 'SUCCEEDED',
      input,
      output: { model: 'credit', outcome: 'done', version: 1, from: 2, reason: 'latency after v2' },
    });
    const run = await mlops('rollback', '--to', 'v1', '--reason', 'latency after v2');
    expect(run.error).toBeUndefined();
    expect(run.exitCode).toBeUndefined();
    expect(twin.executed).toEqual([
      {
        stateMachine: 'rollback',
        input: { model: 'credit', reason: 'latency after v2', to: 1, trigger: 'operator' },
      },
    ]);
    expect(run.stdout).toContain('credit rolled back from v2 to v1');
  });

  it('a paged or skipped rollback says so and exits non-zero', async () => {
    twin.execution = (input) => ({
      stateMachine: 'rollback',
      status: 'SUCCEEDED',
      input,
      output: { model: 'credit', outcome: 'paged', reason: 'no version served healthily before v1' },
    });
    const paged = await mlops('rollback', '--reason', 'bad scores');
    expect(paged.error).toBeUndefined();
    expect(paged.exitCode).toBe(3);
    expect(paged.stdout).toContain(
      'credit was not rolled back: no version to go back to, so the operators were paged. no version served healthily before v1',
    );
    expect(twin.executed[0]!.input).toEqual({ model: 'credit', reason: 'bad scores', trigger: 'operator' });
  });

  it('a rollback the machine fails is a CliError with its cause', async () => {
    twin.execution = (input) => ({
      stateMachine: 'rollback',
      status: 'FAILED',
      input,
      error: 'InvalidRollbackTarget',
      cause: 'v7 never served',
    });
    const run = await mlops('rollback', '--to', '7', '--reason', 'x');
    expect((run.error as Error).message).toBe(
      'Rollback of "credit" failed: InvalidRollbackTarget — v7 never served',
    );
  });

  it('train refused by the lease names the holder and exits with a CliError', async () => {
    const lease = {
      model: 'credit',
      name: 'training',
      holder: 'arn:exec:t1',
      cause: 'alarm mlops-dev-credit--feature-drift',
      since: '2026-12-01T11:00:00.000Z',
      until: '2026-12-01T15:00:00.000Z',
    };
    twin.execution = (input) => ({
      stateMachine: 'training',
      status: 'SUCCEEDED',
      input,
      output: { model: 'credit', refused: true, lease },
    });
    const run = await mlops('train', '--reason', 'new data');
    expect(twin.executed).toEqual([
      { stateMachine: 'training', input: { model: 'credit', trigger: 'operator', reason: 'new data' } },
    ]);
    expect(run.error).toBeInstanceOf(CliError);
    expect((run.error as Error).message).toContain(
      'arn:exec:t1 holds the training lease until 2026-12-01T15:00:00.000Z',
    );
  });
});
