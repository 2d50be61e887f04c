import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { predictionLogTable } from '../../contracts/tables.ts';
import { grantTableKeyWrite } from '../nag.ts';

/** Properties of a {@link PredictionLog}. */
export interface PredictionLogProps {
  /** Customer-managed key that encrypts the table. */
  readonly encryptionKey: kms.IKey;
  /**
   * What happens to the table when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Partitions per model and hour that writers spread rows over and readers read: DynamoDB takes at
   * most 1,000 writes a second per partition key, so about 1,000 predictions a second per shard.
   * Raise it only: lowering it hides, until they expire from the drift window, the rows written to
   * the shards above the new count.
   * @default 4
   */
  readonly shards?: number;
}

/**
 * The prediction log: one DynamoDB table (keys in `contracts/tables.ts`) with a row per prediction,
 * including model version, variant and feature-schema hash; rows expire through its TTL attribute.
 */
export class PredictionLog extends Construct {
  /** The prediction log table. */
  public readonly table: dynamodb.Table;
  /** Partitions per model and hour. */
  public readonly shards: number;

  constructor(scope: Construct, id: string, props: PredictionLogProps) {
    super(scope, id);
    this.shards = props.shards ?? 4;
    if (!Number.isInteger(this.shards) || this.shards < 1 || this.shards > 1000) {
      throw new Error(`PredictionLog shards: must be a whole number from 1 to 1000, got ${this.shards}`);
    }
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: predictionLogTable.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: predictionLogTable.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: predictionLogTable.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: props.encryptionKey,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }

  /** Grants reading log rows, by Query only (readers read a model's hour and shard partitions), and decrypting them. */
  public grantReadData(grantee: iam.IGrantable): iam.Grant {
    const grant = this.table.grant(grantee, 'dynamodb:Query');
    // Table.grant leaves the table's key out; reading items needs it.
    this.table.encryptionKey?.grant(grantee, 'kms:Decrypt', 'kms:DescribeKey');
    return grant;
  }

  /**
   * Grants writing log rows and nothing else: BatchWriteItem, the one call the writers make (no
   * PutItem, UpdateItem or DeleteItem: rows leave only through the table's TTL), and the key's use.
   * IAM has no condition that tells a batch's puts from its deletes, so the writers' code is what
   * keeps a batch to puts.
   */
  public grantWriteData(grantee: iam.IGrantable): iam.Grant {
    const grant = this.table.grant(grantee, 'dynamodb:BatchWriteItem');
    if (this.table.encryptionKey) grantTableKeyWrite(this.table.encryptionKey, grantee, 'prediction log');
    return grant;
  }
}
