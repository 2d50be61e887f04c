/**
 * Per-model leases in the registry table (`LEASE#<model>`, `LEASE#<name>`), in partitions of their own
 * so that the only deletes the lease function may make are of leases. Taking one is a single
 * conditional put that succeeds only when no lease exists or the one there has expired, so of two
 * racing takers exactly one wins; releasing is a conditional delete by the holder.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { registryTable } from '../../../../contracts/tables.ts';
import type { LeasePort } from '../../../../core/ports.ts';
import type { Lease } from '../../../../core/registry/model.ts';

/** The partition of a model's leases. */
export function leasePk(model: string): string {
  return `${registryTable.leasePartitionPrefix}${model}`;
}

/** The sort key of a model's lease. */
export function leaseSk(name: string): string {
  return `LEASE#${name}`;
}

function isConditionFailure(err: unknown): boolean {
  return (
    err instanceof ConditionalCheckFailedException ||
    (err as { name?: string }).name === 'ConditionalCheckFailedException'
  );
}

function toLease(item: Record<string, unknown>): Lease {
  return {
    model: String(item.model),
    name: String(item.name),
    holder: String(item.holder),
    cause: String(item.cause),
    since: String(item.since),
    until: String(item.until),
  };
}

export class DynamoLeases implements LeasePort {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async acquire(lease: Lease): Promise<{ acquired: true; lease: Lease } | { acquired: false; held: Lease }> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: leasePk(lease.model), sk: leaseSk(lease.name), kind: 'lease', ...lease },
          // Free when absent, expired (ISO instants compare as strings), or already ours (a retried take).
          ConditionExpression: 'attribute_not_exists(pk) OR #until < :since OR holder = :holder',
          ExpressionAttributeNames: { '#until': 'until' },
          ExpressionAttributeValues: { ':since': lease.since, ':holder': lease.holder },
        }),
      );
      return { acquired: true, lease };
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      const held = await this.get(lease.model, lease.name);
      // Released between the put and the read: report the holder that refused us as unknown.
      return {
        acquired: false,
        held: held ?? { ...lease, holder: 'unknown', cause: 'released while being taken' },
      };
    }
  }

  async release(model: string, name: string, holder: string): Promise<boolean> {
    try {
      await this.db.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { pk: leasePk(model), sk: leaseSk(name) },
          ConditionExpression: 'holder = :holder',
          ExpressionAttributeValues: { ':holder': holder },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  async get(model: string, name: string): Promise<Lease | undefined> {
    const res = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: leasePk(model), sk: leaseSk(name) },
        ConsistentRead: true,
      }),
    );
    return res.Item ? toLease(res.Item) : undefined;
  }
}
