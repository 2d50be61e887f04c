import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { predictionLogTable } from '../../contracts/tables.ts';
import { acknowledgeWildcards } from '../nag.ts';

/** Properties of a {@link PredictionLog}. */
export interface PredictionLogProps {
  /** Customer-managed key that encrypts the table. */
  readonly encryptionKey: kms.IKey;
  /**
   * What happens to the table when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The prediction log: one DynamoDB table (keys in `contracts/tables.ts`) with a row per prediction,
 * including model version, variant and feature-schema hash; rows expire through its TTL attribute.
 */
export class PredictionLog extends Construct {
  /** The prediction log table. */
  public readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: PredictionLogProps) {
    super(scope, id);
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

  /** Grants reading log rows (and decrypting them). */
  public grantReadData(grantee: iam.IGrantable): iam.Grant {
    return this.table.grantReadData(grantee);
  }

  /** Grants writing log rows (and encrypting them). */
  public grantWriteData(grantee: iam.IGrantable): iam.Grant {
    const grant = this.table.grantWriteData(grantee);
    acknowledgeWildcards(
      grantee,
      ['Action::kms:ReEncrypt*', 'Action::kms:GenerateDataKey*'],
      'DynamoDB with a customer-managed key needs the GenerateDataKey*/ReEncrypt* action groups to write; ' +
        'the grant is limited to the prediction log key.',
    );
    return grant;
  }
}
