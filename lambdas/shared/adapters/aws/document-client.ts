import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type ClientTarget, clientConfig } from './client-config.ts';

/** The DynamoDB document client: undefined attributes are dropped, not refused. */
export function makeDocumentClient(target?: ClientTarget): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient(clientConfig('dynamodb', target)), {
    marshallOptions: { removeUndefinedValues: true },
  });
}
