import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { type FunctionName, functionEnv } from '../../contracts/env.ts';
import { loadModels } from '../../lib/config.ts';
import { DataLake } from '../../lib/constructs/data-lake.ts';
import { type FunctionSettings, MlopsFunction } from '../../lib/constructs/mlops-function.ts';
import { ModelRegistry } from '../../lib/constructs/model-registry.ts';
import { PredictionLog } from '../../lib/constructs/prediction-log.ts';
import { MODELS_DIR } from '../../lib/paths.ts';
import { functionNamed, type SynthResult, synthPlatform } from './fixture.ts';

type Resource = { Type: string; Properties: Record<string, unknown> };

/** Every function of every stack of a synthesized platform, with its environment variables. */
function functionsOf(synth: SynthResult): { where: string; variables: Record<string, unknown> }[] {
  return Object.values(synth.stacks).flatMap((stack) =>
    Object.entries(Template.fromStack(stack).findResources('AWS::Lambda::Function')).map(([id, fn]) => ({
      where: `${stack.stackName}/${id}`,
      variables:
        ((fn as Resource).Properties.Environment as { Variables?: Record<string, unknown> } | undefined)
          ?.Variables ?? {},
    })),
  );
}

/** What the schema says about one function's variables; an empty list when it conforms. */
function schemaProblems(variables: Record<string, unknown>): string[] {
  const service = variables.POWERTOOLS_SERVICE_NAME;
  if (typeof service !== 'string' || !Object.hasOwn(functionEnv, service)) {
    return [`POWERTOOLS_SERVICE_NAME ${JSON.stringify(service)} names no function of functionEnv`];
  }
  const shape = functionEnv[service as FunctionName].def.shape as Record<string, z.ZodMiniType>;
  const problems: string[] = [];
  for (const [key, value] of Object.entries(variables)) {
    const schema = shape[key];
    if (!schema) problems.push(`${key} is not declared`);
    else if (typeof value === 'string' && !z.safeParse(schema, value).success) {
      problems.push(`${key}=${JSON.stringify(value)} does not parse`);
    }
  }
  for (const [key, schema] of Object.entries(shape)) {
    if (!(key in variables) && !z.safeParse(schema, undefined).success) problems.push(`${key} is missing`);
  }
  return problems;
}

const variablesOf = (fn: { Properties: Record<string, unknown> }): Record<string, unknown> =>
  (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;

describe('function environments against contracts/env.ts', () => {
  let lambdaMode: SynthResult;
  let endpointMode: SynthResult;
  beforeAll(() => {
    lambdaMode = synthPlatform();
    endpointMode = synthPlatform({ config: { serving: { mode: 'endpoint' } } });
  });

  it('GIVEN both serving modes WHEN synthesized THEN every function has exactly what its schema declares, and its literal values parse', () => {
    for (const synth of [lambdaMode, endpointMode]) {
      const functions = functionsOf(synth);
      expect(functions).toHaveLength(17);
      for (const { where, variables } of functions) {
        expect(schemaProblems(variables), where).toEqual([]);
      }
      const services = functions.map((f) => f.variables.POWERTOOLS_SERVICE_NAME).sort();
      expect(services).toEqual(Object.keys(functionEnv).sort());
    }
  });

  it('GIVEN serving mode lambda WHEN synthesized THEN predict and sync get no endpoint variables', () => {
    const serving = Template.fromStack(lambdaMode.stacks.serving);
    const predict = variablesOf(functionNamed(serving, 'predict'));
    expect(predict).toMatchObject({
      SERVING_MODE: 'lambda',
      MODEL_NAMES: lambdaMode.config.models.map((m) => m.name).join(','),
      DEFAULT_MODEL: 'credit',
      PREDICTION_LOG_TTL_DAYS: '90',
      PREDICTION_LOG_SHARDS: '4',
    });
    expect(predict).not.toHaveProperty('ENDPOINT_PREFIX');
    const sync = variablesOf(functionNamed(Template.fromStack(lambdaMode.stacks.pipeline), 'sync-endpoint'));
    expect(Object.keys(sync).filter((k) => k.startsWith('ENDPOINT_') || k === 'LAKE_BUCKET')).toEqual([]);
    expect(sync.SERVING_MODE).toBe('lambda');
  });

  it('GIVEN serving mode endpoint WHEN synthesized THEN predict gets the endpoint prefix and sync every endpoint setting', () => {
    const predict = variablesOf(functionNamed(Template.fromStack(endpointMode.stacks.serving), 'predict'));
    expect(predict).toMatchObject({ SERVING_MODE: 'endpoint', ENDPOINT_PREFIX: 'mlops-test' });
    const shadow = variablesOf(functionNamed(Template.fromStack(endpointMode.stacks.serving), 'shadow'));
    expect(shadow).toMatchObject({ SERVING_MODE: 'endpoint', ENDPOINT_PREFIX: 'mlops-test' });
    const sync = variablesOf(
      functionNamed(Template.fromStack(endpointMode.stacks.pipeline), 'sync-endpoint'),
    );
    const optional = Object.keys(functionEnv['sync-endpoint'].def.shape).filter(
      (k) => k.startsWith('ENDPOINT_') || ['INFERENCE_IMAGE_URI', 'MODEL_EXECUTION_ROLE_ARN'].includes(k),
    );
    for (const key of optional) expect(sync, key).toHaveProperty(key);
  });

  it('GIVEN the readers of the prediction log WHEN synthesized THEN only predict and shadow, which write rows, get their TTL', () => {
    const withTtl = functionsOf(lambdaMode)
      .filter((f) => 'PREDICTION_LOG_TTL_DAYS' in f.variables)
      .map((f) => f.variables.POWERTOOLS_SERVICE_NAME);
    expect(withTtl.sort()).toEqual(['predict', 'shadow']);
    const monitoring = Template.fromStack(lambdaMode.stacks.monitoring);
    expect(variablesOf(functionNamed(monitoring, 'drift-job'))).toHaveProperty('PREDICTION_LOG_TABLE');
  });

  it('GIVEN register-model WHEN synthesized THEN it has neither the lake variable nor any lake grant', () => {
    const pipeline = Template.fromStack(lambdaMode.stacks.pipeline);
    const fn = functionNamed(pipeline, 'register-model');
    expect(variablesOf(fn)).not.toHaveProperty('LAKE_BUCKET');
    const role = (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const policies = Object.values(pipeline.findResources('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify((p as Resource).Properties.Roles).includes(`"${role}"`),
    );
    expect(policies.length).toBeGreaterThan(0);
    expect(JSON.stringify(policies)).not.toMatch(/"s3:/);
    expect(JSON.stringify(policies)).toContain('dynamodb:PutItem');
  });
});

describe('MlopsFunction environment checks', () => {
  const models = loadModels(MODELS_DIR);
  const setup = () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Env');
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    const settings: FunctionSettings = { stage: 'test', models, logEncryptionKey: key };
    return { app, stack, key, settings };
  };

  it('fails at compile time, and when built, when a construct sets a variable its function does not declare', () => {
    const { stack, key, settings } = setup();
    const rollback = new MlopsFunction(stack, 'Rollback', { ...settings, name: 'rollback' });
    // @ts-expect-error SERVING_MODE is not a variable of the rollback function
    expect(() => rollback.addEnvironment('SERVING_MODE', 'lambda')).toThrow(
      /MlopsFunction rollback: SERVING_MODE is not in its environment schema/,
    );
    const canary = new MlopsFunction(stack, 'Canary', { ...settings, name: 'canary' });
    const lake = new DataLake(stack, 'Lake', { encryptionKey: key });
    // @ts-expect-error the canary's schema has no LAKE_BUCKET, so it has no lake binding
    expect(() => canary.bindLake(lake, 'read')).toThrow(/MlopsFunction canary: LAKE_BUCKET is not in/);
    expect(
      () =>
        new MlopsFunction(stack, 'SetAlias', {
          ...settings,
          name: 'set-alias',
          // @ts-expect-error DEFAULT_MODEL is not a variable of set-alias
          environment: { DEFAULT_MODEL: 'credit' },
        }),
    ).toThrow(/MlopsFunction set-alias: DEFAULT_MODEL is not in its environment schema/);
  });

  it('fails synth when a variable outside the schema reaches the template, naming the function and the variable', () => {
    const { app, stack, key, settings } = setup();
    const fn = new MlopsFunction(stack, 'Rollback', { ...settings, name: 'rollback' }).bindRegistry(
      new ModelRegistry(stack, 'Registry', { encryptionKey: key }),
      'GetItem',
      'PutItem',
      'UpdateItem',
    );
    // Past the typed override, the way code holding a plain lambda.Function would add it.
    lambda.Function.prototype.addEnvironment.call(fn, 'EXTRA_SETTING', 'x');
    expect(() => app.synth()).toThrow(/Function rollback: EXTRA_SETTING is not in its schema/);
  });

  it('fails synth when a required variable is missing, naming the function and the variable', () => {
    const { app, stack, settings } = setup();
    new MlopsFunction(stack, 'Rollback', { ...settings, name: 'rollback' });
    expect(() => app.synth()).toThrow(/Function rollback: REGISTRY_TABLE is required but not set/);
  });

  it('fails synth when a literal value does not parse with the schema, naming the function and the value', () => {
    const { app, stack, key, settings } = setup();
    new MlopsFunction(stack, 'Predict', {
      ...settings,
      name: 'predict',
      environment: { DEFAULT_MODEL: 'credit', MODEL_NAMES: 'credit', SERVING_MODE: 'sagemaker' },
    })
      .bindLake(new DataLake(stack, 'Lake', { encryptionKey: key }), 'read', 'artifacts')
      .bindRegistry(new ModelRegistry(stack, 'Registry', { encryptionKey: key }), 'GetItem')
      .bindPredictionLogWriter(new PredictionLog(stack, 'Log', { encryptionKey: key }), 30);
    expect(() => app.synth()).toThrow(/Function predict: SERVING_MODE="sagemaker" is invalid/);
  });

  it('GIVEN every binding WHEN synthesized THEN a conforming function passes the check', () => {
    const { app, stack, key, settings } = setup();
    new MlopsFunction(stack, 'Rollback', { ...settings, name: 'rollback' }).bindRegistry(
      new ModelRegistry(stack, 'Registry', { encryptionKey: key }),
      'GetItem',
      'PutItem',
      'UpdateItem',
    );
    expect(() => app.synth()).not.toThrow();
  });
});
