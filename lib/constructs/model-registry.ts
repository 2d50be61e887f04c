import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { registryTable } from '../../contracts/tables.ts';
import { acknowledgeWildcards } from '../nag.ts';

/** Properties of a {@link ModelRegistry}. */
export interface ModelRegistryProps {
  /** Customer-managed key that encrypts the table. */
  readonly encryptionKey: kms.IKey;
  /**
   * What happens to the table when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The model registry: one DynamoDB table (keys in `contracts/tables.ts`) holding write-once version items, the production alias
 * and audit events of every model.
 */
export class ModelRegistry extends Construct {
  /** The registry table. */
  public readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: ModelRegistryProps) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: registryTable.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: registryTable.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: props.encryptionKey,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }

  /** Grants reading registry items (and decrypting them). */
  public grantReadData(grantee: iam.IGrantable): iam.Grant {
    return this.table.grantReadData(grantee);
  }

  /** Grants reading and writing registry items (and using the key for both). */
  public grantReadWriteData(grantee: iam.IGrantable): iam.Grant {
    const grant = this.table.grantReadWriteData(grantee);
    acknowledgeWildcards(
      grantee,
      ['Action::kms:ReEncrypt*', 'Action::kms:GenerateDataKey*'],
      'DynamoDB with a customer-managed key needs the GenerateDataKey*/ReEncrypt* action groups to write; ' +
        'the grant is limited to the registry key.',
    );
    return grant;
  }
}
