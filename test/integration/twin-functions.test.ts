/**
 * The twin runs each function as Lambda does: in an instance of its own whose environment is the
 * function's template environment plus what the Lambda runtime sets, so a function sees no other
 * function's variables and a binding missing from its template fails its invocation.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { TwinApiKey } from '../../contracts/twin-api.ts';
import { createTwinServer } from '../../local/server.ts';
import { LocalTwin } from '../../local/twin.ts';

/** What the Lambda runtime (and the twin, for its endpoints) adds to every function's environment. */
const RUNTIME_KEYS = [
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_INITIALIZATION_TYPE',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  'LAMBDA_TASK_ROOT',
  '_HANDLER',
  'LANG',
  'AWS_ENDPOINT_URL_S3',
  'AWS_ENDPOINT_URL_DYNAMODB',
  'AWS_ENDPOINT_URL_LAMBDA',
  'AWS_ENDPOINT_URL_SAGEMAKER',
  'AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME',
  'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED',
];

interface TemplateFunction {
  file: string;
  template: { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
  properties: { MemorySize?: number; Environment: { Variables: Record<string, unknown> } };
}

/** The template resource of the function of a `lambdas/` directory, read straight from the assembly. */
function templateFunction(assemblyDir: string, service: string): TemplateFunction {
  for (const name of readdirSync(assemblyDir).filter((f) => f.endsWith('.template.json'))) {
    const file = join(assemblyDir, name);
    const template = JSON.parse(readFileSync(file, 'utf8')) as TemplateFunction['template'];
    for (const res of Object.values(template.Resources)) {
      const props = res.Properties as TemplateFunction['properties'];
      if (
        res.Type === 'AWS::Lambda::Function' &&
        props.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === service
      ) {
        return { file, template, properties: props };
      }
    }
  }
  throw new Error(`The assembly has no function with service name ${service}`);
}

/** A copy of the assembly in which one function's template lacks one variable. */
function assemblyWithout(assemblyDir: string, service: string, variable: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'mlops-twin-env-'));
  cpSync(assemblyDir, dir, { recursive: true });
  const fn = templateFunction(dir, service);
  expect(fn.properties.Environment.Variables).toHaveProperty(variable);
  delete fn.properties.Environment.Variables[variable];
  writeFileSync(fn.file, JSON.stringify(fn.template));
  return dir;
}

describe('each function runs with its own template environment', () => {
  let dir: string;
  let twin: LocalTwin;
  let parentEnv: Record<string, string | undefined>;
  const arn = (service: string) => {
    const found = twin.functionArnByService(service);
    if (!found) throw new Error(`no function ${service}`);
    return found;
  };

  beforeAll(async () => {
    parentEnv = { ...process.env };
    dir = assemblyWithout(inject('assemblyDir'), 'mark-failed', 'REGISTRY_TABLE');
    twin = new LocalTwin({ assemblyDir: dir });
    await twin.start();
  });
  afterAll(async () => {
    await twin?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("gives the predict function its template's variables and the runtime's, and nothing else", async () => {
    const predict = templateFunction(dir, 'predict').properties;

    const env = await twin.functionEnvironment(arn('predict'));

    expect(Object.keys(env).sort()).toEqual(
      [...Object.keys(predict.Environment.Variables), ...RUNTIME_KEYS].sort(),
    );
    expect(env).not.toHaveProperty('TRAINING_SOURCE_URI');
    expect(env.AWS_ENDPOINT_URL_DYNAMODB).toBe(twin.endpoints.dynamodb);
    expect(env.AWS_ENDPOINT_URL_S3).toBe(twin.endpoints.s3);
    expect(env.AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME).toBe(twin.endpoints.sagemaker);
    expect(env.AWS_LAMBDA_FUNCTION_NAME).toBe(arn('predict').split(':').at(-1));
    expect(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE).toBe(String(predict.MemorySize ?? 128));
    // The variable predict lacks is another function's: the training step's instance has it.
    const prepare = await twin.functionEnvironment(arn('prepare-features'));
    expect(prepare.TRAINING_SOURCE_URI).toMatch(/^s3:\/\//);
    expect(prepare).not.toHaveProperty('DEFAULT_MODEL');
  });

  it('fails the invocation of a function whose template lacks a variable it needs, naming the variable', async () => {
    const input = { model: 'credit', version: 1, error: { Error: 'TrainingFailed', Cause: 'test' } };

    await expect(twin.invoke(arn('mark-failed'), input)).rejects.toThrow(/REGISTRY_TABLE/);
    // As in Lambda, the next invocation fails the same way, and the other functions keep theirs.
    await expect(twin.invoke(arn('mark-failed'), input)).rejects.toThrow(/REGISTRY_TABLE/);
    expect(await twin.functionEnvironment(arn('mark-failed'))).not.toHaveProperty('REGISTRY_TABLE');
    expect(await twin.functionEnvironment(arn('rollback'))).toHaveProperty('REGISTRY_TABLE');
  });

  it("hands a handler's error to the caller with its name and message", async () => {
    const err = (await twin.invoke(arn('rollback'), { model: 'nobody' }).catch((e: unknown) => e)) as Error;

    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('NoPreviousVersion');
    expect(err.message).toBe('Model "nobody" has no production version to roll back.');
  });

  it("collects the functions' metric lines and serves them on GET /_twin/metrics", async () => {
    const server = createTwinServer(twin);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const [client] = (await (await fetch(`${url}/_twin/keys`)).json()) as TwinApiKey[];
      // A content type with no request model passes API Gateway's validation; the function refuses it.
      const res = await fetch(`${url}/v1/predict`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', 'x-api-key': client!.key },
        body: '{not json',
      });
      expect(res.status).toBe(415);

      const metrics = (await (await fetch(`${url}/_twin/metrics`)).json()) as {
        name: string;
        dimensions: Record<string, string>;
      }[];
      // One point per dimension set of the EMF line: [Model] and [Model, Client].
      expect(
        metrics.filter((m) => m.name === 'InvalidRequests').map((m) => Object.keys(m.dimensions).sort()),
      ).toEqual([['Model'], ['Client', 'Model']]);
      expect(twin.logs.metrics.find((m) => m.name === 'InvalidRequests')).toMatchObject({
        namespace: 'Mlops/test',
        value: 1,
      });
      twin.logs.flush();
      expect(readFileSync(twin.logs.logFile, 'utf8')).toContain('"InvalidRequests"');
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it("leaves the twin's own process environment as it was", () => {
    expect({ ...process.env }).toEqual(parentEnv);
  });
});
