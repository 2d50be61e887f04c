import { Duration, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledgeWildcards, nagText } from '../nag.ts';
import type { DataLake } from './data-lake.ts';
import type { MlopsFunction } from './mlops-function.ts';
import type { TrainingCode } from './training-code.ts';
import type { TrainingImage } from './training-image.ts';

/** How predictions are served; see the platform config's `serving`. */
export interface ServingSettings {
  /** `lambda`: the predict function scores in-process. `endpoint`: SageMaker endpoints. */
  readonly mode: 'lambda' | 'endpoint';
  /** Endpoint instance type. */
  readonly instanceType: string;
  /** Instances per variant. */
  readonly instanceCount: number;
  /** Minutes a replaced production variant stays deployed at weight 0. */
  readonly incumbentWarmMinutes: number;
  /** DescribeEndpoint checks before an endpoint change that is still not in service fails. */
  readonly maxChecks: number;
  /** Seconds between the checks. */
  readonly checkIntervalSeconds: number;
  /** Minutes between scheduled syncs of every model's endpoint. */
  readonly syncScheduleMinutes: number;
}

/** Properties of {@link ModelEndpoints}. */
export interface ModelEndpointsProps {
  /** The serving settings. */
  readonly settings: ServingSettings;
  /** Prefix of every endpoint, endpoint config and model name of the stage (`mlops-<stage>`). */
  readonly prefix: string;
  /** The lake holding the model artifacts. */
  readonly lake: DataLake;
  /** The training code; in script mode the serving container loads the model with it. */
  readonly trainingCode: TrainingCode;
  /** The XGBoost image, which also serves. */
  readonly image: TrainingImage;
  /** Encrypts the endpoints' storage volumes. */
  readonly encryptionKey: kms.IKey;
  /** The function that creates and changes endpoints. */
  readonly syncFunction: MlopsFunction<'sync-endpoint'>;
  /** The models whose endpoints the schedule keeps in line with the registry. */
  readonly models: readonly string[];
}

/**
 * The serving side of the pipelines. In the `endpoint` mode: the role SageMaker models run with
 * (artifacts and code read, image pull, endpoint logs and metrics) and the sync function's right to
 * create and change this stage's endpoints, configs and models — by name prefix, because the
 * pipelines name them at run time. In the `lambda` mode it only tells the sync function so.
 */
export class ModelEndpoints extends Construct {
  /** The role SageMaker models of the stage run with (`endpoint` mode only). */
  public readonly modelRole?: iam.Role;

  constructor(scope: Construct, id: string, props: ModelEndpointsProps) {
    super(scope, id);
    const { settings, syncFunction: fn } = props;
    fn.addEnvironment('SERVING_MODE', settings.mode);
    if (settings.mode === 'lambda') return;
    if (!/^[a-z][a-z0-9-]{0,30}$/.test(props.prefix)) {
      throw new Error(`ModelEndpoints prefix: "${props.prefix}" must be lower-case letters, digits and -`);
    }
    const stack = Stack.of(this);
    const role = new iam.Role(this, 'ModelRole', {
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com'),
      description: 'Execution role of the platform SageMaker models (endpoint serving)',
    });
    this.modelRole = role;
    props.lake.grantRead(role, 'artifacts');
    props.trainingCode.grantRead(role);
    props.image.grantPull(role);
    const endpointLogs = logs.LogGroup.fromLogGroupName(this, 'EndpointLogs', '/aws/sagemaker/Endpoints');
    endpointLogs.grant(
      role,
      'logs:CreateLogGroup',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'logs:DescribeLogStreams',
    );
    // Metric.grantPutMetricData takes no condition; SageMaker publishes in its own namespace only.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': '/aws/sagemaker/Endpoints' } },
      }),
    );
    acknowledgeWildcards(
      role,
      ['Resource::*'],
      'cloudwatch:PutMetricData supports no resource-level permissions (the grant is held to the ' +
        '/aws/sagemaker/Endpoints namespace by condition), and ecr:GetAuthorizationToken has none either; the ' +
        'serving container publishes its metrics and SageMaker pulls the image with the model role.',
    );
    acknowledgeWildcards(
      role,
      [`Resource::${nagText(this, endpointLogs.logGroupArn)}`],
      'SageMaker names one log stream per endpoint variant instance at run time inside /aws/sagemaker/Endpoints; ' +
        'the grant is limited to that log group.',
    );

    const arn = (resource: string) =>
      stack.formatArn({ service: 'sagemaker', resource, resourceName: `${props.prefix}-*` });
    const resources = [arn('endpoint'), arn('endpoint-config'), arn('model')];
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: [
          'sagemaker:CreateModel',
          'sagemaker:CreateEndpointConfig',
          'sagemaker:CreateEndpoint',
          'sagemaker:UpdateEndpoint',
          'sagemaker:UpdateEndpointWeightsAndCapacities',
          'sagemaker:DescribeEndpoint',
        ],
        resources,
      }),
    );
    iam.Grant.addToPrincipal({
      grantee: fn,
      actions: ['iam:PassRole'],
      resourceArns: [role.roleArn],
      conditions: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
    });
    // CreateEndpoint hands SageMaker a grant on the key that encrypts the instances' volumes.
    props.encryptionKey.grant(fn, 'kms:CreateGrant', 'kms:DescribeKey');
    acknowledgeWildcards(
      fn,
      resources.map((r) => `Resource::${nagText(this, r)}`),
      'Endpoints, endpoint configs and models are created by the pipelines at run time, named ' +
        `${props.prefix}-<model>[-v<version>|-<config hash>]; the grant is limited to that stage prefix.`,
    );
    // A replaced version's variant keeps billing its instances until a sync drops it: the schedule
    // does so soon after its warm window, even when no promotion or rollback runs.
    for (const model of props.models) {
      new events.Rule(this, `Sync-${model}`, {
        description: `Keeps the ${model} endpoint in line with the registry (drops variants whose warm window passed)`,
        schedule: events.Schedule.rate(Duration.minutes(settings.syncScheduleMinutes)),
        targets: [
          new targets.LambdaFunction(fn, {
            event: events.RuleTargetInput.fromObject({ model, include: [], previous: null }),
            retryAttempts: 2,
          }),
        ],
      });
    }
    fn.addEnvironment('ENDPOINT_PREFIX', props.prefix);
    fn.addEnvironment('ENDPOINT_INSTANCE_TYPE', settings.instanceType);
    fn.addEnvironment('ENDPOINT_INSTANCE_COUNT', String(settings.instanceCount));
    fn.addEnvironment('ENDPOINT_WARM_MINUTES', String(settings.incumbentWarmMinutes));
    fn.addEnvironment('ENDPOINT_MAX_CHECKS', String(settings.maxChecks));
    fn.addEnvironment('ENDPOINT_CHECK_SECONDS', String(settings.checkIntervalSeconds));
    fn.addEnvironment('ENDPOINT_KMS_KEY_ARN', props.encryptionKey.keyArn);
    fn.addEnvironment('INFERENCE_IMAGE_URI', props.image.imageUri);
    fn.addEnvironment('MODEL_EXECUTION_ROLE_ARN', role.roleArn);
    fn.addEnvironment('LAKE_BUCKET', props.lake.bucket.bucketName);
  }
}

/** The endpoint name prefix of a stage. */
export function endpointPrefix(stage: string): string {
  return `mlops-${stage}`;
}
