/**
 * The DynamoDB tables' key and TTL attributes. The constructs declare the tables with them, the
 * adapters write items with them, and the twin creates its tables from the templates that hold them.
 */

/**
 * The model registry: one partition per model (`MODEL#<name>`), items sorted by kind and number, and
 * one partition per model's leases (`LEASE#<name>`), kept apart so that an IAM condition on the
 * partition key (`dynamodb:LeadingKeys`) can let the lease function delete leases and nothing else.
 */
export const registryTable = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /** Prefix of the partitions that hold leases. */
  leasePartitionPrefix: 'LEASE#',
} as const;

/** The prediction log: partitions of model, hour and shard; rows expire after the stage's TTL. */
export const predictionLogTable = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /** Epoch seconds after which DynamoDB deletes the row. */
  ttlAttribute: 'expiresAt',
} as const;

/**
 * The prediction API's idempotency table, in the layout of Powertools' DynamoDB persistence layer:
 * one item per scoped Idempotency-Key, expiring with the window.
 */
export const idempotencyTable = {
  partitionKey: 'id',
  /** Epoch seconds after which DynamoDB deletes the item (Powertools writes it). */
  ttlAttribute: 'expiration',
} as const;
