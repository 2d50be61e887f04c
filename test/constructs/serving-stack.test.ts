import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { beforeAll, describe, expect, it } from 'vitest';
import { requestSchema } from '../../core/serving/request-schema.ts';
import { buildConfig, loadModels } from '../../lib/config.ts';
import { DataLake } from '../../lib/constructs/data-lake.ts';
import { IdempotencyStore } from '../../lib/constructs/idempotency-store.ts';
import { ModelRegistry } from '../../lib/constructs/model-registry.ts';
import { PredictionApi } from '../../lib/constructs/prediction-api.ts';
import { PredictionLog } from '../../lib/constructs/prediction-log.ts';
import { MODELS_DIR } from '../../lib/paths.ts';
import { credit } from '../support/fixtures.ts';
import { type SynthResult, synthPlatform } from './fixture.ts';

let synth: SynthResult;
let template: Template;

beforeAll(() => {
  synth = synthPlatform({
    bundle: ['Serving'],
    config: {
      clients: [
        { name: 'web', rateLimit: 7, burstLimit: 11 },
        { name: 'batch-jobs', rateLimit: 3, burstLimit: 5, quota: { limit: 1000, period: 'DAY' } },
        { name: 'mobile', rateLimit: 20, burstLimit: 40, quota: { limit: 50000, period: 'MONTH' } },
      ],
    },
  });
  template = Template.fromStack(synth.stacks.serving);
});

describe('ServingStack', () => {
  it('GIVEN the API WHEN synthesized THEN it is a regional REST API named after its stack', () => {
    template.resourceCountIs('AWS::ApiGateway::RestApi', 1);
    template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      Name: 'Mlops-test-Serving-predictions',
      EndpointConfiguration: { Types: ['REGIONAL'] },
    });
  });

  it('GIVEN the routes WHEN synthesized THEN POST /v1/predict, /v1/models/<model>/predict per model and /v1/models/{model}/predict proxy to predict', () => {
    const resources = template.findResources('AWS::ApiGateway::Resource');
    const parts = Object.values(resources)
      .map((r) => r.Properties.PathPart)
      .sort();
    expect(parts).toEqual(['credit', 'models', 'predict', 'predict', 'predict', 'v1', '{model}'].sort());
    const methods = Object.values(template.findResources('AWS::ApiGateway::Method'));
    expect(methods).toHaveLength(3);
    const predictFn = synth.stacks.serving.getLogicalId(
      synth.stacks.serving.prediction.handler.node.defaultChild as CfnElement,
    );
    for (const method of methods) {
      expect(method.Properties).toMatchObject({
        HttpMethod: 'POST',
        ApiKeyRequired: true,
        Integration: { Type: 'AWS_PROXY', IntegrationHttpMethod: 'POST' },
      });
      expect(JSON.stringify(method.Properties.Integration.Uri)).toContain(predictFn);
    }
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      RequestParameters: { 'method.request.path.model': true },
    });
  });

  it("GIVEN the methods WHEN synthesized THEN every body is validated, a deployed model's against the request model generated from its definition", () => {
    template.hasResourceProperties('AWS::ApiGateway::RequestValidator', { ValidateRequestBody: true });
    const models = template.findResources('AWS::ApiGateway::Model');
    const generated = Object.entries(models).find(
      ([, m]) => JSON.stringify(m.Properties.Schema) === JSON.stringify(requestSchema(credit)),
    );
    expect(generated, 'the credit request model').toBeDefined();
    expect(generated![1].Properties.ContentType).toBe('application/json');
    const methods = Object.values(template.findResources('AWS::ApiGateway::Method'));
    for (const method of methods) {
      expect(method.Properties.RequestValidatorId).toBeDefined();
      expect(method.Properties.RequestModels).toHaveProperty(['application/json']);
    }
    // /v1/predict and /v1/models/credit/predict use the generated model; {model} a JSON object.
    const usingGenerated = methods.filter(
      (m) => m.Properties.RequestModels['application/json'].Ref === generated![0],
    );
    expect(usingGenerated).toHaveLength(2);
    const other = methods.find((m) => m.Properties.RequestParameters?.['method.request.path.model']);
    expect(models[other!.Properties.RequestModels['application/json'].Ref]!.Properties.Schema).toMatchObject({
      type: 'object',
    });
  });

  it('GIVEN a body the request model refuses WHEN API Gateway answers THEN its 400 is JSON naming the problem and the request', () => {
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'BAD_REQUEST_BODY',
      StatusCode: '400',
      ResponseParameters: { 'gatewayresponse.header.Content-Type': "'application/json'" },
      ResponseTemplates: {
        'application/json':
          '{"error":"InvalidRequest","message":"$context.error.validationErrorString","requestId":"$context.requestId"}',
      },
    });
  });

  it('GIVEN three clients in the config WHEN synthesized THEN each has its own named API key in its own usage plan with its throttle and quota', () => {
    template.resourceCountIs('AWS::ApiGateway::ApiKey', 3);
    template.resourceCountIs('AWS::ApiGateway::UsagePlan', 3);
    template.resourceCountIs('AWS::ApiGateway::UsagePlanKey', 3);
    const keys = template.findResources('AWS::ApiGateway::ApiKey');
    const plans = template.findResources('AWS::ApiGateway::UsagePlan');
    const bindings = Object.values(template.findResources('AWS::ApiGateway::UsagePlanKey'));
    const expected = {
      web: { throttle: { RateLimit: 7, BurstLimit: 11 }, quota: undefined },
      'batch-jobs': { throttle: { RateLimit: 3, BurstLimit: 5 }, quota: { Limit: 1000, Period: 'DAY' } },
      mobile: { throttle: { RateLimit: 20, BurstLimit: 40 }, quota: { Limit: 50000, Period: 'MONTH' } },
    };
    for (const [client, want] of Object.entries(expected)) {
      const keyId = Object.keys(keys).find(
        (id) => keys[id]!.Properties.Name === `mlops-test--client-${client}`,
      );
      expect(keyId, `an API key named mlops-test--client-${client}`).toBeDefined();
      const binding = bindings.filter((b) => b.Properties.KeyId.Ref === keyId);
      expect(binding, `${client}'s key is in one usage plan`).toHaveLength(1);
      expect(binding[0]!.Properties.KeyType).toBe('API_KEY');
      const plan = plans[binding[0]!.Properties.UsagePlanId.Ref]!;
      expect(plan.Properties.Throttle).toEqual(want.throttle);
      expect(plan.Properties.Quota).toEqual(want.quota);
      expect(plan.Properties.ApiStages).toEqual([
        expect.objectContaining({ ApiId: expect.anything(), Stage: expect.anything() }),
      ]);
    }
  });

  it("GIVEN three clients WHEN synthesized THEN the predict function's CLIENT_KEYS maps each key's id to its client", () => {
    const fn = Object.values(template.findResources('AWS::Lambda::Function')).find(
      (f) => f.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === 'predict',
    )!;
    const keys = template.findResources('AWS::ApiGateway::ApiKey');
    const idOf = (client: string) =>
      Object.keys(keys).find((id) => keys[id]!.Properties.Name === `mlops-test--client-${client}`);
    expect(fn.Properties.Environment.Variables.CLIENT_KEYS).toEqual({
      'Fn::Join': [
        '',
        [
          { Ref: idOf('web') },
          '=web,',
          { Ref: idOf('batch-jobs') },
          '=batch-jobs,',
          { Ref: idOf('mobile') },
          '=mobile',
        ],
      ],
    });
  });

  it('GIVEN the stage WHEN synthesized THEN it is "api", traced, with access logs and error execution logs', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'api',
      TracingEnabled: true,
      AccessLogSetting: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('requestId') },
      MethodSettings: [
        Match.objectLike({
          HttpMethod: '*',
          ResourcePath: '/*',
          LoggingLevel: 'ERROR',
          DataTraceEnabled: false,
        }),
      ],
    });
    for (const lg of Object.values(template.findResources('AWS::Logs::LogGroup'))) {
      expect(lg.Properties.KmsKeyId).toBeDefined();
    }
  });

  it('GIVEN the predict function WHEN synthesized THEN it has its memory, timeout and environment', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      MemorySize: 1024,
      Timeout: 10,
      Runtime: 'nodejs22.x',
      Environment: {
        Variables: Match.objectLike({
          POWERTOOLS_SERVICE_NAME: 'predict',
          DEFAULT_MODEL: 'credit',
          PREDICTION_LOG_TTL_DAYS: '90',
          PREDICTION_LOG_SHARDS: '4',
          REGISTRY_TABLE: Match.anyValue(),
          LAKE_BUCKET: Match.anyValue(),
          PREDICTION_LOG_TABLE: Match.anyValue(),
        }),
      },
    });
  });

  it('GIVEN the predict role WHEN synthesized THEN it reads artifacts/ only, reads the registry and writes the log', () => {
    const policies = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    expect(policies).toContain('/artifacts/*');
    expect(policies).not.toMatch(/"\/\*"/);
    expect(policies).toContain('dynamodb:PutItem');
  });

  it("GIVEN the stack WHEN synthesized THEN it outputs ApiUrl and every client's key id as ApiKeyIds", () => {
    template.hasOutput('ApiUrl', {
      Value: { 'Fn::Join': ['', Match.arrayWith(['https://', '/'])] },
    });
    template.hasOutput('ApiKeyIds', {
      Value: {
        'Fn::Join': [
          '',
          [
            'web=',
            { Ref: Match.anyValue() },
            ',batch-jobs=',
            { Ref: Match.anyValue() },
            ',mobile=',
            { Ref: Match.anyValue() },
          ],
        ],
      },
    });
  });

  it('fails when defaultModel names no model file, naming the key', () => {
    expect(() => buildConfig({ stage: 'test', defaultModel: 'nope' }, loadModels(MODELS_DIR))).toThrow(
      /defaultModel: "nope" has no models\/nope\.json/,
    );
  });

  it('fails when PredictionApi defaultModel is not one of the models, naming the prop', () => {
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Api');
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    const models = loadModels(MODELS_DIR);
    expect(
      () =>
        new PredictionApi(stack, 'Api', {
          functions: { stage: 'test', models, logEncryptionKey: key },
          lake: new DataLake(stack, 'Lake', { encryptionKey: key }),
          registry: new ModelRegistry(stack, 'Registry', { encryptionKey: key }),
          predictionLog: new PredictionLog(stack, 'Log', { encryptionKey: key }),
          idempotency: new IdempotencyStore(stack, 'Idempotency', { encryptionKey: key }),
          defaultModel: 'missing',
          accessLogEncryptionKey: key,
        }),
    ).toThrow(/PredictionApi defaultModel: "missing"/);
  });

  it('GIVEN a client declared twice or with a burst of 0 WHEN the API is built THEN it fails naming the client', () => {
    const build = (clients: { name: string; rateLimit: number; burstLimit: number }[]) => {
      const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Api');
      const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
      return () =>
        new PredictionApi(stack, 'Api', {
          functions: { stage: 'test', models: loadModels(MODELS_DIR), logEncryptionKey: key },
          lake: new DataLake(stack, 'Lake', { encryptionKey: key }),
          registry: new ModelRegistry(stack, 'Registry', { encryptionKey: key }),
          predictionLog: new PredictionLog(stack, 'Log', { encryptionKey: key }),
          idempotency: new IdempotencyStore(stack, 'Idempotency', { encryptionKey: key }),
          defaultModel: 'credit',
          accessLogEncryptionKey: key,
          clients,
        });
    };
    expect(
      build([
        { name: 'web', rateLimit: 1, burstLimit: 1 },
        { name: 'web', rateLimit: 2, burstLimit: 2 },
      ]),
    ).toThrow(/PredictionApi clients "web": declared twice/);
    expect(build([{ name: 'web', rateLimit: 1, burstLimit: 0 }])).toThrow(
      /PredictionApi clients "web": rateLimit must be > 0 and burstLimit a positive whole number/,
    );
  });
});
