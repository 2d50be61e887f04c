import { Aws, CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { stackOutputs } from '../../contracts/outputs.ts';
import type { PlatformConfig } from '../config.ts';
import { DataLake } from '../constructs/data-lake.ts';
import { IdempotencyStore } from '../constructs/idempotency-store.ts';
import { ModelRegistry } from '../constructs/model-registry.ts';
import { OperatorAlerts } from '../constructs/operator-alerts.ts';
import { PredictionLog } from '../constructs/prediction-log.ts';

/** Properties of the {@link DataStack}. */
export interface DataStackProps extends StackProps {
  /** The validated platform config. */
  readonly config: PlatformConfig;
}

/**
 * The stateful stack: the platform key, the data lake, the model registry, the prediction log, the
 * prediction API's idempotency store and the operator topic. The topic lives here, not in the
 * monitoring stack, because the pipeline stack publishes to it and the monitoring stack points
 * alarms at the pipeline stack's rollback state machine: with the topic in monitoring, the two
 * stacks would depend on each other.
 */
export class DataStack extends Stack {
  /** Key of the lake, the tables and every platform log group. */
  public readonly key: kms.Key;
  /** The data lake. */
  public readonly lake: DataLake;
  /** The model registry. */
  public readonly registry: ModelRegistry;
  /** The prediction log. */
  public readonly predictionLog: PredictionLog;
  /** The prediction API's answers to requests with an Idempotency-Key. */
  public readonly idempotency: IdempotencyStore;
  /** The operator topic. */
  public readonly alerts: OperatorAlerts;
  /** The removal policy of stateful resources. */
  public readonly removalPolicy: RemovalPolicy;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.removalPolicy = config.removalPolicy === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    this.key = new kms.Key(this, 'Key', {
      description: `ML platform (${config.stage}): lake, registry, prediction log and log groups`,
      enableKeyRotation: true,
      removalPolicy: this.removalPolicy,
    });
    // CloudWatch Logs encrypts the platform log groups with this key; the condition keeps it to log groups
    // of this account and region.
    this.key.grant(
      new iam.PrincipalWithConditions(new iam.ServicePrincipal(`logs.${Aws.REGION}.amazonaws.com`), {
        ArnLike: {
          'kms:EncryptionContext:aws:logs:arn': `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:*`,
        },
      }),
      'kms:Encrypt*',
      'kms:Decrypt*',
      'kms:ReEncrypt*',
      'kms:GenerateDataKey*',
      'kms:Describe*',
    );

    this.lake = new DataLake(this, 'Lake', { encryptionKey: this.key, removalPolicy: this.removalPolicy });
    this.registry = new ModelRegistry(this, 'Registry', {
      encryptionKey: this.key,
      removalPolicy: this.removalPolicy,
    });
    this.predictionLog = new PredictionLog(this, 'PredictionLog', {
      encryptionKey: this.key,
      removalPolicy: this.removalPolicy,
      shards: props.config.predictionLogShards,
    });
    this.idempotency = new IdempotencyStore(this, 'Idempotency', {
      encryptionKey: this.key,
      removalPolicy: this.removalPolicy,
    });
    this.alerts = new OperatorAlerts(this, 'Alerts', {
      email: config.operatorEmail,
      removalPolicy: this.removalPolicy,
    });

    new CfnOutput(this, stackOutputs.lakeBucketName, {
      value: this.lake.bucket.bucketName,
      description: 'Data lake bucket',
    });
    new CfnOutput(this, stackOutputs.registryTableName, {
      value: this.registry.table.tableName,
      description: 'Model registry table',
    });
    new CfnOutput(this, stackOutputs.predictionLogTableName, {
      value: this.predictionLog.table.tableName,
      description: 'Prediction log table',
    });
    new CfnOutput(this, stackOutputs.predictionLogShards, {
      value: String(this.predictionLog.shards),
      description: 'Partitions of the prediction log per model and hour',
    });
    new CfnOutput(this, stackOutputs.operatorTopicArn, {
      value: this.alerts.topic.topicArn,
      description: 'SNS topic of operator alerts',
    });
  }
}
