import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { idempotencyTable } from '../../contracts/tables.ts';
import { grantTableKeyWrite } from '../nag.ts';

/** Properties of an {@link IdempotencyStore}. */
export interface IdempotencyStoreProps {
  /** Customer-managed key that encrypts the table. */
  readonly encryptionKey: kms.IKey;
  /**
   * What happens to the table when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Where the prediction API keeps the answers to requests that carried an Idempotency-Key: one
 * DynamoDB table in the layout of Powertools' DynamoDB persistence layer (`contracts/tables.ts`),
 * whose items expire with the idempotency window through the table's TTL.
 */
export class IdempotencyStore extends Construct {
  /** The idempotency table. */
  public readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: IdempotencyStoreProps) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: idempotencyTable.partitionKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: idempotencyTable.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: props.encryptionKey,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }

  /**
   * Grants what Powertools' persistence layer does and no more: GetItem, PutItem, UpdateItem and
   * DeleteItem on this table (no Query, Scan or batch operations), and the table key's use for them.
   */
  public grantIdempotency(grantee: iam.IGrantable): iam.Grant {
    const grant = this.table.grant(
      grantee,
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
    );
    // Table.grant leaves the table's key out; reading and writing items needs it.
    if (this.table.encryptionKey) grantTableKeyWrite(this.table.encryptionKey, grantee, 'idempotency table');
    return grant;
  }
}
