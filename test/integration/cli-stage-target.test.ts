/**
 * The same read commands against the twin and against a deployed stage: `models`, `show`,
 * `status`, `keys`, `golden show`, `drift` and `predict`, each with `--json`, once with
 * `--twin <url>` and once with `--stage <stage>`, which goes through `awsTarget` as on AWS. Their
 * outputs must be equal, apart from the fields each test names (when a document was read, the drift
 * run's own window).
 *
 * The stage is the twin itself, seen through AWS's APIs. Its DynamoDB and S3 are the twin's real
 * dynalite and s3rver, reached through `AWS_ENDPOINT_URL_*` as any SDK client would; the control
 * planes the twin has no loopback service for are answered with aws-sdk-client-mock from what the
 * twin holds, in the SDK's shapes: CloudFormation's DescribeStacks gives each stack's outputs as the
 * twin resolves them, API Gateway's GetApiKeys the keys the twin issued under their
 * `mlops-<stage>--client-<client>` names, CloudWatch's DescribeAlarms and DescribeAlarmHistory the
 * twin's alarms and their state changes, and Lambda's Invoke runs the twin's drift job.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { APIGatewayClient, type ApiKey, GetApiKeysCommand } from '@aws-sdk/client-api-gateway';
import { CloudFormationClient, DescribeStacksCommand, type Output } from '@aws-sdk/client-cloudformation';
import {
  type AlarmHistoryItem,
  CloudWatchClient,
  DescribeAlarmHistoryCommand,
  DescribeAlarmsCommand,
  type MetricAlarm,
} from '@aws-sdk/client-cloudwatch';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEMO_DATA, DEMO_GOLDEN } from '../../cli/commands/demo.ts';
import { register as registerDrift } from '../../cli/commands/drift.ts';
import { register as registerGolden } from '../../cli/commands/golden.ts';
import { ingest } from '../../cli/commands/ingest.ts';
import { register as registerKeys } from '../../cli/commands/keys.ts';
import { register as registerModels } from '../../cli/commands/models.ts';
import { register as registerPredict } from '../../cli/commands/predict.ts';
import { promote } from '../../cli/commands/promote.ts';
import { register as registerShow } from '../../cli/commands/show.ts';
import { register as registerStatus } from '../../cli/commands/status.ts';
import { train } from '../../cli/commands/train.ts';
import { createContext } from '../../cli/context.ts';
import { CliError, EXIT_CODES } from '../../cli/errors.ts';
import { setGolden } from '../../cli/golden.ts';
import { awsTarget, type Target, twinTarget } from '../../cli/target.ts';
import { alarmName } from '../../contracts/alarms.ts';
import { apiKeyName } from '../../contracts/names.ts';
import { stackName, stackOutputs, stackParts } from '../../contracts/outputs.ts';
import type { TwinAlarm, TwinApiKey } from '../../contracts/twin-api.ts';
import { assemblyStage } from '../../local/api-keys.ts';
import { sampleRows } from '../support/requests.ts';
import { serveTwin, startTestTwin, type TestTwin } from '../support/twin.ts';

const MODEL = 'credit';

let t: TestTwin;
let served: { url: string; close(): Promise<void> };
let stage: string;
let assemblyDir: string | undefined;
const mocks = {
  cfn: mockClient(CloudFormationClient),
  apigw: mockClient(APIGatewayClient),
  cw: mockClient(CloudWatchClient),
  lambda: mockClient(LambdaClient),
};

/** The API keys the twin issued to its clients. */
async function twinKeys(): Promise<TwinApiKey[]> {
  const res = await fetch(`${served.url}/_twin/keys`);
  return (await res.json()) as TwinApiKey[];
}

/** One page of `items` from `token` on (a stringified offset), and the next page's token. */
function page<T>(
  items: readonly T[],
  size: number,
  token: string | undefined,
): { items: T[]; next?: string } {
  const from = token === undefined ? 0 : Number(token);
  const next = from + size < items.length ? String(from + size) : undefined;
  return { items: items.slice(from, from + size), ...(next ? { next } : {}) };
}

/** A twin alarm as CloudWatch's DescribeAlarms describes a metric alarm. */
function asMetricAlarm(a: TwinAlarm): MetricAlarm {
  const percentile = /^p\d/.test(a.metric.statistic);
  return {
    AlarmName: a.name,
    AlarmArn: `arn:aws:cloudwatch:us-east-1:123456789012:alarm:${a.name}`,
    ...(a.description ? { AlarmDescription: a.description } : {}),
    StateValue: a.state,
    StateReason: a.reason,
    ...(a.since
      ? { StateTransitionedTimestamp: new Date(a.since), StateUpdatedTimestamp: new Date(a.since) }
      : {}),
    ...(a.metric.name
      ? {
          Namespace: a.metric.namespace,
          MetricName: a.metric.name,
          Dimensions: Object.entries(a.metric.dimensions).map(([Name, Value]) => ({ Name, Value })),
          ...(percentile
            ? { ExtendedStatistic: a.metric.statistic }
            : { Statistic: a.metric.statistic as 'Sum' }),
        }
      : {}),
    Period: a.periodSeconds,
    EvaluationPeriods: a.evaluationPeriods,
    DatapointsToAlarm: a.datapointsToAlarm,
    Threshold: a.threshold,
    ComparisonOperator: a.comparison as MetricAlarm['ComparisonOperator'],
    TreatMissingData: a.treatMissingData,
  };
}

/** A twin alarm's state changes as DescribeAlarmHistory's `StateUpdate` items. */
function asHistoryItems(a: TwinAlarm): AlarmHistoryItem[] {
  return a.history.map((h) => ({
    AlarmName: a.name,
    AlarmType: 'MetricAlarm',
    Timestamp: new Date(h.at),
    HistoryItemType: 'StateUpdate',
    HistorySummary: `Alarm updated from ${h.from} to ${h.to}`,
    HistoryData: JSON.stringify({
      version: '1.0',
      oldState: { stateValue: h.from },
      newState: { stateValue: h.to, stateReason: h.reason },
    }),
  }));
}

/** Answers the stage's control planes from what the twin holds. */
function mockControlPlanes(): void {
  mocks.cfn.on(DescribeStacksCommand).callsFake((input: { StackName?: string }) => {
    const stack = t.twin.resolver.stacks.find((s) => s.stackName === input.StackName);
    if (!stack) {
      throw Object.assign(new Error(`Stack with id ${input.StackName} does not exist`), {
        name: 'ValidationError',
      });
    }
    const outputs: Output[] = Object.entries(stack.Outputs ?? {}).map(([id, out]) => ({
      OutputKey: id,
      // The API the twin serves stands for the deployed API Gateway stage, whose URL ends in `/`.
      OutputValue:
        id === stackOutputs.apiUrl ? `${served.url}/` : String(t.twin.resolver.resolve(out.Value, stack)),
    }));
    return {
      Stacks: [
        {
          StackName: stack.stackName,
          StackStatus: 'UPDATE_COMPLETE',
          CreationTime: new Date(0),
          Outputs: outputs,
        },
      ],
    };
  });
  mocks.apigw.on(GetApiKeysCommand).callsFake(async (input) => {
    const items: ApiKey[] = [
      ...(await twinKeys()).map((k) => ({
        id: `id-${k.client}`,
        name: apiKeyName(stage, k.client),
        ...(input.includeValues ? { value: k.key } : {}),
        enabled: true,
      })),
      // Another stage's key, which nameQuery leaves out.
      { id: 'id-other', name: apiKeyName('other', 'default'), value: 'x'.repeat(40), enabled: true },
    ].filter((k) => k.name.startsWith(input.nameQuery ?? ''));
    // One key a page, so the CLI must follow `position`.
    const p = page(items, 1, input.position);
    return { items: p.items, ...(p.next ? { position: p.next } : {}) };
  });
  mocks.cw.on(DescribeAlarmsCommand).callsFake((input) => {
    const alarms = t.twin.monitoring.alarms
      .describe()
      .filter((a) => a.name.startsWith(input.AlarmNamePrefix ?? ''))
      .map(asMetricAlarm);
    const p = page(alarms, Math.min(input.MaxRecords ?? 50, 3), input.NextToken);
    return { MetricAlarms: p.items, ...(p.next ? { NextToken: p.next } : {}) };
  });
  mocks.cw.on(DescribeAlarmHistoryCommand).callsFake((input) => {
    const from = input.StartDate?.getTime() ?? 0;
    const to = input.EndDate?.getTime() ?? Number.POSITIVE_INFINITY;
    const items = t.twin.monitoring.alarms
      .describe()
      .flatMap(asHistoryItems)
      .filter((h) => h.Timestamp!.getTime() >= from && h.Timestamp!.getTime() <= to)
      .sort((a, b) => b.Timestamp!.getTime() - a.Timestamp!.getTime());
    const p = page(items, input.MaxRecords ?? 100, input.NextToken);
    return { AlarmHistoryItems: p.items, ...(p.next ? { NextToken: p.next } : {}) };
  });
  mocks.lambda.on(InvokeCommand).callsFake(async (input) => {
    const event = JSON.parse(new TextDecoder().decode(input.Payload as Uint8Array)) as unknown;
    try {
      const out = await t.twin.invoke(String(input.FunctionName), event);
      return { StatusCode: 200, Payload: new TextEncoder().encode(JSON.stringify(out)) };
    } catch (err) {
      const body = { errorType: (err as Error).name, errorMessage: (err as Error).message };
      return {
        StatusCode: 200,
        FunctionError: 'Unhandled',
        Payload: new TextEncoder().encode(JSON.stringify(body)),
      };
    }
  });
}

/** Runs `mlops <args>` in-process, as bin/mlops.ts would, and returns what it printed on stdout. */
async function mlops(args: string[]): Promise<{ stdout: string; error?: unknown }> {
  const out: { stdout: string; error?: unknown } = { stdout: '' };
  const log = vi.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => {
    out.stdout += `${parts.join(' ')}\n`;
  });
  try {
    const program = new Command().name('mlops').exitOverride();
    const context = createContext({ MLOPS_TWIN_URL: served.url });
    for (const register of [
      registerModels,
      registerShow,
      registerStatus,
      registerKeys,
      registerGolden,
      registerDrift,
      registerPredict,
    ])
      register(program, context);
    await program.parseAsync(['node', 'mlops', ...args]);
  } catch (err) {
    out.error = err;
  } finally {
    log.mockRestore();
  }
  return out;
}

/** The JSON a command printed, failing with its error if it had one. */
async function json(args: string[]): Promise<unknown> {
  const run = await mlops(args);
  if (run.error) throw run.error;
  return JSON.parse(run.stdout) as unknown;
}

/** A copy of `value` without the named top-level keys. */
function without(value: unknown, keys: readonly string[]): unknown {
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).filter(([k]) => !keys.includes(k)),
  );
}

beforeAll(async () => {
  // Two clients, so that the stage's keys come from API Gateway in more than one page.
  const [{ synthesize }, { projectConfig }] = await Promise.all([
    import('../../lib/synth.ts'),
    import('../../lib/config.ts'),
  ]);
  assemblyDir = mkdtempSync(join(tmpdir(), 'mlops-stage-target-'));
  synthesize(assemblyDir, {
    ...projectConfig('test'),
    clients: [
      { name: 'default', rateLimit: 10_000, burstLimit: 5_000 },
      { name: 'partner', rateLimit: 10, burstLimit: 10 },
    ],
  });
  t = await startTestTwin(assemblyDir);
  served = await serveTwin(t.twin);
  stage = assemblyStage(t.twin.resolver) ?? '';
  expect(stage).not.toBe('');

  // A production version with a golden set and an evaluated drift report, through the twin.
  const twin = await twinTarget(served.url);
  const def = createContext().definition(MODEL)!;
  await ingest(twin, def, DEMO_DATA);
  await setGolden(twin.lake, { def, from: `models/${MODEL}.json` }, DEMO_GOLDEN, { note: 'reviewed' });
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  try {
    const v1 = await train(twin, MODEL, { seed: 42 });
    expect((await promote(twin, MODEL, v1.version)).promoted).toBe(true);
  } finally {
    log.mockRestore();
  }
  const [client] = await twinKeys();
  const rows = sampleRows(300);
  for (let i = 0; i < rows.length; i += 100) {
    const res = await fetch(`${served.url}/v1/models/${MODEL}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': client!.key },
      body: JSON.stringify({ instances: rows.slice(i, i + 100) }),
    });
    expect(res.status, await res.text()).toBe(200);
  }
  await twin.runDrift({ model: MODEL });
  // An alarm with a state change, so the status lists the notification from the alarm's history.
  const raised = alarmName(stage, 'feature-drift', MODEL);
  expect(t.twin.monitoring.setAlarmState(raised, 'ALARM', 'Threshold Crossed: test')).toBeDefined();

  // What an SDK client on AWS reads from its environment: here, the twin's DynamoDB and S3.
  vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', t.twin.endpoints.dynamodb);
  vi.stubEnv('AWS_ENDPOINT_URL_S3', t.twin.endpoints.s3);
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'S3RVER');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'S3RVER');
  vi.stubEnv('AWS_PROFILE', undefined);
  vi.stubEnv('AWS_SESSION_TOKEN', undefined);
  mockControlPlanes();
}, 180_000);

afterAll(async () => {
  for (const m of Object.values(mocks)) m.restore();
  vi.unstubAllEnvs();
  await served?.close();
  await t?.twin.stop();
  if (assemblyDir) rmSync(assemblyDir, { recursive: true, force: true });
});

describe('the read commands give the same JSON against the twin and a deployed stage', () => {
  const both = async (args: string[]) => ({
    twin: await json([...args, '--json', '--twin', served.url]),
    stage: await json([...args, '--json', '--stage', stage]),
  });

  it('GIVEN the stage WHEN awsTarget finds it THEN it reads the outputs the twin resolved', async () => {
    const target: Target = await awsTarget(stage);
    expect(target.description).toBe(`AWS stage "${stage}"`);
    expect(target.apiUrl).toBe(`${served.url}/`);
    expect(target.lake.bucket).toBe(t.twin.resolver.output(stackOutputs.lakeBucketName));
    const asked = mocks.cfn.commandCalls(DescribeStacksCommand).map((c) => c.args[0].input.StackName);
    expect(asked).toEqual(expect.arrayContaining(stackParts.map((p) => stackName(stage, p))));
  });

  it('GIVEN v1 in production WHEN `models` THEN both targets print the same versions', async () => {
    const { twin, stage: aws } = await both(['models']);
    expect((twin as { production: number }).production).toBe(1);
    expect(aws).toEqual(twin);
  });

  it('GIVEN v1 WHEN `show 1` THEN both print the same lineage, evidence and rollout', async () => {
    const { twin, stage: aws } = await both(['show', '1']);
    expect((twin as { evidence: unknown[] }).evidence.length).toBeGreaterThan(0);
    expect(aws).toEqual(twin);
  });

  it('GIVEN a golden set WHEN `golden show` THEN both print the same pointer and manifest', async () => {
    const { twin, stage: aws } = await both(['golden', 'show']);
    expect((twin as { current: unknown }).current).not.toBeNull();
    expect(aws).toEqual(twin);
  });

  it("GIVEN the twin's client keys WHEN `keys` THEN the stage's, read page by page from API Gateway, are the same", async () => {
    const { twin, stage: aws } = await both(['keys']);
    expect(twin).toEqual(await twinKeys());
    expect((twin as TwinApiKey[]).map((k) => k.client)).toEqual(['default', 'partner']);
    expect(aws).toEqual(twin);
    const queries = mocks.apigw.commandCalls(GetApiKeysCommand).map((c) => c.args[0].input);
    expect(queries.every((q) => q.includeValues === true && q.nameQuery === `mlops-${stage}--client-`)).toBe(
      true,
    );
  });

  it("GIVEN the twin's alarms WHEN read back from CloudWatch's shapes THEN each is the twin's, but for what only the twin knows", async () => {
    const twin = await (await twinTarget(served.url)).alarms();
    const aws = await (await awsTarget(stage)).alarms();
    expect(twin.length).toBeGreaterThan(3);
    // CloudWatch knows no template logical id, and says nothing of the twin's emulation.
    const onAws = (a: TwinAlarm) => without({ ...a, logicalId: '' }, ['notEmulated']);
    expect(aws).toEqual(twin.map(onAws));
  });

  it('GIVEN an alarm raised WHEN `status` THEN both print the same status, apart from when it was read (`at`)', async () => {
    const { twin, stage: aws } = await both(['status']);
    const report = twin as {
      production: { version: number };
      alarms: { name: string; state: string }[];
      actions: { kind: string; alarm?: string }[];
      drift: unknown;
    };
    expect(report.production.version).toBe(1);
    expect(report.alarms.length).toBeGreaterThan(3);
    expect(report.alarms[0]).toMatchObject({
      name: alarmName(stage, 'feature-drift', MODEL),
      state: 'ALARM',
    });
    expect(report.actions.some((a) => a.alarm === alarmName(stage, 'feature-drift', MODEL))).toBe(true);
    expect(report.drift).not.toBeNull();
    expect(without(aws, ['at'])).toEqual(without(twin, ['at']));
  });

  it("GIVEN traffic WHEN `drift` THEN both runs of the job judge the same report, apart from the run's own window and key", async () => {
    const { twin, stage: aws } = await both(['drift']);
    expect((twin as { status: string }).status).toBe('judged');
    expect(mocks.lambda.commandCalls(InvokeCommand)).toHaveLength(1);
    const runOwn = ['windowStart', 'windowEnd', 'reportKey'];
    expect(without(aws, runOwn)).toEqual(without(twin, runOwn));
  });

  it("GIVEN a client WHEN `predict --client partner` THEN both send its key to the API and print the same answer, apart from the request's id", async () => {
    const args = ['predict', '--instances', JSON.stringify(sampleRows(2)), '--client', 'partner'];
    const { twin, stage: aws } = await both(args);
    const answer = twin as { status: number; body: { modelVersion: string; requestId: string } };
    expect(answer.status).toBe(200);
    expect(answer.body.modelVersion).toBe('1');
    const withoutId = (a: unknown) => {
      const { status, body } = a as typeof answer;
      return { status, body: without(body, ['requestId']) };
    };
    expect(withoutId(aws)).toEqual(withoutId(twin));
  });
});

describe('a stage that is not deployed', () => {
  it('GIVEN no stack for the stage WHEN a command runs THEN it is a CliError naming the stage and its stack, without a stack trace', async () => {
    const run = await mlops(['models', '--json', '--stage', 'nosuch']);
    expect(run.stdout).toBe('');
    expect(run.error).toBeInstanceOf(CliError);
    const error = run.error as CliError;
    expect(error.exitCode).toBe(EXIT_CODES.failed);
    expect(error.message).toContain('stage "nosuch"');
    expect(error.message).toContain(
      'Cannot read stack Mlops-nosuch-Data (Stack with id Mlops-nosuch-Data does not exist)',
    );
    expect(error.message).not.toMatch(/^\s+at /m);
  });
});
