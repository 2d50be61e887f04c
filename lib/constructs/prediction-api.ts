import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledgeWildcards, nagText } from '../nag.ts';
import type { DataLake } from './data-lake.ts';
import type { IdempotencyStore } from './idempotency-store.ts';
import { type FunctionSettings, MlopsFunction } from './mlops-function.ts';
import type { ModelRegistry } from './model-registry.ts';
import type { PredictionLog } from './prediction-log.ts';

/** Request throttling per API key. */
export interface ApiThrottle {
  /** Steady-state requests per second. */
  readonly rateLimit: number;
  /** Burst size in requests. */
  readonly burstLimit: number;
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
   * Throttling of the usage plan the API key belongs to.
   * @default { rateLimit: 50, burstLimit: 100 }
   */
  readonly throttle?: ApiThrottle;
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
 * The prediction API: a regional REST API with `POST /v1/predict` (default model) and
 * `POST /v1/models/{model}/predict`, both proxied to the predict function. Clients authenticate with an
 * API key whose usage plan throttles them; bodies must be JSON objects; access logs go to an encrypted
 * log group; execution logging (errors) and X-Ray tracing are on. Answers to requests with an
 * Idempotency-Key are kept in the idempotency store for the window; shadow copies are scored by a
 * shadow function that predict invokes asynchronously.
 */
export class PredictionApi extends Construct {
  /** The predict function. */
  public readonly handler: MlopsFunction<'predict'>;
  /** The function that scores shadow copies of requests, invoked asynchronously by predict. */
  public readonly shadowHandler: MlopsFunction<'shadow'>;
  /** The REST API. */
  public readonly api: apigw.RestApi;
  /** The API key clients send in `x-api-key`. */
  public readonly apiKey: apigw.IApiKey;
  /** The usage plan that throttles the key. */
  public readonly usagePlan: apigw.UsagePlan;
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
    const throttle = props.throttle ?? { rateLimit: 50, burstLimit: 100 };
    if (!(throttle.rateLimit > 0) || !Number.isInteger(throttle.burstLimit) || throttle.burstLimit < 1) {
      throw new Error(
        `PredictionApi throttle: rateLimit must be > 0 and burstLimit a positive whole number, got ${JSON.stringify(throttle)}`,
      );
    }
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
      // The SageMaker runtime client is bundled only where the function serves from endpoints.
      bundleConstants: { __MLOPS_SERVING_MODE__: JSON.stringify(servingMode) },
    })
      .bindRegistry(props.registry, 'read')
      .bindLake(props.lake, 'read', 'artifacts')
      .bindPredictionLogWriter(props.predictionLog, ttlDays);
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
      .bindRegistry(props.registry, 'read')
      .bindLake(props.lake, 'read', 'artifacts')
      .bindPredictionLogWriter(props.predictionLog, ttlDays);
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
    const requestModel = this.api.addModel('PredictRequest', {
      contentType: 'application/json',
      description:
        'A prediction request: a JSON object; the handler validates its fields against the feature spec.',
      schema: { schema: apigw.JsonSchemaVersion.DRAFT4, type: apigw.JsonSchemaType.OBJECT },
    });
    const integration = new apigw.LambdaIntegration(this.handler, { proxy: true, allowTestInvoke: false });
    const methodOptions: apigw.MethodOptions = {
      apiKeyRequired: true,
      requestValidator: validator,
      requestModels: { 'application/json': requestModel },
    };

    const v1 = this.api.root.addResource('v1');
    v1.addResource('predict').addMethod('POST', integration, methodOptions);
    v1.addResource('models')
      .addResource('{model}')
      .addResource('predict')
      .addMethod('POST', integration, {
        ...methodOptions,
        requestParameters: { 'method.request.path.model': true },
      });

    this.usagePlan = this.api.addUsagePlan('UsagePlan', {
      description: 'Throttling for prediction clients',
      throttle: { rateLimit: throttle.rateLimit, burstLimit: throttle.burstLimit },
      apiStages: [{ api: this.api, stage: this.api.deploymentStage }],
    });
    this.apiKey = this.api.addApiKey('ApiKey', { description: 'Key of the platform prediction clients' });
    this.usagePlan.addApiKey(this.apiKey);

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

  /** The invoke URL of the deployment stage (ends with `/`). */
  public get url(): string {
    return this.api.url;
  }
}
