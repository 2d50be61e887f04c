import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { registryTable } from '../../contracts/tables.ts';
import { grantTableKeyWrite } from '../nag.ts';

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

  /**
   * Grants exactly the item operations a function performs, and the registry key's use for them:
   * decrypt for reads, and encrypt too when an operation writes. No Scan, no batch operations and no
   * DeleteItem: versions, evidence and audit items are written once and only expire with the table's
   * retention; the leases, the one kind of item that is deleted, have {@link grantLeases}.
   */
  public grant(grantee: iam.IGrantable, ...operations: RegistryOperation[]): iam.Grant {
    if (operations.length === 0) {
      throw new Error(
        `ModelRegistry grant: name the operations the function performs (${registryOperations.join(', ')})`,
      );
    }
    for (const op of operations) {
      if (!registryOperations.includes(op)) {
        throw new Error(
          `ModelRegistry grant: "${op}" is not a registry operation (allowed: ${registryOperations.join(', ')})`,
        );
      }
    }
    const grant = this.table.grant(grantee, ...[...new Set(operations)].map((op) => `dynamodb:${op}`));
    this.grantKey(
      grantee,
      operations.some((op) => writes.has(op)),
    );
    return grant;
  }

  /**
   * Grants what taking and giving up a lease needs: GetItem and PutItem (the lease, and the audit
   * item of taking it) and DeleteItem only in the lease partitions (`dynamodb:LeadingKeys`
   * `LEASE#*`), so the lease function cannot delete a version, evidence or audit item.
   */
  public grantLeases(grantee: iam.IGrantable): iam.Grant {
    const grant = this.table.grant(grantee, 'dynamodb:GetItem', 'dynamodb:PutItem');
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:DeleteItem'],
      resourceArns: [this.table.tableArn],
      conditions: {
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${registryTable.leasePartitionPrefix}*`] },
      },
    });
    this.grantKey(grantee, true);
    return grant;
  }

  // Table.grant leaves the table's key out; reading and writing items needs it.
  private grantKey(grantee: iam.IGrantable, write: boolean): void {
    const key = this.table.encryptionKey;
    if (!key) return;
    if (!write) {
      key.grant(grantee, 'kms:Decrypt', 'kms:DescribeKey');
      return;
    }
    grantTableKeyWrite(key, grantee, 'registry');
  }
}

/** An item operation on the registry table that a function may be granted. */
export type RegistryOperation = 'GetItem' | 'Query' | 'PutItem' | 'UpdateItem';

const registryOperations: readonly RegistryOperation[] = ['GetItem', 'Query', 'PutItem', 'UpdateItem'];
const writes = new Set<RegistryOperation>(['PutItem', 'UpdateItem']);
