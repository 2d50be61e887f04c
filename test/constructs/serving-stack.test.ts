import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildConfig, loadModels } from '../../lib/config.ts';
import { DataLake } from '../../lib/constructs/data-lake.ts';
import { IdempotencyStore } from '../../lib/constructs/idempotency-store.ts';
import { ModelRegistry } from '../../lib/constructs/model-registry.ts';
import { PredictionApi } from '../../lib/constructs/prediction-api.ts';
import { PredictionLog } from '../../lib/constructs/prediction-log.ts';
import { MODELS_DIR } from '../../lib/paths.ts';
import { type SynthResult, synthPlatform } from './fixture.ts';

let synth: SynthResult;
let template: Template;

beforeAll(() => {
  synth = synthPlatform({
    bundle: ['Serving'],
    config: { clients: [{ name: 'default', rateLimit: 7, burstLimit: 11 }] },
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

  it('GIVEN the routes WHEN synthesized THEN POST /v1/predict and POST /v1/models/{model}/predict proxy to predict', () => {
    const resources = template.findResources('AWS::ApiGateway::Resource');
    const parts = Object.values(resources)
      .map((r) => r.Properties.PathPart)
      .sort();
    expect(parts).toEqual(['models', 'predict', 'predict', 'v1', '{model}'].sort());
    const methods = Object.values(template.findResources('AWS::ApiGateway::Method'));
    expect(methods).toHaveLength(2);
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

  it('GIVEN the methods WHEN synthesized THEN bodies are validated as JSON objects', () => {
    template.hasResourceProperties('AWS::ApiGateway::RequestValidator', { ValidateRequestBody: true });
    template.hasResourceProperties('AWS::ApiGateway::Model', {
      ContentType: 'application/json',
      Schema: Match.objectLike({ type: 'object' }),
    });
    for (const method of Object.values(template.findResources('AWS::ApiGateway::Method'))) {
      expect(method.Properties.RequestValidatorId).toBeDefined();
      expect(method.Properties.RequestModels).toHaveProperty(['application/json']);
    }
  });

  it('GIVEN apiThrottle in the config WHEN synthesized THEN the API key belongs to a usage plan with that throttle', () => {
    template.resourceCountIs('AWS::ApiGateway::ApiKey', 1);
    template.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
      Throttle: { RateLimit: 7, BurstLimit: 11 },
      ApiStages: [Match.objectLike({ ApiId: Match.anyValue(), Stage: Match.anyValue() })],
    });
    template.hasResourceProperties('AWS::ApiGateway::UsagePlanKey', { KeyType: 'API_KEY' });
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

  it('GIVEN the stack WHEN synthesized THEN it outputs ApiUrl and ApiKeyId', () => {
    template.hasOutput('ApiUrl', {
      Value: { 'Fn::Join': ['', Match.arrayWith(['https://', '/'])] },
    });
    template.hasOutput('ApiKeyId', { Value: { Ref: Match.anyValue() } });
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
});
