import { describe, expect, it } from 'vitest';
import { requestSchema } from '../../core/serving/request-schema.ts';
import { GatewayValidation } from '../../local/gateway-validation.ts';
import { type CfnResource, Resolver } from '../../local/template.ts';
import { credit } from '../support/fixtures.ts';
import { applicant } from '../support/requests.ts';

/** A REST API as CDK writes it: /v1/predict and /v1/models/{credit,{model}}/predict, each POST. */
function api(extra: Record<string, CfnResource> = {}, validates = true): Record<string, CfnResource> {
  const root = { 'Fn::GetAtt': ['Api', 'RootResourceId'] };
  const resource = (part: string, parent: unknown): CfnResource => ({
    Type: 'AWS::ApiGateway::Resource',
    Properties: { PathPart: part, ParentId: parent, RestApiId: { Ref: 'Api' } },
  });
  const method = (resourceId: string, model: string): CfnResource => ({
    Type: 'AWS::ApiGateway::Method',
    Properties: {
      HttpMethod: 'POST',
      ResourceId: { Ref: resourceId },
      RestApiId: { Ref: 'Api' },
      RequestValidatorId: { Ref: 'Validator' },
      RequestModels: { 'application/json': { Ref: model } },
    },
  });
  return {
    Api: { Type: 'AWS::ApiGateway::RestApi', Properties: { Name: 'api' } },
    Validator: {
      Type: 'AWS::ApiGateway::RequestValidator',
      Properties: { RestApiId: { Ref: 'Api' }, ValidateRequestBody: validates },
    },
    CreditModel: {
      Type: 'AWS::ApiGateway::Model',
      Properties: { ContentType: 'application/json', Schema: requestSchema(credit) },
    },
    AnyModel: {
      Type: 'AWS::ApiGateway::Model',
      Properties: {
        ContentType: 'application/json',
        Schema: { $schema: 'http://json-schema.org/draft-04/schema#', type: 'object' },
      },
    },
    V1: resource('v1', root),
    Predict: resource('predict', { Ref: 'V1' }),
    Models: resource('models', { Ref: 'V1' }),
    Credit: resource('credit', { Ref: 'Models' }),
    CreditPredict: resource('predict', { Ref: 'Credit' }),
    AnyName: resource('{model}', { Ref: 'Models' }),
    AnyPredict: resource('predict', { Ref: 'AnyName' }),
    PredictPost: method('Predict', 'CreditModel'),
    CreditPost: method('CreditPredict', 'CreditModel'),
    AnyPost: method('AnyPredict', 'AnyModel'),
    ...extra,
  };
}

const gatewayOf = (resources: Record<string, CfnResource>) =>
  GatewayValidation.fromResolver(
    new Resolver({
      dir: '',
      fileAssets: [],
      stacks: [{ stackName: 'S', templateFile: '', Resources: resources }],
    }),
  );

const badRequestBody: CfnResource = {
  Type: 'AWS::ApiGateway::GatewayResponse',
  Properties: {
    ResponseType: 'BAD_REQUEST_BODY',
    StatusCode: '400',
    RestApiId: { Ref: 'Api' },
    ResponseParameters: { 'gatewayresponse.header.Content-Type': "'application/json'" },
    ResponseTemplates: {
      'application/json':
        '{"error":"InvalidRequest","message":"$context.error.validationErrorString","requestId":"$context.requestId"}',
    },
  },
};

const request = (
  path: string,
  body: unknown,
  headers: Record<string, string> = { 'Content-Type': 'application/json' },
) => ({
  method: 'POST',
  path,
  headers,
  body: typeof body === 'string' ? body : JSON.stringify(body),
  requestId: 'req-1',
});

describe("the twin's API Gateway validation, read from the template", () => {
  it('GIVEN literal and {model} resources WHEN routed THEN the literal one wins and the parameter is decoded', () => {
    const gateway = gatewayOf(api());
    expect(gateway.route('/v1/models/credit/predict')).toEqual({
      resource: '/v1/models/credit/predict',
      pathParameters: null,
    });
    expect(gateway.route('/v1/models/churn%2Dx/predict')).toEqual({
      resource: '/v1/models/{model}/predict',
      pathParameters: { model: 'churn-x' },
    });
    expect(gateway.route('/v1/predict')).toEqual({ resource: '/v1/predict', pathParameters: null });
    expect(gateway.route('/v2/predict')).toBeUndefined();
  });

  it('GIVEN a body the route model refuses WHEN validated THEN the gateway response template, rendered with the problem escaped', () => {
    const answer = gatewayOf(api({ Bad: badRequestBody })).validate(
      request('/v1/models/credit/predict', { instances: [{ ...applicant, 'say "hi"': 1 }] }),
    );
    expect(answer).toMatchObject({ statusCode: 400, headers: { 'content-type': 'application/json' } });
    expect(JSON.parse(answer!.body)).toEqual({
      error: 'InvalidRequest',
      message: '[instances/0: unknown field "say "hi""]',
      requestId: 'req-1',
    });
  });

  it('GIVEN requests the route model accepts, or that have no model WHEN validated THEN they go on to the function', () => {
    const gateway = gatewayOf(api({ Bad: badRequestBody }));
    expect(gateway.validate(request('/v1/predict', { instances: [applicant] }))).toBeUndefined();
    // {model} takes any JSON object; another content type has no model, so no validation.
    expect(gateway.validate(request('/v1/models/other/predict', { anything: 1 }))).toBeUndefined();
    expect(
      gateway.validate(request('/v1/predict', 'not json', { 'content-type': 'text/plain' })),
    ).toBeUndefined();
    // A method the resource does not have is not validated (the function answers it 405).
    expect(gateway.validate({ ...request('/v1/predict', '{}'), method: 'GET' })).toBeUndefined();
  });

  it('GIVEN no Content-Type header WHEN validated THEN the body is validated as application/json, as API Gateway assumes', () => {
    const answer = gatewayOf(api({ Bad: badRequestBody })).validate(
      request('/v1/predict', '{"rows":[]}', {}),
    );
    expect(JSON.parse(answer!.body).message).toBe('[body: missing required field "instances"]');
  });

  it('GIVEN no BAD_REQUEST_BODY response or a body that is not JSON WHEN refused THEN API Gateway default body, or the parse error named', () => {
    const plain = gatewayOf(api()).validate(request('/v1/predict', '{"instances":'));
    expect(plain).toEqual({
      statusCode: 400,
      headers: { 'content-type': 'application/json' },
      body: '{"message":"Invalid request body"}',
    });
    const named = gatewayOf(api({ Bad: badRequestBody })).validate(request('/v1/predict', '{"instances":'));
    expect(JSON.parse(named!.body).message).toMatch(/^\[body: not valid JSON \(/);
  });

  it('GIVEN a validator that does not validate bodies WHEN a bad body is sent THEN it goes on to the function', () => {
    expect(gatewayOf(api({}, false)).validate(request('/v1/predict', '{"rows":[]}'))).toBeUndefined();
  });

  it('fails when the BAD_REQUEST_BODY template uses a variable the twin cannot render, naming it', () => {
    const odd: CfnResource = {
      ...badRequestBody,
      Properties: {
        ...badRequestBody.Properties,
        ResponseTemplates: { 'application/json': '{"x":"$context.identity.sourceIp"}' },
      },
    };
    expect(() => gatewayOf(api({ Bad: odd }))).toThrow(/\$context\.identity\.sourceIp/);
  });
});
