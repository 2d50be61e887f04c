import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { apiKeyName } from '../../contracts/names.ts';
import { requestSchema } from '../../core/serving/request-schema.ts';
import { acknowledgeWildcards, nagText } from '../nag.ts';
import type { DataLake } from './data-lake.ts';
import type { IdempotencyStore } from './idempotency-store.ts';
import { type FunctionSettings, MlopsFunction } from './mlops-function.ts';
import type { ModelRegistry } from './model-registry.ts';
import type { PredictionLog } from './prediction-log.ts';

/** A client of the API: its own API key, in its own usage plan. */
export interface ApiClient {
  /** The client's name: its key is `mlops-<stage>--client-<name>`; log rows and metrics carry it. */
  readonly name: string;
  /** Steady-state requests per second. */
  readonly rateLimit: number;
  /** Burst size in requests. */
  readonly burstLimit: number;
  /** Requests allowed per period; none: no quota. */
  readonly quota?: { readonly limit: number; readonly period: 'DAY' | 'WEEK' | 'MONTH' };
}

/** A client's API key and the usage plan that throttles it. */
export interface ClientKey {
  readonly client: string;
  readonly apiKey: apigw.IApiKey;
  readonly usagePlan: apigw.UsagePlan;
}

/** Properties of a {@link PredictionApi}. */
export interface PredictionApiProps {
  /** Settings of the predict function. */
  readonly functions: FunctionSettings;
  /** The data lake (model artifacts under `artifacts/`). */
  readonly lake: DataLake;
  /** The model registry (production alias and versions). */
  readonly registry: ModelRegistry;
  /** The prediction log. */
  readonly predictionLog: PredictionLog;
  /** Where answers to requests with an Idempotency-Key are kept. */
  readonly idempotency: IdempotencyStore;
  /**
   * How long an answer is kept for a retry with the same Idempotency-Key.
   * @default Duration.hours(1)
   */
  readonly idempotencyWindow?: Duration;
  /** Model served by `POST /v1/predict`; one of `functions.models`. */
  readonly defaultModel: string;
  /**
   * Days a prediction log row is kept.
   * @default 90
   */
  readonly predictionLogTtlDays?: number;
  /**
   * The API's clients: one API key each, in a usage plan of its own with the client's throttle and quota.
   * @default one client, `default`, at 50 requests/s with bursts of 100
   */
  readonly clients?: readonly ApiClient[];
  /** Key that encrypts the access log group. */
  readonly accessLogEncryptionKey: kms.IKey;
  /**
   * The API Gateway deployment stage (first path segment of the URL).
   * @default 'api'
   */
  readonly stageName?: string;
  /**
   * Serve through the SageMaker endpoints named `<prefix>-<model>` (serving mode `endpoint`).
   * @default - the predict function scores in-process (serving mode `lambda`)
   */
  readonly endpointPrefix?: string;
}

/**
 * The prediction API: a regional REST API with `POST /v1/predict` (default model),
 * `POST /v1/models/<model>/predict` for each deployed model, and `POST /v1/models/{model}/predict` for
 * any other name, all proxied to the predict function. Each model's routes validate the body against
 * a request model generated from its definition (core/serving/request-schema.ts), so a malformed
 * request is answered 400 by API Gateway, naming the problem, before the function runs; a name that
 * is no deployed model reaches the function, which answers 404. Each client authenticates with its
 * own API key, named `mlops-<stage>--client-<name>`, whose own usage plan throttles (and, with a
 * quota, meters) it alone; the function maps key ids to clients (`CLIENT_KEYS`). Access logs go to
 *  an encrypted log group; execution logging (errors) and X-Ray tracing are on. Answers to requests
 * with an Idempotency-Key are kept in the idempotency store for the window; shadow copies are scored
 * by a shadow function that predict invokes asynchronously.
 */
export class PredictionApi extends Construct {
  /** The predict function. */
  public readonly handler: MlopsFunction<'predict'>;
  /** The function that scores shadow copies of requests, invoked asynchronously by predict. */
  public readonly shadowHandler: MlopsFunction<'shadow'>;
  /** The REST API. */
  public readonly api: apigw.RestApi;
  /** Each client's API key (sent as `x-api-key`) and usage plan, in the order of the clients. */
  public readonly clientKeys: readonly ClientKey[];
  /** The access log group. */
  public readonly accessLogGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: PredictionApiProps) {
    super(scope, id);
    const models = props.functions.models.map((m) => m.name);
    if (!models.includes(props.defaultModel)) {
      throw new Error(
        `PredictionApi defaultModel: "${props.defaultModel}" is not a model (models: ${models.join(', ')})`,
      );
    }
    const ttlDays = props.predictionLogTtlDays ?? 90;
    if (!Number.isInteger(ttlDays) || ttlDays < 1) {
      throw new Error(`PredictionApi predictionLogTtlDays: must be a positive whole number, got ${ttlDays}`);
    }
    const clients = props.clients ?? [{ name: 'default', rateLimit: 50, burstLimit: 100 }];
    checkClients(clients);
    const stageName = props.stageName ?? 'api';
    if (!/^[a-zA-Z0-9_]{1,64}$/.test(stageName)) {
      throw new Error(`PredictionApi stageName: "${stageName}" may only use letters, digits and _`);
    }

    const servingMode = props.endpointPrefix ? 'endpoint' : 'lambda';
    this.handler = new MlopsFunction(this, 'Predict', {
      ...props.functions,
      name: 'predict',
      description: 'Validates, computes features, scores and logs a prediction',
      memorySize: 1024,
      timeout: Duration.seconds(10),
      environment: {
        DEFAULT_MODEL: props.defaultModel,
        MODEL_NAMES: models.join(','),
        SERVING_MODE: servingMode,
      },
      // The deployed definitions decide a request's size limits before any model is loaded.
      includeModelDefinitions: true,
      // The SageMaker runtime client is bundled only where the function serves from endpoints.
      bundleConstants: { __MLOPS_SERVING_MODE__: JSON.stringify(servingMode) },
    })
      .bindRegistry(props.registry, 'GetItem')
      .bindLake(props.lake, 'read', 'artifacts')
      .bindPredictionLogWriter(props.predictionLog, ttlDays);
    props.lake.grantReadTransforms(this.handler);
    const idempotencySeconds = (props.idempotencyWindow ?? Duration.hours(1)).toSeconds();
    this.handler.bindIdempotencyStore(props.idempotency, idempotencySeconds);

    // Shadow copies are scored apart: predict hands each one off with an asynchronous invocation,
    // so its answer never waits for the shadow. A failed copy is not retried (its rows would be
    // logged twice); the shadow logs its own failures as error rows.
    this.shadowHandler = new MlopsFunction(this, 'Shadow', {
      ...props.functions,
      name: 'shadow',
      description: "Scores a shadow version's copies of prediction requests and logs them",
      memorySize: 1024,
      timeout: Duration.seconds(30),
      environment: { SERVING_MODE: servingMode },
      bundleConstants: { __MLOPS_SERVING_MODE__: JSON.stringify(servingMode) },
    })
      .bindRegistry(props.registry, 'GetItem')
      .bindLake(props.lake, 'read', 'artifacts')
      .bindPredictionLogWriter(props.predictionLog, ttlDays);
    props.lake.grantReadTransforms(this.shadowHandler);
    this.shadowHandler.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.minutes(15) });
    this.handler.addEnvironment('SHADOW_FUNCTION', this.shadowHandler.functionName);
    this.handler.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: [this.shadowHandler.functionArn],
      }),
    );

    if (props.endpointPrefix) {
      const endpoints = Stack.of(this).formatArn({
        service: 'sagemaker',
        resource: 'endpoint',
        resourceName: `${props.endpointPrefix}-*`,
      });
      for (const fn of [this.handler, this.shadowHandler]) {
        fn.addEnvironment('ENDPOINT_PREFIX', props.endpointPrefix);
        fn.addToRolePolicy(
          new iam.PolicyStatement({ actions: ['sagemaker:InvokeEndpoint'], resources: [endpoints] }),
        );
        acknowledgeWildcards(
          fn,
          [`Resource::${nagText(this, endpoints)}`],
          `The pipelines create one endpoint per model at run time, named ${props.endpointPrefix}-<model>; the grant is limited to that stage prefix.`,
        );
      }
    }

    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      encryptionKey: props.accessLogEncryptionKey,
      removalPolicy: props.functions.removalPolicy ?? RemovalPolicy.RETAIN,
    });

    this.api = new apigw.RestApi(this, 'Api', {
      // The name is the ApiName metric dimension, so it carries the stack name to keep stages apart.
      restApiName: `${Stack.of(this).stackName}-predictions`,
      description: 'ML platform prediction API',
      endpointTypes: [apigw.EndpointType.REGIONAL],
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      deployOptions: {
        stageName,
        tracingEnabled: true,
        metricsEnabled: true,
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        accessLogDestination: new apigw.LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: apigw.AccessLogFormat.jsonWithStandardFields(),
      },
      defaultMethodOptions: { apiKeyRequired: true },
    });

    const validator = this.api.addRequestValidator('BodyValidator', {
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    // A body the request model refuses is answered with the validator's own words, as the function
    // answers its refusals: {"error", "message", "requestId"}. A gateway response template is not
    // VTL: only $context variables are substituted, their text escaped for the JSON string.
    this.api.addGatewayResponse('BadRequestBody', {
      type: apigw.ResponseType.BAD_REQUEST_BODY,
      statusCode: '400',
      responseHeaders: { 'Content-Type': "'application/json'" },
      templates: {
        'application/json':
          '{"error":"InvalidRequest","message":"$context.error.validationErrorString","requestId":"$context.requestId"}',
      },
    });
    const integration = new apigw.LambdaIntegration(this.handler, { proxy: true, allowTestInvoke: false });
    const byName = new Map(props.functions.models.map((m) => [m.name, m]));
    const modelOf = (name: string): apigw.IModel =>
      this.api.addModel(`PredictRequest-${name}`, {
        contentType: 'application/json',
        description: `A prediction request for model ${name}, generated from its definition.`,
        schema: requestSchema(byName.get(name)!) as apigw.JsonSchema,
      });
    const requestModels = new Map(models.map((name) => [name, modelOf(name)]));
    const validated = (name: string): apigw.MethodOptions => ({
      apiKeyRequired: true,
      requestValidator: validator,
      requestModels: { 'application/json': requestModels.get(name)! },
    });

    const v1 = this.api.root.addResource('v1');
    v1.addResource('predict').addMethod('POST', integration, validated(props.defaultModel));
    const modelsResource = v1.addResource('models');
    for (const name of models) {
      modelsResource.addResource(name).addResource('predict').addMethod('POST', integration, validated(name));
    }
    // Any other name: API Gateway prefers the literal resources above, so only names that are no
    // deployed model get here, and the function answers them 404 naming the model (rather than API
    // Gateway's 403 "Missing Authentication Token" for a path it has no resource for).
    const anyRequest = this.api.addModel('PredictRequest', {
      contentType: 'application/json',
      description: 'A prediction request for a model this stage does not deploy: a JSON object.',
      schema: { schema: apigw.JsonSchemaVersion.DRAFT4, type: apigw.JsonSchemaType.OBJECT },
    });
    modelsResource
      .addResource('{model}')
      .addResource('predict')
      .addMethod('POST', integration, {
        apiKeyRequired: true,
        requestValidator: validator,
        requestModels: { 'application/json': anyRequest },
        requestParameters: { 'method.request.path.model': true },
      });

    const stage = props.functions.stage;
    this.clientKeys = clients.map((client) => {
      const scope = new Construct(this, `Client-${client.name}`);
      const apiKey = new apigw.ApiKey(scope, 'Key', {
        apiKeyName: apiKeyName(stage, client.name),
        description: `Prediction API key of client "${client.name}"`,
      });
      const usagePlan = new apigw.UsagePlan(scope, 'Plan', {
        name: `${apiKeyName(stage, client.name)}-plan`,
        description: `Throttling${client.quota ? ' and quota' : ''} of prediction client "${client.name}"`,
        throttle: { rateLimit: client.rateLimit, burstLimit: client.burstLimit },
        ...(client.quota
          ? { quota: { limit: client.quota.limit, period: apigw.Period[client.quota.period] } }
          : {}),
        apiStages: [{ api: this.api, stage: this.api.deploymentStage }],
      });
      usagePlan.addApiKey(apiKey);
      return { client: client.name, apiKey, usagePlan };
    });
    // Key ids are not secrets (a key's value is); the function names a request's client by its key id.
    this.handler.addEnvironment(
      'CLIENT_KEYS',
      this.clientKeys.map((k) => `${k.apiKey.keyId}=${k.client}`).join(','),
    );

    Validations.of(this.api).acknowledge(
      {
        id: 'AwsSolutions-APIG4',
        reason:
          'Clients authenticate with an API key bound to a throttled usage plan; the API serves machine clients, ' +
          'not end users, and IAM or Cognito auth would need per-client AWS identities.',
      },
      {
        id: 'AwsSolutions-COG4',
        reason: 'No Cognito user pool: prediction clients are services authenticated by API key (see APIG4).',
      },
      {
        id: 'AwsSolutions-APIG3',
        reason:
          'Abuse is bounded by the API key requirement and usage-plan throttling; a WAF web ACL is an ' +
          'account-level choice (and cost) left to the deployer, who can associate one with the stage.',
      },
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason:
          'API Gateway execution logging needs the account-level CloudWatch role; AWS maintains this service-role ' +
          'policy for exactly that purpose and the log groups it writes are created by API Gateway at run time.',
      },
    );
  }

  /** Each client's API key id, as `<client>=<keyId>,...`. */
  public get keyIds(): string {
    return this.clientKeys.map((k) => `${k.client}=${k.apiKey.keyId}`).join(',');
  }

  /** The invoke URL of the deployment stage (ends with `/`). */
  public get url(): string {
    return this.api.url;
  }
}

/** Refuses an empty client list, duplicate names and throttles or quotas API Gateway would refuse. */
function checkClients(clients: readonly ApiClient[]): void {
  if (clients.length === 0) throw new Error('PredictionApi clients: declare at least one client');
  const seen = new Set<string>();
  for (const c of clients) {
    const where = `PredictionApi clients "${c.name}"`;
    if (!/^[a-z][a-z0-9-]{0,31}$/.test(c.name) || c.name.includes('--'))
      throw new Error(
        `${where}: the name must be 1-32 lower-case letters, digits or - (not "--"), starting with a letter`,
      );
    if (seen.has(c.name)) throw new Error(`${where}: declared twice`);
    seen.add(c.name);
    if (!(c.rateLimit > 0) || !Number.isInteger(c.burstLimit) || c.burstLimit < 1)
      throw new Error(
        `${where}: rateLimit must be > 0 and burstLimit a positive whole number, got ${JSON.stringify({ rateLimit: c.rateLimit, burstLimit: c.burstLimit })}`,
      );
    if (c.quota && (!Number.isInteger(c.quota.limit) || c.quota.limit < 1))
      throw new Error(`${where}: quota.limit must be a positive whole number, got ${c.quota.limit}`);
  }
}
