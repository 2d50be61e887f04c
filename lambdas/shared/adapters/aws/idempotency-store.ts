/**
 * The idempotency store of the prediction API: Powertools' DynamoDB persistence layer on the
 * idempotency table (its default layout: key `id`, TTL `expiration`), through a client built as
 * every platform client is (the twin's endpoint when it runs the function).
 */
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type ClientTarget, clientConfig } from './client-config.ts';

export function makeIdempotencyStore(tableName: string, target?: ClientTarget): DynamoDBPersistenceLayer {
  return new DynamoDBPersistenceLayer({
    tableName,
    awsSdkV3Client: new DynamoDBClient(clientConfig('dynamodb', target)),
  });
}
