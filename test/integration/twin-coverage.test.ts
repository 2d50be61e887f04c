/**
 * What the twin runs of the synthesized templates, by logical id: the app synthesized for the run
 * is booted in a twin and every resource of a type the twin claims to emulate must have its
 * counterpart there (a dynalite table, an s3rver bucket, a function whose instance starts, a state
 * machine, an alarm, a rule or schedule of the monitoring, a route of the API); a type nobody
 * classified fails the run by name. The API's routes are the templates' own: an assembly whose
 * API gains a route and loses one is served accordingly.
 */
import {
  cpSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { TwinApiKey } from '../../contracts/twin-api.ts';
import { clientConfig } from '../../lambdas/shared/adapters/aws/clients.ts';
import {
  type CoverageEntry,
  classifyTemplates,
  coverageLines,
  EMULATED,
  NOT_EMULATED,
  type TwinCoverage,
  twinCoverage,
} from '../../local/coverage.ts';
import { Resolver, readAssembly, type StackTemplate } from '../../local/template.ts';
import { applicant } from '../support/requests.ts';
import { serveTwin, startTestTwin, type TestTwin } from '../support/twin.ts';

/** A copy of an assembly whose templates a test may change: JSON files copied, asset directories linked. */
function copyAssembly(from: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'mlops-coverage-assembly-'));
  for (const name of readdirSync(from)) {
    if (statSync(join(from, name)).isDirectory()) symlinkSync(join(from, name), join(dir, name));
    else cpSync(join(from, name), join(dir, name));
  }
  return dir;
}

/** Changes the template of the stack that holds the REST API. */
function editApiTemplate(dir: string, edit: (resources: StackTemplate['Resources']) => void): void {
  const stack = readAssembly(dir).stacks.find((s) =>
    Object.values(s.Resources).some((r) => r.Type === 'AWS::ApiGateway::RestApi'),
  )!;
  const template = JSON.parse(readFileSync(stack.templateFile, 'utf8')) as {
    Resources: StackTemplate['Resources'];
  };
  edit(template.Resources);
  writeFileSync(stack.templateFile, JSON.stringify(template));
}

const show = (entries: CoverageEntry[]) =>
  entries.map((e) => `${e.type} ${e.stack}/${e.logicalId}: ${e.reason}`).join('\n');

describe("the twin's coverage of the templates", () => {
  let t: TestTwin;
  let server: Awaited<ReturnType<typeof serveTwin>>;
  let coverage: TwinCoverage;

  beforeAll(async () => {
    t = await startTestTwin();
    server = await serveTwin(t.twin);
    coverage = await twinCoverage(t.twin);
  });

  afterAll(async () => {
    await server?.close();
    await t?.twin.stop();
  });

  it('GIVEN the synthesized app in the twin WHEN its coverage is taken THEN every resource of an emulated type has its counterpart and no type is unclassified', () => {
    const unclassified = coverage.resources.filter((r) => r.status === 'unclassified');
    const missing = coverage.resources.filter((r) => r.status === 'missing');
    expect(unclassified, `types nobody classified in local/coverage.ts:\n${show(unclassified)}`).toEqual([]);
    expect(missing, `emulated types without a counterpart in the twin:\n${show(missing)}`).toEqual([]);
    // Every resource of every stack is listed once, by stack and logical id.
    const all = t.twin.assembly.stacks.flatMap((s) =>
      Object.entries(s.Resources).map(([id, r]) => `${s.stackName}/${id} ${r.Type}`),
    );
    expect(coverage.resources.map((r) => `${r.stack}/${r.logicalId} ${r.type}`).sort()).toEqual(all.sort());
    // The platform's working parts are among the emulated ones.
    const emulatedTypes = new Set(
      coverage.resources.filter((r) => r.status === 'emulated').map((r) => r.type),
    );
    for (const type of [
      'AWS::DynamoDB::Table',
      'AWS::S3::Bucket',
      'AWS::Lambda::Function',
      'AWS::StepFunctions::StateMachine',
      'AWS::CloudWatch::Alarm',
      'AWS::Events::Rule',
      'AWS::ApiGateway::Method',
    ])
      expect(emulatedTypes, type).toContain(type);
    // A type is either emulated or left out, never both.
    expect(Object.keys(EMULATED).filter((type) => type in NOT_EMULATED)).toEqual([]);
  });

  it('GIVEN every function of the templates WHEN its instance is started THEN it runs with its template name', async () => {
    const functions = [...t.twin.resolver.resources('AWS::Lambda::Function')].map(({ stack, logicalId }) =>
      t.twin.resolver.arn(stack, logicalId),
    );
    expect(functions.length).toBeGreaterThan(0);
    for (const arn of functions) {
      const env = await t.twin.functionEnvironment(arn);
      expect(env.AWS_LAMBDA_FUNCTION_NAME, arn).toBe(arn.split(':').at(-1));
    }
  });

  it('GIVEN the twin served WHEN GET /_twin/coverage THEN it lists every resource with its status, and the printed lines name each not-emulated resource with its reason', async () => {
    const res = await fetch(`${server.url}/_twin/coverage`);
    expect(res.status).toBe(200);
    const served = (await res.json()) as TwinCoverage;
    expect(served.counts).toEqual(coverage.counts);
    expect(served.resources).toHaveLength(coverage.resources.length);
    const role = served.resources.find((r) => r.type === 'AWS::IAM::Role')!;
    expect(role).toMatchObject({
      status: 'not-emulated',
      reason: expect.stringMatching(/IAM is not enforced/),
    });
    const table = served.resources.find((r) => r.type === 'AWS::DynamoDB::Table')!;
    expect(table).toMatchObject({ status: 'emulated', counterpart: expect.stringMatching(/dynalite/) });

    const lines = coverageLines(served);
    expect(lines[0]).toBe(
      `${served.counts.emulated} of ${served.resources.length} template resources emulated, ${served.counts['not-emulated']} not emulated`,
    );
    const notEmulated = served.resources.filter((r) => r.status === 'not-emulated');
    for (const r of notEmulated) {
      const line = lines.find((l) => l.startsWith(`not emulated: ${r.type} `));
      expect(line, r.type).toContain(r.logicalId);
      expect(line, r.type).toContain(r.reason);
    }
  });

  it('GIVEN a resource type nobody classified in the templates WHEN they are classified THEN it is listed as unclassified by logical id, and a subscription by its endpoint', () => {
    const dir = copyAssembly(inject('assemblyDir'));
    try {
      editApiTemplate(dir, (resources) => {
        resources.PredictionCache = { Type: 'AWS::ElastiCache::CacheCluster', Properties: {} };
        resources.OpsMail = {
          Type: 'AWS::SNS::Subscription',
          Properties: {
            Protocol: 'email',
            Endpoint: 'ops@example.com',
            TopicArn: 'arn:aws:sns:us-east-1:0:t',
          },
        };
      });
      const entries = classifyTemplates(new Resolver(readAssembly(dir)));
      expect(entries.find((e) => e.logicalId === 'OpsMail')).toMatchObject({
        status: 'not-emulated',
        reason: expect.stringContaining('email to ops@example.com is not sent'),
      });
      const odd = entries.filter((e) => e.status === 'unclassified');
      expect(odd).toEqual([
        expect.objectContaining({ logicalId: 'PredictionCache', type: 'AWS::ElastiCache::CacheCluster' }),
      ]);
      const lines = coverageLines({
        counts: { emulated: 0, missing: 0, 'not-emulated': 0, unclassified: 1 },
        resources: odd,
      });
      expect(
        lines.some((l) => /^unclassified: AWS::ElastiCache::CacheCluster .*\/PredictionCache: /.test(l)),
      ).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // Last: it takes a table away from this file's twin.
  it('GIVEN a table of the templates gone from dynalite WHEN the coverage is taken THEN that table is missing, named with its reason', async () => {
    const registry = t.twin.resolver.output('RegistryTableName')!;
    const client = new DynamoDBClient(clientConfig('dynamodb', t.twin.clientTarget()));
    await client.send(new DeleteTableCommand({ TableName: registry }));
    client.destroy();
    const after = await twinCoverage(t.twin);
    const missing = after.resources.filter((r) => r.status === 'missing');
    expect(missing).toEqual([
      expect.objectContaining({ type: 'AWS::DynamoDB::Table', reason: 'dynalite has no such table' }),
    ]);
    expect(
      t.twin.resolver.physicalName(
        t.twin.assembly.stacks.find((s) => s.stackName === missing[0]!.stack)!,
        missing[0]!.logicalId,
      ),
    ).toBe(registry);
    expect(coverageLines(after)[0]).toMatch(/, 1 MISSING$/);
  });
});

describe("the API's routes come from the templates", () => {
  let dir: string;
  let t: TestTwin;
  let server: Awaited<ReturnType<typeof serveTwin>>;
  let key: string;

  beforeAll(async () => {
    dir = copyAssembly(inject('assemblyDir'));
    // The API loses POST /v1/predict and gains POST /v1/score, integrated with the same function.
    editApiTemplate(dir, (resources) => {
      const [predictId, predict] = Object.entries(resources).find(
        ([, r]) =>
          r.Type === 'AWS::ApiGateway::Resource' &&
          r.Properties?.PathPart === 'predict' &&
          resources[(r.Properties.ParentId as { Ref: string }).Ref]?.Properties?.PathPart === 'v1',
      )!;
      const [methodId, method] = Object.entries(resources).find(
        ([, r]) =>
          r.Type === 'AWS::ApiGateway::Method' &&
          (r.Properties?.ResourceId as { Ref?: string } | undefined)?.Ref === predictId,
      )!;
      resources.ScoreResource = { ...predict, Properties: { ...predict.Properties, PathPart: 'score' } };
      resources.ScorePOST = {
        ...method,
        Properties: { ...method.Properties, ResourceId: { Ref: 'ScoreResource' } },
      };
      delete resources[methodId];
    });
    t = await startTestTwin(dir);
    server = await serveTwin(t.twin);
    const keys = (await (await fetch(`${server.url}/_twin/keys`)).json()) as TwinApiKey[];
    key = keys[0]!.key;
  });

  afterAll(async () => {
    await server?.close();
    await t?.twin.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const post = (path: string) =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': key },
      body: JSON.stringify({ instances: [applicant] }),
    });

  it('GIVEN an API that gained POST /v1/score WHEN it is called THEN the function behind its method answers', async () => {
    const res = await post('/v1/score');
    const body = (await res.json()) as { error?: string; message?: string };
    // The predict function's own answer for a twin where no model was promoted yet.
    expect({ status: res.status, error: body.error }).toEqual({ status: 503, error: 'NoProductionModel' });
    // The request reached the predict function: the twin counted an invocation of it.
    const fnName = t.twin.apiFunctionArn().split(':').at(-1);
    expect(
      t.twin.metrics.all().some((p) => p.namespace === 'AWS/Lambda' && p.dimensions.FunctionName === fnName),
    ).toBe(true);
  });

  it('GIVEN an API that lost POST /v1/predict WHEN it is called THEN the twin answers 404 naming the routes the templates declare', async () => {
    const res = await post('/v1/predict');
    expect(res.status).toBe(404);
    const body = (await res.json()) as { error: string; message: string };
    expect(body.error).toBe('NotFound');
    const serves = body.message.slice(body.message.indexOf('The API serves'));
    expect(serves).toContain('POST /v1/score');
    expect(serves).not.toMatch(/POST \/v1\/predict\b/);
    // The deployed model's routes are still there.
    expect(serves).toContain('POST /v1/models/{model}/predict');
    // A resource of the tree with no method of its own is not served either.
    const parent = await post('/v1/models');
    expect(parent.status).toBe(404);
    expect(((await parent.json()) as { error: string }).error).toBe('NotFound');
  });

  it('GIVEN the changed API WHEN its coverage is taken THEN its new method is emulated and nothing is missing', async () => {
    const coverage = await twinCoverage(t.twin);
    expect(coverage.resources.filter((r) => r.status === 'missing')).toEqual([]);
    expect(coverage.resources.find((r) => r.logicalId === 'ScorePOST')).toMatchObject({ status: 'emulated' });
  });
});
